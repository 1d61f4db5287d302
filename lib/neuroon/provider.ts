import { z } from 'zod';
import { parseOptions, requiredString, secretString, vendorBaseUrl, type WeakSecretOption } from '../core/config';
import { WidgetAuthError } from '../core/errors';
import { createSecretMatcher, describeUnexpected, loggerSchema, type SecretMatcher, type WidgetAuthLogger } from '../core/logger';
import { createUpstreamClient, upstreamOptionsShape, type UpstreamClient } from '../core/upstream';
import { MemoryTokenStore, isCachedToken, neuroonCacheKey, type NeuroonCachedToken, type NeuroonLockRelease, type NeuroonTokenStore } from './stores';

/** Neuroon's production API. */
export const NEUROON_API_URL = 'https://api.neuroon.ai';
/** How long Neuroon accepts a widget token: 24 hours from issue. */
export const NEUROON_TOKEN_LIFETIME_MS = 24 * 3600_000;
/** Age at which the provider fetches a new token by default: 23 hours. */
export const NEUROON_ROTATE_AFTER_MS = 23 * 3600_000;

const HOUR = 3600_000;
/** After a cache failure, leave the cache alone this long (no per-request timeouts while it is down). */
const STORE_RETRY_MS = 5_000;
/** Cache failures are logged at most this often. */
const STORE_WARN_EVERY_MS = 60_000;
/** How often a provider that lost the lock looks for the winner's token. */
const PEER_POLL_MS = 20;

/** Options of {@link NeuroonTokenProvider}. */
export interface NeuroonTokenProviderOptions extends WeakSecretOption {
  /** The shop's id (env `NEUROON_SHOP_ID`). */
  shopId: string;
  /** The Shop API key (env `NEUROON_API_KEY`). Server-only; never logged. */
  apiKey: string;
  /** Neuroon API base URL (env `NEUROON_API_URL`). Defaults to `"https://api.neuroon.ai"`. */
  apiBaseUrl?: string;
  /** Age after which the token is replaced before it is served again. Defaults to 23 hours. */
  rotateAfterMs?: number;
  /** How long Neuroon accepts a token after issue. Defaults to 24 hours. */
  ttlMs?: number;
  /**
   * A cached token is never served in its last `safetyMarginMs` of life, even when
   * Neuroon cannot issue a new one. Defaults to 5 minutes.
   */
  safetyMarginMs?: number;
  /** While a cached token is being served because Neuroon failed, try Neuroon again at most this often. Defaults to 30 seconds. */
  retryIntervalMs?: number;
  /** Where the token is cached and shared ({@link RedisTokenStore} for several instances). Defaults to a {@link MemoryTokenStore}. */
  store?: NeuroonTokenStore;
  /** Time source in ms since the epoch (inject one in tests). Defaults to `Date.now`. */
  clock?: () => number;
  /** pino-compatible logger for warnings (vendor failures, cache outages). Never receives a token or the API key. Defaults to none. */
  logger?: WidgetAuthLogger;
  /** Per-attempt timeout of the vendor call. Defaults to 5000. */
  timeoutMs?: number;
  /** Retries of the vendor call on connection errors and 502/503/504. Defaults to 1. */
  retries?: number;
  /** A `fetch` to call the vendor with instead of the built-in keep-alive `node:http`/`node:https` client. */
  fetch?: typeof fetch;
}

const duration = (max: number) => z.number().int('must be a whole number of milliseconds').positive('must be positive').max(max, `must be at most ${max}`);

const storeSchema = z.custom<NeuroonTokenStore>(
  (v) =>
    typeof v === 'object' &&
    v !== null &&
    typeof (v as NeuroonTokenStore).get === 'function' &&
    typeof (v as NeuroonTokenStore).set === 'function' &&
    ((v as NeuroonTokenStore).lock === undefined || typeof (v as NeuroonTokenStore).lock === 'function'),
  { message: 'must be a token store with get and set methods (and optionally lock)' },
);

/** The vendor route the provider appends to `apiBaseUrl`. */
export const NEUROON_ISSUE_ROUTE = '/api/shops/:shopId/widget-token';

