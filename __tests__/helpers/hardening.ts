import { Agent, createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { format } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext, runInThisContext } from 'node:vm';
import type express from 'express';
import fc from 'fast-check';
import type { Request } from 'express';
import type { WidgetUser } from '../../lib/core/types';
import { encodedForms } from '../../lib/core/logger';
import { secretFragmentLength } from './secret-trace';

// ---------------------------------------------------------------------------
// Seeds and property runs

/**
 * Seed of every property test: `FUZZ_SEED` when set (to replay a failure), the fixed
 * 20261122 under CI, otherwise a fresh one per run.
 */
export const FUZZ_SEED: number = (() => {
  const given = Number(process.env['FUZZ_SEED']);
  if (process.env['FUZZ_SEED'] && Number.isSafeInteger(given)) return given;
  if (process.env['CI']) return 20261122;
  return Math.floor(Math.random() * 0x7fffffff);
})();

/** Multiplier of every property's runs: `FUZZ_SCALE` (e.g. `FUZZ_SCALE=20` for a long local hunt), else 1. */
export const FUZZ_SCALE: number = (() => {
  const scale = Number(process.env['FUZZ_SCALE'] ?? 1);
  return Number.isFinite(scale) && scale > 0 ? scale : 1;
})();

/** `n` property runs, scaled by {@link FUZZ_SCALE}. */
export function fuzzRuns(n: number): number {
  return Math.max(1, Math.round(n * FUZZ_SCALE));
}

/**
 * Run a property `numRuns` times (see {@link fuzzRuns}) with {@link FUZZ_SEED}, after
 * `examples` (inputs that once failed, checked on every run whatever the seed). A failure is rethrown
 * with the seed on its first line and the command that replays it, above fast-check's
 * own report (counterexample, shrink path).
 */
export async function checkProperty<Ts>(property: fc.IRawProperty<Ts>, numRuns: number, examples: Ts[] = []): Promise<void> {
  try {
    await fc.assert(property, { seed: FUZZ_SEED, numRuns: fuzzRuns(numRuns), examples });
  } catch (err) {
    // counterexamples can be megabytes of generated text: keep each line readable
    const clip = (text: string) =>
      text
        .split('\n')
        .map((line) => (line.length > 2000 ? `${line.slice(0, 2000)}… (${line.length - 2000} more characters)` : line))
        .join('\n');
    const cause = err instanceof Error && err.cause !== undefined ? `\nCaused by: ${err.cause instanceof Error ? err.cause.message : String(err.cause)}` : '';
    const report = clip(`${err instanceof Error ? err.message : String(err)}${cause}`);
    const failure = new Error(`Property failed with seed ${FUZZ_SEED} (replay: FUZZ_SEED=${FUZZ_SEED} npx jest <file>)\n${report}`);
    failure.stack = `${failure.message}\n${(err instanceof Error ? (err.stack ?? '') : '').split('\n').filter((line) => /^\s+at /.test(line)).join('\n')}`;
    throw failure;
  }
}

// ---------------------------------------------------------------------------
// Hostile input

const CODE_UNIT = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));

/** Strings that have broken parsers, lookups and encoders before. */
export const TRICKY_STRINGS: readonly string[] = [
  '',
  ' ',
  '\t',
  '\u0000',
  '\u001f',
  '\u007f',
  '\u00a0',
  '\u2028',
  '\ufeff',
  '\ud800',
  '\udfff',
  'a\ud800b',
  '\ud83d\ude00',
  'e\u0301',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  'null',
  'undefined',
  'true',
  'NaN',
  '0',
  '-0',
  '1e3',
  '0x10',
  ' 5',
  '\uff19',
  '<script>alert(1)</script>',
  '"',
  '\\',
  '%00',
  '%2e%2e%2f',
  '../../etc/passwd',
  '\r\nSet-Cookie: x=1',
  'javascript:alert(1)',
  'https://evil.example/',
  '${jndi:ldap://x}',
  '{{7*7}}',
];

/**
 * Any string: arbitrary code points, arbitrary UTF-16 code units (lone surrogates,
 * control characters), the {@link TRICKY_STRINGS}, and very long runs.
 */
/**
 * Whether `text` is not well-formed Unicode (holds a lone surrogate): its UTF-8 round trip
 * changes it. A host user whose id or email is such text is refused (500), since as UTF-8
 * it is the very id of another user.
 */
export function notWellFormed(text: unknown): boolean {
  return typeof text === 'string' && Buffer.from(text, 'utf8').toString('utf8') !== text;
}

export function hostileString(maxLength = 40, options: { long?: boolean } = {}): fc.Arbitrary<string> {
  const long = options.long ?? true;
  return fc.oneof(
    { weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength }) },
    { weight: 2, arbitrary: fc.string({ unit: CODE_UNIT, maxLength }) },
    { weight: 3, arbitrary: fc.constantFrom(...TRICKY_STRINGS) },
    {
      weight: long ? 1 : 0,
      arbitrary: fc
        .tuple(fc.constantFrom('x', '\u00e9', '\u{1F600}', '\u0000', 'ab '), fc.integer({ min: 200, max: 3000 }))
        .map(([s, n]) => s.repeat(n)),
    },
  );
}

/** Object keys, with the prototype-related ones well represented. */
export const hostileKey: fc.Arbitrary<string> = fc.oneof(
  { weight: 2, arbitrary: fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'toJSON', 'hasOwnProperty', '') },
  { weight: 3, arbitrary: hostileString(20) },
);

