import { createCipheriv, createDecipheriv, createHash, createHmac, createSecretKey, hkdfSync, randomBytes, randomUUID } from 'node:crypto';
import { z } from 'zod';
import { parseOptions } from './config';
import { WidgetAuthConfigError } from './errors';
import { isPlainObject } from './json';
import { withTimeout } from './redis';

/** One user's cached credential: the JSON object the browser gets and its expiry in Unix seconds. */
export interface CachedCredential {
  /** The credential as `call` resolved it (a plain JSON object). */
  credential: Record<string, unknown>;
  /** When the credential expires, in whole or fractional Unix seconds (what `expiresAt(credential)` gave). */
  expiresAt: number;
}

/** Releases a lock taken with {@link CredentialStore.lock}. Releasing twice is harmless. */
export type CredentialLockRelease = () => Promise<void>;

/**
 * Where {@link remoteCredential} keeps vendor-minted credentials between requests, and
 * between instances when the store is shared. A store is told whom an entry is for
 * (`namespace`, the strategy's vendor name, and `userId`) and must keep:
 *
 * - **no raw user id in its keys**: key each entry by a keyed hash of both, never by the
 *   text itself, and never let two `(namespace, userId)` pairs share an entry (`'a:b'`
 *   and `'a'` with `'b:…'` are different users);
 * - **expiry**: an entry may be dropped once `ttlMs` has passed (the strategy checks
 *   `expiresAt` on every read anyway);
 * - **`lock`** (optional): an exclusive, self-expiring lock per entry, so that several
 *   instances make one vendor call between them. Without it, each instance with no
 *   valid entry calls the vendor.
 *
 * Every method may reject: the strategy then treats the store as down and calls the
 * vendor itself (see docs/scaling.md). {@link memoryCredentialStore} and
 * {@link redisCredentialStore} are the two in the box.
 */
export interface CredentialStore {
  /** The entry, or `undefined` when there is none (or it can no longer be read). */
  get(namespace: string, userId: string): Promise<CachedCredential | undefined>;
  /** Store the entry for at most `ttlMs` milliseconds. */
  set(namespace: string, userId: string, value: CachedCredential, ttlMs: number): Promise<void>;
  /** Remove the entry (sign-out). */
  delete(namespace: string, userId: string): Promise<void>;
  /** Take the entry's lock for at most `ttlMs`: a release function when taken, `undefined` when another holder has it. */
  lock?(namespace: string, userId: string, ttlMs: number): Promise<CredentialLockRelease | undefined>;
}

/** Every secret a store holds, as text, for the router's redactor and answer guard. */
const STORE_SECRETS = new WeakMap<object, readonly string[]>();

/** The secrets `store` holds (its encryption keys), or none. */
export function credentialStoreSecrets(store: CredentialStore): readonly string[] {
  return STORE_SECRETS.get(store) ?? [];
}

/**
 * `store` as seen by one account of a vendor: every namespace it is given is written as
 * `JSON.stringify([namespace, scope])`, so routers of one vendor for different accounts
 * sharing a store never read, lock or remove each other's entries, while routers of the
 * same account still share theirs. Keeps the store's secrets.
 */
export function scopedCredentialStore(store: CredentialStore, scope: string): CredentialStore {
  const scoped = (namespace: string) => JSON.stringify([namespace, scope]);
  const lock = store.lock;
  const view: CredentialStore = {
    get: (namespace, userId) => store.get(scoped(namespace), userId),
    set: (namespace, userId, value, ttlMs) => store.set(scoped(namespace), userId, value, ttlMs),
    delete: (namespace, userId) => store.delete(scoped(namespace), userId),
    // a `lock` that is not a function stays as it is, for the cache option's check to refuse
    ...(lock === undefined ? {} : { lock: typeof lock === 'function' ? (namespace: string, userId: string, ttlMs: number) => lock.call(store, scoped(namespace), userId, ttlMs) : lock }),
  };
  STORE_SECRETS.set(view, credentialStoreSecrets(store));
  return view;
}

/** The unambiguous text a store's key is the hash of: no `(namespace, userId)` pair can write another's. */
function subject(namespace: string, userId: string): string {
  return JSON.stringify([namespace, userId]);
}

/** A stored record read back: anything but `{ credential: object, expiresAt: number }` is a miss. */
function readRecord(text: string): CachedCredential | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isPlainObject(parsed)) return undefined;
  const { c, e } = parsed;
  return isPlainObject(c) && typeof e === 'number' && Number.isFinite(e) ? { credential: c, expiresAt: e } : undefined;
}

/** `value` and everything in it, frozen (a JSON value: objects and arrays only). */
function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

