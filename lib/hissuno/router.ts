import type { KeyObject } from 'node:crypto';
import type { Router } from 'express';
import { z } from 'zod';
import { optionsFromEnv, parseOptions, type EnvVariable, type WeakSecretOption } from '../core/config';
import { guardFactory } from '../core/misuse';
import { WidgetAuthError } from '../core/errors';
import { checkCommonOptions, commonOptionsShape, createWidgetRouter, resolveUserSchema, type CommonRouterOptions, type RouteContext } from '../core/pipeline';
import type { ResolveUser, WidgetUser } from '../core/types';
import { hissunoContract } from './contract';
import { HISSUNO_MAX_LIFETIME, hissunoKey, hissunoLifetime, hissunoSecretKey, signWithKey } from './sign';

/** Default route of {@link hissunoTokenRouter}. */
export const HISSUNO_TOKEN_PATH = '/api/hissuno-token';

/** Options of {@link hissunoTokenRouter}. */
export interface HissunoTokenRouterOptions extends CommonRouterOptions, WeakSecretOption {
  /** The project's secret key (`sk_live_…`, env `HISSUNO_SECRET_KEY`), at least 32 characters. */
  secretKey: string;
  /** Maps the request to the signed-in user; `null` means 401. */
  resolveUser: ResolveUser;
  /** Token lifetime: seconds or `"24h"`-style, 60 s to 24 h. Defaults to `"24h"`. */
  expiresIn?: string | number;
  /**
   * The `userMetadata` claim for a user. Defaults to the user's `name` and `email`
   * plus its `metadata`, with undefined values dropped.
   */
  userMetadata?: (user: WidgetUser) => Record<string, string | undefined> | undefined;
}

const optionsSchema = z
  .object({
    secretKey: hissunoSecretKey,
    resolveUser: resolveUserSchema,
    expiresIn: hissunoLifetime.default(HISSUNO_MAX_LIFETIME),
    userMetadata: z.custom<NonNullable<HissunoTokenRouterOptions['userMetadata']>>((v) => typeof v === 'function', { message: 'must be a function (user) => metadata' }).optional(),
    ...commonOptionsShape,
  })
  .strict()
  .superRefine(checkCommonOptions);

function defaultMetadata(user: WidgetUser): Record<string, string | undefined> {
  return { name: user.name, email: user.email, ...user.metadata };
}

/**
 * Router answering `GET` and `POST /api/hissuno-token` with `{ "token": "<HS256 JWT>" }`
 * for the signed-in user, `401 {"error":"Unauthorized"}` when nobody is.
 *
 * @example
 * ```ts
 * app.use(hissunoTokenRouter({ secretKey: process.env.HISSUNO_SECRET_KEY!, resolveUser: (req) => req.user }));
 * ```
 */
export function hissunoTokenRouter(options: HissunoTokenRouterOptions): Router {
  const config = parseOptions('hissunoTokenRouter', optionsSchema, options);
  const key: KeyObject = hissunoKey(config.secretKey);
  const lifetime = config.expiresIn;
  const metadataFor = config.userMetadata ?? defaultMetadata;
  const issue = ({ user }: RouteContext) => {
    const u = user!;
    if (typeof u.id !== 'string' || u.id.length === 0) {
      throw new WidgetAuthError('INTERNAL_ERROR', 'resolveUser returned a user without a string id');
    }
    let userMetadata: ReturnType<typeof metadataFor>;
    try {
      userMetadata = metadataFor(u);
    } catch (err) {
      throw new WidgetAuthError('INTERNAL_ERROR', 'userMetadata threw', { cause: err });
    }
    try {
      return { token: signWithKey(userMetadata ? { userId: u.id, userMetadata } : { userId: u.id }, key, lifetime) };
    } catch (err) {
      // bad metadata comes from the host's user record, not from the browser
      throw new WidgetAuthError('INTERNAL_ERROR', 'user metadata is not a record of strings', { cause: err });
    }
  };
  return createWidgetRouter(hissunoContract, config, {
    secrets: [config.secretKey],
    routes: [{ path: config.path ?? HISSUNO_TOKEN_PATH, methods: ['GET', 'POST'], requireUser: true, handle: issue }],
  });
}

guardFactory(hissunoTokenRouter, 'hissunoTokenRouter');

/** Environment variables read by {@link hissunoConfigFromEnv}. */
export const HISSUNO_ENV: readonly EnvVariable[] = [{ name: 'HISSUNO_SECRET_KEY', option: 'secretKey', required: true }];

/**
 * Hissuno options from the environment (`HISSUNO_SECRET_KEY`). Throws a
 * {@link WidgetAuthConfigError} naming every missing or invalid variable.
 *
 * @example
 * ```ts
 * app.use(hissunoTokenRouter({ ...hissunoConfigFromEnv(), resolveUser }));
 * ```
 */
export function hissunoConfigFromEnv(env: Record<string, string | undefined> = process.env, options?: WeakSecretOption): { secretKey: string } & WeakSecretOption {
  return optionsFromEnv('hissunoConfigFromEnv', env, HISSUNO_ENV, z.object({ secretKey: hissunoSecretKey }), options);
}
