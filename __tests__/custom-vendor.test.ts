/**
 * `widgetCredentialRouter` over real HTTP, on Express 5 and Express 4: the two worked
 * examples of docs/custom-vendor.md run as written (their code is read from the page, so
 * the page and this test cannot drift apart; the remote one against a stand-in for the
 * vendor's API on 127.0.0.1), then the router's own rules: the pipeline
 * (origin and Fetch Metadata, CORS, rate limit, redaction, error shapes), host mistakes
 * in the strategy's hooks, strategies of the host's own, and start-up errors.
 */
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import express, { type Request } from 'express';
import request from 'supertest';
import ts from 'typescript';
import * as lib from '../lib';
import { WidgetAuthConfigError, WidgetAuthError, hmacCredential, jwtCredential, widgetCredentialRouter, type WidgetCredential, type WidgetUser } from '../lib';
import { EXPRESS_MAJOR, USERS, buildApp, captureLogger, expectNoSecrets, testResolveUser } from './helpers/app';
import { codeBlocks } from './helpers/docs-blocks';
import { loadJose } from './helpers/jose';
import { API_KEY, LIFE, startVendor, type Vendor } from './helpers/remote-vendor';

const { jwtVerify } = loadJose();

const PAGE = join(__dirname, '..', 'docs', 'custom-vendor.md');
const ACME_SECRET = 'acme_ws_Vq8Lk2Tz5Hn9Rc4Xp7Jd3Mf6';
const ACME_KEY_ID = 'acme-key-7';
const HMAC_SECRET = 'hd_Kp4Wq9Zx2Nv7Lr5Tb8Yc3Hs6';
const APP_ORIGIN = 'https://app.example.com';
const ATTACKER = 'https://attacker.test';

/** Headers a browser sends with a `fetch` from the page's own origin, and from another site. */
const SAME_ORIGIN_FETCH = { 'sec-fetch-site': 'same-origin', 'sec-fetch-mode': 'cors', 'sec-fetch-dest': 'empty' };
const crossSiteFetch = (origin: string) => ({ 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'cors', 'sec-fetch-dest': 'empty', origin });

/** The first ```ts block after the page's `heading` ("A complete example" unless told). */
function workedExample(heading = 'A complete example'): { code: string; lines: number } {
  const markdown = readFileSync(PAGE, 'utf8');
  const start = markdown.indexOf(`\n## ${heading}\n`);
  if (start === -1) throw new Error(`docs/custom-vendor.md has no "${heading}" section`);
  const block = codeBlocks(markdown.slice(start), 'docs/custom-vendor.md').find((b) => b.lang === 'ts');
  if (!block) throw new Error(`the "${heading}" section of docs/custom-vendor.md has no ts block`);
  return { code: block.code, lines: block.code.trimEnd().split('\n').length };
}

/**
 * Run the page's code against this repository's source, in this process, with what the
 * page leaves to the reader: the host `app`, its `resolveUser`, a `logger` and the
 * environment variables it reads.
 */
function runExample(code: string, given: { app: express.Express; resolveUser: (req: Request) => WidgetUser | null; logger: lib.WidgetAuthLogger; env: Record<string, string> }): void {
  const js = ts.transpileModule(code, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 } }).outputText;
  const load = (specifier: string): unknown => {
    if (specifier === 'express-widget-auth') return lib;
    throw new Error(`the example imports ${specifier}`);
  };
  new Function('require', 'exports', 'app', 'resolveUser', 'logger', 'process', js)(load, {}, given.app, given.resolveUser, given.logger, { env: given.env });
}