const writeRecord = (value: CachedCredential): string => JSON.stringify({ c: value.credential, e: value.expiresAt });

// ---------------------------------------------------------------------------
// memoryCredentialStore

/** Options of {@link memoryCredentialStore}. */
export interface MemoryCredentialStoreOptions {
  /**
   * Most entries kept, 1 to 1,000,000: past it, the least recently used entry is dropped
   * (its user's next request calls the vendor again). Defaults to `10000`.
   */
  max?: number;
}

const memorySchema = z
  .object({
    max: z.number({ error: 'must be a whole number' }).int('must be a whole number').min(1, 'must be at least 1').max(1_000_000, 'must be at most 1000000').default(10_000),
  })
  .strict();

/**
 * A {@link CredentialStore} in this process's memory: bounded to `max` entries, the least
 * recently used dropped first, each dropped at its expiry. Keys are an HMAC-SHA256 of the
 * vendor name and user id with a random key made for this store, so the map never holds
 * a user id. Entries are kept as JSON text, so nothing a caller does to an answer changes
 * the cached credential. One process only: to share credentials between instances use
 * {@link redisCredentialStore}.
 *
 * @example
 * ```ts
 * const store = memoryCredentialStore({ max: 5000 });
 * ```
 */
export function memoryCredentialStore(options: MemoryCredentialStoreOptions = {}): CredentialStore {
  const config = parseOptions('memoryCredentialStore', memorySchema, options);
  const max = config.max;
  // a KeyObject made once: HMAC with it costs less than with the bytes
  const salt = createSecretKey(randomBytes(32));
  // insertion order is recency order: a read moves the entry to the end
  const entries = new Map<string, { value: CachedCredential; deadline: number }>();
  const locks = new Map<string, { owner: symbol; deadline: number }>();
  const keyOf = (namespace: string, userId: string) => createHmac('sha256', salt).update(subject(namespace, userId), 'utf8').digest('base64url');

  return {
    get(namespace, userId) {
      const key = keyOf(namespace, userId);
      const entry = entries.get(key);
      if (entry === undefined) return Promise.resolve(undefined);
      entries.delete(key);
      if (performance.now() >= entry.deadline) return Promise.resolve(undefined);
      entries.set(key, entry);
      return Promise.resolve(entry.value);
    },
    set(namespace, userId, value, ttlMs) {
      const key = keyOf(namespace, userId);
      entries.delete(key);
      // a detached JSON copy, frozen: every reader gets the same value, and nobody can change it
      const copy = readRecord(writeRecord(value));
      if (copy === undefined) return Promise.resolve();
      entries.set(key, { value: deepFreeze(copy), deadline: performance.now() + ttlMs });
      while (entries.size > max) entries.delete(entries.keys().next().value as string);
      return Promise.resolve();
    },
    delete(namespace, userId) {
      entries.delete(keyOf(namespace, userId));
      return Promise.resolve();
    },
    lock(namespace, userId, ttlMs) {
      const key = keyOf(namespace, userId);
      const now = performance.now();
      const held = locks.get(key);
      if (held !== undefined && now < held.deadline) return Promise.resolve(undefined);
      const owner = Symbol('lock');
      locks.set(key, { owner, deadline: now + ttlMs });
      // locks of users who never come back would pile up: drop the expired ones now and then
      if (locks.size > max) for (const [k, v] of locks) if (now >= v.deadline) locks.delete(k);
      return Promise.resolve(async () => {
        if (locks.get(key)?.owner === owner) locks.delete(key);
      });
    },
  };
}

// ---------------------------------------------------------------------------
// redisCredentialStore

/**
 * The Redis commands {@link redisCredentialStore} uses. An ioredis `Redis` instance fits
 * as is (a `Cluster` too when every key of one user lands on one node, which the store's
 * key layout does not arrange: use one `Redis` instance).
 */
export interface CredentialRedisClient {
  mget(...keys: string[]): Promise<(string | null)[]>;
  set(key: string, value: string, mode: 'PX', ttlMs: number): Promise<unknown>;
  set(key: string, value: string, mode: 'PX', ttlMs: number, condition: 'NX'): Promise<unknown>;
  del(...keys: string[]): Promise<number>;
  eval(script: string, numKeys: number, ...args: (string | number)[]): Promise<unknown>;
}

