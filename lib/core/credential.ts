import { createHmac, createSecretKey, KeyObject } from 'node:crypto';
import type { Request, Router } from 'express';
import { z } from 'zod';
import { parseOptions, secretString, type WeakSecretOption } from './config';
import { jsonErrorContract, type VendorContract } from './contract';
import { WidgetAuthError, isWidgetAuthError } from './errors';
import { hmacJwtSigner, type HmacJwtAlgorithm } from './jwt';
import { guardFactory } from './misuse';
import { JsonText, checkCommonOptions, commonOptionsShape, createWidgetRouter, resolveUserSchema, type CommonRouterOptions, type RouteContext } from './pipeline';
import { isPromiseLike } from './promise';
import type { ResolveUser, WidgetUser } from './types';
import { hasLoneSurrogate } from './user';

// ---------------------------------------------------------------------------
// The strategy interface

/** What a credential strategy may read of the request, beside the user. */
export interface CredentialRequest {
  /** The Express request. */
  readonly req: Request;
  /**
   * The parsed JSON body (`{}` for a `GET` or an empty body). It is what the browser
   * sent: never take the user's identity from it, only request details such as a
   * channel name, and check them.
   */
  readonly body: unknown;
}

/** A value an answer field may hold; `undefined` leaves the field out. */
export type AnswerValue = string | number | boolean | null | undefined;

/**
 * The fields of the JSON object the browser gets, by name. Each value is either the name
 * of what the strategy computed (`'hash'` for {@link hmacCredential}, `'token'` or
 * `'exp'` for {@link jwtCredential}) or a function of the user giving a string, a finite
 * number, a boolean, `null`, or `undefined` to leave the field out. Field names are
 * letters, digits and `_`, not starting with a digit.
 *
 * @example
 * ```ts
 * const answer: AnswerSpec<'hash'> = { user_id: (user) => user.id, user_hash: 'hash' };
 * ```
 */
export type AnswerSpec<Named extends string> = Readonly<Record<string, Named | ((user: WidgetUser, request: CredentialRequest) => AnswerValue)>>;

/**
 * A credential strategy: how one vendor's credential is made for a signed-in user.
 * {@link widgetCredentialRouter} calls `issue` once per request, after the origin
 * checks, `resolveUser` and the rate limit, and answers what it returns as JSON.
 *
 * {@link hmacCredential} and {@link jwtCredential} cover the vendors that sign locally;
 * a strategy of your own is any object of this shape.
 */
export interface WidgetCredential {
  /** What makes the credential, for messages: `"hmacCredential"`, `"jwtCredential"`, or your own name. */
  readonly kind: string;
  /**
   * Every secret the strategy holds, as text (a binary key as hex and base64): the router
   * redacts each from everything it logs and reports, and refuses to send an answer that
   * holds one. At least one.
   */
  readonly secrets: readonly string[];
  /**
   * The answer's fields for `user`, the user `resolveUser` returned (never `null`: nobody
   * signed in is answered 401 before). May return a promise. A {@link WidgetAuthError}
   * thrown here is answered with its code; anything else thrown answers 500
   * `INTERNAL_ERROR` and is reported.
   */
  issue(user: WidgetUser, request: CredentialRequest): Record<string, unknown> | Promise<Record<string, unknown>>;
  /**
   * `true` when the answer is what a vendor's API returned (as {@link remoteCredential}'s
   * is): an answer holding a secret is then the vendor's fault, 502
   * `UPSTREAM_INVALID_RESPONSE`, not 500 `INTERNAL_ERROR` blamed on the host's hooks.
   * Defaults to `false`.
   */
  readonly relaysVendor?: boolean;
}

// ---------------------------------------------------------------------------
// Keys and secrets

