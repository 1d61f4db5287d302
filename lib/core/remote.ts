import { z } from 'zod';
import { isLoopbackHost, parseOptions, secretString, weakSecretReason, type WeakSecretOption } from './config';
import { keepWrittenText, writesCredentialText, type CredentialRequest, type WidgetCredential } from './credential';
import { accountNamespace, createCredentialCache, credentialCacheOption, invalidatedUserId, mintBudgetMs, type CredentialCacheOptions } from './credential-cache';
import type { RouteContext } from './pipeline';
import { ERRORS_DOCS_URL, WidgetAuthError, isWidgetAuthError, secretEchoError } from './errors';
import { isPlainObject, isRecord } from './json';
import { createSecretMatcher, loggerSchema, searchesFor, type WidgetAuthLogger } from './logger';
import { credentialStoreSecrets, type CachedCredential } from './remote-store';
import type { WidgetUser } from './types';
import { createUpstreamClient, perUserUpstreamOptionsShape, upstreamOptionsShape, userKeyOf, type AbortSource, type PerUserUpstreamOptions, type UpstreamOptions } from './upstream';

// ---------------------------------------------------------------------------
// Public types

/** One call to the vendor through the package's upstream client (see {@link RemoteCredentialCall.upstream}). */
export interface RemoteUpstreamRequest<T> {
  /** The vendor's URL: `https:`, or `http:` on a loopback host only. */
  url: string;
  /** Defaults to `'POST'`. */
  method?: 'GET' | 'POST';
  /** Request headers, e.g. `{ Authorization: \`Bearer ${key}\` }`. `Accept` and (with a body) `Content-Type` are JSON. */
  headers?: Record<string, string>;
  /** Sent as JSON when present. */
  body?: unknown;
  /**
   * Checks the vendor's 2xx JSON body and returns it typed, or throws when it is not the
   * documented shape (the call then fails with 502 `UPSTREAM_INVALID_RESPONSE`): a zod
   * schema's `parse`, or a function of your own. Defaults to the body as it is (`unknown`).
   * What it throws is not logged, as it may quote the answer, unless it is a
   * {@link WidgetAuthError}: its message, which should say what the body was and never
   * quote it (`'a token for another user'`), ends the logged error —
   * `<vendor> answered 200 with a token for another user.` — redacted like every log line.
   */
  parse?: (body: unknown) => T;
}

/**
 * The package's upstream client, bound to the strategy's `timeoutMs`, `retries`, `fetch`
 * and `maxInFlightPerUser`: keep-alive connections (16 per strategy at most), a timeout
 * per attempt, a jittered retry on connection errors and 502/503/504, the strategy's
 * `secrets` redacted from the vendor's error code and correlation id, and the vendor's
 * failures as shaped errors: 401, 403 or any other 4xx but 429 → 502 `UPSTREAM_REJECTED`
 * (never 401: the browser's session is not at fault), 5xx, 429 or unreachable → 502/503
 * `UPSTREAM_UNAVAILABLE`, no answer in time → 504 `UPSTREAM_TIMEOUT`, a body that is not
 * JSON or that `parse` refuses → 502 `UPSTREAM_INVALID_RESPONSE`. Resolves to the parsed body.
 */
export type RemoteUpstream = <T = unknown>(request: RemoteUpstreamRequest<T>) => Promise<T>;

/** What `call` gets. */
export interface RemoteCredentialCall {
  /** The signed-in user (`resolveUser`'s answer). */
  readonly user: WidgetUser;
  /**
   * The parsed JSON body of the request that made the call (`{}` for a `GET`). With a
   * cache, the credential is shared by every request of the user until it expires: make
   * it from `user` only, not from the body.
   */
  readonly body: unknown;
  /**
   * Aborts when the call's time is up (about `timeoutMs × (retries + 1)`, see
   * {@link RemoteCredentialOptions.timeoutMs}) and, without a cache, when the browser
   * closes the request. Pass it to a client of your own; `upstream` needs none. It is
   * made when first read (most calls never read it): read it from the argument
   * (`args.signal`, or `({ signal }) => …`); a copy made with `{ ...args }` has none.
   */
  readonly signal: AbortSignal;
  /** The package's upstream client: timeouts, retries, keep-alive, redaction and shaped errors. */
  readonly upstream: RemoteUpstream;
}

