import { createSecretKey } from 'node:crypto';
import request from 'supertest';
import { INTERCOM_ENV, intercomConfigFromEnv, intercomIdentityRouter } from '../lib';
import { EXPRESS_MAJOR, buildApp, testResolveUser } from './helpers/app';
import { loadJose } from './helpers/jose';
import { configProblems, presetCommonCases } from './helpers/presets';

const { decodeJwt, decodeProtectedHeader, jwtVerify } = loadJose();

const MESSENGER_SECRET = 'im_Jq4vT8zR2mW6xK1pL9sB3nD7hF5cG0yA';
const IDENTITY_SECRET = 'iv_Z3kP8wN1qT6rM4bX9cV2jL7sH5dF0gY';

// Intercom's published vector (intercom/identity-verification-code-samples): HMAC-SHA256 of "Message" keyed with "secret"
const VECTOR = 'aa747c502a898200f9e4fa21bac68136f886a0e27aec70ba06daf2e2a5cb5597';

describe(`Intercom, Messenger security (JWT) (Express ${EXPRESS_MAJOR})`, () => {
  const app = buildApp(intercomIdentityRouter({ messengerSecret: MESSENGER_SECRET, resolveUser: testResolveUser }));

  it.each(['get', 'post'] as const)('answers %s with { intercom_user_jwt }, an HS256 JWT of user_id, email and exp that jose verifies', async (method) => {
    const res = await request(app)[method]('/api/intercom-identity').set('x-test-user', 'ada');
    expect(res.status).toBe(200);
    expect(Object.keys(res.body)).toEqual(['intercom_user_jwt']);
    const token = res.body.intercom_user_jwt as string;
    expect(decodeProtectedHeader(token)).toEqual({ alg: 'HS256', typ: 'JWT' });
    const { payload } = await jwtVerify(token, new TextEncoder().encode(MESSENGER_SECRET), { algorithms: ['HS256'], requiredClaims: ['user_id', 'exp'] });
    expect(payload).toEqual({ user_id: 'user-ada', email: '  Ada@Example.COM ', iat: expect.any(Number), exp: expect.any(Number) });
    expect(payload.exp! - payload.iat!).toBe(3600);
    expect(Math.abs(payload.iat! - Date.now() / 1000)).toBeLessThan(5);
    await expect(jwtVerify(token, new TextEncoder().encode(IDENTITY_SECRET), { algorithms: ['HS256'] })).rejects.toThrow();
    expect(res.headers['cache-control']).toBe('no-store');
  });

  it('leaves email out for a user without one, and honours expiresIn', async () => {
    const short = buildApp(intercomIdentityRouter({ messengerSecret: MESSENGER_SECRET, expiresIn: 600, resolveUser: () => ({ id: 'u-7' }) }));
    const res = await request(short).get('/api/intercom-identity');
    const { payload } = await jwtVerify(res.body.intercom_user_jwt, new TextEncoder().encode(MESSENGER_SECRET), { algorithms: ['HS256'] });
    expect(Object.keys(payload).sort()).toEqual(['exp', 'iat', 'user_id']);
    expect(payload.exp! - payload.iat!).toBe(600);
    expect(configProblems(() => intercomIdentityRouter({ messengerSecret: MESSENGER_SECRET, expiresIn: 0, resolveUser: testResolveUser }))).toEqual(['expiresIn: must be at least 1 second']);
  });

  presetCommonCases({
    factory: intercomIdentityRouter,
    name: 'intercomIdentityRouter',
    options: { messengerSecret: MESSENGER_SECRET },
    secretOption: 'messengerSecret',
    path: '/api/intercom-identity',
    secrets: [MESSENGER_SECRET],
    vendor: 'intercom',
    env: { INTERCOM_MESSENGER_SECRET: MESSENGER_SECRET },
    userIdOf: (body) => decodeJwt(body['intercom_user_jwt'] as string)['user_id'] as string,
  });
});

