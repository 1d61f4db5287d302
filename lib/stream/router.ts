import type { Router } from 'express';
import { z } from 'zod';
import { optionsFromEnv, parseOptions, requiredString, secretString, type EnvVariable, type WeakSecretOption } from '../core/config';
import { CREDENTIAL_MIN_SECRET_LENGTH, jwtCredential, type AnswerSpec } from '../core/credential';
import { guardFactory } from '../core/misuse';
import { checkSecretLength, credentialKey, presetExpiresIn, presetRouter, presetSchema, presetSecret, presetUserId, type PresetRouterOptions, type PresetSecret } from '../core/preset';

/** Default route of {@link streamChatTokenRouter}. */
export const STREAM_TOKEN_PATH = '/api/stream-token';

/** Default lifetime of a Stream user token, in seconds. */
export const STREAM_TOKEN_EXPIRES_IN = 3600;

/** Default seconds `iat` is set back: Stream refuses a token "used before issue at" when its clock is behind. */
export const STREAM_CLOCK_SKEW = 60;

/** Options of {@link streamChatTokenRouter}. */
export interface StreamChatTokenRouterOptions extends PresetRouterOptions {
  /** The app's API secret (env `STREAM_API_SECRET`): a string as the dashboard shows it, or its bytes. */
  apiSecret: PresetSecret;
  /** The app's API key (env `STREAM_API_KEY`), public: when given, the answer carries it as `apiKey` for `StreamChat.getInstance`. Defaults to none. */
  apiKey?: string;
  /** Lifetime of each token, whole seconds, 1 to 86400. Defaults to `3600` (the SDK's own tokens never expire). */
  expiresIn?: number;
  /** Seconds `iat` is set before the signing time, 0 to 300: Stream has no clock tolerance. Defaults to `60`. */
  clockSkew?: number;
}

const optionsSchema = presetSchema(
  {
    apiSecret: presetSecret(),
    apiKey: requiredString().optional(),
    expiresIn: presetExpiresIn(STREAM_TOKEN_EXPIRES_IN),
    clockSkew: z.number({ error: 'must be a whole number of seconds' }).int('must be a whole number of seconds').min(0, 'must not be negative').max(300, 'must be at most 300 seconds').default(STREAM_CLOCK_SKEW),
  },
  (options, ctx) => checkSecretLength(options.apiSecret, options.minSecretLength, 'apiSecret', ctx),
);

/**
 * Router answering `GET` and `POST /api/stream-token` with `{ apiKey?, userId, token }`
 * for the signed-in user: `token` is the HS256 user token Stream Chat's
 * `client.connectUser({ id: userId }, token)` takes, with `user_id`, `iat` (set back by
 * `clockSkew`) and `exp`. Nobody signed in: 401 `UNAUTHORIZED`.
 *
 * @example
 * ```ts
 * app.use(streamChatTokenRouter({ apiSecret: process.env.STREAM_API_SECRET!, apiKey: process.env.STREAM_API_KEY, resolveUser }));
 * ```
 */
export function streamChatTokenRouter(options: StreamChatTokenRouterOptions): Router {
  const config = parseOptions('streamChatTokenRouter', optionsSchema, options);
  const userId = (user: Parameters<typeof presetUserId>[0]) => presetUserId(user, 'Stream');
  const apiKey = config.apiKey;
  const answer: AnswerSpec<'token'> = apiKey === undefined ? { userId, token: 'token' } : { apiKey: () => apiKey, userId, token: 'token' };
  const credential = jwtCredential({
    ...credentialKey(config.apiSecret, config.minSecretLength),
    claims: (user) => ({ user_id: userId(user) }),
    expiresIn: config.expiresIn,
    clockSkew: config.clockSkew,
    answer,
  });
  return presetRouter('stream', STREAM_TOKEN_PATH, config, credential);
}

guardFactory(streamChatTokenRouter, 'streamChatTokenRouter');

/** Environment variables read by {@link streamChatConfigFromEnv}. */
export const STREAM_ENV: readonly EnvVariable[] = [
  { name: 'STREAM_API_SECRET', option: 'apiSecret', required: true },
  { name: 'STREAM_API_KEY', option: 'apiKey', required: false },
];

/**
 * Stream Chat options from the environment (`STREAM_API_SECRET`, optional
 * `STREAM_API_KEY`). Throws a {@link WidgetAuthConfigError} naming every missing or
 * invalid variable.
 *
 * @example
 * ```ts
 * app.use(streamChatTokenRouter({ ...streamChatConfigFromEnv(), resolveUser }));
 * ```
 */
export function streamChatConfigFromEnv(env: Record<string, string | undefined> = process.env, options?: WeakSecretOption): { apiSecret: string; apiKey?: string } & WeakSecretOption {
  return optionsFromEnv(
    'streamChatConfigFromEnv',
    env,
    STREAM_ENV,
    z.object({ apiSecret: secretString(CREDENTIAL_MIN_SECRET_LENGTH), apiKey: requiredString().optional() }),
    options,
  );
}
