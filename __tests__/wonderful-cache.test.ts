/**
 * `wonderfulTokenRouter` with `cache` over real HTTP, on Express 5 and Express 4, against
 * the fake Wonderful API (which records every token it signs): one call per user within a
 * token's life, none of it by default, one entry per user, refresh ahead of expiry, the
 * cached token served while Wonderful is down only until it expires, `invalidate`, and
 * the refresh route: still only for the user's own entity, and always a token newer than
 * the cached one, which the token route then serves. Time moves by shifting `Date.now`,
 * which both the router's cache and the fake read.
 */
import { randomBytes } from 'node:crypto';
import type { Express, Request } from 'express';
import request from 'supertest';
import { WONDERFUL_ENTITY_NAMESPACE, memoryCredentialStore, uuidV5, wonderfulTokenRouter, type WidgetUser, type WonderfulTokenRouterOptions } from '../lib';
import { startFakeServer, startFakeWonderful, type FakeWonderful } from '../lib/testing';
import { EXPRESS_MAJOR, USERS, buildApp, captureLogger, expectNoSecrets, testResolveUser } from './helpers/app';
import { STRANGER_ENTITY, WONDERFUL_KEY, startWonderful } from './helpers/wonderful';

const ADA_ENTITY = uuidV5(USERS['ada']!.id, WONDERFUL_ENTITY_NAMESPACE);
const BOB_ENTITY = uuidV5(USERS['bob']!.id, WONDERFUL_ENTITY_NAMESPACE);
const LIFE = 3600; // seconds, the default expiresIn