/** Options of every credential strategy that signs with a secret. */
export interface CredentialKeyOptions extends WeakSecretOption {
  /**
   * The signing secret as the vendor issued it, used as UTF-8 bytes. Give either
   * `secret` or `key`. Held to the weak-secret rules (see `allowWeakSecrets`) and to
   * `minSecretLength`.
   */
  secret?: string;
  /**
   * The signing key as bytes (a `Buffer` or `Uint8Array`) or a secret `KeyObject`, for a
   * vendor that issues a binary key (decode a base64 or hex key first). Give either
   * `secret` or `key`. At least `minSecretLength` bytes.
   */
  key?: Uint8Array | KeyObject;
  /**
   * Shortest secret accepted, in characters (`secret`) or bytes (`key`), 1 to 1024.
   * Lower it only to what the vendor issues. Defaults to `16`.
   */
  minSecretLength?: number;
}

/** Default of `minSecretLength`: vendors issue secrets of 20 hex digits (Pusher) and 24 characters (Chatwoot). */
export const CREDENTIAL_MIN_SECRET_LENGTH = 16;

const keySchema = z.custom<Uint8Array | KeyObject>((v) => v instanceof Uint8Array || (v instanceof KeyObject && v.type === 'secret'), {
  message: 'must be a Buffer, a Uint8Array or a secret KeyObject (createSecretKey)',
});

/** `minSecretLength`: the shortest secret accepted, characters or bytes (the strategies' and the presets' option). */
export const minSecretLengthSchema = z.number().int('must be a whole number').min(1, 'must be at least 1').max(1024, 'must be at most 1024').default(CREDENTIAL_MIN_SECRET_LENGTH);

/** `expiresIn`: a token's lifetime, whole seconds, 1 to 86400, `fallback` when not given. */
export function lifetimeSchema(fallback: number) {
  return z
    .number({ error: 'must be a whole number of seconds' })
    .int('must be a whole number of seconds')
    .min(1, 'must be at least 1 second')
    .max(JWT_CREDENTIAL_MAX_EXPIRES_IN, `must be at most ${JWT_CREDENTIAL_MAX_EXPIRES_IN} seconds (24 hours)`)
    .default(fallback);
}

/** Why a secret (characters) or key (bytes) is shorter than `min`, or `undefined`. */
export function secretLengthProblem(value: string | Uint8Array | KeyObject, min: number): string | undefined {
  if (typeof value === 'string') return value.length < min ? `must be at least ${min} characters long (minSecretLength)` : undefined;
  return keyBytes(value).length < min ? `must be at least ${min} bytes long (minSecretLength)` : undefined;
}

const keyShape = {
  secret: secretString(1).optional(),
  key: keySchema.optional(),
  minSecretLength: minSecretLengthSchema,
};

/**
 * `secret` or `key` is given: checked whatever else is wrong with the options (a refinement
 * otherwise runs only on options that are valid so far), so that one start-up error lists a
 * missing secret (an unset environment variable) beside every other problem.
 */
function requireKey(options: unknown, ctx: z.RefinementCtx): void {
  if (typeof options !== 'object' || options === null) return;
  const { secret, key } = options as { secret?: unknown; key?: unknown };
  if (secret === undefined && key === undefined) {
    ctx.addIssue({ code: 'custom', path: ['secret'], message: 'is required (or `key`, for a binary key): the signing secret the vendor issued; an unset environment variable reads as undefined' });
  }
}
/** Refinement options for {@link requireKey}: run even where the options have other problems. */
const ALWAYS = { when: () => true } as const;

/** Not both of `secret` and `key`, and the one given at least `minSecretLength` long (whether one is given: {@link requireKey}). */
function checkKey(options: { secret?: string | undefined; key?: Uint8Array | KeyObject | undefined; minSecretLength: number }, ctx: z.RefinementCtx): void {
  const { secret, key, minSecretLength: min } = options;
  if (secret === undefined && key === undefined) return;
  if (secret !== undefined && key !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['key'], message: 'must not be given with `secret`: give one of them' });
  } else {
    const problem = secretLengthProblem((secret ?? key)!, min);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', path: [secret !== undefined ? 'secret' : 'key'], message: problem });
  }
}