/** The `cache` option of {@link remoteCredential}: `{ store, refreshBefore }` (see {@link CredentialCacheOptions}). */
export type RemoteCredentialCacheOptions = CredentialCacheOptions;

/** Options of {@link remoteCredential}. */
export interface RemoteCredentialOptions<C extends Record<string, unknown> = Record<string, unknown>> extends UpstreamOptions, PerUserUpstreamOptions, WeakSecretOption {
  /**
   * The vendor's name, as the router's `vendor`: in messages, and with a hash of
   * `secrets` the namespace of the cache (strategies of two vendors, or of two accounts of
   * one vendor, may share one store; two strategies that mint different credentials with
   * the same key, for another tenant or scope, need different names). 1 to 40 lower-case letters,
   * digits, `-` and `_`, starting with a letter. Required.
   */
  vendor: string;
  /**
   * Every server-side key `call` sends the vendor (an API key, a client secret), as
   * text: redacted from everything logged and reported, and never sent to the browser
   * (an answer holding one is refused: 502 `UPSTREAM_INVALID_RESPONSE`, never cached). At
   * least one; held to the weak-secret rules unless `allowWeakSecrets`. Required.
   */
  secrets: readonly string[];
  /**
   * Asks the vendor for the user's credential and resolves it: the plain JSON object the
   * browser gets. Call the vendor through `upstream` (or your own client with `signal`).
   * A {@link WidgetAuthError} thrown here is answered with its code (the `upstream`
   * errors included); anything else answers 500 `INTERNAL_ERROR` and is reported.
   */
  call: (call: RemoteCredentialCall) => Promise<C> | C;
  /**
   * When `credential` expires, in Unix seconds (e.g. `(c) => c.expires_at`, or
   * `Date.parse(c.expiresAt) / 1000`). Required with `cache`. A credential that has
   * already expired answers 502 `UPSTREAM_INVALID_RESPONSE`; a time that is not a finite
   * number, or one so large it must be milliseconds, answers 500 `INTERNAL_ERROR`.
   * Defaults to none: without a cache the expiry is not needed.
   */
  expiresAt?: (credential: C) => number;
  /**
   * `false` (every request calls the vendor), or `{ store, refreshBefore }`: each user's
   * credential is kept until `refreshBefore` seconds before its expiry, one vendor call per
   * user at a time (across instances with a shared store), and served while the vendor is
   * down as long as it has not expired. Defaults to `false`.
   */
  cache?: false | RemoteCredentialCacheOptions;
  /**
   * pino-compatible logger for what happens outside a request's own log event: the
   * cache failing (reported once per cause, stderr without a logger) and a cached
   * credential served because the vendor failed (at most once a minute, only with a
   * logger). Never receives a credential, a key or a user id. Defaults to none.
   */
  logger?: WidgetAuthLogger;
  /** Time source in ms since the epoch, for expiry (inject one in tests). Defaults to `Date.now`. */
  clock?: () => number;
}

/**
 * A {@link WidgetCredential} made by the vendor's API, with sign-out: {@link remoteCredential}'s
 * strategy. `invalidate(user)` removes the user's cached credential, so that the next
 * request mints a new one.
 */
export interface RemoteCredential extends WidgetCredential {
  readonly kind: 'remoteCredential';
  /**
   * Remove the cached credential of `user` (a user or its id): call it at sign-out, or
   * when what the credential grants changes. Resolves once the store has removed it;
   * rejects with a {@link WidgetAuthError} (`INTERNAL_ERROR`) when the store cannot be
   * reached (the entry then lives until its expiry). A call being minted for the user in
   * this process at that moment is not stored. Without a cache it resolves at once.
   */
  invalidate(user: WidgetUser | string): Promise<void>;
}

// ---------------------------------------------------------------------------
// Options

const VENDOR_NAME = /^[a-z][a-z0-9_-]{0,39}$/;

const isFunction = (v: unknown): v is (...args: never[]) => unknown => typeof v === 'function';

