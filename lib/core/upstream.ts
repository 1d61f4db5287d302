import http from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import { urlToHttpOptions } from 'node:url';
import { z } from 'zod';
import { WidgetAuthError, isWidgetAuthError, withUpstreamMs } from './errors';
import { nestsDeeperThan } from './json';
import { cutText, type Redactor } from './logger';
import { isThenable } from './promise';
import type { WidgetUser } from './types';

/** Options shared by every client that calls a vendor. */
export interface UpstreamOptions {
  /**
   * Timeout of each attempt in milliseconds. The first attempt's clock starts when the
   * call is made: time spent waiting for one of the 16 connections to the vendor counts
   * against it, and a call that has no connection after half of `timeoutMs` fails with
   * 504 `UPSTREAM_TIMEOUT` without calling the vendor. Each retry has a full `timeoutMs`.
   * Defaults to 5000.
   */
  timeoutMs?: number;
  /** Retries on connection errors and 502/503/504. Defaults to 1. */
  retries?: number;
  /** A `fetch` to call the vendor with instead of the built-in keep-alive `node:http`/`node:https` client. */
  fetch?: typeof fetch;
}

/** zod shape of {@link UpstreamOptions}. */
export const upstreamOptionsShape = {
  timeoutMs: z.number().int('must be a whole number of milliseconds').min(1, 'must be positive').max(120_000, 'must be at most 120000').default(5000),
  retries: z.number().int('must be a whole number').min(0, 'must not be negative').max(3, 'must be at most 3').default(1),
  fetch: z.custom<typeof fetch>((v) => typeof v === 'function', { message: 'must be a fetch function' }).optional(),
};

/** One call to a vendor. */
export interface VendorRequest<T> {
  url: string;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  /** Serialised as JSON when present. */
  body?: unknown;
  /**
   * Validates the 2xx body; a mismatch is `UPSTREAM_INVALID_RESPONSE`. Give this or
   * `parse`.
   */
  schema?: z.ZodType<T>;
  /**
   * Reads the 2xx body (parsed from JSON) instead of `schema`: what it returns is the
   * call's data, what it throws refuses the body as `UPSTREAM_INVALID_RESPONSE`, giving
   * a {@link WidgetAuthError}'s message as the reason (redacted) and nothing of any other
   * error, which may quote the body.
   */
  parse?: (json: unknown) => T;
  /**
   * A quicker check of a 2xx body (parsed from JSON) that `schema` would pass: the value
   * `schema` would give when the body is certainly valid, `undefined` to leave the body to
   * `schema` (which then also says why it is refused). It must pass nothing `schema`
   * refuses.
   */
  accept?: ((json: unknown) => T | undefined) | undefined;
  /**
   * Aborts when nobody wants the answer any more (the browser closed the request): an
   * `AbortSignal`, or an {@link AbortSource} such as a route's context, whose signal is
   * then made only if the call has to wait. A call that has aborted before it starts, or
   * while it waits for a connection, never reaches the vendor (it leaves the queue at
   * once), and no retry starts after it; an attempt already sent runs to its end.
   */
  signal?: AbortSignal | AbortSource | undefined;
  /**
   * Whom the call is for (the signed-in user's id): at most `maxInFlightPerUser` calls with
   * one key are in progress at once, the others wait. Omit it for calls shared by every
   * user. Held in memory only while the key has calls in progress; never logged.
   */
  userKey?: string | undefined;
  /**
   * Redacts the secrets of this call from the vendor's error code and correlation id,
   * which are then cut to 100 and 200 characters (redacted first, so a cut never keeps
   * the start of a secret). Without it they are kept whole, for the caller to redact.
   */
  redact?: Redactor | undefined;
}

/**
 * Tells a call whether anybody still wants its answer. `aborted` is read by every call and
 * must be cheap; `signal` is read only by a call that has to wait for a connection, so it
 * can be made on first read: an `AbortController` costs a few microseconds on Node 20, more
 * than the rest of the queue's bookkeeping. A route's context (`RouteContext`) is one.
 */
export interface AbortSource {
  readonly aborted: boolean;
  readonly signal: AbortSignal;
}

/** What a router passes on to a vendor call about its request: the close signal and the user's key. */
export type CallContext = Pick<VendorRequest<unknown>, 'signal' | 'userKey'>;

/** A validated vendor answer. */
export interface VendorResponse<T> {
  data: T;
  status: number;
  /** Total time spent on the call, retries included. */
  upstreamMs: number;
  attempts: number;
}

/** Most requests in flight to one vendor per client; keep-alive then reuses that many connections at most. */
export const MAX_IN_FLIGHT = 16;
/** Most calls of one user in progress per client unless `maxInFlightPerUser` says otherwise. */
export const DEFAULT_MAX_IN_FLIGHT_PER_USER = 4;

