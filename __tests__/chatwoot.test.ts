import { createHmac, timingSafeEqual } from 'node:crypto';
import request from 'supertest';
import { CHATWOOT_ENV, chatwootConfigFromEnv, chatwootIdentityRouter } from '../lib';
import { EXPRESS_MAJOR, buildApp, testResolveUser } from './helpers/app';
import { configProblems, presetCommonCases } from './helpers/presets';

/** A website inbox's HMAC token as Chatwoot shows it: 24 characters. */
const HMAC_TOKEN = 'vQ3kT8mZ2xWc7nR4pL9sJ6hB';

/**
 * Chatwoot's server check (app/controllers/api/v1/widget/contacts_controller.rb), written
 * again here with node:crypto: ActiveSupport::SecurityUtils.secure_compare(
 * OpenSSL::HMAC.hexdigest('sha256', hmac_token, identifier), identifier_hash) — a
 * comparison of strings, so only the lower-case hex digest passes.
 */
function chatwootAccepts(hmacToken: string, identifier: unknown, identifierHash: unknown): boolean {
  if (typeof identifier !== 'string' || typeof identifierHash !== 'string') return false;
  const expected = Buffer.from(createHmac('sha256', hmacToken).update(identifier).digest('hex'), 'utf8');
  const given = Buffer.from(identifierHash, 'utf8');
  return expected.length === given.length && timingSafeEqual(expected, given);
}

describe(`Chatwoot (Express ${EXPRESS_MAJOR})`, () => {
  const app = buildApp(chatwootIdentityRouter({ hmacToken: HMAC_TOKEN, resolveUser: testResolveUser }));

  it.each(['get', 'post'] as const)('answers %s with { identifier, identifier_hash } that Chatwoot’s comparison accepts', async (method) => {
    for (const [who, id] of [
      ['ada', 'user-ada'],
      ['bob', '6f1c1d3e-2b4a-4c5d-9e8f-0a1b2c3d4e5f'],
    ] as const) {
      const res = await request(app)[method]('/api/chatwoot-identity').set('x-test-user', who);
      expect(res.status).toBe(200);
      expect(Object.keys(res.body)).toEqual(['identifier', 'identifier_hash']);
      expect(res.body.identifier).toBe(id);
      expect(res.body.identifier_hash).toMatch(/^[0-9a-f]{64}$/);
      expect(chatwootAccepts(HMAC_TOKEN, res.body.identifier, res.body.identifier_hash)).toBe(true);
      // the same digest in upper case, or with another inbox's token, is refused by the same check
      expect(chatwootAccepts(HMAC_TOKEN, res.body.identifier, res.body.identifier_hash.toUpperCase())).toBe(false);
      expect(chatwootAccepts('wQ3kT8mZ2xWc7nR4pL9sJ6hB', res.body.identifier, res.body.identifier_hash)).toBe(false);
    }
  });

  it('accepts the 24-character token Chatwoot issues, as a string or as bytes', async () => {
    const bytes = buildApp(chatwootIdentityRouter({ hmacToken: Buffer.from(HMAC_TOKEN, 'utf8'), resolveUser: testResolveUser }));
    const res = await request(bytes).get('/api/chatwoot-identity').set('x-test-user', 'ada');
    expect(chatwootAccepts(HMAC_TOKEN, res.body.identifier, res.body.identifier_hash)).toBe(true);
    expect(configProblems(() => chatwootIdentityRouter({ hmacToken: HMAC_TOKEN, minSecretLength: 32, resolveUser: testResolveUser }))).toEqual([
      'hmacToken: must be at least 32 characters long (minSecretLength)',
    ]);
  });

  it('answers 500 INTERNAL_ERROR when resolveUser gives a user without a string id', async () => {
    const broken = buildApp(chatwootIdentityRouter({ hmacToken: HMAC_TOKEN, resolveUser: () => ({ id: 42 as never }) }));
    const res = await request(broken).get('/api/chatwoot-identity');
    expect(res.status).toBe(500);
    expect(res.body.error.code).toBe('INTERNAL_ERROR');
  });

  it('reads CHATWOOT_HMAC_TOKEN and names it when missing or invalid', () => {
    expect(CHATWOOT_ENV.map((v) => v.name)).toEqual(['CHATWOOT_HMAC_TOKEN']);
    expect(chatwootConfigFromEnv({ CHATWOOT_HMAC_TOKEN: HMAC_TOKEN })).toEqual({ hmacToken: HMAC_TOKEN });
    expect(configProblems(() => chatwootConfigFromEnv({}))).toEqual(['CHATWOOT_HMAC_TOKEN: is not set']);
    expect(configProblems(() => chatwootConfigFromEnv({ CHATWOOT_HMAC_TOKEN: 'YOUR_CHATWOOT_HMAC_TOKEN' }))).toEqual(expect.arrayContaining([expect.stringMatching(/^CHATWOOT_HMAC_TOKEN: /)]));
  });

  presetCommonCases({
    factory: chatwootIdentityRouter,
    name: 'chatwootIdentityRouter',
    options: { hmacToken: HMAC_TOKEN },
    secretOption: 'hmacToken',
    path: '/api/chatwoot-identity',
    secrets: [HMAC_TOKEN],
    vendor: 'chatwoot',
    env: { CHATWOOT_HMAC_TOKEN: HMAC_TOKEN },
    userIdOf: (body) => body['identifier'] as string,
  });
});
