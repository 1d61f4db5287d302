import { z } from 'zod';

/**
 * Anything with pino's `info/warn/error(obj, msg)` methods: pino itself, a child
 * logger, or a small adapter over your own logging.
 */
export interface WidgetAuthLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** The one event logged per request. It never holds a secret, token, body or query string. */
export interface RequestLogEvent {
  vendor: string;
  route: string;
  method: string;
  status: number;
  /** The error code on the wire, when the request failed. */
  code?: string;
  durationMs: number;
  /** Time spent waiting on the vendor, when the route called one. */
  upstreamMs?: number;
  /** Vendor-side details of a vendor failure, for the operator. */
  vendorCode?: string;
  correlationId?: string;
  upstreamStatus?: number;
  /** Name and (redacted) message of an unexpected error. */
  err?: { name: string; message: string };
  /**
   * When the cause is the host's to fix (a hook, the configuration, the vendor refusing
   * this server): what is wrong and what to do, redacted. Not set with `report: false`.
   */
  hint?: string;
  /** Link to the section of docs/errors.md about that cause, with `hint`. */
  docs?: string;
}

export const loggerSchema = z.custom<WidgetAuthLogger>(
  (v) =>
    typeof v === 'object' &&
    v !== null &&
    ['info', 'warn', 'error'].every((m) => typeof (v as Record<string, unknown>)[m] === 'function'),
  { message: 'must be a logger with info, warn and error methods (pino-compatible)' },
);

/** Every textual form a secret could take on its way into a log line or a URL. */
export function encodedForms(secret: string): string[] {
  const buf = Buffer.from(secret, 'utf8');
  const forms = new Set([
    secret,
    encodeURIComponent(secret),
    buf.toString('base64'),
    buf.toString('base64url'),
    buf.toString('base64').replace(/=+$/, ''),
    buf.toString('hex'),
  ]);
  return [...forms].filter((f) => f.length >= 6);
}

/**
 * A function that replaces every occurrence of the given secrets (and their
 * base64/base64url/URL-encoded/hex forms) in a string with `[redacted]`.
 */
export function createRedactor(secrets: readonly string[]): (text: string) => string {
  const forms = [...new Set(secrets.filter((s) => s.length > 0).flatMap(encodedForms))].sort((a, b) => b.length - a.length);
  if (forms.length === 0) return (text) => text;
  return (text) => {
    let out = text;
    for (const form of forms) if (out.includes(form)) out = out.split(form).join('[redacted]');
    return out;
  };
}

/** Describe an unexpected error for the log: its name and a redacted, shortened message. */
export function describeUnexpected(err: unknown, redact: (text: string) => string): { name: string; message: string } {
  // a name is as free-form as a message (custom classes, `Object.assign(err, { name })`)
  const name = err instanceof Error ? redact(String(err.name)).slice(0, 100) : typeof err;
  const raw = err instanceof Error ? err.message : '';
  return { name, message: redact(raw).slice(0, 300) };
}

/**
 * Log one request event at the level its status calls for. A logger that throws is
 * ignored: the event is written after the answer, where an exception would be uncaught
 * and take the whole server down.
 */
export function logRequest(logger: WidgetAuthLogger, event: RequestLogEvent): void {
  try {
    if (event.status >= 500) logger.error(event, 'widget auth request failed');
    else if (event.status >= 400) logger.warn(event, 'widget auth request refused');
    else logger.info(event, 'widget auth request');
  } catch {
    // nowhere left to report it
  }
}