/** Options of the routers that call a vendor for the signed-in user (Nevermined, Wonderful). */
export interface PerUserUpstreamOptions {
  /**
   * Most vendor calls one signed-in user (counted by `id`) may have in progress through
   * this router at once, 1 to 16. A further request of that user waits until one of them
   * ends (the wait counts against `timeoutMs`), so a single user never holds more than
   * this many of the 16 connections to the vendor. Raise it when many people share one
   * user id. Defaults to 4.
   */
  maxInFlightPerUser?: number;
}

/** zod shape of {@link PerUserUpstreamOptions}. */
export const perUserUpstreamOptionsShape = {
  maxInFlightPerUser: z
    .number()
    .int('must be a whole number')
    .min(1, 'must be at least 1')
    .max(MAX_IN_FLIGHT, `must be at most ${MAX_IN_FLIGHT} (the connections to one vendor)`)
    .default(DEFAULT_MAX_IN_FLIGHT_PER_USER),
};

const MAX_ERROR_BODY = 16 * 1024;
const MAX_OK_BODY = 1024 * 1024;
/** No vendor answer this library reads nests deeper; far deeper ones overflow the stack of the code that writes them out. */
const MAX_OK_DEPTH = 64;
const MAX_RETRY_AFTER_MS = 2000;
/** Longest vendor error code and correlation id kept (after redaction). */
const MAX_VENDOR_CODE = 100;
const MAX_CORRELATION_ID = 200;
/**
 * Longest reason a body check gives for refusing a body (after redaction with the call's
 * secrets). Longer than any log or report shows (300 and 1000 characters), which redact
 * the whole message with every router's secrets before cutting it: so the cut here,
 * which could split another router's secret, is never in view.
 */
const MAX_REFUSAL_REASON = 2000;

/**
 * The `params` member of a zod issue that carries why a body check refused a vendor's
 * body, in words its author chose to log (`'a token for another user'`): the message of
 * the call's error then ends with it.
 */
export const REFUSAL_REASON = 'widgetAuthRefusal';

function refusalReason(issues: readonly z.core.$ZodIssue[]): string | undefined {
  for (const issue of issues) {
    const reason: unknown = issue.code === 'custom' ? issue.params?.[REFUSAL_REASON] : undefined;
    if (typeof reason === 'string' && reason.trim() !== '') return reason;
  }
  return undefined;
}

/**
 * The key that bounds a signed-in user's vendor calls: the user's `id` (a number is
 * taken as its decimal text), or `undefined` when it has none, which leaves the call
 * unbounded per user.
 */
export function userKeyOf(user: WidgetUser | undefined): string | undefined {
  const id: unknown = user?.id;
  return typeof id === 'string' ? id : typeof id === 'number' ? String(id) : undefined;
}

/** How a wait for a slot ended. */
type Wait = 'granted' | 'timeout' | 'aborted';

/**
 * Counts slots; callers beyond `max` wait in arrival order until their deadline. A freed
 * slot is handed straight to the oldest waiter, so a newcomer cannot slip in between.
 */
class Semaphore {
  private active = 0;
  /** Insertion-ordered, so the first entry is the oldest waiter; created on first use. */
  private waiting: Set<() => void> | undefined;
  constructor(private readonly max: number) {}

  /** Take a slot if one is free now (the path of every call when nothing queues). */
  tryAcquire(): boolean {
    if (this.active >= this.max) return false;
    this.active++;
    return true;
  }

  /** Wait for a slot until `deadline` (a `performance.now()` time) or until `abort` aborts. */
  wait(deadline: number, abort: AbortSignal | AbortSource | undefined): Promise<Wait> {
    const waiting = (this.waiting ??= new Set());
    const signal = abort === undefined || !('signal' in abort) ? abort : abort.signal;
    if (signal?.aborted) return Promise.resolve('aborted');
    return new Promise<Wait>((resolve) => {
      let done = false;
      const settle = (outcome: Wait) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        waiting.delete(grant);
        resolve(outcome);
      };
      const grant = () => settle('granted');
      const onAbort = () => settle('aborted');
      const timer = setTimeout(settle, Math.max(0, deadline - performance.now()), 'timeout');
      signal?.addEventListener('abort', onAbort);
      waiting.add(grant);
    });
  }

  /** Whether a call waits for a slot. */
  get hasWaiters(): boolean {
    return this.waiting !== undefined && this.waiting.size > 0;
  }

  release(): void {
    if (this.waiting !== undefined) {
      for (const grant of this.waiting) {
        // the slot passes on without being counted down and up again
        this.waiting.delete(grant);
        grant();
        return;
      }
    }
    this.active--;
  }

  /** No slot taken and nobody waiting: a per-user semaphore in this state is dropped. */
  get idle(): boolean {
    return this.active === 0 && (this.waiting === undefined || this.waiting.size === 0);
  }
}