const remoteSchema = z
  .object({
    vendor: z
      .string({ error: (iss) => (iss.input === undefined ? 'is required — the vendor name, as the router\'s `vendor`, e.g. "acme"' : 'must be a string') })
      .regex(VENDOR_NAME, 'must be 1 to 40 lower-case letters, digits, "-" and "_", starting with a letter'),
    secrets: z
      .array(secretString(8), { error: (iss) => (iss.input === undefined ? 'is required — the server-side keys `call` sends the vendor, e.g. [process.env.ACME_API_KEY!]' : 'must be a list of strings') })
      .min(1, 'must hold at least one key'),
    call: z.custom<RemoteCredentialOptions['call']>(isFunction, { message: 'must be a function ({ user, body, signal, upstream }) => credential' }),
    expiresAt: z.custom<NonNullable<RemoteCredentialOptions['expiresAt']>>(isFunction, { message: 'must be a function (credential) => Unix seconds' }).optional(),
    cache: credentialCacheOption,
    logger: loggerSchema.optional(),
    clock: z.custom<() => number>(isFunction, { message: 'must be a function returning milliseconds' }).optional(),
    allowWeakSecrets: z.boolean({ error: 'must be true or false' }).default(false),
    ...upstreamOptionsShape,
    ...perUserUpstreamOptionsShape,
  })
  .strict()
  .superRefine((options, ctx) => {
    if (options.cache !== false && options.expiresAt === undefined) {
      ctx.addIssue({ code: 'custom', path: ['expiresAt'], message: 'is required with `cache`: a function (credential) => its expiry in Unix seconds' });
    }
    if (!options.allowWeakSecrets) {
      options.secrets.forEach((secret, i) => {
        const reason = weakSecretReason(secret);
        if (reason !== undefined) {
          ctx.addIssue({
            code: 'custom',
            path: ['secrets', i],
            message: `looks like a placeholder or has too little variety (${reason}); set the key the vendor issued — in tests, a random value such as the output of \`openssl rand -hex 32\` (see ${ERRORS_DOCS_URL}#weak-secrets)`,
          });
        }
      });
    }
  });

// ---------------------------------------------------------------------------
// The strategy

/** An expiry past this is in milliseconds, not seconds (the year 5138). */
const MAX_UNIX_SECONDS = 1e11;

const SIGNAL_OF = Symbol('express-widget-auth.signalOf');

/**
 * What `call` is given. A class, not an object literal: V8 builds a literal with a getter
 * slowly, each with a shape of its own, and the code it reaches slows down with it (a
 * route making Liveblocks' call measured about 1.3× a hand-written handler with the same
 * checks with the literal, 1.14× with the class: see bench/README.md).
 */
class CallArgs implements RemoteCredentialCall {
  // symbol-keyed, not `#`: the getter also works through a Proxy or an object made with the argument as its prototype
  readonly [SIGNAL_OF]: () => AbortSignal;

  constructor(
    readonly user: WidgetUser,
    readonly body: unknown,
    signalOf: () => AbortSignal,
    readonly upstream: RemoteUpstream,
  ) {
    this[SIGNAL_OF] = signalOf;
  }

  /** Made when first read (see `mint`). */
  get signal(): AbortSignal {
    return this[SIGNAL_OF]();
  }
}

const credentialOf = (minted: CachedCredential): Record<string, unknown> => minted.credential;

/** A failed `call`: its own `WidgetAuthError` as it is, anything else 500 naming it. */
function callFailed(err: unknown): WidgetAuthError {
  if (isWidgetAuthError(err)) return err;
  return new WidgetAuthError('INTERNAL_ERROR', 'call(…) of remoteCredential threw', { cause: err });
}

/** The body as it is: `upstream()` without a `parse` of its own. */
const asIs = <T>(body: unknown): T => body as T;

/** What a value is, for a message: its type, never the value. */
function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  const type = typeof value;
  return type === 'undefined' ? 'undefined' : `${/^[aeiou]/.test(type) ? 'an' : 'a'} ${type}`;
}

const isRouteContext = (v: unknown): v is Pick<RouteContext, 'holdsSecret' | 'onAnswerRefused'> =>
  typeof v === 'object' && v !== null && typeof (v as RouteContext).holdsSecret === 'function' && typeof (v as RouteContext).onAnswerRefused === 'function';

