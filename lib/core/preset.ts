import { KeyObject } from 'node:crypto';
import type { Router } from 'express';
import { z } from 'zod';
import { optionsFromEnv, parseOptions, secretString, type EnvVariable, type WeakSecretOption } from './config';
import { CREDENTIAL_MIN_SECRET_LENGTH, hmacCredential, lifetimeSchema, minSecretLengthSchema, secretLengthProblem, jwtCredential, widgetCredentialRouter, type AnswerSpec, type CredentialKeyOptions, type JwtClaims, type WidgetCredential } from './credential';
import { WidgetAuthError } from './errors';
import { guardFactory } from './misuse';
import { checkCommonOptions, commonOptionsShape, resolveUserSchema, type CommonConfig, type CommonRouterOptions } from './pipeline';
import type { ResolveUser, WidgetUser } from './types';
import { trimmedUserEmail } from './user';

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

/** `expiresIn` of a preset: whole seconds, 1 to 86400 (the rule of `jwtCredential`). */
export const presetExpiresIn = lifetimeSchema;

/** A hook option `(user) => …` of a preset. */
export function presetHook<F>(message: string) {
  return z.custom<F>((v) => typeof v === 'function', { message }).optional();
}

/** Adds an issue when the secret at `option` is shorter than `min` (characters, or bytes for a key). */
export function checkSecretLength(value: PresetSecret | undefined, min: number, option: string, ctx: z.RefinementCtx): void {
  const problem = value === undefined ? undefined : secretLengthProblem(value, min);
  if (problem !== undefined) ctx.addIssue({ code: 'custom', path: [option], message: problem });
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
    .object({ ...shape, resolveUser: resolveUserSchema, minSecretLength: minSecretLengthSchema, ...commonOptionsShape })
    .strict()
    .superRefine((options, ctx) => {
      checkCommonOptions(options as unknown as Parameters<typeof checkCommonOptions>[0], ctx);
      check(options as unknown as z.output<z.ZodObject<S>> & { minSecretLength: number }, ctx);
    });
}

/**
 * The user's id, every preset's identity. The pipeline has already refused a user whose
 * id is not a non-empty string (`checkResolvedUser`); a vendor with a length limit gets
 * it checked here: a longer id is the host's bug, 500 `INTERNAL_ERROR`.
 */
export function presetUserId(user: WidgetUser, vendor: string, max = Infinity): string {
  const id = user.id;
  if (id.length > max) throw new WidgetAuthError('INTERNAL_ERROR', `resolveUser returned a user id of ${id.length} characters; ${vendor} takes at most ${max}`);
  return id;
}

