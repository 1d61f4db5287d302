import express from 'express';
import { MemoryStore, type Store } from 'express-rate-limit';
import request, { type Response } from 'supertest';
import { WidgetAuthConfigError, WidgetAuthError, hissunoTokenRouter } from '../lib';
import { JsonText } from '../lib/core/pipeline';
import { EXPRESS_MAJOR, USERS, buildApp, captureLogger, expectNoSecrets, testResolveUser } from './helpers/app';
import {
  PIPELINE_SECRET,
  TEST_PATH,
  expectErrorBody,
  expectWidgetHeaders,
  testApp,
  testRouter,
  waitForEvents,
} from './helpers/pipeline';

const HISSUNO_SECRET = 'sk_live_QZuX5SQetHGPBzyu36v7JVQdFkEmSuoH';
const USERS_BOB_ID = USERS['bob']!.id;

describe(`shared pipeline (Express ${EXPRESS_MAJOR})`, () => {
  describe('response headers', () => {
    it('marks a success answer no-store, nosniff and JSON', async () => {
      const res = await request(testApp()).get(TEST_PATH).set('x-test-user', 'ada');
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ user: 'user-ada', body: {} });
      expectWidgetHeaders(res);
    });

    const failures: [string, number, string, () => Promise<Response>][] = [
      ['nobody signed in', 401, 'UNAUTHORIZED', () => request(testApp({ requireUser: true })).get(TEST_PATH)],
      ['a wrong method', 405, 'METHOD_NOT_ALLOWED', () => request(testApp()).delete(TEST_PATH)],
      [
        'a refused origin',
        403,
        'FORBIDDEN_ORIGIN',
        () => request(testApp({ allowedOrigins: ['https://app.example.com'] })).get(TEST_PATH).set('Origin', 'https://evil.test'),
      ],
      ['malformed JSON', 400, 'INVALID_REQUEST', () => request(testApp()).post(TEST_PATH).set('Content-Type', 'application/json').send('{"a":')],
      ['a wrong content type', 415, 'UNSUPPORTED_MEDIA_TYPE', () => request(testApp()).post(TEST_PATH).set('Content-Type', 'text/plain').send('hi')],
      ['an oversized body', 413, 'PAYLOAD_TOO_LARGE', () => request(testApp()).post(TEST_PATH).send({ pad: 'x'.repeat(9000) })],
      [
        'the rate limit',
        429,
        'RATE_LIMITED',
        async () => {
          const app = testApp({ rateLimit: { windowMs: 60_000, limit: 1 } });
          await request(app).get(TEST_PATH);
          return request(app).get(TEST_PATH);
        },
      ],
      [
        'an unexpected handler error',
        500,
        'INTERNAL_ERROR',
        () =>
          request(
            testApp({
              handle: () => {
                throw new Error('boom');
              },
            }),
          ).get(TEST_PATH),
      ],
      [
        'a vendor failure',
        502,
        'UPSTREAM_UNAVAILABLE',
        () =>
          request(
            testApp({
              handle: () => {
                throw new WidgetAuthError('UPSTREAM_UNAVAILABLE', 'vendor down', { correlationId: 'corr-1' });
              },
            }),
          ).get(TEST_PATH),
      ],
    ];

    it.each(failures)('marks the error answer for %s no-store, nosniff and JSON', async (_name, status, code, send) => {
      const res = await send();
      expectErrorBody(res, status, code);
      expectWidgetHeaders(res);
    });

    it('sends Vary: Origin when origin rules apply, on success and on error', async () => {
      const app = testApp({ allowedOrigins: ['https://app.example.com'], requireUser: true });
      const ok = await request(app).get(TEST_PATH).set('x-test-user', 'ada').set('Origin', 'https://app.example.com');
      expect(ok.status).toBe(200);
      expect(ok.headers['vary']).toMatch(/\bOrigin\b/);
      const refused = await request(app).get(TEST_PATH).set('Origin', 'https://other.example.com');
      expectErrorBody(refused, 403, 'FORBIDDEN_ORIGIN');
      expect(refused.headers['vary']).toMatch(/\bOrigin\b/);
      const anonymous = await request(app).get(TEST_PATH);
      expectErrorBody(anonymous, 401, 'UNAUTHORIZED');
      expect(anonymous.headers['vary']).toMatch(/\bOrigin\b/);
    });

    it('adds Origin to a Vary header the host already set', async () => {
      const app = testApp({ allowedOrigins: ['https://app.example.com'] }, (host) =>
        host.use((_req, res, next) => {
          res.setHeader('Vary', 'Accept-Encoding');
          next();
        }),
      );
      const res = await request(app).get(TEST_PATH);
      expect(res.status).toBe(200);
      expect(res.headers['vary']).toBe('Accept-Encoding, Origin');
    });

    it('sends no Vary header when no origin rule applies', async () => {
      const res = await request(testApp()).get(TEST_PATH).set('Origin', 'https://anything.test');
      expect(res.status).toBe(200);
      expect(res.headers['vary']).toBeUndefined();
    });
  });

  describe('methods', () => {
    const app = testApp();

    it.each(['delete', 'put', 'patch', 'options'] as const)('answers %s with 405 and Allow', async (method) => {
      const res = await request(app)[method](TEST_PATH);
      expectErrorBody(res, 405, 'METHOD_NOT_ALLOWED');
      expect(res.headers['allow']).toBe('GET, POST');
    });

    it('answers HEAD with 405 and Allow but no body', async () => {
      const res = await request(app).head(TEST_PATH);
      expect(res.status).toBe(405);
      expect(res.headers['allow']).toBe('GET, POST');
      expect(res.text ?? '').toBe('');
    });

    it('lists only the methods a route serves', async () => {
      const res = await request(testApp({ methods: ['GET'] })).post(TEST_PATH).send({});
      expectErrorBody(res, 405, 'METHOD_NOT_ALLOWED');
      expect(res.headers['allow']).toBe('GET');
      expect(res.body.error.message).toBe('Method POST is not allowed; use GET.');
    });

    it('leaves other paths to the host (404 from the host, not a shaped error)', async () => {
      const res = await request(app).get('/api/other');
      expect(res.status).toBe(404);
      expect(res.headers['cache-control']).toBeUndefined();
    });
  });

  describe('allowedOrigins over HTTP', () => {
    const app = testApp({ allowedOrigins: ['https://*.example.com', 'https://Shop.Example.org', 'http://localhost:3000'] });

    it.each([
      ['a subdomain', 'https://app.example.com'],
      ['a multi-label subdomain', 'https://eu.app.example.com'],
      ['an exact origin listed in upper case', 'https://shop.example.org'],
      ['an exact origin with a port', 'http://localhost:3000'],
    ])('lets %s through (%s)', async (_name, origin) => {
      const res = await request(app).get(TEST_PATH).set('Origin', origin);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ user: null, body: {} });
      expect(res.headers['access-control-allow-origin']).toBeUndefined(); // cors is off
    });

    it.each([
      ['the bare domain of a wildcard', 'https://example.com'],
      ['another scheme', 'http://app.example.com'],
      ['another port', 'https://app.example.com:8443'],
      ['a look-alike domain', 'https://evilexample.com'],
      ['the domain as a prefix of another', 'https://example.com.evil.com'],
      ['the wildcard itself', 'https://*.example.com'],
      ['an upper-case origin (never sent by browsers)', 'https://APP.EXAMPLE.COM'],
      ['an origin with a trailing slash', 'https://shop.example.org/'],
      ['an origin with a trailing dot', 'https://app.example.com.'],
      ['an invalid subdomain label', 'https://a_b.example.com'],
      ['the null origin', 'null'],
      ['an unlisted port on an exact origin', 'http://localhost:3001'],
      ['an exact origin without its port', 'http://localhost'],
      ['a value that is not an origin', 'not a url'],
    ])('refuses %s (%s) with 403 FORBIDDEN_ORIGIN', async (_name, origin) => {
      const res = await request(app).get(TEST_PATH).set('Origin', origin);
      expectErrorBody(res, 403, 'FORBIDDEN_ORIGIN');
      expectWidgetHeaders(res);
    });

    it('lets requests without Origin through unless requireOrigin is set', async () => {
      const open = await request(app).get(TEST_PATH);
      expect(open.status).toBe(200);
      const strict = testApp({ allowedOrigins: ['https://app.example.com'], requireOrigin: true });
      const refused = await request(strict).get(TEST_PATH);
      expectErrorBody(refused, 403, 'FORBIDDEN_ORIGIN');
      expect(refused.body.error.message).toBe('Requests must carry an Origin header.');
      const allowed = await request(strict).get(TEST_PATH).set('Origin', 'https://app.example.com');
      expect(allowed.status).toBe(200);
    });

    it('checks the origin before reading the body or asking who the user is', async () => {
      let resolved = 0;
      const strict = testApp({
        allowedOrigins: ['https://app.example.com'],
        resolveUser: () => {
          resolved++;
          return null;
        },
      });
      const res = await request(strict).post(TEST_PATH).set('Origin', 'https://evil.test').set('Content-Type', 'application/json').send('{"a":');
      expectErrorBody(res, 403, 'FORBIDDEN_ORIGIN');
      expect(resolved).toBe(0);
    });
  });

  describe('cors', () => {
    const app = testApp({ cors: true, allowedOrigins: ['https://*.example.com'], requireUser: true });
    const preflight = (origin: string) =>
      request(app).options(TEST_PATH).set('Origin', origin).set('Access-Control-Request-Method', 'POST').set('Access-Control-Request-Headers', 'content-type');

    it('answers a preflight from an allowed origin with 204 and the CORS headers', async () => {
      const res = await preflight('https://app.example.com');
      expect(res.status).toBe(204);
      expect(res.text ?? '').toBe('');
      expect(res.headers['access-control-allow-origin']).toBe('https://app.example.com');
      expect(res.headers['access-control-allow-credentials']).toBe('true');
      expect(res.headers['access-control-allow-methods']).toBe('GET, POST');
      expect(res.headers['access-control-allow-headers']).toMatch(/content-type/i);
      expect(res.headers['vary']).toMatch(/\bOrigin\b/);
      expect(res.headers['cache-control']).toBe('no-store');
    });

    it('refuses a preflight from another origin with 403 and no CORS headers', async () => {
      const res = await preflight('https://example.com.evil.com');
      expectErrorBody(res, 403, 'FORBIDDEN_ORIGIN');
      expect(res.headers['access-control-allow-origin']).toBeUndefined();
      expect(res.headers['access-control-allow-credentials']).toBeUndefined();
    });

    it('sends Allow-Origin and Allow-Credentials on answers to allowed origins, errors included', async () => {
      const ok = await request(app).post(TEST_PATH).set('Origin', 'https://app.example.com').set('x-test-user', 'ada').send({ a: 1 });
      expect(ok.status).toBe(200);
      expect(ok.body).toEqual({ user: 'user-ada', body: { a: 1 } });
      expect(ok.headers['access-control-allow-origin']).toBe('https://app.example.com');
      expect(ok.headers['access-control-allow-credentials']).toBe('true');
      // the widget must be able to read the 401 to know it should sign in
      const anonymous = await request(app).get(TEST_PATH).set('Origin', 'https://app.example.com');
      expectErrorBody(anonymous, 401, 'UNAUTHORIZED');
      expect(anonymous.headers['access-control-allow-origin']).toBe('https://app.example.com');
    });

    it('sends no CORS headers to a refused origin', async () => {
      const res = await request(app).get(TEST_PATH).set('Origin', 'https://evilexample.com').set('x-test-user', 'ada');
      expectErrorBody(res, 403, 'FORBIDDEN_ORIGIN');
      expect(res.headers['access-control-allow-origin']).toBeUndefined();
    });

    it('treats OPTIONS without a preflight header as a wrong method', async () => {
      const res = await request(app).options(TEST_PATH).set('Origin', 'https://app.example.com');
      expectErrorBody(res, 405, 'METHOD_NOT_ALLOWED');
      expect(res.headers['allow']).toBe('GET, POST');
    });

    it.each([[undefined], [[]]])('is a configuration error without allowedOrigins (%p)', (allowedOrigins) => {
      expect(() => testRouter({ cors: true, allowedOrigins })).toThrow(WidgetAuthConfigError);
      expect(() => testRouter({ cors: true, allowedOrigins })).toThrow(/cors: needs allowedOrigins/);
    });
  });

  describe('rate limiting', () => {
    const limited = { windowMs: 60_000, limit: 2 };

    it('gives each signed-in user a budget of their own', async () => {
      const app = testApp({ rateLimit: limited });
      for (let i = 0; i < 2; i++) expect((await request(app).get(TEST_PATH).set('x-test-user', 'ada')).status).toBe(200);
      const refused = await request(app).get(TEST_PATH).set('x-test-user', 'ada');
      expectErrorBody(refused, 429, 'RATE_LIMITED');
      expect(refused.body.error.message).toBe('Too many requests; try again later.');
      const retryAfter = Number(refused.headers['retry-after']);
      expect(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60).toBe(true);
      expectWidgetHeaders(refused);
      const bob = await request(app).get(TEST_PATH).set('x-test-user', 'bob');
      expect(bob.status).toBe(200);
      expect(bob.body.user).toBe(USERS_BOB_ID);
    });

    it('limits signed-out callers per IP, apart from signed-in users', async () => {
      const app = testApp({ rateLimit: limited });
      for (let i = 0; i < 2; i++) expect((await request(app).get(TEST_PATH)).status).toBe(200);
      expectErrorBody(await request(app).get(TEST_PATH), 429, 'RATE_LIMITED');
      expect((await request(app).get(TEST_PATH).set('x-test-user', 'ada')).status).toBe(200);
    });

    it('counts unauthenticated attempts on routes that need a user', async () => {
      const app = testApp({ rateLimit: limited, requireUser: true });
      for (let i = 0; i < 2; i++) expectErrorBody(await request(app).get(TEST_PATH), 401, 'UNAUTHORIZED');
      expectErrorBody(await request(app).get(TEST_PATH), 429, 'RATE_LIMITED');
    });

    it('keys a custom store by user id, else by IP', async () => {
      const keys: string[] = [];
      const memory = new MemoryStore();
      const store: Store = {
        init: (options) => memory.init(options),
        increment: (key) => {
          keys.push(key);
          return memory.increment(key);
        },
        decrement: (key) => memory.decrement(key),
        resetKey: (key) => memory.resetKey(key),
      };
      const app = testApp({ rateLimit: { ...limited, store } });
      await request(app).get(TEST_PATH).set('x-test-user', 'bob');
      await request(app).get(TEST_PATH);
      expect(keys).toHaveLength(2);
      expect(keys[0]).toBe(`user:${USERS_BOB_ID}`);
      expect(keys[1]).toMatch(/^ip:/);
      memory.shutdown();
    });

    it('lets requests through when the store fails', async () => {
      const broken: Store = {
        increment: () => Promise.reject(new Error('store down')),
        decrement: () => undefined,
        resetKey: () => undefined,
      };
      const errors = jest.spyOn(console, 'error').mockImplementation(() => undefined);
      try {
        const res = await request(testApp({ rateLimit: { ...limited, store: broken } })).get(TEST_PATH).set('x-test-user', 'ada');
        expect(res.status).toBe(200);
        expect(res.body.user).toBe('user-ada');
      } finally {
        errors.mockRestore();
      }
    });

    it("answers 429 in the vendor's own shape (Hissuno)", async () => {
      const app = buildApp(hissunoTokenRouter({ secretKey: HISSUNO_SECRET, resolveUser: testResolveUser, rateLimit: { windowMs: 60_000, limit: 1 } }));
      expect((await request(app).get('/api/hissuno-token').set('x-test-user', 'ada')).status).toBe(200);
      const res = await request(app).get('/api/hissuno-token').set('x-test-user', 'ada');
      expect(res.status).toBe(429);
      expect(res.body).toEqual({ error: 'Too many requests; try again later.' });
      expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    });
  });

  describe('body parsing', () => {
    const app = testApp();
    const post = (target: express.Express = app) => request(target).post(TEST_PATH);

    it('answers malformed JSON with 400 INVALID_REQUEST', async () => {
      const res = await post().set('Content-Type', 'application/json').send('{"a":');
      expectErrorBody(res, 400, 'INVALID_REQUEST');
      expect(res.body.error.message).toBe('Request body is not valid JSON.');
    });

    it('answers a JSON scalar with 400 INVALID_REQUEST (objects and arrays only)', async () => {
      const res = await post().set('Content-Type', 'application/json').send('"text"');
      expectErrorBody(res, 400, 'INVALID_REQUEST');
    });

    it.each([
      ['text/plain', 'hello'],
      ['application/x-www-form-urlencoded', 'a=1'],
      ['application/jsonp', '{}'],
      ['application/json; charset=latin1', '{}'],
    ])('answers a %s body with 415 UNSUPPORTED_MEDIA_TYPE', async (type, body) => {
      const res = await post().set('Content-Type', type).send(body);
      expectErrorBody(res, 415, 'UNSUPPORTED_MEDIA_TYPE');
    });

    it('answers a body without a content type with 415', async () => {
      const res = await post().serialize((b: unknown) => String(b)).send('{"a":1}' as never).unset('Content-Type');
      expectErrorBody(res, 415, 'UNSUPPORTED_MEDIA_TYPE');
    });

    it('answers a body over the default 8 KiB with 413 and takes one just under it', async () => {
      const over = await post().send({ pad: 'x'.repeat(8200) });
      expectErrorBody(over, 413, 'PAYLOAD_TOO_LARGE');
      expect(over.body.error.message).toBe('Request body is larger than 8192 bytes.');
      const under = await post().send({ pad: 'x'.repeat(8000) });
      expect(under.status).toBe(200);
      expect(under.body.body.pad).toHaveLength(8000);
    });

    it.each([
      [64, 100, 40],
      ['1kb', 1100, 900],
    ])('honours bodyLimit %p', async (bodyLimit, overBytes, underBytes) => {
      const small = testApp({ bodyLimit });
      const body = (bytes: number) => JSON.stringify({ p: 'x'.repeat(bytes - 8) });
      const over = await post(small).set('Content-Type', 'application/json').send(body(overBytes));
      expectErrorBody(over, 413, 'PAYLOAD_TOO_LARGE');
      const under = await post(small).set('Content-Type', 'application/json').send(body(underBytes));
      expect(under.status).toBe(200);
      expect(under.body.body.p).toHaveLength(underBytes - 8);
    });

    it('treats an empty POST as {}', async () => {
      const bare = await post().set('x-test-user', 'ada');
      expect(bare.status).toBe(200);
      expect(bare.body).toEqual({ user: 'user-ada', body: {} });
      const emptyJson = await post().set('Content-Type', 'application/json').set('Content-Length', '0');
      expect(emptyJson.status).toBe(200);
      expect(emptyJson.body).toEqual({ user: null, body: {} });
    });

    it.each(['application/json; charset=utf-8', 'application/vnd.api+json', 'Application/JSON'])('accepts %s', async (type) => {
      const res = await post().set('Content-Type', type).send('{"a":[1,2]}');
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ user: null, body: { a: [1, 2] } });
    });

    it('still works when the host app already ran express.json()', async () => {
      const parsed = testApp({}, (host) => host.use(express.json()));
      const res = await post(parsed).set('x-test-user', 'bob').send({ widget: 'w', n: 3 });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ user: USERS_BOB_ID, body: { widget: 'w', n: 3 } });
      const empty = await post(parsed);
      expect(empty.status).toBe(200);
      expect(empty.body).toEqual({ user: null, body: {} });
      const text = await post(parsed).set('Content-Type', 'text/plain').send('hello');
      expectErrorBody(text, 415, 'UNSUPPORTED_MEDIA_TYPE');
    });

    it("leaves the host's own express.json() failures to the host", async () => {
      const parsed = testApp({}, (host) => host.use(express.json()));
      const res = await post(parsed).set('Content-Type', 'application/json').send('{"a":');
      expect(res.status).toBe(599);
      expect(res.body.hostHandled).toBe(true);
    });

    it('does not read a body on GET', async () => {
      const res = await request(app).get(TEST_PATH).set('Content-Type', 'text/plain').send('ignored');
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ user: null, body: {} });
    });
  });

  describe('an answer the route wrote as JSON itself (JsonText)', () => {
    it('is sent as it is, with the headers of every answer', async () => {
      const text = '{"token":"t.o.k","n":1}';
      const res = await request(testApp({ handle: () => new JsonText(text) })).get(TEST_PATH).set('x-test-user', 'ada');
      expect(res.status).toBe(200);
      expectWidgetHeaders(res);
      expect(res.text).toBe(text);
    });

    it.each([
      ['as is', (secret: string) => `{"token":"${secret}"}`],
      ['base64 inside a token', (secret: string) => `{"token":"eyJhbGciOiJIUzI1NiJ9.${Buffer.from(JSON.stringify({ k: secret })).toString('base64url')}.c2ln"}`],
    ])('is still searched for a secret (%s) unless the route searched that very text: 500, the secret never sent', async (_form, write) => {
      const logger = captureLogger();
      const res = await request(testApp({ logger, handle: () => new JsonText(write(PIPELINE_SECRET)) })).get(TEST_PATH).set('x-test-user', 'ada');
      expectErrorBody(res, 500, 'INTERNAL_ERROR');
      expectNoSecrets(res.text, [PIPELINE_SECRET]);
      // a text the route's own search found clean is not searched again, and is sent
      const clean = '{"token":"clean"}';
      const searched = await request(testApp({ handle: (ctx) => (ctx.holdsSecret(clean) ? null : new JsonText(clean)) })).get(TEST_PATH).set('x-test-user', 'ada');
      expect(searched.text).toBe(clean);
    });
  });

  describe('failures of the host and of hooks', () => {
    it.each([
      [
        'throws',
        () => {
          throw new TypeError(`lookup failed with ${PIPELINE_SECRET}`);
        },
      ],
      ['rejects', () => Promise.reject(new TypeError(`lookup failed with ${PIPELINE_SECRET}`))],
    ])('answers 500 INTERNAL_ERROR when resolveUser %s, leaking nothing', async (_how, resolveUser) => {
      const logger = captureLogger();
      const res = await request(testApp({ resolveUser, logger })).get(TEST_PATH);
      expectErrorBody(res, 500, 'INTERNAL_ERROR');
      expect(res.body).toEqual({ error: { code: 'INTERNAL_ERROR', message: 'Internal error.' } });
      expect(res.text).not.toContain('lookup failed');
      await waitForEvents(logger.events, 1);
      expect(logger.events).toHaveLength(1);
      expect(logger.events[0]!.level).toBe('error');
      expect(logger.events[0]!.obj).toMatchObject({ code: 'INTERNAL_ERROR', err: { name: 'TypeError', message: 'lookup failed with [redacted]' } });
      expectNoSecrets(logger.text(), [PIPELINE_SECRET]);
    });

    it.each([
      [
        'throws',
        () => {
          throw new Error('handler exploded');
        },
      ],
      ['rejects', () => Promise.reject(new RangeError('handler exploded'))],
      [
        'throws a non-Error',
        () => {
          throw 'handler exploded';
        },
      ],
    ])('answers 500 with a generic body when the handler %s', async (_how, handle) => {
      const res = await request(testApp({ handle })).post(TEST_PATH).send({});
      expect(res.status).toBe(500);
      expect(res.body).toEqual({ error: { code: 'INTERNAL_ERROR', message: 'Internal error.' } });
      expect(res.text).not.toContain('exploded');
    });

    it('sends a vendor failure with its generic message and correlation id only', async () => {
      const res = await request(
        testApp({
          handle: () => {
            throw new WidgetAuthError('UPSTREAM_REJECTED', 'vendor said: bad key', { vendorCode: 'BCK.1', correlationId: 'corr-42', upstreamStatus: 401 });
          },
        }),
      ).get(TEST_PATH);
      expect(res.status).toBe(502);
      expect(res.body).toEqual({ error: { code: 'UPSTREAM_REJECTED', message: 'The widget vendor refused the request.', correlationId: 'corr-42' } });
    });

    it("passes an error raised by the host before the router to the host's handler", async () => {
      const app = testApp({}, (host) => host.use((_req, _res, next) => next(new Error('host middleware failed'))));
      const res = await request(app).get(TEST_PATH);
      expect(res.status).toBe(599);
      expect(res.body).toEqual({ hostHandled: true, message: 'host middleware failed' });
    });

    it("passes errors of the host's own routes to the host's handler", async () => {
      const before = testApp({}, (host) =>
        host.get('/host-route', () => {
          throw new Error('host route failed');
        }),
      );
      const res = await request(before).get('/host-route');
      expect(res.status).toBe(599);
      expect(res.body).toEqual({ hostHandled: true, message: 'host route failed' });

      // a host route mounted after the router, so the request passes through it first
      const after = express();
      after.use(testRouter());
      after.get('/host-route', () => {
        throw new Error('later route failed');
      });
      after.use(((err, _req, res, _next) => {
        res.status(599).json({ hostHandled: true, message: (err as Error).message });
      }) as express.ErrorRequestHandler);
      const late = await request(after).get('/host-route');
      expect(late.status).toBe(599);
      expect(late.body).toEqual({ hostHandled: true, message: 'later route failed' });
      expect(late.headers['cache-control']).toBeUndefined();
    });
  });

  describe('logging', () => {
    it('logs exactly one event per request with the right level and fields', async () => {
      const logger = captureLogger();
      const app = testApp({ logger, requireUser: true, allowedOrigins: ['https://app.example.com'] });
      const cases: [string, () => request.Test, number, string, string | undefined][] = [
        ['GET', () => request(app).get(`${TEST_PATH}?token=query-secret-1`).set('x-test-user', 'ada'), 200, 'info', undefined],
        ['POST', () => request(app).post(TEST_PATH).set('x-test-user', 'ada').send({ a: 1 }), 200, 'info', undefined],
        ['GET', () => request(app).get(TEST_PATH), 401, 'warn', 'UNAUTHORIZED'],
        ['PUT', () => request(app).put(TEST_PATH), 405, 'warn', 'METHOD_NOT_ALLOWED'],
        ['GET', () => request(app).get(TEST_PATH).set('Origin', 'https://evil.test'), 403, 'warn', 'FORBIDDEN_ORIGIN'],
        ['POST', () => request(app).post(TEST_PATH).set('Content-Type', 'application/json').send('{'), 400, 'warn', 'INVALID_REQUEST'],
      ];
      for (const [method, send, status, level, code] of cases) {
        logger.events.length = 0;
        const res = await send();
        expect(res.status).toBe(status);
        await waitForEvents(logger.events, 1);
        expect(logger.events).toHaveLength(1);
        const { obj, level: actual } = logger.events[0]!;
        expect(actual).toBe(level);
        const expected: Record<string, unknown> = { vendor: 'test', route: TEST_PATH, method, status, durationMs: expect.any(Number) };
        if (code) expected['code'] = code;
        expect(obj).toEqual(expected);
        expect((obj as { durationMs: number }).durationMs).toBeGreaterThanOrEqual(0);
      }
      expect(logger.text()).not.toContain('query-secret-1');
      expect(logger.text()).not.toContain('?');
    });

    it('logs 5xx at error level with the error code', async () => {
      const logger = captureLogger();
      const app = testApp({
        logger,
        handle: () => {
          throw new WidgetAuthError('UPSTREAM_TIMEOUT', 'slow', { upstreamStatus: 504 });
        },
      });
      const res = await request(app).get(TEST_PATH);
      expectErrorBody(res, 504, 'UPSTREAM_TIMEOUT');
      await waitForEvents(logger.events, 1);
      expect(logger.events).toHaveLength(1);
      expect(logger.events[0]!.level).toBe('error');
      expect(logger.events[0]!.obj).toMatchObject({ status: 504, code: 'UPSTREAM_TIMEOUT', upstreamStatus: 504 });
    });

    it('logs the route without the mount prefix or query string and records upstream time', async () => {
      const logger = captureLogger();
      const router = testRouter({
        logger,
        handle: ({ upstream }) => {
          upstream(12.345);
          upstream(1);
          return { ok: true };
        },
      });
      const app = buildApp(express.Router().use('/widgets', router));
      const res = await request(app).get(`/widgets${TEST_PATH}?email=ada%40example.com`);
      expect(res.status).toBe(200);
      await waitForEvents(logger.events, 1);
      expect(logger.events).toHaveLength(1);
      expect(logger.events[0]!.obj).toMatchObject({ route: TEST_PATH, upstreamMs: 13.35 });
      expect(logger.text()).not.toContain('ada');
    });

    it('never logs a configured secret, in any encoding, even when an error message holds it', async () => {
      const logger = captureLogger();
      const encoded = [
        PIPELINE_SECRET,
        Buffer.from(PIPELINE_SECRET).toString('base64'),
        Buffer.from(PIPELINE_SECRET).toString('base64url'),
        Buffer.from(PIPELINE_SECRET).toString('hex'),
        encodeURIComponent(PIPELINE_SECRET),
      ].join(' | ');
      const failing = (err: unknown) =>
        request(
          testApp({
            logger,
            handle: () => {
              throw err;
            },
          }),
        )
          .post(TEST_PATH)
          .set('Authorization', `Bearer ${PIPELINE_SECRET}`)
          .set('Cookie', `sid=${PIPELINE_SECRET}`)
          .send({ secret: PIPELINE_SECRET });
      const answers = [
        await failing(new Error(`signing failed: ${encoded}`)),
        await failing(new WidgetAuthError('INTERNAL_ERROR', 'wrapped', { cause: new Error(`cause: ${encoded}`) })),
        await failing(new WidgetAuthError('UPSTREAM_REJECTED', `vendor said ${encoded}`, { vendorCode: PIPELINE_SECRET, correlationId: encoded })),
        await failing(Object.assign(new Error('named'), { name: `Err${PIPELINE_SECRET}` })),
      ];
      await waitForEvents(logger.events, answers.length);
      expect(logger.events).toHaveLength(answers.length);
      expect(answers.map((a) => a.status)).toEqual([500, 500, 502, 500]);
      expect(logger.text()).toContain('[redacted]');
      expectNoSecrets(logger.text(), [PIPELINE_SECRET]);
      for (const answer of answers.slice(0, 2)) expectNoSecrets(answer.text, [PIPELINE_SECRET]);
    });

    it('keeps serving when the logger itself throws', async () => {
      const exploding = {
        info: () => {
          throw new Error('log sink down');
        },
        warn: () => {
          throw new Error('log sink down');
        },
        error: () => {
          throw new Error('log sink down');
        },
      };
      const app = testApp({ logger: exploding });
      const first = await request(app).get(TEST_PATH).set('x-test-user', 'ada');
      expect(first.status).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 10));
      const second = await request(app).delete(TEST_PATH);
      expectErrorBody(second, 405, 'METHOD_NOT_ALLOWED');
      await new Promise((resolve) => setTimeout(resolve, 10));
    });
  });
});