/** The provider's options as zod fields, without defaults (so the router can tell what was passed). */
export const neuroonProviderFields = {
  shopId: requiredString(),
  apiKey: secretString(8),
  apiBaseUrl: vendorBaseUrl(NEUROON_ISSUE_ROUTE).optional(),
  rotateAfterMs: duration(7 * 24 * HOUR).optional(),
  ttlMs: duration(7 * 24 * HOUR).optional(),
  safetyMarginMs: z.number().int('must be a whole number of milliseconds').min(0, 'must not be negative').max(24 * HOUR, `must be at most ${24 * HOUR}`).optional(),
  retryIntervalMs: duration(HOUR).optional(),
  store: storeSchema.optional(),
  clock: z.custom<() => number>((v) => typeof v === 'function', { message: 'must be a function returning milliseconds' }).optional(),
  timeoutMs: upstreamOptionsShape.timeoutMs.unwrap().optional(),
  retries: upstreamOptionsShape.retries.unwrap().optional(),
  fetch: upstreamOptionsShape.fetch,
};

/** Rotation must happen while the token can still be served. */
export function checkRotation(
  options: { rotateAfterMs?: number | undefined; ttlMs?: number | undefined; safetyMarginMs?: number | undefined },
  ctx: z.RefinementCtx,
): void {
  const ttl = options.ttlMs ?? NEUROON_TOKEN_LIFETIME_MS;
  const margin = options.safetyMarginMs ?? 5 * 60_000;
  const rotate = options.rotateAfterMs ?? NEUROON_ROTATE_AFTER_MS;
  if (rotate >= ttl - margin) {
    ctx.addIssue({ code: 'custom', path: ['rotateAfterMs'], message: 'must be less than ttlMs minus safetyMarginMs, so the token is replaced while it can still be served' });
  }
}

const providerSchema = z
  .object({ ...neuroonProviderFields, logger: loggerSchema.optional() })
  .strict()
  .superRefine(checkRotation);

const tokenBodySchema = z.object({ token: z.string().min(1) }).strict();

/** Each provider's API key, for the routers serving its tokens (they redact it and keep it out of answers). */
const PROVIDER_KEYS = new WeakMap<object, string>();

/** The secrets a router serving `provider`'s tokens must redact and never answer with: its API key. */
export function neuroonProviderSecrets(provider: NeuroonTokenProvider): string[] {
  const key = PROVIDER_KEYS.get(provider);
  return key === undefined ? [] : [key];
}

type LockOutcome = { kind: 'acquired'; release: NeuroonLockRelease } | { kind: 'lost' } | { kind: 'none' };

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * The shop's Neuroon widget token, cached and rotated: issued with the Shop API key,
 * served from cache until it is `rotateAfterMs` old (23 h), then replaced before the
 * next use. Concurrent callers share one vendor call; with a shared store that has a
 * lock ({@link RedisTokenStore}), instances share one vendor call too.
 *
 * When Neuroon fails while the cached token still has more than `safetyMarginMs` of
 * its life left, the cached token keeps being served (with a warning) and Neuroon is
 * retried at most every `retryIntervalMs`; after that `getToken` rejects with the
 * {@link WidgetAuthError}. A 429 from Neuroon is respected: no call before its
 * `Retry-After` has passed. Failures are never cached: the next call after a rejection
 * asks Neuroon again. A cache that fails is bypassed, never fatal.
 *
 * Construction validates the options and throws a `WidgetAuthConfigError` listing
 * every problem. Create one provider per shop and share it.
 *
 * @example
 * ```ts
 * const neuroon = new NeuroonTokenProvider({ shopId: 'shop_abc', apiKey: process.env.NEUROON_API_KEY! });
 * const token = await neuroon.getToken();
 * ```
 */
export class NeuroonTokenProvider {
  /** The shop this provider issues tokens for. */
  readonly shopId: string;
  /** The key under which the token is cached (shop id and a hash of the API key; never the key itself). */
  readonly cacheKey: string;

  private readonly apiKey: string;
  private readonly url: string;
  private readonly rotateAfterMs: number;
  private readonly usableForMs: number;
  private readonly retryIntervalMs: number;
  private readonly lockTtlMs: number;
  private readonly store: NeuroonTokenStore;
  private readonly clock: () => number;
  private readonly logger: WidgetAuthLogger | undefined;
  private readonly client: UpstreamClient;
  private readonly secrets: SecretMatcher;
  private readonly redact: (text: string) => string;

  private entry: NeuroonCachedToken | undefined;
  private flight: Promise<string> | undefined;
  /** No vendor call before this while a usable token is cached (after a failure). */
  private nextAttemptAt = 0;
  /** No vendor call at all before this (Neuroon answered 429). */
  private blockedUntil = 0;
  private storeDownUntil = 0;
  private storeWarnedAt: number | undefined;

