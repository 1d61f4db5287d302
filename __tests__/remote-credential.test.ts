/**
 * `remoteCredential` with `widgetCredentialRouter` over real HTTP, on Express 5 and
 * Express 4, against a small vendor stand-in on 127.0.0.1 that counts its calls: the
 * cache (one call per user within the credential's life, refresh ahead of expiry, the
 * LRU bound, sign-out), the vendor down (the cached credential served only while it is
 * valid), the vendor refusing the server's key (502, never 401), timeouts (504), and
 * start-up errors. Expiry runs on an injected clock.
 */
import request from 'supertest';
import { z } from 'zod';
import { WidgetAuthConfigError, WidgetAuthError, hissunoTokenRouter, memoryCredentialStore, remoteCredential, widgetCredentialRouter, type RemoteCredentialOptions, type WidgetUser } from '../lib';
import { shareSecrets } from '../lib/core/pipeline';
import { allowSecretsWhile } from './setup/leak-watch';
import { EXPRESS_MAJOR, USERS, buildApp, captureLogger, expectNoSecrets, testResolveUser } from './helpers/app';

/** This router's own key in the test of a neighbour's secret (the vendor is called with API_KEY all the same). */
const OWN_KEY = 'acme_own_key_5d1f0c9b7e3a2486';
import { API_KEY, LIFE, T0, Token, startVendor, type Vendor } from './helpers/remote-vendor';

