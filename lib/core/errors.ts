/**
 * Where `docs/errors.md` is published: every report and configuration error links one of
 * its headings, so a message read in a terminal or a log search leads to the fix.
 */
export const ERRORS_DOCS_URL = 'https://github.com/express-widget-auth/express-widget-auth/blob/main/docs/errors.md';

/**
 * Every code a {@link WidgetAuthError} can carry. Callers branch on `code`, never on
 * the message text.
 *
 * Canonical codes are raised by the shared pipeline; each vendor's contract may rename
 * some of them on the wire (Neut answers `INVALID_WIDGET_REQUEST` where others answer
 * `INVALID_REQUEST`, Wonderful answers `NETWORK_ERROR` for an unreachable vendor).
 */
export type WidgetAuthErrorCode =
  | 'UNAUTHORIZED'
  | 'INVALID_REQUEST'
  | 'INVALID_WIDGET_REQUEST'
  | 'VALIDATION_ERROR'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'PAYLOAD_TOO_LARGE'
  | 'FORBIDDEN_ORIGIN'
  | 'FORBIDDEN'
  | 'RATE_LIMITED'
  | 'METHOD_NOT_ALLOWED'
  | 'UPSTREAM_REJECTED'
  | 'UPSTREAM_UNAVAILABLE'
  | 'UPSTREAM_TIMEOUT'
  | 'UPSTREAM_INVALID_RESPONSE'
  | 'UPSTREAM_ERROR'
  | 'UPSTREAM_FEATURE_UNAVAILABLE'
  | 'NETWORK_ERROR'
  | 'INTERNAL_ERROR';

/** The HTTP status each code answers with unless the error says otherwise. */
export const DEFAULT_STATUS: Readonly<Record<WidgetAuthErrorCode, number>> = Object.freeze({
  UNAUTHORIZED: 401,
  INVALID_REQUEST: 400,
  INVALID_WIDGET_REQUEST: 400,
  VALIDATION_ERROR: 400,
  UNSUPPORTED_MEDIA_TYPE: 415,
  PAYLOAD_TOO_LARGE: 413,
  FORBIDDEN_ORIGIN: 403,
  FORBIDDEN: 403,
  RATE_LIMITED: 429,
  METHOD_NOT_ALLOWED: 405,
  UPSTREAM_REJECTED: 502,
  UPSTREAM_UNAVAILABLE: 502,
  UPSTREAM_TIMEOUT: 504,
  UPSTREAM_INVALID_RESPONSE: 502,
  UPSTREAM_ERROR: 502,
  UPSTREAM_FEATURE_UNAVAILABLE: 503,
  NETWORK_ERROR: 502,
  INTERNAL_ERROR: 500,
});

/** Extra facts an error may carry. None of them is ever sent to the browser except `correlationId`. */
export interface WidgetAuthErrorDetails {
  /** HTTP status to answer with. Defaults to the code's usual status. */
  status?: number;
  /** The underlying error, kept for the operator (never serialised into a response). */
  cause?: unknown;
  /** Seconds the client should wait before retrying (sets `Retry-After`). */
  retryAfterSeconds?: number;
  /** The vendor's own error code, when a vendor answered with one. Logged, not sent. */
  vendorCode?: string;
  /** The vendor's correlation id, for support requests. Logged and sent. */
  correlationId?: string;
  /** The HTTP status the vendor answered with. Logged, not sent. */
  upstreamStatus?: number;
  /** The option or body field the error is about. */
  field?: string;
  /**
   * What the operator should do, in the library's own words (a scope to grant, a plan
   * to upgrade): reports give it in place of their general advice. Never sent.
   */
  hint?: string;
}

/**
 * The one error class of the library's request handling.
 *
 * @example
 * ```ts
 * try { validateNeutWidgetRequest(body); }
 * catch (err) { if (err instanceof WidgetAuthError && err.code === 'INVALID_WIDGET_REQUEST') … }
 * ```
 */
export class WidgetAuthError extends Error {
  override readonly name = 'WidgetAuthError';
  readonly code: WidgetAuthErrorCode;
  readonly status: number;
  readonly retryAfterSeconds?: number;
  readonly vendorCode?: string;
  readonly correlationId?: string;
  readonly upstreamStatus?: number;
  readonly field?: string;
  readonly hint?: string;

  constructor(code: WidgetAuthErrorCode, message: string, details: WidgetAuthErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    this.status = details.status ?? DEFAULT_STATUS[code];
    if (details.retryAfterSeconds !== undefined) this.retryAfterSeconds = details.retryAfterSeconds;
    if (details.vendorCode !== undefined) this.vendorCode = details.vendorCode;
    if (details.correlationId !== undefined) this.correlationId = details.correlationId;
    if (details.upstreamStatus !== undefined) this.upstreamStatus = details.upstreamStatus;
    if (details.field !== undefined) this.field = details.field;
    if (details.hint !== undefined) this.hint = details.hint;
  }
}

/**
 * Thrown synchronously by a factory or `…ConfigFromEnv` when its configuration is
 * wrong. `problems` lists every problem found (never a secret's value).
 */
export class WidgetAuthConfigError extends Error {
  override readonly name = 'WidgetAuthConfigError';
  readonly code = 'INVALID_CONFIG' as const;
  readonly problems: readonly string[];

  /** `heading` replaces the count of problems in the message: for one problem told in several lines (one per vendor). */
  constructor(subject: string, problems: readonly string[], heading?: string) {
    const list = problems.map((p) => `  - ${p}`).join('\n');
    super(`${subject}: ${heading ?? `${problems.length} configuration problem${problems.length === 1 ? '' : 's'}`}:\n${list}\nSee ${ERRORS_DOCS_URL}#configuration-errors`);
    this.problems = Object.freeze([...problems]);
  }
}

/** `value instanceof WidgetAuthError`, made safe: `instanceof` throws for a revoked Proxy or a throwing `getPrototypeOf` trap. */
export function isWidgetAuthError(value: unknown): value is WidgetAuthError {
  try {
    return value instanceof WidgetAuthError;
  } catch {
    return false;
  }
}

/**
 * The `hint` of an `UPSTREAM_INVALID_RESPONSE` for a vendor answer that holds a configured
 * secret: what the host should check, in the console report.
 */
export const SECRET_ECHO_HINT =
  "A vendor's API never sends a server's secret back: check that the base URL points at the vendor's API, not at a proxy or mock that echoes requests, and rotate the secret if that answer was stored or logged anywhere.";

/**
 * Record on an error how long its vendor call took (the log event's `upstreamMs`), as a
 * property that is not enumerable: it never reaches an answer or a spread copy.
 */
export function withUpstreamMs<E extends Error>(error: E, upstreamMs: number): E {
  Object.defineProperty(error, 'upstreamMs', { value: upstreamMs, enumerable: false });
  return error;
}

/**
 * The error for a vendor answer refused because it holds a secret: 502
 * `UPSTREAM_INVALID_RESPONSE` with {@link SECRET_ECHO_HINT}, the message saying what held
 * whose secret (never the secret), and, when known, the vendor's status and the call's
 * duration for the log event.
 */
export function secretEchoError(message: string, call: { upstreamStatus?: number; upstreamMs?: number } = {}): WidgetAuthError {
  const error = new WidgetAuthError('UPSTREAM_INVALID_RESPONSE', message, { ...(call.upstreamStatus !== undefined ? { upstreamStatus: call.upstreamStatus } : {}), hint: SECRET_ECHO_HINT });
  return call.upstreamMs === undefined ? error : withUpstreamMs(error, call.upstreamMs);
}