describe(`wonderfulTokenRouter cache (Express ${EXPRESS_MAJOR})`, () => {
  const realNow = Date.now.bind(Date);
  let shift = 0;
  const logger = captureLogger();
  let fake: FakeWonderful;

  beforeAll(async () => {
    jest.spyOn(Date, 'now').mockImplementation(() => realNow() + shift);
    fake = await startWonderful({ now: () => Date.now() });
  });
  afterAll(async () => {
    await fake.close();
    jest.restoreAllMocks();
    expectNoSecrets(logger.text(), [WONDERFUL_KEY, ...fake.issued.map((i) => i.jwt)]);
  });
  beforeEach(() => {
    shift = 0;
    fake.clearFaults();
    fake.issued.length = 0;
    fake.requests.length = 0;
  });

  const router = (options: Partial<WonderfulTokenRouterOptions> = {}) =>
    wonderfulTokenRouter({ baseUrl: fake.url, apiKey: WONDERFUL_KEY, resolveUser: testResolveUser, logger, retries: 0, timeoutMs: 2000, ...options });
  const cached = (options: Partial<WonderfulTokenRouterOptions> = {}) => router({ cache: { store: memoryCredentialStore(), refreshBefore: 60 }, ...options });
  const token = (app: Express, user = 'ada') => request(app).post('/api/sdk-token').set('x-test-user', user);
  const refresh = (app: Express, user: string, entityId: string) => request(app).post('/api/refresh-sdk-token').set('x-test-user', user).send({ entityId });
  const issuedFor = (entity: string) => fake.issued.filter((i) => i.entityId === entity);

  it('makes one call to Wonderful for N requests of one user, and answers each with the same token', async () => {
    const app = buildApp(cached());
    const first = await token(app);
    expect(first.status).toBe(200);
    expect(Object.keys(first.body)).toEqual(['token', 'expiresAt', 'id']);
    expect(first.body).toEqual({ token: fake.issued[0]!.jwt, expiresAt: fake.issued[0]!.expiresAt, id: ADA_ENTITY });
    expect(fake.verify(first.body.token).sub).toBe(ADA_ENTITY);
    for (let i = 0; i < 5; i++) {
      shift += 5 * 60_000;
      expect((await token(app)).body).toEqual(first.body);
    }
    const concurrent = await Promise.all(Array.from({ length: 20 }, () => token(app)));
    expect(new Set(concurrent.map((r) => r.body.token))).toEqual(new Set([first.body.token]));
    expect(fake.requests).toHaveLength(1);
  });

  it('never serves one account’s token to another sharing the store: two API keys on one API URL each get their own', async () => {
    // one API URL whose account is chosen by the key, as a SaaS API does: the key is the account
    const otherKey = `wk_test_${randomBytes(16).toString('hex')}`;
    const other = await startFakeWonderful({ apiKey: otherKey, now: () => Date.now() });
    const api = await startFakeServer(async (req) => {
      const target = req.headers['x-api-key'] === otherKey ? other : fake;
      const res = await fetch(`${target.url}${req.path}`, { method: req.method, headers: { 'content-type': 'application/json', 'x-api-key': String(req.headers['x-api-key']) }, body: req.body });
      return { status: res.status, body: await res.json() };
    });
    try {
      const store = memoryCredentialStore();
      // user "user-ada" of each host is a different person; both derive the same entity
      const first = buildApp(router({ baseUrl: api.url, cache: { store, refreshBefore: 60 } }));
      const second = buildApp(router({ baseUrl: api.url, apiKey: otherKey, cache: { store, refreshBefore: 60 } }));
      const mine = await token(first);
      const theirs = await token(second);
      expect([mine.status, theirs.status]).toEqual([200, 200]);
      expect(theirs.body.token).not.toBe(mine.body.token);
      expect(() => other.verify(theirs.body.token)).not.toThrow();
      expect(() => fake.verify(mine.body.token)).not.toThrow();
      expect([fake.issued.length, other.issued.length]).toEqual([1, 1]);
      // each is still served from the cache
      expect((await token(second)).body.token).toBe(theirs.body.token);
      expect(other.issued).toHaveLength(1);
    } finally {
      await api.close();
      await other.close();
    }
  });

  it('shares one call between concurrent cold requests of one user', async () => {
    fake.fault({ kind: 'latency', ms: 100 });
    const app = buildApp(cached());
    const answers = await Promise.all(Array.from({ length: 30 }, () => token(app)));
    expect(answers.map((r) => r.status)).toEqual(answers.map(() => 200));
    expect(new Set(answers.map((r) => r.body.token)).size).toBe(1);
    expect(fake.requests).toHaveLength(1);
  });

  it('calls Wonderful on every request by default (no cache)', async () => {
    const app = buildApp(router());
    for (let i = 0; i < 3; i++) {
      expect((await token(app)).status).toBe(200);
      shift += 2000; // tokens signed in one second are identical
    }
    expect(fake.requests).toHaveLength(3);
    expect(new Set(issuedFor(ADA_ENTITY).map((i) => i.jwt)).size).toBe(3);
  });

  it('keeps one entry per user: two users get tokens for their own entities, one call each', async () => {
    const app = buildApp(cached());
    const ada = await token(app);
    const bob = await token(app, 'bob');
    expect(fake.verify(ada.body.token).sub).toBe(ADA_ENTITY);
    expect(fake.verify(bob.body.token).sub).toBe(BOB_ENTITY);
    expect((await token(app)).body.token).toBe(ada.body.token);
    expect((await token(app, 'bob')).body.token).toBe(bob.body.token);
    expect(fake.requests).toHaveLength(2);
  });

  it('signs a new token refreshBefore seconds ahead of expiry', async () => {
    const app = buildApp(cached());
    const first = (await token(app)).body;
    shift = (LIFE - 65) * 1000; // 65 s left: still served
    expect((await token(app)).body.token).toBe(first.token);
    expect(fake.requests).toHaveLength(1);
    shift = (LIFE - 55) * 1000; // 55 s left: inside refreshBefore
    const second = (await token(app)).body;
    expect(second.token).not.toBe(first.token);
    expect(second.expiresAt).toBeGreaterThan(first.expiresAt + LIFE - 60);
    expect((await token(app)).body.token).toBe(second.token);
    expect(fake.requests).toHaveLength(2);
  });

  it('serves the cached token while Wonderful is down, only until it expires, then NETWORK_ERROR', async () => {
    const app = buildApp(cached());
    const first = (await token(app)).body.token;
    fake.fault({ kind: 'status', status: 503 });
    shift = (LIFE - 30) * 1000;
    const stale = await token(app);
    expect(stale.status).toBe(200);
    expect(stale.body.token).toBe(first);
    expect(fake.requests).toHaveLength(2);
    expect(logger.events.some((e) => e.level === 'warn' && /wonderful could not mint a credential; serving the cached one/.test(e.msg ?? ''))).toBe(true);

    shift = (LIFE + 1) * 1000;
    const expired = await token(app);
    expect(expired.status).toBe(502);
    expect(expired.body.error.code).toBe('NETWORK_ERROR');
    expect(expired.text).not.toContain(first);
    fake.clearFaults();
    expect((await token(app)).body.token).not.toBe(first);
  });

  it('forgets the user’s token on invalidate(user) and invalidate(id)', async () => {
    const wonderful = router({ cache: { store: memoryCredentialStore(), refreshBefore: 60 } });
    const app = buildApp(wonderful);
    const first = (await token(app)).body.token;
    await wonderful.invalidate(USERS['ada']!);
    shift += 2000;
    const second = (await token(app)).body.token;
    expect(second).not.toBe(first);
    expect((await token(app)).body.token).toBe(second);
    await wonderful.invalidate('user-ada');
    shift += 2000;
    expect((await token(app)).body.token).not.toBe(second);
    expect(fake.requests).toHaveLength(3);
    await expect(wonderful.invalidate('')).rejects.toMatchObject({ code: 'INTERNAL_ERROR' });
    await expect(router().invalidate(USERS['ada']!)).resolves.toBeUndefined();
  });

  describe('the refresh route', () => {
    it('still refuses another user’s entity with 403, without calling Wonderful and without handing out the cached token', async () => {
      const app = buildApp(cached());
      const ada = (await token(app)).body.token;
      fake.requests.length = 0;
      for (const entityId of [ADA_ENTITY, ADA_ENTITY.toUpperCase(), STRANGER_ENTITY]) {
        const res = await refresh(app, 'bob', entityId);
        expect(res.status).toBe(403);
        expect(res.body.error.code).toBe('FORBIDDEN');
        expect(res.text).not.toContain(ada);
      }
      expect(fake.requests).toHaveLength(0);
      // nobody signed in: 401 before the entity is looked at
      const anonymous = await request(app).post('/api/refresh-sdk-token').send({ entityId: ADA_ENTITY });
      expect(anonymous.status).toBe(401);
      expect(fake.requests).toHaveLength(0);
    });

    it('answers a token newer than the cached one, which the token route then serves', async () => {
      const app = buildApp(cached());
      const first = (await token(app)).body;
      shift = 10 * 60_000; // the cached token is still fresh, but the browser's was refused
      const renewed = await refresh(app, 'ada', first.id);
      expect(renewed.status).toBe(200);
      expect(renewed.body.id).toBe(ADA_ENTITY);
      expect(renewed.body.token).not.toBe(first.token);
      expect(renewed.body.expiresAt).toBeGreaterThan(first.expiresAt);
      expect(fake.verify(renewed.body.token).sub).toBe(ADA_ENTITY);
      expect(fake.requests).toHaveLength(2);
      expect((await token(app)).body).toEqual(renewed.body);
      expect(fake.requests).toHaveLength(2);
    });

    it('shares one call between concurrent refreshes of one user', async () => {
      const app = buildApp(cached());
      const first = (await token(app)).body;
      shift = 60_000;
      fake.fault({ kind: 'latency', ms: 100 });
      const answers = await Promise.all(Array.from({ length: 10 }, () => refresh(app, 'ada', first.id)));
      expect(answers.map((r) => r.status)).toEqual(answers.map(() => 200));
      expect(new Set(answers.map((r) => r.body.token)).size).toBe(1);
      expect(answers[0]!.body.token).not.toBe(first.token);
      expect(fake.requests).toHaveLength(2);
    });

    it('does not serve the cached token when Wonderful is down: the refreshed token must be new', async () => {
      const app = buildApp(cached());
      const first = (await token(app)).body;
      fake.fault({ kind: 'status', status: 503 });
      shift = 60_000;
      const res = await refresh(app, 'ada', first.id);
      expect(res.status).toBe(502);
      expect(res.body.error.code).toBe('NETWORK_ERROR');
      expect(res.text).not.toContain(first.token);
      // the token route still serves it while it is valid
      expect((await token(app)).body.token).toBe(first.token);
    });
  });

  it('never serves a token cached for another entity than the user’s own', async () => {
    const entities = new Map<string, string>([['user-ada', ADA_ENTITY]]);
    const user: WidgetUser = { id: 'user-ada' };
    const app = buildApp(cached({ resolveUser: (req: Request) => (req.headers['x-test-user'] ? user : null), entityIdFor: (u) => entities.get(u.id)! }));
    const first = (await token(app)).body;
    expect(first.id).toBe(ADA_ENTITY);
    entities.set('user-ada', STRANGER_ENTITY);
    const moved = await token(app);
    expect(moved.status).toBe(200);
    expect(moved.body.id).toBe(STRANGER_ENTITY);
    expect(fake.verify(moved.body.token).sub).toBe(STRANGER_ENTITY);
    expect((await token(app)).body.token).toBe(moved.body.token);
    expect(fake.requests).toHaveLength(2);
  });
});