  constructor(options: NeuroonTokenProviderOptions) {
    const config = parseOptions('NeuroonTokenProvider', providerSchema, options);
    const ttlMs = config.ttlMs ?? NEUROON_TOKEN_LIFETIME_MS;
    const timeoutMs = config.timeoutMs ?? 5000;
    const retries = config.retries ?? 1;
    this.shopId = config.shopId;
    this.apiKey = config.apiKey;
    this.cacheKey = neuroonCacheKey(config.shopId, config.apiKey);
    this.url = `${config.apiBaseUrl ?? NEUROON_API_URL}/api/shops/${encodeURIComponent(config.shopId)}/widget-token`;
    this.rotateAfterMs = config.rotateAfterMs ?? NEUROON_ROTATE_AFTER_MS;
    this.usableForMs = ttlMs - (config.safetyMarginMs ?? 5 * 60_000);
    this.retryIntervalMs = config.retryIntervalMs ?? 30_000;
    // long enough for the winner's whole vendor call, retries and their waits included
    this.lockTtlMs = (timeoutMs + 2_000) * retries + timeoutMs + 1_000;
    this.clock = config.clock ?? Date.now;
    this.store = config.store ?? new MemoryTokenStore({ clock: this.clock });
    this.logger = config.logger;
    this.client = createUpstreamClient('Neuroon', { timeoutMs, retries, fetch: config.fetch });
    this.secrets = createSecretMatcher([config.apiKey]);
    this.redact = this.secrets.redact;
    PROVIDER_KEYS.set(this, config.apiKey);
  }

  /**
   * The widget token: from this process's copy while it is younger than
   * `rotateAfterMs` (no I/O), otherwise from the shared store or a new vendor call.
   * Rejects with a {@link WidgetAuthError} (`UPSTREAM_*`) only when no servable token
   * exists.
   */
  getToken(): Promise<string> {
    const entry = this.entry;
    if (entry !== undefined && this.clock() - entry.issuedAt < this.rotateAfterMs) return Promise.resolve(entry.token);
    return (this.flight ??= this.refresh().finally(() => {
      this.flight = undefined;
    }));
  }

  /**
   * The cached token when it is younger than `rotateAfterMs`, else `undefined`.
   * Synchronous and free of I/O: for hot paths that fall back to {@link getToken}.
   */
  currentToken(): string | undefined {
    const entry = this.entry;
    return entry !== undefined && this.clock() - entry.issuedAt < this.rotateAfterMs ? entry.token : undefined;
  }

  private async refresh(): Promise<string> {
    const before = this.clock();
    const held = this.usableToken(before);
    // backing off after a failure: keep serving without touching the store on every request
    if (held !== undefined && (before < this.nextAttemptAt || before < this.blockedUntil)) return held;

    const shared = await this.readStore();
    if (shared !== undefined) return shared;

    const now = this.clock();
    const usable = this.usableToken(now);
    if (now < this.blockedUntil) {
      if (usable !== undefined) return usable;
      const retryAfterSeconds = Math.max(1, Math.ceil((this.blockedUntil - now) / 1000));
      throw new WidgetAuthError('UPSTREAM_UNAVAILABLE', `Neuroon is rate limiting this server; retry in ${retryAfterSeconds} s.`, {
        status: 503,
        retryAfterSeconds,
        upstreamStatus: 429,
      });
    }
    if (usable !== undefined && now < this.nextAttemptAt) return usable;

    const lock = await this.tryLock();
    if (lock.kind === 'lost') {
      // another instance is issuing: keep serving a valid token, or wait for theirs
      if (usable !== undefined) return usable;
      const outcome = await this.waitForPeer();
      if (typeof outcome === 'string') return outcome;
      if (outcome !== undefined) return this.issueHolding(outcome);
      return this.issue();
    }
    if (lock.kind === 'acquired') return this.issueHolding(lock.release);
    return this.issue();
  }

  /** Issue while holding the store's lock; re-read first, a peer may have just finished. */
  private async issueHolding(release: NeuroonLockRelease): Promise<string> {
    try {
      const shared = await this.readStore();
      return shared ?? (await this.issue());
    } finally {
      try {
        await release();
      } catch (err) {
        this.storeFailed(err, 'release the lock');
      }
    }
  }

  /** Poll the store for a peer's fresh token; take over the lock if the peer gave it up. */
  private async waitForPeer(): Promise<string | NeuroonLockRelease | undefined> {
    const deadline = performance.now() + this.lockTtlMs;
    while (performance.now() < deadline) {
      await sleep(PEER_POLL_MS);
      const shared = await this.readStore();
      if (shared !== undefined) return shared;
      const lock = await this.tryLock();
      if (lock.kind === 'acquired') return lock.release;
      if (lock.kind === 'none') return undefined;
    }
    return undefined;
  }

