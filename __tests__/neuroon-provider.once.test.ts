import {
  MemoryTokenStore,
  NeuroonTokenProvider,
  RedisTokenStore,
  WidgetAuthConfigError,
  WidgetAuthError,
  neuroonCacheKey,
  neuroonConfigFromEnv,
  renderNeuroonScriptTag,
  type NeuroonRedisClient,
  type NeuroonTokenStore,
  type NeuroonTokenProviderOptions,
} from '../lib';
import { checkNeuroonWidgetToken, createNeuroonWidgetToken, startFakeNeuroon, verifyNeuroonWidgetToken, type FakeNeuroon } from '../lib/testing';
import { encodedForms } from '../lib/core/logger';
import { captureLogger, expectNoSecrets } from './helpers/app';

const SHOP = 'shop abc/1';
const API_KEY = 'nk_live_df2279e5d9493171274e230a99';
const HOUR = 3600_000;
const T0 = Date.parse('2025-03-01T08:00:00Z');

async function rejection(promise: Promise<unknown>): Promise<WidgetAuthError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof WidgetAuthError) return err;
    throw err;
  }
  throw new Error('expected a rejection');
}

function configProblems(fn: () => unknown): readonly string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof WidgetAuthConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a WidgetAuthConfigError');
}

describe('NeuroonTokenProvider', () => {
  let now = T0;
  const clock = () => now;
  let fake: FakeNeuroon;
  const logger = captureLogger();
  const tokens = new Set<string>();

  beforeAll(async () => {
    fake = await startFakeNeuroon({ shops: { [SHOP]: { apiKey: API_KEY, allowedOrigins: ['https://shop.example.com'] }, other: { apiKey: 'nk_live_other_key_000000000000' } }, now: clock });
  });
  afterAll(async () => {
    await fake.close();
    expectNoSecrets(logger.text(), [API_KEY, ...tokens]);
  });
  beforeEach(() => {
    now = T0;
    fake.requests.length = 0;
    fake.clearFaults();
  });

  const provider = (overrides: Partial<NeuroonTokenProviderOptions> = {}) =>
    new NeuroonTokenProvider({ shopId: SHOP, apiKey: API_KEY, apiBaseUrl: fake.url, clock, logger, retries: 0, ...overrides });
  const issueCalls = () => fake.issueRequests().length;
  const remember = (token: string) => {
    tokens.add(token);
    return token;
  };

  it('issues with POST to the URL-encoded shop path, the API key header, no body and no Origin', async () => {
    const token = remember(await provider().getToken());
    expect(fake.requests).toHaveLength(1);
    const req = fake.requests[0]!;
    expect(req.method).toBe('POST');
    expect(req.path).toBe('/api/shops/shop%20abc%2F1/widget-token');
    expect(req.headers['x-shop-api-key']).toBe(API_KEY);
    expect(req.body).toBe('');
    expect(req.headers['origin']).toBeUndefined();
    expect(req.headers['content-type']).toBeUndefined();
    expect(verifyNeuroonWidgetToken(token, API_KEY, { now })).toEqual({ shopId: SHOP, issuedAt: Math.floor(T0 / 1000) });
  });

  it('serves the cached token without a vendor call until 23 h, then issues once', async () => {
    const p = provider();
    const first = remember(await p.getToken());
    now = T0 + 23 * HOUR - 1;
    expect(await p.getToken()).toBe(first);
    expect(p.currentToken()).toBe(first);
    expect(issueCalls()).toBe(1);
    now = T0 + 23 * HOUR;
    expect(p.currentToken()).toBeUndefined();
    const second = remember(await p.getToken());
    expect(second).not.toBe(first);
    expect(issueCalls()).toBe(2);
    now += 1000;
    expect(await p.getToken()).toBe(second);
    expect(issueCalls()).toBe(2);
  });

  const lockless = (): NeuroonTokenStore => ({ get: () => undefined, set: () => undefined });
  it.each<[string, () => NeuroonTokenStore | undefined]>([
    ['the default store', () => undefined],
    ['a store without a lock', lockless],
  ])('shares one vendor call between 1,000 concurrent callers on a cold cache (%s)', async (_name, store) => {
    fake.fault({ kind: 'latency', ms: 30 }, { times: 1 });
    const p = provider({ store: store() });
    const results = await Promise.all(Array.from({ length: 1000 }, () => p.getToken()));
    expect(issueCalls()).toBe(1);
    expect(new Set(results).size).toBe(1);
    remember(results[0]!);
  });

  it('keeps serving the cached token while Neuroon fails, retries at most every 30 s, and fails near 24 h', async () => {
    const log = captureLogger();
    const p = provider({ logger: log });
    const cached = remember(await p.getToken());
    fake.fault({ kind: 'status', status: 503, body: { status: 503, error: 'Service Unavailable' } });

    now = T0 + 23 * HOUR;
    expect(await p.getToken()).toBe(cached);
    expect(issueCalls()).toBe(2);
    expect(log.events).toHaveLength(1);
    expect(log.events[0]).toMatchObject({ level: 'warn', obj: { vendor: 'neuroon', code: 'UPSTREAM_UNAVAILABLE', upstreamStatus: 503, nextAttemptInMs: 30_000 } });

    now += 29_999;
    expect(await p.getToken()).toBe(cached);
    expect(issueCalls()).toBe(2);
    now += 1;
    expect(await p.getToken()).toBe(cached);
    expect(issueCalls()).toBe(3);
    expect(log.events).toHaveLength(2);

    now = T0 + 24 * HOUR - 5 * 60_000 - 1;
    expect(await p.getToken()).toBe(cached);
    now = T0 + 24 * HOUR;
    const err = await rejection(p.getToken());
    expect(err.code).toBe('UPSTREAM_UNAVAILABLE');
    expect(err.status).toBe(502);
    expect(issueCalls()).toBe(5);
    expectNoSecrets(log.text(), [API_KEY, cached]);

    fake.clearFaults();
    const fresh = remember(await p.getToken());
    expect(fresh).not.toBe(cached);
    expect(checkNeuroonWidgetToken(fresh, { [SHOP]: { apiKey: API_KEY } }, { now }).ok).toBe(true);
  });

  it('never caches a 401: the next call asks Neuroon again', async () => {
    fake.fault({ kind: 'status', status: 401, body: { status: 401, error: 'Unauthorized' } }, { times: 1 });
    const p = provider();
    const err = await rejection(p.getToken());
    expect(err.code).toBe('UPSTREAM_REJECTED');
    expect(err.upstreamStatus).toBe(401);
    expect(err.message).not.toContain(API_KEY);
    remember(await p.getToken());
    expect(issueCalls()).toBe(2);
  });

  it('rejects a wrong API key on every call, without caching the failure', async () => {
    const p = provider({ apiKey: 'nk_live_3d6665126c3ce8c93f9167eb' });
    expect((await rejection(p.getToken())).code).toBe('UPSTREAM_REJECTED');
    expect((await rejection(p.getToken())).upstreamStatus).toBe(401);
    expect(issueCalls()).toBe(2);
  });

  it('honours Retry-After of a 429 on a cold cache', async () => {
    fake.fault({ kind: 'status', status: 429, body: {}, headers: { 'Retry-After': '120' } }, { times: 1 });
    const p = provider();
    const first = await rejection(p.getToken());
    expect(first).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', retryAfterSeconds: 120, upstreamStatus: 429 });
    now += 60_000;
    const second = await rejection(p.getToken());
    expect(second).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', retryAfterSeconds: 60 });
    expect(issueCalls()).toBe(1);
    now += 60_000;
    remember(await p.getToken());
    expect(issueCalls()).toBe(2);
  });

  it('serves the cached token through a 429 and waits out Retry-After, not just 30 s', async () => {
    const p = provider();
    const cached = remember(await p.getToken());
    fake.fault({ kind: 'status', status: 429, body: {}, headers: { 'Retry-After': '600' } }, { times: 1 });
    now = T0 + 23 * HOUR;
    expect(await p.getToken()).toBe(cached);
    now += 599_000;
    expect(await p.getToken()).toBe(cached);
    expect(issueCalls()).toBe(2);
    now += 1000;
    expect(await p.getToken()).not.toBe(cached);
    expect(issueCalls()).toBe(3);
  });

  it('accepts only a body of exactly { token: string }', async () => {
    const p = provider();
    fake.fault({ kind: 'status', status: 200, body: { token: 'abc', expiresAt: 'tomorrow' } }, { times: 1 });
    expect((await rejection(p.getToken())).code).toBe('UPSTREAM_INVALID_RESPONSE');
    fake.fault({ kind: 'status', status: 200, body: { token: '' } }, { times: 1 });
    expect((await rejection(p.getToken())).code).toBe('UPSTREAM_INVALID_RESPONSE');
    fake.fault({ kind: 'malformed' }, { times: 1 });
    expect((await rejection(p.getToken())).code).toBe('UPSTREAM_INVALID_RESPONSE');
    remember(await p.getToken());
    expect(issueCalls()).toBe(4);
  });

  it('lets two providers in one process share a token through one MemoryTokenStore', async () => {
    const store = new MemoryTokenStore({ clock });
    const a = provider({ store });
    const b = provider({ store });
    const [ta, tb] = await Promise.all([a.getToken(), b.getToken()]);
    expect(ta).toBe(tb);
    expect(issueCalls()).toBe(1);
    remember(ta);
  });

  it('keeps serving when the cache hangs or throws, warning once in a while', async () => {
    const hanging: NeuroonRedisClient = {
      get: () => new Promise(() => undefined),
      set: () => new Promise(() => undefined),
      eval: () => new Promise(() => undefined),
    };
    const log = captureLogger();
    const p = provider({ logger: log, store: new RedisTokenStore(hanging, { commandTimeoutMs: 20 }) });
    const token = remember(await p.getToken());
    expect(issueCalls()).toBe(1);
    expect(log.events).toHaveLength(1);
    expect(log.events[0]).toMatchObject({ level: 'warn', obj: { err: { name: 'RedisCommandTimeout' } } });

    const throwing = provider({
      logger: log,
      store: {
        get() {
          throw new Error('cache exploded');
        },
        set() {
          throw new Error('cache exploded');
        },
      },
    });
    expect(await throwing.getToken()).toBe(token);
    now += 10_000;
    expect(await p.getToken()).toBe(token);
    expect(log.events).toHaveLength(2);
    expectNoSecrets(log.text(), [API_KEY, token]);
  });

  it('keys the cache by shop and a hash of the API key, never the key itself', () => {
    const prod = neuroonCacheKey(SHOP, API_KEY);
    const dev = neuroonCacheKey(SHOP, 'nk_test_0123456789abcdef0123456789');
    expect(prod).not.toBe(dev);
    expect(prod).toBe(neuroonCacheKey(SHOP, API_KEY));
    expect(prod).toMatch(/^neuroon:shop%20abc%2F1:[0-9a-f]{16}$/);
    expect(neuroonCacheKey('other', API_KEY)).not.toBe(prod);
    for (const form of encodedForms(API_KEY)) expect(prod).not.toContain(form);
    expect(provider().cacheKey).toBe(prod);
  });

  it('reports every configuration problem at once without echoing the API key', () => {
    const secret = 'short';
    const problems = configProblems(
      () => new NeuroonTokenProvider({ shopId: '', apiKey: secret, apiBaseUrl: 'http://api.neuroon.ai', rotateAfterMs: 24 * HOUR, clok: clock } as never),
    );
    expect(problems).toEqual([
      expect.stringMatching(/^shopId: must not be empty/),
      expect.stringMatching(/^apiKey: must be at least 8 characters/),
      expect.stringMatching(/^apiBaseUrl: must use https:/),
      expect.stringMatching(/^clok: unknown option \(did you mean `clock`\?\)/),
      expect.stringMatching(/^rotateAfterMs: must be less than ttlMs minus safetyMarginMs/),
    ]);
    expect(problems.join('\n')).not.toContain(secret);
    expect(configProblems(() => provider({ rotateAfterMs: 24 * HOUR - 5 * 60_000 }))).toEqual([
      expect.stringMatching(/^rotateAfterMs: must be less than ttlMs minus safetyMarginMs/),
    ]);
    expect(configProblems(() => new RedisTokenStore({} as never))).toEqual([expect.stringMatching(/^client: must be a Redis client/)]);
  });
});