describe(`docs/custom-vendor.md, its worked example run as written (Express ${EXPRESS_MAJOR})`, () => {
  const example = workedExample();
  const logger = captureLogger();
  const app = express();
  let resolved = 0;
  runExample(example.code, {
    app,
    logger,
    env: { ACME_WIDGET_SECRET: ACME_SECRET, ACME_KEY_ID },
    resolveUser: (req) => {
      resolved++;
      // a careless database driver quoting the secret in its error
      if (req.headers['x-test-user'] === 'throws') throw new Error(`connection refused (password=${ACME_SECRET})`);
      return testResolveUser(req);
    },
  });
  app.use(((err, _req, res, _next) => {
    res.status(599).json({ hostHandled: true, message: (err as Error).message });
  }) as express.ErrorRequestHandler);

  const post = () => request(app).post('/api/acme-token');

  it('defines the vendor in under 30 lines', () => {
    expect(example.lines).toBeGreaterThan(10);
    expect(example.lines).toBeLessThan(30);
    expect(example.code).toContain('widgetCredentialRouter(');
  });

  it('answers a signed-in user a JWT that jose verifies, with the kid header, the claims and a 900-second life', async () => {
    const res = await post().set(SAME_ORIGIN_FETCH).set('x-test-user', 'ada').expect(200);
    expect(Object.keys(res.body as object)).toEqual(['token', 'expiresAt']);
    const { token, expiresAt } = res.body as { token: string; expiresAt: number };
    const { payload, protectedHeader } = await jwtVerify(token, new TextEncoder().encode(ACME_SECRET), { algorithms: ['HS256'] });
    expect(protectedHeader).toEqual({ alg: 'HS256', typ: 'JWT', kid: ACME_KEY_ID });
    expect(payload).toEqual({ sub: USERS['ada']!.id, email: USERS['ada']!.email, name: USERS['ada']!.name, iat: expect.any(Number), exp: expiresAt });
    expect(payload.exp! - payload.iat!).toBe(900);
    expect(res.headers['cache-control']).toBe('no-store');
  });

  it('answers 401 in the {"error":{"code","message"}} shape when nobody is signed in', async () => {
    const res = await post().expect(401);
    expect(res.body).toEqual({ error: { code: 'UNAUTHORIZED', message: 'Sign in to use this widget.' } });
  });

  it('answers 405 with Allow: POST to a GET', async () => {
    const res = await request(app).get('/api/acme-token').set('x-test-user', 'ada').expect(405);
    expect(res.headers['allow']).toBe('POST');
    expect((res.body as { error: { code: string } }).error.code).toBe('METHOD_NOT_ALLOWED');
  });

  it.each([
    ['a fetch from another site', crossSiteFetch(ATTACKER)],
    ['an image load from its own pages', { 'sec-fetch-site': 'same-origin', 'sec-fetch-mode': 'no-cors', 'sec-fetch-dest': 'image' }],
    ['a form posted from another site', { 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document', origin: ATTACKER }],
    ['a server naming an origin not listed', { origin: ATTACKER }],
  ])('refuses %s with 403 FORBIDDEN_ORIGIN before resolveUser runs', async (_what, headers) => {
    const before = resolved;
    const res = await post().set(headers).set('x-test-user', 'ada').expect(403);
    expect(res.body).toEqual({ error: { code: 'FORBIDDEN_ORIGIN', message: expect.any(String) } });
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
    expect(resolved).toBe(before);
  });

  it('serves the allowed origin with CORS, and answers its preflight', async () => {
    const res = await post().set(crossSiteFetch(APP_ORIGIN)).set('x-test-user', 'ada').expect(200);
    expect(res.headers['access-control-allow-origin']).toBe(APP_ORIGIN);
    expect(res.headers['access-control-allow-credentials']).toBe('true');
    expect(res.headers['vary']).toMatch(/\borigin\b/i);
    const preflight = await request(app).options('/api/acme-token').set({ origin: APP_ORIGIN, 'access-control-request-method': 'POST' }).expect(204);
    expect(preflight.headers['access-control-allow-methods']).toBe('POST');
    await request(app).options('/api/acme-token').set({ origin: ATTACKER, 'access-control-request-method': 'POST' }).expect(403);
  });

  it('limits each user to 30 calls a minute: the 31st gets 429 RATE_LIMITED with Retry-After', async () => {
    for (let i = 0; i < 30; i++) await post().set('x-test-user', 'bob').expect(200);
    const res = await post().set('x-test-user', 'bob').expect(429);
    expect(res.body).toEqual({ error: { code: 'RATE_LIMITED', message: expect.any(String) } });
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    // another user keeps their own budget
    await post().set('x-test-user', 'ada').expect(200);
  });

  it('answers a throwing resolveUser 500 INTERNAL_ERROR, and logs it with the secret redacted', async () => {
    const res = await post().set('x-test-user', 'throws').expect(500);
    expect(res.body).toEqual({ error: { code: 'INTERNAL_ERROR', message: 'Internal error.' } });
    const event = logger.events.map((e) => e.obj as lib.RequestLogEvent).find((e) => e.status === 500)!;
    expect(event).toMatchObject({ vendor: 'acme', route: '/api/acme-token', method: 'POST', code: 'INTERNAL_ERROR' });
    expect(event.err!.message).toContain('[redacted]');
    expect(event.hint).toMatch(/^resolveUser threw or rejected/);
    expectNoSecrets(logger.text(), [ACME_SECRET]);
    expectNoSecrets(JSON.stringify(res.body), [ACME_SECRET]);
  });

  it('logs one event per request, never the token', async () => {
    const res = await post().set('x-test-user', 'ada').expect(200);
    const { token } = res.body as { token: string };
    expect(logger.text()).not.toContain(token.split('.')[2]);
    expect(logger.events.at(-1)!.obj).toMatchObject({ vendor: 'acme', status: 200, method: 'POST' });
  });

  it('refuses a placeholder secret at start-up', () => {
    const problems: string[] = [];
    try {
      runExample(example.code, { app: express(), logger, resolveUser: testResolveUser, env: { ACME_WIDGET_SECRET: 'your-acme-widget-secret', ACME_KEY_ID } });
    } catch (err) {
      expect(err).toBeInstanceOf(WidgetAuthConfigError);
      problems.push(...(err as WidgetAuthConfigError).problems);
    }
    expect(problems).toEqual(['secret: looks like a placeholder, not a real secret']);
  });
});

describe(`docs/custom-vendor.md, its remote example run as written against a vendor stand-in (Express ${EXPRESS_MAJOR})`, () => {
  const example = workedExample('A vendor that mints the credential with its API');
  const logger = captureLogger();
  const realNow = Date.now.bind(Date);
  let shift = 0;
  let vendor: Vendor;
  let app: express.Express;
  let credential: lib.RemoteCredential;

  beforeAll(async () => {
    // the cache reads Date.now: shifting it moves time for the cache and the stand-in
    jest.spyOn(Date, 'now').mockImplementation(() => realNow() + shift);
    vendor = await startVendor(() => Date.now());
    app = express();
    // the page's code, with remoteCredential wrapped to keep hold of the strategy it makes
    const wrapped = {
      ...lib,
      remoteCredential: (options: lib.RemoteCredentialOptions) => (credential = lib.remoteCredential(options)),
    };
    const js = ts.transpileModule(example.code, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 } }).outputText;
    new Function('require', 'exports', 'app', 'resolveUser', 'logger', 'process', js)(
      (specifier: string) => {
        if (specifier === 'express-widget-auth') return wrapped;
        throw new Error(`the example imports ${specifier}`);
      },
      {},
      app,
      testResolveUser,
      logger,
      { env: { ACME_API_KEY: API_KEY, ACME_API_URL: new URL(vendor.url).origin } },
    );
  });
  afterAll(async () => {
    await vendor.close();
    jest.restoreAllMocks();
    expectNoSecrets(logger.text(), [API_KEY]);
  });
  beforeEach(async () => {
    shift = 0;
    vendor.mode = 'ok';
    // each test starts from an empty cache
    await Promise.all(Object.values(USERS).map((user) => credential.invalidate(user)));
    vendor.calls.length = 0;
  });

  const post = (user?: string) => {
    const req = request(app).post('/api/acme-support-token');
    return user === undefined ? req : req.set('x-test-user', user);
  };

  it('defines the vendor in under 30 lines, with remoteCredential and a cache', () => {
    expect(example.lines).toBeGreaterThan(10);
    expect(example.lines).toBeLessThan(30);
    expect(example.code).toContain('remoteCredential(');
    expect(example.code).toContain('cache: {');
    expect(readFileSync(PAGE, 'utf8')).toContain('](scaling.md#caching-vendor-minted-credentials)');
  });

  it('makes one vendor call for N requests of one user, with the key as a bearer token, and one for another user', async () => {
    const before = Math.floor(Date.now() / 1000);
    const first = await post('ada').expect(200);
    const after = Math.floor(Date.now() / 1000);
    // minted between the two readings of the clock (a second may tick over on a loaded machine)
    expect(first.body).toEqual({ token: `tok-1-${USERS['ada']!.id}`, expires_at: expect.any(Number) });
    expect(first.body.expires_at).toBeGreaterThanOrEqual(before + LIFE);
    expect(first.body.expires_at).toBeLessThanOrEqual(after + LIFE);
    for (let i = 0; i < 3; i++) {
      shift += 60_000;
      expect((await post('ada').expect(200)).body).toEqual(first.body);
    }
    const together = await Promise.all(Array.from({ length: 10 }, () => post('ada')));
    expect(new Set(together.map((r) => r.body.token))).toEqual(new Set([first.body.token]));
    expect(vendor.calls).toEqual([{ user: USERS['ada']!.id, auth: `Bearer ${API_KEY}` }]);
    expect((await post('bob').expect(200)).body.token).toBe(`tok-2-${USERS['bob']!.id}`);
    expect(vendor.calls).toHaveLength(2);
    // a minute before expiry, a new one
    shift = (LIFE - 30) * 1000;
    expect((await post('ada').expect(200)).body.token).toBe(`tok-3-${USERS['ada']!.id}`);
  });

  it('answers 502 UPSTREAM_INVALID_RESPONSE to a body without a token, and logs why in the words parse threw', async () => {
    vendor.mode = 'no-token';
    logger.events.length = 0;
    const res = await post('ada').expect(502);
    expect(res.body.error.code).toBe('UPSTREAM_INVALID_RESPONSE');
    expect(logger.events.map((e) => (e.obj as { err?: { message?: string } }).err?.message)).toEqual(['acme answered 200 with a body without a token.']);
  });

  it('answers 401 to nobody signed in without calling the vendor', async () => {
    const res = await post().expect(401);
    expect(res.body).toEqual({ error: { code: 'UNAUTHORIZED', message: 'Sign in to use this widget.' } });
    expect(vendor.calls).toEqual([]);
  });

  it('serves the cached token while the vendor is down, until it expires, then 502 UPSTREAM_UNAVAILABLE', async () => {
    const first = (await post('ada').expect(200)).body.token as string;
    vendor.mode = 'down';
    shift = (LIFE - 30) * 1000;
    expect((await post('ada').expect(200)).body.token).toBe(first);
    shift = (LIFE + 1) * 1000;
    const res = await post('ada').expect(502);
    expect(res.body.error.code).toBe('UPSTREAM_UNAVAILABLE');
    expect(res.text).not.toContain(first);
  });

  it('answers 502 UPSTREAM_REJECTED, never 401, when the vendor refuses the key', async () => {
    vendor.mode = 'refuse401';
    const res = await post('bob').expect(502);
    expect(res.body.error.code).toBe('UPSTREAM_REJECTED');
  });

  it('mints a new token after invalidate(user), as at sign-out', async () => {
    const first = (await post('ada').expect(200)).body.token as string;
    await credential.invalidate(USERS['ada']!);
    const second = (await post('ada').expect(200)).body.token as string;
    expect(second).not.toBe(first);
    expect(vendor.calls).toHaveLength(2);
  });

  it('refuses a token that holds the API key, and never caches it', async () => {
    vendor.mode = 'echo-key';
    const res = await post('bob').expect(502);
    expect(res.body.error.code).toBe('UPSTREAM_INVALID_RESPONSE');
    expectNoSecrets(res.text, [API_KEY]);
    vendor.mode = 'ok';
    expect((await post('bob').expect(200)).body.token).toMatch(/^tok-\d+-/);
  });
});

