import express from 'express';
import type { IncomingHttpHeaders } from 'node:http';
import type { ErrorRequestHandler, NextFunction, Request, RequestHandler, Response, Router } from 'express';
import { rateLimit as createRateLimit, ipKeyGenerator, type Store } from 'express-rate-limit';
import { z } from 'zod';
import { milliseconds } from './config';
import { isSafeCorrelationId, type VendorContract } from './contract';
import { dispatchDirectly, type DirectRoute } from './dispatch';
import { WidgetAuthError, isWidgetAuthError, secretEchoError } from './errors';
import { hasDuplicateMember } from './json';
import { isPromiseLike } from './promise';
import { SEARCHES_FOR, createSecretMatcher, cutText, describeUnexpected, logRequest, loggerSchema, processSecretMatcher, registerProcessSecrets, type Redactor, type RequestLogEvent, type SecretMatcher, type WidgetAuthLogger } from './logger';
import { allowedOriginsSchema, checkOriginOptions, createOriginGate, type AllowedOrigins } from './origin';
import { createReporter } from './report';
import type { ResolveUser, WidgetUser } from './types';
import { checkResolvedUser } from './user';

/** Options every router takes, beside its vendor's own. */
export interface CommonRouterOptions {
  /** Route path. Defaults to the vendor's documented path. */
  path?: string;
  /**
   * Pages of other origins allowed to call the route. Your own pages need not be listed:
   * browsers mark their calls `Sec-Fetch-Site: same-origin`. Either a list of
   *
   * - exact origins (`https://app.example.com`, `http://localhost:3000`);
   * - wildcards (`https://*.example.com`: one or more subdomain labels, same scheme and
   *   port, never the bare domain);
   * - RegExps matched against the whole `Origin` value, anchored (`/^https:\/\/[a-z]+\.example\.com$/`,
   *   every alternative `^…$`), without the `g`, `y` or `m` flag;
   *
   * or a function `(origin) => boolean | Promise<boolean>`, asked on every request that
   * needs it (never cached; a throw or a non-boolean answers 500 `INTERNAL_ERROR`).
   *
   * Entries that would cover strangers are configuration errors: a public suffix, ICANN
   * or private (`https://*.github.io`, `https://*.co.uk`, `https://github.io`), a
   * non-canonical port, a RegExp that matches any site, and with `cors` plain `http:`
   * other than loopback. An origin a RegExp or function allows is refused at request
   * time by the same rules, and unless it is in serialised form.
   *
   * Browser calls from other origins (`Sec-Fetch-Site: same-site` or `cross-site`) are
   * served only as `fetch`/XHR calls in `cors` mode whose `Origin` is allowed; image,
   * script, frame and navigation loads never are; a request without Fetch Metadata
   * (a server, an older browser) whose `Origin` matches nothing gets 403
   * `FORBIDDEN_ORIGIN` (see docs/security.md#origins-and-cors for the whole table).
   * Defaults to none: same-origin browser calls and calls without Fetch Metadata only.
   */
  allowedOrigins?: AllowedOrigins;
  /**
   * Serve only requests whose source the browser vouches for: same-origin browser calls
   * (`Sec-Fetch-Site: same-origin`, with or without `Origin`), and requests whose
   * `Origin` `allowedOrigins` allows. Refuses requests with neither (servers, scripts,
   * older browsers without Fetch Metadata that send no `Origin`). Without
   * `allowedOrigins` this means same-origin browser calls only. Defaults to `false`.
   */
  requireOrigin?: boolean;
  /**
   * Answer CORS preflights and send `Access-Control-Allow-Origin` (with credentials)
   * to allowed origins. Needs `allowedOrigins`; refuses plain `http:` entries other
   * than loopback. Defaults to `false`.
   */
  cors?: boolean;
  /**
   * Per-user (else per-IP) rate limit through express-rate-limit. `store` takes any
   * express-rate-limit store, e.g. rate-limit-redis when several instances run.
   * Defaults to no limit.
   */
  rateLimit?: { windowMs: number; limit: number; store?: Store };
  /**
   * pino-compatible logger; one event per request, never a secret. A request failing
   * for a cause the host must fix gets `hint` and `docs` in its event, and
   * express-rate-limit's warnings arrive as events of their own. Defaults to none: those
   * reports go to stderr instead (see `report`).
   */
  logger?: WidgetAuthLogger;
  /**
   * Report, once per cause, what the host must fix: `resolveUser` throwing or returning
   * an unusable user, a hook failing, the vendor refusing this server's credentials or
   * answering garbage, express-rate-limit's proxy warnings. Each report names the error
   * code and links docs/errors.md, never a secret. Written to stderr, or to `logger`
   * when one is given. Visitors' own mistakes (400, 401, 403, 429) are never reported.
   * `false` turns reports off. Defaults to `true`.
   */
  report?: boolean;
  /** Largest JSON body accepted, in bytes or as `"8kb"`. Defaults to `"8kb"`. */
  bodyLimit?: number | string;
}