describe('MemoryTokenStore', () => {
  it('forgets a value after its TTL and grants one lock at a time', async () => {
    let now = 1000;
    const store = new MemoryTokenStore({ clock: () => now });
    store.set('k', { token: 't', issuedAt: 1 }, 100);
    expect(store.get('k')).toEqual({ token: 't', issuedAt: 1 });
    now = 1100;
    expect(store.get('k')).toBeUndefined();

    const release = store.lock('k', 50);
    expect(typeof release).toBe('function');
    expect(store.lock('k', 50)).toBeUndefined();
    await release!();
    const again = store.lock('k', 50);
    expect(typeof again).toBe('function');
    now = 1150;
    const stolen = store.lock('k', 50);
    expect(typeof stolen).toBe('function');
    await again!(); // the expired owner must not release the new owner's lock
    expect(store.lock('k', 50)).toBeUndefined();
  });
});

describe('startFakeNeuroon widget-side check', () => {
  let now = T0;
  let fake: FakeNeuroon;
  beforeAll(async () => {
    fake = await startFakeNeuroon({ shops: { [SHOP]: { apiKey: API_KEY, allowedOrigins: ['https://shop.example.com'] } }, now: () => now });
  });
  afterAll(() => fake.close());

  const ping = (headers: Record<string, string>) => fetch(`${fake.url}/api/widget/ping`, { headers });

  it('accepts a token issued through the provider and refuses a tampered one with 401', async () => {
    const p = new NeuroonTokenProvider({ shopId: SHOP, apiKey: API_KEY, apiBaseUrl: fake.url, clock: () => now });
    const token = await p.getToken();
    const ok = await ping({ 'X-Widget-Token': token, Origin: 'https://shop.example.com' });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ ok: true, shopId: SHOP });

    const decoded = Buffer.from(token, 'base64').toString('utf8');
    const tampered = Buffer.from(decoded.replace(/:(\d+):/, (_, s: string) => `:${Number(s) + 3600}:`), 'utf8').toString('base64');
    const bad = await ping({ 'X-Widget-Token': tampered });
    expect(bad.status).toBe(401);
    expect(await bad.json()).toMatchObject({ status: 401, error: 'Unauthorized', message: 'Invalid widget token.' });
    expect(() => verifyNeuroonWidgetToken(tampered, API_KEY)).toThrow(/bad-signature/);
    expect(() => verifyNeuroonWidgetToken(token, 'nk_live_some_other_key_0000000', { now })).toThrow(/bad-signature/);
  });

  it('answers 401 without a token and after 24 h, and 403 for an origin outside the shop', async () => {
    const missing = await ping({});
    expect(missing.status).toBe(401);
    expect((await missing.json()).message).toBe('Missing X-Widget-Token header.');

    const token = createNeuroonWidgetToken(SHOP, API_KEY, now);
    const foreign = await ping({ 'X-Widget-Token': token, Origin: 'https://evil.example.net' });
    expect(foreign.status).toBe(403);
    expect((await foreign.json()).message).toBe('Origin mismatch.');

    now = T0 + 24 * HOUR - 1000;
    expect((await ping({ 'X-Widget-Token': token })).status).toBe(200);
    now = T0 + 24 * HOUR;
    const expired = await ping({ 'X-Widget-Token': token });
    expect(expired.status).toBe(401);
    expect((await expired.json()).message).toBe('Widget token expired.');
    expect(checkNeuroonWidgetToken(token, { [SHOP]: { apiKey: API_KEY } }, { now })).toEqual({ ok: false, problem: 'expired' });
    expect(checkNeuroonWidgetToken('not base64!', { [SHOP]: { apiKey: API_KEY } })).toEqual({ ok: false, problem: 'malformed' });
  });

  it('answers 401 to a wrong Shop API key and 404 to an unknown shop', async () => {
    const wrong = await fetch(`${fake.url}/api/shops/${encodeURIComponent(SHOP)}/widget-token`, { method: 'POST', headers: { 'X-Shop-API-Key': 'nope' } });
    expect(wrong.status).toBe(401);
    const unknown = await fetch(`${fake.url}/api/shops/nobody/widget-token`, { method: 'POST', headers: { 'X-Shop-API-Key': API_KEY } });
    expect(unknown.status).toBe(404);
    expect(fake.issued).toHaveLength(1);
  });
});

