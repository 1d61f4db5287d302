/**
 * Which requests reach a route, over real HTTP: the browser's Fetch Metadata
 * (`Sec-Fetch-Site`, `Sec-Fetch-Mode`, `Sec-Fetch-Dest`), `Origin`, `allowedOrigins`
 * (strings, RegExps, a function), `requireOrigin` and `cors`. The header sets are the
 * ones Chromium sends for each kind of load (see `origin-browser.once.test.ts`, which
 * drives a real browser). A refused request must cost nothing: no `resolveUser`, no
 * rate-limit count, no vendor call.
 */
import { createServer, type Server } from 'node:http';
import type express from 'express';
import { MemoryStore } from 'express-rate-limit';
import request, { type Response } from 'supertest';
import { WidgetAuthConfigError, neverminedSessionRouter, type NeverminedSessionRouterOptions, type WidgetUser } from '../lib';
import { startFakeNevermined, type FakeNevermined } from '../lib/testing';
import { EXPRESS_MAJOR, USERS, buildApp, captureLogger, expectNoSecrets } from './helpers/app';
import { PIPELINE_SECRET, TEST_PATH, expectErrorBody, testApp, type TestRouterOptions } from './helpers/pipeline';

const APP = 'https://app.example.test';
const SAME_SITE_ATTACKER = 'https://evil.example.test';
const CROSS_SITE_ATTACKER = 'https://attacker.test';
const PARTNER = 'https://partner.example.net';

type Headers = Record<string, string>;

const fm = (site: string, mode: string, dest: string, origin?: string): Headers => ({
  'sec-fetch-site': site,
  'sec-fetch-mode': mode,
  'sec-fetch-dest': dest,
  ...(origin !== undefined ? { origin } : {}),
});

/** What Chromium sends for each kind of request (checked against a real browser in origin-browser.once.test.ts). */
const SENT = {
  ownFetchGet: fm('same-origin', 'cors', 'empty'),
  ownFetchPost: fm('same-origin', 'cors', 'empty', APP),
  ownFetchSameOriginMode: fm('same-origin', 'same-origin', 'empty'),
  ownPageImage: fm('same-origin', 'no-cors', 'image'),
  ownPageNavigation: fm('same-origin', 'navigate', 'document'),
  sameSiteImage: fm('same-site', 'no-cors', 'image'),
  sameSiteScript: fm('same-site', 'no-cors', 'script'),
  sameSiteIframe: fm('same-site', 'navigate', 'iframe'),
  sameSiteNoCorsFetch: fm('same-site', 'no-cors', 'empty'),
  sameSiteCorsFetch: fm('same-site', 'cors', 'empty', SAME_SITE_ATTACKER),
  crossSiteImage: fm('cross-site', 'no-cors', 'image'),
  crossSiteScript: fm('cross-site', 'no-cors', 'script'),
  crossSiteIframe: fm('cross-site', 'navigate', 'iframe'),
  crossSiteNoCorsFetch: fm('cross-site', 'no-cors', 'empty'),
  crossSiteCorsFetch: fm('cross-site', 'cors', 'empty', CROSS_SITE_ATTACKER),
  crossSiteNavigation: fm('cross-site', 'navigate', 'document'),
  crossSiteFormPost: fm('cross-site', 'navigate', 'document', CROSS_SITE_ATTACKER),
  crossSiteWebSocket: fm('cross-site', 'websocket', 'websocket', CROSS_SITE_ATTACKER),
  typedIntoAddressBar: fm('none', 'navigate', 'document'),
  extensionFetch: fm('none', 'cors', 'empty'),
  partnerCorsFetch: fm('cross-site', 'cors', 'empty', PARTNER),
  partnerImage: fm('cross-site', 'no-cors', 'image'),
  partnerFormPost: fm('cross-site', 'navigate', 'document', PARTNER),
  server: {},
  serverWithPartnerOrigin: { origin: PARTNER },
  serverWithOtherOrigin: { origin: SAME_SITE_ATTACKER },
} satisfies Record<string, Headers>;

type Kind = keyof typeof SENT;

const NOT_FETCH = 'Only fetch() and XMLHttpRequest calls are served, not image, script, frame or navigation loads.';
const NOT_ALLOWED = 'Origin is not allowed.';
const NO_ORIGIN = 'Requests must carry an Origin header.';

