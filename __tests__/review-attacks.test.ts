/**
 * Attacks on the vendor-minted credential routes over real HTTP, on Express 5 and
 * Express 4, against the vendor fakes on 127.0.0.1: each test is a reproduction that
 * failed before the fix it names.
 */
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { hubspotVisitorTokenRouter, memoryCredentialStore, pusherAuthRouter, type HubSpotVisitorTokenRouterOptions, type WidgetUser } from '../lib';
import { startFakeHubSpot, type FakeHubSpot } from '../lib/testing';
import { EXPRESS_MAJOR, buildApp, captureLogger, expectNoSecrets, testResolveUser } from './helpers/app';

const PATH = '/api/hubspot-visitor-token';
const HUBSPOT_PATH = '/visitor-identification/v3/tokens/create';

describe(`Attacks on vendor-minted credentials (Express ${EXPRESS_MAJOR})`, () => {
  describe('Pusher: form bodies two parsers read differently', () => {
    const canJoin = (user: WidgetUser, channel: string) => channel === `private-user-${user.id}`;
    const app = buildApp(pusherAuthRouter({ appId: '123456', key: '278d425bdf160c739803', secret: '7ad3773142a6692b25b8', resolveUser: testResolveUser, canJoin }));

    it.each([
      // qs (Express 4's express.urlencoded) reads channel_name as an array of both; PHP as the second alone
      ['channel_name and channel_name[]', 'socket_id=1.2&channel_name=private-user-user-ada&channel_name[]=private-user-bob'],
      ['channel_name[] first, escaped', 'socket_id=1.2&channel_name%5B%5D=private-user-bob&channel_name=private-user-user-ada'],
      ['channel_name and channel_name[0]', 'socket_id=1.2&channel_name=private-user-user-ada&channel_name[0]=private-user-bob'],
      ['socket_id and socket_id[x]', 'socket_id=1.2&socket_id[x]=3.4&channel_name=private-user-user-ada'],
    ])('refuses a form naming a field twice as %s (400, nothing signed)', async (_case, body) => {
      const res = await request(app).post('/api/pusher/auth').set('x-test-user', 'ada').type('form').send(body);
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('INVALID_REQUEST');
      expect(res.body.auth).toBeUndefined();
    });

    it('still signs a form whose other fields hold brackets', async () => {
      const res = await request(app).post('/api/pusher/auth').set('x-test-user', 'ada').type('form').send('socket_id=1.2&channel_name=private-user-user-ada&params[room]=x');
      expect(res.status).toBe(200);
      expect(typeof res.body.auth).toBe('string');
    });
  });

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