const isAbortSource = (v: unknown): v is AbortSource => typeof v === 'object' && v !== null && typeof (v as AbortSource).aborted === 'boolean' && 'signal' in v;

/**
 * A credential strategy for {@link widgetCredentialRouter} whose credential the vendor's
 * API makes: `call` asks the vendor (through `upstream`, the package's upstream client)
 * and resolves the JSON object the browser gets.
 *
 * Without a cache, every request calls the vendor. With `cache: { store, refreshBefore }`:
 *
 * - each user's credential is kept in `store` and served until `refreshBefore` seconds
 *   before `expiresAt(credential)`; then the next request mints a new one;
 * - one vendor call per user at a time: concurrent requests of one user in this process
 *   share one call, and instances sharing a {@link redisCredentialStore} take a lock, the
 *   others waiting for the winner's credential (for as long as the winner's call may take,
 *   then calling the vendor themselves);
 * - while the vendor fails (5xx, 429, unreachable, timed out), a cached credential that
 *   has not expired is served; after its expiry, the error is;
 * - a store that fails never fails a request: the strategy calls the vendor (one call per
 *   request of a user at worst), reports the failure once (stderr, or `logger`), leaves the
 *   store alone for a second, and uses it again once it answers;
 * - `invalidate(user)` removes the user's credential (sign-out).
 *
 * Options are checked here, once; a {@link WidgetAuthConfigError} lists every mistake.
 *
 * @example
 * ```ts
 * const credential = remoteCredential({
 *   vendor: 'acme',
 *   secrets: [process.env.ACME_API_KEY!],
 *   call: ({ user, upstream }) =>
 *     upstream({
 *       url: 'https://api.acme.example/v1/widget-tokens',
 *       headers: { Authorization: `Bearer ${process.env.ACME_API_KEY!}` },
 *       body: { user_id: user.id },
 *       parse: (body) => body as { token: string; expires_at: number },
 *     }),
 *   expiresAt: (credential) => credential.expires_at,
 *   cache: { store: memoryCredentialStore({ max: 10_000 }), refreshBefore: 60 },
 * });
 * ```
 */
