import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { z } from 'zod';
import { WidgetAuthError } from '../lib';
import { vendorBaseUrl } from '../lib/core/config';
import { MAX_IN_FLIGHT, createUpstreamClient } from '../lib/core/upstream';
import { startFakeServer, type FakeServer } from '../lib/testing';

const schema = z.object({ value: z.string() });

/** Run `fn` and return the WidgetAuthError it rejects with (failing if it resolves). */
async function rejection(fn: () => Promise<unknown>): Promise<WidgetAuthError> {
  let caught: unknown;
  try {
    await fn();
  } catch (err) {
    caught = err;
  }
  if (!(caught instanceof WidgetAuthError)) throw new Error(`expected a WidgetAuthError, got ${String(caught)}`);
  return caught;
}

describe('createUpstreamClient', () => {
  let fake: FakeServer;
  let inFlight = 0;
  let maxInFlight = 0;
  let handlerDelayMs = 0;

  beforeAll(async () => {
    fake = await startFakeServer(async (req) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      if (handlerDelayMs > 0) await new Promise((r) => setTimeout(r, handlerDelayMs));
      inFlight--;
      if (req.path === '/missing') return undefined;
      return { status: 200, body: { value: 'ok', extra: 1 }, headers: { 'x-correlation-id': 'corr-ok' } };
    });
  });
  afterAll(() => fake.close());
  beforeEach(() => {
    fake.clearFaults();
    fake.requests.length = 0;
    handlerDelayMs = 0;
  });

  const client = (options: Partial<{ timeoutMs: number; retries: number }> = {}) =>
    createUpstreamClient('acme', { timeoutMs: options.timeoutMs ?? 2000, retries: options.retries ?? 1 });

  describe('the request it sends', () => {
    it('POSTs the JSON body with Accept and Content-Type JSON plus the given headers', async () => {
      const result = await client().call({ url: `${fake.url}/v1/things`, method: 'POST', headers: { 'X-Api-Key': 'key-123' }, body: { a: 1, b: 'two' }, schema });
      expect(result.data).toEqual({ value: 'ok' });
      expect(result.status).toBe(200);
      expect(result.attempts).toBe(1);
      expect(result.upstreamMs).toBeGreaterThan(0);
      expect(fake.requests).toHaveLength(1);
      const sent = fake.requests[0]!;
      expect(sent.method).toBe('POST');
      expect(sent.path).toBe('/v1/things');
      expect(sent.headers['content-type']).toBe('application/json');
      expect(sent.headers['accept']).toBe('application/json');
      expect(sent.headers['x-api-key']).toBe('key-123');
      expect(sent.headers['authorization']).toBeUndefined();
      expect(sent.headers['cookie']).toBeUndefined();
      expect(sent.body).toBe('{"a":1,"b":"two"}');
    });

    it('sends a GET without a body or Content-Type', async () => {
      await client().call({ url: `${fake.url}/v1/things`, method: 'GET', schema });
      const sent = fake.requests[0]!;
      expect(sent.method).toBe('GET');
      expect(sent.body).toBe('');
      expect(sent.headers['content-type']).toBeUndefined();
      expect(sent.headers['accept']).toBe('application/json');
    });

    it('defaults to POST', async () => {
      await client().call({ url: `${fake.url}/v1/things`, body: {}, schema });
      expect(fake.requests[0]!.method).toBe('POST');
    });
  });

  describe('retries', () => {
    it.each([
      ['a connection reset', { kind: 'reset' } as const],
      ['502', { kind: 'status', status: 502 } as const],
      ['503', { kind: 'status', status: 503 } as const],
      ['504', { kind: 'status', status: 504 } as const],
    ])('retries exactly once after %s and then succeeds', async (_name, fault) => {
      fake.fault(fault, { times: 1 });
      const started = performance.now();
      const result = await client().call({ url: `${fake.url}/v1/things`, body: {}, schema });
      expect(result.attempts).toBe(2);
      expect(result.data.value).toBe('ok');
      expect(fake.requests).toHaveLength(2);
      // jittered backoff, not seconds
      expect(performance.now() - started).toBeLessThan(1000);
    });

    it.each([
      ['a connection reset', { kind: 'reset' } as const],
      ['502', { kind: 'status', status: 502 } as const],
      ['503', { kind: 'status', status: 503 } as const],
      ['504', { kind: 'status', status: 504 } as const],
    ])('gives up with UPSTREAM_UNAVAILABLE after one retry when %s persists', async (_name, fault) => {
      fake.fault(fault);
      const err = await rejection(() => client().call({ url: `${fake.url}/v1/things`, body: {}, schema }));
      expect(err.code).toBe('UPSTREAM_UNAVAILABLE');
      expect(err.status).toBe(502);
      expect(fake.requests).toHaveLength(2);
    });

    it('does not retry when retries is 0', async () => {
      fake.fault({ kind: 'status', status: 503 });
      const err = await rejection(() => client({ retries: 0 }).call({ url: `${fake.url}/v1/things`, body: {}, schema }));
      expect(err.code).toBe('UPSTREAM_UNAVAILABLE');
      expect(fake.requests).toHaveLength(1);
    });

    it.each([
      [400, 'UPSTREAM_REJECTED', 502],
      [401, 'UPSTREAM_REJECTED', 502],
      [403, 'UPSTREAM_REJECTED', 502],
      [404, 'UPSTREAM_REJECTED', 502],
      [500, 'UPSTREAM_UNAVAILABLE', 502],
    ])('does not retry a %i and maps it to %s', async (status, code, answerStatus) => {
      fake.fault({ kind: 'status', status });
      const err = await rejection(() => client().call({ url: `${fake.url}/v1/things`, body: {}, schema }));
      expect(err.code).toBe(code);
      expect(err.status).toBe(answerStatus);
      expect(err.upstreamStatus).toBe(status);
      expect(fake.requests).toHaveLength(1);
    });

    it('retries a refused connection once, then answers UPSTREAM_UNAVAILABLE without the URL in the message', async () => {
      const closed = await startFakeServer(() => undefined);
      const url = `${closed.url}/v1/things?key=do-not-show`;
      await closed.close();
      const started = performance.now();
      const err = await rejection(() => client().call({ url, body: {}, schema }));
      expect(err.code).toBe('UPSTREAM_UNAVAILABLE');
      expect(err.message).not.toContain('do-not-show');
      expect(String((err.cause as Error).message)).toBe('ECONNREFUSED');
      expect(performance.now() - started).toBeLessThan(1000);
    });
  });

  describe('redirects', () => {
    it.each([
      ['the built-in client', undefined],
      ['a given fetch', fetch],
    ] as const)('answers a redirect with UPSTREAM_REJECTED, not retried, naming where it pointed and what to fix (%s)', async (_name, given) => {
      for (const status of [301, 302, 307, 308]) {
        fake.clearFaults();
        fake.requests.length = 0;
        fake.fault({ kind: 'status', status, body: {}, headers: { location: 'https://api.example.com/v2/things?key=never-quoted' } });
        const upstream = createUpstreamClient('acme', { timeoutMs: 2000, retries: 1, ...(given ? { fetch: given } : {}) });
        const err = await rejection(() => upstream.call({ url: `${fake.url}/v1/things`, body: {}, schema }));
        expect([status, err.code, err.status, err.upstreamStatus]).toEqual([status, 'UPSTREAM_REJECTED', 502, status]);
        expect(err.message).toBe(`acme answered a redirect (HTTP ${status} to https://api.example.com/v2/things); redirects are not followed.`);
        expect(err.hint).toMatch(/base URL/);
        expect(err.hint).toContain('It points to https://api.example.com/v2/things.');
        expect(`${err.message} ${err.hint}`).not.toContain('never-quoted');
        // followed, the key would have gone to the other host; retried, the same answer again
        expect(fake.requests).toHaveLength(1);
      }
    });
  });

  describe('Retry-After', () => {
    it('waits the Retry-After a 503 asks for before the one retry', async () => {
      fake.fault({ kind: 'status', status: 503, headers: { 'Retry-After': '1' } }, { times: 1 });
      const started = performance.now();
      const result = await client().call({ url: `${fake.url}/v1/things`, body: {}, schema });
      const elapsed = performance.now() - started;
      expect(result.attempts).toBe(2);
      expect(elapsed).toBeGreaterThanOrEqual(950);
      expect(elapsed).toBeLessThan(2000);
      expect(fake.requests[1]!.receivedAt - fake.requests[0]!.receivedAt).toBeGreaterThanOrEqual(950);
    });

    it('does not wait on a long Retry-After: fails at once and passes the delay on', async () => {
      fake.fault({ kind: 'status', status: 503, headers: { 'Retry-After': '120' } });
      const started = performance.now();
      const err = await rejection(() => client().call({ url: `${fake.url}/v1/things`, body: {}, schema }));
      expect(performance.now() - started).toBeLessThan(500);
      expect(err.code).toBe('UPSTREAM_UNAVAILABLE');
      expect(err.retryAfterSeconds).toBe(120);
      expect(fake.requests).toHaveLength(1);
    });

    it('maps 429 to UPSTREAM_UNAVAILABLE with the vendor Retry-After, without retrying', async () => {
      fake.fault({ kind: 'status', status: 429, headers: { 'Retry-After': '7' } });
      const err = await rejection(() => client().call({ url: `${fake.url}/v1/things`, body: {}, schema }));
      expect(err.code).toBe('UPSTREAM_UNAVAILABLE');
      expect(err.retryAfterSeconds).toBe(7);
      expect(err.upstreamStatus).toBe(429);
      expect(fake.requests).toHaveLength(1);
    });

    it('gives 429 a default retryAfterSeconds when the vendor sent none', async () => {
      fake.fault({ kind: 'status', status: 429 });
      const err = await rejection(() => client().call({ url: `${fake.url}/v1/things`, body: {}, schema }));
      expect(err.code).toBe('UPSTREAM_UNAVAILABLE');
      expect(err.retryAfterSeconds).toBe(30);
    });
  });

  describe('timeouts', () => {
    it('answers UPSTREAM_TIMEOUT within the timeout plus 1 s, without retrying', async () => {
      fake.fault({ kind: 'latency', ms: 2000 });
      const started = performance.now();
      const err = await rejection(() => client({ timeoutMs: 300 }).call({ url: `${fake.url}/v1/things`, body: {}, schema }));
      const elapsed = performance.now() - started;
      expect(err.code).toBe('UPSTREAM_TIMEOUT');
      expect(err.status).toBe(504);
      expect(elapsed).toBeGreaterThanOrEqual(290);
      expect(elapsed).toBeLessThan(1300);
      expect(fake.requests).toHaveLength(1);
    });
  });

  describe('2xx validation', () => {
    it('answers UPSTREAM_INVALID_RESPONSE for a 2xx body that is not JSON', async () => {
      fake.fault({ kind: 'malformed' });
      const err = await rejection(() => client().call({ url: `${fake.url}/v1/things`, body: {}, schema }));
      expect(err.code).toBe('UPSTREAM_INVALID_RESPONSE');
      expect(err.status).toBe(502);
      expect(fake.requests).toHaveLength(1);
    });

    it('answers UPSTREAM_INVALID_RESPONSE for a 2xx JSON body of the wrong shape, naming the field', async () => {
      fake.fault({ kind: 'wrong-shape' });
      const err = await rejection(() => client().call({ url: `${fake.url}/v1/things`, body: {}, schema }));
      expect(err.code).toBe('UPSTREAM_INVALID_RESPONSE');
      expect(err.message).toContain('value');
      expect(fake.requests).toHaveLength(1);
    });

    it('answers UPSTREAM_INVALID_RESPONSE for a 2xx body nested deeper than 64 levels (JSON.stringify of it would overflow the stack), and takes 64', async () => {
      const loose = z.object({ value: z.string() }).loose();
      const nested = (depth: number) => `{"value":"ok","extra":${'['.repeat(depth - 1)}${']'.repeat(depth - 1)}}`;
      fake.fault({ kind: 'status', status: 200, body: nested(200_000), headers: { 'content-type': 'application/json' } });
      const err = await rejection(() => client().call({ url: `${fake.url}/v1/things`, body: {}, schema: loose }));
      expect([err.code, err.status, err.message]).toEqual(['UPSTREAM_INVALID_RESPONSE', 502, 'acme answered 200 with JSON nested more than 64 levels deep.']);
      fake.clearFaults();
      fake.fault({ kind: 'status', status: 200, body: nested(64), headers: { 'content-type': 'application/json' } });
      const ok = await client().call({ url: `${fake.url}/v1/things`, body: {}, schema: loose });
      expect(JSON.stringify(ok.data)).toBe(nested(64));
    });

    it('says the whole body is wrong when it is not an object, and names the fields when the object is wrong', async () => {
      fake.fault({ kind: 'status', status: 200, body: ['not', 'an', 'object'] });
      expect((await rejection(() => client().call({ url: `${fake.url}/v1/things`, body: {}, schema }))).message).toBe('acme answered 200 with a body that is not the documented object.');
      fake.clearFaults();
      fake.fault({ kind: 'status', status: 200, body: { value: 42 } });
      expect((await rejection(() => client().call({ url: `${fake.url}/v1/things`, body: {}, schema }))).message).toBe('acme answered 200 with an unexpected body (value).');
    });

    it('keeps the correlation id header of a wrongly shaped 2xx', async () => {
      fake.fault({ kind: 'status', status: 200, body: { value: 42 }, headers: { 'x-correlation-id': 'corr-shape' } });
      const err = await rejection(() => client().call({ url: `${fake.url}/v1/things`, body: {}, schema }));
      expect(err.code).toBe('UPSTREAM_INVALID_RESPONSE');
      expect(err.correlationId).toBe('corr-shape');
    });
  });

  describe('vendor error details', () => {
    const vendorMessage = 'Invalid credentials for key wk_live_abcdef';

    it('keeps the vendor code and body correlation id on the error, not in its message', async () => {
      fake.fault({ kind: 'status', status: 401, body: { code: 'BCK.WIDGET_SESSION.0001', message: vendorMessage, correlationId: 'corr-body-1' } });
      const err = await rejection(() => client().call({ url: `${fake.url}/v1/things`, body: {}, schema }));
      expect(err.code).toBe('UPSTREAM_REJECTED');
      expect(err.status).toBe(502);
      expect(err.vendorCode).toBe('BCK.WIDGET_SESSION.0001');
      expect(err.correlationId).toBe('corr-body-1');
      expect(err.upstreamStatus).toBe(401);
      expect(err.message).not.toContain('BCK.WIDGET_SESSION.0001');
      expect(err.message).not.toContain('corr-body-1');
      expect(err.message).not.toContain('wk_live_abcdef');
    });

    it('takes the correlation id from the x-correlation-id header when the body has none', async () => {
      fake.fault({ kind: 'status', status: 400, body: { code: 'BCK.WIDGET_SESSION.0013', message: 'Email is required' }, headers: { 'x-correlation-id': 'corr-header-1' } });
      const err = await rejection(() => client().call({ url: `${fake.url}/v1/things`, body: {}, schema }));
      expect(err.vendorCode).toBe('BCK.WIDGET_SESSION.0013');
      expect(err.correlationId).toBe('corr-header-1');
      expect(err.message).not.toContain('corr-header-1');
      expect(err.message).not.toContain('BCK.WIDGET_SESSION.0013');
    });

    it('reads a nested { error: { code } } body and ignores a body that is not JSON', async () => {
      fake.fault({ kind: 'status', status: 403, body: { error: { code: 'NESTED_CODE' } } }, { times: 1 });
      const nested = await rejection(() => client().call({ url: `${fake.url}/v1/things`, body: {}, schema }));
      expect(nested.vendorCode).toBe('NESTED_CODE');
      fake.fault({ kind: 'status', status: 403, body: '<html>Forbidden</html>' }, { times: 1 });
      const html = await rejection(() => client().call({ url: `${fake.url}/v1/things`, body: {}, schema }));
      expect(html.code).toBe('UPSTREAM_REJECTED');
      expect(html.vendorCode).toBeUndefined();
      expect(html.message).not.toContain('html');
    });

    it('records the time spent on a failed call', async () => {
      fake.fault({ kind: 'status', status: 400 });
      const err = await rejection(() => client().call({ url: `${fake.url}/v1/things`, body: {}, schema }));
      expect((err as unknown as { upstreamMs: number }).upstreamMs).toBeGreaterThan(0);
    });
  });

  describe('connection reuse', () => {
    it(`keeps at most MAX_IN_FLIGHT (${MAX_IN_FLIGHT}) requests and connections open under 200 concurrent calls`, async () => {
      handlerDelayMs = 5;
      maxInFlight = 0;
      const shared = client();
      const before = fake.connections;
      const results = await Promise.all(Array.from({ length: 200 }, () => shared.call({ url: `${fake.url}/v1/things`, body: {}, schema })));
      expect(results.every((r) => r.data.value === 'ok')).toBe(true);
      expect(fake.requests).toHaveLength(200);
      expect(maxInFlight).toBeLessThanOrEqual(MAX_IN_FLIGHT);
      expect(fake.connections - before).toBeLessThanOrEqual(MAX_IN_FLIGHT);
    });
  });
});