/** JSON number tokens at the edges: -0, exponents, beyond 2^53, overflowing to Infinity, underflowing to 0. */
export const NUMBER_TOKENS: readonly string[] = [
  '0',
  '-0',
  '1',
  '-1',
  '1.0',
  '1.5',
  '-1.5',
  '1e3',
  '1E21',
  '1e400',
  '-1e400',
  '9007199254740991',
  '9007199254740992',
  '9007199254740993',
  '123456789012345678901234567890',
  '0.0000001',
  '5e-324',
  '1e-400',
];

/** A JSON number token. */
export const numberToken: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(...NUMBER_TOKENS),
  fc.integer().map(String),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => JSON.stringify(d)),
);

/** `{…}` from key/value-text pairs, keeping duplicate keys (the last one wins in `JSON.parse`). */
export function objectText(entries: readonly (readonly [string, string])[]): string {
  return `{${entries.map(([key, value]) => `${JSON.stringify(key)}:${value}`).join(',')}}`;
}

/** A JSON string token. */
export const stringToken = (maxLength = 40): fc.Arbitrary<string> => hostileString(maxLength).map((s) => JSON.stringify(s));

/**
 * JSON text of any value, written token by token so that it can hold what
 * `JSON.stringify` never writes: duplicate keys, `__proto__` keys, `1e400`, `-0`.
 */
export const jsonText: fc.Arbitrary<string> = fc.letrec<{ value: string; array: string; object: string }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom('true', 'false', 'null'),
    numberToken,
    stringToken(),
    tie('array'),
    tie('object'),
  ),
  array: fc.array(tie('value'), { maxLength: 4 }).map((items) => `[${items.join(',')}]`),
  object: fc.array(fc.tuple(hostileKey, tie('value')), { maxLength: 5 }).map(objectText),
})).value;

/** JSON text of an object. */
export const jsonObjectText: fc.Arbitrary<string> = fc.array(fc.tuple(hostileKey, jsonText), { maxLength: 6 }).map(objectText);

/** Bodies that are not JSON at all, or almost JSON. */
export const NOT_JSON: readonly string[] = ['{', '{"a":', '{"a":1,}', "{'a':1}", 'undefined', '\u0000', '{"a":"\\x"}', '[' + '['.repeat(3000), 'NaN', '{"a":01}', '\ufeff{}', ' \n{}\n ', '"just a string"', 'null', '42', 'true'];

/** Characters allowed in an HTTP header value by Node's client (`\t`, visible ASCII, Latin-1). */
const HEADER_CHAR = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 0x20, max: 0x7e }) },
  { weight: 1, arbitrary: fc.integer({ min: 0x80, max: 0xff }) },
  { weight: 1, arbitrary: fc.constant(0x09) },
).map((c) => String.fromCharCode(c));

/** Any value Node's HTTP client will put in a header. */
export const headerValue = (maxLength = 60): fc.Arbitrary<string> => fc.string({ unit: HEADER_CHAR, maxLength });

// ---------------------------------------------------------------------------
// Origins

/** The `allowedOrigins` every property test configures. */
export const FUZZ_ALLOWED_ORIGINS = ['https://app.example.com', 'https://*.example.org'];

const SUBDOMAIN_OF_EXAMPLE_ORG = /^https:\/\/(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+example\.org$/;

/**
 * Whether an `Origin` header value is allowed by {@link FUZZ_ALLOWED_ORIGINS}, decided
 * from the documented rules (exact origin; one or more valid lower-case labels before
 * `.example.org`, same scheme, no port), independently of the library's matcher.
 */
export function fuzzOriginAllowed(origin: string): boolean {
  return origin === 'https://app.example.com' || SUBDOMAIN_OF_EXAMPLE_ORG.test(origin);
}

/** `Origin` values: allowed ones, look-alikes, malformed ones and arbitrary header text. */
export const originHeader: fc.Arbitrary<string> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      'https://app.example.com',
      'https://app.example.com/',
      'https://APP.example.com',
      'http://app.example.com',
      'https://app.example.com:443',
      'https://app.example.com:8443',
      'https://app.example.com.evil.com',
      'https://example.org',
      'https://evilexample.org',
      'https://example.org.evil.com',
      'https://a.example.org',
      'https://a.b.example.org',
      'https://a.example.org:443',
      'http://a.example.org',
      'https://.example.org',
      'https://a..example.org',
      'https://-a.example.org',
      'https://a.example.org/path',
      'https://a.example.org?x',
      'https://user@a.example.org',
      'HTTPS://a.example.org',
      'null',
      '',
      'file://',
    ),
  },
  { weight: 2, arbitrary: fc.array(fc.stringMatching(/^[a-z0-9-]{1,66}$/), { minLength: 1, maxLength: 3 }).map((labels) => `https://${labels.join('.')}.example.org`) },
  { weight: 1, arbitrary: headerValue() },
);

/**
 * A browser's Fetch Metadata and `Origin` as request headers (an absent header is left
 * out): what Chromium sends for fetch/XHR, images, scripts, frames, navigations,
 * WebSockets and no-cors fetches from the same origin, the same site, another site or
 * no page at all, plus values no browser sends (unknown, joined, wrong case, any header
 * text). `Origin` is allowed by {@link FUZZ_ALLOWED_ORIGINS}, a look-alike, absent, or
 * any {@link originHeader}.
 */
