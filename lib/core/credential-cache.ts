import { createHash } from 'node:crypto';
import { z } from 'zod';
import { ERRORS_DOCS_URL, WidgetAuthError, isWidgetAuthError, secretEchoError } from './errors';
import { createSecretMatcher, describeUnexpected, type Redactor, type WidgetAuthLogger } from './logger';
import { credentialStoreSecrets, type CachedCredential, type CredentialLockRelease, type CredentialStore } from './remote-store';
import { emitReport } from './report';
import type { RouteContext } from './pipeline';
import type { WidgetUser } from './types';

/**
 * The `cache` option of {@link remoteCredential}, `neverminedSessionRouter` and
 * `wonderfulTokenRouter`: where credentials are kept, and how long before their expiry a
 * new one is minted.
 */
export interface CredentialCacheOptions {
  /** Where credentials are kept: {@link memoryCredentialStore} (one process) or {@link redisCredentialStore} (shared). */
  store: CredentialStore;
  /**
   * Seconds before a credential's expiry at which a new one is minted, 0 to 86400: a
   * request that finds the cached credential closer than this to its expiry calls the
   * vendor (other instances keep serving the still-valid one meanwhile). Keep it well under
   * the credential's life, or every request mints. Defaults to `60`.
   */
  refreshBefore?: number;
}

/** A `cache` option once checked. */
export interface ResolvedCredentialCacheOptions {
  store: CredentialStore;
  refreshBefore: number;
}

const storeSchema = z.custom<CredentialStore>(
  (v) =>
    typeof v === 'object' &&
    v !== null &&
    ['get', 'set', 'delete'].every((m) => typeof (v as Record<string, unknown>)[m] === 'function') &&
    ((v as CredentialStore).lock === undefined || typeof (v as CredentialStore).lock === 'function'),
  { message: 'must be a credential store: memoryCredentialStore({ … }), redisCredentialStore({ … }), or an object with get, set and delete (and optionally lock)' },
);

/** Longest `refreshBefore`, in seconds. */
const MAX_REFRESH_BEFORE = 86_400;

const cacheSchema = z
  .object({
    store: storeSchema,
    refreshBefore: z
      .number({ error: 'must be a whole number of seconds' })
      .int('must be a whole number of seconds')
      .min(0, 'must not be negative')
      .max(MAX_REFRESH_BEFORE, `must be at most ${MAX_REFRESH_BEFORE} seconds`)
      .default(60),
  })
  .strict();

/** zod schema of a `cache` option: `false` (or omitted) or `{ store, refreshBefore }`. */
export const credentialCacheOption = z
  .unknown()
  .optional()
  .transform((value, ctx): false | ResolvedCredentialCacheOptions => {
    if (value === false || value === undefined) return false;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      ctx.addIssue({ code: 'custom', message: 'must be false or { store, refreshBefore }' });
      return z.NEVER;
    }
    const parsed = cacheSchema.safeParse(value);
    if (parsed.success) return parsed.data;
    for (const issue of parsed.error.issues) ctx.addIssue({ ...issue, path: [...issue.path] } as Parameters<typeof ctx.addIssue>[0]);
    return z.NEVER;
  });

/**
 * The longest a vendor call through the upstream client can take with these options:
 * every attempt, the retry waits (at most 2 s each) and a little slack.
 */
export function mintBudgetMs(timeoutMs: number, retries: number): number {
  return (timeoutMs + 2_000) * retries + timeoutMs + 250;
}

/** After a store failure, leave the store alone this long (no per-request failures while it is down). */
const STORE_RETRY_MS = 1_000;
/** How often a request that lost the lock looks for the winner's credential. */
const PEER_POLL_MS = 20;
/** Stale credentials served while the vendor fails are logged at most this often. */
const STALE_WARN_EVERY_MS = 60_000;
/** The heading of docs/errors.md about the credential cache failing. */
const CACHE_DOCS = `${ERRORS_DOCS_URL}#the-credential-cache-is-unavailable`;
/** The vendor failures during which a still-valid cached credential is served. */
const VENDOR_DOWN = new Set(['UPSTREAM_UNAVAILABLE', 'UPSTREAM_TIMEOUT', 'NETWORK_ERROR', 'UPSTREAM_ERROR']);

