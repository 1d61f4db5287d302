import type Redis from 'ioredis';
import { RedisStore, type RedisReply } from 'rate-limit-redis';
import request from 'supertest';
import { NeuroonTokenProvider, RedisTokenStore, hissunoTokenRouter, neuroonTokenRouter, type NeuroonTokenProviderOptions } from '../lib';
import { encodedForms } from '../lib/core/logger';
import { startFakeNeuroon, type FakeNeuroon } from '../lib/testing';
import { buildApp, captureLogger, expectNoSecrets, testResolveUser } from './helpers/app';
import { RUN_REDIS_TESTS, startRedis, type TestRedis } from './helpers/redis';

const SHOP = 'shop_abc';
const API_KEY = 'nk_live_df2279e5d9493171274e230a99';
const DEV_KEY = 'nk_test_12f2ac464327654d568c770688';
const HOUR = 3600_000;
const T0 = Date.parse('2025-03-01T08:00:00Z');

const describeRedis = RUN_REDIS_TESTS ? describe : describe.skip; // skip-reason: redis-server is not installed here; under CI=true this runs (and fails) instead

describeRedis('Neuroon tokens shared through Redis', () => {
  let now = T0;
  const clock = () => now;
  let redis: TestRedis;
  let admin: Redis;
  let fake: FakeNeuroon;
  const logger = captureLogger();
  const tokens = new Set<string>();

  beforeAll(async () => {
    [redis, fake] = await Promise.all([
      startRedis(),
      startFakeNeuroon({ shops: { [SHOP]: { apiKey: API_KEY } }, now: clock }),
    ]);
    admin = await redis.connect();
  });
  afterAll(async () => {
    await Promise.all([redis?.stop(), fake?.close()]);
    expectNoSecrets(logger.text(), [API_KEY, ...tokens]);
  });
  beforeEach(async () => {
    now = T0;
    fake.requests.length = 0;
    fake.clearFaults();
    await admin.flushall();
  });

  const instance = async (overrides: Partial<NeuroonTokenProviderOptions> = {}) =>
    new NeuroonTokenProvider({
      shopId: SHOP,
      apiKey: API_KEY,
      apiBaseUrl: fake.url,
      clock,
      logger,
      retries: 0,
      store: new RedisTokenStore(await redis.connect()),
      ...overrides,
    });
  const issueCalls = () => fake.issueRequests().length;

  it('stores { token, issuedAt } under a prefixed key and releases only its own lock', async () => {
    const client = await redis.connect();
    const store = new RedisTokenStore(client, { prefix: 'test:' });
    await store.set('k', { token: 'tok', issuedAt: 42 }, 10_000);
    expect(await store.get('k')).toEqual({ token: 'tok', issuedAt: 42 });
    expect(await admin.pttl('test:k')).toBeGreaterThan(9000);
    await admin.set('test:bad', 'not json');
    expect(await store.get('bad')).toBeUndefined();

    const release = await store.lock('k', 5000);
    expect(typeof release).toBe('function');
    expect(await store.lock('k', 5000)).toBeUndefined();
    await admin.set('test:k:lock', 'someone-else');
    await release!();
    expect(await admin.get('test:k:lock')).toBe('someone-else');
    await admin.del('test:k:lock');
    const mine = await store.lock('k', 5000);
    await mine!();
    expect(await admin.exists('test:k:lock')).toBe(0);
  });

  it('makes one vendor call between three instances on a cold cache, and one per rotation', async () => {
    const instances = await Promise.all([instance(), instance(), instance()]);
    fake.fault({ kind: 'latency', ms: 40 }, { times: 1 });
    const first = await Promise.all(instances.flatMap((p) => Array.from({ length: 100 }, () => p.getToken())));
    expect(issueCalls()).toBe(1);
    expect(new Set(first).size).toBe(1);
    tokens.add(first[0]!);

    now = T0 + 23 * HOUR;
    fake.fault({ kind: 'latency', ms: 40 }, { times: 1 });
    await Promise.all(instances.flatMap((p) => Array.from({ length: 100 }, () => p.getToken())));
    expect(issueCalls()).toBe(1 + 1);
    // instances that lost the lock kept serving the still-valid token; their next call picks up the winner's
    const after = await Promise.all(instances.map((p) => p.getToken()));
    expect(new Set(after).size).toBe(1);
    expect(after[0]).not.toBe(first[0]);
    tokens.add(after[0]!);
    expect(issueCalls()).toBe(2);
  });

  it('makes a cold instance that lost the lock wait for the winner’s token', async () => {
    const p = await instance();
    await admin.set(`express-widget-auth:${p.cacheKey}:lock`, 'another-instance', 'PX', 5000);
    setTimeout(() => {
      void admin.set(`express-widget-auth:${p.cacheKey}`, JSON.stringify({ token: 'from-the-winner', issuedAt: now }), 'PX', 60_000);
    }, 80);
    expect(await p.getToken()).toBe('from-the-winner');
    expect(issueCalls()).toBe(0);
  });

  it('bounds the wait: a lock nobody releases does not block token delivery', async () => {
    const p = await instance({ timeoutMs: 200 });
    await admin.set(`express-widget-auth:${p.cacheKey}:lock`, 'a-crashed-instance', 'PX', 60_000);
    const started = performance.now();
    const token = await p.getToken();
    tokens.add(token);
    expect(performance.now() - started).toBeLessThan(3000);
    expect(issueCalls()).toBe(1);
    expect(JSON.parse((await admin.get(`express-widget-auth:${p.cacheKey}`))!)).toEqual({ token, issuedAt: T0 });
  });

  it('keys production and development tokens apart and never writes the API key to Redis', async () => {
    const prod = await instance();
    const dev = await instance({ apiKey: DEV_KEY });
    expect(prod.cacheKey).not.toBe(dev.cacheKey);
    tokens.add(await prod.getToken());
    await dev.getToken().catch(() => undefined); // the fake does not know the development key
    const keys = await admin.keys('*');
    expect(keys).toEqual([`express-widget-auth:${prod.cacheKey}`]);
    const dump = keys.join('\n') + (await admin.get(keys[0]!));
    for (const form of [...encodedForms(API_KEY), ...encodedForms(DEV_KEY)]) expect(dump).not.toContain(form);
  });

  it('keeps serving tokens when Redis dies mid-way, throwing nothing to callers', async () => {
    const doomed = await startRedis();
    const log = captureLogger();
    try {
      const make = async () =>
        new NeuroonTokenProvider({ shopId: SHOP, apiKey: API_KEY, apiBaseUrl: fake.url, clock, logger: log, retries: 0, store: new RedisTokenStore(await doomed.connect()) });
      const [a, b] = await Promise.all([make(), make()]);
      const shared = await a.getToken();
      expect(await b.getToken()).toBe(shared);
      expect(issueCalls()).toBe(1);
      tokens.add(shared);

      await doomed.kill();
      expect(await a.getToken()).toBe(shared); // a cache hit needs no Redis
      now = T0 + 23 * HOUR;
      const [ta, tb] = await Promise.all([a.getToken(), b.getToken()]);
      tokens.add(ta).add(tb);
      expect(ta).not.toBe(shared);
      expect(tb).not.toBe(shared);
      expect(issueCalls()).toBe(3); // without the shared cache each instance issues its own

      const coldProvider = new NeuroonTokenProvider({ shopId: SHOP, apiKey: API_KEY, apiBaseUrl: fake.url, clock, logger: log, retries: 0, store: new RedisTokenStore(doomed.open()) });
      tokens.add(await coldProvider.getToken());

      const warnings = log.events.filter((e) => e.level === 'warn');
      expect(warnings).toHaveLength(3); // once per instance, not once per call
      expect(warnings[0]!.msg).toMatch(/cache failed/);
      expectNoSecrets(log.text(), [API_KEY, ...tokens]);
    } finally {
      await doomed.stop();
    }
  });

  it('counts rate limits across instances through one connection, with a distinct prefix per router', async () => {
    const connection = await redis.connect();
    const limit = (name: string) => ({
      windowMs: 60_000,
      limit: 2,
      store: new RedisStore({ sendCommand: (command: string, ...args: string[]) => connection.call(command, ...args) as Promise<RedisReply>, prefix: `rl:${name}:` }),
    });
    const provider = await instance();
    const appInstance = () =>
      buildApp(neuroonTokenRouter({ provider, rateLimit: limit('neuroon') }), (app) => {
        app.use(hissunoTokenRouter({ secretKey: 'sk_live_QZuX5SQetHGPBzyu36v7JVQdFkEmSuoH', resolveUser: testResolveUser, rateLimit: limit('hissuno') }));
      });
    const [one, two] = [appInstance(), appInstance()];
    expect((await request(one).get('/api/neuroon-widget-token')).status).toBe(200);
    expect((await request(two).get('/api/neuroon-widget-token')).status).toBe(200);
    const limited = await request(one).get('/api/neuroon-widget-token');
    expect(limited.status).toBe(429);
    expect(limited.body.error.code).toBe('RATE_LIMITED');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    // the other router's budget is untouched
    expect((await request(two).get('/api/hissuno-token').set('x-test-user', 'ada')).status).toBe(200);
    expect((await admin.keys('rl:*')).sort()).toEqual(['rl:hissuno:user:user-ada', expect.stringMatching(/^rl:neuroon:ip:/)]);
    expect(issueCalls()).toBe(1);
  });
});
