import express from 'express';
import fc from 'fast-check';
import { tracingChannel } from 'node:diagnostics_channel';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { widgetAuth } from '../lib';
import { EXPRESS_MAJOR, testResolveUser } from './helpers/app';
import { testRouter } from './helpers/pipeline';

/**
 * A router answers its own routes without Express's router machinery (lib/core/dispatch.ts).
 * What it answers, and what it lets pass, must be what Express's own dispatch of the same
 * router would answer and let pass, for any request line.
 */

const PATH = '/api/widget.v1-token';
const CHATWOOT_HMAC_TOKEN = 'c8Wq2Lz5Rt7Yp1Kd4Mn6Bv3X';
const CRISP_VERIFY_SECRET = 'crisp-verify-0f1e2d3c4b5a6978';

interface Answer {
  status: number;
  text: string;
  headers: Record<string, string | string[] | undefined>;
}

/** An app: `router` (at `mount`, if given), then a host route behind it that says what reached it. */
function appWith(router: express.RequestHandler, mount?: string, before?: express.RequestHandler): express.Express {
  const app = express();
  if (before) app.use(before);
  if (mount === undefined) app.use(router);
  else app.use(mount, router);
  app.use((req, res) => {
    res.status(404).json({ passed: true, url: req.url, baseUrl: req.baseUrl });
  });
  app.use(((err, _req, res, _next) => {
    if (res.headersSent) res.end();
    else res.status(599).json({ hostHandled: true, message: (err as Error).message });
  }) as express.ErrorRequestHandler);
  return app;
}

async function listen(app: express.Express): Promise<http.Server> {
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

/** A request with its target sent exactly as given (no client-side normalising). */
function send(server: http.Server, method: string, target: string, body?: string, headers: Record<string, string> = {}): Promise<Answer> {
  const { port } = server.address() as AddressInfo;
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: target, agent: false, headers: { 'x-test-user': 'ada', ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) }) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, text, headers: res.headers }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** The router with something added to its stack after it was built: Express's own dispatch serves it. */
function expressDispatched<T extends express.Router>(router: T): T {
  router.use((_req, _res, next) => next());
  return router;
}

/** The object whose `handle` Express's routers (the app's own included) dispatch with. */
function routerPrototypeWithHandle(): { handle: (...args: unknown[]) => unknown } {
  let proto: object | null = Object.getPrototypeOf(express.Router());
  while (proto !== null && !Object.hasOwn(proto, 'handle')) proto = Object.getPrototypeOf(proto);
  if (proto === null) throw new Error("no prototype of express.Router() holds 'handle'");
  return proto as { handle: (...args: unknown[]) => unknown };
}

/** What a comparison looks at: status, body, and the headers the pipeline or the host sets. */
function seen(answer: Answer): object {
  return { status: answer.status, text: answer.text, allow: answer.headers['allow'], cacheControl: answer.headers['cache-control'] };
}

