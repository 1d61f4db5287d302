import { createHmac } from 'node:crypto';
import request from 'supertest';
import { HELPSCOUT_ENV, helpScoutBeaconRouter, helpScoutConfigFromEnv } from '../lib';
import { EXPRESS_MAJOR, buildApp, testResolveUser } from './helpers/app';
import { emailPresetCases, hexHmacMatches, userIdByEmail } from './helpers/email-presets';
import { configProblems, presetCommonCases } from './helpers/presets';

const SECRET = 'hs_Jq4Xw8Rk2Nv6Tz1Lm9Pb3Cy7Gd5Fs0Ah';

describe(`Help Scout Beacon (Express ${EXPRESS_MAJOR})`, () => {
  const app = buildApp(helpScoutBeaconRouter({ secret: SECRET, resolveUser: testResolveUser }));

  it.each(['get', 'post'] as const)('answers %s with { name, email, signature }: the hex (not base64) HMAC-SHA256 of the email', async (method) => {
    const res = await request(app)[method]('/api/helpscout-signature').set('x-test-user', 'ada');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ name: 'Ada Lovelace', email: 'Ada@Example.COM', signature: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(hexHmacMatches(SECRET, res.body.email, res.body.signature)).toBe(true);
    // the base64 digest of one old docs sample is not what is answered
    expect(res.body.signature).not.toBe(createHmac('sha256', SECRET).update(res.body.email).digest('base64'));
  });

  it('leaves name out for a user without one', async () => {
    const nameless = buildApp(helpScoutBeaconRouter({ secret: SECRET, resolveUser: () => ({ id: 'u1', email: 'x@example.com' }) }));
    const res = await request(nameless).get('/api/helpscout-signature');
    expect(Object.keys(res.body)).toEqual(['email', 'signature']);
    expect(hexHmacMatches(SECRET, 'x@example.com', res.body.signature)).toBe(true);
  });

  it('reads HELPSCOUT_BEACON_SECRET and names it when missing or invalid', () => {
    expect(HELPSCOUT_ENV.map((v) => v.name)).toEqual(['HELPSCOUT_BEACON_SECRET']);
    expect(helpScoutConfigFromEnv({ HELPSCOUT_BEACON_SECRET: SECRET })).toEqual({ secret: SECRET });
    expect(configProblems(() => helpScoutConfigFromEnv({}))).toEqual(['HELPSCOUT_BEACON_SECRET: is not set']);
    expect(configProblems(() => helpScoutConfigFromEnv({ HELPSCOUT_BEACON_SECRET: 'YOUR_SECRET_KEY_HERE' }))).toEqual(expect.arrayContaining([expect.stringMatching(/^HELPSCOUT_BEACON_SECRET: /)]));
  });

  emailPresetCases({ factory: helpScoutBeaconRouter, options: { secret: SECRET }, path: '/api/helpscout-signature' });

  presetCommonCases({
    factory: helpScoutBeaconRouter,
    name: 'helpScoutBeaconRouter',
    options: { secret: SECRET },
    secretOption: 'secret',
    path: '/api/helpscout-signature',
    secrets: [SECRET],
    vendor: 'helpscout',
    env: { HELPSCOUT_BEACON_SECRET: SECRET },
    userIdOf: (body) => userIdByEmail(body['email']),
  });
});
