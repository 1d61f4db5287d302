import type { Router } from 'express';
import { z } from 'zod';
import { optionsFromEnv, parseOptions, vendorBaseUrl, type EnvVariable, type WeakSecretOption } from '../core/config';
import { WidgetAuthError } from '../core/errors';
import { guardFactory } from '../core/misuse';
import { checkCommonOptions, commonOptionsShape, createWidgetRouter, resolveUserSchema, type CommonRouterOptions, type RouteContext } from '../core/pipeline';
import { perUserUpstreamOptionsShape, userKeyOf, type PerUserUpstreamOptions, type UpstreamOptions } from '../core/upstream';
import type { ResolveUser, WidgetUser } from '../core/types';
import {
  WONDERFUL_DEFAULT_EXPIRES_IN,
  WONDERFUL_SIGN_PATH,
  checkSignRequest,
  createWonderfulSigner,
  wonderfulApiKey,
  wonderfulClientShape,
  wonderfulExpiresIn,
  wonderfulTenantId,
  type CheckedSignRequest,
} from './client';
import { wonderfulContract } from './contract';
import { isUuid, wonderfulEntityIdFor } from './entity';

/** Default route of {@link wonderfulTokenRouter} that issues a token. */
export const WONDERFUL_TOKEN_PATH = '/api/sdk-token';
/** Default route of {@link wonderfulTokenRouter} that refreshes a token. */
export const WONDERFUL_REFRESH_PATH = '/api/refresh-sdk-token';

/** What both routes answer: the vendor's token for the signed-in user's entity. */
export interface WonderfulTokenBody {
  /** The signed JWT, for the browser SDK's `signedToken`. */
  token: string;
  /** Expiry in Unix seconds. */
  expiresAt: number;
  /** The user's entity id (the token's `sub`), to pass back when refreshing. */
  id: string;
}

/** Options of {@link wonderfulTokenRouter}. */
export interface WonderfulTokenRouterOptions extends CommonRouterOptions, UpstreamOptions, PerUserUpstreamOptions, WeakSecretOption {
  /** Wonderful API base URL (env `WONDERFUL_API_URL`), `https:` (plain `http:` on loopback only). */
  baseUrl: string;
  /** Server-side API key (env `WONDERFUL_API_KEY`), at least 16 characters. */
  apiKey: string;
  /** Maps the request to the signed-in user; `null` means 401. */
  resolveUser: ResolveUser;
  /** Tenant sent as `X-Tenant-ID` (env `WONDERFUL_TENANT_ID`). Defaults to none. */
  tenantId?: string;
  /**
   * The Wonderful entity id (a UUID) of a user; must give the same id for the same user
   * every time and different ids to different users. Defaults to
   * {@link wonderfulEntityIdFor}: a v5 UUID derived from the user's `id`, also when the
   * id is a UUID.
   */
  entityIdFor?: (user: WidgetUser) => string | Promise<string>;
  /** Token lifetime in whole seconds, 60 to 86400. Defaults to 3600. */
  expiresIn?: number;
  /** Custom claims for a user's token (a plain JSON object, at most 4 KiB). Defaults to none. */
  metadataFor?: (user: WidgetUser) => Record<string, unknown> | undefined | Promise<Record<string, unknown> | undefined>;
  /** Path of the refresh route. Defaults to `/api/refresh-sdk-token`. */
  refreshPath?: string;
}

const hook = (shape: string) => z.custom<(user: WidgetUser) => unknown>((v) => typeof v === 'function', { message: `must be a function ${shape}` });

const optionsSchema = z
  .object({
    ...wonderfulClientShape,
    ...perUserUpstreamOptionsShape,
    resolveUser: resolveUserSchema,
    entityIdFor: hook('(user) => UUID').optional(),
    expiresIn: wonderfulExpiresIn.default(WONDERFUL_DEFAULT_EXPIRES_IN),
    metadataFor: hook('(user) => metadata').optional(),
    refreshPath: commonOptionsShape.path,
    ...commonOptionsShape,
  })
  .strict()
  .superRefine((options, ctx) => {
    checkCommonOptions(options, ctx);
    if ((options.path ?? WONDERFUL_TOKEN_PATH) === (options.refreshPath ?? WONDERFUL_REFRESH_PATH)) {
      ctx.addIssue({ code: 'custom', path: ['refreshPath'], message: 'must differ from path' });
    }
  });

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Router serving the Wonderful contact-center SDK's token endpoints:
 *
 * - `POST /api/sdk-token` → `{ token, expiresAt, id }` for the signed-in user's entity;
 * - `POST /api/refresh-sdk-token` with `{ "entityId": "<uuid>" }` → a new token, only
 *   when `entityId` is the signed-in user's own entity (403 `FORBIDDEN` otherwise), so a
 *   browser can never obtain a token for anyone else.
 *
 * Nobody signed in: 401 `UNAUTHORIZED`; a missing or malformed `entityId`: 400
 * `VALIDATION_ERROR`; vendor failures: 502/504 (`UPSTREAM_REJECTED`, `NETWORK_ERROR`,
 * `UPSTREAM_INVALID_RESPONSE`), all as `{"error":{"code","message"}}`.
 *
 * One vendor client serves both routes: at most 16 calls to Wonderful in flight, at most
 * `maxInFlightPerUser` (4) of them for one user, and a request whose browser hangs up
 * while its call waits for a connection never reaches Wonderful.
 *
 * @example
 * ```ts
 * app.use(wonderfulTokenRouter({ ...wonderfulConfigFromEnv(), resolveUser: (req) => req.user }));
 * ```
 */