describe('renderNeuroonScriptTag', () => {
  it('renders the documented data attributes with defaults', () => {
    expect(renderNeuroonScriptTag({ token: 'c2hvcA==' })).toBe(
      '<script src="https://cdn.neuroon.ai/widget.js" data-token="c2hvcA==" data-container="#neuroon-search" data-theme="auto"></script>',
    );
  });

  it('escapes every attribute value, including a token or container holding "<>&\'', () => {
    const html = renderNeuroonScriptTag({
      token: `a"><script>alert('x')</script>&`,
      container: `#x"' onload="evil()`,
      theme: 'dark',
      locale: 'es-ES"',
      position: '<bottom>',
      apiUrl: 'https://api.neuroon.ai/?a=1&b=2',
    });
    expect(html).toBe(
      '<script src="https://cdn.neuroon.ai/widget.js" data-token="a&quot;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;" ' +
        'data-container="#x&quot;&#39; onload=&quot;evil()" data-theme="dark" data-locale="es-ES&quot;" data-position="&lt;bottom&gt;" ' +
        'data-api-url="https://api.neuroon.ai/?a=1&amp;b=2"></script>',
    );
    expect(html.match(/<script/g)).toHaveLength(1);
  });

  it('adds integrity with crossorigin="anonymous" and a CSP nonce', () => {
    const html = renderNeuroonScriptTag({ token: 't', integrity: 'sha384-oqVuAfXRKap7fdgcCY5uykM6+R9GqQ8K/uxy9rx7HNQlGYl1kPzQho1wx4JwY8wC', nonce: 'r4nd0m' });
    expect(html).toContain(' integrity="sha384-oqVuAfXRKap7fdgcCY5uykM6+R9GqQ8K/uxy9rx7HNQlGYl1kPzQho1wx4JwY8wC" crossorigin="anonymous" nonce="r4nd0m"></script>');
  });

  it('refuses a bad theme, a missing token, a plain-http src and unknown options, naming each', () => {
    expect(() => renderNeuroonScriptTag({ token: 't', theme: 'purple' as never })).toThrow(/theme: must be one of "auto", "light", "dark"/);
    const secret = 'tok_should_not_echo';
    const problems = configProblems(() => renderNeuroonScriptTag({ token: '', src: 'http://cdn.example.com/w.js', integrity: 'md5-abc', thme: 'dark', nonce: secret } as never));
    expect(problems).toEqual([
      'thme: unknown option (did you mean `theme`?)',
      'token: must not be empty',
      expect.stringMatching(/^src: must use https:/),
      expect.stringMatching(/^integrity: must be a Subresource Integrity value/),
    ]);
    expect(() => renderNeuroonScriptTag({} as never)).toThrow(/token: is required/);
  });
});