/** What {@link createCredentialCache} needs. */
export interface CredentialCacheConfig {
  /** The vendor's name, in reports and log lines. */
  vendor: string;
  /** The store's namespace: every owner sharing a store needs its own. */
  namespace: string;
  store: CredentialStore;
  /** Seconds before expiry at which a new credential is minted. */
  refreshBefore: number;
  /** How long one mint may take at most (the lock's life is a second more). */
  mintBudgetMs: number;
  /** Time source in ms since the epoch. */
  clock: () => number;
  logger: WidgetAuthLogger | undefined;
  /** Redacts the owner's secrets from the store's error messages. */
  redact: Redactor;
}

/** How {@link CredentialCache.issue} gets one credential. */
export interface CredentialCacheRequest {
  /** Calls the vendor once: the credential and its expiry in Unix seconds (in the future). */
  mint: () => Promise<CachedCredential>;
  /**
   * Ask for a credential newer than the one cached now, whatever its freshness (the
   * browser's credential was refused): peers' renewals are shared, the cached one is
   * never served, also not while the vendor is down. Defaults to `false`.
   */
  renew?: boolean;
  /**
   * The route's context, when there is one: a minted credential in which its
   * `holdsSecret` finds a secret is refused (502 `UPSTREAM_INVALID_RESPONSE`) and never
   * stored, and through `onAnswerRefused` an entry the pipeline refuses (stored by a router
   * that did not know that secret) is removed, so the next request mints anew.
   */
  context?: Pick<RouteContext, 'holdsSecret' | 'onAnswerRefused'> | undefined;
}

/** The per-user credential cache shared by the credential strategies and routers that call a vendor. */
export interface CredentialCache {
  /** The user's credential: cached, a peer's, or minted by `mint` (one flight per user at a time). */
  issue(user: WidgetUser, request: CredentialCacheRequest): Promise<Record<string, unknown>>;
  /** Remove the user's cached credential; a flight minting for the user in this process is not stored. */
  invalidate(userId: string): Promise<void>;
}

/** A flight in progress for one user in this process; `store: false` once the user was invalidated. */
interface Flight {
  promise: Promise<Record<string, unknown>>;
  store: boolean;
}

/** How taking the lock went. */
type LockOutcome = { kind: 'acquired'; release: CredentialLockRelease } | { kind: 'lost' } | { kind: 'none' };

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * The user id `invalidate(user)` was given (a user or its id), or a {@link WidgetAuthError}
 * naming `owner` when it is neither.
 */
export function invalidatedUserId(user: WidgetUser | string, owner: string): string {
  const id: unknown = typeof user === 'string' ? user : (user as WidgetUser | undefined)?.id;
  if (typeof id !== 'string' || id.length === 0) throw new WidgetAuthError('INTERNAL_ERROR', `invalidate(user) of ${owner} needs a user or a non-empty user id`);
  return id;
}

/**
 * A per-user credential cache over a {@link CredentialStore}:
 *
 * - each user's credential is served until `refreshBefore` seconds before its expiry;
 * - one mint per user at a time: concurrent requests of one user in this process share
 *   one flight, and instances sharing a store with `lock` take it, the others serving the
 *   still-valid credential or waiting for the winner's (bounded by the lock's life);
 * - while the vendor fails (5xx, 429, unreachable, timed out), a cached credential that
 *   has not expired is served; after its expiry, the error is;
 * - a store that fails never fails a request: the failure is reported once, the store
 *   left alone for a second, and the vendor called directly meanwhile.
 */
