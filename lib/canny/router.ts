import type { Router } from 'express';
import type { EnvVariable, WeakSecretOption } from '../core/config';
import { jwtPresetFactory, presetHook, presetSecretsFromEnv, presetUserId, type PresetRouterOptions, type PresetSecret } from '../core/preset';
import type { WidgetUser } from '../core/types';

/** Default route of {@link cannySsoRouter}. */
export const CANNY_TOKEN_PATH = '/api/canny-token';

/** Default lifetime of a Canny SSO token, in seconds. */
export const CANNY_TOKEN_EXPIRES_IN = 3600;

/** Options of {@link cannySsoRouter}. */
export interface CannySsoRouterOptions extends PresetRouterOptions {
  /** The company's private SSO key (env `CANNY_SSO_KEY`): a string as Canny shows it, or its bytes. */
  privateKey: PresetSecret;
  /** The user's avatar URL, the optional `avatarURL` claim. Defaults to none. */
  avatarURL?: (user: WidgetUser) => string | undefined;
  /** Lifetime of each token, whole seconds, 1 to 86400 (Canny honours `exp`). Defaults to `3600`. */
  expiresIn?: number;
}

/**
 * Router answering `GET` and `POST /api/canny-token` with `{ ssoToken }`: the HS256
 * single sign-on token Canny's widget takes in `Canny('render', { boardToken, ssoToken })`,
 * with the claims `id`, `email`, `name`, `avatarURL` (with the `avatarURL` option) and
 * `exp`. Nobody signed in: 401 `UNAUTHORIZED`.
 *
 * @example
 * ```ts
 * app.use(cannySsoRouter({ privateKey: process.env.CANNY_SSO_KEY!, resolveUser }));
 * ```
 */
export const cannySsoRouter: (options: CannySsoRouterOptions) => Router = jwtPresetFactory({
  factory: 'cannySsoRouter',
  vendor: 'canny',
  path: CANNY_TOKEN_PATH,
  secretOption: 'privateKey',
  answerField: 'ssoToken',
  expiresIn: CANNY_TOKEN_EXPIRES_IN,
  shape: { avatarURL: presetHook<(user: WidgetUser) => string | undefined>('must be a function (user) => string | undefined') },
  claims: (user, options) => ({ id: presetUserId(user, 'Canny'), email: user.email, name: user.name, avatarURL: options.avatarURL?.(user) }),
});

/** Environment variables read by {@link cannyConfigFromEnv}. */
export const CANNY_ENV: readonly EnvVariable[] = [{ name: 'CANNY_SSO_KEY', option: 'privateKey', required: true }];

/**
 * Canny options from the environment (`CANNY_SSO_KEY`). Throws a
 * {@link WidgetAuthConfigError} naming the variable when it is missing or invalid.
 *
 * @example
 * ```ts
 * app.use(cannySsoRouter({ ...cannyConfigFromEnv(), resolveUser }));
 * ```
 */
export function cannyConfigFromEnv(env: Record<string, string | undefined> = process.env, options?: WeakSecretOption): { privateKey: string } & WeakSecretOption {
  return presetSecretsFromEnv<{ privateKey: string }>('cannyConfigFromEnv', env, CANNY_ENV, options);
}