/** Options of {@link redisCredentialStore}. */
export interface RedisCredentialStoreOptions {
  /**
   * The connection, created and owned by you: an ioredis `Redis` configured to fail fast
   * (`enableOfflineQueue: false`, `maxRetriesPerRequest: 1`, a `commandTimeout`; see
   * docs/scaling.md). Required.
   */
  client: CredentialRedisClient;
  /** Prefix of every key this store writes. Defaults to `"express-widget-auth:"`. */
  prefix?: string;
  /**
   * The keys values are encrypted with: 32 random bytes each, written in base64
   * (`openssl rand -base64 32`), at least one. The first encrypts every value written
   * (AES-256-GCM); every one decrypts. To rotate, put a new key first and keep the old one
   * after it until the credentials written with it have expired (the longest credential
   * life), then remove it. Keys are secrets: redacted from logs and never answered.
   */
  encryptionKeys: readonly string[];
  /**
   * Longest wait for one Redis command before it counts as failed (the strategy then
   * calls the vendor). A safety net beside ioredis's own `commandTimeout`. Defaults to 500.
   */
  commandTimeoutMs?: number;
}

const BASE64 = /^[A-Za-z0-9+/]{43}=$/;

const encryptionKeySchema = z
  .string({ error: 'must be a base64 string of 32 random bytes, e.g. the output of `openssl rand -base64 32`' })
  .superRefine((value, ctx) => {
    if (!BASE64.test(value) || Buffer.from(value, 'base64').toString('base64') !== value) {
      ctx.addIssue({ code: 'custom', message: 'must be 32 bytes written in base64 (44 characters ending in "="), e.g. the output of `openssl rand -base64 32`' });
      return;
    }
    // 32 random bytes have about 30 different values; a typed or zero-filled key has few
    if (new Set(Buffer.from(value, 'base64')).size < 16) {
      ctx.addIssue({ code: 'custom', message: 'has too little variety to be 32 random bytes; make one with `openssl rand -base64 32`' });
    }
  });

const isClient = (v: unknown): boolean => typeof v === 'object' && v !== null && ['mget', 'set', 'del', 'eval'].every((m) => typeof (v as Record<string, unknown>)[m] === 'function');

const redisSchema = z
  .object({
    client: z.custom<CredentialRedisClient>(isClient, { message: 'must be a Redis client such as an ioredis instance (with mget, set, del and eval)' }),
    prefix: z.string({ error: 'must be a string' }).max(200, 'must be at most 200 characters').default('express-widget-auth:'),
    encryptionKeys: z
      .array(encryptionKeySchema, { error: 'is required: a list of base64 keys of 32 random bytes, the first used to encrypt' })
      .min(1, 'must hold at least one key')
      .max(16, 'must hold at most 16 keys')
      .refine((keys) => new Set(keys).size === keys.length, 'must not repeat a key'),
    commandTimeoutMs: z.number({ error: 'must be a whole number of milliseconds' }).int('must be a whole number of milliseconds').min(1, 'must be positive').max(60_000, 'must be at most 60000').default(500),
  })
  .strict();

/** Deletes the lock only if it still holds this owner's value (another owner may hold it after expiry). */
const RELEASE_SCRIPT = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

/** What the store derives from one encryption key. */
interface DerivedKey {
  /** Short public id written before each value it encrypted: lets every instance pick the key that decrypts. */
  id: string;
  /** AES-256-GCM key. */
  cipher: Buffer;
  /** HMAC-SHA256 key of the entry names. */
  naming: Buffer;
}

function deriveKey(base64: string): DerivedKey {
  const raw = Buffer.from(base64, 'base64');
  const derive = (info: string) => Buffer.from(hkdfSync('sha256', raw, Buffer.alloc(0), `express-widget-auth credential store: ${info}`, 32));
  return {
    id: createHash('sha256').update(derive('key id')).digest('base64url').slice(0, 8),
    cipher: derive('value encryption'),
    naming: derive('entry names'),
  };
}

const VERSION = 'v1';

/**
 * A {@link CredentialStore} in Redis, shared by every instance that uses the same Redis,
 * prefix and keys, with a lock (`SET … NX PX` and a compare-and-delete script) so that
 * instances make one vendor call per user between them. Takes a client you create and
 * own (ioredis, configured to fail fast); this package never imports a Redis client.
 * Any failure or slow answer rejects, which the strategy treats as "the cache is down".
 *
 * What reaches Redis, and why it is unreadable without a key:
 *
 * - **keys** are `<prefix>rc:<name>` and `<prefix>rc:<name>:lock`, where `<name>` is an
 *   HMAC-SHA256 (base64url) of the vendor name and user id, keyed with a key derived
 *   (HKDF) from an encryption key: no user id, in any encoding;
 * - **values** are `v1.<key id>.<iv>.<ciphertext and tag>`: the credential and its expiry
 *   encrypted with AES-256-GCM under a key derived from the first encryption key, a
 *   random 12-byte IV per value, and the entry's name as associated data, so a value
 *   copied under another user's name does not decrypt. A value that does not decrypt is
 *   a miss.
 *
 * A lookup reads the entry's name under every key in one `MGET`, so during a rotation a
 * credential written with the old key is still found.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * const redis = new Redis(process.env.REDIS_URL!, { enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: 250 });
 * const store = redisCredentialStore({ client: redis, encryptionKeys: [process.env.CREDENTIAL_CACHE_KEY!] });
 * ```
 */