const storeSchema = z.custom<Store>(
  (v) => typeof v === 'object' && v !== null && typeof (v as Store).increment === 'function',
  { message: 'must be an express-rate-limit store (with an increment method)' },
);

/** zod shape of {@link CommonRouterOptions}; vendors spread it into their option schema. */
export const commonOptionsShape = {
  path: z.string().regex(/^\/[^\s?#]*$/, 'must start with "/" and hold no query or fragment').optional(),
  allowedOrigins: allowedOriginsSchema.optional(),
  requireOrigin: z.boolean().default(false),
  cors: z.boolean().default(false),
  rateLimit: z
    .object({
      windowMs: milliseconds(24 * 3600_000, 'the window length in milliseconds, e.g. 60000'),
      limit: z
        .number({ error: (iss) => (iss.input === undefined ? 'is required — the number of requests allowed per window, e.g. 30' : undefined) })
        .int('must be a whole number')
        .positive('must be positive'),
      store: storeSchema.optional(),
    })
    .strict()
    .optional(),
  logger: loggerSchema.optional(),
  report: z.boolean().default(true),
  bodyLimit: z
    .union([z.number().int().positive(), z.string().regex(/^\d+(?:\.\d+)?\s*(?:b|kb|mb)$/i, 'must be bytes or a size such as "8kb"')])
    .default('8kb'),
};

/** zod schema of a `resolveUser` hook. */
export const resolveUserSchema = z.custom<ResolveUser>((v) => typeof v === 'function', {
  message: 'must be a function (req) => user | null',
});

/** Cross-field rules of the common options, for `.superRefine` on a vendor schema. */
export function checkCommonOptions(options: { cors: boolean; allowedOrigins?: AllowedOrigins | undefined }, ctx: z.RefinementCtx): void {
  checkOriginOptions(options, ctx);
}

/** Resolved common options (the output of {@link commonOptionsShape}). */
export type CommonConfig = z.output<z.ZodObject<typeof commonOptionsShape>>;

/** What a route handler gets. */
export interface RouteContext {
  req: Request;
  res: Response;
  /** The signed-in user (always set on routes that require one). */
  user: WidgetUser | undefined;
  /** The parsed JSON body (`{}` when there was none). */
  body: unknown;
  /** Record time spent waiting on the vendor, for the log event. */
  upstream(ms: number): void;
  /**
   * Aborts when the browser closes the request or its connection before the answer is
   * sent. Made on first read, so routes that do not read it pay nothing. Vendor calls
   * take the context itself as their `signal` (an `AbortSource`): they read `aborted`
   * and make the signal only if they have to wait for a connection.
   */
  readonly signal: AbortSignal;
  /** Whether the browser has closed the request before the answer was sent; cheap, makes no signal. */
  readonly aborted: boolean;
  /**
   * Whether `text` holds, in any encoding, a secret of this router or of a router mounted
   * beside it by `widgetAuth`: the search every answer gets before it is sent. A
   * credential about to be cached goes through it first, or one that fails it would be
   * refused on every request until it expired.
   */
  holdsSecret(text: string): boolean;
  /**
   * Run `fn` if the answer is refused for holding a secret (after `handle` returned): a
   * cache that served the answer drops its entry, so the next request mints anew.
   */
  onAnswerRefused(fn: () => void): void;
}

/** One route of a vendor router. */
export interface RouteSpec {
  path: string;
  methods: readonly ('GET' | 'POST')[];
  /** Answer 401 when `resolveUser` yields nobody. */
  requireUser: boolean;
  /**
   * Also read `application/x-www-form-urlencoded` bodies (what pusher-js sends): the body
   * is then an object of text fields, each named once. Defaults to `false`: JSON only.
   */
  forms?: boolean;
  /** Returns the JSON success body (status 200), or its text as a {@link JsonText}. */
  handle(ctx: RouteContext): unknown;
}

/** Everything a vendor module hands to {@link createWidgetRouter}. */
export interface RouterSpec {
  /**
   * The router's secrets and keys: redacted, in every form the redactor knows, from
   * everything logged and from a vendor's correlation id, and never sent in an answer (a
   * success body holding one answers an error instead; see `relaysVendor`).
   */
  secrets: readonly string[];
  /**
   * The success bodies carry what a vendor sent (a session, a token): a secret found in
   * one is the vendor's doing, answered 502 `UPSTREAM_INVALID_RESPONSE`. Otherwise such a
   * body came from the host's data or hooks: 500 `INTERNAL_ERROR`. Defaults to `false`.
   */
  relaysVendor?: boolean;
  routes: readonly RouteSpec[];
}

/** A vendor's resolved configuration as the pipeline reads it: the common options plus `resolveUser`. */
export type PipelineConfig = CommonConfig & { resolveUser?: ResolveUser | undefined };

interface RequestState {
  vendor: string;
  route: string;
  started: number;
  code?: string;
  upstreamMs?: number;
  vendorCode?: string;
  correlationId?: string;
  upstreamStatus?: number;
  err?: { name: string; message: string };
  /** The signed-in user, once resolved (the rate limiter keys on it). */
  user?: WidgetUser | undefined;
  /** What the host must fix and where the docs say how, when the request failed for such a cause. */
  hint?: string;
  docs?: string;
}

/**
 * Each request's state while a route of the library serves it (its error handler and the
 * rate limiter read it): kept beside the request, not on it, as a property added to an
 * Express request costs every later read of the request a lookup of its own.
 */
const STATES = new WeakMap<Request, RequestState>();
type StatefulRequest = Request & { _body?: boolean };

/**
 * A signal that aborts when the response closes before it was finished: the browser hung
 * up. It watches the response, not the request: since Node 16 a request emits `close` as
 * soon as its body has been read, long before the answer (Express 4 and 5 alike).
 */
function closeSignal(res: Response): AbortSignal {
  const controller = new AbortController();
  // already closed: `close` will not fire again
  if (res.destroyed) {
    if (!res.writableFinished) controller.abort();
  } else {
    res.once('close', () => {
      if (!res.writableFinished) controller.abort();
    });
  }
  return controller.signal;
}

/**
 * A route's answer already written as JSON: the pipeline sends `text` as it is instead of
 * writing the answer again. The text is still searched for a secret before it is sent,
 * unless it is the very text the route's `holdsSecret` found clean.
 */
export class JsonText {
  constructor(readonly text: string) {}
}

/**
 * The {@link RouteContext} of one request. A class, not an object literal: V8 makes a
 * literal with getters slowly (about 2 µs each), a class instance in nanoseconds.
 */
class Context implements RouteContext {
  /** The last text `holdsSecret` found clean: the search of the answer skips the same text. */
  searchedClean: string | undefined;

  constructor(
    public req: Request,
    public res: Response,
    public user: WidgetUser | undefined,
    public body: unknown,
    public upstream: (ms: number) => void,
    private readonly search: (text: string) => boolean,
    private readonly knows: ReadonlySet<string>,
  ) {}

  holdsSecret(text: string): boolean {
    if (this.search(text)) return true;
    this.searchedClean = text;
    return false;
  }

  /** Whether `holdsSecret` searches for every one of `secrets` (the router's own always are). */
  [SEARCHES_FOR](secrets: readonly string[]): boolean {
    for (const secret of secrets) if (!this.knows.has(secret)) return false;
    return true;
  }

  /** What to run if the answer is refused for holding a secret. */
  refused: (() => void)[] | undefined;

  onAnswerRefused(fn: () => void): void {
    (this.refused ??= []).push(fn);
  }

  /** Made on first use, kept here rather than on the response (a property added to it would cost every later read of it). */
  private closing: AbortSignal | undefined;

  get signal(): AbortSignal {
    return (this.closing ??= closeSignal(this.res));
  }

  get aborted(): boolean {
    return this.res.destroyed && !this.res.writableFinished;
  }
}

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json$/i;
const FORM_TYPE = /^application\/x-www-form-urlencoded$/i;
// `; name=value` with a token or quoted-string value (RFC 9110 §5.6.6); a quote left open runs to the end
const PARAMETER = /;[ \t]*([^=;\s]*)[ \t]*=[ \t]*("(?:[^"\\]|\\.)*"?|[^;]*)/g;

function hasBody(headers: IncomingHttpHeaders): boolean {
  const length = headers['content-length'];
  return headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/** The body's media type without parameters, or `''`. */
function mediaType(headers: IncomingHttpHeaders): string {
  const type = headers['content-type'];
  if (!type) return '';
  const semi = type.indexOf(';');
  return (semi === -1 ? type : type.slice(0, semi)).trim();
}

/** True unless a `charset` parameter names anything but UTF-8 (any case, quoted or not). */
function isUtf8(type: string): boolean {
  // no parameter, no charset (the common `application/json`)
  if (!type.includes(';')) return true;
  for (const [, name, raw] of type.matchAll(PARAMETER)) {
    if (name!.toLowerCase() !== 'charset') continue;
    const value = raw!.trim();
    const charset = value.startsWith('"') ? value.replace(/^"|"$/g, '').replace(/\\(.)/g, '$1') : value;
    // every one counts: with two, parsers disagree on which applies
    if (charset.toLowerCase() !== 'utf-8') return false;
  }
  return true;
}

/**
 * The body's format, or 415 unless it is declared as UTF-8 JSON (`application/json` or
 * `application/*+json`) or, on a route that takes forms, a UTF-8
 * `application/x-www-form-urlencoded` form, with no `charset` or `charset=utf-8`. JSON
 * exchanged between systems must be UTF-8 (RFC 8259 §8.1); a decoder for any other
 * charset would let `{+ACI-a+ACI-:1}` (UTF-7) or UTF-16 through as JSON that no filter in
 * front of the app ever saw as JSON.
 */
function checkBodyType(headers: IncomingHttpHeaders, forms: boolean): 'json' | 'form' {
  const type = mediaType(headers);
  const format = JSON_TYPE.test(type) ? 'json' : forms && FORM_TYPE.test(type) ? 'form' : undefined;
  const wanted = forms ? 'application/json or application/x-www-form-urlencoded' : 'application/json';
  if (format === undefined) throw new WidgetAuthError('UNSUPPORTED_MEDIA_TYPE', `Request body must be ${wanted}.`);
  if (!isUtf8(headers['content-type']!)) {
    throw new WidgetAuthError('UNSUPPORTED_MEDIA_TYPE', `Request body must be UTF-8 ${format === 'json' ? 'JSON' : 'form data'} (charset=utf-8, or no charset).`);
  }
  return format;
}

/**
 * The fields of a form body read as bytes, decoded as UTF-8 like JSON bodies. A field
 * named twice is refused: parsers disagree on which of two values counts, so a filter in
 * front of the app and this router could read different channels. `a[]` and `a[x]` name
 * `a` too: qs and PHP read `a=1&a[]=2` as one field `a` holding an array, or `2`.
 */
function parseFormBody(bytes: Buffer): Record<string, string> {
  const fields: Record<string, string> = {};
  const named = new Set<string>();
  for (const [name, value] of new URLSearchParams(bytes.toString('utf8'))) {
    const bracket = name.indexOf('[');
    const base = bracket === -1 ? name : name.slice(0, bracket);
    if (named.has(base)) throw new WidgetAuthError('INVALID_REQUEST', 'Request body names a form field more than once.');
    named.add(base);
    // defineProperty: a field named __proto__ is a field, not the object's prototype
    Object.defineProperty(fields, name, { value, enumerable: true, writable: true, configurable: true });
  }
  return fields;
}

const SIZE_UNITS: Record<string, number> = { b: 1, kb: 1024, mb: 1024 * 1024 };

/** `bodyLimit` in bytes, read as body-parser reads `"8kb"` (1 kb = 1024 bytes). */
function bodyLimitBytes(limit: number | string): number {
  if (typeof limit === 'number') return limit;
  const [, amount, unit] = /^(\d+(?:\.\d+)?)\s*(b|kb|mb)$/i.exec(limit)!;
  return Math.floor(Number(amount) * SIZE_UNITS[unit!.toLowerCase()]!);
}

/** The body's size as sent, when the headers tell it: `Content-Length` of a body with no content coding. */
function declaredLength(headers: IncomingHttpHeaders): number | undefined {
  const length = headers['content-length'];
  const coding = headers['content-encoding'];
  // body-parser reads an empty coding as identity: so must the size check
  if (length === undefined || (coding !== undefined && !['', 'identity'].includes(coding.trim().toLowerCase()))) return undefined;
  const bytes = Number(length);
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}

/**
 * The first character after JSON white space (space, tab, LF, CR), or `''`: by
 * body-parser's strict rule, a body must start with an object or an array.
 */
function firstCharacter(text: string): string {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return text[i]!;
  }
  return '';
}

/**
 * The JSON value of a body read as bytes, always decoded as UTF-8 (a UTF-8 byte order
 * mark is skipped; invalid sequences read as U+FFFD): no other decoder ever runs,
 * whatever the headers say. Empty is `{}`. An object naming a member twice is refused,
 * as a form naming a field twice is.
 */
function parseJsonBody(bytes: Buffer): unknown {
  if (bytes.length >= 2 && ((bytes[0] === 0xfe && bytes[1] === 0xff) || (bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0 && bytes[1] === 0 && bytes[2] === 0xfe && bytes[3] === 0xff))) {
    throw new WidgetAuthError('UNSUPPORTED_MEDIA_TYPE', 'Request body must be UTF-8 JSON; it starts with a UTF-16 or UTF-32 byte order mark.');
  }
  let text = bytes.toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text.length === 0) return {};
  const first = firstCharacter(text);
  if (first === '{' || first === '[') {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      // the parser's message quotes the body: it is not kept
      throw new WidgetAuthError('INVALID_REQUEST', 'Request body is not valid JSON.');
    }
    // parsers disagree on which of two values counts (JSON.parse keeps the last): a
    // filter in front of the app and this router could read different channels
    if (text.includes('{') && hasDuplicateMember(text)) {
      throw new WidgetAuthError('INVALID_REQUEST', 'Request body names a JSON member more than once in one object.');
    }
    return value;
  }
  throw new WidgetAuthError('INVALID_REQUEST', 'Request body is not valid JSON.');
}

