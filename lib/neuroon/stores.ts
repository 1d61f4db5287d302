import { createHash, randomUUID } from 'node:crypto';
import { z } from 'zod';
import { parseOptions } from '../core/config';
import { WidgetAuthConfigError } from '../core/errors';
import { withTimeout } from '../core/redis';

/** A Neuroon widget token and the moment this server obtained it (ms since the epoch). */
export interface NeuroonCachedToken {
  token: string;
  issuedAt: number;
}

/** Releases a lock taken with {@link NeuroonTokenStore.lock}. Releasing twice is harmless. */
export type NeuroonLockRelease = () => Promise<void> | void;

/**
 * Where {@link NeuroonTokenProvider} keeps the shop's token so that several providers
 * (in one process or in many) can share it. Every method may answer synchronously or
 * with a promise; a method that throws or rejects is treated as "the cache is down"
 * and the provider carries on with its own in-process copy.
 *
 * - `get(key)`: the stored token, or `undefined` when there is none (or it expired).
 * - `set(key, value, ttlMs)`: store the token; the store may forget it after `ttlMs`.
 * - `lock(key, ttlMs)` (optional): try to take an exclusive, self-expiring lock on
 *   `key`. Answers a release function when taken and `undefined` when someone else
 *   holds it. Without `lock`, every provider sharing the store may call the vendor
 *   when the token is due for rotation.
 *
 * The provider only calls the store when its own copy is absent or due for rotation,
 * never on a cache hit.
 */
export interface NeuroonTokenStore {
  get(key: string): Promise<NeuroonCachedToken | undefined> | NeuroonCachedToken | undefined;
  set(key: string, value: NeuroonCachedToken, ttlMs: number): Promise<void> | void;
  lock?(key: string, ttlMs: number): Promise<NeuroonLockRelease | undefined> | NeuroonLockRelease | undefined;
}

/**
 * The cache key of a shop's token: the shop id plus the first 16 hex digits of the
 * SHA-256 of the API key. Production and development keys of one shop therefore never
 * share a token, and the key itself never reaches the cache.
 *
 * @example
 * ```ts
 * neuroonCacheKey('shop_abc', process.env.NEUROON_API_KEY!); // 'neuroon:shop_abc:3f2a…'
 * ```
 */
export function neuroonCacheKey(shopId: string, apiKey: string): string {
  const digest = createHash('sha256').update(apiKey, 'utf8').digest('hex').slice(0, 16);
  return `neuroon:${encodeURIComponent(shopId)}:${digest}`;
}

/** Reads a stored record defensively: anything but `{ token: string, issuedAt: number }` is a miss. */
export function isCachedToken(value: unknown): value is NeuroonCachedToken {
  if (value === null || typeof value !== 'object') return false;
  const { token, issuedAt } = value as Record<string, unknown>;
  return typeof token === 'string' && token.length > 0 && typeof issuedAt === 'number' && Number.isFinite(issuedAt);
}

/** Options of {@link MemoryTokenStore}. */
export interface MemoryTokenStoreOptions {
  /** Time source for expiry, in ms since the epoch. Defaults to `Date.now`. */
  clock?: () => number;
}

/**
 * The default store: a `Map` in this process, with expiry and an in-process lock.
 * Share one instance between several providers of the same process to let them share
 * a token; across processes use {@link RedisTokenStore}.
 *
 * @example
 * ```ts
 * const store = new MemoryTokenStore();
 * const provider = new NeuroonTokenProvider({ shopId, apiKey, store });
 * ```
 */
export class MemoryTokenStore implements NeuroonTokenStore {
  private readonly clock: () => number;
  private readonly values = new Map<string, { value: NeuroonCachedToken; expiresAt: number }>();
  private readonly locks = new Map<string, { owner: symbol; expiresAt: number }>();

  constructor(options: MemoryTokenStoreOptions = {}) {
    if (options.clock !== undefined && typeof options.clock !== 'function') {
      throw new WidgetAuthConfigError('MemoryTokenStore', ['clock: must be a function returning milliseconds']);
    }
    this.clock = options.clock ?? Date.now;
  }

  get(key: string): NeuroonCachedToken | undefined {
    const entry = this.values.get(key);
    if (entry === undefined) return undefined;
    if (this.clock() >= entry.expiresAt) {
      this.values.delete(key);
      return undefined;
    }
    return entry.value;
  }

  set(key: string, value: NeuroonCachedToken, ttlMs: number): void {
    this.values.set(key, { value: { token: value.token, issuedAt: value.issuedAt }, expiresAt: this.clock() + ttlMs });
  }