function keyBytes(key: Uint8Array | KeyObject): Buffer {
  return key instanceof KeyObject ? key.export() : Buffer.from(key);
}

/** The key as a `KeyObject` (built once: HMAC with it costs less than with a string) and its text forms for the redactor. */
function signingKey(options: { secret?: string | undefined; key?: Uint8Array | KeyObject | undefined }): { key: KeyObject; secrets: string[] } {
  if (options.secret !== undefined) return { key: createSecretKey(Buffer.from(options.secret, 'utf8')), secrets: [options.secret] };
  const bytes = keyBytes(options.key!);
  const secrets = [bytes.toString('hex'), bytes.toString('base64')];
  // bytes that are text: that text too
  const text = bytes.toString('utf8');
  if (Buffer.from(text, 'utf8').equals(bytes)) secrets.push(text);
  return { key: createSecretKey(bytes), secrets };
}

// ---------------------------------------------------------------------------
// Answers

const FIELD_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

const isFunction = (v: unknown): v is (...args: never[]) => unknown => typeof v === 'function';

function answerSchema<Named extends string>(named: readonly Named[]) {
  return z.custom<AnswerSpec<Named>>().superRefine((value, ctx) => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      ctx.addIssue({ code: 'custom', message: `must be an object of answer fields, e.g. { ${named[0]}: '${named[0]}' }` });
      return;
    }
    const entries = Object.entries(value as Record<string, unknown>);
    // the first named value is the credential itself (`'hash'`, `'token'`); the others go beside it
    if (!entries.some(([, v]) => v === named[0])) {
      ctx.addIssue({ code: 'custom', message: `must name the credential in at least one field ('${named[0]}')` });
    }
    for (const [name, v] of entries) {
      // a field name is the host's constant, never a secret: it may be quoted when it is a plain name
      if (!FIELD_NAME.test(name) || name === '__proto__') {
        ctx.addIssue({ code: 'custom', path: [], message: 'has a field name that is not letters, digits and `_` (at most 64, not starting with a digit)' });
      } else if (!(isFunction(v) || (typeof v === 'string' && (named as readonly string[]).includes(v)))) {
        ctx.addIssue({ code: 'custom', path: [name], message: `must be ${named.map((n) => `'${n}'`).join(', ')} or a function (user) => value` });
      }
    }
  });
}

/** One field of the answer: the named value at `index`, or a function of the user. */
interface Field {
  readonly name: string;
  /** Index of the named value (`'hash'`: 0, `'message'`: 1; `'token'`: 0, `'exp'`: 1), or -1 for a function. */
  readonly index: number;
  readonly get: ((user: WidgetUser, request: CredentialRequest) => AnswerValue) | undefined;
}

function compileAnswer(spec: AnswerSpec<string>, named: readonly string[]): readonly Field[] {
  return Object.entries(spec).map(([name, v]) => (typeof v === 'string' ? { name, index: named.indexOf(v), get: undefined } : { name, index: -1, get: v }));
}

/** What a value is, for a message: its type, never the value. */
function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  const type = typeof value;
  return type === 'undefined' ? 'undefined' : `${/^[aeiou]/.test(type) ? 'an' : 'a'} ${type}`;
}