/** Map a body-parser failure to a shaped error (its message never reaches the client). */
function bodyError(err: { type?: string; status?: number; limit?: number }): WidgetAuthError {
  switch (err.type) {
    case 'entity.too.large':
      return new WidgetAuthError('PAYLOAD_TOO_LARGE', `Request body is larger than ${err.limit ?? 'the limit of'} bytes.`, { cause: err });
    case 'encoding.unsupported':
      return new WidgetAuthError('UNSUPPORTED_MEDIA_TYPE', 'Request body must be JSON sent as is, or compressed with gzip or deflate.', { cause: err });
    case 'request.size.invalid':
      return new WidgetAuthError('INVALID_REQUEST', 'Request body length does not match Content-Length.', { cause: err });
    default:
      return err.status !== undefined && err.status >= 400 && err.status < 500
        ? new WidgetAuthError('INVALID_REQUEST', 'Request body could not be read.', { cause: err })
        : new WidgetAuthError('INTERNAL_ERROR', 'Internal error.', { cause: err });
  }
}

function run(mw: RequestHandler, req: Request, res: Response): Promise<void> {
  return new Promise((resolve, reject) => {
    mw(req, res, (err?: unknown) => (err ? reject(err) : resolve()));
  });
}

/**
 * Build a vendor router on the shared pipeline: headers, method check, origin rules,
 * CORS, JSON body parsing, user resolution, rate limit, then the vendor's handler, with
 * every failure shaped by the vendor's contract and one log event per request.
 *
 * All option work happens here, once; a request only runs the steps it needs.
 */