/** A vendor's code or correlation id: its own free text, which may echo what was sent, redacted and cut to `max`. */
function vendorTextOf(req: { redact?: Redactor | undefined }, text: string, max: number): string {
  return cutText(req.redact ? req.redact(text, max) : text, max);
}

/** The vendor's correlation id header, redacted: read only for an error (a success never needs it). */
function correlationOf(req: { redact?: Redactor | undefined }, res: RawAnswer): string | undefined {
  const id = res.header('x-correlation-id') ?? res.header('x-request-id');
  return id === undefined ? undefined : vendorTextOf(req, id, MAX_CORRELATION_ID);
}

/** Seconds from a `Retry-After` header (delta-seconds or HTTP date), if present and sane. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Math.min(Number(value.trim()), 86_400);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - now) / 1000));
}

function isTimeout(err: unknown): boolean {
  // by name: the DOMException fetch rejects with may come from another realm (vm, jest)
  const name = typeof err === 'object' && err !== null ? (err as { name?: unknown }).name : undefined;
  return name === 'TimeoutError' || name === 'AbortError';
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Vendor error bodies: `{ code, message, correlationId }` and common variants. Only code and id are kept. */
const vendorErrorSchema = z
  .object({
    code: z.union([z.string(), z.number()]).optional(),
    // HubSpot's error bodies name the kind of failure `category` (`MISSING_SCOPES`) and carry no `code`
    category: z.string().optional().catch(undefined),
    correlationId: z.string().optional(),
    correlation_id: z.string().optional(),
    error: z.union([z.string(), z.object({ code: z.union([z.string(), z.number()]).optional() }).loose()]).optional(),
  })
  .loose();

/** A vendor's answer as the client needs it: status, headers, and the body text (capped). */
interface RawAnswer {
  status: number;
  header(name: string): string | undefined;
  text: string;
}

/** What one attempt sends. */
interface RawRequest {
  url: string;
  method: 'GET' | 'POST';
  /** Made for this attempt: the transport may add to it. */
  headers: Record<string, string>;
  body?: string;
  timeoutMs: number;
  /** Bytes read at most from a 2xx body and from an error body. */
  maxOkBytes: number;
  maxErrorBytes: number;
}

/** Why an attempt got no usable answer. Only `connection` is retried. */
class TransportError extends Error {
  constructor(readonly kind: 'timeout' | 'connection' | 'too-large', readonly connectionCode?: string) {
    super(kind);
    this.name = 'TransportError';
  }
}

type Transport = (req: RawRequest) => Promise<RawAnswer>;

/** What one attempt came to: the checked data, or the error and whether to try again (after `waitMs`, when the vendor said). */
type Attempt<T> = { ok: true; data: T; status: number } | { ok: false; error: WidgetAuthError; retry: boolean; waitMs?: number };

/** Where a URL's requests go, as `http.request` takes it. */
interface Target {
  protocol: string;
  hostname: string;
  port: string | number | null | undefined;
  path: string;
  auth: string | null | undefined;
}

/** Longest time a connection waits unused in a client's pool: less than a typical server's 5 s keep-alive timeout. */
const IDLE_MS = 4000;
/** How often a client's pool is swept for connections idle too long, while it holds any. */
const SWEEP_MS = 500;
/**
 * How long before its limit a sweep closes a connection: one sweep's interval, so the next
 * sweep is never too late, and 125 ms more for a sweep that runs late on a busy process.
 */
const SWEEP_LEAD_MS = SWEEP_MS + 125;
/** When a pooled connection is to be closed, a `performance.now()` time. */
const CLOSE_AT = Symbol('closeAt');
/** How long the connection may stay idle, from the server's `Keep-Alive` header. */
const IDLE_LIMIT = Symbol('idleLimit');
type PooledSocket = Duplex & { [CLOSE_AT]?: number; [IDLE_LIMIT]?: number };

let lastKeepAlive: string | undefined;
let lastIdleLimit = IDLE_MS;
/**
 * The idle limit a server's `Keep-Alive` header asks for: its `timeout` less 1 s, as Node's
 * agent counts it, when that is below {@link IDLE_MS}. A server sends the same header on
 * every answer, so the last one read is kept.
 */
function idleLimitOf(header: string): number {
  if (header !== lastKeepAlive) {
    const seconds = /^timeout=(\d+)/.exec(header)?.[1];
    lastIdleLimit = seconds === undefined ? IDLE_MS : Math.max(0, Math.min(IDLE_MS, Number(seconds) * 1000 - 1000));
    lastKeepAlive = header;
  }
  return lastIdleLimit;
}