/** The answer object: each field's named value or the value of its function, checked. */
function buildAnswer(kind: string, fields: readonly Field[], first: string, second: string | number, user: WidgetUser, request: CredentialRequest): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (let i = 0; i < fields.length; i++) {
    const field = fields[i]!;
    if (field.get === undefined) {
      out[field.name] = field.index === 0 ? first : second;
      continue;
    }
    let value: unknown;
    try {
      value = field.get(user, request);
    } catch (err) {
      throw new WidgetAuthError('INTERNAL_ERROR', `answer field ${field.name} of ${kind} threw`, { cause: err });
    }
    const type = typeof value;
    if (type === 'string' || type === 'boolean' || value === null || value === undefined || (type === 'number' && Number.isFinite(value))) {
      out[field.name] = value;
    } else {
      throw new WidgetAuthError('INTERNAL_ERROR', `answer field ${field.name} of ${kind} returned ${type === 'number' ? 'a number that is not finite' : kindOf(value)}; it must return a string, a finite number, a boolean, null or undefined`);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// hmacCredential

/** The text encodings of an HMAC digest. */
export type HmacEncoding = 'hex' | 'base64' | 'base64url';

/** Options of {@link hmacCredential}. */
export interface HmacCredentialOptions extends CredentialKeyOptions {
  /**
   * The text signed for a user: usually `user.id` or `user.email`, as the vendor's
   * identity verification says. Must return a non-empty string; anything else answers
   * 500 `INTERNAL_ERROR` and is reported, as a bad `resolveUser` result is.
   */
  message: (user: WidgetUser, request: CredentialRequest) => string;
  /** How the digest is written: `'hex'` (lower case), `'base64'` or `'base64url'`. Defaults to `'hex'`. */
  encoding?: HmacEncoding;
  /**
   * The answer's fields, the digest named `'hash'` and the signed text `'message'` (see
   * {@link AnswerSpec}): `{ identifier: 'message', identifier_hash: 'hash' }` answers the
   * very text that was signed beside its digest. Defaults to `{ hash: 'hash' }`.
   */
  answer?: AnswerSpec<'hash' | 'message'>;
}

const hmacSchema = z
  .object({
    ...keyShape,
    message: z.custom<HmacCredentialOptions['message']>(isFunction, { message: 'must be a function (user) => string, e.g. (user) => user.id', abort: false }),
    encoding: z.enum(['hex', 'base64', 'base64url'], { error: "must be 'hex', 'base64' or 'base64url'" }).default('hex'),
    answer: answerSchema(['hash', 'message'] as const).default({ hash: 'hash' }),
  })
  .strict()
  .superRefine(requireKey, ALWAYS)
  .superRefine(checkKey);

/**
 * An HMAC-SHA256 digest of one text per user, the identity verification of Intercom
 * (`user_hash`), Chatwoot (`identifier_hash`), Crisp, Help Scout, Front and Plain. The
 * key is the secret's UTF-8 bytes (or `key`'s bytes), the message the UTF-8 bytes of
 * `message(user)`. Options are checked here, once; the secret is held to the
 * weak-secret rules unless `allowWeakSecrets`.
 *
 * @example
 * ```ts
 * const credential = hmacCredential({
 *   secret: process.env.CHATWOOT_HMAC_TOKEN!,
 *   message: (user) => user.id,
 *   answer: { identifier: (user) => user.id, identifier_hash: 'hash' },
 * });
 * ```
 */
export function hmacCredential(options: HmacCredentialOptions): WidgetCredential {
  const config = parseOptions('hmacCredential', hmacSchema, options);
  const { key, secrets } = signingKey(config);
  const messageOf = config.message;
  const encoding = config.encoding;
  const fields = compileAnswer(config.answer, ['hash', 'message']);
  return {
    kind: 'hmacCredential',
    secrets,
    issue(user, request) {
      let message: unknown;
      try {
        message = messageOf(user, request);
      } catch (err) {
        // a WidgetAuthError is the hook's own answer (401 for a user without an email): answered as it is
        if (isWidgetAuthError(err)) throw err;
        throw new WidgetAuthError('INTERNAL_ERROR', 'message(user) of hmacCredential threw', { cause: err });
      }
      if (typeof message !== 'string' || message.length === 0) {
        throw new WidgetAuthError('INTERNAL_ERROR', `message(user) of hmacCredential returned ${typeof message === 'string' ? 'an empty string' : kindOf(message)}; it must return a non-empty string, e.g. user.id`);
      }
      // signed as UTF-8, a lone surrogate is U+FFFD: two different texts would share one digest
      if (hasLoneSurrogate(message)) {
        throw new WidgetAuthError('INTERNAL_ERROR', 'message(user) of hmacCredential returned text that is not well-formed Unicode (a lone surrogate, signed as U+FFFD like another text)');
      }
      return buildAnswer('hmacCredential', fields, createHmac('sha256', key).update(message, 'utf8').digest(encoding), message, user, request);
    },
  };
}

// ---------------------------------------------------------------------------
// jwtCredential

/** A JSON object of claims; `undefined` values are left out. */
export type JwtClaims = Record<string, unknown>;

/** Options of {@link jwtCredential}. */
export interface JwtCredentialOptions extends CredentialKeyOptions {
  /** The signature algorithm: `'HS256'`, `'HS384'` or `'HS512'`. Defaults to `'HS256'`. */
  algorithm?: HmacJwtAlgorithm;
  /**
   * Header fields besides `alg` and `typ` (`{ kid: 'key-id' }` for Zendesk): strings,
   * finite numbers or booleans. `typ` may be changed (default `'JWT'`); `alg` may only repeat
   * `algorithm`; `crit` and `b64` are refused. Defaults to none.
   */
  header?: Readonly<Record<string, string | number | boolean>>;
  /**
   * The user's claims, e.g. `(user) => ({ user_id: user.id })`: a plain object of JSON
   * values, without `iat` and `exp`, which the router sets. Anything else (an array, a
   * class instance, a value JSON cannot write, an `iat` or `exp` of its own) answers
   * 500 `INTERNAL_ERROR` and is reported.
   */
  claims: (user: WidgetUser, request: CredentialRequest) => JwtClaims;
  /** Lifetime of each token, whole seconds, 1 to 86400: `exp` is the signing time plus this. Defaults to `3600`. */
  expiresIn?: number;
  /**
   * Seconds `iat` is set before the signing time (0 to 300), for a vendor that refuses
   * tokens "used before issued at" when its clock is behind this server's. `exp` is not
   * moved. Defaults to `0`.
   */
  clockSkew?: number;
  /** The answer's fields, the token named `'token'` and its `exp` `'exp'` (see {@link AnswerSpec}). Defaults to `{ token: 'token' }`. */
  answer?: AnswerSpec<'token' | 'exp'>;
}

/** Default lifetime of a {@link jwtCredential} token, in seconds. */
export const JWT_CREDENTIAL_DEFAULT_EXPIRES_IN = 3600;
/** Longest lifetime of a {@link jwtCredential} token, in seconds. */
export const JWT_CREDENTIAL_MAX_EXPIRES_IN = 86400;

// not aborting: the other checks still run, so every problem is listed at once
const headerValue = z.custom<string | number | boolean>((v) => typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v)), {
  error: (issue) => `${issue.input === undefined ? 'is undefined (an unset environment variable?); it ' : ''}must be a string, a finite number or a boolean`,
  abort: false,
});

