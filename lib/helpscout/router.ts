import type { Router } from 'express';
import type { EnvVariable, WeakSecretOption } from '../core/config';
import { hmacPresetFactory, presetEmail, presetSecretsFromEnv, type PresetRouterOptions, type PresetSecret } from '../core/preset';

/** Default route of {@link helpScoutBeaconRouter}. */
export const HELPSCOUT_SIGNATURE_PATH = '/api/helpscout-signature';

/** Options of {@link helpScoutBeaconRouter}. */
export interface HelpScoutBeaconRouterOptions extends PresetRouterOptions {
  /** The Beacon's secure mode secret (env `HELPSCOUT_BEACON_SECRET`): a string as Help Scout shows it, or its bytes. The user's `email` is signed. */
  secret: PresetSecret;
}

/**
 * Router answering `GET` and `POST /api/helpscout-signature` with `{ name, email,
 * signature }`: the user's name and email and the email's HMAC-SHA256 in lower-case hex
 * (not base64) with the secure mode secret, what `Beacon('identify', { name, email,
 * signature })` takes. Nobody signed in, or a user without an email: 401 `UNAUTHORIZED`.
 *
 * @example
 * ```ts
 * app.use(helpScoutBeaconRouter({ secret: process.env.HELPSCOUT_BEACON_SECRET!, resolveUser }));
 * ```
 */
export const helpScoutBeaconRouter: (options: HelpScoutBeaconRouterOptions) => Router = hmacPresetFactory({
  factory: 'helpScoutBeaconRouter',
  vendor: 'helpscout',
  path: HELPSCOUT_SIGNATURE_PATH,
  secretOption: 'secret',
  shape: {},
  message: presetEmail,
  answer: () => ({ name: (user) => user.name, email: 'message', signature: 'hash' }),
});

/** Environment variables read by {@link helpScoutConfigFromEnv}. */
export const HELPSCOUT_ENV: readonly EnvVariable[] = [{ name: 'HELPSCOUT_BEACON_SECRET', option: 'secret', required: true }];

/**
 * Help Scout Beacon options from the environment (`HELPSCOUT_BEACON_SECRET`). Throws a
 * {@link WidgetAuthConfigError} naming the variable when it is missing or invalid.
 *
 * @example
 * ```ts
 * app.use(helpScoutBeaconRouter({ ...helpScoutConfigFromEnv(), resolveUser }));
 * ```
 */
export function helpScoutConfigFromEnv(env: Record<string, string | undefined> = process.env, options?: WeakSecretOption): { secret: string } & WeakSecretOption {
  return presetSecretsFromEnv<{ secret: string }>('helpScoutConfigFromEnv', env, HELPSCOUT_ENV, options);
}