describe('neuroonConfigFromEnv', () => {
  it('reads NEUROON_SHOP_ID, NEUROON_API_KEY and the optional NEUROON_API_URL', () => {
    expect(neuroonConfigFromEnv({ NEUROON_SHOP_ID: 'shop_abc', NEUROON_API_KEY: API_KEY })).toEqual({
      shopId: 'shop_abc',
      apiKey: API_KEY,
      apiBaseUrl: 'https://api.neuroon.ai',
    });
    expect(neuroonConfigFromEnv({ NEUROON_SHOP_ID: 'shop_abc', NEUROON_API_KEY: API_KEY, NEUROON_API_URL: 'https://staging.neuroon.ai/' }).apiBaseUrl).toBe('https://staging.neuroon.ai');
  });

  it('names every missing or invalid variable, never a value', () => {
    expect(configProblems(() => neuroonConfigFromEnv({}))).toEqual(['NEUROON_SHOP_ID: is not set', 'NEUROON_API_KEY: is not set']);
    const problems = configProblems(() => neuroonConfigFromEnv({ NEUROON_SHOP_ID: 's', NEUROON_API_KEY: 'abc', NEUROON_API_URL: 'ftp://x' }));
    expect(problems).toEqual([expect.stringMatching(/^NEUROON_API_KEY: must be at least 8/), expect.stringMatching(/^NEUROON_API_URL: must use https:/)]);
  });
});