export function arbFetchMetadata(): fc.Arbitrary<Record<string, string>> {
  const optional = (known: readonly string[], odd: readonly string[]): fc.Arbitrary<string | undefined> =>
    fc.oneof(
      { weight: 8, arbitrary: fc.constantFrom(...known) },
      { weight: 2, arbitrary: fc.constant(undefined) },
      { weight: 1, arbitrary: fc.constantFrom(...odd) },
      { weight: 1, arbitrary: headerValue(20) },
    );
  const site = optional(['same-origin', 'same-site', 'cross-site', 'none'], ['Same-Origin', 'same-origin, cross-site', 'cross-site, same-origin', '', 'same_origin']);
  const mode = optional(['cors', 'no-cors', 'navigate', 'same-origin', 'websocket'], ['CORS', 'cors, no-cors', '', 'nocors']);
  const dest = optional(
    ['empty', 'image', 'script', 'style', 'document', 'iframe', 'frame', 'embed', 'object', 'worker', 'sharedworker', 'serviceworker', 'font', 'audio', 'video', 'track', 'manifest', 'report', 'websocket', 'xslt'],
    ['Empty', 'empty, image', ''],
  );
  const origin = fc.oneof(
    { weight: 3, arbitrary: fc.constant(undefined) },
    { weight: 3, arbitrary: fc.constantFrom('https://app.example.com', 'https://a.example.org', 'https://a.b.example.org') },
    { weight: 2, arbitrary: fc.constantFrom('https://evil.example.com', 'https://example.org', 'http://app.example.com', 'null') },
    { weight: 1, arbitrary: originHeader },
  );
  // what browsers actually send, so that every branch of the rules is reached often
  const browser = fc.tuple(
    fc.constantFrom<[string | undefined, string | undefined, string | undefined]>(
      ['same-origin', 'cors', 'empty'],
      ['same-origin', 'same-origin', 'empty'],
      ['same-origin', 'no-cors', 'image'],
      ['same-site', 'cors', 'empty'],
      ['same-site', 'no-cors', 'script'],
      ['cross-site', 'cors', 'empty'],
      ['cross-site', 'no-cors', 'image'],
      ['cross-site', 'navigate', 'document'],
      ['cross-site', 'navigate', 'iframe'],
      ['none', 'navigate', 'document'],
      ['none', 'cors', 'empty'],
      [undefined, undefined, undefined],
    ),
    origin,
  ).map(([[site, mode, dest], origin]) => ({ site, mode, dest, origin }));
  const anything = fc.record({ site, mode, dest, origin });
  return fc.oneof(browser, anything).map(({ site, mode, dest, origin }) => {
    const headers: Record<string, string> = {};
    if (site !== undefined) headers['sec-fetch-site'] = site;
    if (mode !== undefined) headers['sec-fetch-mode'] = mode;
    if (dest !== undefined) headers['sec-fetch-dest'] = dest;
    if (origin !== undefined) headers['origin'] = origin;
    return headers;
  });
}

// ---------------------------------------------------------------------------
// Users

/**
 * A `resolveUser` backed by a `Map` from the `x-fuzz-user` header (so that `__proto__`
 * or `constructor` in the header never finds an inherited property), plus `add` to
 * register a user under a fresh key.
 */
export function userRegistry(): {
  resolveUser(req: Request): WidgetUser | null;
  add(user: WidgetUser): string;
  set(key: string, user: WidgetUser): void;
  get(key: string): WidgetUser | undefined;
  clear(): void;
} {
  const users = new Map<string, WidgetUser>();
  let next = 0;
  return {
    resolveUser(req) {
      const key = req.headers['x-fuzz-user'];
      return typeof key === 'string' ? (users.get(key) ?? null) : null;
    },
    add(user) {
      const key = `registered-user-${next++}`;
      users.set(key, user);
      return key;
    },
    set(key, user) {
      users.set(key, user);
    },
    get: (key) => users.get(key),
    clear() {
      users.clear();
    },
  };
}

// ---------------------------------------------------------------------------
// HTTP

/** One answer of the app under test. */
export interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  /** Time from sending to the last byte, in milliseconds. */
  ms: number;
}

/** A request to send. Header values given as arrays are sent as repeated headers. */
export interface OutgoingRequest {
  method: string;
  path: string;
  headers?: Record<string, string | string[]>;
  body?: Buffer | string;
}

/** What a raw exchange ended with: the first answer on the connection, or a close without one. */
export type RawOutcome = { kind: 'answer'; status: number; headers: Record<string, string>; text: string } | { kind: 'closed' };

/** An app listening on loopback with a keep-alive client. */
export interface ServedApp {
  url: string;
  port: number;
  server: Server;
  /** Send one request; rejects when no answer arrives within `timeoutMs` (default 5000). */
  send(req: OutgoingRequest, timeoutMs?: number): Promise<Answer>;
  /** Write raw bytes on a new connection and read the first answer (or the close). */
  raw(bytes: Buffer, options?: { halfClose?: boolean; timeoutMs?: number }): Promise<RawOutcome>;
  /** Close the client's sockets and the server. */
  close(): Promise<void>;
}