export function createCredentialCache(config: CredentialCacheConfig): CredentialCache {
  const { vendor, namespace, store, clock, logger, redact } = config;
  const refreshBeforeMs = config.refreshBefore * 1000;
  const lockTtlMs = config.mintBudgetMs + 1_000;
  const flights = new Map<string, Flight>();
  const renewals = new Map<string, Flight>();
  let storeDownUntil = 0;
  let staleWarnedAt: number | undefined;

  function storeFailed(err: unknown, action: string): void {
    storeDownUntil = performance.now() + STORE_RETRY_MS;
    const { name, message } = describeUnexpected(err, redact);
    emitReport(
      {
        code: 'CREDENTIAL_CACHE_UNAVAILABLE',
        cause: 'cache',
        vendor,
        message: `The ${vendor} credential cache failed to ${action} (${name}${message ? `: ${message}` : ''}); requests call the vendor directly until it answers again`,
        docs: CACHE_DOCS,
      },
      `${vendor}|CREDENTIAL_CACHE_UNAVAILABLE|${name}`,
      logger,
      'error',
    );
  }

  const storeUp = () => performance.now() >= storeDownUntil;

  async function readStore(userId: string): Promise<CachedCredential | undefined> {
    if (!storeUp()) return undefined;
    try {
      const value = await store.get(namespace, userId);
      return value !== undefined && value.expiresAt * 1000 > clock() ? value : undefined;
    } catch (err) {
      storeFailed(err, 'read a credential');
      return undefined;
    }
  }

  async function writeStore(userId: string, value: CachedCredential, flight: Flight): Promise<void> {
    const ttlMs = value.expiresAt * 1000 - clock();
    if (!flight.store || !storeUp() || ttlMs <= 0) return;
    try {
      await store.set(namespace, userId, value, ttlMs);
    } catch (err) {
      storeFailed(err, 'store a credential');
    }
  }

  async function tryLock(userId: string): Promise<LockOutcome> {
    if (store.lock === undefined || !storeUp()) return { kind: 'none' };
    try {
      const release = await store.lock(namespace, userId, lockTtlMs);
      return release === undefined ? { kind: 'lost' } : { kind: 'acquired', release };
    } catch (err) {
      storeFailed(err, 'take a lock');
      return { kind: 'none' };
    }
  }

  const isFresh = (value: CachedCredential) => value.expiresAt * 1000 - refreshBeforeMs > clock();
  /** A renewal takes only a credential newer than the one cached when it started. */
  const newer = (value: CachedCredential, than: CachedCredential | undefined) => than === undefined || value.expiresAt > than.expiresAt;

  /** One user's request for a credential, as it goes through the steps below. */
  interface Ask {
    user: WidgetUser;
    mint: () => Promise<CachedCredential>;
    context: CredentialCacheRequest['context'];
    flight: Flight;
    /** For a renewal: the entry cached when it started (never served), else `undefined`. */
    renewing: { held: CachedCredential | undefined } | undefined;
  }

  /** Mint and store; while the vendor is down, serve `held` if it has not expired (never for a renewal). */
  async function mintAndStore(ask: Ask, held: CachedCredential | undefined): Promise<Record<string, unknown>> {
    let value: CachedCredential;
    try {
      value = await ask.mint();
    } catch (err) {
      if (ask.renewing === undefined && held !== undefined && isWidgetAuthError(err) && VENDOR_DOWN.has(err.code) && held.expiresAt * 1000 > clock()) {
        warnStale(err);
        return held.credential;
      }
      throw err;
    }
    // the answer check would refuse it on every request until it expired: never stored
    if (ask.context?.holdsSecret(JSON.stringify(value.credential))) {
      throw secretEchoError(`${vendor} answered with a credential that holds a secret of a router mounted with it; it was neither sent nor cached.`);
    }
    await writeStore(ask.user.id, value, ask.flight);
    return value.credential;
  }

  async function mintHolding(ask: Ask, held: CachedCredential | undefined, release: CredentialLockRelease): Promise<Record<string, unknown>> {
    try {
      // a peer may have finished just before the lock was taken
      const now = await readStore(ask.user.id);
      if (now !== undefined) {
        if (ask.renewing !== undefined ? newer(now, ask.renewing.held) : isFresh(now) || (held !== undefined && now.expiresAt > held.expiresAt)) return now.credential;
      }
      return await mintAndStore(ask, now ?? held);
    } finally {
      try {
        await release();
      } catch (err) {
        storeFailed(err, 'release a lock');
      }
    }
  }

  /** Wait for the lock holder's credential; take the lock over if it is given up; bounded by the lock's life. */
  async function waitForPeer(ask: Ask): Promise<Record<string, unknown>> {
    const deadline = performance.now() + lockTtlMs;
    while (performance.now() < deadline) {
      await sleep(PEER_POLL_MS);
      const value = await readStore(ask.user.id);
      if (value !== undefined && (ask.renewing === undefined || newer(value, ask.renewing.held))) return value.credential;
      const lock = await tryLock(ask.user.id);
      if (lock.kind === 'acquired') return mintHolding(ask, undefined, lock.release);
      if (lock.kind === 'none') break;
    }
    return mintAndStore(ask, undefined);
  }

  async function obtain(ask: Ask): Promise<Record<string, unknown>> {
    const held = await readStore(ask.user.id);
    if (ask.renewing !== undefined) ask.renewing.held = held;
    else if (held !== undefined && isFresh(held)) return held.credential;
    const lock = await tryLock(ask.user.id);
    if (lock.kind === 'acquired') return mintHolding(ask, held, lock.release);
    if (lock.kind === 'lost') {
      // another instance is minting: serve the still-valid credential, or wait for theirs
      if (held !== undefined && ask.renewing === undefined) return held.credential;
      return waitForPeer(ask);
    }
    return mintAndStore(ask, held);
  }

  function warnStale(err: WidgetAuthError): void {
    const now = performance.now();
    if (logger === undefined || (staleWarnedAt !== undefined && now - staleWarnedAt < STALE_WARN_EVERY_MS)) return;
    staleWarnedAt = now;
    try {
      logger.warn({ vendor, code: err.code, ...(err.upstreamStatus !== undefined ? { upstreamStatus: err.upstreamStatus } : {}) }, `${vendor} could not mint a credential; serving the cached one until it expires`);
    } catch {
      // a broken logger must not break the answer
    }
  }

  const cache: CredentialCache = {
    issue(user, request) {
      // one flight per user in this process: concurrent requests share its answer
      const id = user.id;
      // an entry stored by a router that did not know one of this router's secrets: gone once refused
      request.context?.onAnswerRefused(() => {
        cache.invalidate(id).catch(() => undefined);
      });
      const renew = request.renew === true;
      const map = renew ? renewals : flights;
      const running = map.get(id);
      if (running !== undefined) return running.promise;
      const flight: Flight = { promise: undefined as unknown as Promise<Record<string, unknown>>, store: true };
      flight.promise = obtain({ user, mint: request.mint, context: request.context, flight, renewing: renew ? { held: undefined } : undefined }).finally(() => {
        if (map.get(id) === flight) map.delete(id);
      });
      map.set(id, flight);
      return flight.promise;
    },
    async invalidate(id) {
      for (const map of [flights, renewals]) {
        const running = map.get(id);
        if (running !== undefined) {
          running.store = false;
          map.delete(id);
        }
      }
      try {
        await store.delete(namespace, id);
      } catch (err) {
        throw new WidgetAuthError('INTERNAL_ERROR', `The ${vendor} credential cache could not remove the user's credential; it lives until it expires`, { cause: err });
      }
    },
  };
  return cache;
}