/**
 * The default transport: Node's own `http`/`https` clients with one keep-alive agent
 * per vendor client, at most {@link MAX_IN_FLIGHT} sockets. On Node 20 it costs about
 * a third of the CPU time of the global `fetch` per call, and it spares the garbage
 * collector the long pauses that `fetch`'s finalizer-registered responses cause, which
 * set the slowest 1% of answers (see `bench/README.md`).
 */
function nodeTransport(): Transport {
  const agentOptions = { keepAlive: true, maxSockets: MAX_IN_FLIGHT, maxFreeSockets: MAX_IN_FLIGHT, scheduling: 'lifo' as const, noDelay: true };
  let sweeper: NodeJS.Timeout | undefined;
  /** Close the pooled connections whose idle time is (nearly) up; stop sweeping once none is pooled. */
  const sweep = (): void => {
    const now = performance.now();
    let pooled = 0;
    for (const agent of [agents['http:'], agents['https:']]) {
      for (const list of Object.values(agent.freeSockets)) {
        // a copy: a closed socket leaves the pool (on its 'close' event, a turn later)
        for (const socket of [...(list ?? [])] as PooledSocket[]) {
          if ((socket[CLOSE_AT] ?? 0) - SWEEP_LEAD_MS <= now) socket.destroy();
          else pooled++;
        }
      }
    }
    if (pooled === 0) {
      clearInterval(sweeper);
      sweeper = undefined;
    }
  };
  /**
   * Node's agent with one change: an idle connection is closed by a sweep of the pool
   * instead of by a timer on the socket, which Node would re-arm on every call. It is closed
   * before it has been idle {@link IDLE_MS} (or the server's `Keep-Alive: timeout` less 1 s,
   * when that is sooner), so it is never reused just as the server closes it.
   */
  const pool = <A extends http.Agent>(agent: A): A => {
    const keepSocketAlive = agent.keepSocketAlive as (this: A, socket: Duplex) => boolean;
    agent.keepSocketAlive = (socket: Duplex) => {
      // Node's own: keep-alive probes, unref, and false when the server's keep-alive is too short to reuse
      if (!keepSocketAlive.call(agent, socket)) return false;
      const pooled = socket as PooledSocket;
      pooled[CLOSE_AT] = performance.now() + (pooled[IDLE_LIMIT] ?? IDLE_MS);
      sweeper ??= setInterval(sweep, SWEEP_MS).unref();
      return true;
    };
    return agent;
  };
  const agents = { 'http:': pool(new http.Agent(agentOptions)), 'https:': pool(new https.Agent(agentOptions)) };
  // a client calls a handful of fixed URLs: parse each once
  const targets = new Map<string, Target>();
  const target = (href: string): Target => {
    let found = targets.get(href);
    if (!found) {
      const { protocol, hostname, port, path, auth } = urlToHttpOptions(new URL(href));
      found = { protocol: protocol!, hostname: hostname!, port, path: path!, auth };
      if (targets.size < 64) targets.set(href, found);
    }
    return found;
  };
  return (raw) =>
    new Promise<RawAnswer>((resolve, reject) => {
      const to = target(raw.url);
      const secure = to.protocol === 'https:';
      // the attempt's own object, made for this request
      const headers: Record<string, string | number> = raw.headers;
      if (raw.body !== undefined) headers['Content-Length'] = Buffer.byteLength(raw.body);
      let settled = false;
      const fail = (err: TransportError) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        request.destroy();
        reject(err);
      };
      const request = (secure ? https : http).request(
        // the same fields in the same order every call
        { protocol: to.protocol, hostname: to.hostname, port: to.port, path: to.path, auth: to.auth, method: raw.method, headers, agent: secure ? agents['https:'] : agents['http:'] },
        (res) => {
          const status = res.statusCode ?? 0;
          const keepAlive = res.headers['keep-alive'];
          if (typeof keepAlive === 'string' && res.socket !== null) (res.socket as PooledSocket)[IDLE_LIMIT] = idleLimitOf(keepAlive);
          const ok = status >= 200 && status < 300;
          const max = ok ? raw.maxOkBytes : raw.maxErrorBytes;
          const chunks: Buffer[] = [];
          let size = 0;
          const finish = () => {
            if (settled) return;
            settled = true;
            clearTimeout(timer);
            const header = (name: string) => {
              const value = res.headers[name];
              return Array.isArray(value) ? value[0] : value;
            };
            resolve({ status, header, text: Buffer.concat(chunks).toString('utf8') });
          };
          res.on('data', (chunk: Buffer) => {
            if (settled) return;
            if (size + chunk.length > max) {
              // a success body this large is no answer this library expects; an error body
              // is only read for its code, so the rest is dropped with the socket
              if (ok) return fail(new TransportError('too-large'));
              chunks.push(chunk.subarray(0, max - size));
              finish();
              res.destroy();
              return;
            }
            chunks.push(chunk);
            size += chunk.length;
          });
          res.on('end', finish);
          res.on('error', () => fail(new TransportError('connection', 'ECONNRESET')));
          res.on('aborted', () => fail(new TransportError('connection', 'ECONNRESET')));
        },
      );
      const timer = setTimeout(() => fail(new TransportError('timeout')), raw.timeoutMs);
      request.on('error', (err: NodeJS.ErrnoException) => fail(new TransportError('connection', typeof err.code === 'string' ? err.code : undefined)));
      request.end(raw.body);
    });
}

