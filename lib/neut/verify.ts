import { createHmac, createSecretKey, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { parseOptions, requiredString, type WeakSecretOption } from '../core/config';
import { neutClock, neutHostOrigin, neutMintSecret, type NeutClock } from './options';
import { NEUT_BOOTSTRAP_PURPOSE } from './sign';

/** Why {@link verifyNeutBootstrap} refused an embed URL. */
export type NeutBootstrapErrorCode =
  /** Not a URL, or a bootstrap parameter missing or given twice. */
  | 'INVALID_EMBED_URL'
  /** `bootstrap_timestamp` not in canonical whole-second base-10 form. */
  | 'INVALID_TIMESTAMP'
  /** The assertion does not match the signed fields (tampered, or another secret). */
  | 'BAD_ASSERTION'
  /** `tenant_id` is not the expected tenant. */
  | 'TENANT_MISMATCH'
  /** `customer_origin` is not the expected host origin. */
  | 'ORIGIN_MISMATCH'
  /** `bootstrap_key_id` is not the expected key id. */
  | 'KEY_ID_MISMATCH'
  /** Signed longer ago than `maxSkewSeconds`. */
  | 'EXPIRED'
  /** Signed further in the future than `maxSkewSeconds`. */
  | 'NOT_YET_VALID'
  /** The nonce was already used. */
  | 'REPLAYED';

/** Thrown by {@link verifyNeutBootstrap}; branch on `code`. */
export class NeutBootstrapError extends Error {
  override readonly name = 'NeutBootstrapError';
  readonly code: NeutBootstrapErrorCode;

  constructor(code: NeutBootstrapErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

/** Anything that remembers used nonces: a `Set`, or a store with `has`/`add` that expires old entries. */
export interface NeutNonceStore {
  has(nonce: string): boolean;
  add(nonce: string): unknown;
}

/** Options of {@link verifyNeutBootstrap}. */
export interface VerifyNeutBootstrapOptions extends WeakSecretOption {
  /** The mint secret the URL was signed with. */
  mintSecret: string;
  /** Expected `tenant_id`. Defaults to not checked. */
  tenantId?: string;
  /** Expected `customer_origin` (normalised before comparing). Defaults to not checked. */
  hostOrigin?: string;
  /** Expected `bootstrap_key_id`. Defaults to not checked. */
  mintKeyId?: string;
  /** Largest accepted distance between the signed time and now, either way. Defaults to 300. */
  maxSkewSeconds?: number;
  /**
   * Used nonces. A nonce found here is refused as `REPLAYED`; a URL that passes every
   * check has its nonce added. Entries older than twice `maxSkewSeconds` can be dropped.
   * Defaults to no replay check.
   */
  seenNonces?: NeutNonceStore;
  /** The current time. Defaults to `Date.now`. */
  now?: NeutClock;
}

/** What a verified embed URL says. */
export interface VerifiedNeutBootstrap {
  tenantId: string;
  widgetId: string;
  customerOrigin: string;
  /** The signed time, in Unix seconds. */
  timestamp: number;
  nonce: string;
  keyId: string;
  /** The widget's path on its origin, e.g. `/bill-preview-embed.html`. */
  path: string;
  /** Every other query parameter (the unsigned display fields), in URL order. */
  params: Record<string, string>;
}

const optionsSchema = z
  .object({
    mintSecret: neutMintSecret,
    tenantId: requiredString().optional(),
    hostOrigin: neutHostOrigin.optional(),
    mintKeyId: requiredString().optional(),
    maxSkewSeconds: z.number().int('must be a whole number of seconds').min(0, 'must not be negative').max(86_400, 'must be at most 86400').default(300),
    seenNonces: z
      .custom<NeutNonceStore>(
        (v) => typeof v === 'object' && v !== null && typeof (v as NeutNonceStore).has === 'function' && typeof (v as NeutNonceStore).add === 'function',
        { message: 'must have has(nonce) and add(nonce) methods, e.g. a Set' },
      )
      .optional(),
    now: neutClock.optional(),
  })
  .strict();

const SIGNED = ['tenant_id', 'widget_id', 'customer_origin', 'bootstrap_timestamp', 'bootstrap_nonce', 'bootstrap_key_id', 'bootstrap_assertion'] as const;
const CANONICAL_SECONDS = /^(?:0|[1-9][0-9]{0,15})$/;
const ASSERTION = /^[A-Za-z0-9_-]{43}$/;

/**
 * Check an embed URL the way a widget host does before bootstrapping: every bootstrap
 * parameter present exactly once, the timestamp in canonical form (digits only, no
 * leading zero, sign, fraction or exponent), the assertion equal (timing-safe) to the
 * HMAC of the canonical value, tenant, origin and key id as expected when given, the
 * time within `maxSkewSeconds` either way, and the nonce unused. The nonce is recorded
 * only when everything else passed.
 *
 * Throws {@link NeutBootstrapError} with a `code` saying which check failed, or
 * `WidgetAuthConfigError` for bad options.
 *
 * @example
 * ```ts
 * const seen = new Set<string>();
 * const verified = verifyNeutBootstrap(res.body.embed_url, { mintSecret, hostOrigin: 'https://www.example.com', seenNonces: seen });
 * verified.widgetId; // 'bill-preview'
 * ```
 */
export function verifyNeutBootstrap(embedUrl: string, options: VerifyNeutBootstrapOptions): VerifiedNeutBootstrap {
  const config = parseOptions('verifyNeutBootstrap', optionsSchema, options);

  let url: URL;
  try {
    url = new URL(embedUrl);
  } catch {
    throw new NeutBootstrapError('INVALID_EMBED_URL', 'embed URL is not an absolute URL');
  }
  const signed: Partial<Record<(typeof SIGNED)[number], string>> = {};
  const params: Record<string, string> = {};
  for (const [name, value] of url.searchParams) {
    if ((SIGNED as readonly string[]).includes(name)) {
      const key = name as (typeof SIGNED)[number];
      if (signed[key] !== undefined) throw new NeutBootstrapError('INVALID_EMBED_URL', `${name} appears more than once`);
      signed[key] = value;
    } else if (!Object.hasOwn(params, name)) {
      params[name] = value;
    }
  }
  for (const name of SIGNED) {
    if (!signed[name]) throw new NeutBootstrapError('INVALID_EMBED_URL', `${name} is missing`);
  }
  const tenantId = signed.tenant_id!;
  const widgetId = signed.widget_id!;
  const customerOrigin = signed.customer_origin!;
  const timestampText = signed.bootstrap_timestamp!;
  const nonce = signed.bootstrap_nonce!;
  const keyId = signed.bootstrap_key_id!;
  const assertion = signed.bootstrap_assertion!;

  if (!CANONICAL_SECONDS.test(timestampText) || !Number.isSafeInteger(Number(timestampText))) {
    throw new NeutBootstrapError('INVALID_TIMESTAMP', 'bootstrap_timestamp must be whole Unix seconds in plain base-10 digits');
  }

  const canonical = `${tenantId}.${widgetId}.${customerOrigin}.${timestampText}.${nonce}.${NEUT_BOOTSTRAP_PURPOSE}`;
  const expected = createHmac('sha256', createSecretKey(Buffer.from(config.mintSecret, 'utf8'))).update(canonical).digest('base64url');
  // compare the text, not decoded bytes: base64url decoding ignores stray bits of the last character
  if (!ASSERTION.test(assertion) || !timingSafeEqual(Buffer.from(expected, 'latin1'), Buffer.from(assertion, 'latin1'))) {
    throw new NeutBootstrapError('BAD_ASSERTION', 'bootstrap_assertion does not match the signed fields');
  }

  if (config.tenantId !== undefined && tenantId !== config.tenantId) {
    throw new NeutBootstrapError('TENANT_MISMATCH', 'tenant_id is not the expected tenant');
  }
  if (config.hostOrigin !== undefined && customerOrigin !== config.hostOrigin) {
    throw new NeutBootstrapError('ORIGIN_MISMATCH', 'customer_origin is not the expected host origin');
  }
  if (config.mintKeyId !== undefined && keyId !== config.mintKeyId) {
    throw new NeutBootstrapError('KEY_ID_MISMATCH', 'bootstrap_key_id is not the expected key id');
  }

  const timestamp = Number(timestampText);
  const nowSeconds = Math.floor((config.now ?? Date.now)() / 1000);
  if (nowSeconds - timestamp > config.maxSkewSeconds) {
    throw new NeutBootstrapError('EXPIRED', `the assertion is more than ${config.maxSkewSeconds} seconds old`);
  }
  if (timestamp - nowSeconds > config.maxSkewSeconds) {
    throw new NeutBootstrapError('NOT_YET_VALID', `the assertion is dated more than ${config.maxSkewSeconds} seconds ahead`);
  }

  if (config.seenNonces) {
    if (config.seenNonces.has(nonce)) throw new NeutBootstrapError('REPLAYED', 'bootstrap_nonce was already used');
    config.seenNonces.add(nonce);
  }

  return { tenantId, widgetId, customerOrigin, timestamp, nonce, keyId, path: url.pathname, params };
}
