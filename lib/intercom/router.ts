import type { Router } from 'express';
import { z } from 'zod';
import { optionsFromEnv, parseOptions, secretString, type EnvVariable, type WeakSecretOption } from '../core/config';
import { CREDENTIAL_MIN_SECRET_LENGTH, hmacCredential, jwtCredential } from '../core/credential';
import { guardFactory } from '../core/misuse';
import { checkSecretLength, credentialKey, presetExpiresIn, presetRouter, presetSchema, presetSecret, presetUserId, type PresetRouterOptions, type PresetSecret } from '../core/preset';

/** Default route of {@link intercomIdentityRouter}. */
export const INTERCOM_IDENTITY_PATH = '/api/intercom-identity';

/** Default lifetime of an `intercom_user_jwt`, in seconds. */
export const INTERCOM_JWT_EXPIRES_IN = 3600;

/** Options of {@link intercomIdentityRouter}. Give exactly one of `messengerSecret` and `identitySecret`. */
export interface IntercomIdentityRouterOptions extends PresetRouterOptions {
  /**
   * The Messenger API secret of Messenger security (env `INTERCOM_MESSENGER_SECRET`):
   * the route answers `{ intercom_user_jwt }`, an HS256 JWT of `user_id`, `email` and
   * `exp`. A string as Intercom shows it, or its bytes.
   */
  messengerSecret?: PresetSecret;
  /**
   * The identity verification secret of the older HMAC mode (env
   * `INTERCOM_IDENTITY_SECRET`): the route answers `{ user_id, email, user_hash }`,
   * `user_hash` being the HMAC-SHA256 (hex) of `user_id`.
   */
  identitySecret?: PresetSecret;
  /** Lifetime of an `intercom_user_jwt` (JWT mode), whole seconds, 1 to 86400. Defaults to `3600`. */
  expiresIn?: number;
}

const optionsSchema = presetSchema(
  { messengerSecret: presetSecret().optional(), identitySecret: presetSecret().optional(), expiresIn: presetExpiresIn(INTERCOM_JWT_EXPIRES_IN) },
  (options, ctx) => {
    const { messengerSecret, identitySecret, minSecretLength } = options;
    if (messengerSecret === undefined && identitySecret === undefined) {
      ctx.addIssue({ code: 'custom', path: ['messengerSecret'], message: 'is required (JWT mode), or `identitySecret` (identity verification, HMAC mode): give one of them' });
    } else if (messengerSecret !== undefined && identitySecret !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['identitySecret'], message: 'must not be given with `messengerSecret`: give the secret of the one mode your workspace uses' });
    }
    checkSecretLength(messengerSecret, minSecretLength, 'messengerSecret', ctx);
    checkSecretLength(identitySecret, minSecretLength, 'identitySecret', ctx);
  },
);

/**
 * Router answering `GET` and `POST /api/intercom-identity` for the signed-in user with
 * what Intercom's Messenger takes in `intercomSettings` (or `Intercom('boot', …)`):
 * `{ intercom_user_jwt }` with `messengerSecret` (Messenger security, JWT mode), or
 * `{ user_id, email, user_hash }` with `identitySecret` (identity verification, HMAC
 * mode). Nobody signed in: 401 `UNAUTHORIZED`.
 *
 * @example
 * ```ts
 * app.use(intercomIdentityRouter({ messengerSecret: process.env.INTERCOM_MESSENGER_SECRET!, resolveUser }));
 * ```
 */
export function intercomIdentityRouter(options: IntercomIdentityRouterOptions): Router {
  const config = parseOptions('intercomIdentityRouter', optionsSchema, options);
  const userId = (user: Parameters<typeof presetUserId>[0]) => presetUserId(user, 'Intercom');
  const credential =
    config.messengerSecret !== undefined
      ? jwtCredential({
          ...credentialKey(config.messengerSecret, config.minSecretLength),
          claims: (user) => ({ user_id: userId(user), email: user.email }),
          expiresIn: config.expiresIn,
          answer: { intercom_user_jwt: 'token' },
        })
      : hmacCredential({
          ...credentialKey(config.identitySecret!, config.minSecretLength),
          message: userId,
          answer: { user_id: userId, email: (user) => user.email, user_hash: 'hash' },
        });
  return presetRouter('intercom', INTERCOM_IDENTITY_PATH, config, credential);
}

guardFactory(intercomIdentityRouter, 'intercomIdentityRouter');

/** Environment variables read by {@link intercomConfigFromEnv}: set exactly one. */
export const INTERCOM_ENV: readonly EnvVariable[] = [
  { name: 'INTERCOM_MESSENGER_SECRET', option: 'messengerSecret', required: false },
  { name: 'INTERCOM_IDENTITY_SECRET', option: 'identitySecret', required: false },
];

const envSchema = z
  .object({ messengerSecret: secretString(CREDENTIAL_MIN_SECRET_LENGTH).optional(), identitySecret: secretString(CREDENTIAL_MIN_SECRET_LENGTH).optional() })
  .superRefine((values, ctx) => {
    if (values.messengerSecret === undefined && values.identitySecret === undefined) {
      ctx.addIssue({ code: 'custom', path: ['messengerSecret'], message: 'is not set: set it (Messenger security, JWT) or INTERCOM_IDENTITY_SECRET (identity verification, HMAC)' });
    } else if (values.messengerSecret !== undefined && values.identitySecret !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['identitySecret'], message: 'must not be set together with INTERCOM_MESSENGER_SECRET: set only the secret of the mode your workspace uses' });
    }
  });

/**
 * Intercom options from the environment: `INTERCOM_MESSENGER_SECRET` (JWT mode) or
 * `INTERCOM_IDENTITY_SECRET` (HMAC mode), exactly one. Throws a
 * {@link WidgetAuthConfigError} naming every missing or invalid variable.
 *
 * @example
 * ```ts
 * app.use(intercomIdentityRouter({ ...intercomConfigFromEnv(), resolveUser }));
 * ```
 */
export function intercomConfigFromEnv(
  env: Record<string, string | undefined> = process.env,
  options?: WeakSecretOption,
): { messengerSecret?: string; identitySecret?: string } & WeakSecretOption {
  return optionsFromEnv('intercomConfigFromEnv', env, INTERCOM_ENV, envSchema, options);
}