const jwtSchema = z
  .object({
    ...keyShape,
    algorithm: z.enum(['HS256', 'HS384', 'HS512'], { error: "must be 'HS256', 'HS384' or 'HS512'" }).default('HS256'),
    header: z.record(z.string(), headerValue).optional(),
    claims: z.custom<JwtCredentialOptions['claims']>(isFunction, { message: 'must be a function (user) => claims, e.g. (user) => ({ sub: user.id })', abort: false }),
    expiresIn: lifetimeSchema(JWT_CREDENTIAL_DEFAULT_EXPIRES_IN),
    clockSkew: z.number({ error: 'must be a whole number of seconds' }).int('must be a whole number of seconds').min(0, 'must not be negative').max(300, 'must be at most 300 seconds').default(0),
    answer: answerSchema(['token', 'exp'] as const).default({ token: 'token' }),
  })
  .strict()
  .superRefine(requireKey, ALWAYS)
  .superRefine((options, ctx) => {
    checkKey(options, ctx);
    const header = options.header ?? {};
    if (Object.hasOwn(header, 'alg') && header['alg'] !== options.algorithm) {
      ctx.addIssue({ code: 'custom', path: ['header', 'alg'], message: 'must be left out (it comes from `algorithm`) or equal `algorithm`' });
    }
    for (const name of ['crit', 'b64']) {
      if (Object.hasOwn(header, name)) ctx.addIssue({ code: 'custom', path: ['header', name], message: 'is not supported: the token would need a verifier that understands it' });
    }
    if (Object.hasOwn(header, 'typ') && typeof header['typ'] !== 'string') ctx.addIssue({ code: 'custom', path: ['header', 'typ'], message: 'must be a string' });
  });