export function createWidgetRouter(contract: VendorContract, common: PipelineConfig, spec: RouterSpec): Router {
  const resolveUser = common.resolveUser;
  const vendor = contract.vendor;
  const logger = common.logger;
  const own = createSecretMatcher(spec.secrets);
  // what every search of this router looks for, whatever widgetAuth adds
  const ownSecrets: ReadonlySet<string> = new Set(spec.secrets);
  // widgetAuth adds the secrets of the routers mounted beside this one (see shareSecrets)
  let secrets = own;
  registerProcessSecrets(spec.secrets);
  /**
   * What logs and reports show: the router's own secrets (and those widgetAuth shares)
   * redacted in every form, then, where the text holds one in a form the cheap search
   * finds, any other router's of this process: a hook's error may quote another vendor's.
   */
  const redact: Redactor = (text, max = Infinity) => {
    const mine = secrets.redact(text);
    const { matcher: others, reach } = processSecretMatcher();
    if (others === undefined) return cutText(mine, max);
    // only what can be shown is searched: the first `max` characters and a written secret's length beyond
    const head = mine.length > max + reach ? mine.slice(0, max + reach) : mine;
    const out = others.contains(head) ? others.redact(head) : head;
    // a secret cut at the end of `head` may have moved into view as redaction shortened the text before it
    return cutText(out, head === mine ? max : Math.min(max, out.length - reach));
  };
  const sharesPiece = (text: string): boolean => secrets.sharesPiece(text) || (processSecretMatcher().matcher?.sharesPiece(text) ?? false);
  const holdsSecret = (text: string): boolean => secrets.contains(text);
  // answers already searched and found clean (a cached credential is answered as the same
  // text for hours): searched once while they stay among the last few, forgotten when the
  // secrets change
  const cleanAnswers = new Set<string>();
  const originGate = createOriginGate(common);
  const varyOrigin = common.allowedOrigins !== undefined || common.cors;
  const limitBytes = bodyLimitBytes(common.bodyLimit);
  // bytes only: the JSON is decoded here, as UTF-8, whatever charset the request names
  const bodyReader = express.raw({ limit: limitBytes, type: () => true });
  const reporter = createReporter({ vendor, logger, enabled: common.report !== false, redact, sharesPiece });
  const limiter = common.rateLimit
    ? createRateLimit({
        windowMs: common.rateLimit.windowMs,
        limit: common.rateLimit.limit,
        ...(common.rateLimit.store ? { store: common.rateLimit.store } : {}),
        standardHeaders: 'draft-7',
        legacyHeaders: false,
        passOnStoreError: true,
        // its checks' warnings and store errors become reports, once per cause
        logger: reporter.rateLimitLogger,
        keyGenerator: (req) => {
          const user = STATES.get(req)?.user;
          return user ? `user:${user.id}` : `ip:${ipKeyGenerator(req.ip ?? '')}`;
        },
        handler: (req, _res, next, options) => {
          const reset = (req as Request & { rateLimit?: { resetTime?: Date } }).rateLimit?.resetTime;
          const seconds = reset ? Math.ceil((reset.getTime() - Date.now()) / 1000) : Math.ceil(options.windowMs / 1000);
          next(new WidgetAuthError('RATE_LIMITED', 'Too many requests; try again later.', { retryAfterSeconds: Math.max(1, seconds) }));
        },
      })
    : undefined;
  // express-rate-limit checks the proxy settings (X-Forwarded-For without `trust proxy`, a
  // `trust proxy` of true) only inside its own keyGenerator, which the per-user key above
  // replaces. A second limiter that counts nothing keeps those checks: it runs once, on the
  // first request, which is when express-rate-limit runs each check itself.
  let proxyChecks =
    common.rateLimit && common.report !== false
      ? createRateLimit({
          windowMs: common.rateLimit.windowMs,
          limit: Number.MAX_SAFE_INTEGER,
          store: { increment: () => ({ totalHits: 1, resetTime: undefined }), decrement: () => undefined, resetKey: () => undefined },
          standardHeaders: false,
          legacyHeaders: false,
          logger: reporter.rateLimitLogger,
        })
      : undefined;

  const router = express.Router();
  const direct: DirectRoute[] = [];

  for (const route of spec.routes) {
    const allow = route.methods.join(', ');
    const methods = new Set<string>(route.methods);
    const acceptsBody = methods.has('POST');
    const forms = route.forms === true;
    // the warning that the host parsed a JSON body is given once per route (the reporter keeps it once per destination as well)
    let hostParsedReported = false;

    const handleRoute = async (req: StatefulRequest, res: Response, state: RequestState): Promise<void> => {
      const method = req.method;
      // read once: each read of a request's property costs a lookup of its own (Express gives every request a shape of its own)
      const headers = req.headers;
      const origin = headers.origin;

      if (method === 'OPTIONS' && common.cors && origin !== undefined && headers['access-control-request-method']) {
        let allowed = originGate.preflight(origin);
        if (isPromiseLike(allowed)) allowed = await allowed;
        if (!allowed) throw new WidgetAuthError('FORBIDDEN_ORIGIN', 'Origin is not allowed.');
        res.setHeader('Access-Control-Allow-Origin', origin);
        res.setHeader('Access-Control-Allow-Credentials', 'true');
        res.setHeader('Access-Control-Allow-Methods', allow);
        res.setHeader('Access-Control-Allow-Headers', 'Content-Type');
        res.setHeader('Access-Control-Max-Age', '600');
        res.statusCode = 204;
        res.end();
        return;
      }
      if (!methods.has(method)) {
        res.setHeader('Allow', allow);
        throw new WidgetAuthError('METHOD_NOT_ALLOWED', `Method ${method.replace(/[^A-Z]/gi, '').slice(0, 16)} is not allowed; use ${allow}.`);
      }
      // Fetch Metadata, Origin and allowedOrigins, before the body, the user and the rate limit
      let verdict = originGate.check(headers);
      if (isPromiseLike(verdict)) verdict = await verdict;
      if (!verdict.ok) throw new WidgetAuthError('FORBIDDEN_ORIGIN', verdict.message);
      if (verdict.allowOrigin !== undefined) {
        res.setHeader('Access-Control-Allow-Origin', verdict.allowOrigin);
        res.setHeader('Access-Control-Allow-Credentials', 'true');
      }

      let body: unknown = {};
      if (acceptsBody && method === 'POST') {
        // the host app may already have read the body (express.json before this router)
        if (req._body === true || req.readableEnded) {
          if (hasBody(headers)) {
            // the host's parser may have decoded any charset: the same rules as for our own reading
            const format = checkBodyType(headers, forms);
            if (!hostParsedReported) {
              hostParsedReported = true;
              reporter.hostParsedBody(route.path, format);
            }
            // its limit is the host's; what the headers tell is held to ours (chunked or compressed sizes cannot be)
            if ((declaredLength(headers) ?? 0) > limitBytes) {
              throw new WidgetAuthError('PAYLOAD_TOO_LARGE', `Request body is larger than ${limitBytes} bytes.`);
            }
          }
          body = req.body ?? {};
        } else if (hasBody(headers)) {
          const format = checkBodyType(headers, forms);
          try {
            await run(bodyReader, req, res);
          } catch (err) {
            throw bodyError(err as { type?: string });
          }
          body = !Buffer.isBuffer(req.body) ? {} : format === 'json' ? parseJsonBody(req.body) : parseFormBody(req.body);
          req.body = body;
        }
      }

      let user: WidgetUser | undefined;
      if (resolveUser) {
        let resolved: WidgetUser | null | undefined | PromiseLike<WidgetUser | null | undefined>;
        try {
          resolved = resolveUser(req);
          // awaiting only real promises spares most requests a microtask turn per step
          if (isPromiseLike(resolved)) resolved = await resolved;
        } catch (err) {
          throw new WidgetAuthError('INTERNAL_ERROR', 'resolveUser threw', { cause: err });
        }
        user = checkResolvedUser(resolved);
        state.user = user;
      }
      if (limiter) {
        if (proxyChecks) {
          const checks = proxyChecks;
          proxyChecks = undefined;
          // it never refuses a request; a failure of its own is not the visitor's problem
          await run(checks, req, res).catch(() => undefined);
        }
        await run(limiter, req, res);
      }
      if (route.requireUser && !user) throw new WidgetAuthError('UNAUTHORIZED', 'Sign in to use this widget.');

      const context = new Context(
        req,
        res,
        user,
        body,
        // an own function: a route may take it out of the context (`handle({ upstream })`)
        (ms) => {
          state.upstreamMs = (state.upstreamMs ?? 0) + ms;
        },
        holdsSecret,
        ownSecrets,
      );
      let result = route.handle(context);
      if (isPromiseLike(result)) result = await result;
      if (res.headersSent) return;
      let json: string | undefined;
      if (result instanceof JsonText) json = result.text;
      else {
        try {
          json = JSON.stringify(result);
        } catch (err) {
          throw new WidgetAuthError('INTERNAL_ERROR', 'The answer could not be written as JSON (a BigInt, a cycle, or a toJSON that threw).', { cause: err });
        }
      }
      // an empty 200 would tell the browser nothing
      if (json === undefined) throw new WidgetAuthError('INTERNAL_ERROR', 'The answer is not JSON: writing it gave nothing (undefined, a function, or a toJSON that returned undefined).');
      // the last check before the wire: no answer carries a configured secret, whoever put it there
      // a route that searched its answer already (to say what held the secret) spares it a second search
      if (json !== context.searchedClean && !cleanAnswers.has(json)) {
        if (secrets.contains(json)) {
          const error = secretInAnswer(own, json, spec.relaysVendor === true);
          state.err = { name: error.name, message: error.message };
          for (const fn of context.refused ?? []) {
            try {
              fn();
            } catch {
              // the refusal is answered whatever a hook does
            }
          }
          throw error;
        }
        if (json.length <= CLEAN_ANSWER_MAX_LENGTH) {
          if (cleanAnswers.size >= CLEAN_ANSWERS) cleanAnswers.delete(cleanAnswers.values().next().value!);
          cleanAnswers.add(json);
        }
      }
      res.statusCode = 200;
      res.setHeader('Content-Type', 'application/json; charset=utf-8');
      res.end(json);
    };

    const serve = (req: StatefulRequest, res: Response, next: NextFunction): void => {
      const state: RequestState = { vendor, route: route.path, started: performance.now() };
      STATES.set(req, state);
      res.setHeader('Cache-Control', 'no-store');
      res.setHeader('X-Content-Type-Options', 'nosniff');
      if (varyOrigin) res.vary('Origin');
      if (logger) res.once('finish', () => logRequest(logger, eventOf(req, res, state)));
      handleRoute(req, res, state).catch((thrown: unknown) => {
        // whatever was thrown (null, a revoked Proxy) goes on as an error: `next(null)`
        // would tell Express nothing failed
        // and so does a falsy value, or 'route' / 'router', which Express reads as a routing
        // signal (the request would go on past the router to whatever the host serves next)
        const err = !thrown || thrown === 'route' || thrown === 'router' ? new WidgetAuthError('INTERNAL_ERROR', `${thrownText(thrown)} was thrown`) : thrown;
        try {
          const report = reporter.failure(err, route.path);
          if (report) {
            state.hint = report.message;
            state.docs = report.docs;
          }
        } catch {
          // a report that cannot be written never keeps the visitor from an answer
        }
        next(err);
      });
    };
    router.all(route.path, serve);
    direct.push({ path: route.path, handle: serve });
  }

  // the router's secrets as they are when an error is answered (widgetAuth adds others' after)
  const onError = widgetAuthErrorHandler(contract, { redact, contains: (text) => secrets.contains(text), sharesPiece });
  router.use(onError);
  dispatchDirectly(router, direct, onError);
  Object.defineProperty(router, SHARE_SECRETS, {
    value: (more: readonly string[]) => {
      secrets = createSecretMatcher([...spec.secrets, ...more]);
      cleanAnswers.clear();
    },
  });
  return router;
}

