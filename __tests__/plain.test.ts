import request from 'supertest';
import { PLAIN_CHAT_ENV, plainChatConfigFromEnv, plainChatIdentityRouter } from '../lib';
import { EXPRESS_MAJOR, buildApp, testResolveUser } from './helpers/app';
import { emailPresetCases, hexHmacMatches, userIdByEmail } from './helpers/email-presets';
import { configProblems, presetCommonCases } from './helpers/presets';

const SECRET = 'pl_5Wd9Hq2Mx7Bk4Rt1Vn8Cz3Lf6Gj0Ys';

describe(`Plain (Express ${EXPRESS_MAJOR})`, () => {
  const app = buildApp(plainChatIdentityRouter({ secret: SECRET, resolveUser: testResolveUser }));

  it.each(['get', 'post'] as const)('answers %s with { email, emailHash, fullName }: the HMAC-SHA256 hex of the email', async (method) => {
    const res = await request(app)[method]('/api/plain-identity').set('x-test-user', 'ada');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ email: 'Ada@Example.COM', emailHash: expect.stringMatching(/^[0-9a-f]{64}$/), fullName: 'Ada Lovelace' });
    expect(hexHmacMatches(SECRET, res.body.email, res.body.emailHash)).toBe(true);
  });

  it('leaves fullName out for a user without a name', async () => {
    const nameless = buildApp(plainChatIdentityRouter({ secret: SECRET, resolveUser: () => ({ id: 'u1', email: 'x@example.com' }) }));
    const res = await request(nameless).get('/api/plain-identity');
    expect(Object.keys(res.body)).toEqual(['email', 'emailHash']);
    expect(hexHmacMatches(SECRET, 'x@example.com', res.body.emailHash)).toBe(true);
  });

  it('reads PLAIN_CHAT_SECRET and names it when missing or invalid', () => {
    expect(PLAIN_CHAT_ENV.map((v) => v.name)).toEqual(['PLAIN_CHAT_SECRET']);
    expect(plainChatConfigFromEnv({ PLAIN_CHAT_SECRET: SECRET })).toEqual({ secret: SECRET });
    expect(configProblems(() => plainChatConfigFromEnv({}))).toEqual(['PLAIN_CHAT_SECRET: is not set']);
    expect(configProblems(() => plainChatConfigFromEnv({ PLAIN_CHAT_SECRET: 'YOUR_PLAIN_SECRET' }))).toEqual(expect.arrayContaining([expect.stringMatching(/^PLAIN_CHAT_SECRET: /)]));
  });

  emailPresetCases({ factory: plainChatIdentityRouter, options: { secret: SECRET }, path: '/api/plain-identity' });

  presetCommonCases({
    factory: plainChatIdentityRouter,
    name: 'plainChatIdentityRouter',
    options: { secret: SECRET },
    secretOption: 'secret',
    path: '/api/plain-identity',
    secrets: [SECRET],
    vendor: 'plain',
    env: { PLAIN_CHAT_SECRET: SECRET },
    userIdOf: (body) => userIdByEmail(body['email']),
  });
});