const OBJECT_PROTOTYPE = Object.prototype;

/**
 * A JSON Web Token signed locally with HMAC (HS256 by default), the identity of
 * Intercom (messenger security), Zendesk messaging, Canny, Featurebase and Stream. Its
 * header is `{ alg, typ: 'JWT', ...header }`; its payload the user's `claims` followed
 * by `iat` (the signing time, less `clockSkew`) and `exp` (the signing time plus
 * `expiresIn`), both in whole seconds. Every token expires. Options are checked here,
 * once; the secret is held to the weak-secret rules unless `allowWeakSecrets`.
 *
 * @example
 * ```ts
 * const credential = jwtCredential({
 *   secret: process.env.ZENDESK_SIGNING_SECRET!,
 *   header: { kid: process.env.ZENDESK_KEY_ID! },
 *   claims: (user) => ({ scope: 'user', external_id: user.id, name: user.name, email: user.email }),
 *   expiresIn: 600,
 * });
 * ```
 */
export function jwtCredential(options: JwtCredentialOptions): WidgetCredential {
  const config = parseOptions('jwtCredential', jwtSchema, options);
  const { key, secrets } = signingKey(config);
  // `alg` in `header` was checked to equal `algorithm`
  const sign = hmacJwtSigner(config.algorithm, key, { alg: config.algorithm, typ: 'JWT', ...config.header });
  const claimsOf = config.claims;
  const expiresIn = config.expiresIn;
  const clockSkew = config.clockSkew;
  const fields = compileAnswer(config.answer, ['token', 'exp']);
  return {
    kind: 'jwtCredential',
    secrets,
    issue(user, request) {
      let claims: unknown;
      try {
        claims = claimsOf(user, request);
      } catch (err) {
        // a WidgetAuthError is the hook's own answer (401 for a user without an email): answered as it is
        if (isWidgetAuthError(err)) throw err;
        throw new WidgetAuthError('INTERNAL_ERROR', 'claims(user) of jwtCredential threw', { cause: err });
      }
      if (typeof claims !== 'object' || claims === null || Array.isArray(claims)) {
        throw new WidgetAuthError('INTERNAL_ERROR', `claims(user) of jwtCredential returned ${kindOf(claims)}; it must return a plain object of JSON values`);
      }
      const proto: unknown = Object.getPrototypeOf(claims);
      if (proto !== OBJECT_PROTOTYPE && proto !== null) {
        throw new WidgetAuthError('INTERNAL_ERROR', 'claims(user) of jwtCredential returned a class instance; it must return a plain object of JSON values');
      }
      if (Object.hasOwn(claims, 'exp') || Object.hasOwn(claims, 'iat')) {
        throw new WidgetAuthError('INTERNAL_ERROR', 'claims(user) of jwtCredential returned its own `iat` or `exp`; leave them out: they come from expiresIn and clockSkew');
      }
      let json: string;
      try {
        json = JSON.stringify(claims);
      } catch (err) {
        throw new WidgetAuthError('INTERNAL_ERROR', 'claims(user) of jwtCredential returned a value JSON cannot write (a BigInt, a cycle)', { cause: err });
      }
      // a toJSON of its own could have turned the object into anything
      if (json.charCodeAt(0) !== 123 /* { */) {
        throw new WidgetAuthError('INTERNAL_ERROR', 'claims(user) of jwtCredential returned an object whose JSON is not an object; it must return a plain object of JSON values');
      }
      const now = Math.floor(Date.now() / 1000);
      const exp = now + expiresIn;
      const times = `"iat":${now - clockSkew},"exp":${exp}}`;
      const token = sign(json.length === 2 ? `{${times}` : `${json.slice(0, -1)},${times}`);
      return buildAnswer('jwtCredential', fields, token, exp, user, request);
    },
  };
}