  lock(key: string, ttlMs: number): NeuroonLockRelease | undefined {
    const now = this.clock();
    const held = this.locks.get(key);
    if (held !== undefined && now < held.expiresAt) return undefined;
    const owner = Symbol(key);
    this.locks.set(key, { owner, expiresAt: now + ttlMs });
    return () => {
      if (this.locks.get(key)?.owner === owner) this.locks.delete(key);
    };
  }
}

/**
 * The Redis commands {@link RedisTokenStore} uses. An ioredis `Redis` or `Cluster`
 * instance fits as is; other clients can be adapted in a few lines.
 */
export interface NeuroonRedisClient {
  get(key: string): Promise<string | null>;
  set(key: string, value: string, mode: 'PX', ttlMs: number): Promise<unknown>;
  set(key: string, value: string, mode: 'PX', ttlMs: number, condition: 'NX'): Promise<unknown>;
  eval(script: string, numKeys: number, ...args: (string | number)[]): Promise<unknown>;
}

/** Options of {@link RedisTokenStore}. */
export interface RedisTokenStoreOptions {
  /** Prefix of every key this store writes. Defaults to `"express-widget-auth:"`. */
  prefix?: string;
  /**
   * Longest wait for one Redis command before it counts as failed (the provider then
   * falls back to its own copy). A safety net beside ioredis's own `commandTimeout`.
   * Defaults to 500.
   */
  commandTimeoutMs?: number;
}

const redisStoreOptionsSchema = z
  .object({
    prefix: z.string().max(200, 'must be at most 200 characters').default('express-widget-auth:'),
    commandTimeoutMs: z.number().int('must be a whole number of milliseconds').positive('must be positive').max(60_000, 'must be at most 60000').default(500),
  })
  .strict();

/** Deletes the lock only if it still holds this owner's value (another owner may hold it after expiry). */
const RELEASE_SCRIPT = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

/**
 * A token store in Redis, so that several instances of the application share one
 * token and, through a lock (`SET … NX PX`, released only by its owner), make one
 * vendor call per rotation between them. Takes a client you create and own (ioredis,
 * configured to fail fast: see docs/scaling.md); this package never imports a Redis
 * client itself. Any failure or slow answer rejects, which the provider treats as
 * "the cache is down".
 *
 * @example
 * ```ts
 * import Redis from 'ioredis';
 * const redis = new Redis(process.env.REDIS_URL!, { enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: 250 });
 * const provider = new NeuroonTokenProvider({ ...neuroonConfigFromEnv(), store: new RedisTokenStore(redis) });
 * ```
 */
export class RedisTokenStore implements NeuroonTokenStore {
  private readonly client: NeuroonRedisClient;
  private readonly prefix: string;
  private readonly timeoutMs: number;

  constructor(client: NeuroonRedisClient, options: RedisTokenStoreOptions = {}) {
    const missing = (['get', 'set', 'eval'] as const).filter((m) => typeof (client as unknown as Record<string, unknown> | null)?.[m] !== 'function');
    if (missing.length > 0) {
      throw new WidgetAuthConfigError('RedisTokenStore', [`client: must be a Redis client such as an ioredis instance (missing ${missing.join(', ')})`]);
    }
    const config = parseOptions('RedisTokenStore', redisStoreOptionsSchema, options);
    this.client = client;
    this.prefix = config.prefix;
    this.timeoutMs = config.commandTimeoutMs;
  }

  async get(key: string): Promise<NeuroonCachedToken | undefined> {
    const raw = await withTimeout(this.client.get(this.prefix + key), this.timeoutMs, 'GET');
    if (raw === null) return undefined;
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      return undefined;
    }
    return isCachedToken(parsed) ? { token: parsed.token, issuedAt: parsed.issuedAt } : undefined;
  }

  async set(key: string, value: NeuroonCachedToken, ttlMs: number): Promise<void> {
    const body = JSON.stringify({ token: value.token, issuedAt: value.issuedAt });
    await withTimeout(this.client.set(this.prefix + key, body, 'PX', Math.max(1, Math.ceil(ttlMs))), this.timeoutMs, 'SET');
  }

  async lock(key: string, ttlMs: number): Promise<NeuroonLockRelease | undefined> {
    const lockKey = `${this.prefix}${key}:lock`;
    const owner = randomUUID();
    const taken = await withTimeout(this.client.set(lockKey, owner, 'PX', Math.max(1, Math.ceil(ttlMs)), 'NX'), this.timeoutMs, 'SET NX');
    if (taken !== 'OK') return undefined;
    let released = false;
    return async () => {
      if (released) return;
      released = true;
      await withTimeout(this.client.eval(RELEASE_SCRIPT, 1, lockKey, owner), this.timeoutMs, 'EVAL');
    };
  }
}