describe('the default transport (node:http and node:https with keep-alive)', () => {
  const servers: (http.Server | https.Server)[] = [];
  /** A raw server on loopback, for answers no well-behaved vendor gives. */
  async function serve<S extends http.Server | https.Server>(server: S): Promise<{ server: S; port: number }> {
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return { server, port: (server.address() as AddressInfo).port };
  }
  afterEach(async () => {
    for (const server of servers.splice(0)) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
  const transportClient = (retries = 0) => createUpstreamClient('Vendor', { timeoutMs: 2000, retries });

  it.each([
    ['the built-in client', undefined],
    ['a given fetch', fetch],
  ] as const)('refuses a 2xx body over 1 MiB as UPSTREAM_INVALID_RESPONSE without reading it all (%s)', async (_name, given) => {
    let closedAfter: (bytes: number) => void = () => undefined;
    const closed = new Promise<number>((resolve) => (closedAfter = resolve));
    const { port } = await serve(
      http.createServer((_req, res) => {
        let written = 0;
        res.writeHead(200, { 'Content-Type': 'application/json' });
        const chunk = Buffer.alloc(64 * 1024, 0x20);
        const pump = () => {
          while (written < 64 * 1024 * 1024 && !res.destroyed) {
            written += chunk.length;
            if (!res.write(chunk)) return void res.once('drain', pump);
          }
          res.end();
        };
        res.on('close', () => closedAfter(written));
        pump();
      }),
    );
    const upstream = given ? createUpstreamClient('Vendor', { timeoutMs: 2000, retries: 0, fetch: given }) : transportClient();
    const err = await rejection(() => upstream.call({ url: `http://127.0.0.1:${port}/big`, schema }));
    expect(err.code).toBe('UPSTREAM_INVALID_RESPONSE');
    expect(err.message).toBe('Vendor answered with a body over 1048576 bytes.');
    // the client hung up long before the 64 MiB the server meant to send
    expect(await closed).toBeLessThan(16 * 1024 * 1024);
  });

  it('reads only the start of a large error body and still answers at once', async () => {
    const { port } = await serve(
      http.createServer((_req, res) => {
        res.writeHead(400, { 'Content-Type': 'application/json', 'x-correlation-id': 'corr-big' });
        res.end(`{"code":"BAD","pad":"${'x'.repeat(200 * 1024)}"}`);
      }),
    );
    const err = await rejection(() => transportClient().call({ url: `http://127.0.0.1:${port}/bad`, schema }));
    expect(err.code).toBe('UPSTREAM_REJECTED');
    expect(err.upstreamStatus).toBe(400);
    expect(err.correlationId).toBe('corr-big');
    // the cut-off body is no longer JSON, so no vendor code is read from it
    expect(err.vendorCode).toBeUndefined();
  });

  it('retries a connection reset in the middle of the body once', async () => {
    let calls = 0;
    const { port } = await serve(
      http.createServer((_req, res) => {
        calls++;
        res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': '100' });
        res.write('{"value":');
        setTimeout(() => res.socket?.destroy(), 10);
      }),
    );
    const err = await rejection(() => transportClient(1).call({ url: `http://127.0.0.1:${port}/cut`, schema }));
    expect(err.code).toBe('UPSTREAM_UNAVAILABLE');
    expect(calls).toBe(2);
  });

  describe('idle connections', () => {
    /** A server that records, for each connection, when it opened and when it closed. */
    async function connectionLog(keepAliveTimeoutMs: number) {
      const log: { closedAt?: number }[] = [];
      const server = http.createServer((_req, res) => {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end('{"value":"ok"}');
      });
      server.keepAliveTimeout = keepAliveTimeoutMs;
      server.on('connection', (socket) => {
        const entry: { closedAt?: number } = {};
        log.push(entry);
        socket.on('close', () => (entry.closedAt = performance.now()));
      });
      const { port } = await serve(server);
      return { log, url: `http://127.0.0.1:${port}/v1` };
    }
    const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

    it('keeps a connection while it is used and closes it before it has been idle 4 s', async () => {
      // keepAliveTimeout 0: the server sends no Keep-Alive header and never closes an idle connection itself
      const { log, url } = await connectionLog(0);
      const client = transportClient();
      await client.call({ url, schema });
      await sleep(1000);
      await client.call({ url, schema });
      const lastUsed = performance.now();
      await sleep(3000);
      // reused, and still open 3 s after its last call
      expect(log).toHaveLength(1);
      expect(log[0]!.closedAt).toBeUndefined();
      await sleep(1100);
      expect(log[0]!.closedAt).toBeDefined();
      expect(log[0]!.closedAt! - lastUsed).toBeLessThan(4000);
      await client.call({ url, schema });
      expect(log).toHaveLength(2);
    });

    it("closes it sooner when the server's Keep-Alive timeout is shorter: 1 s before the server would", async () => {
      // the server announces Keep-Alive: timeout=2 and would close an idle connection after 2 s
      const { log, url } = await connectionLog(2000);
      const client = transportClient();
      await client.call({ url, schema });
      // reused within its 1 s: the earliest sweep that may close it runs 375 ms after the call
      await sleep(150);
      await client.call({ url, schema });
      const lastUsed = performance.now();
      expect(log).toHaveLength(1);
      await sleep(1300);
      // closed by the client, within 1 s of its last call, long before the server's 2 s
      expect(log[0]!.closedAt).toBeDefined();
      expect(log[0]!.closedAt! - lastUsed).toBeLessThan(1000);
      await client.call({ url, schema });
      expect(log).toHaveLength(2);
    });
  });

  describe('over TLS', () => {
    const tls = {
      key: readFileSync(join(__dirname, 'fixtures', 'loopback-tls.key')),
      cert: readFileSync(join(__dirname, 'fixtures', 'loopback-tls.crt')),
    };
    const tlsServer = () =>
      https.createServer(tls, (req, res) => {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ value: `tls ${req.method} ${req.url}` }));
      });
    it('refuses a vendor whose certificate is not trusted', async () => {
      const { port } = await serve(tlsServer());
      const err = await rejection(() => transportClient().call({ url: `https://127.0.0.1:${port}/v1`, schema }));
      expect(err.code).toBe('UPSTREAM_UNAVAILABLE');
      expect((err.cause as Error).message).toBe('DEPTH_ZERO_SELF_SIGNED_CERT');
    });
  });
});

describe('vendorBaseUrl()', () => {
  const check = (value: string) => vendorBaseUrl().safeParse(value);

  it.each(['https://api.example.com', 'http://localhost:8080', 'http://127.0.0.1:3000', 'http://127.10.20.30', 'http://[::1]:4000'])('accepts %s', (url) => {
    expect(check(url).success).toBe(true);
  });

  it.each(['http://api.example.com', 'http://10.0.0.1', 'http://localhost.example.com', 'http://127.0.0.1.nip.io', 'http://[::2]'])('refuses plain http: to the non-loopback host %s', (url) => {
    const result = check(url);
    expect(result.success).toBe(false);
    expect(result.error!.issues[0]!.message).toMatch(/must use https:/);
  });

  it('refuses other schemes, credentials, queries and relative URLs', () => {
    expect(check('ftp://api.example.com').success).toBe(false);
    expect(check('https://user:pass@api.example.com').success).toBe(false);
    expect(check('https://api.example.com/?key=1').success).toBe(false);
    expect(check('/api').success).toBe(false);
  });

  it('strips trailing slashes', () => {
    expect(vendorBaseUrl().parse('https://api.example.com/base//')).toBe('https://api.example.com/base');
  });
});