/** The preset's router: {@link widgetCredentialRouter} with the common options of a parsed preset configuration (`GET` and `POST` unless `methods` says otherwise). */
export function presetRouter(vendor: string, defaultPath: string, config: CommonConfig & { resolveUser: ResolveUser }, credential: WidgetCredential, methods?: readonly ('GET' | 'POST')[]): Router {
  const { path, allowedOrigins, requireOrigin, cors, rateLimit, logger, report, bodyLimit } = config;
  return widgetCredentialRouter({
    vendor,
    path: path ?? defaultPath,
    ...(methods !== undefined ? { methods } : {}),
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

/** What {@link jwtPresetFactory} needs to know of a preset whose route answers one JWT signed with one secret. */
export interface JwtPresetSpec<Extra extends z.ZodRawShape> {
  /** The factory's exported name, for messages. */
  factory: string;
  /** The vendor's name in log events. */
  vendor: string;
  /** The default route. */
  path: string;
  /** The option holding the secret. */
  secretOption: string;
  /** The answer's field holding the token, named as the vendor's browser snippet names it. */
  answerField: string;
  /** Default lifetime of a token, seconds. */
  expiresIn: number;
  /** The vendor's own options beside the secret and `expiresIn`. */
  shape: Extra;
  /** The claims for a user, given the parsed vendor options; `iat` and `exp` are added. */
  claims: (user: WidgetUser, options: z.output<z.ZodObject<Extra>>) => JwtClaims;
}

/**
 * A router factory for a vendor whose widget takes one HS256 JWT signed with one secret
 * (Canny, Featurebase): options parsed once, the secret held to the length and
 * weak-secret rules, every token expiring, and the misuse guard. `Options` is the
 * factory's public option type.
 */
export function jwtPresetFactory<Options, Extra extends z.ZodRawShape>(spec: JwtPresetSpec<Extra>): (options: Options) => Router {
  const schema = presetSchema({ ...spec.shape, [spec.secretOption]: presetSecret(), expiresIn: presetExpiresIn(spec.expiresIn) } as Extra, (options, ctx) =>
    checkSecretLength((options as Record<string, PresetSecret | undefined>)[spec.secretOption], options.minSecretLength, spec.secretOption, ctx),
  );
  const factory = (options: Options): Router => {
    const config = parseOptions(spec.factory, schema, options) as unknown as z.output<z.ZodObject<Extra>> & CommonConfig & { resolveUser: ResolveUser; minSecretLength: number; expiresIn: number };
    const credential = jwtCredential({
      ...credentialKey((config as unknown as Record<string, PresetSecret>)[spec.secretOption]!, config.minSecretLength),
      claims: (user) => spec.claims(user, config),
      expiresIn: config.expiresIn,
      answer: { [spec.answerField]: 'token' },
    });
    return presetRouter(spec.vendor, spec.path, config, credential);
  };
  Object.defineProperty(factory, 'name', { value: spec.factory });
  guardFactory(factory, spec.factory);
  return factory;
}

/**
 * The user's email, the identity of an email-hashing preset (Crisp, Help Scout, Front,
 * Plain), trimmed of surrounding spaces and otherwise as `resolveUser` gave it: the
 * answer carries this very text beside its hash. A user without one (missing, `null`,
 * blank) is not signed in for this vendor: 401 `UNAUTHORIZED`, as with Nevermined.
 */
export function presetEmail(user: WidgetUser): string {
  // the pipeline has already refused an email that is not a string (checkResolvedUser)
  const email = trimmedUserEmail(user.email);
  if (!email) throw new WidgetAuthError('UNAUTHORIZED', 'Sign in with an account that has an email address to use this widget.');
  return email;
}

/** What {@link hmacPresetFactory} needs to know of a preset whose route answers an HMAC-SHA256 (hex) of one text per user. */
export interface HmacPresetSpec<Extra extends z.ZodRawShape> {
  /** The factory's exported name, for messages. */
  factory: string;
  /** The vendor's name in log events. */
  vendor: string;
  /** The default route. */
  path: string;
  /** The option holding the secret. */
  secretOption: string;
  /** The vendor's own options beside the secret. */
  shape: Extra;
  /**
   * The signed text for a user, given the parsed vendor options (`presetUserId`,
   * `presetEmail`). Called before the digest, so a `WidgetAuthError` it throws (401 for a
   * user without an email) is answered as it is.
   */
  message: (user: WidgetUser, options: z.output<z.ZodObject<Extra>>) => string;
  /**
   * The answer's fields, named as the vendor's browser snippet names them: the digest
   * `'hash'`, the signed text `'message'` (as `hmacCredential` answers them), or a
   * function of the user.
   */
  answer: (options: z.output<z.ZodObject<Extra>>) => AnswerSpec<'hash' | 'message'>;
}

/**
 * A router factory for a vendor whose widget takes an HMAC-SHA256, lower-case hex, of
 * one text per user (Chatwoot, Crisp, Help Scout, Front, Plain): options parsed once,
 * the secret held to the length and weak-secret rules, the signed text computed once per
 * request and answered beside its digest, and the misuse guard. `Options` is the
 * factory's public option type.
 */
export function hmacPresetFactory<Options, Extra extends z.ZodRawShape>(spec: HmacPresetSpec<Extra>): (options: Options) => Router {
  const schema = presetSchema({ ...spec.shape, [spec.secretOption]: presetSecret() } as Extra, (options, ctx) =>
    checkSecretLength((options as Record<string, PresetSecret | undefined>)[spec.secretOption], options.minSecretLength, spec.secretOption, ctx),
  );
  const factory = (options: Options): Router => {
    const config = parseOptions(spec.factory, schema, options) as unknown as z.output<z.ZodObject<Extra>> & CommonConfig & { resolveUser: ResolveUser; minSecretLength: number };
    const credential = hmacCredential({
      ...credentialKey((config as unknown as Record<string, PresetSecret>)[spec.secretOption]!, config.minSecretLength),
      message: (user) => spec.message(user, config),
      answer: spec.answer(config),
    });
    return presetRouter(spec.vendor, spec.path, config, credential);
  };
  Object.defineProperty(factory, 'name', { value: spec.factory });
  guardFactory(factory, spec.factory);
  return factory;
}

/**
 * A preset's options from the environment when every variable holds a secret (Canny,
 * Featurebase): each at least {@link CREDENTIAL_MIN_SECRET_LENGTH} characters, not a
 * placeholder, not weak unless `options.allowWeakSecrets`.
 */
export function presetSecretsFromEnv<T extends Record<string, string>>(subject: string, env: Record<string, string | undefined>, variables: readonly EnvVariable[], options?: WeakSecretOption): T & WeakSecretOption {
  const shape = Object.fromEntries(variables.map((v) => [v.option, v.required ? secretString(CREDENTIAL_MIN_SECRET_LENGTH) : secretString(CREDENTIAL_MIN_SECRET_LENGTH).optional()]));
  return optionsFromEnv(subject, env, variables, z.object(shape), options) as unknown as T & WeakSecretOption;
}

/** Options every vendor preset takes besides its secret and its own: the user, the secret length rule, the common router options. */
export interface PresetRouterOptions extends CommonRouterOptions, WeakSecretOption {
  /** Maps the request to the signed-in user; `null` means 401. The only source of the user's identity. */
  resolveUser: ResolveUser;
  /** Shortest secret accepted, characters (or bytes of a binary secret), 1 to 1024. Defaults to `16`. */
  minSecretLength?: number;
}