describe(`remoteCredential with widgetCredentialRouter (Express ${EXPRESS_MAJOR})`, () => {
  let now = T0;
  const clock = () => now;
  let vendor: Vendor;
  const logger = captureLogger();

  beforeAll(async () => {
    vendor = await startVendor(clock);
  });
  afterAll(async () => {
    await vendor.close();
    expectNoSecrets(logger.text(), [API_KEY]);
  });
  beforeEach(() => {
    now = T0;
    vendor.calls.length = 0;
    vendor.mode = 'ok';
    vendor.latencyMs = 0;
  });

  const strategy = (overrides: Partial<RemoteCredentialOptions<z.infer<typeof Token>>> = {}) =>
    remoteCredential({
      vendor: 'acme',
      secrets: [API_KEY],
      call: ({ user, upstream }) =>
        upstream({ url: vendor.url, headers: { Authorization: `Bearer ${API_KEY}` }, body: { user_id: user.id }, parse: (body) => Token.parse(body) }),
      expiresAt: (credential) => credential.expires_at,
      cache: { store: memoryCredentialStore(), refreshBefore: 60 },
      clock,
      logger,
      retries: 0,
      timeoutMs: 1000,
      ...overrides,
    });

  const appWith = (credential: ReturnType<typeof remoteCredential>, resolveUser: (req: import('express').Request) => WidgetUser | null = testResolveUser) =>
    buildApp(widgetCredentialRouter({ vendor: 'acme', path: '/api/acme-token', resolveUser, credential, logger }));

  const get = (app: import('express').Express, user = 'ada') => request(app).get('/api/acme-token').set('x-test-user', user);

  it('makes one vendor call for N requests of one user within the credential’s life', async () => {
    const app = appWith(strategy());
    const first = await get(app);
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ token: `tok-1-${USERS['ada']!.id}`, expires_at: T0 / 1000 + LIFE });
    for (let i = 0; i < 5; i++) {
      now += 60_000; // 5 minutes later, still more than refreshBefore from expiry
      expect((await get(app)).body.token).toBe(first.body.token);
    }
    const concurrent = await Promise.all(Array.from({ length: 20 }, () => get(app)));
    expect(new Set(concurrent.map((r) => r.body.token))).toEqual(new Set([first.body.token]));
    expect(vendor.calls).toEqual([{ user: 'user-ada', auth: `Bearer ${API_KEY}` }]);
    // another user has a credential of their own
    expect((await get(app, 'bob')).body.token).toBe(`tok-2-${USERS['bob']!.id}`);
    expect(vendor.calls).toHaveLength(2);
  });

  it('shares one vendor call between concurrent cold requests of one user', async () => {
    vendor.latencyMs = 100;
    const app = appWith(strategy());
    const answers = await Promise.all(Array.from({ length: 50 }, () => get(app)));
    expect(answers.every((r) => r.status === 200)).toBe(true);
    expect(new Set(answers.map((r) => r.body.token)).size).toBe(1);
    expect(vendor.calls).toHaveLength(1);
  });

  it('calls the vendor on every request without a cache', async () => {
    const app = appWith(strategy({ cache: false }));
    const tokens = [(await get(app)).body.token, (await get(app)).body.token];
    expect(tokens).toEqual(['tok-1-user-ada', 'tok-2-user-ada']);
    expect(vendor.calls).toHaveLength(2);
  });

  it('mints anew refreshBefore seconds ahead of expiry', async () => {
    const app = appWith(strategy());
    const first = (await get(app)).body.token;
    now = T0 + (LIFE - 61) * 1000; // 61 s left: still served
    expect((await get(app)).body.token).toBe(first);
    expect(vendor.calls).toHaveLength(1);
    now = T0 + (LIFE - 59) * 1000; // 59 s left: inside refreshBefore
    const second = await get(app);
    expect(second.body.token).toBe('tok-2-user-ada');
    expect(second.body.expires_at).toBe(Math.floor(now / 1000) + LIFE);
    expect((await get(app)).body.token).toBe('tok-2-user-ada');
    expect(vendor.calls).toHaveLength(2);
  });

  it('serves the cached credential while the vendor is down, only until it expires', async () => {
    const app = appWith(strategy());
    const first = (await get(app)).body.token;
    vendor.mode = 'down';
    now = T0 + (LIFE - 30) * 1000; // due for refresh, still valid
    const stale = await get(app);
    expect(stale.status).toBe(200);
    expect(stale.body.token).toBe(first);
    expect(vendor.calls).toHaveLength(2);
    expect(logger.events.some((e) => e.level === 'warn' && /serving the cached one until it expires/.test(e.msg ?? ''))).toBe(true);

    now = T0 + LIFE * 1000; // expired
    const expired = await get(app);
    expect(expired.status).toBe(502);
    expect(expired.body.error.code).toBe('UPSTREAM_UNAVAILABLE');
    expect(JSON.stringify(expired.body)).not.toContain(first);

    vendor.mode = 'ok';
    expect((await get(app)).body.token).toBe('tok-4-user-ada');
  });

  it('does not serve a cached credential when the vendor refuses the key, and answers 502 UPSTREAM_REJECTED, never 401', async () => {
    const app = appWith(strategy());
    await get(app);
    for (const mode of ['refuse401', 'refuse403'] as const) {
      vendor.mode = mode;
      now = T0 + (LIFE - 30) * 1000;
      const res = await get(app);
      expect(res.status).toBe(502);
      expect(res.body.error.code).toBe('UPSTREAM_REJECTED');
    }
    // no cache at all: the same
    const bare = appWith(strategy({ cache: false, call: ({ user, upstream }) => upstream({ url: vendor.url, headers: { Authorization: 'Bearer wrong-key-0a9f8e7d' }, body: { user_id: user.id } }) }));
    vendor.mode = 'ok';
    const res = await get(bare);
    expect(res.status).toBe(502);
    expect(res.body.error.code).toBe('UPSTREAM_REJECTED');
    expect(vendor.calls.at(-1)!.auth).toBe('Bearer wrong-key-0a9f8e7d');
  });

  it('forgets the user’s credential on invalidate, so the next request mints a new one', async () => {
    const credential = strategy();
    const app = appWith(credential);
    const first = (await get(app)).body.token;
    expect((await get(app)).body.token).toBe(first);
    await credential.invalidate(USERS['ada']!);
    const after = (await get(app)).body.token;
    expect(after).not.toBe(first);
    await credential.invalidate('user-ada');
    expect((await get(app)).body.token).not.toBe(after);
    expect(vendor.calls).toHaveLength(3);
    await expect(credential.invalidate('')).rejects.toMatchObject({ code: 'INTERNAL_ERROR' });
  });

  it('does not store a credential minted while its user was being invalidated', async () => {
    vendor.latencyMs = 100;
    const credential = strategy();
    const app = appWith(credential);
    const pending = get(app).then((res) => res); // supertest sends on then()
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(vendor.calls).toHaveLength(1);
    await credential.invalidate('user-ada');
    expect((await pending).status).toBe(200);
    vendor.latencyMs = 0;
    await get(app);
    expect(vendor.calls).toHaveLength(2);
  });

  it('keeps at most `max` users, dropping the least recently used', async () => {
    const users: Record<string, WidgetUser> = { u1: { id: 'u1' }, u2: { id: 'u2' }, u3: { id: 'u3' } };
    const app = appWith(strategy({ cache: { store: memoryCredentialStore({ max: 2 }) } }), (req) => users[String(req.headers['x-test-user'])] ?? null);
    await get(app, 'u1');
    await get(app, 'u2');
    await get(app, 'u1'); // u1 used last: u2 is the least recently used
    expect(vendor.calls.map((c) => c.user)).toEqual(['u1', 'u2']);
    await get(app, 'u3'); // drops u2
    await get(app, 'u1');
    await get(app, 'u3');
    expect(vendor.calls.map((c) => c.user)).toEqual(['u1', 'u2', 'u3']);
    await get(app, 'u2');
    expect(vendor.calls.map((c) => c.user)).toEqual(['u1', 'u2', 'u3', 'u2']);
  });

  it('keeps users whose ids look alike, and vendors sharing a store, apart', async () => {
    const store = memoryCredentialStore();
    const users: Record<string, WidgetUser> = { a: { id: 'a' }, ab: { id: 'a:b' }, abc: { id: '["acme","a:b"]' } };
    const resolveUser = (req: import('express').Request) => users[String(req.headers['x-test-user'])] ?? null;
    const app = appWith(strategy({ cache: { store } }), resolveUser);
    const other = appWith(strategy({ vendor: 'acme-2', cache: { store } }), resolveUser);
    const tokens = [(await get(app, 'a')).body.token, (await get(app, 'ab')).body.token, (await get(app, 'abc')).body.token, (await get(other, 'ab')).body.token];
    expect(new Set(tokens).size).toBe(4);
    expect(vendor.calls).toHaveLength(4);
  });

  it('drops a cached credential that a router sharing the store stored without knowing one of this router’s secrets, once it is refused', async () => {
    const store = memoryCredentialStore();
    // both routers mint and cache alike; only the second is mounted beside a router whose secret is API_KEY
    const unaware = appWith(strategy({ secrets: [OWN_KEY], cache: { store } }));
    const aware = widgetCredentialRouter({ vendor: 'acme', path: '/api/acme-token', resolveUser: testResolveUser, credential: strategy({ secrets: [OWN_KEY], cache: { store } }), logger });
    shareSecrets(aware, [API_KEY]);
    const app = buildApp(aware);
    vendor.mode = 'echo-key';
    // the unaware router has no reason to refuse it, and stores it
    expect((await allowSecretsWhile(() => get(unaware))).status).toBe(200);
    vendor.mode = 'ok';
    const refused = await get(app);
    expect(refused.status).toBe(502);
    expect(refused.body.error.code).toBe('UPSTREAM_INVALID_RESPONSE');
    // the entry is gone: the next request mints anew instead of being refused until the credential expires
    const next = await get(app);
    expect(next.status).toBe(200);
    expect(next.body.token).toBe('tok-2-user-ada');
    expect(vendor.calls).toHaveLength(2);
  });

  it('keeps two accounts of one vendor (another API key) sharing a store apart', async () => {
    const store = memoryCredentialStore();
    const accountB = strategy({
      secrets: [OWN_KEY],
      cache: { store },
      call: async ({ user }) => ({ token: `account-b-${user.id}`, expires_at: Math.floor(now / 1000) + LIFE }),
    });
    const a = appWith(strategy({ cache: { store } }));
    const b = appWith(accountB);
    expect((await get(a)).body.token).toBe('tok-1-user-ada');
    // the same vendor name and user: account B's router mints its own, never serves A's
    expect((await get(b)).body.token).toBe('account-b-user-ada');
    expect((await get(a)).body.token).toBe('tok-1-user-ada');
    expect(vendor.calls).toHaveLength(1);
  });

  it('answers 504 UPSTREAM_TIMEOUT when the vendor does not answer in time, through upstream or a client of the host’s own', async () => {
    vendor.mode = 'hang';
    const viaUpstream = await get(appWith(strategy({ timeoutMs: 150 })));
    expect(viaUpstream.status).toBe(504);
    expect(viaUpstream.body.error.code).toBe('UPSTREAM_TIMEOUT');

    let aborted = false;
    const own = appWith(
      strategy({
        timeoutMs: 150,
        call: ({ signal }) =>
          new Promise((_resolve, reject) => {
            signal.addEventListener('abort', () => {
              aborted = true;
              reject(new Error('aborted'));
            });
          }),
      }),
    );
    const started = performance.now();
    const res = await get(own);
    expect(res.status).toBe(504);
    expect(res.body.error.code).toBe('UPSTREAM_TIMEOUT');
    expect(aborted).toBe(true);
    expect(performance.now() - started).toBeLessThan(3000);
  });

  it('gives call a signal that aborts at the deadline also through a Proxy of its argument or an object built on it', async () => {
    vendor.mode = 'hang';
    const aborted: string[] = [];
    const waitFor = (how: string, signal: AbortSignal) =>
      new Promise<never>((_resolve, reject) => {
        signal.addEventListener('abort', () => {
          aborted.push(how);
          reject(new Error('aborted'));
        });
      });
    const viaProxy = appWith(strategy({ timeoutMs: 150, call: (args) => waitFor('proxy', new Proxy(args, {}).signal) }));
    const viaPrototype = appWith(strategy({ timeoutMs: 150, call: (args) => waitFor('prototype', (Object.create(args) as typeof args).signal) }));
    for (const app of [viaProxy, viaPrototype]) {
      const res = await get(app);
      expect(res.status).toBe(504);
      expect(res.body.error.code).toBe('UPSTREAM_TIMEOUT');
    }
    expect(aborted).toEqual(['proxy', 'prototype']);
  });

  it("reads the then of call's answer once: a getter that answers differently the second time is not asked again", async () => {
    let reads = 0;
    const expiresAt = Math.floor(Date.now() / 1000) + 3600;
    const app = appWith(
      strategy({
        call: () => {
          const answer = {};
          Object.defineProperty(answer, 'then', {
            get: () => {
              reads++;
              return reads === 1 ? (resolve: (value: unknown) => void) => resolve({ token: 'tok-from-then', expires_at: expiresAt }) : undefined;
            },
          });
          return answer as never;
        },
      }),
    );
    const res = await get(app);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ token: 'tok-from-then', expires_at: expiresAt });
    expect(reads).toBe(1);
  });

  it('refuses a credential that holds the server key or has already expired, and caches neither', async () => {
    const app = appWith(strategy());
    vendor.mode = 'echo-key';
    const echoed = await get(app);
    expect(echoed.status).toBe(502);
    expect(echoed.body.error.code).toBe('UPSTREAM_INVALID_RESPONSE');
    vendor.mode = 'expired';
    const expired = await get(app);
    expect(expired.status).toBe(502);
    expect(expired.body.error.code).toBe('UPSTREAM_INVALID_RESPONSE');
    vendor.mode = 'ok';
    expect((await get(app)).body.token).toBe('tok-3-user-ada');
  });

  it("without a cache, names whose secret a credential held: searched with the route's search where it looks for the strategy's secrets, with the strategy's own otherwise", async () => {
    const logged = () => logger.events.map((e) => (e.obj as { err?: { message?: string } }).err?.message).filter((m): m is string => m !== undefined);
    const refusedOn = async (app: import('express').Express) => {
      logger.events.length = 0;
      const res = await get(app);
      expect([res.status, res.body.error?.code]).toEqual([502, 'UPSTREAM_INVALID_RESPONSE']);
      expect(res.text).not.toContain(API_KEY);
      return logged();
    };
    vendor.mode = 'echo-key';
    // the strategy's own router: its route's search looks for the strategy's key
    expect(await refusedOn(appWith(strategy({ cache: false })))).toEqual([expect.stringContaining("holds this server's key")]);
    // the key is a neighbour's secret: the route's search finds it, the strategy's would not
    const beside = widgetCredentialRouter({ vendor: 'acme', path: '/api/acme-token', resolveUser: testResolveUser, credential: strategy({ secrets: [OWN_KEY], cache: false }), logger });
    shareSecrets(beside, [API_KEY]);
    expect(await refusedOn(buildApp(beside))).toEqual([expect.stringContaining('holds the secret of another router mounted with it')]);
    // a host's strategy wrapping this one, on a router that knows none of its secrets: its own search still refuses the key
    const inner = strategy({ cache: false });
    const wrapper = { kind: 'host-wrapper', secrets: [OWN_KEY], issue: (user: WidgetUser, request: Parameters<typeof inner.issue>[1]) => inner.issue(user, request) };
    const wrapped = widgetCredentialRouter({ vendor: 'acme', path: '/api/acme-token', resolveUser: testResolveUser, credential: wrapper, logger });
    expect(await refusedOn(buildApp(wrapped))).toEqual([expect.stringContaining("holds this server's key")]);
  });

  it('neither sends nor caches a credential holding the secret of a router mounted beside it, and mints anew next time', async () => {
    // the vendor's key is a neighbour's secret here (widgetAuth shares every router's secrets), not this router's own
    const router = widgetCredentialRouter({ vendor: 'acme', path: '/api/acme-token', resolveUser: testResolveUser, credential: strategy({ secrets: [OWN_KEY] }), logger });
    shareSecrets(router, [API_KEY]);
    const app = buildApp(router);
    vendor.mode = 'echo-key';
    const echoed = await get(app);
    expect(echoed.status).toBe(502);
    expect(echoed.body.error.code).toBe('UPSTREAM_INVALID_RESPONSE');
    // the host is told what to check, without configuring anything
    expect(logger.events.some((e) => /never sends a server's secret back/.test(`${e.msg ?? ''} ${JSON.stringify(e.obj ?? {})}`))).toBe(true);
    vendor.mode = 'ok';
    const next = await get(app);
    expect(next.status).toBe(200);
    expect(next.body.token).toBe('tok-2-user-ada');
    expect(vendor.calls).toHaveLength(2);
    // without a cache too: the vendor's fault (502), not the host's hooks' (500)
    const uncached = widgetCredentialRouter({ vendor: 'acme', path: '/api/acme-token', resolveUser: testResolveUser, credential: strategy({ secrets: [OWN_KEY], cache: false }), logger });
    shareSecrets(uncached, [API_KEY]);
    vendor.mode = 'echo-key';
    const direct = await get(buildApp(uncached));
    expect(direct.status).toBe(502);
    expect(direct.body.error.code).toBe('UPSTREAM_INVALID_RESPONSE');
  });

  it('answers 500 INTERNAL_ERROR for a call or expiresAt that misbehaves, and passes a WidgetAuthError on', async () => {
    const cases: [Partial<RemoteCredentialOptions<z.infer<typeof Token>>>, number, string][] = [
      [{ call: () => Promise.reject(new TypeError('boom')) }, 500, 'INTERNAL_ERROR'],
      [{ call: () => [] as unknown as z.infer<typeof Token> }, 500, 'INTERNAL_ERROR'],
      [{ expiresAt: () => Date.now() }, 500, 'INTERNAL_ERROR'],
      [{ expiresAt: () => Number.NaN }, 500, 'INTERNAL_ERROR'],
      [{ call: () => Promise.reject(new WidgetAuthError('UNAUTHORIZED', 'Sign in with an email.')) }, 401, 'UNAUTHORIZED'],
    ];
    for (const [overrides, status, code] of cases) {
      const res = await get(appWith(strategy(overrides)));
      expect([res.status, res.body.error.code]).toEqual([status, code]);
    }
  });

  it('logs why parse refused a body when it throws a WidgetAuthError (redacted), and never what any other throw says', async () => {
    const refusing = (thrown: () => Error) =>
      appWith(strategy({ cache: false, call: ({ upstream }) => upstream({ url: vendor.url, headers: { Authorization: `Bearer ${API_KEY}` }, body: {}, parse: () => { throw thrown(); } }) }));
    const loggedError = async (app: import('express').Express) => {
      logger.events.length = 0;
      const res = await get(app);
      expect([res.status, res.body.error.code]).toEqual([502, 'UPSTREAM_INVALID_RESPONSE']);
      expect(res.text).not.toContain('another user');
      const errors = logger.events.map((e) => (e.obj as { err?: { message?: string } }).err?.message).filter((m) => m !== undefined);
      expect(errors).toHaveLength(1);
      return errors[0]!;
    };
    expect(await loggedError(refusing(() => new WidgetAuthError('UPSTREAM_INVALID_RESPONSE', 'a token for another user.')))).toBe('acme answered 200 with a token for another user.');
    // the reason of a check that quotes what it saw goes through the redactor
    const quoting = await loggedError(refusing(() => new WidgetAuthError('UPSTREAM_INVALID_RESPONSE', `a body holding ${API_KEY}`)));
    expect(quoting).toMatch(/^acme answered 200 with a body holding \S+\.$/);
    expectNoSecrets(quoting, [API_KEY]);
    // another router's secret split by the reason's length cap never shows a piece of itself
    const neighbour = 'nb_live_Wq3Ez7Rt1Yu5Io9Pa2Sd6Fg0Hj4Kl8Z';
    hissunoTokenRouter({ secretKey: `sk_live_${neighbour}`, resolveUser: () => null });
    for (const at of [185, 192, 1990]) {
      const straddling = await loggedError(refusing(() => new WidgetAuthError('UPSTREAM_INVALID_RESPONSE', `${'x'.repeat(at)}sk_live_${neighbour}`)));
      expect(straddling).not.toMatch(/nb_live|Wq3Ez7/);
      expect(straddling.length).toBeLessThanOrEqual(300);
    }
    // anything else thrown may quote the answer: only the fact is logged
    const plain = await loggedError(refusing(() => new TypeError('token tok-1-user-ada is for another user')));
    expect(plain).toBe('acme answered 200 with a body that is not the documented object.');
  });

  it('refuses a plain-http vendor URL other than loopback', async () => {
    const app = appWith(strategy({ call: ({ upstream }) => upstream({ url: 'http://api.acme.example/v1', parse: (b) => Token.parse(b) }) }));
    const res = await get(app);
    expect(res.status).toBe(500);
    expect(vendor.calls).toHaveLength(0);
  });

  it("refuses a credential holding the key also inside a host's strategy that wraps this one (whose router searches other secrets)", async () => {
    const remote = strategy({ cache: false });
    const wrapper = { kind: 'host-wrapper', secrets: ['host_secret_Zq8Wm3Kx7Vb2Nc5Lp9Rt4Yh6'], relaysVendor: true, issue: (user: WidgetUser, request: unknown) => remote.issue(user, request as never) };
    vendor.mode = 'echo-key';
    const res = await get(appWith(wrapper as never));
    expect([res.status, res.body.error?.code]).toEqual([502, 'UPSTREAM_INVALID_RESPONSE']);
    expectNoSecrets(res.text, [API_KEY]);
  });

  it("answers what a host's strategy wrapping this one makes of the credential, not the text remoteCredential wrote first", async () => {
    const remote = strategy({ cache: false });
    const wrapper = {
      kind: 'host-wrapper',
      secrets: remote.secrets,
      relaysVendor: true,
      issue: async (user: WidgetUser, request: unknown) => {
        const credential = await remote.issue(user, request as never);
        // the same object, changed: the router must write it anew
        credential['token'] = `wrapped ${String(credential['token'])}`;
        credential['extra'] = 1;
        return credential;
      },
    };
    const res = await get(appWith(wrapper as never));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ ...res.body, token: expect.stringMatching(/^wrapped /), extra: 1 });
    // this strategy given to the router itself: the answer is the vendor's, as remoteCredential wrote it
    const direct = await get(appWith(strategy({ cache: false })));
    expect(direct.status).toBe(200);
    expect(direct.text).toBe(JSON.stringify(direct.body));
    expect(direct.body['extra']).toBeUndefined();
  });

  it('refuses a parse that returns a promise, as the host mistake it is, without logging what it settles with', async () => {
    const app = appWith(
      strategy({
        cache: false,
        call: ({ upstream }) => upstream({ url: vendor.url, headers: { Authorization: `Bearer ${API_KEY}` }, body: {}, parse: (async (body: unknown) => {
          throw new Error(`bad body ${JSON.stringify(body)}`);
        }) as never }),
      }),
    );
    logger.events.length = 0;
    const res = await get(app);
    expect([res.status, res.body.error.code]).toEqual([500, 'INTERNAL_ERROR']);
    const logged = JSON.stringify(logger.events);
    expect(logged).toContain('returned a promise');
    expect(logged).not.toContain('bad body');
    expect(logged).not.toContain('tok-');
  });

  it('calls the URL it checked: upstream() reads url once', async () => {
    let reads = 0;
    const target = vendor.url;
    const app = appWith(
      strategy({
        cache: false,
        call: ({ upstream }) =>
          upstream({
            get url() {
              reads++;
              // a second read would point the key at a plain-http host that is not loopback
              return reads === 1 ? target : 'http://evil.example/t';
            },
            headers: { Authorization: `Bearer ${API_KEY}` },
            body: {},
            parse: (b) => Token.parse(b),
          }),
      }),
    );
    const res = await get(app);
    expect(reads).toBe(1);
    expect(res.status).toBe(200);
  });

  it.each([
    ['the first time', () => undefined],
    ['the second time', (writes: number) => (writes === 1 ? { token: 'tok-clean' } : undefined)],
  ])('answers 500, never an empty 200, for a credential that writes as nothing %s (wrapped by a host, or not)', async (when, write) => {
    let writes = 0;
    const vanishing = { toJSON: () => write(++writes) };
    const remote = strategy({ cache: false, expiresAt: undefined, call: () => vanishing as never });
    const wrapper = { kind: 'host-wrapper', secrets: remote.secrets, relaysVendor: true, issue: (user: WidgetUser, request: unknown) => remote.issue(user, request as never) };
    const direct = await get(appWith(remote));
    const wrapped = await get(appWith(wrapper as never));
    expect(writes).toBeGreaterThan(0);
    for (const res of when === 'the first time' ? [direct, wrapped] : [wrapped]) expect([res.status, res.body.error?.code]).toEqual([500, 'INTERNAL_ERROR']);
    // given to the router itself, the credential is sent as remoteCredential wrote and searched it, once
    if (when === 'the second time') expect([direct.status, direct.text]).toEqual([200, '{"token":"tok-clean"}']);
  });

  it('sends the very text it searched for a credential whose JSON changes each time it is written, and searches again one a host wraps: never the key', async () => {
    let writes = 0;
    const shifty = { toJSON: () => (++writes === 1 ? { token: 'tok-clean' } : { token: API_KEY }) };
    // without expiresAt (which could change the object), the route answers the call's own object
    const remote = strategy({ cache: false, expiresAt: undefined, call: () => shifty as never });
    const direct = await get(appWith(remote));
    expect(writes).toBe(1);
    expect([direct.status, direct.text]).toEqual([200, '{"token":"tok-clean"}']);
    // a host's strategy around it: the router writes its answer again, and searches that text
    writes = 0;
    const wrapper = { kind: 'host-wrapper', secrets: remote.secrets, relaysVendor: true, issue: (user: WidgetUser, request: unknown) => remote.issue(user, request as never) };
    const wrapped = await get(appWith(wrapper as never));
    expect(writes).toBeGreaterThanOrEqual(2);
    expect([wrapped.status, wrapped.body.error?.code]).toEqual([502, 'UPSTREAM_INVALID_RESPONSE']);
    expectNoSecrets(direct.text + wrapped.text, [API_KEY]);
  });

  it('says what is wrong, before any vendor call, when upstream() is given a parse that is not a function', async () => {
    const app = appWith(strategy({ cache: false, call: ({ upstream }) => upstream({ url: vendor.url, parse: 'Token.parse' as never }) }));
    logger.events.length = 0;
    const res = await get(app);
    expect([res.status, res.body.error.code]).toEqual([500, 'INTERNAL_ERROR']);
    expect(vendor.calls).toHaveLength(0);
    expect(JSON.stringify(logger.events)).toContain('upstream() of remoteCredential was given a parse that is not a function');
  });

  it('lists every option mistake at start-up, never a secret', () => {
    let error: unknown;
    try {
      remoteCredential({
        vendor: 'Acme Corp',
        secrets: ['changeme'],
        call: 'https://api.acme.example' as never,
        cache: { store: {} as never, refreshBefore: -1 },
        timeoutMs: 0,
        retrys: 2,
      } as never);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(WidgetAuthConfigError);
    const problems = (error as WidgetAuthConfigError).problems;
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^vendor: must be 1 to 40 lower-case/),
        expect.stringMatching(/^secrets\[0\]: /),
        expect.stringMatching(/^call: must be a function/),
        expect.stringMatching(/^cache\.store: must be a credential store/),
        expect.stringMatching(/^cache\.refreshBefore: must not be negative/),
        expect.stringMatching(/^timeoutMs: /),
        'retrys: unknown option (did you mean `retries`?)',
      ]),
    );
    expect((error as Error).message).not.toContain('changeme');

    const missing = () => remoteCredential({ vendor: 'acme', secrets: [API_KEY], call: () => ({ token: 'x' }), cache: { store: memoryCredentialStore() } });
    expect(missing).toThrow(/expiresAt: is required with `cache`/);
    expect(() => remoteCredential({ vendor: 'acme', secrets: ['a'.repeat(32)], call: () => ({}) })).toThrow(/secrets\[0\]: looks like a placeholder or has too little variety/);
    expect(() => remoteCredential({ vendor: 'acme', secrets: ['a'.repeat(32)], call: () => ({}), allowWeakSecrets: true })).not.toThrow();
    expect(() => memoryCredentialStore({ max: 0 })).toThrow(/max: must be at least 1/);
  });

  it('declares the server key, and redacts it from a vendor error code that quotes it', async () => {
    const credential = strategy();
    expect(credential.kind).toBe('remoteCredential');
    expect(credential.secrets).toEqual([API_KEY]);
    vendor.mode = 'refuse403';
    const res = await get(appWith(strategy({ cache: false })));
    expect(res.status).toBe(502);
    const event = logger.events.at(-1)!.obj as { upstreamStatus?: number; vendorCode?: string };
    expect(event.upstreamStatus).toBe(403);
    expect(event.vendorCode).toBe('forbidden for key [redacted]');
  });
});