/** Listen on an ephemeral loopback port and return a client for it. */
export async function serve(app: express.Express, options: { maxSockets?: number } = {}): Promise<ServedApp> {
  const server = createServer(app);
  const sockets = new Set<import('node:net').Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const agent = new Agent({ keepAlive: true, maxSockets: options.maxSockets ?? 16 });

  const send = (req: OutgoingRequest, timeoutMs = 5000): Promise<Answer> =>
    new Promise((resolve, reject) => {
      const started = performance.now();
      const outgoing = httpRequest({ host: '127.0.0.1', port, method: req.method, path: req.path, headers: req.headers ?? {}, agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8'), ms: performance.now() - started });
        });
      });
      const timer = setTimeout(() => {
        outgoing.destroy();
        reject(new Error(`no answer to ${req.method} ${req.path.slice(0, 80)} within ${timeoutMs} ms`));
      }, timeoutMs);
      outgoing.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      outgoing.end(req.body);
    });

  const raw = (bytes: Buffer, opts: { halfClose?: boolean; timeoutMs?: number } = {}): Promise<RawOutcome> =>
    new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1');
      const chunks: Buffer[] = [];
      let done = false;
      const finish = (outcome: RawOutcome | Error) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        socket.destroy();
        if (outcome instanceof Error) reject(outcome);
        else resolve(outcome);
      };
      const timer = setTimeout(() => finish(new Error(`no answer and no close within ${opts.timeoutMs ?? 3000} ms`)), opts.timeoutMs ?? 3000);
      socket.on('data', (c: Buffer) => {
        chunks.push(c);
        const parsed = parseFirstAnswer(Buffer.concat(chunks));
        if (parsed) finish(parsed);
      });
      socket.on('error', () => finish({ kind: 'closed' }));
      socket.on('close', () => finish(parseFirstAnswer(Buffer.concat(chunks)) ?? { kind: 'closed' }));
      socket.write(bytes, () => {
        if (opts.halfClose) socket.end();
      });
    });

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    server,
    send,
    raw,
    close: () =>
      new Promise<void>((resolve) => {
        agent.destroy();
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }),
  };
}

/** The first complete HTTP/1.1 answer in `data` (Content-Length framed), if there is one. */
function parseFirstAnswer(data: Buffer): RawOutcome | undefined {
  const end = data.indexOf('\r\n\r\n');
  if (end === -1) return undefined;
  const [statusLine, ...lines] = data.subarray(0, end).toString('latin1').split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '')?.[1]);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const length = Number(headers['content-length'] ?? 0);
  if (data.length < end + 4 + length) return undefined;
  return { kind: 'answer', status, headers, text: data.subarray(end + 4, end + 4 + length).toString('utf8') };
}

