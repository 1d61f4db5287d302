/**
 * hubspotVisitorTokenRouter over real HTTP, on Express 5 and Express 4, against the
 * HubSpot fake (startFakeHubSpot) on 127.0.0.1: the request HubSpot gets, the answer
 * the chat widget takes (the token checked by the fake's own verify, not by this
 * package), the per-user token cache (on by default, refresh ahead of the 12 hours,
 * HubSpot down, sign-out), HubSpot's refusals (a plan without the feature, a token
 * without the scope, a wrong token), timeouts, start-up and environment errors, and
 * widgetAuth mounting it from the environment. Expiry runs on an injected clock shared
 * with the fake.
 */
import { randomUUID } from 'node:crypto';
import type { Request } from 'express';
import request from 'supertest';
import {
  HUBSPOT_ENV,
  HUBSPOT_VISITOR_TOKEN_SCOPE,
  hubspotConfigFromEnv,
  hubspotVisitorTokenRouter,
  memoryCredentialStore,
  widgetAuth,
  type HubSpotVisitorTokenRouterOptions,
  type WidgetUser,
} from '../lib';
import { startFakeHubSpot, type FakeHubSpot } from '../lib/testing';
import { EXPRESS_MAJOR, USERS, buildApp, captureLogger, expectNoSecrets, testResolveUser } from './helpers/app';
import { emailPresetCases } from './helpers/email-presets';
import { configProblems } from './helpers/presets';

const ACCESS_TOKEN = `pat-na1-${randomUUID()}`;
const T0 = Date.parse('2030-05-01T12:00:00.000Z');
const HOUR = 3600_000;
const PATH = '/api/hubspot-visitor-token';
const HUBSPOT_PATH = '/visitor-identification/v3/tokens/create';
const DOCS = 'https://github.com/express-widget-auth/express-widget-auth/blob/main/docs/errors.md#';

