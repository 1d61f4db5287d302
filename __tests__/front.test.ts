import request from 'supertest';
import { FRONT_CHAT_ENV, frontChatConfigFromEnv, frontChatIdentityRouter } from '../lib';
import { EXPRESS_MAJOR, buildApp, testResolveUser } from './helpers/app';
import { emailPresetCases, hexHmacMatches, userIdByEmail } from './helpers/email-presets';
import { configProblems, presetCommonCases } from './helpers/presets';

const SECRET = 'fr_a3c7e1b9d5f2846a0c8e4b2d6f1a9c73';

describe(`Front Chat (Express ${EXPRESS_MAJOR})`, () => {
  const app = buildApp(frontChatIdentityRouter({ secret: SECRET, resolveUser: testResolveUser }));

  it.each(['get', 'post'] as const)('answers %s with { email, name, userHash }: the HMAC-SHA256 hex of the email', async (method) => {
    const res = await request(app)[method]('/api/front-identity').set('x-test-user', 'ada');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ email: 'Ada@Example.COM', name: 'Ada Lovelace', userHash: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(hexHmacMatches(SECRET, res.body.email, res.body.userHash)).toBe(true);
  });

  it("with identifyBy: 'userId' answers { userId, email, name, userHash }, the hash of the user id (not of the email)", async () => {
    const byId = buildApp(frontChatIdentityRouter({ secret: SECRET, identifyBy: 'userId', resolveUser: testResolveUser }));
    const res = await request(byId).post('/api/front-identity').set('x-test-user', 'ada').send({ userId: 'evil' });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ userId: 'user-ada', email: 'Ada@Example.COM', name: 'Ada Lovelace', userHash: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(hexHmacMatches(SECRET, 'user-ada', res.body.userHash)).toBe(true);
    expect(hexHmacMatches(SECRET, res.body.email, res.body.userHash)).toBe(false);
    // by id, a user without an email is still identified
    const noEmail = buildApp(frontChatIdentityRouter({ secret: SECRET, identifyBy: 'userId', resolveUser: () => ({ id: 'u1' }) }));
    const answer = await request(noEmail).get('/api/front-identity');
    expect(answer.body).toEqual({ userId: 'u1', userHash: expect.any(String) });
    // the email sent beside the id loses ASCII space around it only: never turned into another user's address
    const padded = buildApp(frontChatIdentityRouter({ secret: SECRET, identifyBy: 'userId', resolveUser: () => ({ id: 'u2', email: ' bob@example.com\t' }) }));
    expect((await request(padded).get('/api/front-identity')).body.email).toBe('bob@example.com');
    const lookalike = buildApp(frontChatIdentityRouter({ secret: SECRET, identifyBy: 'userId', resolveUser: () => ({ id: 'u3', email: '\ufeffkelly@example.com\u3000' }) }));
    const kept = await request(lookalike).get('/api/front-identity');
    expect([kept.status, kept.body.userId, kept.body.email]).toEqual([200, 'u3', '\ufeffkelly@example.com\u3000']);
    // a blank email is no email: left out, as for a user without one
    const blank = buildApp(frontChatIdentityRouter({ secret: SECRET, identifyBy: 'userId', resolveUser: () => ({ id: 'u4', email: ' \t ' }) }));
    expect((await request(blank).get('/api/front-identity')).body).toEqual({ userId: 'u4', userHash: expect.any(String) });
    expect(configProblems(() => frontChatIdentityRouter({ secret: SECRET, identifyBy: 'id' as never, resolveUser: testResolveUser }))).toEqual(["identifyBy: must be 'email' or 'userId'"]);
  });

  it('reads FRONT_CHAT_SECRET and names it when missing or invalid', () => {
    expect(FRONT_CHAT_ENV.map((v) => v.name)).toEqual(['FRONT_CHAT_SECRET']);
    expect(frontChatConfigFromEnv({ FRONT_CHAT_SECRET: SECRET })).toEqual({ secret: SECRET });
    expect(configProblems(() => frontChatConfigFromEnv({}))).toEqual(['FRONT_CHAT_SECRET: is not set']);
    expect(configProblems(() => frontChatConfigFromEnv({ FRONT_CHAT_SECRET: 'YOUR_FRONT_SECRET' }))).toEqual(expect.arrayContaining([expect.stringMatching(/^FRONT_CHAT_SECRET: /)]));
  });

  emailPresetCases({ factory: frontChatIdentityRouter, options: { secret: SECRET }, path: '/api/front-identity' });

  presetCommonCases({
    factory: frontChatIdentityRouter,
    name: 'frontChatIdentityRouter',
    options: { secret: SECRET },
    secretOption: 'secret',
    path: '/api/front-identity',
    secrets: [SECRET],
    vendor: 'front',
    env: { FRONT_CHAT_SECRET: SECRET },
    userIdOf: (body) => userIdByEmail(body['email']),
  });
});
