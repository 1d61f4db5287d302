import { ERRORS_DOCS_URL, isWidgetAuthError, type WidgetAuthError } from './errors';
import { describeUnexpected, type WidgetAuthLogger } from './logger';

/** The headings of `docs/errors.md` that reports link to (GitHub heading slugs). */
export const REPORT_ANCHORS = {
  user: 'resolveuser-returned-an-unusable-user',
  resolveUserThrew: 'resolveuser-threw-or-rejected',
  hook: 'a-hook-or-a-vendor-step-failed',
  unexpected: 'an-unexpected-error',
  rejected: 'the-vendor-refused-this-server',
  featureUnavailable: 'the-vendor-account-lacks-the-feature',
  invalidResponse: 'the-vendor-sent-an-unexpected-answer',
  unreachable: 'the-vendor-cannot-be-reached',
  hostParsedBody: 'a-body-parser-ran-before-the-router',
  rateLimit: 'rate-limit-warnings',
  misuse: 'a-factory-mounted-without-being-called',
} as const;

/** Link to one heading of `docs/errors.md`. */
export function docsLink(anchor: (typeof REPORT_ANCHORS)[keyof typeof REPORT_ANCHORS]): string {
  return `${ERRORS_DOCS_URL}#${anchor}`;
}

/**
 * A problem the host application must fix (its own hook, its configuration, a vendor
 * refusing its credentials), reported once per cause: on stderr by default, to the
 * `logger` when one is given. Never a secret: every text in it went through the
 * router's redactor.
 */
export interface WidgetAuthReport {
  /** The library's error code (`INTERNAL_ERROR`, `UPSTREAM_REJECTED`, …), express-rate-limit's (`ERR_ERL_…`), `INVALID_CONFIG`, or `BODY_PARSED_BEFORE_ROUTER` (a warning). */
  code: string;
  /** What kind of cause: `resolveUser.result`, `resolveUser.threw`, `hook`, `unexpected`, `upstream.rejected`, `upstream.featureUnavailable`, `upstream.invalidResponse`, `upstream.unreachable`, `rateLimit`, `host.bodyParser` or `factory.misuse`. */
  cause: string;
  /** The vendor whose router reports it, when a router does. */
  vendor?: string;
  /** The route pattern, for failures of a request. */
  route?: string;
  /** One sentence: what is wrong and what to do. */
  message: string;
  /** Link to the section of docs/errors.md about it. */
  docs: string;
}

type Level = 'warn' | 'error';

/** Causes remembered per destination; past this many, the oldest is forgotten (and may be reported again). */
const MAX_REMEMBERED = 512;
const stderrSeen = new Set<string>();
const loggerSeen = new WeakMap<WidgetAuthLogger, Set<string>>();

function firstTime(seen: Set<string>, key: string): boolean {
  if (seen.has(key)) return false;
  if (seen.size >= MAX_REMEMBERED) seen.delete(seen.values().next().value as string);
  seen.add(key);
  return true;
}

// C0/C1 controls and the Unicode line/paragraph separators: a host error message must not be able to forge a log line
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g;

