import request from 'supertest';
import { ZENDESK_ENV, zendeskConfigFromEnv, zendeskMessagingRouter } from '../lib';
import { EXPRESS_MAJOR, buildApp, captureLogger, testResolveUser } from './helpers/app';
import { loadJose } from './helpers/jose';
import { configProblems, presetCommonCases } from './helpers/presets';

const { decodeJwt, decodeProtectedHeader, jwtVerify } = loadJose();

const KEY_ID = 'app_64f1c2d3e4b5a69788796a5b';
const SECRET = 'zd_Hn3W8qLx2Vt7Rk5Mb9Pc4Jy1Fs6Dg0Aw';
const key = new TextEncoder().encode(SECRET);

/**
 * What Zendesk's messaging authentication requires of a token, as its documentation
 * states them: HS256 only, a `kid` header, `scope` = "user", a string `external_id` of at
 * most 255 characters, `email_verified` a boolean when present, and an `exp` honoured.
 */
async function zendeskAccepts(token: string, secret = key) {
  const header = decodeProtectedHeader(token);
  if (typeof header.kid !== 'string' || header.kid.length === 0) throw new Error('Invalid JWT header. Missing key id (kid)');
  const { payload } = await jwtVerify(token, secret, { algorithms: ['HS256'], requiredClaims: ['scope', 'external_id', 'exp'] });
  if (payload['scope'] !== 'user') throw new Error('scope must be "user"');
  const externalId = payload['external_id'];
  if (typeof externalId !== 'string' || externalId.length === 0 || externalId.length > 255) throw new Error('external_id must be a string of at most 255 characters');
  if ('email_verified' in payload && typeof payload['email_verified'] !== 'boolean') throw new Error('email_verified must be a boolean');
  return { header, payload };
}

describe(`Zendesk messaging (Express ${EXPRESS_MAJOR})`, () => {
  const app = buildApp(zendeskMessagingRouter({ keyId: KEY_ID, secret: SECRET, resolveUser: testResolveUser }));

  it.each(['get', 'post'] as const)('answers %s with { jwt }: HS256, kid header, scope "user", external_id, name, email and exp, as Zendesk checks them', async (method) => {
    const res = await request(app)[method]('/api/zendesk-token').set('x-test-user', 'ada');
    expect(res.status).toBe(200);
    expect(Object.keys(res.body)).toEqual(['jwt']);
    const { header, payload } = await zendeskAccepts(res.body.jwt);
    expect(header).toEqual({ alg: 'HS256', typ: 'JWT', kid: KEY_ID });
    expect(payload).toEqual({ scope: 'user', external_id: 'user-ada', name: 'Ada Lovelace', email: '  Ada@Example.COM ', iat: expect.any(Number), exp: expect.any(Number) });
    expect(payload.exp! - payload.iat!).toBe(3600);
    await expect(zendeskAccepts(res.body.jwt, new TextEncoder().encode(`${SECRET}x`))).rejects.toThrow();
  });

  it('sends email_verified: true only when emailVerified says so, and only with an email', async () => {
    const verified = buildApp(zendeskMessagingRouter({ keyId: KEY_ID, secret: SECRET, resolveUser: testResolveUser, emailVerified: (user) => user.email === 'bob@example.com' }));
    const bob = await zendeskAccepts((await request(verified).get('/api/zendesk-token').set('x-test-user', 'bob')).body.jwt);
    expect(bob.payload['email_verified']).toBe(true);
    const ada = await zendeskAccepts((await request(verified).get('/api/zendesk-token').set('x-test-user', 'ada')).body.jwt);
    expect('email_verified' in ada.payload).toBe(false);
    const always = buildApp(zendeskMessagingRouter({ keyId: KEY_ID, secret: SECRET, emailVerified: true, resolveUser: () => ({ id: 'no-mail' }) }));
    const none = await zendeskAccepts((await request(always).get('/api/zendesk-token')).body.jwt);
    expect(Object.keys(none.payload).sort()).toEqual(['exp', 'external_id', 'iat', 'scope']);
    expect(configProblems(() => zendeskMessagingRouter({ keyId: KEY_ID, secret: SECRET, emailVerified: 'yes' as never, resolveUser: testResolveUser }))).toEqual([
      'emailVerified: must be true, false or a function (user) => boolean',
    ]);
  });

  it('answers 500 and reports it when the user id is longer than Zendesk’s 255 characters (a host bug)', async () => {
    const logger = captureLogger();
    const long = buildApp(zendeskMessagingRouter({ keyId: KEY_ID, secret: SECRET, logger, resolveUser: () => ({ id: 'x'.repeat(256) }) }));
    const res = await request(long).get('/api/zendesk-token');
    expect(res.status).toBe(500);
    expect(res.body.error.code).toBe('INTERNAL_ERROR');
    expect(logger.text()).toContain('at most 255');
    const edge = buildApp(zendeskMessagingRouter({ keyId: KEY_ID, secret: SECRET, resolveUser: () => ({ id: 'y'.repeat(255) }) }));
    expect((await zendeskAccepts((await request(edge).get('/api/zendesk-token')).body.jwt)).payload['external_id']).toHaveLength(255);
  });

  it('requires keyId', () => {
    expect(configProblems(() => zendeskMessagingRouter({ secret: SECRET, resolveUser: testResolveUser } as never))).toEqual(['keyId: is required']);
  });

  it('reads ZENDESK_MESSAGING_KEY_ID and ZENDESK_MESSAGING_SECRET and names them when missing or invalid', () => {
    expect(ZENDESK_ENV.map((v) => v.name)).toEqual(['ZENDESK_MESSAGING_KEY_ID', 'ZENDESK_MESSAGING_SECRET']);
    expect(zendeskConfigFromEnv({ ZENDESK_MESSAGING_KEY_ID: KEY_ID, ZENDESK_MESSAGING_SECRET: SECRET })).toEqual({ keyId: KEY_ID, secret: SECRET });
    expect(configProblems(() => zendeskConfigFromEnv({}))).toEqual(['ZENDESK_MESSAGING_KEY_ID: is not set', 'ZENDESK_MESSAGING_SECRET: is not set']);
    expect(configProblems(() => zendeskConfigFromEnv({ ZENDESK_MESSAGING_KEY_ID: KEY_ID, ZENDESK_MESSAGING_SECRET: 'changeme' }))).toEqual(
      expect.arrayContaining([expect.stringMatching(/^ZENDESK_MESSAGING_SECRET: /)]),
    );
  });

  presetCommonCases({
    factory: zendeskMessagingRouter,
    name: 'zendeskMessagingRouter',
    options: { keyId: KEY_ID, secret: SECRET },
    secretOption: 'secret',
    path: '/api/zendesk-token',
    secrets: [SECRET],
    vendor: 'zendesk',
    env: { ZENDESK_MESSAGING_KEY_ID: KEY_ID, ZENDESK_MESSAGING_SECRET: SECRET },
    userIdOf: (body) => decodeJwt(body['jwt'] as string)['external_id'] as string,
  });
});
