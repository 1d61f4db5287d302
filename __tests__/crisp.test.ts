import request from 'supertest';
import { CRISP_ENV, crispConfigFromEnv, crispIdentityRouter } from '../lib';
import { EXPRESS_MAJOR, buildApp, testResolveUser } from './helpers/app';
import { emailPresetCases, hexHmacMatches, userIdByEmail } from './helpers/email-presets';
import { configProblems, presetCommonCases } from './helpers/presets';

const SECRET = 'cr_8e4b1f7a2d9c5e3b6a0f4d8c2e7b1a95';

describe(`Crisp (Express ${EXPRESS_MAJOR})`, () => {
  const app = buildApp(crispIdentityRouter({ secret: SECRET, resolveUser: testResolveUser }));

  it.each(['get', 'post'] as const)('answers %s with { email, signature }: the HMAC-SHA256 hex of the email Crisp verifies', async (method) => {
    const res = await request(app)[method]('/api/crisp-identity').set('x-test-user', 'ada');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ email: 'Ada@Example.COM', signature: expect.stringMatching(/^[0-9a-f]{64}$/) });
    // what $crisp.push(["set", "user:email", [email, signature]]) sends, checked as Crisp checks it
    expect(hexHmacMatches(SECRET, res.body.email, res.body.signature)).toBe(true);
    expect(hexHmacMatches(SECRET, 'ada@example.com', res.body.signature)).toBe(false);
    expect(hexHmacMatches(`${SECRET}0`, res.body.email, res.body.signature)).toBe(false);
  });

  it('reads CRISP_VERIFY_SECRET and names it when missing or invalid', () => {
    expect(CRISP_ENV.map((v) => v.name)).toEqual(['CRISP_VERIFY_SECRET']);
    expect(crispConfigFromEnv({ CRISP_VERIFY_SECRET: SECRET })).toEqual({ secret: SECRET });
    expect(configProblems(() => crispConfigFromEnv({}))).toEqual(['CRISP_VERIFY_SECRET: is not set']);
    expect(configProblems(() => crispConfigFromEnv({ CRISP_VERIFY_SECRET: 'YOUR_CRISP_SECRET' }))).toEqual(expect.arrayContaining([expect.stringMatching(/^CRISP_VERIFY_SECRET: /)]));
  });

  emailPresetCases({ factory: crispIdentityRouter, options: { secret: SECRET }, path: '/api/crisp-identity' });

  presetCommonCases({
    factory: crispIdentityRouter,
    name: 'crispIdentityRouter',
    options: { secret: SECRET },
    secretOption: 'secret',
    path: '/api/crisp-identity',
    secrets: [SECRET],
    vendor: 'crisp',
    env: { CRISP_VERIFY_SECRET: SECRET },
    userIdOf: (body) => userIdByEmail(body['email']),
  });
});
