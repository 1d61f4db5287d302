import type { Router } from 'express';
import type { EnvVariable, WeakSecretOption } from '../core/config';
import { hmacPresetFactory, presetEmail, presetSecretsFromEnv, type PresetRouterOptions, type PresetSecret } from '../core/preset';

/** Default route of {@link plainChatIdentityRouter}. */
export const PLAIN_CHAT_IDENTITY_PATH = '/api/plain-identity';

/** Options of {@link plainChatIdentityRouter}. */
export interface PlainChatIdentityRouterOptions extends PresetRouterOptions {
  /** The chat's authentication secret (env `PLAIN_CHAT_SECRET`): a string as Plain shows it, or its bytes. The user's `email` is signed. */
  secret: PresetSecret;
}

/**
 * Router answering `GET` and `POST /api/plain-identity` with `{ email, emailHash,
 * fullName }` (`fullName` when the user has a `name`): the email's HMAC-SHA256 (lower-case
 * hex) with the chat secret, what `Plain.init({ customerDetails: { email, emailHash,
 * fullName } })` takes. Nobody signed in, or a user without an email: 401 `UNAUTHORIZED`.
 *
 * @example
 * ```ts
 * app.use(plainChatIdentityRouter({ secret: process.env.PLAIN_CHAT_SECRET!, resolveUser }));
 * ```
 */
export const plainChatIdentityRouter: (options: PlainChatIdentityRouterOptions) => Router = hmacPresetFactory({
  factory: 'plainChatIdentityRouter',
  vendor: 'plain',
  path: PLAIN_CHAT_IDENTITY_PATH,
  secretOption: 'secret',
  shape: {},
  message: presetEmail,
  answer: () => ({ email: 'message', emailHash: 'hash', fullName: (user) => user.name }),
});

/** Environment variables read by {@link plainChatConfigFromEnv}. */
export const PLAIN_CHAT_ENV: readonly EnvVariable[] = [{ name: 'PLAIN_CHAT_SECRET', option: 'secret', required: true }];

/**
 * Plain options from the environment (`PLAIN_CHAT_SECRET`). Throws a
 * {@link WidgetAuthConfigError} naming the variable when it is missing or invalid.
 *
 * @example
 * ```ts
 * app.use(plainChatIdentityRouter({ ...plainChatConfigFromEnv(), resolveUser }));
 * ```
 */
export function plainChatConfigFromEnv(env: Record<string, string | undefined> = process.env, options?: WeakSecretOption): { secret: string } & WeakSecretOption {
  return presetSecretsFromEnv<{ secret: string }>('plainChatConfigFromEnv', env, PLAIN_CHAT_ENV, options);
}