describe(`Intercom, identity verification (HMAC) (Express ${EXPRESS_MAJOR})`, () => {
  const app = buildApp(intercomIdentityRouter({ identitySecret: IDENTITY_SECRET, resolveUser: testResolveUser }));

  it('gives Intercom’s published vector: user_hash of the user id "Message" keyed with "secret"', async () => {
    // a text secret of "secret" is refused as a placeholder: its bytes, with the length rule lowered to them
    for (const identitySecret of [Buffer.from('secret'), createSecretKey(Buffer.from('secret'))]) {
      const vector = buildApp(intercomIdentityRouter({ identitySecret, minSecretLength: 6, resolveUser: () => ({ id: 'Message' }) }));
      for (const method of ['get', 'post'] as const) {
        const res = await request(vector)[method]('/api/intercom-identity');
        expect(res.status).toBe(200);
        expect(res.body).toEqual({ user_id: 'Message', user_hash: VECTOR });
      }
    }
  });

  it.each(['get', 'post'] as const)('answers %s with { user_id, email, user_hash }: 64 lower-case hex digits of the user id it sends', async (method) => {
    const res = await request(app)[method]('/api/intercom-identity').set('x-test-user', 'bob');
    expect(res.status).toBe(200);
    expect(Object.keys(res.body)).toEqual(['user_id', 'email', 'user_hash']);
    expect(res.body.user_id).toBe('6f1c1d3e-2b4a-4c5d-9e8f-0a1b2c3d4e5f');
    expect(res.body.email).toBe('bob@example.com');
    expect(res.body.user_hash).toMatch(/^[0-9a-f]{64}$/);
  });

  presetCommonCases({
    factory: intercomIdentityRouter,
    name: 'intercomIdentityRouter',
    options: { identitySecret: IDENTITY_SECRET },
    secretOption: 'identitySecret',
    path: '/api/intercom-identity',
    secrets: [IDENTITY_SECRET],
    vendor: 'intercom',
    env: { INTERCOM_IDENTITY_SECRET: IDENTITY_SECRET },
    userIdOf: (body) => body['user_id'] as string,
  });
});

describe('Intercom configuration', () => {
  it('takes exactly one of the two secrets', () => {
    expect(configProblems(() => intercomIdentityRouter({ resolveUser: testResolveUser }))).toEqual([
      'messengerSecret: is required (JWT mode), or `identitySecret` (identity verification, HMAC mode): give one of them',
    ]);
    expect(configProblems(() => intercomIdentityRouter({ messengerSecret: MESSENGER_SECRET, identitySecret: IDENTITY_SECRET, resolveUser: testResolveUser }))).toEqual([
      'identitySecret: must not be given with `messengerSecret`: give the secret of the one mode your workspace uses',
    ]);
    expect(configProblems(() => intercomIdentityRouter({ identitySecret: Buffer.from('0123456789'), resolveUser: testResolveUser }))).toEqual([
      'identitySecret: must be at least 16 bytes long (minSecretLength)',
    ]);
  });

  it('reads INTERCOM_MESSENGER_SECRET or INTERCOM_IDENTITY_SECRET and names them when missing, doubled or invalid', () => {
    expect(INTERCOM_ENV.map((v) => v.name)).toEqual(['INTERCOM_MESSENGER_SECRET', 'INTERCOM_IDENTITY_SECRET']);
    expect(intercomConfigFromEnv({ INTERCOM_MESSENGER_SECRET: MESSENGER_SECRET })).toEqual({ messengerSecret: MESSENGER_SECRET });
    expect(intercomConfigFromEnv({ INTERCOM_IDENTITY_SECRET: IDENTITY_SECRET, INTERCOM_MESSENGER_SECRET: ' ' })).toEqual({ identitySecret: IDENTITY_SECRET });
    expect(configProblems(() => intercomConfigFromEnv({}))).toEqual([
      'INTERCOM_MESSENGER_SECRET: is not set: set it (Messenger security, JWT) or INTERCOM_IDENTITY_SECRET (identity verification, HMAC)',
    ]);
    expect(configProblems(() => intercomConfigFromEnv({ INTERCOM_MESSENGER_SECRET: MESSENGER_SECRET, INTERCOM_IDENTITY_SECRET: IDENTITY_SECRET }))).toEqual([
      'INTERCOM_IDENTITY_SECRET: must not be set together with INTERCOM_MESSENGER_SECRET: set only the secret of the mode your workspace uses',
    ]);
    expect(configProblems(() => intercomConfigFromEnv({ INTERCOM_IDENTITY_SECRET: 'changeme' }))).toEqual(
      expect.arrayContaining([expect.stringMatching(/^INTERCOM_IDENTITY_SECRET: /)]),
    );
    const weak = 'iv_test_secret_key_secret_key_1234';
    expect(configProblems(() => intercomConfigFromEnv({ INTERCOM_IDENTITY_SECRET: weak }))).toEqual([expect.stringMatching(/^INTERCOM_IDENTITY_SECRET: looks like a placeholder/)]);
    expect(intercomConfigFromEnv({ INTERCOM_IDENTITY_SECRET: weak }, { allowWeakSecrets: true })).toEqual({ identitySecret: weak, allowWeakSecrets: true });
  });
});