/**
 * A fetch answer's body as UTF-8 text, read chunk by chunk and never past `max` bytes: a
 * success body over it fails (`too-large`), an error body is cut to it (only its code is
 * read). The rest is cancelled unread, so a vendor answering gigabytes costs `max`.
 */
async function readCapped(res: Response, max: number, failOver: boolean): Promise<string> {
  if (res.body === null) return '';
  const reader = res.body.getReader();
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (size + value.byteLength > max) {
        if (failOver) throw new TransportError('too-large');
        chunks.push(Buffer.from(value.buffer, value.byteOffset, max - size));
        size = max;
        break;
      }
      chunks.push(Buffer.from(value.buffer, value.byteOffset, value.byteLength));
      size += value.byteLength;
    }
  } finally {
    // the unread rest is dropped with the connection
    void reader.cancel().catch(() => undefined);
  }
  return Buffer.concat(chunks, size).toString('utf8');
}

/** A transport over a caller-given `fetch` (a proxy agent, instrumentation). */
function fetchTransport(doFetch: typeof fetch): Transport {
  return async (raw) => {
    const init: RequestInit = { method: raw.method, headers: raw.headers, signal: AbortSignal.timeout(raw.timeoutMs), redirect: 'manual' };
    if (raw.body !== undefined) init.body = raw.body;
    try {
      const res = await doFetch(raw.url, init);
      const ok = res.status >= 200 && res.status < 300;
      const text = await readCapped(res, ok ? raw.maxOkBytes : raw.maxErrorBytes, ok);
      return { status: res.status, header: (name) => res.headers.get(name) ?? undefined, text };
    } catch (err) {
      if (err instanceof TransportError) throw err;
      if (isTimeout(err)) throw new TransportError('timeout');
      const code = (err as { cause?: { code?: unknown } })?.cause?.code;
      throw new TransportError('connection', typeof code === 'string' ? code : undefined);
    }
  };
}

/**
 * A client for one vendor: Node's `http`/`https` with keep-alive (or the given `fetch`), a timeout per attempt,
 * at most {@link MAX_IN_FLIGHT} requests in flight so keep-alive connections are reused
 * and bounded, one jittered retry on connection errors and 502/503/504 (honouring
 * `Retry-After`), zod validation of every 2xx body, and vendor failures mapped to
 * `UPSTREAM_*` errors that keep the vendor's code and correlation id for the log.
 *
 * Calls beyond {@link MAX_IN_FLIGHT} wait in arrival order, for half of `timeoutMs` at most
 * (then 504 `UPSTREAM_TIMEOUT`, the vendor never called); the wait counts against the first
 * attempt's `timeoutMs`. A call whose `signal` aborts while it waits leaves the queue at
 * once. Calls with a `userKey` also wait while that key has `maxInFlightPerUser` calls in
 * progress (default {@link DEFAULT_MAX_IN_FLIGHT_PER_USER}), so one user cannot take every
 * connection.
 */