describe(`a router's own dispatch (Express ${EXPRESS_MAJOR})`, () => {
  const servers: http.Server[] = [];
  afterAll(async () => {
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  });
  async function pair(mount?: string, build: () => express.Router = () => testRouter({ path: PATH }), before?: express.RequestHandler): Promise<[http.Server, http.Server]> {
    const direct = await listen(appWith(build(), mount, before));
    const viaExpress = await listen(appWith(expressDispatched(build()), mount, before));
    servers.push(direct, viaExpress);
    return [direct, viaExpress];
  }

  it("answers and lets pass exactly the requests Express's dispatch of the same router does", async () => {
    const [plain, plainExpress] = await pair();
    const [mounted, mountedExpress] = await pair('/w');
    // a path Express matches: case, a trailing slash, a query, a fragment, absolute form; and near misses
    const target = fc
      .record({
        origin: fc.constantFrom('', '', '', 'http://app.example.com'),
        mount: fc.constantFrom('', '', '', '/w', '/W', '/w/', '/x'),
        lead: fc.constantFrom('', '', '', '', '/'),
        flips: fc.array(fc.boolean(), { minLength: PATH.length, maxLength: PATH.length }),
        escape: fc.constantFrom('none', 'none', 'none', 'none', 'none', 'none', 'dash', 'dot', 'slash'),
        tail: fc.constantFrom('', '', '', '', '/', '//', '?a=1', '/?a=1', '#f', '/#f', '%2F', 'x', '.', '/x', ';a', '/.', '?'),
      })
      .map(({ origin, mount, lead, flips, escape, tail }) => {
        let path = [...PATH].map((c, i) => (flips[i] ? c.toUpperCase() : c)).join('');
        if (escape === 'dash') path = path.replace('-', '%2D');
        if (escape === 'dot') path = path.replace('.', '%2E');
        if (escape === 'slash') path = path.replace('/widget', '%2Fwidget');
        return `${origin}${mount}${lead}${path}${tail}`;
      });
    const method = fc.constantFrom('GET', 'POST', 'HEAD', 'OPTIONS', 'DELETE');
    let served = 0;
    let passed = 0;
    await fc.assert(
      fc.asyncProperty(target, method, async (path, verb) => {
        const body = verb === 'POST' ? '{"room":"r"}' : undefined;
        for (const [direct, viaExpress] of [
          [plain, plainExpress],
          [mounted, mountedExpress],
        ] as const) {
          const [a, b] = await Promise.all([send(direct, verb, path, body), send(viaExpress, verb, path, body)]);
          expect(seen(a)).toEqual(seen(b));
          if (a.headers['cache-control'] === 'no-store') served++;
          else passed++;
        }
      }),
      { numRuns: 200 },
    );
    // both kinds were tried, so the comparison covered the route and the way past it
    expect(served).toBeGreaterThan(20);
    expect(passed).toBeGreaterThan(20);
  });

  it("answers a route of its own without going through Express's router again; widgetAuth's router neither", async () => {
    const proto = routerPrototypeWithHandle();
    const spy = jest.spyOn(proto, 'handle');
    try {
      const vendorApp = await listen(appWith(testRouter({ path: PATH })));
      const env = { CHATWOOT_HMAC_TOKEN, CRISP_VERIFY_SECRET };
      const composite = widgetAuth({ resolveUser: testResolveUser, env });
      expect([...composite.mounted].sort()).toEqual(['chatwoot', 'crisp']);
      const compositeApp = await listen(appWith(composite));
      servers.push(vendorApp, compositeApp);
      for (const [server, target, status] of [
        [vendorApp, PATH, 200],
        [vendorApp, '/elsewhere', 404],
        [compositeApp, '/api/chatwoot-identity', 200],
        [compositeApp, '/api/crisp-identity', 200],
        [compositeApp, '/elsewhere', 404],
      ] as const) {
        spy.mockClear();
        const answer = await send(server, 'GET', target);
        expect({ target, status: answer.status }).toEqual({ target, status });
        // the app's own router only: Express's routers would have run once more per router crossed
        expect({ target, dispatches: spy.mock.calls.length }).toEqual({ target, dispatches: 1 });
      }
    } finally {
      spy.mockRestore();
    }
  });

  it("sets req.route to the route it served, as Express's dispatch does (hosts' request logs read it)", async () => {
    const seenRoutes = new Map<string, unknown[]>();
    const recorder =
      (name: string): express.RequestHandler =>
      (req, res, next) => {
        res.on('finish', () => seenRoutes.set(name, [...(seenRoutes.get(name) ?? []), (req.route as { path?: unknown } | undefined)?.path]));
        next();
      };
    const direct = await listen(appWith(testRouter({ path: PATH }), undefined, recorder('direct')));
    const viaExpress = await listen(appWith(expressDispatched(testRouter({ path: PATH })), undefined, recorder('express')));
    servers.push(direct, viaExpress);
    const targets = [PATH, `${PATH.toUpperCase()}/`, `${PATH}?a=1`, '/elsewhere'];
    for (const target of targets) {
      await send(direct, 'GET', target);
      await send(viaExpress, 'GET', target);
    }
    await new Promise((resolve) => setImmediate(resolve));
    expect(seenRoutes.get('direct')).toEqual([PATH, PATH, PATH, undefined]);
    expect(seenRoutes.get('direct')).toEqual(seenRoutes.get('express'));
  });

  it("uses Express's dispatch once the host adds to the router, so what it added runs", async () => {
    const router = testRouter({ path: PATH });
    router.use((_req, res, next) => {
      res.setHeader('x-host-added', 'yes');
      next();
    });
    const server = await listen(appWith(router));
    servers.push(server);
    const other = await send(server, 'GET', '/elsewhere');
    expect({ status: other.status, added: other.headers['x-host-added'] }).toEqual({ status: 404, added: 'yes' });
    const own = await send(server, 'GET', PATH);
    expect(own.status).toBe(200);
    expect(JSON.parse(own.text)).toEqual({ user: 'user-ada', body: {} });
  });

  it('passes an error thrown while the route starts (headers already sent by the host) on as Express does', async () => {
    const sentEarly: express.RequestHandler = (req, res, next) => {
      if (req.headers['x-send-early'] === '1') res.writeHead(200, { 'content-type': 'text/plain' });
      next();
    };
    const [direct, viaExpress] = await pair(undefined, undefined, sentEarly);
    const [a, b] = await Promise.all([send(direct, 'GET', PATH, undefined, { 'x-send-early': '1' }), send(viaExpress, 'GET', PATH, undefined, { 'x-send-early': '1' })]);
    expect(seen(a)).toEqual(seen(b));
    expect(a.status).toBe(200);
  });

  it("serves a plain Node request (no Express app around it) as Express's router would", async () => {
    const direct = testRouter({ path: PATH });
    const viaExpress = expressDispatched(testRouter({ path: PATH }));
    // as Polka does: `req.path` is the decoded pathname, which Express's router never reads
    const plainServer = (router: express.Router): http.Server =>
      http.createServer((req, res) => {
        (req as { path?: string }).path = decodeURIComponent(new URL(req.url!, 'http://x').pathname);
        router(req as express.Request, res as express.Response, () => {
          res.statusCode = 404;
          res.end('not here');
        });
      });
    const a = plainServer(direct);
    const b = plainServer(viaExpress);
    await Promise.all([a, b].map((s) => new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))));
    servers.push(a, b);
    const encoded = PATH.replace('-', '%2D');
    for (const target of [PATH, `${PATH}?a=1`, `${PATH.toUpperCase()}/`, '/elsewhere', encoded, `${encoded}?a=1`]) {
      const [x, y] = await Promise.all([send(a, 'GET', target), send(b, 'GET', target)]);
      expect({ target, ...seen(x) }).toEqual({ target, ...seen(y) });
      expect({ target, status: x.status }).toEqual({ target, status: target === '/elsewhere' || target.startsWith(encoded) ? 404 : 200 });
    }
  });

  it.each([
    ['false', false],
    ['0', 0],
    ['an empty string', ''],
    ['NaN', NaN],
    ["'route'", 'route'],
    ["'router'", 'router'],
  ])('answers 500 when a route throws %s, under its own dispatch and under Express (which reads some as "go on")', async (_name, value) => {
    for (const when of ['sync', 'async'] as const) {
      const handle = when === 'sync' ? () => { throw value; } : async () => { throw value; };
      const [direct, viaExpress] = await pair(undefined, () => testRouter({ path: PATH, handle }));
      const [a, b] = await Promise.all([send(direct, 'GET', PATH), send(viaExpress, 'GET', PATH)]);
      expect({ when, ...seen(a) }).toEqual({ when, ...seen(b) });
      expect({ when, status: a.status, code: JSON.parse(a.text).error?.code }).toEqual({ when, status: 500, code: 'INTERNAL_ERROR' });
    }
  });

  it("gives a route no parameters of the path it is mounted at, as Express's dispatch does", async () => {
    const build = (): express.Router => testRouter({ path: PATH, handle: ({ req }) => ({ params: req.params }) });
    const [direct, viaExpress] = await pair('/t/:tenant', build);
    const [a, b] = await Promise.all([send(direct, 'GET', `/t/acme${PATH}`), send(viaExpress, 'GET', `/t/acme${PATH}`)]);
    expect(seen(a)).toEqual(seen(b));
    expect(JSON.parse(a.text)).toEqual({ params: {} });
  });

  it("runs a handler the host wrapped on the router's stack after it was built", async () => {
    const router = testRouter({ path: PATH });
    const calls: string[] = [];
    const layer = router.stack[0]!;
    const original = layer.handle;
    layer.handle = function wrapped(this: unknown, ...args: unknown[]) {
      calls.push('wrapped');
      return (original as (...a: unknown[]) => unknown).apply(this, args);
    } as typeof layer.handle;
    const server = await listen(appWith(router));
    servers.push(server);
    const answer = await send(server, 'GET', PATH);
    expect({ status: answer.status, calls }).toEqual({ status: 200, calls: ['wrapped'] });
  });

  it("lets Express dispatch while its router's tracing channel has subscribers, so the route's layer is reported", async () => {
    const events: unknown[] = [];
    const channel = tracingChannel('express.router.request');
    const subscriber = { start: (message: unknown) => events.push(message) };
    channel.subscribe(subscriber as never);
    try {
      const server = await listen(appWith(testRouter({ path: PATH })));
      servers.push(server);
      expect((await send(server, 'GET', PATH)).status).toBe(200);
    } finally {
      channel.unsubscribe(subscriber as never);
    }
    const handlers = events.map((e) => ((e as { handler?: { name?: string } }).handler?.name ?? '?'));
    // Express 4's router publishes nothing; Express 5's reports every layer it runs, the route's handler among them
    if (EXPRESS_MAJOR === '4') expect(handlers).toEqual([]);
    else expect(handlers).toContain('serve');
  });

  it('serves a route whose path Express reads as a pattern through Express, as before', async () => {
    const router = testRouter({ path: '/api/:tenant/token' });
    const server = await listen(appWith(router));
    servers.push(server);
    const answer = await send(server, 'GET', '/api/acme/token');
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.text)).toEqual({ user: 'user-ada', body: {} });
    expect((await send(server, 'GET', '/api/token')).status).toBe(404);
  });
});