  private async issue(): Promise<string> {
    const started = this.clock();
    try {
      // one call serves every waiting request (single flight): no user key, and no request's
      // close signal, since one browser hanging up must not cancel the others' token
      const { data } = await this.client.call({ url: this.url, method: 'POST', headers: { 'X-Shop-API-Key': this.apiKey }, schema: tokenBodySchema, redact: this.secrets.redact });
      // the token goes to browsers and into pages: one holding the key is never used
      if (this.secrets.contains(data.token)) throw new WidgetAuthError('UPSTREAM_INVALID_RESPONSE', 'Neuroon answered with a token that holds the Shop API key; it was not used.');
      const entry: NeuroonCachedToken = { token: data.token, issuedAt: started };
      this.entry = entry;
      this.nextAttemptAt = 0;
      this.blockedUntil = 0;
      await this.writeStore(entry);
      return entry.token;
    } catch (err) {
      const error = err instanceof WidgetAuthError ? err : new WidgetAuthError('INTERNAL_ERROR', 'Issuing the Neuroon token failed.', { cause: err });
      const now = this.clock();
      if (error.upstreamStatus === 429) this.blockedUntil = now + (error.retryAfterSeconds ?? 30) * 1000;
      const usable = this.usableToken(now);
      if (usable === undefined) throw error;
      this.nextAttemptAt = now + this.retryIntervalMs;
      this.warn(
        {
          vendor: 'neuroon',
          shopId: this.shopId,
          code: error.code,
          ...(error.upstreamStatus !== undefined ? { upstreamStatus: error.upstreamStatus } : {}),
          ...(error.vendorCode !== undefined ? { vendorCode: this.redact(error.vendorCode) } : {}),
          ...(error.correlationId !== undefined ? { correlationId: this.redact(error.correlationId) } : {}),
          tokenAgeMs: now - this.entry!.issuedAt,
          nextAttemptInMs: Math.max(this.nextAttemptAt, this.blockedUntil) - now,
        },
        'Neuroon token could not be re-issued; serving the cached token',
      );
      return usable;
    }
  }

  /** The cached token while it may still be served (inside its life less the safety margin). */
  private usableToken(now: number): string | undefined {
    const entry = this.entry;
    return entry !== undefined && now - entry.issuedAt < this.usableForMs ? entry.token : undefined;
  }

  /** A fresh token from the store (adopting any newer record), or `undefined`. */
  private async readStore(): Promise<string | undefined> {
    if (this.clock() < this.storeDownUntil) return undefined;
    let record: unknown;
    try {
      record = await this.store.get(this.cacheKey);
    } catch (err) {
      this.storeFailed(err, 'read the token');
      return undefined;
    }
    if (!isCachedToken(record)) return undefined;
    if (this.entry === undefined || record.issuedAt > this.entry.issuedAt) this.entry = { token: record.token, issuedAt: record.issuedAt };
    const entry = this.entry;
    return this.clock() - entry.issuedAt < this.rotateAfterMs ? entry.token : undefined;
  }

  private async writeStore(entry: NeuroonCachedToken): Promise<void> {
    if (this.clock() < this.storeDownUntil) return;
    const ttl = this.usableForMs - Math.max(0, this.clock() - entry.issuedAt);
    try {
      await this.store.set(this.cacheKey, entry, Math.max(1, ttl));
    } catch (err) {
      this.storeFailed(err, 'store the token');
    }
  }

  private async tryLock(): Promise<LockOutcome> {
    if (this.store.lock === undefined || this.clock() < this.storeDownUntil) return { kind: 'none' };
    try {
      const release = await this.store.lock(this.cacheKey, this.lockTtlMs);
      return release === undefined ? { kind: 'lost' } : { kind: 'acquired', release };
    } catch (err) {
      this.storeFailed(err, 'take the lock');
      return { kind: 'none' };
    }
  }

  private storeFailed(err: unknown, action: string): void {
    const now = this.clock();
    this.storeDownUntil = now + STORE_RETRY_MS;
    if (this.storeWarnedAt !== undefined && now - this.storeWarnedAt < STORE_WARN_EVERY_MS) return;
    this.storeWarnedAt = now;
    this.warn(
      { vendor: 'neuroon', shopId: this.shopId, err: describeUnexpected(err, this.redact) },
      `Neuroon token cache failed to ${action}; using this process's own copy`,
    );
  }

  private warn(obj: object, msg: string): void {
    try {
      this.logger?.warn(obj, msg);
    } catch {
      // a broken logger must not break token delivery
    }
  }
}