describe(`widgetCredentialRouter (Express ${EXPRESS_MAJOR})`, () => {
  const hashOf = (text: string) => createHmac('sha256', HMAC_SECRET).update(text).digest('hex');
  const identity = () => hmacCredential({ secret: HMAC_SECRET, message: (user) => user.id, answer: { identifier: (user) => user.id, identifier_hash: 'hash' } });

  it('answers GET and POST with the strategy\'s fields by default, for the user resolveUser names only', async () => {
    const app = buildApp(widgetCredentialRouter({ vendor: 'helpdesk', path: '/api/helpdesk-identity', resolveUser: testResolveUser, credential: identity() }));
    const get = await request(app).get('/api/helpdesk-identity').set('x-test-user', 'ada').expect(200);
    expect(get.body).toEqual({ identifier: 'user-ada', identifier_hash: hashOf('user-ada') });
    // what the browser sends names nobody
    const posted = await request(app).post('/api/helpdesk-identity').set('x-test-user', 'bob').send({ id: 'user-ada', user: { id: 'user-ada' } }).expect(200);
    expect(posted.body).toEqual({ identifier: USERS['bob']!.id, identifier_hash: hashOf(USERS['bob']!.id) });
    await request(app).get('/api/helpdesk-identity?id=user-ada').expect(401);
    await request(app).put('/api/helpdesk-identity').set('x-test-user', 'ada').expect(405);
  });

  it('answers 500 INTERNAL_ERROR in the error shape when message(user) returns a number, and reports it', async () => {
    const logger = captureLogger();
    const credential = hmacCredential({ secret: HMAC_SECRET, message: (() => 42) as never });
    const app = buildApp(widgetCredentialRouter({ vendor: 'helpdesk', path: '/id', resolveUser: testResolveUser, credential, logger }));
    const res = await request(app).get('/id').set('x-test-user', 'ada').expect(500);
    expect(res.body).toEqual({ error: { code: 'INTERNAL_ERROR', message: 'Internal error.' } });
    const event = logger.events.find((e) => (e.obj as lib.RequestLogEvent).status === 500)!.obj as lib.RequestLogEvent;
    expect(event.hint).toBe('message(user) of hmacCredential returned a number; it must return a non-empty string, e.g. user.id.');
    expect(event.docs).toMatch(/docs\/errors\.md#a-hook-or-a-vendor-step-failed$/);
  });

  it('refuses to send an answer that holds the secret, whoever put it there', async () => {
    const logger = captureLogger();
    const credential = hmacCredential({ secret: HMAC_SECRET, message: (user) => user.id, answer: { hash: 'hash', note: () => `key ${Buffer.from(HMAC_SECRET).toString('base64')}` } });
    const app = buildApp(widgetCredentialRouter({ vendor: 'helpdesk', path: '/id', resolveUser: testResolveUser, credential, logger }));
    const res = await request(app).get('/id').set('x-test-user', 'ada').expect(500);
    expect((res.body as { error: { code: string } }).error.code).toBe('INTERNAL_ERROR');
    expectNoSecrets(JSON.stringify(res.body) + logger.text(), [HMAC_SECRET]);
  });

  it('shapes errors by the contract given, and logs under its own vendor name', async () => {
    const logger = captureLogger();
    const contract: lib.VendorContract = { vendor: 'other', shape: (err) => ({ status: err.status, body: { error: err.code === 'UNAUTHORIZED' ? 'Unauthorized' : 'Failed' } }) };
    const app = buildApp(widgetCredentialRouter({ vendor: 'flat', path: '/flat', methods: ['GET'], resolveUser: testResolveUser, credential: identity(), contract, logger }));
    expect((await request(app).get('/flat').expect(401)).body).toEqual({ error: 'Unauthorized' });
    expect((await request(app).post('/flat').expect(405)).body).toEqual({ error: 'Failed' });
    expect(logger.events.map((e) => (e.obj as lib.RequestLogEvent).vendor)).toEqual(['flat', 'flat']);
    expect(logger.events.map((e) => (e.obj as lib.RequestLogEvent).code)).toEqual(['UNAUTHORIZED', 'METHOD_NOT_ALLOWED']);
  });

  it('runs a strategy of the host\'s own, awaiting it, with the body for request details only', async () => {
    const roomSecret = 'rm_Zt6Qw2Lp9Xk4Vb7Nc3Hd8Jf5';
    const rooms: WidgetCredential = {
      kind: 'roomCredential',
      secrets: [roomSecret],
      issue: async (user, { body }) => {
        const room = (body as { room?: unknown }).room;
        if (typeof room !== 'string' || !/^[a-z0-9-]{1,64}$/.test(room)) throw new WidgetAuthError('INVALID_REQUEST', 'room must be a room name.');
        await new Promise((resolve) => setImmediate(resolve));
        return { room, signature: createHmac('sha256', roomSecret).update(`${user.id}:${room}`).digest('hex') };
      },
    };
    const app = buildApp(widgetCredentialRouter({ vendor: 'rooms', path: '/api/room-auth', methods: ['POST'], resolveUser: testResolveUser, credential: rooms }));
    const ok = await request(app).post('/api/room-auth').set('x-test-user', 'ada').send({ room: 'lobby' }).expect(200);
    expect(ok.body).toEqual({ room: 'lobby', signature: createHmac('sha256', roomSecret).update('user-ada:lobby').digest('hex') });
    const bad = await request(app).post('/api/room-auth').set('x-test-user', 'ada').send({ room: '../admin' }).expect(400);
    expect(bad.body).toEqual({ error: { code: 'INVALID_REQUEST', message: 'room must be a room name.' } });
    await request(app).post('/api/room-auth').set('x-test-user', 'ada').set('content-type', 'text/plain').send('room=lobby').expect(415);
  });

  it('signs JWTs per request with the times of the request', async () => {
    const secret = 'jw_Hq5Zp8Lx3Tv6Nb9Kc2Wd7Rf4';
    const app = buildApp(widgetCredentialRouter({ vendor: 'feedback', path: '/sso', resolveUser: testResolveUser, credential: jwtCredential({ secret, claims: (user) => ({ id: user.id }), expiresIn: 120 }) }));
    const { token } = (await request(app).get('/sso').set('x-test-user', 'bob').expect(200)).body as { token: string };
    const { payload } = await jwtVerify(token, new TextEncoder().encode(secret));
    expect(payload).toEqual({ id: USERS['bob']!.id, iat: expect.any(Number), exp: payload.iat! + 120 });
    expect(Math.abs(payload.iat! - Date.now() / 1000)).toBeLessThan(5);
  });

  describe('start-up errors', () => {
    const problemsOf = (options: unknown): readonly string[] => {
      try {
        widgetCredentialRouter(options as lib.WidgetCredentialRouterOptions);
      } catch (err) {
        expect(err).toBeInstanceOf(WidgetAuthConfigError);
        return (err as WidgetAuthConfigError).problems;
      }
      throw new Error('no configuration error was thrown');
    };

    it('names every missing or misspelled option', () => {
      expect(problemsOf({ vendor: 'acme', path: '/a', resolveUser: testResolveUser })).toEqual([
        'credential: must be a credential strategy: hmacCredential({ … }), jwtCredential({ … }), or an object { kind, secrets: string[] (at least one), issue(user, request) }',
      ]);
      expect(problemsOf({ vendor: 'Acme Chat', path: 'api', methods: ['GET', 'DELETE'], resolveUser: testResolveUser, credential: identity(), credentail: 1 })).toEqual([
        'path: must start with "/" and hold no query or fragment',
        'vendor: must be 1 to 40 lower-case letters, digits, "-" and "_", starting with a letter',
        "methods[1]: must be 'GET' or 'POST'",
        'credentail: unknown option (did you mean `credential`?)',
      ]);
      expect(problemsOf({ vendor: 'acme', path: '/a', resolveUser: testResolveUser, credential: { kind: 'x', secrets: [], issue: () => ({}) } })[0]).toMatch(/^credential: must be a credential strategy/);
      expect(problemsOf({ vendor: 'acme', path: '/a', resolveUser: testResolveUser, credential: identity(), allowWeakSecrets: true })).toEqual([
        'allowWeakSecrets: belongs to the credential strategy: hmacCredential({ …, allowWeakSecrets: true }) or jwtCredential({ … })',
      ]);
      expect(problemsOf({ vendor: 'acme', path: '/a', resolveUser: testResolveUser, credential: identity(), cors: true })).toEqual([expect.stringMatching(/^cors: /)]);
      expect(problemsOf({ vendor: 'acme', path: '/a', resolveUser: testResolveUser, credential: { ...identity(), relaysVendor: 'yes' } })).toEqual([
        'credential: relaysVendor must be true, false or left out (true when issue() returns what a vendor answered)',
      ]);
    });

    it('refuses a weak secret in the strategy, unless allowWeakSecrets', () => {
      expect(() => hmacCredential({ secret: 'password-1234-password', message: (user) => user.id })).toThrow(WidgetAuthConfigError);
      expect(() => widgetCredentialRouter({ vendor: 'acme', path: '/a', resolveUser: testResolveUser, credential: hmacCredential({ secret: 'password-1234-password', message: (user) => user.id, allowWeakSecrets: true }) })).not.toThrow();
    });

    it('throws at app.use when the factory is mounted without being called', () => {
      const app = express();
      expect(() => app.use(widgetCredentialRouter as never)).toThrow(/widgetCredentialRouter was mounted without being called: write app\.use\(widgetCredentialRouter\(\{ … \}\)\)/);
    });
  });
});
