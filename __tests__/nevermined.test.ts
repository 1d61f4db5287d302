import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';
import request, { type Response } from 'supertest';
import {
  WidgetAuthConfigError,
  WidgetAuthError,
  createWidgetSession,
  neverminedConfigFromEnv,
  neverminedSessionRouter,
  type NeverminedSessionRouterOptions,
  type WidgetUser,
} from '../lib';
import { startFakeNevermined, type FakeNevermined, type Fault } from '../lib/testing';
import { EXPRESS_MAJOR, buildApp, captureLogger, expectNoSecrets, testResolveUser } from './helpers/app';

const ORG = 'org-acme';
const SECRET = 'wk_test_5f2c9a1e7b3d4c6f8a0b';
const GENERIC = {
  UPSTREAM_REJECTED: 'The widget vendor refused the request.',
  UPSTREAM_UNAVAILABLE: 'The widget vendor is unavailable; try again shortly.',
  UPSTREAM_TIMEOUT: 'The widget vendor did not answer in time; try again shortly.',
  UPSTREAM_INVALID_RESPONSE: 'The widget vendor sent an unexpected answer.',
} as const;

const VALID_SESSION = {
  sessionToken: 'nvm_ws_verbatim-token-0123456789',
  userId: 'did:privy:verbatim',
  userWallet: '0x00000000000000000000000000000000000000aa',
  apiKeyHash: 'f'.repeat(64),
  expiresAt: '2030-01-01T00:00:00.000Z',
};

async function errorOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