export function redisCredentialStore(options: RedisCredentialStoreOptions): CredentialStore {
  const config = parseOptions('redisCredentialStore', redisSchema, options);
  const client = config.client;
  const prefix = `${config.prefix}rc:`;
  const timeoutMs = config.commandTimeoutMs;
  const keys = config.encryptionKeys.map(deriveKey);
  if (new Set(keys.map((k) => k.id)).size !== keys.length) {
    // eight base64url characters of a hash: two keys sharing one would need 2^24 tries
    throw new WidgetAuthConfigError('redisCredentialStore', ['encryptionKeys: two keys have the same key id; make new keys with `openssl rand -base64 32`']);
  }
  const writer = keys[0]!;
  const byId = new Map(keys.map((k) => [k.id, k]));
  const nameOf = (key: DerivedKey, namespace: string, userId: string) => createHmac('sha256', key.naming).update(subject(namespace, userId), 'utf8').digest('base64url');

  const encrypt = (name: string, value: CachedCredential): string => {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', writer.cipher, iv);
    cipher.setAAD(Buffer.from(name, 'utf8'));
    const body = Buffer.concat([cipher.update(writeRecord(value), 'utf8'), cipher.final(), cipher.getAuthTag()]);
    return `${VERSION}.${writer.id}.${iv.toString('base64url')}.${body.toString('base64url')}`;
  };

  const decrypt = (name: string, text: string): CachedCredential | undefined => {
    const parts = text.split('.');
    if (parts.length !== 4 || parts[0] !== VERSION) return undefined;
    const key = byId.get(parts[1]!);
    if (key === undefined) return undefined;
    const iv = Buffer.from(parts[2]!, 'base64url');
    const body = Buffer.from(parts[3]!, 'base64url');
    if (iv.length !== 12 || body.length < 17) return undefined;
    try {
      const decipher = createDecipheriv('aes-256-gcm', key.cipher, iv);
      decipher.setAAD(Buffer.from(name, 'utf8'));
      decipher.setAuthTag(body.subarray(body.length - 16));
      const plain = Buffer.concat([decipher.update(body.subarray(0, body.length - 16)), decipher.final()]);
      return readRecord(plain.toString('utf8'));
    } catch {
      // tampered, copied under another name, or written with a key this instance lacks
      return undefined;
    }
  };

  const store: CredentialStore = {
    async get(namespace, userId) {
      const names = keys.map((k) => nameOf(k, namespace, userId));
      const values = await withTimeout(client.mget(...names.map((n) => prefix + n)), timeoutMs, 'MGET');
      let best: CachedCredential | undefined;
      for (let i = 0; i < names.length; i++) {
        const raw = values[i];
        if (typeof raw !== 'string') continue;
        const value = decrypt(names[i]!, raw);
        // during a rotation both names may hold one: the one that lasts longer is the newer
        if (value !== undefined && (best === undefined || value.expiresAt > best.expiresAt)) best = value;
      }
      return best;
    },
    async set(namespace, userId, value, ttlMs) {
      const name = nameOf(writer, namespace, userId);
      await withTimeout(client.set(prefix + name, encrypt(name, value), 'PX', Math.max(1, Math.ceil(ttlMs))), timeoutMs, 'SET');
    },
    async delete(namespace, userId) {
      await withTimeout(client.del(...keys.map((k) => prefix + nameOf(k, namespace, userId))), timeoutMs, 'DEL');
    },
    async lock(namespace, userId, ttlMs) {
      const lockKey = `${prefix}${nameOf(writer, namespace, userId)}:lock`;
      const owner = randomUUID();
      const taken = await withTimeout(client.set(lockKey, owner, 'PX', Math.max(1, Math.ceil(ttlMs)), 'NX'), timeoutMs, 'SET NX');
      if (taken !== 'OK') return undefined;
      let released = false;
      return async () => {
        if (released) return;
        released = true;
        await withTimeout(client.eval(RELEASE_SCRIPT, 1, lockKey, owner), timeoutMs, 'EVAL');
      };
    },
  };
  // the keys as written, and their bytes in hex: redacted wherever the router logs, never answered
  STORE_SECRETS.set(
    store,
    config.encryptionKeys.flatMap((k) => [k, Buffer.from(k, 'base64').toString('hex')]),
  );
  return store;
}