describe(`HubSpot visitor identification (Express ${EXPRESS_MAJOR})`, () => {
  let now = T0;
  const clock = () => now;
  let fake: FakeHubSpot;
  const logger = captureLogger();

  beforeAll(async () => {
    fake = await startFakeHubSpot({ accessToken: ACCESS_TOKEN, now: clock });
  });
  afterAll(async () => {
    await fake.close();
    expectNoSecrets(logger.text(), [ACCESS_TOKEN, ...fake.issued.map((i) => i.token)]);
  });
  beforeEach(() => {
    now = T0;
    fake.clearFaults();
    fake.setVisitorIdentification(true);
    fake.requests.length = 0;
  });

  const options = (extra: Partial<HubSpotVisitorTokenRouterOptions> = {}): HubSpotVisitorTokenRouterOptions => ({
    accessToken: ACCESS_TOKEN,
    apiBaseUrl: fake.url,
    resolveUser: testResolveUser,
    clock,
    retries: 0,
    timeoutMs: 1000,
    logger,
    ...extra,
  });
  const appWith = (extra: Partial<HubSpotVisitorTokenRouterOptions> = {}) => buildApp(hubspotVisitorTokenRouter(options(extra)));
  const get = (app: Parameters<typeof request>[0], user = 'ada') => request(app).get(PATH).set('x-test-user', user);
  const calls = () => fake.requests.filter((r) => r.path === HUBSPOT_PATH);

  it.each(['get', 'post'] as const)('answers %s with exactly { identificationEmail, identificationToken }, a token HubSpot made for the user’s email', async (method) => {
    const res = await request(appWith())[method](PATH).set('x-test-user', 'ada');
    expect(res.status).toBe(200);
    expect(Object.keys(res.body).sort()).toEqual(['identificationEmail', 'identificationToken']);
    expect(res.body.identificationEmail).toBe('Ada@Example.COM');
    // checked by the fake's RS256 key, not by this package
    const claims = fake.verify(res.body.identificationToken);
    expect(claims).toMatchObject({ email: 'Ada@Example.COM', firstName: 'Ada', lastName: 'Lovelace', exp: T0 / 1000 + 12 * 3600 });
    expect(calls()).toHaveLength(1);
    const sent = calls()[0]!;
    expect([sent.method, sent.headers['authorization'], sent.headers['content-type'], sent.json]).toEqual([
      'POST',
      `Bearer ${ACCESS_TOKEN}`,
      'application/json',
      { email: 'Ada@Example.COM', firstName: 'Ada', lastName: 'Lovelace' },
    ]);
  });

  it('takes the email and names from resolveUser only: an email or names in the query or body are ignored', async () => {
    const app = appWith({ cache: false });
    const query = await request(app).get(`${PATH}?email=eve@evil.example&firstName=Eve&identificationEmail=eve@evil.example`).set('x-test-user', 'bob');
    const body = await request(app).post(PATH).set('x-test-user', 'bob').send({ email: 'eve@evil.example', firstName: 'Eve', lastName: 'Evil', identificationEmail: 'eve@evil.example' });
    for (const res of [query, body]) {
      expect(res.status).toBe(200);
      expect(res.body.identificationEmail).toBe('bob@example.com');
      expect(fake.verify(res.body.identificationToken).email).toBe('bob@example.com');
      // the token is checked by what it decodes to: its base64url signature may spell anything
      const { identificationToken, ...rest } = res.body as Record<string, string>;
      expect(JSON.stringify(rest)).not.toMatch(/evil|Eve/);
      expect(JSON.stringify(fake.verify(identificationToken!))).not.toMatch(/evil|Eve/);
    }
    expect(calls().map((c) => c.json)).toEqual([
      { email: 'bob@example.com', firstName: 'Bob' },
      { email: 'bob@example.com', firstName: 'Bob' },
    ]);
  });

  it('sends the names `names` gives, or none with names: false', async () => {
    const custom = await get(appWith({ cache: false, names: (user) => ({ firstName: `  ${user.id} `, lastName: '' }) }));
    expect(custom.status).toBe(200);
    const plain = await get(appWith({ cache: false, names: false }));
    expect(plain.status).toBe(200);
    expect(calls().map((c) => c.json)).toEqual([{ email: 'Ada@Example.COM', firstName: 'user-ada' }, { email: 'Ada@Example.COM' }]);
    const broken = await get(appWith({ cache: false, names: () => ({ firstName: 7 as unknown as string }) }));
    expect([broken.status, broken.body.error.code]).toEqual([500, 'INTERNAL_ERROR']);
    expect(calls()).toHaveLength(2);
  });

  it('makes one HubSpot call for N requests of one user within the token’s life (cache on by default)', async () => {
    const app = appWith();
    const first = await get(app);
    expect(first.status).toBe(200);
    for (let i = 0; i < 5; i++) {
      now += 2 * HOUR; // up to 10 hours later: more than an hour left
      expect((await get(app)).body).toEqual(first.body);
    }
    const concurrent = await Promise.all(Array.from({ length: 20 }, () => get(app)));
    expect(new Set(concurrent.map((r) => r.body.identificationToken))).toEqual(new Set([first.body.identificationToken]));
    expect(calls()).toHaveLength(1);
    // another user gets a token of their own
    const bob = await get(app, 'bob');
    expect(fake.verify(bob.body.identificationToken).email).toBe('bob@example.com');
    expect(calls()).toHaveLength(2);
  });

  it('asks HubSpot on every request with cache: false', async () => {
    const app = appWith({ cache: false });
    const tokens = [];
    for (let i = 0; i < 3; i++) {
      now += 1000; // the fake's tokens differ by their iat
      const res = await get(app);
      expect(res.status).toBe(200);
      tokens.push(res.body.identificationToken);
    }
    expect(calls()).toHaveLength(3);
    expect(new Set(tokens).size).toBe(3);
  });

  it('refreshes a token an hour before its 12 hours run out by default, and refreshBefore seconds before with the option', async () => {
    const app = appWith();
    const first = (await get(app)).body.identificationToken;
    now = T0 + 11 * HOUR - 1000;
    expect((await get(app)).body.identificationToken).toBe(first);
    now = T0 + 11 * HOUR + 1000;
    const second = (await get(app)).body.identificationToken;
    expect(second).not.toBe(first);
    expect(fake.verify(second).exp).toBe(Math.floor(now / 1000) + 12 * 3600);
    expect(calls()).toHaveLength(2);

    fake.requests.length = 0;
    now = T0;
    const late = appWith({ cache: { refreshBefore: 60 } });
    const token = (await get(late)).body.identificationToken;
    now = T0 + 12 * HOUR - 61_000;
    expect((await get(late)).body.identificationToken).toBe(token);
    now = T0 + 12 * HOUR - 59_000;
    expect((await get(late)).body.identificationToken).not.toBe(token);
    expect(calls()).toHaveLength(2);
  });

  it('serves the cached token while HubSpot is down until it expires, then answers 502 UPSTREAM_UNAVAILABLE', async () => {
    const app = appWith();
    const first = (await get(app)).body.identificationToken;
    fake.fault({ kind: 'status', status: 503, body: { status: 'error', category: 'SERVICE_UNAVAILABLE' } });
    now = T0 + 11.5 * HOUR; // inside refreshBefore: a refresh is tried, and fails
    const stale = await get(app);
    expect([stale.status, stale.body.identificationToken]).toEqual([200, first]);
    now = T0 + 12 * HOUR + 1000;
    const expired = await get(app);
    expect([expired.status, expired.body.error.code]).toEqual([502, 'UPSTREAM_UNAVAILABLE']);
    expect(expired.text).not.toContain(first);
    fake.clearFaults();
    expect(fake.verify((await get(app)).body.identificationToken).email).toBe('Ada@Example.COM');
  });

  it('shares tokens between routers given one store, and drops a user’s token with invalidate(user)', async () => {
    const store = memoryCredentialStore({ max: 100 });
    const one = hubspotVisitorTokenRouter(options({ cache: { store } }));
    const two = hubspotVisitorTokenRouter(options({ cache: { store } }));
    const first = (await get(buildApp(one))).body.identificationToken;
    expect((await get(buildApp(two))).body.identificationToken).toBe(first);
    expect(calls()).toHaveLength(1);
    await two.invalidate(USERS['ada']!);
    now += 1000;
    const fresh = (await get(buildApp(one))).body.identificationToken;
    expect(fresh).not.toBe(first);
    await one.invalidate('user-ada');
    now += 1000;
    expect((await get(buildApp(two))).body.identificationToken).not.toBe(fresh);
    expect(calls()).toHaveLength(3);
    // without a cache there is nothing to drop
    await expect(hubspotVisitorTokenRouter(options({ cache: false })).invalidate('user-ada')).resolves.toBeUndefined();
  });

  it('mints a new token when the user’s email changed since the cached one', async () => {
    let email = 'grace@example.com';
    const app = appWith({ resolveUser: () => ({ id: 'user-grace', email }) });
    expect((await get(app)).body.identificationEmail).toBe('grace@example.com');
    email = 'grace.hopper@example.com';
    const res = await get(app);
    expect(res.body.identificationEmail).toBe('grace.hopper@example.com');
    expect(fake.verify(res.body.identificationToken).email).toBe('grace.hopper@example.com');
    expect(calls()).toHaveLength(2);
  });

  describe('users without an email', () => {
    emailPresetCases({ factory: hubspotVisitorTokenRouter, options: { accessToken: ACCESS_TOKEN, apiBaseUrl: 'http://127.0.0.1:9', retries: 0 }, path: PATH });

    it('answers 500 for an email that is not an address, without calling HubSpot', async () => {
      const res = await get(appWith({ resolveUser: () => ({ id: 'user-x', email: 'not an address' }) }));
      expect([res.status, res.body.error.code]).toEqual([500, 'INTERNAL_ERROR']);
      expect(calls()).toHaveLength(0);
    });
  });

  it('answers 401 UNAUTHORIZED to GET and POST when nobody is signed in, without calling HubSpot', async () => {
    const app = appWith();
    for (const method of ['get', 'post'] as const) {
      const res = await request(app)[method](PATH).send(method === 'post' ? { email: 'ada@example.com' } : undefined);
      expect([res.status, res.body.error.code]).toEqual([401, 'UNAUTHORIZED']);
    }
    expect(calls()).toHaveLength(0);
  });

  it('answers 405 with Allow: GET, POST, and refuses another site with 403 FORBIDDEN_ORIGIN', async () => {
    const denied = await request(appWith()).delete(PATH).set('x-test-user', 'ada');
    expect([denied.status, denied.headers['allow'], denied.body.error.code]).toEqual([405, 'GET, POST', 'METHOD_NOT_ALLOWED']);
    const app = appWith({ allowedOrigins: ['https://app.example.com'], cors: true });
    const evil = await request(app).post(PATH).set('x-test-user', 'ada').set('Origin', 'https://evil.example.net');
    expect([evil.status, evil.body.error.code]).toEqual([403, 'FORBIDDEN_ORIGIN']);
    const good = await request(app).post(PATH).set('x-test-user', 'ada').set('Origin', 'https://app.example.com');
    expect([good.status, good.headers['access-control-allow-origin']]).toEqual([200, 'https://app.example.com']);
    expect(calls()).toHaveLength(1);
  });

  describe('HubSpot refusing', () => {
    let writes: jest.SpyInstance;
    beforeEach(() => {
      writes = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    });
    afterEach(() => writes.mockRestore());
    const reports = () => writes.mock.calls.map(([chunk]) => String(chunk)).filter((line) => line.startsWith('express-widget-auth: hubspot'));

    it('answers 503 UPSTREAM_FEATURE_UNAVAILABLE for an account whose plan lacks visitor identification, and reports it once on stderr', async () => {
      fake.setVisitorIdentification(false);
      const app = appWith({ logger: undefined, path: '/api/hubspot-plan' });
      for (let i = 0; i < 3; i++) {
        const res = await request(app).get('/api/hubspot-plan').set('x-test-user', 'ada');
        expect(res.status).toBe(503);
        expect(res.body.error).toEqual({ code: 'UPSTREAM_FEATURE_UNAVAILABLE', message: "The widget vendor does not offer this feature to this site's account.", correlationId: fake.errors.at(-1)!.correlationId });
      }
      const lines = reports();
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain('hubspot /api/hubspot-plan: UPSTREAM_FEATURE_UNAVAILABLE:');
      expect(lines[0]).toContain("The HubSpot API says this account's plan does not include");
      expect(lines[0]).toContain('HTTP 403, vendor code FORBIDDEN');
      expect(lines[0]).toMatch(/Professional or Enterprise subscription/);
      expect(lines[0]).toContain(`${DOCS}the-vendor-account-lacks-the-feature`);
      expect(lines[0]).not.toContain(ACCESS_TOKEN);
    });

    it('puts the same sentence in the request’s log event with a logger, and nothing on stderr', async () => {
      fake.setVisitorIdentification(false);
      const events = captureLogger();
      const res = await get(appWith({ logger: events, path: PATH }));
      expect(res.status).toBe(503);
      const event = events.events.find((e) => (e.obj as { code?: string }).code === 'UPSTREAM_FEATURE_UNAVAILABLE')!.obj as Record<string, unknown>;
      expect(event).toMatchObject({ code: 'UPSTREAM_FEATURE_UNAVAILABLE', status: 503, upstreamStatus: 403, vendorCode: 'FORBIDDEN', docs: `${DOCS}the-vendor-account-lacks-the-feature` });
      expect(event['hint']).toMatch(/Professional or Enterprise subscription/);
      expect(reports()).toEqual([]);
      expectNoSecrets(events.text(), [ACCESS_TOKEN]);
    });

    it('answers 502 UPSTREAM_REJECTED when the private app lacks the scope, and reports the scope to add', async () => {
      const unscoped = await startFakeHubSpot({ accessToken: ACCESS_TOKEN, scopes: ['crm.objects.contacts.read'] });
      try {
        const res = await get(appWith({ apiBaseUrl: unscoped.url, logger: undefined }));
        expect([res.status, res.body.error.code]).toEqual([502, 'UPSTREAM_REJECTED']);
        const lines = reports();
        expect(lines).toHaveLength(1);
        expect(lines[0]).toContain('UPSTREAM_REJECTED');
        expect(lines[0]).toContain('vendor code MISSING_SCOPES');
        expect(lines[0]).toContain(`lacks the ${HUBSPOT_VISITOR_TOKEN_SCOPE} scope`);
        expect(lines[0]).toContain(`${DOCS}the-vendor-refused-this-server`);
      } finally {
        await unscoped.close();
      }
    });

    it('answers 502 UPSTREAM_REJECTED, never 401, when HubSpot refuses the access token', async () => {
      const other = `pat-na1-${randomUUID()}`;
      const res = await get(appWith({ accessToken: other, logger: undefined, path: PATH }));
      expect([res.status, res.body.error.code]).toEqual([502, 'UPSTREAM_REJECTED']);
      const line = reports().find((l) => l.includes('HTTP 401'))!;
      expect(line).toContain('vendor code INVALID_AUTHENTICATION');
      expect(line).not.toContain(other);
      expect(res.text).not.toContain(other);
    });
  });

  it('answers 504 UPSTREAM_TIMEOUT when HubSpot is too slow, and 502 UPSTREAM_INVALID_RESPONSE for an answer without a token', async () => {
    fake.fault({ kind: 'latency', ms: 800 }, { times: 1 });
    const slow = await get(appWith({ timeoutMs: 200, cache: false }));
    expect([slow.status, slow.body.error.code]).toEqual([504, 'UPSTREAM_TIMEOUT']);
    fake.fault({ kind: 'wrong-shape' }, { times: 1 });
    const odd = await get(appWith({ cache: false }));
    expect([odd.status, odd.body.error.code]).toEqual([502, 'UPSTREAM_INVALID_RESPONSE']);
  });

  it('logs one event per request without the access token or the visitor token', async () => {
    const events = captureLogger();
    const res = await get(appWith({ logger: events }));
    expect(res.status).toBe(200);
    expect(events.events).toHaveLength(1);
    expectNoSecrets(events.text(), [ACCESS_TOKEN, res.body.identificationToken]);
    expectNoSecrets(JSON.stringify(res.headers), [ACCESS_TOKEN, res.body.identificationToken]);
  });

  it('refuses at start-up a missing or placeholder token, a bad base URL, cache or names, and unknown options, never quoting the token', () => {
    const build = (extra: Record<string, unknown>) => () => hubspotVisitorTokenRouter({ ...options(), ...extra } as HubSpotVisitorTokenRouterOptions);
    expect(configProblems(build({ accessToken: undefined }))).toEqual(['accessToken: is required']);
    for (const bad of ['changeme', 'pat-short', 'your-hubspot-access-token', 'a'.repeat(40)]) {
      const problems = configProblems(build({ accessToken: bad }));
      expect(problems.length).toBeGreaterThan(0);
      expect(problems.every((p) => p.startsWith('accessToken: '))).toBe(true);
      expect(problems.join('\n')).not.toContain(bad);
    }
    expect(configProblems(build({ apiBaseUrl: 'http://api.hubapi.com' }))).toEqual(['apiBaseUrl: must use https: (plain http: is allowed only for localhost, 127.0.0.0/8 and [::1])']);
    expect(configProblems(build({ apiBaseUrl: 'https://api.hubapi.com/visitor-identification/v3' }))[0]).toMatch(/^apiBaseUrl: must be the API origin without the vendor's route/);
    expect(configProblems(build({ cache: { refreshBefore: 12 * 3600 } }))).toEqual(['cache.refreshBefore: must be at most 39600 seconds (11 hours): the token lasts 12 hours']);
    expect(configProblems(build({ cache: { store: {} } }))[0]).toMatch(/^cache\.store: must be a credential store/);
    expect(configProblems(build({ cache: true }))).toEqual(['cache: must be false or { store, refreshBefore }']);
    expect(configProblems(build({ names: 'first' }))).toEqual(['names: must be false or a function (user) => ({ firstName, lastName })']);
    expect(configProblems(build({ acessToken: ACCESS_TOKEN }))).toEqual(['acessToken: unknown option (did you mean `accessToken`?)']);
    // a weak token is accepted with the opt-out, as in tests
    expect(() => hubspotVisitorTokenRouter({ ...options(), accessToken: 'test-token-test-token', allowWeakSecrets: true })).not.toThrow();
  });

  it('tells a function given as its options apart: hubspotVisitorTokenRouter itself (mounted uncalled), or resolveUser alone', () => {
    expect(() => (hubspotVisitorTokenRouter as (o: unknown) => unknown)(hubspotVisitorTokenRouter)).toThrow(/did you write `app.use\(hubspotVisitorTokenRouter\)`/);
    expect(() => (hubspotVisitorTokenRouter as (o: unknown) => unknown)(() => undefined)).toThrow(/resolveUser goes inside the options: hubspotVisitorTokenRouter\(\{ …, resolveUser \}\)/);
  });

  it('reads HUBSPOT_ACCESS_TOKEN and names it when missing or invalid', () => {
    expect(HUBSPOT_ENV.map((v) => v.name)).toEqual(['HUBSPOT_ACCESS_TOKEN']);
    expect(hubspotConfigFromEnv({ HUBSPOT_ACCESS_TOKEN: ACCESS_TOKEN })).toEqual({ accessToken: ACCESS_TOKEN });
    expect(configProblems(() => hubspotConfigFromEnv({}))).toEqual(['HUBSPOT_ACCESS_TOKEN: is not set']);
    const problems = configProblems(() => hubspotConfigFromEnv({ HUBSPOT_ACCESS_TOKEN: 'YOUR_HUBSPOT_TOKEN' }));
    expect(problems).toEqual([expect.stringMatching(/^HUBSPOT_ACCESS_TOKEN: /)]);
    expect(problems.join('\n')).not.toContain('YOUR_HUBSPOT_TOKEN');
  });

  it('is mounted by widgetAuth from HUBSPOT_ACCESS_TOKEN, and detected without being named', async () => {
    const env = { HUBSPOT_ACCESS_TOKEN: ACCESS_TOKEN };
    const router = widgetAuth({ resolveUser: testResolveUser, env, vendors: { hubspot: { apiBaseUrl: fake.url, clock, retries: 0 } } });
    expect(router.mounted).toEqual(['hubspot']);
    expect(router.routes).toEqual([{ vendor: 'hubspot', path: PATH, methods: ['GET', 'POST'] }]);
    const res = await get(buildApp(router));
    expect(res.status).toBe(200);
    expect(fake.verify(res.body.identificationToken).email).toBe('Ada@Example.COM');
    expect(widgetAuth({ resolveUser: testResolveUser, env }).mounted).toEqual(['hubspot']);
    const resolveUser = (req: Request): WidgetUser | null => testResolveUser(req);
    expect(() => widgetAuth({ resolveUser, env, vendors: { hubspot: { accessToken: ACCESS_TOKEN } as never } })).toThrow(/accessToken/);
  });
});