/** One line of at most `max` characters, redacted first so that cutting it can never expose part of a secret. */
function clean(text: string, redact: (text: string) => string, max = 1000): string {
  const line = redact(text).replace(CONTROL, ' ');
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/** The report as one stderr line. */
export function formatReport(report: WidgetAuthReport): string {
  const where = [report.vendor, report.route].filter((part) => part !== undefined).join(' ');
  const stop = /[.!?]$/.test(report.message) ? '' : '.';
  return `express-widget-auth: ${where ? `${where}: ` : ''}${report.code}: ${report.message}${stop} See ${report.docs}`;
}

/**
 * Write `report` unless its cause (`key`) was already reported to the same destination:
 * to `logger` as a structured event when one is given, else to stderr. A logger or a
 * stream that throws is ignored; reporting must never break a request.
 */
export function emitReport(report: WidgetAuthReport, key: string, logger: WidgetAuthLogger | undefined, level: Level): void {
  try {
    if (logger) {
      let seen = loggerSeen.get(logger);
      if (!seen) loggerSeen.set(logger, (seen = new Set()));
      if (firstTime(seen, key)) logger[level]({ ...report }, `express-widget-auth: ${report.code}: ${report.message}`);
      return;
    }
    if (firstTime(stderrSeen, key)) process.stderr.write(`${formatReport(report)}\n`);
  } catch {
    // nowhere left to report it
  }
}

/** A report and the key of its cause (which never holds a value the host or a visitor chose, except error class names). */
interface Diagnosis {
  report: WidgetAuthReport;
  key: string;
}

function unexpected(err: unknown, redact: (text: string) => string): { name: string; text: string } {
  const { name, message } = describeUnexpected(err, redact);
  return { name, text: message ? `${name}: ${message}` : name };
}

function rejectedHint(status: number | undefined): string {
  if (status === 401 || status === 403) {
    return "Check the secret or API key and the account id this router was given (a rotated key, a sandbox key against the live API, another organization's key).";
  }
  if (status === 404) {
    return 'Check the base URL and the account id: the base URL must be the API origin (the router adds the route itself).';
  }
  return 'Check the options this router was given; the correlation id identifies the call to the vendor.';
}

/** A sentence of the library's without its full stop, to be quoted inside another. */
const withoutStop = (sentence: string): string => sentence.replace(/\.$/, '');

/** The system code of a connection failure (`ENOTFOUND`, …), which the upstream client keeps as the error's `cause`. */
function connectionCode(err: WidgetAuthError): string | undefined {
  const cause = err.cause;
  return cause instanceof Error && cause.name === 'ConnectionError' && /^[A-Z][A-Z0-9_]{2,63}$/.test(cause.message) ? cause.message : undefined;
}

/** TLS failures: a certificate refused, or TLS spoken to a port that does not. */
const TLS_CODE = /^(?:ERR_TLS_|ERR_SSL_|CERT_|DEPTH_ZERO_|SELF_SIGNED_|UNABLE_TO_(?:GET|VERIFY)_|EPROTO$)/;

/** Connection failures that point at this server's configuration more often than at the vendor: what they mean, what to check. */
const UNREACHABLE: Readonly<Record<string, { what: string; check: string }>> = {
  ENOTFOUND: {
    what: 'its host name does not resolve',
    check: "Check the host of the base URL this router was given (a typo, an old domain, an internal name this server's DNS does not know).",
  },
  ECONNREFUSED: {
    what: 'nothing accepts connections at its address',
    check: 'Check the host and port of the base URL this router was given (a local or staging address, a fake that is not running, http on the https port or the reverse).',
  },
  TLS: {
    what: 'the TLS connection failed',
    check: "Check the base URL's scheme and host (https to a plain-http port, a certificate issued for another name), and that this server trusts the vendor's certificate chain (NODE_EXTRA_CA_CERTS for a private CA); never turn verification off.",
  },
};

/** The vendor's status, code and correlation id as quoted in a report: redacted, cut, or `[redacted]` whole when they hold a piece of a secret. */
function vendorFacts(err: WidgetAuthError, redact: (text: string) => string, sharesPiece: (text: string) => boolean): string[] {
  const status = err.upstreamStatus;
  return [
    status !== undefined ? `HTTP ${status}` : undefined,
    // redacted before cutting: a cut could leave part of a secret the redactor no longer recognises
    err.vendorCode !== undefined ? `vendor code ${sharesPiece(err.vendorCode) ? '[redacted]' : redact(err.vendorCode).slice(0, 64)}` : undefined,
    err.correlationId !== undefined ? `correlation id ${sharesPiece(err.correlationId) ? '[redacted]' : redact(err.correlationId).slice(0, 128)}` : undefined,
  ].filter((f) => f !== undefined);
}

/**
 * Why a request failed, when the host must fix it: `undefined` for the visitor's own
 * mistakes (4xx) and for passing vendor trouble (unreachable, timed out), which the
 * per-request log event records.
 */
function diagnose(err: unknown, vendor: string, redact: (text: string) => string, sharesPiece: (text: string) => boolean): Diagnosis | undefined {
  if (!isWidgetAuthError(err)) {
    const { name, text } = unexpected(err, redact);
    return {
      key: `INTERNAL_ERROR|unexpected|${name}`,
      report: { code: 'INTERNAL_ERROR', cause: 'unexpected', message: `An unexpected error reached the router: ${text}.`, docs: docsLink(REPORT_ANCHORS.unexpected) },
    };
  }
  switch (err.code) {
    case 'INTERNAL_ERROR': {
      if (err.message.startsWith('resolveUser returned')) {
        return { key: `INTERNAL_ERROR|resolveUser.result|${err.message}`, report: { code: err.code, cause: 'resolveUser.result', message: err.message, docs: docsLink(REPORT_ANCHORS.user) } };
      }
      const cause = err.cause === undefined ? undefined : unexpected(err.cause, redact);
      if (err.message === 'resolveUser threw') {
        return {
          key: `INTERNAL_ERROR|resolveUser.threw|${cause?.name}`,
          report: {
            code: err.code,
            cause: 'resolveUser.threw',
            message: `resolveUser threw or rejected (${cause?.text ?? 'no error'}). Return null when nobody is signed in; a throw answers 500.`,
            docs: docsLink(REPORT_ANCHORS.resolveUserThrew),
          },
        };
      }
      if (err.message === 'Internal error.') {
        const inner = cause ?? { name: 'unknown', text: 'no details' };
        return {
          key: `INTERNAL_ERROR|unexpected|${inner.name}`,
          report: { code: err.code, cause: 'unexpected', message: `An unexpected error reached the router: ${inner.text}.`, docs: docsLink(REPORT_ANCHORS.unexpected) },
        };
      }
      // the library's own sentence about a hook or vendor step ('entityIdFor threw', …), never a value
      return {
        key: `INTERNAL_ERROR|hook|${err.message}|${cause?.name ?? ''}`,
        report: { code: err.code, cause: 'hook', message: `${withoutStop(err.message)}${cause ? ` (${cause.text})` : ''}.`, docs: docsLink(REPORT_ANCHORS.hook) },
      };
    }
    case 'UPSTREAM_REJECTED': {
      const status = err.upstreamStatus;
      const facts = vendorFacts(err, redact, sharesPiece);
      return {
        // a hint is the library's own sentence about a distinct cause (a missing scope)
        key: `UPSTREAM_REJECTED|${status ?? ''}${err.hint !== undefined ? `|${err.hint}` : ''}`,
        report: {
          code: err.code,
          cause: 'upstream.rejected',
          message: `The ${vendor} API ${status !== undefined && status >= 300 && status < 400 ? 'redirected' : 'refused'} this server's request${facts.length ? ` (${facts.join(', ')})` : ''}; every visitor gets 502 until it is fixed. ${err.hint ?? rejectedHint(status)}`,
          docs: docsLink(REPORT_ANCHORS.rejected),
        },
      };
    }
    case 'UPSTREAM_FEATURE_UNAVAILABLE': {
      const facts = vendorFacts(err, redact, sharesPiece);
      return {
        key: `UPSTREAM_FEATURE_UNAVAILABLE|${err.upstreamStatus ?? ''}`,
        report: {
          code: err.code,
          cause: 'upstream.featureUnavailable',
          message: `The ${vendor} API says this account's plan does not include what this route needs${facts.length ? ` (${facts.join(', ')})` : ''}; every visitor gets ${err.status} until the plan includes it (or the route is unmounted). ${err.hint ?? "Check the vendor's plan requirements for the feature."}`,
          docs: docsLink(REPORT_ANCHORS.featureUnavailable),
        },
      };
    }
    case 'UPSTREAM_UNAVAILABLE': {
      // only the connection failures that name a cause on this server's side (not a reset or a 5xx, which pass)
      const code = connectionCode(err);
      const cause = code === undefined ? undefined : UNREACHABLE[code] ?? (TLS_CODE.test(code) ? UNREACHABLE['TLS']! : undefined);
      if (code === undefined || cause === undefined) return undefined;
      return {
        key: `UPSTREAM_UNAVAILABLE|connection|${code}`,
        report: {
          code: err.code,
          cause: 'upstream.unreachable',
          message: `The ${vendor} API could not be reached (${code}: ${cause.what}); every visitor gets 502 while it lasts. ${cause.check}`,
          docs: docsLink(REPORT_ANCHORS.unreachable),
        },
      };
    }
    case 'UPSTREAM_INVALID_RESPONSE':
      return {
        key: 'UPSTREAM_INVALID_RESPONSE',
        report: {
          code: err.code,
          cause: 'upstream.invalidResponse',
          message: `The ${vendor} API answered with a body that is not the documented shape (${withoutStop(err.message)}). ${err.hint ?? "Check that the base URL points at the vendor's API, not at a web page or a proxy."}`,
          docs: docsLink(REPORT_ANCHORS.invalidResponse),
        },
      };
    default:
      return undefined;
  }
}

// what each express-rate-limit warning means for these routes
const RATE_LIMIT_HINTS: Record<string, string> = {
  ERR_ERL_UNEXPECTED_X_FORWARDED_FOR:
    "Behind a proxy, every signed-out visitor shares the proxy's address and budget: set app.set('trust proxy', <number of proxies>).",
  ERR_ERL_PERMISSIVE_TRUST_PROXY:
    "Any client can pick its own X-Forwarded-For and so dodge the limit: set 'trust proxy' to the number of proxies or their addresses, never true.",
  ERR_ERL_FORWARDED_HEADER: "Express ignores the Forwarded header; have the proxy send X-Forwarded-For and set 'trust proxy'.",
};

/** What a router reports through. */
export interface RouterReporter {
  /**
   * The report of a failed request when the host must fix its cause, else `undefined`.
   * Without a logger it is written to stderr, once per cause; with one it belongs in the
   * request's log event.
   */
  failure(err: unknown, route: string): WidgetAuthReport | undefined;
  /** A logger for express-rate-limit: its warnings and store errors become reports, once per cause. */
  readonly rateLimitLogger: { warn(...args: unknown[]): void; error(...args: unknown[]): void };
  /** A JSON or form body reached the route already parsed by the host's own parser: a warning, once per route. */
  hostParsedBody(route: string, format: 'json' | 'form'): void;
}

const SILENT: RouterReporter = {
  failure: () => undefined,
  rateLimitLogger: { warn: () => undefined, error: () => undefined },
  hostParsedBody: () => undefined,
};

/**
 * The reporter of one router. `enabled: false` (the `report: false` option) reports
 * nothing; `redact` is the router's redactor, applied to every text of every report.
 */
/** Vendors whose name is not written as their log name with a capital first letter. */
const VENDOR_LABELS: Readonly<Record<string, string>> = { hubspot: 'HubSpot', helpscout: 'Help Scout' };

export function createReporter(options: {
  vendor: string;
  logger: WidgetAuthLogger | undefined;
  enabled: boolean;
  redact: (text: string) => string;
  /** Whether a short vendor text (a code, a correlation id) holds a piece of a secret in any written form: it is then left out whole. */
  sharesPiece?: (text: string) => boolean;
}): RouterReporter {
  if (!options.enabled) return SILENT;
  const { vendor, logger, redact } = options;
  const sharesPiece = options.sharesPiece ?? (() => false);
  const label = VENDOR_LABELS[vendor] ?? `${vendor.charAt(0).toUpperCase()}${vendor.slice(1)}`;

  const rateLimit = (level: Level, args: unknown[]): void => {
    // express-rate-limit calls logger.error(error) for a failed check, logger.error(error, message) for a store error
    const [err, note] = args;
    const code = typeof (err as { code?: unknown })?.code === 'string' && /^(?:ERR|WRN)_ERL_\w+$/.test((err as { code: string }).code) ? (err as { code: string }).code : undefined;
    const { name, text } = unexpected(err, redact);
    // a check's message is express-rate-limit's own sentence, with its help link: kept whole
    const message =
      code !== undefined
        ? `${String((err as { message?: unknown }).message)}${RATE_LIMIT_HINTS[code] ? ` ${RATE_LIMIT_HINTS[code]}` : ''}`
        : `${typeof note === 'string' ? `${note} ` : ''}(${text}).`;
    const report: WidgetAuthReport = { code: code ?? 'RATE_LIMIT_STORE_ERROR', cause: 'rateLimit', vendor, message: clean(message, redact), docs: docsLink(REPORT_ANCHORS.rateLimit) };
    // the proxy settings are the app's, not one router's: one report for all routers
    emitReport(report, code ?? `RATE_LIMIT_STORE_ERROR|${vendor}|${name}`, logger, code !== undefined ? 'warn' : 'error');
  };

  return {
    failure(err, route) {
      const found = diagnose(err, label, redact, sharesPiece);
      if (!found) return undefined;
      const report: WidgetAuthReport = { ...found.report, vendor, route, message: clean(found.report.message, redact) };
      if (!logger) emitReport(report, `${vendor}|${route}|${found.key}`, undefined, 'error');
      return report;
    },
    rateLimitLogger: { warn: (...args) => rateLimit('warn', args), error: (...args) => rateLimit('error', args) },
    hostParsedBody(route, format) {
      const read =
        format === 'json'
          ? "The app's own body parser (express.json() or the like) read this route's JSON before the router, keeping one value of a field named twice"
          : "The app's own body parser (express.urlencoded() or the like) read this route's form before the router, turning a field named twice into a list or keeping one of its values";
      const report: WidgetAuthReport = {
        code: 'BODY_PARSED_BEFORE_ROUTER',
        cause: 'host.bodyParser',
        vendor,
        route,
        message: `${read}: such a body can no longer be refused as naming a field twice (400), and a filter in front of the app may have checked the other value. Mount the widget routers before the app's body parser, or give the parser only to the routes that need it.`,
        docs: docsLink(REPORT_ANCHORS.hostParsedBody),
      };
      emitReport(report, `BODY_PARSED_BEFORE_ROUTER|${vendor}|${route}`, logger, 'warn');
    },
  };
}