export function wonderfulTokenRouter(options: WonderfulTokenRouterOptions): Router {
  const config = parseOptions('wonderfulTokenRouter', optionsSchema, options);
  const sign = createWonderfulSigner(config);
  const entityIdFor = config.entityIdFor ?? wonderfulEntityIdFor;
  const metadataFor = config.metadataFor;
  const expiresIn = config.expiresIn;

  const ownEntity = async (user: WidgetUser): Promise<string> => {
    let entityId: unknown;
    try {
      entityId = await entityIdFor(user);
    } catch (err) {
      throw new WidgetAuthError('INTERNAL_ERROR', 'entityIdFor threw', { cause: err });
    }
    if (!isUuid(entityId)) throw new WidgetAuthError('INTERNAL_ERROR', 'entityIdFor did not return a UUID');
    return entityId.toLowerCase();
  };

  const issue = async (entityId: string, user: WidgetUser, ctx: RouteContext): Promise<WonderfulTokenBody> => {
    let request: CheckedSignRequest;
    try {
      const metadata = metadataFor ? await metadataFor(user) : undefined;
      request = checkSignRequest(metadata === undefined ? { id: entityId, expiresIn } : { id: entityId, expiresIn, metadata });
    } catch (err) {
      // metadata comes from the host's user record, not from the browser
      throw new WidgetAuthError('INTERNAL_ERROR', 'metadataFor threw or gave metadata the vendor refuses', { cause: err });
    }
    const signed = await sign(request, { signal: ctx, userKey: userKeyOf(user) });
    ctx.upstream(signed.upstreamMs);
    return { token: signed.jwt, expiresAt: signed.expiresAt, id: signed.id };
  };

  return createWidgetRouter(wonderfulContract, config, {
    secrets: [config.apiKey],
    relaysVendor: true,
    routes: [
      {
        path: config.path ?? WONDERFUL_TOKEN_PATH,
        methods: ['POST'],
        requireUser: true,
        async handle(ctx) {
          const user = ctx.user!;
          return issue(await ownEntity(user), user, ctx);
        },
      },
      {
        path: config.refreshPath ?? WONDERFUL_REFRESH_PATH,
        methods: ['POST'],
        requireUser: true,
        async handle(ctx) {
          const user = ctx.user!;
          const requested = isRecord(ctx.body) ? ctx.body['entityId'] : undefined;
          if (requested === undefined || requested === null || requested === '') {
            throw new WidgetAuthError('VALIDATION_ERROR', 'entityId is required.', { field: 'entityId' });
          }
          if (!isUuid(requested)) throw new WidgetAuthError('VALIDATION_ERROR', 'entityId must be a UUID.', { field: 'entityId' });
          const own = await ownEntity(user);
          if (requested.toLowerCase() !== own) {
            throw new WidgetAuthError('FORBIDDEN', "entityId is not the signed-in user's entity.", { field: 'entityId' });
          }
          return issue(own, user, ctx);
        },
      },
    ],
  });
}

guardFactory(wonderfulTokenRouter, 'wonderfulTokenRouter');

/** Environment variables read by {@link wonderfulConfigFromEnv}. */
export const WONDERFUL_ENV: readonly EnvVariable[] = [
  { name: 'WONDERFUL_API_URL', option: 'baseUrl', required: true },
  { name: 'WONDERFUL_API_KEY', option: 'apiKey', required: true },
  { name: 'WONDERFUL_TENANT_ID', option: 'tenantId', required: false },
];

/** Options read from the environment by {@link wonderfulConfigFromEnv}. */
export interface WonderfulEnvConfig extends WeakSecretOption {
  baseUrl: string;
  apiKey: string;
  tenantId?: string;
}

const envSchema = z.object({ baseUrl: vendorBaseUrl(WONDERFUL_SIGN_PATH), apiKey: wonderfulApiKey, tenantId: wonderfulTenantId.optional() });

/**
 * Wonderful options from the environment: `WONDERFUL_API_URL`, `WONDERFUL_API_KEY` and
 * optionally `WONDERFUL_TENANT_ID`. Throws a {@link WidgetAuthConfigError} naming every
 * missing or invalid variable at once (never a value).
 *
 * @example
 * ```ts
 * app.use(wonderfulTokenRouter({ ...wonderfulConfigFromEnv(), resolveUser: (req) => req.user }));
 * ```
 */
export function wonderfulConfigFromEnv(env: Record<string, string | undefined> = process.env, options?: WeakSecretOption): WonderfulEnvConfig {
  const { baseUrl, apiKey, tenantId, allowWeakSecrets } = optionsFromEnv('wonderfulConfigFromEnv', env, WONDERFUL_ENV, envSchema, options);
  return { baseUrl, apiKey, ...(tenantId === undefined ? {} : { tenantId }), ...(allowWeakSecrets ? { allowWeakSecrets } : {}) };
}
