import type { Router } from 'express';
import type { EnvVariable, WeakSecretOption } from '../core/config';
import { hmacPresetFactory, presetSecretsFromEnv, presetUserId, type PresetRouterOptions, type PresetSecret } from '../core/preset';

/** Default route of {@link chatwootIdentityRouter}. */
export const CHATWOOT_IDENTITY_PATH = '/api/chatwoot-identity';

/** Options of {@link chatwootIdentityRouter}. */
export interface ChatwootIdentityRouterOptions extends PresetRouterOptions {
  /** The website inbox's HMAC token (env `CHATWOOT_HMAC_TOKEN`, 24 characters): a string as Chatwoot shows it, or its bytes. The user's `id` is the `identifier`. */
  hmacToken: PresetSecret;
}

/**
 * Router answering `GET` and `POST /api/chatwoot-identity` with `{ identifier,
 * identifier_hash }`: the user's id and its HMAC-SHA256 (lower-case hex) with the inbox's
 * HMAC token, what `window.$chatwoot.setUser(identifier, { identifier_hash })` takes.
 * Nobody signed in: 401 `UNAUTHORIZED`.
 *
 * @example
 * ```ts
 * app.use(chatwootIdentityRouter({ hmacToken: process.env.CHATWOOT_HMAC_TOKEN!, resolveUser }));
 * ```
 */
export const chatwootIdentityRouter: (options: ChatwootIdentityRouterOptions) => Router = hmacPresetFactory({
  factory: 'chatwootIdentityRouter',
  vendor: 'chatwoot',
  path: CHATWOOT_IDENTITY_PATH,
  secretOption: 'hmacToken',
  shape: {},
  message: (user) => presetUserId(user, 'Chatwoot'),
  answer: () => ({ identifier: 'message', identifier_hash: 'hash' }),
});

/** Environment variables read by {@link chatwootConfigFromEnv}. */
export const CHATWOOT_ENV: readonly EnvVariable[] = [{ name: 'CHATWOOT_HMAC_TOKEN', option: 'hmacToken', required: true }];

/**
 * Chatwoot options from the environment (`CHATWOOT_HMAC_TOKEN`). Throws a
 * {@link WidgetAuthConfigError} naming the variable when it is missing or invalid.
 *
 * @example
 * ```ts
 * app.use(chatwootIdentityRouter({ ...chatwootConfigFromEnv(), resolveUser }));
 * ```
 */
export function chatwootConfigFromEnv(env: Record<string, string | undefined> = process.env, options?: WeakSecretOption): { hmacToken: string } & WeakSecretOption {
  return presetSecretsFromEnv<{ hmacToken: string }>('chatwootConfigFromEnv', env, CHATWOOT_ENV, options);
}
