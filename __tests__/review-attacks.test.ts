/**
 * Attacks on the vendor-minted credential routes over real HTTP, on Express 5 and
 * Express 4, against the vendor fakes on 127.0.0.1: each test is a reproduction that
 * failed before the fix it names.
 */
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { hubspotVisitorTokenRouter, memoryCredentialStore, type HubSpotVisitorTokenRouterOptions } from '../lib';
import { startFakeHubSpot, type FakeHubSpot } from '../lib/testing';
import { EXPRESS_MAJOR, buildApp, captureLogger, expectNoSecrets, testResolveUser } from './helpers/app';

const PATH = '/api/hubspot-visitor-token';
const HUBSPOT_PATH = '/visitor-identification/v3/tokens/create';

describe(`Attacks on vendor-minted credentials (Express ${EXPRESS_MAJOR})`, () => {
  describe('HubSpot: two accounts sharing one credential store', () => {
    const tokenA = `pat-na1-${randomUUID()}`;
    const tokenB = `pat-eu1-${randomUUID()}`;
    const logger = captureLogger();
    let portalA: FakeHubSpot;
    let portalB: FakeHubSpot;

    beforeAll(async () => {
      portalA = await startFakeHubSpot({ accessToken: tokenA });
      portalB = await startFakeHubSpot({ accessToken: tokenB });
    });
    afterAll(async () => {
      await portalA.close();
      await portalB.close();
      expectNoSecrets(logger.text(), [tokenA, tokenB, ...portalA.issued.map((i) => i.token), ...portalB.issued.map((i) => i.token)]);
    });

    const options = (accessToken: string, fake: FakeHubSpot, extra: Partial<HubSpotVisitorTokenRouterOptions> = {}): HubSpotVisitorTokenRouterOptions => ({
      accessToken,
      apiBaseUrl: fake.url,
      resolveUser: testResolveUser,
      retries: 0,
      timeoutMs: 1000,
      logger,
      ...extra,
    });
    const calls = (fake: FakeHubSpot) => fake.requests.filter((r) => r.path === HUBSPOT_PATH).length;

    it("never serves one account's visitor token on another account's router, and still shares within one account", async () => {
      // one Redis (here: one memory store) for every router of the app, as docs/scaling.md suggests
      const store = memoryCredentialStore({ max: 100 });
      const a = buildApp(hubspotVisitorTokenRouter(options(tokenA, portalA, { cache: { store } })));
      const b = buildApp(hubspotVisitorTokenRouter(options(tokenB, portalB, { cache: { store } })));
      const sameAsA = buildApp(hubspotVisitorTokenRouter(options(tokenA, portalA, { cache: { store } })));

      const fromA = await request(a).get(PATH).set('x-test-user', 'ada');
      expect(fromA.status).toBe(200);
      expect(portalA.verify(fromA.body.identificationToken).email).toBe('Ada@Example.COM');

      const fromB = await request(b).get(PATH).set('x-test-user', 'ada');
      expect(fromB.status).toBe(200);
      // the token of account A would let the page of account B chat as A's contact
      expect(fromB.body.identificationToken).not.toBe(fromA.body.identificationToken);
      expect(() => portalA.verify(fromB.body.identificationToken)).toThrow();
      expect(portalB.verify(fromB.body.identificationToken).email).toBe('Ada@Example.COM');
      expect(calls(portalB)).toBe(1);

      // a second router of account A still takes account A's cached token
      const again = await request(sameAsA).get(PATH).set('x-test-user', 'ada');
      expect(again.body.identificationToken).toBe(fromA.body.identificationToken);
      expect(calls(portalA)).toBe(1);
    });
  });
});