const SHARE_SECRETS = Symbol('express-widget-auth.shareSecrets');

/** How a thrown value that is no error is named: `null`, `0`, `an empty string`, `'route'`. */
function thrownText(thrown: unknown): string {
  if (thrown === '') return 'an empty string';
  return typeof thrown === 'string' ? `'${thrown}'` : String(thrown as number | boolean | null | undefined);
}

/** How many answers found clean a router remembers, and the longest it remembers (UTF-16 units). */
const CLEAN_ANSWERS = 128;
const CLEAN_ANSWER_MAX_LENGTH = 4096;

/**
 * Make a router built by {@link createWidgetRouter} treat `secrets` as its own too:
 * redacted from its logs and kept out of its answers. `widgetAuth` gives each router it
 * mounts the secrets of all of them, so that a hook's error quoting another vendor's
 * secret is redacted wherever it is logged. Called once, at start-up.
 */
export function shareSecrets(router: Router, secrets: readonly string[]): void {
  const share = (router as unknown as Record<symbol, unknown>)[SHARE_SECRETS];
  if (typeof share !== 'function') throw new TypeError('shareSecrets: the router was not built by createWidgetRouter');
  (share as (secrets: readonly string[]) => void)(secrets);
}

/** The error answered instead of a success body that holds a configured secret (named by whose it is, never by value). */
function secretInAnswer(own: SecretMatcher, json: string, relaysVendor: boolean): WidgetAuthError {
  const whose = own.contains(json) ? "this router's own secret" : 'the secret of another router mounted with it';
  return relaysVendor
    ? secretEchoError(`The vendor's answer held ${whose} (in some encoding); nothing of it was sent to the browser.`)
    : new WidgetAuthError('INTERNAL_ERROR', `The answer held ${whose} (in some encoding), from the user record or a hook; nothing of it was sent to the browser.`);
}

