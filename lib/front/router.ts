import type { Router } from 'express';
import { z } from 'zod';
import type { EnvVariable, WeakSecretOption } from '../core/config';
import { hmacPresetFactory, presetEmail, presetSecretsFromEnv, presetUserId, type PresetRouterOptions, type PresetSecret } from '../core/preset';
import type { WidgetUser } from '../core/types';
import { trimAsciiSpace } from '../core/user';

/** Default route of {@link frontChatIdentityRouter}. */
export const FRONT_CHAT_IDENTITY_PATH = '/api/front-identity';

/** Options of {@link frontChatIdentityRouter}. */
export interface FrontChatIdentityRouterOptions extends PresetRouterOptions {
  /** The chat widget's identity verification secret (env `FRONT_CHAT_SECRET`): a string as Front shows it, or its bytes. */
  secret: PresetSecret;
  /**
   * What identifies the user to Front: `'email'` (the answer is `{ email, name, userHash }`,
   * the hash of the email) or `'userId'` (`{ userId, email, name, userHash }`, the hash of
   * the user's `id`). Defaults to `'email'`.
   */
  identifyBy?: 'email' | 'userId';
}

const name = (user: WidgetUser) => user.name;
const BY_EMAIL = { email: 'message', name, userHash: 'hash' } as const;
// not signed by id, but shown to Front beside it: only ASCII space is trimmed, so `kelly@example.com\u3000` is never turned into Kelly's address
const BY_USER_ID = { userId: 'message', email: (user: WidgetUser) => (typeof user.email === 'string' ? trimAsciiSpace(user.email) || undefined : undefined), name, userHash: 'hash' } as const;

/**
 * Router answering `GET` and `POST /api/front-identity` with what `FrontChat('init', {
 * chatId, email, name, userHash })` takes: `userHash` is the HMAC-SHA256 (lower-case hex)
 * of the user's email, or of the user's id with `identifyBy: 'userId'` (then `userId` is
 * answered too). Nobody signed in, or (by email) a user without an email: 401
 * `UNAUTHORIZED`.
 *
 * @example
 * ```ts
 * app.use(frontChatIdentityRouter({ secret: process.env.FRONT_CHAT_SECRET!, resolveUser }));
 * ```
 */
export const frontChatIdentityRouter: (options: FrontChatIdentityRouterOptions) => Router = hmacPresetFactory({
  factory: 'frontChatIdentityRouter',
  vendor: 'front',
  path: FRONT_CHAT_IDENTITY_PATH,
  secretOption: 'secret',
  shape: { identifyBy: z.enum(['email', 'userId'], { error: "must be 'email' or 'userId'" }).default('email') },
  message: (user, { identifyBy }) => (identifyBy === 'userId' ? presetUserId(user, 'Front') : presetEmail(user)),
  answer: ({ identifyBy }) => (identifyBy === 'userId' ? BY_USER_ID : BY_EMAIL),
});

/** Environment variables read by {@link frontChatConfigFromEnv}. */
export const FRONT_CHAT_ENV: readonly EnvVariable[] = [{ name: 'FRONT_CHAT_SECRET', option: 'secret', required: true }];

/**
 * Front Chat options from the environment (`FRONT_CHAT_SECRET`). Throws a
 * {@link WidgetAuthConfigError} naming the variable when it is missing or invalid.
 *
 * @example
 * ```ts
 * app.use(frontChatIdentityRouter({ ...frontChatConfigFromEnv(), resolveUser }));
 * ```
 */
export function frontChatConfigFromEnv(env: Record<string, string | undefined> = process.env, options?: WeakSecretOption): { secret: string } & WeakSecretOption {
  return presetSecretsFromEnv<{ secret: string }>('frontChatConfigFromEnv', env, FRONT_CHAT_ENV, options);
}