describe(`Nevermined (Express ${EXPRESS_MAJOR})`, () => {
  const logger = captureLogger();
  const errorTexts: string[] = [];
  let fake: FakeNevermined;
  let app: Express;

  const router = (options: Partial<NeverminedSessionRouterOptions> = {}) =>
    neverminedSessionRouter({ orgId: ORG, rawSecret: SECRET, apiBaseUrl: fake.url, resolveUser: testResolveUser, logger, ...options });

  /** Record every error answer so the file can check none of them leaks a secret or token. */
  const seen = (res: Response): Response => {
    if (res.status >= 400) errorTexts.push(res.text);
    return res;
  };

  beforeAll(async () => {
    fake = await startFakeNevermined({ orgs: { [ORG]: { secret: SECRET, allowedOrigins: ['https://app.example.com'] } } });
    app = buildApp(router());
  });
  afterAll(async () => {
    await fake.close();
    const tokens = fake.sessions.map((s) => s.session.sessionToken);
    expect(tokens.length).toBeGreaterThan(200);
    expectNoSecrets(logger.text(), [SECRET, ...tokens]);
    expectNoSecrets(errorTexts.join('\n'), [SECRET, ...tokens]);
  });
  beforeEach(() => {
    fake.clearFaults();
    fake.requests.length = 0;
  });

  describe('the request sent to Nevermined', () => {
    it('POSTs exactly { orgId, email, rawSecret } with the email trimmed and lower-cased and no credentials headers', async () => {
      const res = await request(app)
        .get('/api/widget-session')
        .set('x-test-user', 'ada')
        .set('Cookie', 'sid=browser-session')
        .set('Authorization', 'Bearer browser-token');
      expect(res.status).toBe(200);
      expect(fake.requests).toHaveLength(1);
      const sent = fake.requests[0]!;
      expect(sent.method).toBe('POST');
      expect(sent.path).toBe('/api/v1/widgets/session');
      expect(sent.headers['content-type']).toBe('application/json');
      expect(sent.headers['accept']).toBe('application/json');
      for (const header of ['authorization', 'cookie', 'x-api-key', 'origin']) expect(sent.headers[header]).toBeUndefined();
      expect(Object.keys(sent.json as object).sort()).toEqual(['email', 'orgId', 'rawSecret']);
      expect(sent.json).toEqual({ orgId: ORG, email: 'ada@example.com', rawSecret: SECRET });
    });

    it('appends the API path to a base URL given with a trailing slash', async () => {
      const slashed = buildApp(router({ apiBaseUrl: `${fake.url}/` }));
      const res = await request(slashed).post('/api/widget-session').set('x-test-user', 'bob');
      expect(res.status).toBe(200);
      expect(fake.requests[0]!.path).toBe('/api/v1/widgets/session');
    });
  });

  describe('success', () => {
    it.each(['get', 'post'] as const)('answers %s with the session the vendor issued', async (method) => {
      const res = await request(app)[method]('/api/widget-session').set('x-test-user', 'bob');
      expect(res.status).toBe(200);
      const issued = fake.sessions.at(-1)!;
      expect(res.body).toEqual(issued.session);
      expect(issued.email).toBe('bob@example.com');
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['content-type']).toMatch(/^application\/json/);
    });

    it('forwards the session verbatim: same keys, same order, extra fields kept', async () => {
      const { expiresAt, ...rest } = VALID_SESSION;
      const body = { expiresAt, plan: { tier: 'pro', seats: 3 }, ...rest, environment: 'sandbox' };
      fake.fault({ kind: 'status', status: 200, body }, { times: 1 });
      const res = await request(app).get('/api/widget-session').set('x-test-user', 'ada');
      expect(res.status).toBe(200);
      expect(res.text).toBe(JSON.stringify(body));
    });

    it('accepts a POST with a JSON body and ignores it', async () => {
      const res = await request(app).post('/api/widget-session').set('x-test-user', 'ada').send({ email: 'someone-else@example.com' });
      expect(res.status).toBe(200);
      expect((fake.requests[0]!.json as { email: string }).email).toBe('ada@example.com');
    });

    it('logs one event with the time spent on the vendor', async () => {
      const before = logger.events.length;
      await request(app).get('/api/widget-session').set('x-test-user', 'ada');
      const event = logger.events[before]!;
      expect(event.level).toBe('info');
      expect(event.obj).toMatchObject({ vendor: 'nevermined', route: '/api/widget-session', status: 200 });
      expect((event.obj as { upstreamMs: number }).upstreamMs).toBeGreaterThan(0);
    });
  });

  describe('users', () => {
    it('answers 401 UNAUTHORIZED in the vendor shape when nobody is signed in, without calling the vendor', async () => {
      const res = seen(await request(app).get('/api/widget-session'));
      expect(res.status).toBe(401);
      expect(res.body).toEqual({ error: { code: 'UNAUTHORIZED', message: expect.any(String) } });
      expect(fake.requests).toHaveLength(0);
    });

    it.each([
      ['no email', { id: 'u-1' }],
      ['a blank email', { id: 'u-2', email: '   ' }],
    ])('answers 401 UNAUTHORIZED when the user has %s', async (_name, user: WidgetUser) => {
      const noEmail = buildApp(router({ resolveUser: () => user }));
      const res = seen(await request(noEmail).post('/api/widget-session'));
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('UNAUTHORIZED');
      expect(res.body.error.message).toMatch(/email/);
      expect(fake.requests).toHaveLength(0);
    });

    it('answers 500 INTERNAL_ERROR when the user record holds something that is not an email', async () => {
      const broken = buildApp(router({ resolveUser: () => ({ id: 'u-3', email: 'not an email' }) }));
      const res = seen(await request(broken).get('/api/widget-session'));
      expect(res.status).toBe(500);
      expect(res.body).toEqual({ error: { code: 'INTERNAL_ERROR', message: 'Internal error.' } });
      expect(fake.requests).toHaveLength(0);
    });

    it('never names two addresses as one user: a non-ASCII letter that lower-cases to another, or white space other than ASCII around it, is 500', async () => {
      const as = (email: string) => buildApp(router({ resolveUser: () => ({ id: 'u-4', email }) }));
      // the Kelvin sign lower-cases to k; String.trim strips U+3000 and U+FEFF
      for (const email of ['\u212Aelly@example.com', 'kelly@example.com\u3000', '\ufeffkelly@example.com']) {
        const res = seen(await request(as(email)).get('/api/widget-session'));
        expect([JSON.stringify(email), res.status, res.body.error?.code]).toEqual([JSON.stringify(email), 500, 'INTERNAL_ERROR']);
      }
      expect(fake.requests).toHaveLength(0);
      const own = seen(await request(as(' KELLY@Example.com\t')).get('/api/widget-session'));
      expect(own.status).toBe(200);
      expect(fake.requests.map((r) => (r.json as { email: string }).email)).toEqual(['kelly@example.com']);
    });
  });

  describe('vendor failures', () => {
    it('answers a vendor 401 (our credentials refused) with 502 UPSTREAM_REJECTED, never 401, and logs the vendor code', async () => {
      const wrongSecret = buildApp(router({ rawSecret: 'wk_test_not-the-right-one' }));
      const before = logger.events.length;
      const res = seen(await request(wrongSecret).get('/api/widget-session').set('x-test-user', 'ada'));
      expect(res.status).toBe(502);
      const { correlationId } = fake.errors.at(-1)!;
      expect(fake.errors.at(-1)).toMatchObject({ status: 401, code: 'BCK.WIDGET_SESSION.0001' });
      expect(res.body).toEqual({ error: { code: 'UPSTREAM_REJECTED', message: GENERIC.UPSTREAM_REJECTED, correlationId } });
      const event = logger.events[before]!.obj as Record<string, unknown>;
      expect(event).toMatchObject({ status: 502, code: 'UPSTREAM_REJECTED', vendorCode: 'BCK.WIDGET_SESSION.0001', correlationId, upstreamStatus: 401 });
      expect(res.text).not.toContain('BCK.WIDGET_SESSION');
      expectNoSecrets(res.text, ['wk_test_not-the-right-one']);
    });

    it('answers an unknown organization with 502 UPSTREAM_REJECTED', async () => {
      const unknownOrg = buildApp(router({ orgId: 'org-nobody' }));
      const res = seen(await request(unknownOrg).get('/api/widget-session').set('x-test-user', 'ada'));
      expect(res.status).toBe(502);
      expect(res.body.error.code).toBe('UPSTREAM_REJECTED');
    });

    const vendorError = (status: number, code: string, correlationId: string): Fault => ({
      kind: 'status',
      status,
      body: { code, message: `vendor says no (${SECRET.slice(0, 3)})`, correlationId },
      headers: { 'x-correlation-id': correlationId },
    });

    it.each<[string, number, keyof typeof GENERIC, string | undefined, Fault]>([
      ['400 email missing', 502, 'UPSTREAM_REJECTED', 'corr-400', vendorError(400, 'BCK.WIDGET_SESSION.0013', 'corr-400')],
      ['403 origin not allowed', 502, 'UPSTREAM_REJECTED', 'corr-403', vendorError(403, 'BCK.WIDGET_SESSION.0012', 'corr-403')],
      ['404', 502, 'UPSTREAM_REJECTED', 'corr-404', vendorError(404, 'BCK.NOT_FOUND', 'corr-404')],
      ['500', 502, 'UPSTREAM_UNAVAILABLE', 'corr-500', vendorError(500, 'BCK.INTERNAL', 'corr-500')],
      ['502', 502, 'UPSTREAM_UNAVAILABLE', 'corr-502', vendorError(502, 'BCK.GATEWAY', 'corr-502')],
      ['503', 502, 'UPSTREAM_UNAVAILABLE', 'corr-503', { kind: 'status', status: 503, body: 'Service Unavailable', headers: { 'x-correlation-id': 'corr-503' } }],
      ['504', 502, 'UPSTREAM_UNAVAILABLE', 'corr-504', vendorError(504, 'BCK.GATEWAY_TIMEOUT', 'corr-504')],
      ['a connection reset', 502, 'UPSTREAM_UNAVAILABLE', undefined, { kind: 'reset' }],
      ['a 200 that is not JSON', 502, 'UPSTREAM_INVALID_RESPONSE', 'corr-malformed', { kind: 'status', status: 200, body: '{"sessionToken": "trunc', headers: { 'Content-Type': 'application/json', 'x-correlation-id': 'corr-malformed' } }],
      ['a 200 without expiresAt', 502, 'UPSTREAM_INVALID_RESPONSE', 'corr-shape', { kind: 'status', status: 200, body: { ...VALID_SESSION, expiresAt: undefined }, headers: { 'x-correlation-id': 'corr-shape' } }],
      ['a 200 whose expiresAt is not a timestamp', 502, 'UPSTREAM_INVALID_RESPONSE', 'corr-date', { kind: 'status', status: 200, body: { ...VALID_SESSION, expiresAt: 'tomorrow' }, headers: { 'x-correlation-id': 'corr-date' } }],
      ['the malformed fault', 502, 'UPSTREAM_INVALID_RESPONSE', undefined, { kind: 'malformed' }],
      ['the wrong-shape fault', 502, 'UPSTREAM_INVALID_RESPONSE', undefined, { kind: 'wrong-shape' }],
      // an extra field is relayed as it is: written out, 200,000 levels overflowed the stack (500)
      ['a 200 whose extra field nests 200,000 arrays', 502, 'UPSTREAM_INVALID_RESPONSE', 'corr-deep', { kind: 'status', status: 200, body: JSON.stringify(VALID_SESSION).replace(/}$/, `,"extra":${'['.repeat(200_000)}${']'.repeat(200_000)}}`), headers: { 'Content-Type': 'application/json', 'x-correlation-id': 'corr-deep' } }],
    ])('maps %s to %i %s, with the correlation id when the vendor sent one', async (_name, status, code, correlationId, fault) => {
      fake.fault(fault);
      const res = seen(await request(app).get('/api/widget-session').set('x-test-user', 'ada'));
      expect(res.status).toBe(status);
      expect(res.body).toEqual({ error: { code, message: GENERIC[code], ...(correlationId ? { correlationId } : {}) } });
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.text).not.toContain('vendor says no');
      const event = logger.events.at(-1)!.obj as Record<string, unknown>;
      expect(event).toMatchObject({ status, code });
      expect(event['correlationId']).toBe(correlationId);
    });

    it('answers a vendor 429 with 503 UPSTREAM_UNAVAILABLE and the vendor Retry-After', async () => {
      fake.fault({ kind: 'status', status: 429, body: { code: 'BCK.THROTTLED', correlationId: 'corr-429' }, headers: { 'Retry-After': '9' } });
      const res = seen(await request(app).get('/api/widget-session').set('x-test-user', 'ada'));
      expect(res.status).toBe(503);
      expect(res.headers['retry-after']).toBe('9');
      expect(res.body).toEqual({ error: { code: 'UPSTREAM_UNAVAILABLE', message: GENERIC.UPSTREAM_UNAVAILABLE, correlationId: 'corr-429' } });
      expect(fake.requests).toHaveLength(1);
    });

    it('retries one 503 and then answers 200', async () => {
      fake.fault({ kind: 'status', status: 503 }, { times: 1 });
      const res = await request(app).get('/api/widget-session').set('x-test-user', 'ada');
      expect(res.status).toBe(200);
      expect(res.body.sessionToken).toBe(fake.sessions.at(-1)!.session.sessionToken);
      expect(fake.requests).toHaveLength(2);
    });

    it('answers 504 UPSTREAM_TIMEOUT within the timeout plus 1 s', async () => {
      const impatient = buildApp(router({ timeoutMs: 300 }));
      fake.fault({ kind: 'latency', ms: 2000 });
      const started = performance.now();
      const res = seen(await request(impatient).get('/api/widget-session').set('x-test-user', 'ada'));
      expect(performance.now() - started).toBeLessThan(1300);
      expect(res.status).toBe(504);
      expect(res.body).toEqual({ error: { code: 'UPSTREAM_TIMEOUT', message: GENERIC.UPSTREAM_TIMEOUT } });
      expect(fake.requests).toHaveLength(1);
    });
  });

  it('answers 405 METHOD_NOT_ALLOWED with Allow for other methods', async () => {
    for (const method of ['put', 'delete', 'patch'] as const) {
      const res = seen(await request(app)[method]('/api/widget-session').set('x-test-user', 'ada'));
      expect(res.status).toBe(405);
      expect(res.headers['allow']).toBe('GET, POST');
      expect(res.body.error.code).toBe('METHOD_NOT_ALLOWED');
    }
    expect(fake.requests).toHaveLength(0);
  });

  it('serves 200 concurrent requests over a handful of reused vendor connections', async () => {
    const own = await startFakeNevermined({ orgs: { [ORG]: { secret: SECRET } } });
    const server = createServer(buildApp(router({ apiBaseUrl: own.url })));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const statuses = await Promise.all(
        Array.from({ length: 200 }, (_, i) =>
          fetch(`${base}/api/widget-session`, { method: i % 2 ? 'POST' : 'GET', headers: { 'x-test-user': i % 3 ? 'ada' : 'bob' } }).then(async (r) => {
            await r.arrayBuffer();
            return r.status;
          }),
        ),
      );
      expect(statuses.filter((s) => s !== 200)).toEqual([]);
      expect(own.sessions).toHaveLength(200);
      expect(own.connections).toBeLessThanOrEqual(16);
      fake.sessions.push(...own.sessions);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await own.close();
    }
  });

  describe('configuration', () => {
    it('reports every problem at once without echoing the secret', () => {
      const secret = 'wk_tiny';
      const err = (() => {
        try {
          neverminedSessionRouter({ orgId: '', rawSecret: secret, apiBaseUrl: 'http://api.nevermined.example', resolveUser: 'nope' as never, timeoutMs: 0, rawSecert: 'x' } as never);
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect(err).toBeInstanceOf(WidgetAuthConfigError);
      const problems = (err as WidgetAuthConfigError).problems;
      expect(problems).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/^orgId: must not be empty/),
          expect.stringMatching(/^rawSecret: must be at least 12 characters/),
          expect.stringMatching(/^apiBaseUrl: must use https:/),
          expect.stringMatching(/^resolveUser: must be a function/),
          expect.stringMatching(/^timeoutMs: must be positive/),
          expect.stringMatching(/^rawSecert: unknown option \(did you mean `rawSecret`\?\)/),
        ]),
      );
      expect((err as Error).message).not.toContain(secret);
    });

    it('tells a function given as its options apart: neverminedSessionRouter itself (mounted uncalled), or resolveUser alone', () => {
      expect(() => neverminedSessionRouter(neverminedSessionRouter as never)).toThrow(/did you write `app.use\(neverminedSessionRouter\)`/);
      expect(() => neverminedSessionRouter((() => undefined) as never)).toThrow(/resolveUser goes inside the options: neverminedSessionRouter\(\{ …, resolveUser \}\)/);
    });

    it('reads NVM_ORG_ID, NVM_WIDGET_KEY_SECRET and NVM_API_BASE_URL', () => {
      expect(neverminedConfigFromEnv({ NVM_ORG_ID: ORG, NVM_WIDGET_KEY_SECRET: SECRET, NVM_API_BASE_URL: 'https://api.sandbox.nevermined.app/' })).toEqual({
        orgId: ORG,
        rawSecret: SECRET,
        apiBaseUrl: 'https://api.sandbox.nevermined.app',
      });
    });

    it('lists every missing variable at once', () => {
      const err = errorOfSync(() => neverminedConfigFromEnv({ NVM_ORG_ID: '  ' }));
      expect(err).toBeInstanceOf(WidgetAuthConfigError);
      expect((err as WidgetAuthConfigError).problems).toEqual(['NVM_ORG_ID: is not set', 'NVM_WIDGET_KEY_SECRET: is not set', 'NVM_API_BASE_URL: is not set']);
    });

    it('lists every invalid variable at once without echoing the secret', () => {
      const secret = 'wk_short';
      const err = errorOfSync(() => neverminedConfigFromEnv({ NVM_ORG_ID: ORG, NVM_WIDGET_KEY_SECRET: secret, NVM_API_BASE_URL: 'http://api.sandbox.nevermined.app' }));
      const problems = (err as WidgetAuthConfigError).problems;
      expect(problems).toHaveLength(2);
      expect(problems[0]).toMatch(/^NVM_WIDGET_KEY_SECRET: must be at least 12 characters/);
      expect(problems[1]).toMatch(/^NVM_API_BASE_URL: must use https:/);
      expect((err as Error).message).not.toContain(secret);
    });

    it('builds a working router from the environment', async () => {
      const fromEnv = buildApp(
        neverminedSessionRouter({
          ...neverminedConfigFromEnv({ NVM_ORG_ID: ORG, NVM_WIDGET_KEY_SECRET: SECRET, NVM_API_BASE_URL: fake.url }),
          resolveUser: testResolveUser,
          logger,
        }),
      );
      const res = await request(fromEnv).get('/api/widget-session').set('x-test-user', 'ada');
      expect(res.status).toBe(200);
      expect(res.body.sessionToken).toBe(fake.sessions.at(-1)!.session.sessionToken);
    });
  });

  describe('createWidgetSession', () => {
    const options = () => ({ orgId: ORG, rawSecret: SECRET, apiBaseUrl: fake.url });

    it('mints a session for a trimmed, lower-cased email', async () => {
      const session = await createWidgetSession({ ...options(), email: '  Grace@Example.ORG ' });
      expect(session).toEqual(fake.sessions.at(-1)!.session);
      expect(fake.requests[0]!.json).toEqual({ orgId: ORG, email: 'grace@example.org', rawSecret: SECRET });
      expect(fake.requests[0]!.headers['authorization']).toBeUndefined();
    });

    it.each([
      ['missing', undefined, /email is required/],
      ['empty', '   ', /email must not be empty/],
      ['not an address', 'grace', /email must be an email address/],
      ['not a string', 42, /email must be a string/],
    ])('refuses an email that is %s with INVALID_REQUEST naming email, before any call', async (_name, email, message) => {
      const err = await errorOf(createWidgetSession({ ...options(), email: email as string }));
      expect(err).toBeInstanceOf(WidgetAuthError);
      expect((err as WidgetAuthError).code).toBe('INVALID_REQUEST');
      expect((err as WidgetAuthError).field).toBe('email');
      expect((err as Error).message).toMatch(message);
      expect(fake.requests).toHaveLength(0);
    });

    it('rejects with UPSTREAM_REJECTED carrying the vendor code and correlation id', async () => {
      const err = (await errorOf(createWidgetSession({ ...options(), rawSecret: 'wk_test_21ebfebf7aa01e0e30', email: 'grace@example.org' }))) as WidgetAuthError;
      expect(err.code).toBe('UPSTREAM_REJECTED');
      expect(err.vendorCode).toBe('BCK.WIDGET_SESSION.0001');
      expect(err.correlationId).toBe(fake.errors.at(-1)!.correlationId);
      expect(err.message).not.toContain('wk_test_21ebfebf7aa01e0e30');
    });

    it('refuses bad options with a WidgetAuthConfigError', async () => {
      const err = await errorOf(createWidgetSession({ ...options(), apiBaseUrl: 'http://api.nevermined.example', email: 'grace@example.org' }));
      expect(err).toBeInstanceOf(WidgetAuthConfigError);
      expect((err as WidgetAuthConfigError).problems).toEqual([expect.stringMatching(/^apiBaseUrl: must use https:/)]);
      const unknown = await errorOf(createWidgetSession({ ...options(), email: 'grace@example.org', retries: 3 } as never));
      expect((unknown as WidgetAuthConfigError).problems).toEqual(['retries: unknown option']);
      expect(fake.requests).toHaveLength(0);
    });

    it('uses the given fetch and timeoutMs', async () => {
      let calls = 0;
      const counting: typeof fetch = (input, init) => {
        calls++;
        return fetch(input, init);
      };
      await createWidgetSession({ ...options(), email: 'grace@example.org', fetch: counting });
      expect(calls).toBe(1);
      fake.fault({ kind: 'latency', ms: 2000 });
      const started = performance.now();
      const err = (await errorOf(createWidgetSession({ ...options(), email: 'grace@example.org', fetch: counting, timeoutMs: 300 }))) as WidgetAuthError;
      expect(err.code).toBe('UPSTREAM_TIMEOUT');
      expect(performance.now() - started).toBeLessThan(1300);
      expect(calls).toBe(2);
    });

    it('shares connections across calls with the same options', async () => {
      const own = await startFakeNevermined({ orgs: { [ORG]: { secret: SECRET } } });
      try {
        await Promise.all(Array.from({ length: 60 }, (_, i) => createWidgetSession({ orgId: ORG, rawSecret: SECRET, apiBaseUrl: own.url, email: `user${i}@example.com` })));
        expect(own.sessions).toHaveLength(60);
        expect(own.connections).toBeLessThanOrEqual(16);
        fake.sessions.push(...own.sessions);
      } finally {
        await own.close();
      }
    });
  });
});

function errorOfSync(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}