function eventOf(req: Request, res: Response, state: RequestState): RequestLogEvent {
  const event: RequestLogEvent = {
    vendor: state.vendor,
    route: state.route,
    method: req.method,
    status: res.statusCode,
    durationMs: Math.round((performance.now() - state.started) * 100) / 100,
  };
  if (state.code !== undefined) event.code = state.code;
  if (state.upstreamMs !== undefined) event.upstreamMs = Math.round(state.upstreamMs * 100) / 100;
  if (state.vendorCode !== undefined) event.vendorCode = state.vendorCode;
  if (state.correlationId !== undefined) event.correlationId = state.correlationId;
  if (state.upstreamStatus !== undefined) event.upstreamStatus = state.upstreamStatus;
  if (state.err !== undefined) event.err = state.err;
  if (state.hint !== undefined) event.hint = state.hint;
  if (state.docs !== undefined) event.docs = state.docs;
  return event;
}

/**
 * The error as the browser may see it. A vendor's correlation id is its own free text:
 * it goes to the browser only when it looks like an id ({@link isSafeCorrelationId}) and
 * holds no configured secret, not even a fragment of one; otherwise it is left out of the
 * answer (the log keeps a redacted copy).
 */
function withSafeCorrelationId(error: WidgetAuthError, secrets: SecretMatcher): WidgetAuthError {
  const id = error.correlationId;
  if (id === undefined || (isSafeCorrelationId(id) && secrets.redact(id) === id && !secrets.sharesPiece(id))) return error;
  return new WidgetAuthError(error.code, error.message, {
    status: error.status,
    cause: error.cause,
    ...(error.retryAfterSeconds !== undefined ? { retryAfterSeconds: error.retryAfterSeconds } : {}),
    ...(error.vendorCode !== undefined ? { vendorCode: error.vendorCode } : {}),
    ...(error.upstreamStatus !== undefined ? { upstreamStatus: error.upstreamStatus } : {}),
    ...(error.field !== undefined ? { field: error.field } : {}),
  });
}