export function createUpstreamClient(
  vendor: string,
  options: { timeoutMs: number; retries: number; fetch?: typeof fetch | undefined; maxInFlightPerUser?: number | undefined },
) {
  const gate = new Semaphore(MAX_IN_FLIGHT);
  const perUser = options.maxInFlightPerUser ?? DEFAULT_MAX_IN_FLIGHT_PER_USER;
  /** Calls in progress per user key; an entry lives only while its user has calls. */
  const users = new Map<string, Semaphore>();
  const queueMs = options.timeoutMs / 2;
  const send = options.fetch ? fetchTransport(options.fetch) : nodeTransport();

  /** A 2xx answer that cannot be used: `what` it was, with the vendor's correlation id header. */
  function invalidAnswer(req: VendorRequest<unknown>, res: RawAnswer, what: string): { ok: false; retry: false; error: WidgetAuthError } {
    const correlationId = correlationOf(req, res);
    return { ok: false, retry: false, error: new WidgetAuthError('UPSTREAM_INVALID_RESPONSE', `${vendor} answered ${res.status} with ${what}.`, { upstreamStatus: res.status, ...(correlationId ? { correlationId } : {}) }) };
  }

  /**
   * One attempt: the answer judged, or why it failed. Not an async function: V8 gives each
   * call of one a copy of its registers, and this one's answer is judged in {@link judge}.
   */
  function attempt<T>(req: VendorRequest<T>, timeoutMs: number): Promise<Attempt<T>> {
    const headers: Record<string, string> = { Accept: 'application/json', ...req.headers };
    const raw: RawRequest = { url: req.url, method: req.method ?? 'POST', headers, timeoutMs, maxOkBytes: MAX_OK_BODY, maxErrorBytes: MAX_ERROR_BODY };
    if (req.body !== undefined) {
      headers['Content-Type'] = 'application/json';
      raw.body = JSON.stringify(req.body);
    }
    return send(raw).then((res) => judge(req, res), notAnswered);
  }

  /** An attempt the transport gave up on: a timeout, a body over the cap, or no connection. */
  function notAnswered(err: unknown): Attempt<never> {
    const kind = err instanceof TransportError ? err.kind : 'connection';
    if (kind === 'timeout') {
      return { ok: false, retry: false, error: new WidgetAuthError('UPSTREAM_TIMEOUT', `${vendor} did not answer within ${options.timeoutMs} ms.`) };
    }
    if (kind === 'too-large') {
      return { ok: false, retry: false, error: new WidgetAuthError('UPSTREAM_INVALID_RESPONSE', `${vendor} answered with a body over ${MAX_OK_BODY} bytes.`) };
    }
    return { ok: false, retry: true, error: new WidgetAuthError('UPSTREAM_UNAVAILABLE', `${vendor} could not be reached.`, { cause: connectionCause(err) }) };
  }

  /** What an answer means: its checked data, or the error to answer with and whether to retry. */
  function judge<T>(req: VendorRequest<T>, res: RawAnswer): Attempt<T> {
    const { status, text } = res;
    if (status >= 200 && status < 300) {
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        return invalidAnswer(req, res, 'a body that is not JSON');
      }
      if (json !== null && typeof json === 'object' && nestsDeeperThan(text, MAX_OK_DEPTH)) return invalidAnswer(req, res, `JSON nested more than ${MAX_OK_DEPTH} levels deep`);
      if (req.parse !== undefined) {
        let data: T;
        try {
          data = req.parse(json);
        } catch (err) {
          // read once: a getter could answer differently the second time
          const message: unknown = isWidgetAuthError(err) ? err.message : undefined;
          const reason = typeof message === 'string' && message.trim() !== '' ? message : undefined;
          return invalidAnswer(req, res, reason !== undefined ? vendorTextOf(req, reason, MAX_REFUSAL_REASON).replace(/[.\s]+$/, '') : 'a body that is not the documented object');
        }
        if (isThenable(data)) {
          // what it settles with may quote the body: never read
          Promise.resolve(data).catch(() => undefined);
          return { ok: false, retry: false, error: new WidgetAuthError('INTERNAL_ERROR', `The parse given for ${vendor}'s answer returned a promise; it must check the body and return the value at once.`) };
        }
        return { ok: true, data, status };
      }
      const accepted = req.accept?.(json);
      if (accepted !== undefined) return { ok: true, data: accepted, status };
      if (req.schema === undefined) return { ok: true, data: json as T, status };
      const parsed = req.schema.safeParse(json);
      if (!parsed.success) {
        const reason = refusalReason(parsed.error.issues);
        if (reason !== undefined) return invalidAnswer(req, res, vendorTextOf(req, reason, MAX_REFUSAL_REASON).replace(/[.\s]+$/, ''));
        const paths = [...new Set(parsed.error.issues.map((i) => i.path.join('.')))];
        // a field path when the object is right but a field is not; the whole body otherwise
        return invalidAnswer(req, res, paths.includes('') ? 'a body that is not the documented object' : `an unexpected body (${paths.slice(0, 5).join(', ')})`);
      }
      return { ok: true, data: parsed.data, status };
    }
    let vendorCode: string | undefined;
    let correlationId = correlationOf(req, res);
    try {
      const body = vendorErrorSchema.safeParse(JSON.parse(text));
      if (body.success) {
        const nested = typeof body.data.error === 'object' ? body.data.error.code : undefined;
        const code = body.data.code ?? nested ?? body.data.category;
        if (code !== undefined) vendorCode = vendorTextOf(req, String(code), MAX_VENDOR_CODE);
        const id = body.data.correlationId ?? body.data.correlation_id;
        if (id !== undefined) correlationId = vendorTextOf(req, id, MAX_CORRELATION_ID);
      }
    } catch {
      // a non-JSON error body carries nothing we keep
    }
    const retryAfterSeconds = parseRetryAfter(res.header('retry-after') ?? null);
    const details = {
      upstreamStatus: status,
      ...(vendorCode !== undefined ? { vendorCode } : {}),
      ...(correlationId !== undefined ? { correlationId } : {}),
    };
    if (status >= 300 && status < 400) {
      // a redirect is this server's base URL pointing at the wrong address (http for https, an old host or path), never a passing fault
      const target = redirectTarget(req.url, res.header('location'));
      const to = target === undefined ? '' : ` to ${vendorTextOf(req, target, MAX_REDIRECT_TARGET)}`;
      return { ok: false, retry: false, error: new WidgetAuthError('UPSTREAM_REJECTED', `${vendor} answered a redirect (HTTP ${status}${to}); redirects are not followed.`, { ...details, hint: `It points${to || ' elsewhere'}. ${REDIRECT_HINT}` }) };
    }
    if (status === 502 || status === 503 || status === 504) {
      return {
        ok: false,
        retry: true,
        ...(retryAfterSeconds !== undefined ? { waitMs: retryAfterSeconds * 1000 } : {}),
        error: new WidgetAuthError('UPSTREAM_UNAVAILABLE', `${vendor} is unavailable (HTTP ${status}).`, { ...details, ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}) }),
      };
    }
    if (status === 429) {
      return { ok: false, retry: false, error: new WidgetAuthError('UPSTREAM_UNAVAILABLE', `${vendor} is rate limiting this server (HTTP 429).`, { ...details, status: 503, retryAfterSeconds: retryAfterSeconds ?? 30 }) };
    }
    if (status >= 500) {
      return { ok: false, retry: false, error: new WidgetAuthError('UPSTREAM_UNAVAILABLE', `${vendor} failed (HTTP ${status}).`, details) };
    }
    return { ok: false, retry: false, error: new WidgetAuthError('UPSTREAM_REJECTED', `${vendor} refused the request (HTTP ${status}).`, details) };
  }

  function releaseUser(userKey: string, user: Semaphore): void {
    user.release();
    if (user.idle) users.delete(userKey);
  }

  /** Give back a call's slots (one turn after it ended: see `call`). */
  function releaseSlots(userKey: string | undefined, user: Semaphore | undefined): void {
    gate.release();
    if (user !== undefined) releaseUser(userKey!, user);
  }

  /** The error of a call that was given up before reaching the vendor. */
  function notCalled(started: number, why: Exclude<Wait, 'granted'>, perUserWait: boolean): WidgetAuthError {
    const error =
      why === 'aborted'
        ? new WidgetAuthError('UPSTREAM_UNAVAILABLE', `${vendor} was not called: the client had closed the request.`)
        : new WidgetAuthError(
            'UPSTREAM_TIMEOUT',
            perUserWait
              ? `${vendor} was not called: the same user still had ${perUser} calls in progress after ${Math.round(queueMs)} ms.`
              : `${vendor} was not called: none of its ${MAX_IN_FLIGHT} connections came free within ${Math.round(queueMs)} ms.`,
          );
    return timedSince(error, started);
  }

  /** A call's answer: the checked data of its last attempt, the time since it started, and how many attempts it made. */
  function answered<T>(result: Attempt<T> & { ok: true }, started: number, attempts: number): VendorResponse<T> {
    return { data: result.data, status: result.status, upstreamMs: performance.now() - started, attempts };
  }

  /**
   * The call once its slots are held: its first attempt, then {@link retried} when that
   * one failed. Not an async function (see {@link attempt}); the slots go back once, when
   * the call is settled.
   */
  function run<T>(req: VendorRequest<T>, started: number, signal: VendorRequest<T>['signal'], userKey: string | undefined, user: Semaphore | undefined): Promise<VendorResponse<T>> {
    let held = true;
    const release = (): void => {
      if (!held) return;
      held = false;
      // a call waiting for a slot is freed one turn later: by then the agent has put the
      // connection back in its pool, so that call reuses it instead of opening another.
      // With nobody waiting the slots go back now (most calls): a later call starts from
      // another turn, after the agent's own
      if (gate.hasWaiters || user?.hasWaiters === true) setImmediate(releaseSlots, userKey, user);
      else releaseSlots(userKey, user);
    };
    const settle = (result: Attempt<T>): VendorResponse<T> | Promise<VendorResponse<T>> => {
      if (!result.ok) return retried(req, started, signal, result).finally(release);
      release();
      return answered(result, started, 1);
    };
    const failed = (err: unknown): never => {
      release();
      throw err;
    };
    try {
      // the queue's wait counts against the first attempt: one deadline from the call's start
      return attempt(req, Math.max(1, Math.ceil(started + options.timeoutMs - performance.now()))).then(settle, failed);
    } catch (err) {
      // a body that cannot be written as JSON, a getter of the request that throws
      release();
      return Promise.reject(err);
    }
  }

  /** The attempts after a failed first one, while the failure may pass and the client waits; rejects with the last failure. */
  async function retried<T>(req: VendorRequest<T>, started: number, signal: VendorRequest<T>['signal'], failure: Attempt<T> & { ok: false }): Promise<VendorResponse<T>> {
    let result: Attempt<T> = failure;
    for (let attempts = 1; ; ) {
      if (result.ok) return answered(result, started, attempts);
      // nobody waits for a retry's answer once the client has gone
      if (!result.retry || attempts > options.retries || (result.waitMs ?? 0) > MAX_RETRY_AFTER_MS || signal?.aborted) {
        throw timedSince(result.error, started);
      }
      // jittered backoff: 50–150 ms, or what Retry-After asked for
      await sleep(result.waitMs ?? 50 + Math.random() * 100);
      if (signal?.aborted) throw timedSince(result.error, started);
      attempts++;
      result = await attempt(req, options.timeoutMs);
    }
  }

  /** A call whose user or the client has no slot free now: it waits for them in turn, then runs. */
  async function queued<T>(req: VendorRequest<T>, started: number, signal: VendorRequest<T>['signal'], userKey: string | undefined, user: Semaphore | undefined, userHeld: boolean): Promise<VendorResponse<T>> {
    if (user !== undefined && !userHeld) {
      const outcome = await user.wait(started + queueMs, signal);
      if (outcome !== 'granted') {
        if (user.idle) users.delete(userKey!);
        throw notCalled(started, outcome, true);
      }
    }
    if (!gate.tryAcquire()) {
      const outcome = await gate.wait(started + queueMs, signal);
      if (outcome !== 'granted') {
        if (user !== undefined) releaseUser(userKey!, user);
        throw notCalled(started, outcome, false);
      }
    }
    return run(req, started, signal, userKey, user);
  }

  return {
    /**
     * Make one call (plus retries). Resolves to the validated body or rejects with a
     * {@link WidgetAuthError}; never calls the vendor for a `signal` that has aborted.
     * Not an async function: a call that finds its slots free (most calls) goes straight
     * to {@link run}.
     */
    call<T>(req: VendorRequest<T>): Promise<VendorResponse<T>> {
      const started = performance.now();
      let signal: VendorRequest<T>['signal'];
      let userKey: string | undefined;
      try {
        ({ signal, userKey } = req);
      } catch (err) {
        return Promise.reject(err);
      }
      if (signal?.aborted) return Promise.reject(notCalled(started, 'aborted', false));
      let user: Semaphore | undefined;
      if (userKey !== undefined) {
        user = users.get(userKey);
        if (user === undefined) users.set(userKey, (user = new Semaphore(perUser)));
        if (!user.tryAcquire()) return queued(req, started, signal, userKey, user, false);
      }
      if (!gate.tryAcquire()) return queued(req, started, signal, userKey, user, true);
      return run(req, started, signal, userKey, user);
    },
  };
}

