import request from 'supertest';
import { CANNY_ENV, cannyConfigFromEnv, cannySsoRouter } from '../lib';
import { EXPRESS_MAJOR, buildApp, testResolveUser } from './helpers/app';
import { loadJose } from './helpers/jose';
import { configProblems, presetCommonCases } from './helpers/presets';

const { decodeJwt, decodeProtectedHeader, jwtVerify } = loadJose();

const PRIVATE_KEY = 'cn_9f3b7d1e-4c2a-48e6-b5d0-7a1c3e9f2b84';
const key = new TextEncoder().encode(PRIVATE_KEY);

/** Canny's SSO rules: HS256 with the private key, a string `id`, `email` and `name` strings when present, `exp` honoured. */
async function cannyAccepts(token: string) {
  const { payload } = await jwtVerify(token, key, { algorithms: ['HS256'], requiredClaims: ['id', 'exp'] });
  if (typeof payload['id'] !== 'string' || payload['id'] === '') throw new Error('id must be a non-empty string');
  for (const name of ['email', 'name', 'avatarURL']) if (name in payload && typeof payload[name] !== 'string') throw new Error(`${name} must be a string`);
  return payload;
}

describe(`Canny (Express ${EXPRESS_MAJOR})`, () => {
  const app = buildApp(cannySsoRouter({ privateKey: PRIVATE_KEY, resolveUser: testResolveUser }));

  it.each(['get', 'post'] as const)('answers %s with { ssoToken }: HS256 with id, email, name and exp, as Canny checks it', async (method) => {
    const res = await request(app)[method]('/api/canny-token').set('x-test-user', 'ada');
    expect(res.status).toBe(200);
    expect(Object.keys(res.body)).toEqual(['ssoToken']);
    expect(decodeProtectedHeader(res.body.ssoToken)).toEqual({ alg: 'HS256', typ: 'JWT' });
    const payload = await cannyAccepts(res.body.ssoToken);
    expect(payload).toEqual({ id: 'user-ada', email: '  Ada@Example.COM ', name: 'Ada Lovelace', iat: expect.any(Number), exp: expect.any(Number) });
    expect(payload.exp! - payload.iat!).toBe(3600);
    await expect(jwtVerify(res.body.ssoToken, new TextEncoder().encode(`${PRIVATE_KEY}0`), { algorithms: ['HS256'] })).rejects.toThrow();
  });

  it('adds avatarURL from its option, and honours expiresIn', async () => {
    const avatar = buildApp(cannySsoRouter({ privateKey: PRIVATE_KEY, expiresIn: 300, avatarURL: (user) => `https://cdn.example.com/a/${user.id}.png`, resolveUser: testResolveUser }));
    const payload = await cannyAccepts((await request(avatar).get('/api/canny-token').set('x-test-user', 'bob')).body.ssoToken);
    expect(payload['avatarURL']).toBe('https://cdn.example.com/a/6f1c1d3e-2b4a-4c5d-9e8f-0a1b2c3d4e5f.png');
    expect(payload.exp! - payload.iat!).toBe(300);
    expect(configProblems(() => cannySsoRouter({ privateKey: PRIVATE_KEY, avatarURL: 'x' as never, resolveUser: testResolveUser }))).toEqual([
      'avatarURL: must be a function (user) => string | undefined',
    ]);
  });

  it('reads CANNY_SSO_KEY and names it when missing or invalid', () => {
    expect(CANNY_ENV.map((v) => v.name)).toEqual(['CANNY_SSO_KEY']);
    expect(cannyConfigFromEnv({ CANNY_SSO_KEY: PRIVATE_KEY })).toEqual({ privateKey: PRIVATE_KEY });
    expect(configProblems(() => cannyConfigFromEnv({}))).toEqual(['CANNY_SSO_KEY: is not set']);
    expect(configProblems(() => cannyConfigFromEnv({ CANNY_SSO_KEY: 'YOUR_PRIVATE_SSO_KEY' }))).toEqual(expect.arrayContaining([expect.stringMatching(/^CANNY_SSO_KEY: /)]));
  });

  presetCommonCases({
    factory: cannySsoRouter,
    name: 'cannySsoRouter',
    options: { privateKey: PRIVATE_KEY },
    secretOption: 'privateKey',
    path: '/api/canny-token',
    secrets: [PRIVATE_KEY],
    vendor: 'canny',
    env: { CANNY_SSO_KEY: PRIVATE_KEY },
    userIdOf: (body) => decodeJwt(body['ssoToken'] as string)['id'] as string,
  });
});