const LAST_RESORT = new WidgetAuthError('INTERNAL_ERROR', 'Internal error.');

/** What the log shows for a vendor code or correlation id that holds a piece of a secret. */
const REDACTED_FIELD = '[redacted]';

/** Shape `err`, fill the log event's fields and write the answer. */
function answerError(contract: VendorContract, secrets: SecretMatcher, err: unknown, state: RequestState, res: Response): void {
  const redact = secrets.redact;
  const known = isWidgetAuthError(err);
  const error = known ? err : new WidgetAuthError('INTERNAL_ERROR', 'Internal error.', { cause: err });
  if (error.code === 'INTERNAL_ERROR') state.err = describeUnexpected((known ? err.cause : err) ?? err, redact);
  // why a vendor's answer was refused (a wrong shape, a secret echoed in it) is the library's own sentence
  else if (error.code === 'UPSTREAM_INVALID_RESPONSE') state.err ??= { name: error.name, message: redact(error.message, 300) };
  const { status, body } = contract.shape(withSafeCorrelationId(error, secrets));
  const wireCode = (body as { error?: { code?: unknown } })?.error?.code;
  state.code = typeof wireCode === 'string' ? wireCode : error.code;
  // a piece of a secret in an encoded form is not redacted in free text: in these short fields, the whole goes
  if (error.vendorCode !== undefined) state.vendorCode = secrets.sharesPiece(error.vendorCode) ? REDACTED_FIELD : redact(error.vendorCode, 100);
  if (error.correlationId !== undefined) state.correlationId = secrets.sharesPiece(error.correlationId) ? REDACTED_FIELD : redact(error.correlationId, 200);
  if (error.upstreamStatus !== undefined) state.upstreamStatus = error.upstreamStatus;
  const upstreamMs = known ? (err as { upstreamMs?: unknown }).upstreamMs : undefined;
  if (typeof upstreamMs === 'number' && state.upstreamMs === undefined) state.upstreamMs = upstreamMs;
  const text = JSON.stringify(body);
  if (error.retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(error.retryAfterSeconds));
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.end(text);
}

/**
 * The error-shaping middleware. Shapes errors raised inside this library's routes by
 * the vendor's contract; passes anything else (the host app's errors) on untouched.
 *
 * It never throws, whatever was thrown: `null`, a number, a Symbol, an object whose
 * `message`, `name` or `toString` throws, a Proxy, a revoked Proxy. Such a value answers
 * 500 `INTERNAL_ERROR` in the vendor's shape and is described in the log event's `err`.
 */
export function widgetAuthErrorHandler(contract: VendorContract, secrets: SecretMatcher = createSecretMatcher([])): ErrorRequestHandler {
  return (err: unknown, req: StatefulRequest, res: Response, next: NextFunction) => {
    const state = STATES.get(req);
    if (!state || res.headersSent) {
      next(err);
      return;
    }
    try {
      answerError(contract, secrets, err, state, res);
    } catch {
      // shaping itself failed (a contract that throws): the plainest answer of the vendor's shape
      state.err ??= { name: 'unknown', message: '' };
      try {
        answerError(contract, secrets, LAST_RESORT, state, res);
      } catch {
        state.code = 'INTERNAL_ERROR';
        if (!res.headersSent) res.statusCode = 500;
        res.end();
      }
    }
  };
}