export function remoteCredential<C extends Record<string, unknown>>(options: RemoteCredentialOptions<C>): RemoteCredential {
  const config = parseOptions('remoteCredential', remoteSchema, options);
  const vendor = config.vendor;
  const call = config.call as unknown as RemoteCredentialOptions['call'];
  const expiresAtOf = config.expiresAt as RemoteCredentialOptions['expiresAt'];
  const store = config.cache === false ? undefined : config.cache.store;
  const clock = config.clock ?? Date.now;
  const logger = config.logger;
  const secrets = [...new Set([...config.secrets, ...(store ? credentialStoreSecrets(store) : [])])];
  const matcher = createSecretMatcher(secrets);
  const client = createUpstreamClient(vendor, { timeoutMs: config.timeoutMs, retries: config.retries, fetch: config.fetch, maxInFlightPerUser: config.maxInFlightPerUser });
  // the whole call: every attempt, the retry waits (at most 2 s each) and a little slack,
  // so that the client's own timeout, with its details, answers first
  const budgetMs = mintBudgetMs(config.timeoutMs, config.retries);
  const cache =
    config.cache === false
      ? undefined
      : createCredentialCache({ vendor, namespace: accountNamespace(vendor, config.secrets), store: config.cache.store, refreshBefore: config.cache.refreshBefore, mintBudgetMs: budgetMs, clock, logger, redact: matcher.redact });

  // a call names a handful of fixed URLs: each is checked once (at most 64 remembered)
  const checkedUrls = new Set<string>();
  const checkUrl = (href: unknown): void => {
    if (typeof href === 'string' && checkedUrls.has(href)) return;
    let url: URL;
    try {
      url = new URL(href as string);
    } catch {
      throw new WidgetAuthError('INTERNAL_ERROR', 'upstream() of remoteCredential was given a URL that is not absolute');
    }
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.hostname))) {
      throw new WidgetAuthError('INTERNAL_ERROR', 'upstream() of remoteCredential was given a URL that is not https: (plain http: is allowed only for localhost, 127.0.0.0/8 and [::1])');
    }
    if (typeof href === 'string' && checkedUrls.size < 64) checkedUrls.add(href);
  };

  const upstreamFor = (userKey: string | undefined, abort: AbortSource | undefined, request: CredentialRequest | undefined): RemoteUpstream =>
    async function upstream<T>(req: RemoteUpstreamRequest<T>): Promise<T> {
      // read once: the URL checked is the URL called
      const href: unknown = req.url;
      checkUrl(href);
      if (req.parse !== undefined && typeof req.parse !== 'function') throw new WidgetAuthError('INTERNAL_ERROR', 'upstream() of remoteCredential was given a parse that is not a function');
      const { data, upstreamMs } = await client.call({
        url: href as string,
        method: req.method ?? 'POST',
        headers: req.headers,
        body: req.body,
        parse: req.parse ?? (asIs as (body: unknown) => T),
        signal: abort,
        userKey,
        redact: matcher.redact,
      });
      // the request's log event counts the time spent on the vendor
      const route = request as { upstream?: unknown } | undefined;
      if (typeof route?.upstream === 'function') (route as { upstream(ms: number): void }).upstream(upstreamMs);
      return data;
    };

  /**
   * Call the vendor once, within the budget: the checked credential and its expiry (Unix
   * seconds, or NaN without `expiresAt`). Not an async function: V8 gives each call of one
   * a copy of its registers; the answer is checked in {@link checked}.
   */
  function mint(user: WidgetUser, request: CredentialRequest | undefined, shared: boolean): Promise<CachedCredential> {
    let source: AbortSource | undefined;
    let userKey: string | undefined;
    let route: Pick<RouteContext, 'holdsSecret' | 'onAnswerRefused'> | undefined;
    try {
      source = !shared && isAbortSource(request) ? request : undefined;
      userKey = userKeyOf(user);
      route = !shared && isRouteContext(request) ? request : undefined;
    } catch (err) {
      // a request object whose getters throw: a rejection, as from any other step
      return Promise.reject(err);
    }
    // the call's signal is made when the call first reads it: most calls only use `upstream`,
    // which the budget and the request's close reach without it (an AbortController, and
    // AbortSignal.any above all, cost more than the rest of a call's bookkeeping)
    let controller: AbortController | undefined;
    let signal: AbortSignal | undefined;
    let expired: WidgetAuthError | undefined;
    const signalOf = (): AbortSignal => {
      if (signal === undefined) {
        controller = new AbortController();
        if (expired !== undefined) controller.abort(expired);
        signal = source === undefined ? controller.signal : AbortSignal.any([controller.signal, source.signal]);
      }
      return signal;
    };
    let timer: NodeJS.Timeout | undefined;
    let answered: Promise<unknown>;
    try {
      const args = new CallArgs(user, request?.body ?? {}, signalOf, upstreamFor(userKey, source, request));
      // the call's answer or the deadline, whichever comes first: a call that settles after
      // the deadline is nobody's concern (the promise is settled already)
      answered = new Promise<unknown>((resolve, reject) => {
        timer = setTimeout(() => {
          expired = new WidgetAuthError('UPSTREAM_TIMEOUT', `${vendor} did not answer within ${budgetMs} ms.`);
          controller?.abort(expired);
          reject(expired);
        }, budgetMs);
        // called at once (a throw is a rejection), its answer awaited only when it is a promise
        let answer: unknown;
        try {
          answer = call(args);
        } catch (err) {
          reject(err);
          return;
        }
        // `then` read once: a getter could answer differently the second time (one that throws rejects)
        const then: unknown = typeof answer === 'object' && answer !== null ? (answer as { then?: unknown }).then : undefined;
        if (typeof then === 'function') (then as (onValue: (v: unknown) => void, onError: (e: unknown) => void) => unknown).call(answer, resolve, reject);
        else resolve(answer);
      });
    } catch (err) {
      clearTimeout(timer);
      return Promise.reject(callFailed(err));
    }
    return answered.then(
      (result) => {
        clearTimeout(timer);
        return checked(result, route);
      },
      (err: unknown) => {
        clearTimeout(timer);
        throw callFailed(err);
      },
    );
  }

  /** The credential a call resolved, checked: a plain object of JSON without a secret, and its expiry. */
  function checked(result: unknown, route: Pick<RouteContext, 'holdsSecret' | 'onAnswerRefused'> | undefined): CachedCredential {
    if (!isPlainObject(result)) {
      throw new WidgetAuthError('INTERNAL_ERROR', `call(…) of remoteCredential resolved ${kindOf(result)}${isRecord(result) ? ' that is a class instance' : ''}; it must resolve the plain object the browser gets`);
    }
    let json: string;
    try {
      json = JSON.stringify(result);
    } catch (err) {
      throw new WidgetAuthError('INTERNAL_ERROR', 'call(…) of remoteCredential resolved a value JSON cannot write (a BigInt, a cycle)', { cause: err });
    }
    // the answer goes to the browser and into the cache: one holding this server's key is never
    // used. A request's own call is searched with the route's search, which knows the routers
    // mounted beside it and which the pipeline's search of the same text then skips; with this
    // strategy's own secrets first unless the route's search looks for them too (its own
    // router's does; a host's strategy wrapping this one may sit on a router that does not)
    const ownSecret = route !== undefined && searchesFor(route, secrets) ? false : matcher.contains(json);
    if (ownSecret || (route !== undefined && route.holdsSecret(json))) {
      const whose = ownSecret || matcher.contains(json) ? "this server's key" : 'the secret of another router mounted with it';
      throw secretEchoError(`${vendor} answered with a credential that holds ${whose}; it was not used.`);
    }
    // a copy of plain JSON for the cache, for a host's own `issue`, and for an `expiresAt` that
    // could change the object; otherwise a route's answer is the call's object, which the
    // pipeline writes as the same text (and searches again if not)
    const credential = route !== undefined && cache === undefined && expiresAtOf === undefined ? result : (JSON.parse(json) as Record<string, unknown>);
    // the route's search read this text: its router sends it rather than writing the object again
    if (route !== undefined) keepWrittenText(credential, json);
    if (expiresAtOf === undefined) return { credential, expiresAt: Number.NaN };
    let expiresAt: unknown;
    try {
      expiresAt = expiresAtOf(result as Record<string, unknown>);
    } catch (err) {
      throw new WidgetAuthError('INTERNAL_ERROR', 'expiresAt(credential) of remoteCredential threw', { cause: err });
    }
    if (typeof expiresAt !== 'number' || !Number.isFinite(expiresAt)) {
      throw new WidgetAuthError('INTERNAL_ERROR', `expiresAt(credential) of remoteCredential returned ${typeof expiresAt === 'number' ? 'a number that is not finite' : kindOf(expiresAt)}; it must return the expiry in Unix seconds`);
    }
    if (expiresAt > MAX_UNIX_SECONDS) {
      throw new WidgetAuthError('INTERNAL_ERROR', 'expiresAt(credential) of remoteCredential returned a time in milliseconds; it must return Unix seconds (divide by 1000)');
    }
    if (expiresAt * 1000 <= clock()) {
      throw new WidgetAuthError('UPSTREAM_INVALID_RESPONSE', `${vendor} answered with a credential that had already expired.`);
    }
    return { credential, expiresAt };
  }

  const strategy: RemoteCredential = {
    kind: 'remoteCredential',
    secrets,
    relaysVendor: true,
    // not an async function: the mint's or the flight's own promise is the answer, without
    // one more promise and the turns to adopt it (a throw is a rejection all the same)
    issue(user, request) {
      if (cache === undefined) return mint(user, request, false).then(credentialOf);
      try {
        // a router's context (`issue` called by a host has none) searches for the secrets of every router mounted with it
        return cache.issue(user, { mint: () => mint(user, request, true), context: isRouteContext(request) ? request : undefined });
      } catch (err) {
        return Promise.reject(err);
      }
    },
    async invalidate(user) {
      const id = invalidatedUserId(user, 'remoteCredential');
      if (cache !== undefined) await cache.invalidate(id);
    },
  };
  // a router given this strategy itself sends the text `checked` wrote and the route searched
  writesCredentialText(strategy.issue);
  return strategy;
}
