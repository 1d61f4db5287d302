import { z } from 'zod';
import { WidgetAuthError } from './errors';

/** Options shared by every client that calls a vendor. */
export interface UpstreamOptions {
  /** Per-attempt timeout in milliseconds. Defaults to 5000. */
  timeoutMs?: number;
  /** Retries on connection errors and 502/503/504. Defaults to 1. */
  retries?: number;
  /** A `fetch` to use instead of the global one. */
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
  /** Validates the 2xx body; a mismatch is `UPSTREAM_INVALID_RESPONSE`. */
  schema: z.ZodType<T>;
}

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
const MAX_ERROR_BODY = 16 * 1024;
const MAX_RETRY_AFTER_MS = 2000;

class Semaphore {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(private readonly max: number) {}
  acquire(): Promise<() => void> {
    if (this.active < this.max) {
      this.active++;
      return Promise.resolve(this.releaser());
    }
    return new Promise((resolve) => this.waiting.push(() => resolve(this.releaser())));
  }
  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      // hand the slot straight to the next waiter, so a newcomer cannot slip in between
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    };
  }
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
    correlationId: z.string().optional(),
    correlation_id: z.string().optional(),
    error: z.union([z.string(), z.object({ code: z.union([z.string(), z.number()]).optional() }).loose()]).optional(),
  })
  .loose();

async function readText(res: Response, max: number): Promise<string> {
  const text = await res.text();
  return text.length > max ? text.slice(0, max) : text;
}

/**
 * A client for one vendor: global `fetch` (or the given one), a timeout per attempt,
 * at most {@link MAX_IN_FLIGHT} requests in flight so keep-alive connections are reused
 * and bounded, one jittered retry on connection errors and 502/503/504 (honouring
 * `Retry-After`), zod validation of every 2xx body, and vendor failures mapped to
 * `UPSTREAM_*` errors that keep the vendor's code and correlation id for the log.
 */
export function createUpstreamClient(vendor: string, options: { timeoutMs: number; retries: number; fetch?: typeof fetch | undefined }) {
  const gate = new Semaphore(MAX_IN_FLIGHT);
  const doFetch = options.fetch ?? ((input: string, init: RequestInit) => fetch(input, init));

  async function attempt<T>(req: VendorRequest<T>): Promise<{ ok: true; data: T; status: number } | { ok: false; error: WidgetAuthError; retry: boolean; waitMs?: number }> {
    const headers: Record<string, string> = { Accept: 'application/json', ...req.headers };
    const init: RequestInit = { method: req.method ?? 'POST', headers, signal: AbortSignal.timeout(options.timeoutMs), redirect: 'error' };
    if (req.body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(req.body);
    }
    let res: Response;
    let text: string;
    try {
      res = await doFetch(req.url, init);
      text = await readText(res, res.ok ? 1024 * 1024 : MAX_ERROR_BODY);
    } catch (err) {
      if (isTimeout(err)) {
        return { ok: false, retry: false, error: new WidgetAuthError('UPSTREAM_TIMEOUT', `${vendor} did not answer within ${options.timeoutMs} ms.`) };
      }
      return { ok: false, retry: true, error: new WidgetAuthError('UPSTREAM_UNAVAILABLE', `${vendor} could not be reached.`, { cause: connectionCause(err) }) };
    }
    const status = res.status;
    const correlationHeader = res.headers.get('x-correlation-id') ?? res.headers.get('x-request-id') ?? undefined;
    if (status >= 200 && status < 300) {
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        return { ok: false, retry: false, error: new WidgetAuthError('UPSTREAM_INVALID_RESPONSE', `${vendor} answered ${status} with a body that is not JSON.`, { upstreamStatus: status, ...(correlationHeader ? { correlationId: correlationHeader } : {}) }) };
      }
      const parsed = req.schema.safeParse(json);
      if (!parsed.success) {
        const fields = [...new Set(parsed.error.issues.map((i) => i.path.join('.') || '(body)'))].slice(0, 5).join(', ');
        return { ok: false, retry: false, error: new WidgetAuthError('UPSTREAM_INVALID_RESPONSE', `${vendor} answered ${status} with an unexpected body (${fields}).`, { upstreamStatus: status, ...(correlationHeader ? { correlationId: correlationHeader } : {}) }) };
      }
      return { ok: true, data: parsed.data, status };
    }
    let vendorCode: string | undefined;
    let correlationId = correlationHeader;
    try {
      const body = vendorErrorSchema.safeParse(JSON.parse(text));
      if (body.success) {
        const nested = typeof body.data.error === 'object' ? body.data.error.code : undefined;
        const code = body.data.code ?? nested;
        if (code !== undefined) vendorCode = String(code).slice(0, 100);
        correlationId = (body.data.correlationId ?? body.data.correlation_id ?? correlationId)?.slice(0, 200);
      }
    } catch {
      // a non-JSON error body carries nothing we keep
    }
    const retryAfterSeconds = parseRetryAfter(res.headers.get('retry-after'));
    const details = {
      upstreamStatus: status,
      ...(vendorCode !== undefined ? { vendorCode } : {}),
      ...(correlationId !== undefined ? { correlationId } : {}),
    };
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

  return {
    /** Make one call (plus retries). Resolves to the validated body or rejects with a {@link WidgetAuthError}. */
    async call<T>(req: VendorRequest<T>): Promise<VendorResponse<T>> {
      const started = performance.now();
      const release = await gate.acquire();
      try {
        let attempts = 0;
        for (;;) {
          attempts++;
          const result = await attempt(req);
          if (result.ok) return { data: result.data, status: result.status, upstreamMs: performance.now() - started, attempts };
          if (!result.retry || attempts > options.retries || (result.waitMs ?? 0) > MAX_RETRY_AFTER_MS) {
            Object.defineProperty(result.error, 'upstreamMs', { value: performance.now() - started, enumerable: false });
            throw result.error;
          }
          // jittered backoff: 50–150 ms, or what Retry-After asked for
          await sleep(result.waitMs ?? 50 + Math.random() * 100);
        }
      } finally {
        // free the slot one turn later: by then fetch has put the connection back in its
        // pool, so the next call reuses it instead of opening another
        setImmediate(release);
      }
    },
  };
}

/** The kind of a connection failure (`ECONNRESET`, …) without its message, which may hold a URL. */
function connectionCause(err: unknown): Error {
  const cause = (err as { cause?: { code?: unknown } })?.cause;
  const code = typeof cause?.code === 'string' ? cause.code : 'ECONNECTION';
  const e = new Error(code);
  e.name = 'ConnectionError';
  return e;
}

/** A client built by {@link createUpstreamClient}. */
export type UpstreamClient = ReturnType<typeof createUpstreamClient>;
