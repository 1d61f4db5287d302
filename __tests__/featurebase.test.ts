import request from 'supertest';
import { FEATUREBASE_ENV, featurebaseConfigFromEnv, featurebaseJwtRouter } from '../lib';
import { EXPRESS_MAJOR, buildApp, testResolveUser } from './helpers/app';
import { loadJose } from './helpers/jose';
import { configProblems, presetCommonCases } from './helpers/presets';

const { decodeJwt, decodeProtectedHeader, jwtVerify } = loadJose();

const JWT_SECRET = 'fb_Lq7Wz2Kx9Nv4Tm8Rb3Hc6Py1Jd5Gs0Fa';
const key = new TextEncoder().encode(JWT_SECRET);

/** Featurebase's rules: HS256 with the JWT secret, `userId` and/or `email` (at least one), strings; `name` a string when present. */
async function featurebaseAccepts(token: string) {
  const { payload } = await jwtVerify(token, key, { algorithms: ['HS256'], requiredClaims: ['exp'] });
  if (typeof payload['userId'] !== 'string' && typeof payload['email'] !== 'string') throw new Error('userId or email is required');
  for (const name of ['userId', 'email', 'name']) if (name in payload && typeof payload[name] !== 'string') throw new Error(`${name} must be a string`);
  return payload;
}

describe(`Featurebase (Express ${EXPRESS_MAJOR})`, () => {
  const app = buildApp(featurebaseJwtRouter({ jwtSecret: JWT_SECRET, resolveUser: testResolveUser }));

  it.each(['get', 'post'] as const)('answers %s with { featurebaseJwt }: HS256 with userId, email, name and exp, as Featurebase checks it', async (method) => {
    const res = await request(app)[method]('/api/featurebase-token').set('x-test-user', 'bob');
    expect(res.status).toBe(200);
    expect(Object.keys(res.body)).toEqual(['featurebaseJwt']);
    expect(decodeProtectedHeader(res.body.featurebaseJwt)).toEqual({ alg: 'HS256', typ: 'JWT' });
    const payload = await featurebaseAccepts(res.body.featurebaseJwt);
    expect(payload).toEqual({ userId: '6f1c1d3e-2b4a-4c5d-9e8f-0a1b2c3d4e5f', email: 'bob@example.com', name: 'Bob', iat: expect.any(Number), exp: expect.any(Number) });
    expect(payload.exp! - payload.iat!).toBe(3600);
  });

  it('signs a user without email or name with userId alone, and honours expiresIn', async () => {
    const bare = buildApp(featurebaseJwtRouter({ jwtSecret: JWT_SECRET, expiresIn: 120, resolveUser: () => ({ id: 'u-1' }) }));
    const payload = await featurebaseAccepts((await request(bare).get('/api/featurebase-token')).body.featurebaseJwt);
    expect(Object.keys(payload).sort()).toEqual(['exp', 'iat', 'userId']);
    expect(payload.exp! - payload.iat!).toBe(120);
  });

  it('reads FEATUREBASE_JWT_SECRET and names it when missing or invalid', () => {
    expect(FEATUREBASE_ENV.map((v) => v.name)).toEqual(['FEATUREBASE_JWT_SECRET']);
    expect(featurebaseConfigFromEnv({ FEATUREBASE_JWT_SECRET: JWT_SECRET })).toEqual({ jwtSecret: JWT_SECRET });
    expect(configProblems(() => featurebaseConfigFromEnv({}))).toEqual(['FEATUREBASE_JWT_SECRET: is not set']);
    expect(configProblems(() => featurebaseConfigFromEnv({ FEATUREBASE_JWT_SECRET: 'short' }))).toEqual(expect.arrayContaining([expect.stringMatching(/^FEATUREBASE_JWT_SECRET: /)]));
  });

  presetCommonCases({
    factory: featurebaseJwtRouter,
    name: 'featurebaseJwtRouter',
    options: { jwtSecret: JWT_SECRET },
    secretOption: 'jwtSecret',
    path: '/api/featurebase-token',
    secrets: [JWT_SECRET],
    vendor: 'featurebase',
    env: { FEATUREBASE_JWT_SECRET: JWT_SECRET },
    userIdOf: (body) => decodeJwt(body['featurebaseJwt'] as string)['userId'] as string,
  });
});
