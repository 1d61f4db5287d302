import { KeyObject } from 'node:crypto';
import type { Router } from 'express';
import { z } from 'zod';
import { secretString } from './config';
import { CREDENTIAL_MIN_SECRET_LENGTH, JWT_CREDENTIAL_MAX_EXPIRES_IN, widgetCredentialRouter, type CredentialKeyOptions, type WidgetCredential } from './credential';
import { WidgetAuthError } from './errors';
import { checkCommonOptions, commonOptionsShape, resolveUserSchema, type CommonConfig } from './pipeline';
import type { ResolveUser, WidgetUser } from './types';

/**
 * What the vendor presets built on {@link widgetCredentialRouter} share: the secret
 * option (the vendor's text secret, or a binary key), the lifetime option, the option
 * schema around the vendor's own options, and the router built from a parsed
 * configuration. A preset's folder holds only its claims, answer fields and defaults.
 */

/** A preset's signing secret: the text the vendor shows, or its bytes (`Buffer`, `Uint8Array`, secret `KeyObject`). */
export type PresetSecret = string | Uint8Array | KeyObject;

const binaryKey = z.custom<Uint8Array | KeyObject>((v) => v instanceof Uint8Array || (v instanceof KeyObject && v.type === 'secret'), {
  message: 'must be a string, a Buffer, a Uint8Array or a secret KeyObject',
});

/** zod schema of a preset's secret option (held to the weak-secret rules when it is a string). */
export function presetSecret() {
  return z.union([secretString(1), binaryKey]);
}

/** `minSecretLength` of a preset: the shortest secret accepted, characters or bytes. */
export const presetMinSecretLength = z
  .number()
  .int('must be a whole number')
  .min(1, 'must be at least 1')
  .max(1024, 'must be at most 1024')
  .default(CREDENTIAL_MIN_SECRET_LENGTH);

/** `expiresIn` of a preset: whole seconds, 1 to 86400. */
export function presetExpiresIn(fallback: number) {
  return z
    .number({ error: 'must be a whole number of seconds' })
    .int('must be a whole number of seconds')
    .min(1, 'must be at least 1 second')
    .max(JWT_CREDENTIAL_MAX_EXPIRES_IN, `must be at most ${JWT_CREDENTIAL_MAX_EXPIRES_IN} seconds (24 hours)`)
    .default(fallback);
}

/** A hook option `(user) => …` of a preset. */
export function presetHook<F>(message: string) {
  return z.custom<F>((v) => typeof v === 'function', { message }).optional();
}

const byteLength = (value: PresetSecret): number => (typeof value === 'string' ? value.length : value instanceof KeyObject ? (value.symmetricKeySize ?? 0) : value.byteLength);

/** Adds an issue when the secret at `option` is shorter than `min` (characters, or bytes for a key). */
export function checkSecretLength(value: PresetSecret | undefined, min: number, option: string, ctx: z.RefinementCtx): void {
  if (value === undefined || byteLength(value) >= min) return;
  ctx.addIssue({ code: 'custom', path: [option], message: `must be at least ${min} ${typeof value === 'string' ? 'characters' : 'bytes'} long (minSecretLength)` });
}

/** The key options of `hmacCredential`/`jwtCredential` for a checked preset secret. */
export function credentialKey(value: PresetSecret, minSecretLength: number): CredentialKeyOptions {
  // the preset has checked the secret (and its weak-secret opt-out): the strategy takes it as it is
  return typeof value === 'string' ? { secret: value, minSecretLength, allowWeakSecrets: true } : { key: value, minSecretLength };
}

/**
 * The option schema of a preset: the vendor's own `shape` plus `resolveUser`,
 * `minSecretLength` and the common router options, strict, with the common cross-field
 * rules. `check` adds the vendor's own cross-field rules.
 */
export function presetSchema<S extends z.ZodRawShape>(shape: S, check: (options: z.output<z.ZodObject<S>> & { minSecretLength: number }, ctx: z.RefinementCtx) => void) {
  return z
    .object({ ...shape, resolveUser: resolveUserSchema, minSecretLength: presetMinSecretLength, ...commonOptionsShape })
    .strict()
    .superRefine((options, ctx) => {
      checkCommonOptions(options as unknown as Parameters<typeof checkCommonOptions>[0], ctx);
      check(options as unknown as z.output<z.ZodObject<S>> & { minSecretLength: number }, ctx);
    });
}

/** The user's id, checked: every preset identifies the user by it. */
export function presetUserId(user: WidgetUser, vendor: string, max = Infinity): string {
  const id: unknown = user.id;
  if (typeof id !== 'string' || id.length === 0) throw new WidgetAuthError('INTERNAL_ERROR', `resolveUser returned a user without a string id (${vendor})`);
  if (id.length > max) throw new WidgetAuthError('INTERNAL_ERROR', `resolveUser returned a user id of ${id.length} characters; ${vendor} takes at most ${max}`);
  return id;
}

/** The preset's router: {@link widgetCredentialRouter} with the common options of a parsed preset configuration. */
export function presetRouter(vendor: string, defaultPath: string, config: CommonConfig & { resolveUser: ResolveUser }, credential: WidgetCredential): Router {
  const { path, allowedOrigins, requireOrigin, cors, rateLimit, logger, report, bodyLimit } = config;
  return widgetCredentialRouter({
    vendor,
    path: path ?? defaultPath,
    resolveUser: config.resolveUser,
    credential,
    requireOrigin,
    cors,
    report,
    bodyLimit,
    ...(allowedOrigins !== undefined ? { allowedOrigins } : {}),
    ...(rateLimit !== undefined ? { rateLimit } : {}),
    ...(logger !== undefined ? { logger } : {}),
  });
}
