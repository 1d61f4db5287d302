import type { Router } from 'express';
import { z } from 'zod';
import { optionsFromEnv, parseOptions, requiredString, secretString, type EnvVariable, type WeakSecretOption } from '../core/config';
import { CREDENTIAL_MIN_SECRET_LENGTH, jwtCredential } from '../core/credential';
import { WidgetAuthError } from '../core/errors';
import { guardFactory } from '../core/misuse';
import { checkSecretLength, credentialKey, presetExpiresIn, presetRouter, presetSchema, presetSecret, presetUserId, type PresetRouterOptions, type PresetSecret } from '../core/preset';
import type { WidgetUser } from '../core/types';

/** Default route of {@link zendeskMessagingRouter}. */
export const ZENDESK_TOKEN_PATH = '/api/zendesk-token';

/** Default lifetime of a Zendesk messaging JWT, in seconds. */
export const ZENDESK_JWT_EXPIRES_IN = 3600;

/** Longest `external_id` Zendesk accepts, in characters. */
export const ZENDESK_MAX_EXTERNAL_ID = 255;

/** Options of {@link zendeskMessagingRouter}. */
export interface ZendeskMessagingRouterOptions extends PresetRouterOptions {
  /** The signing key's id from Admin Center → Account → Security → End users (env `ZENDESK_MESSAGING_KEY_ID`), sent as the `kid` header. */
  keyId: string;
  /** The signing key's shared secret (env `ZENDESK_MESSAGING_SECRET`): a string as Zendesk shows it, or its bytes. */
  secret: PresetSecret;
  /** Lifetime of each token, whole seconds, 1 to 86400. Defaults to `3600`. */
  expiresIn?: number;
  /**
   * Whether the user's email is verified, which makes Zendesk use it to match existing
   * users: `true` for every user, or `(user) => boolean`. `email_verified: true` is sent
   * only when this says so and the user has an email. Defaults to never.
   */
  emailVerified?: boolean | ((user: WidgetUser) => boolean);
}

const optionsSchema = presetSchema(
  {
    keyId: requiredString(),
    secret: presetSecret(),
    expiresIn: presetExpiresIn(ZENDESK_JWT_EXPIRES_IN),
    emailVerified: z
      .custom<boolean | ((user: WidgetUser) => boolean)>((v) => typeof v === 'boolean' || typeof v === 'function', { message: 'must be true, false or a function (user) => boolean' })
      .optional(),
  },
  (options, ctx) => checkSecretLength(options.secret, options.minSecretLength, 'secret', ctx),
);

/**
 * Router answering `GET` and `POST /api/zendesk-token` with `{ jwt }`: the HS256 JWT
 * Zendesk's Web Widget (messaging) takes in `zE('messenger', 'loginUser', (callback) =>
 * callback(jwt))`, with the `kid` header and the claims `scope: "user"`, `external_id`
 * (the user's id), `name`, `email`, `email_verified` (only when `emailVerified` says
 * so) and `exp`. Nobody signed in: 401 `UNAUTHORIZED`.
 *
 * @example
 * ```ts
 * app.use(zendeskMessagingRouter({ keyId: process.env.ZENDESK_MESSAGING_KEY_ID!, secret: process.env.ZENDESK_MESSAGING_SECRET!, resolveUser }));
 * ```
 */
export function zendeskMessagingRouter(options: ZendeskMessagingRouterOptions): Router {
  const config = parseOptions('zendeskMessagingRouter', optionsSchema, options);
  const verified = config.emailVerified;
  const isVerified = (user: WidgetUser): boolean => {
    if (typeof verified !== 'function') return verified === true;
    let answer: unknown;
    try {
      answer = verified(user);
    } catch (err) {
      throw new WidgetAuthError('INTERNAL_ERROR', 'emailVerified(user) of zendeskMessagingRouter threw', { cause: err });
    }
    if (typeof answer !== 'boolean') throw new WidgetAuthError('INTERNAL_ERROR', 'emailVerified(user) of zendeskMessagingRouter must return true or false');
    return answer;
  };
  const credential = jwtCredential({
    ...credentialKey(config.secret, config.minSecretLength),
    header: { kid: config.keyId },
    claims: (user) => ({
      scope: 'user',
      external_id: presetUserId(user, 'Zendesk', ZENDESK_MAX_EXTERNAL_ID),
      name: user.name,
      email: user.email,
      // a user record's NULL email is no email: nothing for Zendesk to match on
      email_verified: typeof user.email === 'string' && isVerified(user) ? true : undefined,
    }),
    expiresIn: config.expiresIn,
    answer: { jwt: 'token' },
  });
  return presetRouter('zendesk', ZENDESK_TOKEN_PATH, config, credential);
}

guardFactory(zendeskMessagingRouter, 'zendeskMessagingRouter');

/** Environment variables read by {@link zendeskConfigFromEnv}. */
export const ZENDESK_ENV: readonly EnvVariable[] = [
  { name: 'ZENDESK_MESSAGING_KEY_ID', option: 'keyId', required: true },
  { name: 'ZENDESK_MESSAGING_SECRET', option: 'secret', required: true },
];

/**
 * Zendesk messaging options from the environment (`ZENDESK_MESSAGING_KEY_ID`,
 * `ZENDESK_MESSAGING_SECRET`). Throws a {@link WidgetAuthConfigError} naming every
 * missing or invalid variable.
 *
 * @example
 * ```ts
 * app.use(zendeskMessagingRouter({ ...zendeskConfigFromEnv(), resolveUser }));
 * ```
 */
export function zendeskConfigFromEnv(env: Record<string, string | undefined> = process.env, options?: WeakSecretOption): { keyId: string; secret: string } & WeakSecretOption {
  return optionsFromEnv('zendeskConfigFromEnv', env, ZENDESK_ENV, z.object({ keyId: requiredString(), secret: secretString(CREDENTIAL_MIN_SECRET_LENGTH) }), options);
}