/** A rate-limit store that counts what it was asked to count. */
class CountingStore extends MemoryStore {
  increments = 0;
  override async increment(key: string) {
    this.increments++;
    return super.increment(key);
  }
}

interface Served {
  server: Server;
  resolved: number;
  handled: number;
  store: CountingStore;
  close(): Promise<void>;
}

async function listen(app: express.Express): Promise<Server> {
  const server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

/** The shared test router behind a real server, counting every step a refused request must not reach. */
async function countingApp(options: TestRouterOptions): Promise<Served> {
  const store = new CountingStore();
  const served: Served = {
    server: undefined as unknown as Server,
    resolved: 0,
    handled: 0,
    store,
    close: () => new Promise((resolve) => served.server.close(() => resolve())),
  };
  served.server = await listen(
    testApp({
      rateLimit: { windowMs: 60_000, limit: 10_000, store },
      resolveUser: () => {
        served.resolved++;
        return USERS['ada']!;
      },
      handle: ({ user }) => {
        served.handled++;
        return { user: user?.id ?? null };
      },
      ...options,
    }),
  );
  return served;
}

const answers: string[] = [];

async function send(served: Served, kind: Kind, method: 'GET' | 'POST' = 'GET'): Promise<Response> {
  const req = method === 'GET' ? request(served.server).get(TEST_PATH) : request(served.server).post(TEST_PATH).send({});
  const res = await req.set(SENT[kind]);
  answers.push(`${res.status} ${JSON.stringify(res.headers)} ${res.text}`);
  return res;
}

/** Send `kind` and check it was refused before the body, the user, the limiter and the handler. */
async function expectRefused(served: Served, kind: Kind, message: string, method: 'GET' | 'POST' = 'GET'): Promise<Response> {
  const before = { resolved: served.resolved, handled: served.handled, counted: served.store.increments };
  const res = await send(served, kind, method);
  expectErrorBody(res, 403, 'FORBIDDEN_ORIGIN');
  expect(res.body.error.message).toBe(message);
  expect(res.headers['access-control-allow-origin']).toBeUndefined();
  expect(res.headers['access-control-allow-credentials']).toBeUndefined();
  expect({ resolved: served.resolved, handled: served.handled, counted: served.store.increments }).toEqual(before);
  return res;
}

async function expectServed(served: Served, kind: Kind, method: 'GET' | 'POST' = 'GET'): Promise<Response> {
  const before = served.handled;
  const res = await send(served, kind, method);
  expect({ status: res.status, body: res.body }).toEqual({ status: 200, body: { user: 'user-ada' } });
  expect(served.handled).toBe(before + 1);
  return res;
}

afterAll(() => {
  expectNoSecrets(answers.join('\n'), [PIPELINE_SECRET]);
});

describe(`Fetch Metadata and Origin (Express ${EXPRESS_MAJOR})`, () => {
  describe('with the default options (no allowedOrigins)', () => {
    let served: Served;
    beforeAll(async () => {
      served = await countingApp({});
    });
    afterAll(() => served.close());

    it.each<[string, Kind, 'GET' | 'POST']>([
      ['the app’s own fetch GET (no Origin: Chrome omits it)', 'ownFetchGet', 'GET'],
      ['the app’s own fetch POST', 'ownFetchPost', 'POST'],
      ['the app’s own fetch in same-origin mode', 'ownFetchSameOriginMode', 'GET'],
      ['a server calling without Fetch Metadata or Origin', 'server', 'GET'],
      ['a server sending an Origin (nothing to check it against)', 'serverWithOtherOrigin', 'POST'],
      ['a fetch from an extension or the browser itself (Sec-Fetch-Site: none)', 'extensionFetch', 'GET'],
    ])('serves %s', async (_name, kind, method) => {
      const res = await expectServed(served, kind, method);
      expect(res.headers['access-control-allow-origin']).toBeUndefined();
    });

    it.each<[string, Kind, string]>([
      ['an <img> on a same-site page', 'sameSiteImage', NOT_FETCH],
      ['a <script> on a same-site page', 'sameSiteScript', NOT_FETCH],
      ['an <iframe> on a same-site page', 'sameSiteIframe', NOT_FETCH],
      ['a no-cors fetch from a same-site page', 'sameSiteNoCorsFetch', NOT_FETCH],
      ['a credentialed cors fetch from a same-site page', 'sameSiteCorsFetch', NOT_ALLOWED],
      ['an <img> on another site', 'crossSiteImage', NOT_FETCH],
      ['a <script> on another site', 'crossSiteScript', NOT_FETCH],
      ['an <iframe> on another site', 'crossSiteIframe', NOT_FETCH],
      ['a no-cors fetch from another site', 'crossSiteNoCorsFetch', NOT_FETCH],
      ['a credentialed cors fetch from another site', 'crossSiteCorsFetch', NOT_ALLOWED],
      ['a top-level navigation from another site', 'crossSiteNavigation', NOT_FETCH],
      ['a WebSocket from another site', 'crossSiteWebSocket', NOT_FETCH],
      ['an <img> injected into the app’s own page (HTML injection, markdown images)', 'ownPageImage', NOT_FETCH],
      ['a navigation from the app’s own page', 'ownPageNavigation', NOT_FETCH],
      ['the URL typed into the address bar', 'typedIntoAddressBar', NOT_FETCH],
    ])('refuses %s with 403 FORBIDDEN_ORIGIN before resolveUser, the rate limit and the handler', async (_name, kind, message) => {
      await expectRefused(served, kind, message);
    });

    it('refuses a cross-site form POST before reading its body', async () => {
      await expectRefused(served, 'crossSiteFormPost', NOT_FETCH, 'POST');
    });

    it.each<[string, Headers]>([
      ['two Sec-Fetch-Site values (an unknown value counts as another site)', { ...SENT.ownFetchGet, 'sec-fetch-site': 'same-origin, cross-site' }],
      ['Sec-Fetch-Site without Sec-Fetch-Mode', { 'sec-fetch-site': 'same-origin' }],
      ['an unknown mode', { ...SENT.ownFetchGet, 'sec-fetch-mode': 'nocors' }],
      ['an unknown destination', { ...SENT.ownFetchGet, 'sec-fetch-dest': 'emptyish' }],
      ['same-origin mode across sites (never sent by browsers)', fm('cross-site', 'same-origin', 'empty', CROSS_SITE_ATTACKER)],
    ])('fails closed on %s', async (_name, headers) => {
      const res = await request(served.server).get(TEST_PATH).set(headers);
      expectErrorBody(res, 403, 'FORBIDDEN_ORIGIN');
    });
  });

  describe('with allowedOrigins and cors', () => {
    let served: Served;
    beforeAll(async () => {
      served = await countingApp({ allowedOrigins: [PARTNER], cors: true });
    });
    afterAll(() => served.close());

    it('serves a listed origin’s credentialed cors fetch with the CORS headers', async () => {
      const res = await expectServed(served, 'partnerCorsFetch');
      expect(res.headers['access-control-allow-origin']).toBe(PARTNER);
      expect(res.headers['access-control-allow-credentials']).toBe('true');
    });

    it('serves the app’s own pages without listing them, and without CORS headers', async () => {
      expect((await expectServed(served, 'ownFetchGet')).headers['access-control-allow-origin']).toBeUndefined();
      expect((await expectServed(served, 'ownFetchPost', 'POST')).headers['access-control-allow-origin']).toBeUndefined();
    });

    it('keeps serving requests without Fetch Metadata by their Origin, as before', async () => {
      expect((await expectServed(served, 'serverWithPartnerOrigin')).headers['access-control-allow-origin']).toBe(PARTNER);
      await expectServed(served, 'server');
      await expectRefused(served, 'serverWithOtherOrigin', NOT_ALLOWED);
    });

    it.each<[string, Kind, string, 'GET' | 'POST']>([
      ['an <img> on the listed origin’s page (it cannot read the answer)', 'partnerImage', NOT_FETCH, 'GET'],
      ['a form POST from the listed origin', 'partnerFormPost', NOT_FETCH, 'POST'],
      ['a same-site page whose origin is not listed', 'sameSiteCorsFetch', NOT_ALLOWED, 'GET'],
      ['another site', 'crossSiteCorsFetch', NOT_ALLOWED, 'GET'],
    ])('refuses %s', async (_name, kind, message, method) => {
      await expectRefused(served, kind, message, method);
    });

    it('refuses a cors request from another site that carries no Origin (never sent by browsers)', async () => {
      const res = await request(served.server).get(TEST_PATH).set(fm('cross-site', 'cors', 'empty'));
      expectErrorBody(res, 403, 'FORBIDDEN_ORIGIN');
    });
  });

  describe('requireOrigin without allowedOrigins: same-origin browser calls only', () => {
    let served: Served;
    beforeAll(async () => {
      served = await countingApp({ requireOrigin: true });
    });
    afterAll(() => served.close());

    it('serves the app’s own fetch GET, which Chrome sends without Origin', async () => {
      await expectServed(served, 'ownFetchGet');
    });

    it('serves the app’s own fetch POST', async () => {
      await expectServed(served, 'ownFetchPost', 'POST');
    });

    it.each<[string, Kind, string]>([
      ['a request with neither Fetch Metadata nor Origin', 'server', NO_ORIGIN],
      ['an Origin without Fetch Metadata (nothing to vouch for it)', 'serverWithOtherOrigin', NOT_ALLOWED],
      ['a same-site page’s credentialed cors fetch', 'sameSiteCorsFetch', NOT_ALLOWED],
      ['a same-site page’s <img>', 'sameSiteImage', NOT_FETCH],
      ['an extension’s fetch (Sec-Fetch-Site: none, no Origin)', 'extensionFetch', NO_ORIGIN],
    ])('refuses %s', async (_name, kind, message) => {
      await expectRefused(served, kind, message);
    });
  });

  describe('requireOrigin with allowedOrigins', () => {
    let served: Served;
    beforeAll(async () => {
      served = await countingApp({ requireOrigin: true, allowedOrigins: [PARTNER], cors: true });
    });
    afterAll(() => served.close());

    it('serves the app’s own pages and the listed origin, with or without Fetch Metadata', async () => {
      await expectServed(served, 'ownFetchGet');
      await expectServed(served, 'ownFetchPost', 'POST');
      expect((await expectServed(served, 'partnerCorsFetch')).headers['access-control-allow-origin']).toBe(PARTNER);
      expect((await expectServed(served, 'serverWithPartnerOrigin')).headers['access-control-allow-origin']).toBe(PARTNER);
    });

    it('refuses a request without Origin or Fetch Metadata, and other origins', async () => {
      await expectRefused(served, 'server', NO_ORIGIN);
      await expectRefused(served, 'serverWithOtherOrigin', NOT_ALLOWED);
      await expectRefused(served, 'sameSiteCorsFetch', NOT_ALLOWED);
    });
  });

  describe('allowedOrigins as RegExps and a function, over HTTP', () => {
    it('serves origins an anchored RegExp matches, with CORS headers, and refuses others', async () => {
      const served = await countingApp({ allowedOrigins: [/^https:\/\/(?:partner|shop)\.example\.net$/], cors: true });
      try {
        expect((await expectServed(served, 'partnerCorsFetch')).headers['access-control-allow-origin']).toBe(PARTNER);
        await expectRefused(served, 'crossSiteCorsFetch', NOT_ALLOWED);
      } finally {
        await served.close();
      }
    });

    it('refuses, with no CORS headers, a site a wildcard covers only because a public suffix lies below its domain (*.amazonaws.com and a bucket at s3.amazonaws.com)', async () => {
      const logger = captureLogger();
      const served = await countingApp({ allowedOrigins: ['https://*.amazonaws.com'], cors: true, logger });
      try {
        const bucket = 'https://attacker-bucket.s3.amazonaws.com';
        const headers = { origin: bucket, 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'cors', 'sec-fetch-dest': 'empty' };
        const res = await request(served.server).post(TEST_PATH).set(headers).send({});
        expect(res.status).toBe(403);
        expect(res.body.error.code).toBe('FORBIDDEN_ORIGIN');
        expect(res.headers['access-control-allow-origin']).toBeUndefined();
        expect(served.resolved).toBe(0);
        const preflight = await request(served.server).options(TEST_PATH).set({ origin: bucket, 'access-control-request-method': 'POST' });
        expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
        expect(logger.text()).toContain('s3.amazonaws.com, a public suffix below amazonaws.com');
        // a host of Amazon's own registrable domain is still taken
        const own = await request(served.server).post(TEST_PATH).set({ ...headers, origin: 'https://console.amazonaws.com' }).send({});
        expect(own.status).toBe(200);
      } finally {
        await served.close();
      }
    });

    it('asks the function once per request that needs it, never caching its answer, and never for same-origin calls', async () => {
      const asked: string[] = [];
      let partnerActive = true;
      const served = await countingApp({
        allowedOrigins: async (origin) => {
          asked.push(origin);
          return partnerActive && origin === PARTNER;
        },
        cors: true,
      });
      try {
        expect((await expectServed(served, 'partnerCorsFetch')).headers['access-control-allow-origin']).toBe(PARTNER);
        await expectServed(served, 'ownFetchGet');
        await expectServed(served, 'server');
        partnerActive = false; // the tenant was removed: the next request must see it
        await expectRefused(served, 'partnerCorsFetch', NOT_ALLOWED);
        expect(asked).toEqual([PARTNER, PARTNER]);
      } finally {
        await served.close();
      }
    });

    it('gives no credentialed CORS to a plain http: origin a function allows while cors is on, and tells the logger once', async () => {
      const logger = captureLogger();
      const served = await countingApp({ allowedOrigins: () => true, cors: true, logger });
      try {
        for (let i = 0; i < 3; i++) {
          const res = await request(served.server).get(TEST_PATH).set(fm('cross-site', 'cors', 'empty', 'http://evil.example.com'));
          expectErrorBody(res, 403, 'FORBIDDEN_ORIGIN');
          expect(res.headers['access-control-allow-origin']).toBeUndefined();
        }
        const preflight = await request(served.server).options(TEST_PATH).set('Origin', 'http://evil.example.com').set('Access-Control-Request-Method', 'GET');
        expectErrorBody(preflight, 403, 'FORBIDDEN_ORIGIN');
        expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
        expect(served.resolved).toBe(0);
        const warnings = logger.events.filter((e) => e.msg?.startsWith('allowedOrigins allowed'));
        expect(warnings).toEqual([
          {
            level: 'warn',
            obj: { origin: 'http://evil.example.com', reason: 'is plain http: while cors is on' },
            msg: 'allowedOrigins allowed http://evil.example.com, which is plain http: while cors is on; the request was refused with 403 FORBIDDEN_ORIGIN (see docs/security.md#origins-and-cors)',
          },
        ]);
      } finally {
        await served.close();
      }
    });

    it.each([
      ['the null origin (sandboxed frames, file: pages)', 'null'],
      ['a public suffix', 'https://github.io'],
    ])('refuses %s even when the function allows it', async (_name, origin) => {
      const served = await countingApp({ allowedOrigins: () => true, cors: true });
      try {
        const res = await request(served.server).get(TEST_PATH).set(fm('cross-site', 'cors', 'empty', origin));
        expectErrorBody(res, 403, 'FORBIDDEN_ORIGIN');
        expect(served.resolved).toBe(0);
      } finally {
        await served.close();
      }
    });

    it('answers 500 INTERNAL_ERROR, with nothing of the error, when the function throws, and goes no further', async () => {
      const logger = captureLogger();
      const served = await countingApp({
        allowedOrigins: () => {
          throw new Error(`tenant lookup failed: ${PIPELINE_SECRET}`);
        },
        cors: true,
        logger,
      });
      try {
        const res = await send(served, 'partnerCorsFetch');
        expectErrorBody(res, 500, 'INTERNAL_ERROR');
        expect(res.body.error.message).toBe('Internal error.');
        expect({ resolved: served.resolved, counted: served.store.increments }).toEqual({ resolved: 0, counted: 0 });
        await new Promise((resolve) => setTimeout(resolve, 20));
        expectNoSecrets(logger.text(), [PIPELINE_SECRET]);
        expect(logger.text()).toContain('tenant lookup failed');
      } finally {
        await served.close();
      }
    });
  });
});

describe(`The reproduced attack on the Nevermined route (Express ${EXPRESS_MAJOR})`, () => {
  const ORG = 'org-fetch-metadata';
  const SECRET = 'wk_test_fetch_metadata_0123';
  const user: WidgetUser = { id: 'user-ada', email: 'ada@example.com' };
  let fake: FakeNevermined;
  let server: Server | undefined;

  const build = (options: Partial<NeverminedSessionRouterOptions>) =>
    neverminedSessionRouter({
      orgId: ORG,
      rawSecret: SECRET,
      apiBaseUrl: fake.url,
      // the browser's session cookie
      resolveUser: (req) => (req.headers.cookie === 'sid=ada' ? user : null),
      rateLimit: { windowMs: 60_000, limit: 2 },
      ...options,
    });

  beforeAll(async () => {
    fake = await startFakeNevermined({ orgs: { [ORG]: { secret: SECRET } } });
  });
  afterEach(async () => {
    if (server) await new Promise((resolve) => server!.close(resolve));
    server = undefined;
  });
  afterAll(async () => {
    await fake.close();
    expectNoSecrets(answers.join('\n'), [SECRET, ...fake.sessions.map((s) => s.session.sessionToken)]);
  });

  const attacks: Kind[] = ['sameSiteImage', 'sameSiteScript', 'sameSiteIframe', 'sameSiteNoCorsFetch', 'sameSiteCorsFetch', 'crossSiteImage', 'crossSiteNavigation', 'crossSiteCorsFetch'];

  it.each<[string, Partial<NeverminedSessionRouterOptions>]>([
    ['default options', {}],
    ['requireOrigin', { requireOrigin: true }],
    ['allowedOrigins and cors', { allowedOrigins: [PARTNER], cors: true }],
  ])('with %s, pages of other origins mint no session and do not lock the user out', async (_name, options) => {
    const app = await listen(buildApp(build(options)));
    server = app;
    fake.requests.length = 0;
    const issued = fake.sessions.length;
    for (const kind of attacks) {
      const res = await request(app).get('/api/widget-session').set('Cookie', 'sid=ada').set(SENT[kind]);
      answers.push(res.text);
      expect({ kind, status: res.status, code: res.body?.error?.code }).toEqual({ kind, status: 403, code: 'FORBIDDEN_ORIGIN' });
    }
    expect(fake.requests).toHaveLength(0);

    // the user's own page, after the attacks: the limit of 2 is still whole
    const own = [
      await request(app).get('/api/widget-session').set('Cookie', 'sid=ada').set(SENT.ownFetchGet),
      await request(app).post('/api/widget-session').set('Cookie', 'sid=ada').set(SENT.ownFetchPost).send({}),
    ];
    expect(own.map((r) => r.status)).toEqual([200, 200]);
    expect(fake.sessions.slice(issued).map((s) => s.session)).toEqual(own.map((r) => r.body));
    // and the limiter does count the user's own calls
    const third = await request(app).get('/api/widget-session').set('Cookie', 'sid=ada').set(SENT.ownFetchGet);
    expect(third.status).toBe(429);
    answers.push(third.text);
  });

  it.each<[string, unknown[], string]>([
    ['a wildcard over GitHub Pages', ['https://*.github.io'], 'allowedOrigins[0]: "https://*.github.io" covers every site under github.io, which is a public suffix'],
    ['a wildcard over Vercel', ['https://*.vercel.app'], 'allowedOrigins[0]: "https://*.vercel.app" covers every site under vercel.app, which is a public suffix'],
    ['a wildcard over co.uk', ['https://*.co.uk'], 'allowedOrigins[0]: "https://*.co.uk" covers every site under co.uk, which is a public suffix'],
    ['the exact origin github.io', ['https://github.io'], 'allowedOrigins[0]: "https://github.io" is a public suffix, not one site'],
    ['plain http: with cors', ['http://app.example.com'], 'allowedOrigins[0]: "http://app.example.com" is plain http: while cors is on'],
    ['a wildcard port with a leading zero', ['https://*.example.com:0443'], 'allowedOrigins[0]: "https://*.example.com:0443" port must be a whole number from 1 to 65535'],
    ['a wildcard port out of range', ['https://*.example.com:99999'], 'allowedOrigins[0]: "https://*.example.com:99999" port must be a whole number from 1 to 65535'],
    ['an unanchored RegExp', [/app\.example\.com/], 'allowedOrigins[0]: /app\\.example\\.com/ must be anchored'],
  ])('refuses %s at start-up, saying why', (_name, allowedOrigins, problem) => {
    let error: unknown;
    try {
      neverminedSessionRouter({ orgId: ORG, rawSecret: SECRET, apiBaseUrl: 'https://api.example.com', resolveUser: () => null, allowedOrigins: allowedOrigins as string[], cors: true });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(WidgetAuthConfigError);
    expect((error as WidgetAuthConfigError).problems).toEqual([expect.stringContaining(problem)]);
    expect((error as WidgetAuthConfigError).message).not.toContain(SECRET);
  });
});
