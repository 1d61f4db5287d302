import type { Router } from 'express';
import type { EnvVariable, WeakSecretOption } from '../core/config';
import { hmacPresetFactory, presetEmail, presetSecretsFromEnv, type PresetRouterOptions, type PresetSecret } from '../core/preset';

/** Default route of {@link crispIdentityRouter}. */
export const CRISP_IDENTITY_PATH = '/api/crisp-identity';

/** Options of {@link crispIdentityRouter}. */
export interface CrispIdentityRouterOptions extends PresetRouterOptions {
  /** The website's identity verification secret (env `CRISP_VERIFY_SECRET`): a string as Crisp shows it, or its bytes. The user's `email` is signed. */
  secret: PresetSecret;
}

/**
 * Router answering `GET` and `POST /api/crisp-identity` with `{ email, signature }`: the
 * user's email and its HMAC-SHA256 (lower-case hex) with the verification secret, what
 * `$crisp.push(["set", "user:email", [email, signature]])` takes. Nobody signed in, or a
 * user without an email: 401 `UNAUTHORIZED`.
 *
 * @example
 * ```ts
 * app.use(crispIdentityRouter({ secret: process.env.CRISP_VERIFY_SECRET!, resolveUser }));
 * ```
 */
export const crispIdentityRouter: (options: CrispIdentityRouterOptions) => Router = hmacPresetFactory({
  factory: 'crispIdentityRouter',
  vendor: 'crisp',
  path: CRISP_IDENTITY_PATH,
  secretOption: 'secret',
  shape: {},
  message: presetEmail,
  answer: () => ({ email: 'message', signature: 'hash' }),
});

/** Environment variables read by {@link crispConfigFromEnv}. */
export const CRISP_ENV: readonly EnvVariable[] = [{ name: 'CRISP_VERIFY_SECRET', option: 'secret', required: true }];

/**
 * Crisp options from the environment (`CRISP_VERIFY_SECRET`). Throws a
 * {@link WidgetAuthConfigError} naming the variable when it is missing or invalid.
 *
 * @example
 * ```ts
 * app.use(crispIdentityRouter({ ...crispConfigFromEnv(), resolveUser }));
 * ```
 */
export function crispConfigFromEnv(env: Record<string, string | undefined> = process.env, options?: WeakSecretOption): { secret: string } & WeakSecretOption {
  return presetSecretsFromEnv<{ secret: string }>('crispConfigFromEnv', env, CRISP_ENV, options);
}