/**
 * The namespace of one owner of a shared store: `label` (what it mints: the vendor, API,
 * tenant) and a hash of the account's keys, so that two accounts of one vendor (another
 * API key) sharing a store never serve each other's credentials. A changed key starts an
 * empty namespace: every user mints anew once.
 */
export function accountNamespace(label: string, secrets: readonly string[]): string {
  return JSON.stringify([label, createHash('sha256').update(`express-widget-auth remote account\0${JSON.stringify(secrets)}`, 'utf8').digest('base64url')]);
}

/**
 * The cache of a vendor router's `cache` option (`undefined` when it is `false`) and the
 * router's secrets: its own and, with a cache, the store's keys, so the router redacts and
 * refuses them all. `namespace` keeps apart the credentials of routers that share a store
 * but mint different ones (another API, tenant or lifetime); the hash of `secrets` joins
 * it, so another account (another key) never shares entries either.
 */
export function routerCredentialCache(
  option: false | ResolvedCredentialCacheOptions,
  spec: { vendor: string; namespace: string; secrets: readonly string[]; timeoutMs: number; retries: number; logger: WidgetAuthLogger | undefined },
): { cache: CredentialCache | undefined; secrets: string[] } {
  if (option === false) return { cache: undefined, secrets: [...spec.secrets] };
  const secrets = [...spec.secrets, ...credentialStoreSecrets(option.store)];
  const cache = createCredentialCache({
    vendor: spec.vendor,
    namespace: accountNamespace(spec.namespace, spec.secrets),
    store: option.store,
    refreshBefore: option.refreshBefore,
    mintBudgetMs: mintBudgetMs(spec.timeoutMs, spec.retries),
    // read on each call, so that a test's fake Date is the clock
    clock: () => Date.now(),
    logger: spec.logger,
    redact: createSecretMatcher(secrets).redact,
  });
  return { cache, secrets };
}