// ---------------------------------------------------------------------------
// widgetCredentialRouter

/** Options of {@link widgetCredentialRouter}. */
export interface WidgetCredentialRouterOptions extends Omit<CommonRouterOptions, 'path'> {
  /** The vendor's name in log events and reports: 1 to 40 lower-case letters, digits, `-` and `_`, starting with a letter. */
  vendor: string;
  /** The route path, e.g. `"/api/acme-token"`. Must start with `/`; no query or fragment. */
  path: string;
  /** The methods served; any other answers 405 `METHOD_NOT_ALLOWED`. Defaults to `['GET', 'POST']`. */
  methods?: readonly ('GET' | 'POST')[];
  /** Maps the request to the signed-in user; `null` means 401. The only source of the user's identity. */
  resolveUser: ResolveUser;
  /** What the browser gets: {@link hmacCredential}, {@link jwtCredential} or a {@link WidgetCredential} of your own. */
  credential: WidgetCredential;
  /**
   * How errors are answered. Defaults to `{"error":{"code","message"}}` with the
   * library's codes (`UNAUTHORIZED`, `FORBIDDEN_ORIGIN`, `RATE_LIMITED`, …).
   */
  contract?: VendorContract;
}

const VENDOR_NAME = /^[a-z][a-z0-9_-]{0,39}$/;

const isCredential = (v: unknown): v is WidgetCredential =>
  typeof v === 'object' &&
  v !== null &&
  typeof (v as WidgetCredential).issue === 'function' &&
  typeof (v as WidgetCredential).kind === 'string' &&
  Array.isArray((v as WidgetCredential).secrets) &&
  (v as WidgetCredential).secrets.length > 0 &&
  (v as WidgetCredential).secrets.every((s) => typeof s === 'string' && s.length > 0);