/** Run `task(0 … count-1)` with at most `concurrency` in flight; results in index order. */
export async function runPool<T>(count: number, concurrency: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const results = new Array<T>(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      results[i] = await task(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return results;
}

// ---------------------------------------------------------------------------
// Wire contracts

/** What one vendor's routes may answer with on failure. */
export interface WireContract {
  vendor: string;
  /** Hissuno's `{"error":"…"}` rather than `{"error":{"code","message"}}`. */
  flat: boolean;
  /** Every code the contract may put on the wire, with the statuses it may come with. */
  codes: Readonly<Record<string, readonly number[]>>;
}

const PIPELINE_CODES = {
  UNAUTHORIZED: [401],
  UNSUPPORTED_MEDIA_TYPE: [415],
  PAYLOAD_TOO_LARGE: [413],
  FORBIDDEN_ORIGIN: [403],
  RATE_LIMITED: [429],
  METHOD_NOT_ALLOWED: [405],
  INTERNAL_ERROR: [500],
} as const;

const VENDOR_FAILURE_CODES = {
  UPSTREAM_REJECTED: [502],
  UPSTREAM_UNAVAILABLE: [502, 503],
  UPSTREAM_TIMEOUT: [504],
  UPSTREAM_INVALID_RESPONSE: [502],
} as const;

/** The wire contract of each router. */
export const WIRE: Readonly<Record<'hissuno' | 'neut' | 'nevermined' | 'wonderful' | 'neuroon', WireContract>> = {
  hissuno: { vendor: 'hissuno', flat: true, codes: {} },
  neut: { vendor: 'neut', flat: false, codes: { ...PIPELINE_CODES, INVALID_WIDGET_REQUEST: [400] } },
  nevermined: { vendor: 'nevermined', flat: false, codes: { ...PIPELINE_CODES, INVALID_REQUEST: [400], ...VENDOR_FAILURE_CODES } },
  neuroon: { vendor: 'neuroon', flat: false, codes: { ...PIPELINE_CODES, INVALID_REQUEST: [400], ...VENDOR_FAILURE_CODES } },
  wonderful: {
    vendor: 'wonderful',
    flat: false,
    codes: {
      ...PIPELINE_CODES,
      VALIDATION_ERROR: [400],
      FORBIDDEN: [403],
      UPSTREAM_REJECTED: [502],
      UPSTREAM_INVALID_RESPONSE: [502],
      NETWORK_ERROR: [502, 503, 504],
    },
  },
};

/** The statuses Hissuno's flat contract may answer with. */
const FLAT_STATUSES = new Set([400, 401, 403, 405, 413, 415, 429, 500]);

/** A failure as read off the wire. `code` is `undefined` for Hissuno's flat shape. */
export interface WireError {
  status: number;
  code: string | undefined;
  message: string;
  correlationId?: string;
}

/**
 * Check an answer of one of the library's routes: the no-store, nosniff and JSON
 * headers, and for a failure the contract's exact shape with a code it lists and a
 * status that code may carry. Returns the failure, or `undefined` for a 2xx answer.
 * HEAD answers and preflights carry no body, so only their headers are checked.
 */
export function expectShaped(contract: WireContract, answer: Answer, method = 'GET'): WireError | undefined {
  const where = `${contract.vendor} ${method} → ${answer.status} ${answer.text.slice(0, 300)}`;
  if (answer.headers['cache-control'] !== 'no-store') throw new Error(`Cache-Control is not no-store: ${where}`);
  if (answer.headers['x-content-type-options'] !== 'nosniff') throw new Error(`X-Content-Type-Options is not nosniff: ${where}`);
  if (answer.status === 204) return undefined;
  if (answer.headers['content-type'] !== 'application/json; charset=utf-8') throw new Error(`not a JSON answer: ${where}`);
  if (method === 'HEAD') return answer.status < 300 ? undefined : { status: answer.status, code: undefined, message: '' };
  let body: unknown;
  try {
    body = JSON.parse(answer.text);
  } catch {
    throw new Error(`body is not JSON: ${where}`);
  }
  if (answer.status >= 200 && answer.status < 300) return undefined;
  if (typeof body !== 'object' || body === null || Array.isArray(body) || Object.keys(body).join() !== 'error') {
    throw new Error(`error body is not {"error": …}: ${where}`);
  }
  const error = (body as { error: unknown }).error;
  if (contract.flat) {
    if (typeof error !== 'string' || error.length === 0) throw new Error(`error is not a message: ${where}`);
    if (!FLAT_STATUSES.has(answer.status)) throw new Error(`unexpected status: ${where}`);
    return { status: answer.status, code: undefined, message: error };
  }
  if (typeof error !== 'object' || error === null || Array.isArray(error)) throw new Error(`error is not an object: ${where}`);
  const { code, message, correlationId, ...rest } = error as Record<string, unknown>;
  if (Object.keys(rest).length > 0) throw new Error(`error carries unexpected fields ${Object.keys(rest).join(', ')}: ${where}`);
  if (typeof code !== 'string' || typeof message !== 'string' || message.length === 0) throw new Error(`error lacks a code or message: ${where}`);
  if (correlationId !== undefined && typeof correlationId !== 'string') throw new Error(`correlationId is not a string: ${where}`);
  const statuses = Object.hasOwn(contract.codes, code) ? contract.codes[code] : undefined;
  if (!statuses) throw new Error(`code ${code} is not in the ${contract.vendor} contract: ${where}`);
  if (!statuses.includes(answer.status)) throw new Error(`code ${code} with status ${answer.status}: ${where}`);
  if (/\n\s+at /.test(answer.text)) throw new Error(`stack trace in the answer: ${where}`);
  return { status: answer.status, code, message, ...(typeof correlationId === 'string' ? { correlationId } : {}) };
}

// ---------------------------------------------------------------------------
// Secrets

/** Every form a value is searched for: {@link encodedForms} plus its JSON-escaped form. */
export function searchForms(value: string): string[] {
  const forms = new Set(encodedForms(value));
  const escaped = JSON.stringify(value).slice(1, -1);
  if (escaped.length >= 6) forms.add(escaped);
  return [...forms];
}

/**
 * A finder for a growing list of values that must not appear in some text: it
 * returns a description (label and form length, never the value) of the first hit.
 */
export function leakFinder(): { add(label: string, value: string): void; find(text: string): string | undefined; size(): number } {
  const forms = new Map<string, string>();
  return {
    add(label, value) {
      for (const form of searchForms(value)) if (!forms.has(form)) forms.set(form, label);
    },
    find(text) {
      for (const [form, label] of forms) if (text.includes(form)) return `${label} (a ${form.length}-character form of it)`;
      return undefined;
    },
    size: () => forms.size,
  };
}

/** All of an answer's header lines and body as one text, for a secret search. */
export function answerText(answer: { status: number; headers: IncomingHttpHeaders | Record<string, string>; text: string }): string {
  return `${answer.status}\n${Object.entries(answer.headers)
    .map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(', ') : String(v)}`)
    .join('\n')}\n\n${answer.text}`;
}

/** Replace every occurrence of `value` in `text` (the one intended copy of a token in its own answer). */
export function without(text: string, value: string): string {
  return value.length === 0 ? text : text.split(value).join('[intended]');
}

/**
 * Replace `console.log/info/warn/error/debug` with recorders until `restore()`.
 * `text()` is everything written, formatted as `console` would.
 */
export function captureConsole(): { calls: { method: string; text: string }[]; text(): string; restore(): void } {
  const calls: { method: string; text: string }[] = [];
  const methods = ['log', 'info', 'warn', 'error', 'debug'] as const;
  const spies = methods.map((method) => jest.spyOn(console, method).mockImplementation((...args: unknown[]) => calls.push({ method, text: format(...args) })));
  return {
    calls,
    text: () => calls.map((c) => `${c.method}: ${c.text}`).join('\n'),
    restore: () => spies.forEach((spy) => spy.mockRestore()),
  };
}

// ---------------------------------------------------------------------------
// Process health

/** The Node process itself (Jest hands test files a stand-in object whose listeners never fire). */
export const realProcess: NodeJS.Process = runInThisContext('process') as NodeJS.Process;

let gc: (() => void) | undefined;

/** Run a full garbage collection (`gc` is made available at run time: no `--expose-gc` on the command line needed). */
export function collectGarbage(): void {
  if (!gc) {
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as () => void;
  }
  gc();
}

/** Heap in use after two full collections, in bytes. */
export async function settledHeap(): Promise<number> {
  for (let i = 0; i < 2; i++) {
    await new Promise((resolve) => setImmediate(resolve));
    collectGarbage();
  }
  return realProcess.memoryUsage().heapUsed;
}

/** How many of each kind of active resource (sockets, servers, timers) the process holds. */
export function activeResources(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const kind of realProcess.getActiveResourcesInfo()) counts[kind] = (counts[kind] ?? 0) + 1;
  return counts;
}

/** Listener counts of every event on the process. */
export function processListeners(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const name of realProcess.eventNames()) counts[String(name)] = realProcess.listenerCount(name);
  return counts;
}

/** Poll until `check` passes or `ms` have gone by; returns whether it passed. */
export async function eventually(check: () => boolean, ms = 2000): Promise<boolean> {
  const deadline = performance.now() + ms;
  while (!check()) {
    if (performance.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return true;
}

/**
 * Record `unhandledRejection` and `warning` events of the real process (a
 * `MaxListenersExceededWarning` is the usual sign of a listener leak) until `stop()`.
 */
export function watchProcess(): { rejections: unknown[]; warnings: Error[]; stop(): void } {
  const rejections: unknown[] = [];
  const warnings: Error[] = [];
  const onRejection = (reason: unknown) => rejections.push(reason);
  const onWarning = (warning: Error) => warnings.push(warning);
  realProcess.on('unhandledRejection', onRejection);
  realProcess.on('warning', onWarning);
  return {
    rejections,
    warnings,
    stop() {
      realProcess.off('unhandledRejection', onRejection);
      realProcess.off('warning', onWarning);
    },
  };
}

// ---------------------------------------------------------------------------
// Fault bookkeeping

/** A fault as installed on a fake, with the label the outcome tables use. */
export interface InstalledFault {
  label: string;
  rate: number;
}

/**
 * The label of the fault each of the first `count` requests to a fake received, in
 * arrival order (`undefined`: none). Faults are tried in the order installed; each
 * counts only the requests that reach it and hits request n when
 * `floor((n + 1) × rate) > floor(n × rate)` — the even spread `FaultScope.rate`
 * documents. Arrival order is the order of the fake's `requests`.
 */
export function faultSchedule(faults: readonly InstalledFault[], count: number): (string | undefined)[] {
  const seen = faults.map(() => 0);
  const out: (string | undefined)[] = [];
  for (let i = 0; i < count; i++) {
    let hit: string | undefined;
    for (let f = 0; f < faults.length; f++) {
      const n = seen[f]!++;
      const rate = faults[f]!.rate;
      if (Math.floor((n + 1) * rate) > Math.floor(n * rate)) {
        hit = faults[f]!.label;
        break;
      }
    }
    out.push(hit);
  }
  return out;
}

/** Count occurrences. */
export function tally(values: Iterable<string>): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const v of values) counts[v] = (counts[v] ?? 0) + 1;
  return counts;
}

// ---------------------------------------------------------------------------
// Charsets

/** A JSON request body with the content type it is sent under, and whether that is UTF-8 JSON. */
export interface CharsetCase {
  contentType: string;
  body: Buffer;
  /** True when the type names no charset or only `utf-8` and the body has no UTF-16 byte order mark: the body must be read. */
  utf8: boolean;
}

/** `text` in UTF-7: runs outside the directly written characters as `+<base64 of UTF-16BE>-` (so `"` is `+ACI-`). */
export function utf7(text: string): Buffer {
  const encoded = text.replace(/[^A-Za-z0-9'(),./:? \t\r\n!#$%&*;<=>@[\]^_`{|}-]+/g, (run) => `+${Buffer.from(run, 'utf16le').swap16().toString('base64').replace(/=+$/, '')}-`);
  return Buffer.from(encoded, 'ascii');
}

const UTF8_NAMES = ['utf-8', 'UTF-8', 'Utf-8', 'uTF-8'];
/** Charset names that are not UTF-8, with how a sender in that charset writes the body. */
const OTHER_CHARSETS: readonly (readonly [string, (text: string) => Buffer])[] = [
  ['utf-7', utf7],
  ['UTF-7', utf7],
  ['unicode-1-1-utf-7', utf7],
  ['utf-16', (t) => Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(t, 'utf16le')])],
  ['utf-16le', (t) => Buffer.from(t, 'utf16le')],
  ['UTF-16LE', (t) => Buffer.from(t, 'utf16le')],
  ['utf-16be', (t) => Buffer.from(t, 'utf16le').swap16()],
  ['ucs-2', (t) => Buffer.from(t, 'utf16le')],
  ['utf-32', (t) => Buffer.from(t, 'utf8')],
  ['latin1', (t) => Buffer.from(t, 'latin1')],
  ['ISO-8859-1', (t) => Buffer.from(t, 'latin1')],
  ['windows-1252', (t) => Buffer.from(t, 'latin1')],
  ['us-ascii', (t) => Buffer.from(t, 'latin1')],
  ['utf8', (t) => Buffer.from(t, 'utf8')],
  ['UTF8', (t) => Buffer.from(t, 'utf8')],
  ['utf-8 ', (t) => Buffer.from(t, 'utf8')],
  ['', (t) => Buffer.from(t, 'utf8')],
];
const JSON_MEDIA_TYPES = ['application/json', 'Application/JSON', 'application/vnd.api+json', 'application/problem+json'];
const BOMS = { none: Buffer.alloc(0), utf8: Buffer.from([0xef, 0xbb, 0xbf]), utf16le: Buffer.from([0xff, 0xfe]), utf16be: Buffer.from([0xfe, 0xff]) } as const;

/**
 * JSON bodies under JSON content types with and without charsets: UTF-8 in any case,
 * quoted, with an escaped character (`"utf\-8"`), spaced, next to other parameters;
 * UTF-7, UTF-16 (LE, BE, with and without a byte order mark), Latin-1 and lookalikes
 * (`utf8`, `"utf-8 "`, an empty charset); two charsets in one type; bodies with a UTF-8
 * or UTF-16 byte order mark. `utf8` tells whether the case is UTF-8 JSON: no charset or
 * only `utf-8`, and no UTF-16 byte order mark.
 */
export function arbCharsetContentType(json: fc.Arbitrary<string> = jsonObjectText): fc.Arbitrary<CharsetCase> {
  const charset = fc.oneof(
    { weight: 2, arbitrary: fc.constantFrom(...UTF8_NAMES).map((name) => ({ name, encode: (t: string) => Buffer.from(t, 'utf8'), utf8: true })) },
    { weight: 3, arbitrary: fc.constantFrom(...OTHER_CHARSETS).map(([name, encode]) => ({ name, encode, utf8: false })) },
  );
  const parameter = fc.record({
    charset,
    quoted: fc.boolean(),
    escaped: fc.boolean(),
    spaceBefore: fc.constantFrom('', ' ', '  '),
    spaceAround: fc.constantFrom('', ' '),
  });
  return fc
    .record({
      type: fc.constantFrom(...JSON_MEDIA_TYPES),
      charsets: fc.array(parameter, { minLength: 0, maxLength: 2 }),
      extra: fc.constantFrom('', '; profile="https://example.com/p"', '; q=1'),
      bom: fc.constantFrom<keyof typeof BOMS>('none', 'none', 'none', 'utf8', 'utf16le', 'utf16be'),
      text: json,
    })
    .map(({ type, charsets, extra, bom, text }) => {
      let contentType = type;
      for (const p of charsets) {
        // an unquoted value cannot hold a space or be empty: those are only sent quoted
        const quoted = p.quoted || p.charset.name.trim() !== p.charset.name || p.charset.name === '';
        const value = quoted ? `"${p.escaped ? p.charset.name.replace(/-/g, '\\-') : p.charset.name}"` : p.charset.name;
        contentType += `;${p.spaceBefore}charset${p.spaceAround}=${p.spaceAround}${value}`;
      }
      contentType += extra;
      // the sender writes in the charset it names last (receivers disagree on which one counts)
      const encode = charsets.at(-1)?.charset.encode ?? ((t: string) => Buffer.from(t, 'utf8'));
      const body = Buffer.concat([BOMS[bom], encode(text)]);
      const utf8 = charsets.every((p) => p.charset.utf8) && bom !== 'utf16le' && bom !== 'utf16be';
      return { contentType, body, utf8 };
    });
}

// ---------------------------------------------------------------------------
// Secrets a vendor hides in its answers (the search for them: ./secret-trace)

export { secretFragmentLength, secretTraceFinder, secretViews } from './secret-trace';

/** Ways a hostile vendor writes a secret, the encodings the redactor must see through. */
export const SECRET_DISGUISES = ['plain', 'hex', 'HEX', 'hex-mixed', 'base64', 'base64url', 'percent', 'PERCENT', 'percent-mixed', 'uri', 'json-unicode', 'JSON-UNICODE', 'json-mixed'] as const;
export type SecretDisguise = (typeof SECRET_DISGUISES)[number];

/**
 * `secret` written as `how` says. Base64 forms encode it between `before` and `after`
 * (bytes), so it sits at any byte alignment of a larger base64 text; the mixed forms
 * encode the characters `pick` selects (per character, cycling) and leave the others.
 */
export function disguiseSecret(secret: string, how: SecretDisguise, options: { before?: Uint8Array; after?: Uint8Array; pick?: readonly boolean[] } = {}): string {
  const pick = (i: number) => (options.pick && options.pick.length > 0 ? options.pick[i % options.pick.length]! : i % 2 === 0);
  const bytes = Buffer.from(secret, 'utf8');
  const hex = bytes.toString('hex');
  const percent = (upper: boolean) => [...bytes].map((b) => `%${b.toString(16).padStart(2, '0')[upper ? 'toUpperCase' : 'toLowerCase']()}`).join('');
  // every UTF-16 unit of the character (two for one outside the BMP)
  const unicode = (c: string) => [...Array(c.length).keys()].map((i) => `\\u${c.charCodeAt(i).toString(16).padStart(4, '0')}`).join('');
  switch (how) {
    case 'plain':
      return secret;
    case 'hex':
      return hex;
    case 'HEX':
      return hex.toUpperCase();
    case 'hex-mixed':
      return [...hex].map((c, i) => (pick(i) ? c.toUpperCase() : c)).join('');
    case 'base64':
    case 'base64url':
      return Buffer.concat([options.before ?? new Uint8Array(), bytes, options.after ?? new Uint8Array()]).toString(how);
    case 'percent':
      return percent(false);
    case 'PERCENT':
      return percent(true);
    case 'percent-mixed':
      // a character's UTF-8 bytes, hex in upper or lower case
      return [...secret]
        .map((c, i) => (pick(i) ? [...Buffer.from(c, 'utf8')].map((b) => `%${b.toString(16).padStart(2, '0')[i % 3 === 0 ? 'toUpperCase' : 'toLowerCase']()}`).join('') : c))
        .join('');
    case 'uri':
      return encodeURIComponent(secret);
    case 'json-unicode':
      return [...secret].map(unicode).join('');
    case 'JSON-UNICODE':
      return [...secret].map((c) => unicode(c).toUpperCase().replace(/\\U/g, '\\u')).join('');
    case 'json-mixed':
      return [...secret].map((c, i) => (pick(i) ? unicode(c) : c)).join('');
  }
}

/** A secret in any {@link SECRET_DISGUISES}, at any base64 alignment, any mixture. */
export function disguisedSecret(secret: string): fc.Arbitrary<{ how: SecretDisguise; text: string }> {
  return fc
    .record({
      how: fc.constantFrom(...SECRET_DISGUISES),
      before: fc.uint8Array({ maxLength: 5 }),
      after: fc.uint8Array({ maxLength: 3 }),
      pick: fc.array(fc.boolean(), { minLength: 1, maxLength: 7 }),
    })
    .map(({ how, before, after, pick }) => ({ how, text: disguiseSecret(secret, how, { before, after, pick }) }));
}

/** Text around a secret: nothing, a short id-like word, or long runs that push it across the lengths a value is cut to (100, 200). */
const SECRET_PADDING: fc.Arbitrary<string> = fc.oneof(
  fc.constant(''),
  fc.stringMatching(/^[A-Za-z0-9 _.:-]{1,12}$/),
  fc.constantFrom(79, 80, 90, 95, 99, 100, 150, 190, 195, 199, 200, 250).map((n) => 'E'.repeat(n)),
);

/** A vendor answer as a fake's `status` fault takes it. */
export interface HostileVendorAnswer {
  /** How the secret was hidden, for the failure message (never the secret). */
  how: string;
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

/**
 * Vendor error answers that hide `secret`: in the error `code`, `error.code`,
 * `correlationId`, `correlation_id`, `message` or the `x-correlation-id` /
 * `x-request-id` header, in any {@link SECRET_DISGUISES}, padded on either side
 * (up to and across the lengths the library cuts these values to); or split in two
 * plain pieces of at least {@link secretFragmentLength} characters across `code` and
 * `correlationId`, or with a separator inserted. Statuses are those the client does not
 * retry (4xx, 429, 500), so each answer is seen once.
 */
export function hostileErrorAnswer(secret: string): fc.Arbitrary<HostileVendorAnswer> {
  const size = secretFragmentLength(secret);
  const status = fc.constantFrom(400, 401, 403, 404, 409, 422, 429, 500);
  const whole = fc
    .record({
      status,
      where: fc.constantFrom('code', 'error.code', 'correlationId', 'correlation_id', 'message', 'x-correlation-id', 'x-request-id'),
      secret: disguisedSecret(secret),
      before: SECRET_PADDING,
      after: SECRET_PADDING,
    })
    .map(({ status, where, secret: hidden, before, after }): HostileVendorAnswer => {
      const text = `${before}${hidden.text}${after}`;
      const how = `${hidden.how} in ${where}, padded ${before.length}/${after.length}`;
      if (where.startsWith('x-')) return { how, status, body: { code: 'BAD_KEY', message: 'Invalid key.' }, headers: { [where]: text } };
      if (where === 'error.code') return { how, status, body: { error: { code: text } } };
      return { how, status, body: { code: 'BAD_KEY', message: 'Invalid key.', [where]: text } };
    });
  const split = fc
    .record({
      status,
      at: fc.integer({ min: size, max: Math.max(size, secret.length - size) }),
      sep: fc.constantFrom('', '-', ' ', '…', '|', '\n', '%20'),
      together: fc.boolean(),
      before: SECRET_PADDING,
    })
    .map(({ status, at, sep, together, before }): HostileVendorAnswer => {
      const [head, tail] = [secret.slice(0, at), secret.slice(at)];
      return together
        ? { how: `split at ${at} with a separator in correlationId`, status, body: { code: 'BAD_KEY', correlationId: `${before}${head}${sep}${tail}` } }
        : { how: `split at ${at} across code and correlationId`, status, body: { code: `${before}${head}`, correlationId: `${tail}${sep}` } };
    });
  return fc.oneof({ weight: 4, arbitrary: whole }, { weight: 1, arbitrary: split });
}

/**
 * 2xx answers that are `valid` (a body the route accepts) plus the secret echoed in an
 * extra field, whole in any {@link SECRET_DISGUISES} and padded, or inside a nested
 * object, or as base64 of the JSON request that carried it.
 */
export function hostileSuccessAnswer(secret: string, valid: Record<string, unknown>): fc.Arbitrary<HostileVendorAnswer> {
  return fc
    .record({
      field: fc.constantFrom('rawSecret', 'apiKey', 'echo', 'debug', '__proto__'),
      nested: fc.constantFrom('no', 'object', 'request-base64'),
      secret: disguisedSecret(secret),
      before: SECRET_PADDING,
      after: SECRET_PADDING,
    })
    .map(({ field, nested, secret: hidden, before, after }): HostileVendorAnswer => {
      const text = `${before}${hidden.text}${after}`;
      const value = nested === 'object' ? { request: { [field]: text } } : nested === 'request-base64' ? Buffer.from(JSON.stringify({ email: 'a@b.c', rawSecret: secret })).toString('base64') : text;
      return { how: `${nested === 'request-base64' ? 'base64 of the request' : hidden.how} in the extra field ${field}${nested === 'object' ? ' (nested)' : ''}`, status: 200, body: JSON.parse(`${JSON.stringify(valid).slice(0, -1)},${JSON.stringify(field)}:${JSON.stringify(value)}}`) };
    });
}
