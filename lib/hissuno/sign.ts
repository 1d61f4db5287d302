import { createSecretKey, type KeyObject } from 'node:crypto';
import type JsonWebToken from 'jsonwebtoken';
import { z } from 'zod';
import { parseOptions, secretString, type WeakSecretOption } from '../core/config';
import { WidgetAuthError } from '../core/errors';

// jsonwebtoken and its dependencies add ~30 ms and ~1 MB to `require('express-widget-auth')`:
// loaded on the first signature, so an app that does not use Hissuno never loads them
let jsonwebtoken: typeof JsonWebToken | undefined;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const jwt = (): typeof JsonWebToken => (jsonwebtoken ??= require('jsonwebtoken') as typeof JsonWebToken);

/** Claims the Hissuno widget reads from the token. */
export interface HissunoClaims {
  /** The end user's id in your application (required, non-empty). */
  userId: string;
  /** Facts shown in the Hissuno dashboard. String values only; `undefined` values are dropped. */
  userMetadata?: Record<string, string | undefined>;
}

/** Options of {@link signHissunoToken}. */
export interface SignHissunoTokenOptions extends WeakSecretOption {
  /** The project's secret key (`sk_live_…`), at least 32 characters. */
  secretKey: string | KeyObject;
  /** Lifetime: seconds, or a string such as `"24h"`, `"30m"`. Between 60 s and 24 h. Defaults to `"24h"`. */
  expiresIn?: string | number;
}

/** Shortest and longest token lifetimes, in seconds. */
export const HISSUNO_MIN_LIFETIME = 60;
export const HISSUNO_MAX_LIFETIME = 24 * 3600;

const UNITS: Record<string, number> = { s: 1, sec: 1, secs: 1, m: 60, min: 60, mins: 60, h: 3600, hr: 3600, hrs: 3600, d: 86400 };

/** Seconds in `"24h"`, `"90s"`, `"30m"`, `3600`; `undefined` if unreadable. */
export function lifetimeSeconds(value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isInteger(value) ? value : undefined;
  const m = /^(\d+)\s*([a-z]*)$/i.exec(value.trim());
  if (!m) return undefined;
  const unit = m[2] ? UNITS[m[2].toLowerCase()] : 1;
  return unit === undefined ? undefined : Number(m[1]) * unit;
}

/** zod schema of a Hissuno `expiresIn`, resolved to whole seconds. */
export const hissunoLifetime = z
  .union([z.number(), z.string()])
  .transform((value, ctx) => {
    const seconds = lifetimeSeconds(value);
    if (seconds === undefined) {
      ctx.addIssue({ code: 'custom', message: 'must be whole seconds or a duration such as "24h", "30m", "90s"' });
      return z.NEVER;
    }
    if (seconds < HISSUNO_MIN_LIFETIME || seconds > HISSUNO_MAX_LIFETIME) {
      ctx.addIssue({ code: 'custom', message: 'must be between 60 seconds and 24 hours' });
      return z.NEVER;
    }
    return seconds;
  });

/** zod schema of a Hissuno secret key. */
export const hissunoSecretKey = secretString(32);

const signOptionsSchema = z
  .object({
    secretKey: z.union([hissunoSecretKey, z.custom<KeyObject>((v) => typeof v === 'object' && v !== null && (v as KeyObject).type === 'secret', { message: 'must be a string or a secret KeyObject' })]),
    expiresIn: hissunoLifetime.default(HISSUNO_MAX_LIFETIME),
  })
  .strict();

/** Check and normalise the claims; throws `INVALID_REQUEST` naming the offending field. */
export function hissunoPayload(claims: HissunoClaims): HissunoClaims {
  if (claims === null || typeof claims !== 'object') {
    throw new WidgetAuthError('INVALID_REQUEST', 'claims must be an object with a userId.', { field: 'claims' });
  }
  const { userId, userMetadata } = claims;
  if (typeof userId !== 'string' || userId.length === 0) {
    throw new WidgetAuthError('INVALID_REQUEST', 'userId must be a non-empty string.', { field: 'userId' });
  }
  if (userMetadata === undefined) return { userId };
  if (userMetadata === null || typeof userMetadata !== 'object' || Array.isArray(userMetadata)) {
    throw new WidgetAuthError('INVALID_REQUEST', 'userMetadata must be an object of strings.', { field: 'userMetadata' });
  }
  const entries: [string, string][] = [];
  for (const [key, value] of Object.entries(userMetadata)) {
    if (value === undefined) continue;
    if (typeof value !== 'string') {
      throw new WidgetAuthError('INVALID_REQUEST', `userMetadata.${key.slice(0, 64)} must be a string.`, { field: `userMetadata.${key.slice(0, 64)}` });
    }
    entries.push([key, value]);
  }
  // fromEntries defines own properties: assigning would drop a "__proto__" key silently
  return entries.length > 0 ? { userId, userMetadata: Object.fromEntries(entries) } : { userId };
}

/** A key object for HS256 signing; building it once avoids re-deriving it per token. */
export function hissunoKey(secretKey: string | KeyObject): KeyObject {
  return typeof secretKey === 'string' ? createSecretKey(Buffer.from(secretKey, 'utf8')) : secretKey;
}

/** Sign with a pre-validated key and lifetime (the router's per-request path). */
export function signWithKey(claims: HissunoClaims, key: KeyObject, lifetime: number): string {
  return jwt().sign(hissunoPayload(claims), key, { algorithm: 'HS256', expiresIn: lifetime });
}

/**
 * Sign the HS256 JWT the Hissuno widget expects: `{ userId, userMetadata? }` plus
 * `iat` and `exp`. Throws {@link WidgetAuthConfigError} for a bad key or lifetime and
 * {@link WidgetAuthError} (`INVALID_REQUEST`) for bad claims.
 *
 * @example
 * ```ts
 * const token = signHissunoToken({ userId: 'u_42', userMetadata: { name: 'Ada' } }, { secretKey: process.env.HISSUNO_SECRET_KEY! });
 * ```
 */
export function signHissunoToken(claims: HissunoClaims, options: SignHissunoTokenOptions): string {
  const { secretKey, expiresIn } = parseOptions('signHissunoToken', signOptionsSchema, options);
  return signWithKey(claims, hissunoKey(secretKey), expiresIn);
}