/** What a report says to do about a redirect. */
const REDIRECT_HINT = "Set the base URL to the address the vendor's API answers at itself (https rather than http, the current host, the path prefix the vendor documents): the router does not follow redirects, which could carry the key to another host.";

/** Longest redirect target quoted (after redaction). */
const MAX_REDIRECT_TARGET = 200;

/** The origin and path of a redirect's `Location` (never its query), resolved against `from`; `undefined` when there is none or it does not parse. */
function redirectTarget(from: string, location: string | undefined): string | undefined {
  if (location === undefined) return undefined;
  try {
    const to = new URL(location, from);
    return `${to.origin}${to.pathname}`;
  } catch {
    return undefined;
  }
}

/** Record on an error the time its call took since `started` (the log event's `upstreamMs`). */
function timedSince(error: WidgetAuthError, started: number): WidgetAuthError {
  return withUpstreamMs(error, performance.now() - started);
}

/** The kind of a connection failure (`ECONNRESET`, …) without its message, which may hold a URL. */
function connectionCause(err: unknown): Error {
  const code = err instanceof TransportError ? err.connectionCode : undefined;
  const e = new Error(code ?? 'ECONNECTION');
  e.name = 'ConnectionError';
  return e;
}

/** A client built by {@link createUpstreamClient}. */
export type UpstreamClient = ReturnType<typeof createUpstreamClient>;
