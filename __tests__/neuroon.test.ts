import request from 'supertest';
import {
  NeuroonTokenProvider,
  WidgetAuthConfigError,
  WidgetAuthError,
  neuroonTokenRouter,
  neuroonWidgetToken,
  renderNeuroonScriptTag,
  type NeuroonTokenRouterOptions,
} from '../lib';
import { startFakeNeuroon, type FakeNeuroon } from '../lib/testing';
import { EXPRESS_MAJOR, buildApp, captureLogger, expectNoSecrets, testResolveUser } from './helpers/app';

const SHOP = 'shop_abc';
const API_KEY = 'nk_live_d6ca8aa86c4616a4b7a920d2';
const T0 = Date.parse('2025-03-01T08:00:00Z');

describe(`Neuroon router and middleware (Express ${EXPRESS_MAJOR})`, () => {
  let now = T0;
  const clock = () => now;
  let fake: FakeNeuroon;
  const logger = captureLogger();
  const tokens = new Set<string>();

  beforeAll(async () => {
    fake = await startFakeNeuroon({ shops: { [SHOP]: { apiKey: API_KEY, allowedOrigins: ['https://shop.example.com'] } }, now: clock });
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

  const routerOptions = (overrides: Partial<NeuroonTokenRouterOptions> = {}): NeuroonTokenRouterOptions => ({
    shopId: SHOP,
    apiKey: API_KEY,
    apiBaseUrl: fake.url,
    clock,
    retries: 0,
    logger,
    ...overrides,
  });

  it('answers GET with exactly { token } and serves later requests from the cache', async () => {
    const app = buildApp(neuroonTokenRouter(routerOptions()));
    const res = await request(app).get('/api/neuroon-widget-token');
    expect(res.status).toBe(200);
    expect(Object.keys(res.body)).toEqual(['token']);
    expect(typeof res.body.token).toBe('string');
    tokens.add(res.body.token);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['content-type']).toMatch(/^application\/json/);

    const again = await request(app).get('/api/neuroon-widget-token');
    expect(again.body).toEqual({ token: res.body.token });
    expect(fake.issueRequests()).toHaveLength(1);
  });

  it('serves a token the widget API accepts, from an allowed origin only', async () => {
    const app = buildApp(neuroonTokenRouter(routerOptions()));
    const { body } = await request(app).get('/api/neuroon-widget-token');
    tokens.add(body.token);
    const ok = await fetch(`${fake.url}/api/widget/ping`, { headers: { 'X-Widget-Token': body.token, Origin: 'https://shop.example.com' } });
    expect(ok.status).toBe(200);
    const mismatch = await fetch(`${fake.url}/api/widget/ping`, { headers: { 'X-Widget-Token': body.token, Origin: 'https://other.example.com' } });
    expect(mismatch.status).toBe(403);
    const tampered = await fetch(`${fake.url}/api/widget/ping`, { headers: { 'X-Widget-Token': `${body.token.slice(0, -4)}AAAA` } });
    expect(tampered.status).toBe(401);
  });

  it('requires a signed-in user when resolveUser is given', async () => {
    const app = buildApp(neuroonTokenRouter(routerOptions({ resolveUser: testResolveUser })));
    const anonymous = await request(app).get('/api/neuroon-widget-token');
    expect(anonymous.status).toBe(401);
    expect(anonymous.body).toEqual({ error: { code: 'UNAUTHORIZED', message: expect.any(String) } });
    expect(fake.issueRequests()).toHaveLength(0);
    const signedIn = await request(app).get('/api/neuroon-widget-token').set('x-test-user', 'ada');
    expect(signedIn.status).toBe(200);
    tokens.add(signedIn.body.token);
  });

  it.each([
    ['a 503', { kind: 'status', status: 503, body: { status: 503, error: 'Service Unavailable' } }, 502, 'UPSTREAM_UNAVAILABLE'],
    ['a reset connection', { kind: 'reset' }, 502, 'UPSTREAM_UNAVAILABLE'],
    ['a 401 (our API key refused)', { kind: 'status', status: 401, body: { status: 401, error: 'Unauthorized' } }, 502, 'UPSTREAM_REJECTED'],
    ['a body of the wrong shape', { kind: 'wrong-shape' }, 502, 'UPSTREAM_INVALID_RESPONSE'],
    ['no answer in time', { kind: 'latency', ms: 300 }, 504, 'UPSTREAM_TIMEOUT'],
  ] as const)('shapes %s from Neuroon as %i %s', async (_name, fault, status, code) => {
    const app = buildApp(neuroonTokenRouter(routerOptions({ timeoutMs: 100 })));
    fake.fault(fault, { times: 1 });
    const res = await request(app).get('/api/neuroon-widget-token');
    expect(res.status).toBe(status);
    expect(res.body).toEqual({ error: { code, message: expect.any(String) } });
    expect(res.text).not.toContain(API_KEY);
    expect(res.headers['cache-control']).toBe('no-store');
  });

  it('answers 503 with Retry-After while Neuroon rate limits this server', async () => {
    const app = buildApp(neuroonTokenRouter(routerOptions()));
    fake.fault({ kind: 'status', status: 429, body: {}, headers: { 'Retry-After': '90' } }, { times: 1 });
    const first = await request(app).get('/api/neuroon-widget-token');
    expect(first.status).toBe(503);
    expect(first.body.error.code).toBe('UPSTREAM_UNAVAILABLE');
    expect(first.headers['retry-after']).toBe('90');
    now += 30_000;
    const second = await request(app).get('/api/neuroon-widget-token');
    expect(second.status).toBe(503);
    expect(second.headers['retry-after']).toBe('60');
    expect(fake.issueRequests()).toHaveLength(1);
  });

  it('answers 405 METHOD_NOT_ALLOWED with Allow: GET to other methods', async () => {
    const app = buildApp(neuroonTokenRouter(routerOptions()));
    const res = await request(app).post('/api/neuroon-widget-token').send({});
    expect(res.status).toBe(405);
    expect(res.headers['allow']).toBe('GET');
    expect(res.body.error.code).toBe('METHOD_NOT_ALLOWED');
  });

  it('shares one provider between the router and the page middleware', async () => {
    const provider = new NeuroonTokenProvider({ shopId: SHOP, apiKey: API_KEY, apiBaseUrl: fake.url, clock });
    const app = buildApp(neuroonTokenRouter({ provider, path: '/neuroon/token' }), (host) => {
      host.get('/search', neuroonWidgetToken(provider), (_req, res) => {
        res.send(`<div id="neuroon-search"></div>${renderNeuroonScriptTag({ token: res.locals['neuroonWidgetToken'] })}`);
      });
    });
    const page = await request(app).get('/search');
    expect(page.status).toBe(200);
    const api = await request(app).get('/neuroon/token');
    expect(api.status).toBe(200);
    tokens.add(api.body.token);
    expect(page.text).toContain(`data-token="${api.body.token}"`);
    expect(fake.issueRequests()).toHaveLength(1);
  });

  it('middleware built from options sets res.locals.neuroonWidgetToken, and hands failures to the host with next(err)', async () => {
    const app = buildApp(neuroonWidgetToken({ shopId: SHOP, apiKey: API_KEY, apiBaseUrl: fake.url, clock, retries: 0 }));
    app.get('/page', (_req, res) => {
      res.json({ token: res.locals['neuroonWidgetToken'] });
    });
    fake.fault({ kind: 'status', status: 500, body: {} }, { times: 1 });
    const failed = await request(app).get('/page');
    expect(failed.status).toBe(599);
    expect(failed.body).toEqual({ hostHandled: true, message: expect.any(String) });
    expect(failed.text).not.toContain(API_KEY);

    const ok = await request(app).get('/page');
    expect(ok.status).toBe(200);
    expect(typeof ok.body.token).toBe('string');
    tokens.add(ok.body.token);
  });

  it('passes a WidgetAuthError with its code to the host error handler', async () => {
    const errors: unknown[] = [];
    const provider = new NeuroonTokenProvider({ shopId: SHOP, apiKey: API_KEY, apiBaseUrl: fake.url, clock, retries: 0 });
    const app = buildApp(neuroonWidgetToken(provider), (host) => {
      host.get('/page', neuroonWidgetToken(provider), (_req, res) => {
        res.send('ok');
      });
      host.use(((err, _req, res, _next) => {
        errors.push(err);
        res.status(200).send('page without the widget');
      }) as import('express').ErrorRequestHandler);
    });
    fake.fault({ kind: 'status', status: 503, body: {} }, { times: 1 });
    const res = await request(app).get('/page');
    expect(res.status).toBe(200);
    expect(res.text).toBe('page without the widget');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(WidgetAuthError);
    expect((errors[0] as WidgetAuthError).code).toBe('UPSTREAM_UNAVAILABLE');
  });

  it('catches misuse at construction: no credentials, both provider and credentials, app.use without the call', () => {
    const provider = new NeuroonTokenProvider({ shopId: SHOP, apiKey: API_KEY });
    let error: unknown;
    try {
      neuroonTokenRouter({ alowedOrigins: [] } as never);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(WidgetAuthConfigError);
    expect((error as WidgetAuthConfigError).problems).toEqual([
      'alowedOrigins: unknown option (did you mean `allowedOrigins`?)',
      'shopId: is required (or pass a provider)',
      'apiKey: is required (or pass a provider)',
    ]);
    expect(() => neuroonTokenRouter({ provider, apiKey: API_KEY })).toThrow(/apiKey: cannot be combined with provider/);
    expect(() => neuroonTokenRouter({ provider, apiKey: API_KEY })).not.toThrow(new RegExp(API_KEY));
    expect(() => neuroonTokenRouter(neuroonTokenRouter as never)).toThrow(/did you write `app.use\(neuroonTokenRouter\)`/);
    expect(() => neuroonWidgetToken(neuroonWidgetToken as never)).toThrow(/did you write `app.use\(neuroonWidgetToken\)`/);
    expect(() => neuroonWidgetToken({ shopId: SHOP } as never)).toThrow(/apiKey: is required/);
  });
});