const routerSchema = z
  .object({
    ...commonOptionsShape,
    vendor: z
      .string({ error: (iss) => (iss.input === undefined ? 'is required — the vendor name for logs, e.g. "acme"' : 'must be a string') })
      .regex(VENDOR_NAME, 'must be 1 to 40 lower-case letters, digits, "-" and "_", starting with a letter'),
    path: z
      .string({ error: (iss) => (iss.input === undefined ? 'is required — the route path, e.g. "/api/acme-token"' : 'must be a string') })
      .regex(/^\/[^\s?#]*$/, 'must start with "/" and hold no query or fragment'),
    methods: z
      .array(z.enum(['GET', 'POST'], { error: "must be 'GET' or 'POST'" }))
      .min(1, 'must name at least one method')
      .refine((m) => new Set(m).size === m.length, 'must not repeat a method')
      .default(['GET', 'POST']),
    resolveUser: resolveUserSchema,
    credential: z
      .custom<WidgetCredential>(isCredential, {
        message: 'must be a credential strategy: hmacCredential({ … }), jwtCredential({ … }), or an object { kind, secrets: string[] (at least one), issue(user, request) }',
      })
      .refine((c) => c.relaysVendor === undefined || typeof c.relaysVendor === 'boolean', {
        message: 'relaysVendor must be true, false or left out (true when issue() returns what a vendor answered)',
      }),
    contract: z
      .custom<VendorContract>((v) => typeof v === 'object' && v !== null && typeof (v as VendorContract).shape === 'function', { message: 'must be an error contract { vendor, shape(err) }' })
      .optional(),
    // the secret belongs to the strategy, which checks it
    allowWeakSecrets: z.never({ error: 'belongs to the credential strategy: hmacCredential({ …, allowWeakSecrets: true }) or jwtCredential({ … })' }).optional(),
  })
  .strict()
  .superRefine(checkCommonOptions);

/**
 * The package's own `issue` functions that write each credential they give a route as
 * JSON themselves, and search that text with the route's search (`remoteCredential`'s):
 * the text, by credential object. A router calling such an `issue` sends that text as it
 * is instead of writing the same object again; nothing but the package's own code runs
 * between the two. A strategy of a host's that wraps one has an `issue` of its own, which
 * is not listed, so its answer is written anew (it may have changed the object).
 */
const textWriters = new WeakSet<object>();
const writtenTexts = new WeakMap<object, string>();

/** List `issue` among the functions whose credentials' texts are kept (see {@link keepWrittenText}). */
export function writesCredentialText(issue: WidgetCredential['issue']): void {
  textWriters.add(issue);
}

/** Keep the JSON text a listed `issue` wrote, and searched with the route's search, for `credential`. */
export function keepWrittenText(credential: object, text: string): void {
  writtenTexts.set(credential, text);
}

/** The answer for a credential a listed `issue` gave: the text it wrote when it kept one. */
function writtenAnswer(credential: Record<string, unknown>): Record<string, unknown> | JsonText {
  const text = writtenTexts.get(credential);
  return text === undefined ? credential : new JsonText(text);
}

/**
 * A router for a vendor of your own, with the pipeline of the built-in ones: Fetch
 * Metadata and origin checks, CORS, the JSON body rules, `resolveUser`, the rate limit,
 * one log event per request, reports of what the host must fix, secrets redacted
 * everywhere, and errors in the vendor's shape. It serves `methods` on `path` for
 * signed-in users only (nobody signed in: 401 `UNAUTHORIZED`) and answers
 * `credential.issue(user)` as JSON. Options are checked once, here, and a
 * {@link WidgetAuthConfigError} lists every mistake.
 *
 * @example
 * ```ts
 * app.use(
 *   widgetCredentialRouter({
 *     vendor: 'chatwoot',
 *     path: '/api/chatwoot-identity',
 *     resolveUser,
 *     credential: hmacCredential({
 *       secret: process.env.CHATWOOT_HMAC_TOKEN!,
 *       message: (user) => user.id,
 *       answer: { identifier: (user) => user.id, identifier_hash: 'hash' },
 *     }),
 *   }),
 * );
 * ```
 */
export function widgetCredentialRouter(options: WidgetCredentialRouterOptions): Router {
  const config = parseOptions('widgetCredentialRouter', routerSchema, options);
  const vendor = config.vendor;
  const given = config.contract;
  const contract: VendorContract = given === undefined ? jsonErrorContract(vendor) : given.vendor === vendor ? given : { vendor, shape: (err) => given.shape(err) };
  const credential = config.credential;
  const handle = (ctx: RouteContext) => {
    const issue = credential.issue;
    const answer = issue.call(credential, ctx.user!, ctx);
    return textWriters.has(issue) && isPromiseLike(answer) ? answer.then(writtenAnswer) : answer;
  };
  return createWidgetRouter(contract, config, {
    secrets: [...credential.secrets],
    relaysVendor: credential.relaysVendor === true,
    routes: [{ path: config.path, methods: config.methods, requireUser: true, handle }],
  });
}

guardFactory(widgetCredentialRouter, 'widgetCredentialRouter');
