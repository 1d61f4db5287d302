import type { Router } from 'express';
import type { EnvVariable, WeakSecretOption } from '../core/config';
import { jwtPresetFactory, presetSecretsFromEnv, presetUserId, type PresetRouterOptions, type PresetSecret } from '../core/preset';

/** Default route of {@link featurebaseJwtRouter}. */
export const FEATUREBASE_TOKEN_PATH = '/api/featurebase-token';

/** Default lifetime of a Featurebase JWT, in seconds. */
export const FEATUREBASE_TOKEN_EXPIRES_IN = 3600;

/** Options of {@link featurebaseJwtRouter}. */
export interface FeaturebaseJwtRouterOptions extends PresetRouterOptions {
  /** The organization's JWT secret from Featurebase's security settings (env `FEATUREBASE_JWT_SECRET`): a string, or its bytes. */
  jwtSecret: PresetSecret;
  /** Lifetime of each token, whole seconds, 1 to 86400. Defaults to `3600`. */
  expiresIn?: number;
}

/**
 * Router answering `GET` and `POST /api/featurebase-token` with `{ featurebaseJwt }`: the
 * HS256 JWT Featurebase's SDK takes as `featurebaseJwt` when it boots, with the claims
 * `userId`, `email`, `name` and `exp`. Nobody signed in: 401 `UNAUTHORIZED`.
 *
 * @example
 * ```ts
 * app.use(featurebaseJwtRouter({ jwtSecret: process.env.FEATUREBASE_JWT_SECRET!, resolveUser }));
 * ```
 */
export const featurebaseJwtRouter: (options: FeaturebaseJwtRouterOptions) => Router = jwtPresetFactory({
  factory: 'featurebaseJwtRouter',
  vendor: 'featurebase',
  path: FEATUREBASE_TOKEN_PATH,
  secretOption: 'jwtSecret',
  answerField: 'featurebaseJwt',
  expiresIn: FEATUREBASE_TOKEN_EXPIRES_IN,
  shape: {},
  // `userId` is always there, so Featurebase's "userId or email" rule holds for every user
  claims: (user) => ({ userId: presetUserId(user, 'Featurebase'), email: user.email, name: user.name }),
});

/** Environment variables read by {@link featurebaseConfigFromEnv}. */
export const FEATUREBASE_ENV: readonly EnvVariable[] = [{ name: 'FEATUREBASE_JWT_SECRET', option: 'jwtSecret', required: true }];

/**
 * Featurebase options from the environment (`FEATUREBASE_JWT_SECRET`). Throws a
 * {@link WidgetAuthConfigError} naming the variable when it is missing or invalid.
 *
 * @example
 * ```ts
 * app.use(featurebaseJwtRouter({ ...featurebaseConfigFromEnv(), resolveUser }));
 * ```
 */
export function featurebaseConfigFromEnv(env: Record<string, string | undefined> = process.env, options?: WeakSecretOption): { jwtSecret: string } & WeakSecretOption {
  return presetSecretsFromEnv<{ jwtSecret: string }>('featurebaseConfigFromEnv', env, FEATUREBASE_ENV, options);
}
