/**
 * `neverminedSessionRouter` with `cache` over real HTTP, on Express 5 and Express 4,
 * against the fake Nevermined API (which records every session it issues): one call per
 * user within a session's life, none of it by default, one entry per user, refresh ahead
 * of `expiresAt`, the cached session served while Nevermined is down only until it
 * expires, `invalidate` for sign-out, a changed email never served the old session, and
 * the option's start-up errors. Time moves by shifting `Date.now`, which both the router's
 * cache and the fake read.
 */
import type { Express, Request } from 'express';
import request from 'supertest';
import { WidgetAuthConfigError, WidgetAuthError, memoryCredentialStore, neverminedSessionRouter, type CredentialStore, type NeverminedSessionRouterOptions, type WidgetUser } from '../lib';
import { shareSecrets } from '../lib/core/pipeline';
import { startFakeNevermined, type FakeNevermined } from '../lib/testing';
import { EXPRESS_MAJOR, USERS, buildApp, captureLogger, expectNoSecrets, testResolveUser } from './helpers/app';

const ORG = 'org-cache';
const SECRET = 'wk_test_9c4e7a2f1b8d3e6a0c5f';
const HOUR_MS = 3600_000;

describe(`neverminedSessionRouter cache (Express ${EXPRESS_MAJOR})`, () => {
  const realNow = Date.now.bind(Date);
  let shift = 0;
  const logger = captureLogger();
  let fake: FakeNevermined;

  beforeAll(async () => {
    jest.spyOn(Date, 'now').mockImplementation(() => realNow() + shift);
    fake = await startFakeNevermined({ orgs: { [ORG]: { secret: SECRET } }, sessionTtlMs: 2 * HOUR_MS, now: () => Date.now() });
  });
  afterAll(async () => {
    await fake.close();
    jest.restoreAllMocks();
    expectNoSecrets(logger.text(), [SECRET, ...fake.sessions.map((s) => s.session.sessionToken)]);
  });
  beforeEach(() => {
    shift = 0;
    fake.clearFaults();
    fake.sessions.length = 0;
    fake.requests.length = 0;
  });

  const router = (options: Partial<NeverminedSessionRouterOptions> = {}) =>
    neverminedSessionRouter({ orgId: ORG, rawSecret: SECRET, apiBaseUrl: fake.url, resolveUser: testResolveUser, logger, retries: 0, timeoutMs: 2000, ...options });
  const cached = (options: Partial<NeverminedSessionRouterOptions> = {}) => router({ cache: { store: memoryCredentialStore(), refreshBefore: 60 }, ...options });
  const get = (app: Express, user = 'ada') => request(app).get('/api/widget-session').set('x-test-user', user);
  const issuedFor = (email: string) => fake.sessions.filter((s) => s.email === email).map((s) => s.session);
  const ADA = 'ada@example.com';

  it('makes one call to Nevermined for N requests of one user, and answers each with the same session', async () => {
    const app = buildApp(cached());
    const first = await get(app);
    expect(first.status).toBe(200);
    expect(first.body).toEqual(fake.sessions[0]!.session);
    for (let i = 0; i < 5; i++) {
      shift += 10 * 60_000; // ten minutes later, far from the session's end
      const again = await request(app).post('/api/widget-session').set('x-test-user', 'ada');
      expect(again.status).toBe(200);
      expect(again.body).toEqual(first.body);
    }
    const concurrent = await Promise.all(Array.from({ length: 20 }, () => get(app)));
    expect(new Set(concurrent.map((r) => r.body.sessionToken))).toEqual(new Set([first.body.sessionToken]));
    expect(fake.sessions).toHaveLength(1);
    expect(fake.requests).toHaveLength(1);
  });

  it('neither answers nor caches a session holding the secret of a router mounted beside it (widgetAuth), and calls again next time', async () => {
    const neighbour = 'hs_neighbour_secret_9c4e1a7b2f6d8035';
    const shared = cached();
    shareSecrets(shared, [neighbour]);
    const app = buildApp(shared);
    const session = { sessionToken: `sess-${neighbour}`, userId: 'u1', userWallet: '0xabc', apiKeyHash: 'h', expiresAt: new Date(Date.now() + HOUR_MS).toISOString() };
    fake.fault({ kind: 'status', status: 200, body: session }, { times: 1 });
    const echoed = await get(app);
    expect(echoed.status).toBe(502);
    expect(echoed.body.error.code).toBe('UPSTREAM_INVALID_RESPONSE');
    expect(echoed.text).not.toContain(neighbour);
    const next = await get(app);
    expect(next.status).toBe(200);
    expect(next.body).toEqual(fake.sessions[0]!.session);
    expect(fake.requests).toHaveLength(2);
  });

  it('shares one call between concurrent cold requests of one user', async () => {
    fake.fault({ kind: 'latency', ms: 100 });
    const app = buildApp(cached());
    const answers = await Promise.all(Array.from({ length: 30 }, () => get(app)));
    expect(answers.map((r) => r.status)).toEqual(answers.map(() => 200));
    expect(new Set(answers.map((r) => r.body.sessionToken)).size).toBe(1);
    expect(fake.requests).toHaveLength(1);
  });

  it('calls Nevermined on every request by default (no cache)', async () => {
    const app = buildApp(router());
    const tokens = [(await get(app)).body.sessionToken, (await get(app)).body.sessionToken, (await get(app)).body.sessionToken];
    expect(new Set(tokens).size).toBe(3);
    expect(fake.requests).toHaveLength(3);
    expect(issuedFor(ADA)).toHaveLength(3);
  });

  it('keeps one entry per user: two users get their own sessions, one call each', async () => {
    const app = buildApp(cached());
    const ada = await get(app);
    const bob = await get(app, 'bob');
    expect(ada.body.sessionToken).not.toBe(bob.body.sessionToken);
    expect(ada.body).toEqual(issuedFor(ADA)[0]);
    expect(bob.body).toEqual(issuedFor('bob@example.com')[0]);
    expect((await get(app)).body.sessionToken).toBe(ada.body.sessionToken);
    expect((await get(app, 'bob')).body.sessionToken).toBe(bob.body.sessionToken);
    expect(fake.requests).toHaveLength(2);
  });

  it('asks for a new session refreshBefore seconds ahead of expiresAt', async () => {
    const app = buildApp(cached());
    const first = (await get(app)).body.sessionToken;
    shift = 2 * HOUR_MS - 65_000; // 65 s left: still served
    expect((await get(app)).body.sessionToken).toBe(first);
    expect(fake.requests).toHaveLength(1);
    shift = 2 * HOUR_MS - 55_000; // 55 s left: inside refreshBefore
    const second = await get(app);
    expect(second.status).toBe(200);
    expect(second.body.sessionToken).not.toBe(first);
    expect(Date.parse(second.body.expiresAt)).toBeGreaterThan(Date.now() + HOUR_MS);
    expect((await get(app)).body.sessionToken).toBe(second.body.sessionToken);
    expect(fake.requests).toHaveLength(2);
  });

  it('serves the cached session while Nevermined is down, only until it expires, then the error', async () => {
    const app = buildApp(cached());
    const first = (await get(app)).body.sessionToken;
    fake.fault({ kind: 'status', status: 503 });
    shift = 2 * HOUR_MS - 30_000; // due for refresh, still valid
    const stale = await get(app);
    expect(stale.status).toBe(200);
    expect(stale.body.sessionToken).toBe(first);
    expect(fake.requests).toHaveLength(2);
    expect(logger.events.some((e) => e.level === 'warn' && /serving the cached one until it expires/.test(e.msg ?? ''))).toBe(true);

    shift = 2 * HOUR_MS + 1000; // expired
    const expired = await get(app);
    expect(expired.status).toBe(502);
    expect(expired.body.error.code).toBe('UPSTREAM_UNAVAILABLE');
    expect(expired.text).not.toContain(first);

    fake.clearFaults();
    const back = await get(app);
    expect(back.status).toBe(200);
    expect(back.body.sessionToken).not.toBe(first);
  });

  it('does not serve the cached session when Nevermined refuses the key', async () => {
    const app = buildApp(cached());
    await get(app);
    fake.fault({ kind: 'status', status: 401, body: { code: 'BCK.WIDGET_SESSION.0001', message: 'Invalid widget key credentials.' } });
    shift = 2 * HOUR_MS - 30_000;
    const res = await get(app);
    expect(res.status).toBe(502);
    expect(res.body.error.code).toBe('UPSTREAM_REJECTED');
  });

  it('forgets the user’s session on invalidate(user) and invalidate(id), so the next request gets a new one', async () => {
    const app = router({ cache: { store: memoryCredentialStore(), refreshBefore: 60 } });
    const served = buildApp(app);
    const first = (await get(served)).body.sessionToken;
    const bob = (await get(served, 'bob')).body.sessionToken;
    await app.invalidate(USERS['ada']!);
    const second = (await get(served)).body.sessionToken;
    expect(second).not.toBe(first);
    await app.invalidate('user-ada');
    const third = (await get(served)).body.sessionToken;
    expect(new Set([first, second, third]).size).toBe(3);
    // bob's stays
    expect((await get(served, 'bob')).body.sessionToken).toBe(bob);
    expect(fake.requests).toHaveLength(4);
    await expect(app.invalidate('')).rejects.toMatchObject({ code: 'INTERNAL_ERROR' });
    // without a cache there is nothing to forget
    await expect(router().invalidate('user-ada')).resolves.toBeUndefined();
  });

  it('answers invalidate with INTERNAL_ERROR when the store cannot remove the entry', async () => {
    const store = memoryCredentialStore();
    const failing: CredentialStore = { get: (n, u) => store.get(n, u), set: (n, u, v, t) => store.set(n, u, v, t), delete: () => Promise.reject(new Error('store down')) };
    const err = await router({ cache: { store: failing, refreshBefore: 60 } })
      .invalidate('user-ada')
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(WidgetAuthError);
    expect((err as WidgetAuthError).code).toBe('INTERNAL_ERROR');
  });

  it('never serves a session cached for the user’s previous email', async () => {
    const user: WidgetUser = { id: 'user-mover', email: 'old@example.com' };
    const app = buildApp(cached({ resolveUser: (req: Request) => (req.headers['x-test-user'] === 'mover' ? user : null) }));
    const old = (await get(app, 'mover')).body;
    expect(old).toEqual(issuedFor('old@example.com')[0]);
    user.email = 'new@example.com';
    const renewed = (await get(app, 'mover')).body;
    expect(renewed).toEqual(issuedFor('new@example.com')[0]);
    expect(renewed.userId).not.toBe(old.userId);
    expect((await get(app, 'mover')).body.sessionToken).toBe(renewed.sessionToken);
    expect(fake.requests).toHaveLength(2);
  });

  it('keeps answering when the store fails: one call per request, the failure reported once', async () => {
    const broken: CredentialStore = {
      get: () => Promise.reject(new Error(`store unreachable ${SECRET}`)),
      set: () => Promise.reject(new Error('store unreachable')),
      delete: () => Promise.reject(new Error('store unreachable')),
    };
    const app = buildApp(router({ cache: { store: broken, refreshBefore: 60 } }));
    const answers = [await get(app), await get(app)];
    expect(answers.map((r) => r.status)).toEqual([200, 200]);
    expect(fake.requests).toHaveLength(2);
    const reports = logger.events.filter((e) => (e.obj as { code?: string }).code === 'CREDENTIAL_CACHE_UNAVAILABLE');
    expect(reports.length).toBeGreaterThanOrEqual(1);
    expect(JSON.stringify(reports)).not.toContain(SECRET);
  });

  it('refuses a cache option that is not false or { store, refreshBefore }, naming it', () => {
    const attempt = (cache: unknown) => {
      try {
        router({ cache: cache as NeverminedSessionRouterOptions['cache'] });
      } catch (err) {
        return err;
      }
      return undefined;
    };
    for (const [cache, text] of [
      [true, /cache: must be false or \{ store, refreshBefore \}/],
      [{ store: {} }, /cache\.store: must be a credential store/],
      [{ store: memoryCredentialStore(), refreshBefore: -1 }, /cache\.refreshBefore: must not be negative/],
      [{ store: memoryCredentialStore(), refreshbefore: 60 }, /refreshbefore/],
    ] as const) {
      const err = attempt(cache);
      expect(err).toBeInstanceOf(WidgetAuthConfigError);
      expect((err as Error).message).toMatch(text);
    }
    expect(attempt(false)).toBeUndefined();
  });
});
