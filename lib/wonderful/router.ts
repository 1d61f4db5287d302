import type { Router } from 'express';
import { z } from 'zod';
import { optionsFromEnv, parseOptions, vendorBaseUrl, type EnvVariable, type WeakSecretOption } from '../core/config';
import { credentialCacheOption, invalidatedUserId, routerCredentialCache, type CredentialCache, type CredentialCacheOptions } from '../core/credential-cache';
import { WidgetAuthError } from '../core/errors';
import { isRecord } from '../core/json';
import { guardFactory } from '../core/misuse';
import { JsonText, checkCommonOptions, commonOptionsShape, createWidgetRouter, resolveUserSchema, type CommonRouterOptions, type RouteContext } from '../core/pipeline';
import { isPromiseLike } from '../core/promise';
import { perUserUpstreamOptionsShape, userKeyOf, type PerUserUpstreamOptions, type UpstreamOptions } from '../core/upstream';
import type { CachedCredential } from '../core/remote-store';
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
  type SignOutcome,
  type SignResponse,
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
  /**
   * `false` (every request signs a new token), or `{ store, refreshBefore }`: each user's
   * token is kept (by user `id`) until `refreshBefore` seconds before it expires, so the
   * user's requests, tabs and devices get the same token from the token route; one call to
   * Wonderful per user at a time (across instances with a shared store); a cached token is
   * served while Wonderful is down until it expires. The refresh route, still answering
   * only for the user's own entity, always gets a token newer than the cached one and
   * caches it. A token cached for another entity than the user's is never served. Call
   * the router's `invalidate(user)` at sign-out. Defaults to `false`.
   */
  cache?: false | CredentialCacheOptions;
}

/** The router {@link wonderfulTokenRouter} returns, with sign-out for its cache. */
export type WonderfulTokenRouter = Router & {
  /**
   * Remove the cached token of `user` (a user or its id): call it at sign-out, or when
   * `metadataFor` would give the user other claims, so that the next request signs a new
   * token. Rejects with a `WidgetAuthError` (`INTERNAL_ERROR`) when the store cannot be
   * reached. Without a cache it resolves at once.
   */
  invalidate(user: WidgetUser | string): Promise<void>;
};

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
    cache: credentialCacheOption,
    ...commonOptionsShape,
  })
  .strict()
  .superRefine((options, ctx) => {
    checkCommonOptions(options, ctx);
    if ((options.path ?? WONDERFUL_TOKEN_PATH) === (options.refreshPath ?? WONDERFUL_REFRESH_PATH)) {
      ctx.addIssue({ code: 'custom', path: ['refreshPath'], message: 'must differ from path' });
    }
  });

/** The three fields the browser gets, in their order. */
const answerOf = (body: WonderfulTokenBody): WonderfulTokenBody => ({ token: body.token, expiresAt: body.expiresAt, id: body.id });

/** The body the browser gets for a signed token. */
const bodyOf = (signed: SignResponse): WonderfulTokenBody => ({ token: signed.jwt, expiresAt: signed.expiresAt, id: signed.id });

/** The answer to a signed token: the text the signer searched, which is this body's JSON, when it searched one. */
const answerText = (signed: SignOutcome): WonderfulTokenBody | JsonText => (signed.sent === undefined ? bodyOf(signed) : new JsonText(signed.sent));

/**
 * The sign request of a user whose token carries `metadataFor`'s claims. Its failure is
 * the host's: metadata comes from the host's user record, not from the browser.
 */
async function requestFor(entityId: string, metadataFor: (user: WidgetUser) => unknown, expiresIn: number, user: WidgetUser): Promise<CheckedSignRequest> {
  try {
    const metadata = await metadataFor(user);
    return metadata === undefined ? { entityId, expiresIn } : checkSignRequest({ id: entityId, expiresIn, metadata });
  } catch (err) {
    throw new WidgetAuthError('INTERNAL_ERROR', 'metadataFor threw or gave metadata the vendor refuses', { cause: err });
  }
}

/** The text of that body: the signer searches it, and the pipeline then writes the same. */
const sentText = (signed: SignResponse): string => JSON.stringify(bodyOf(signed));

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
 * With `cache: { store, refreshBefore }`, a user's token is signed once and served by the
 * token route until `refreshBefore` seconds before it expires; the refresh route signs a
 * newer one (see docs/wonderful.md#caching). The returned router's `invalidate(user)`
 * removes the user's token.
 *
 * @example
 * ```ts
 * app.use(wonderfulTokenRouter({ ...wonderfulConfigFromEnv(), resolveUser: (req) => req.user }));
 * ```
 */
export function wonderfulTokenRouter(options: WonderfulTokenRouterOptions): WonderfulTokenRouter {
  const config = parseOptions('wonderfulTokenRouter', optionsSchema, options);
  const sign = createWonderfulSigner(config, sentText);
  const entityIdFor = config.entityIdFor ?? wonderfulEntityIdFor;
  const metadataFor = config.metadataFor;
  const expiresIn = config.expiresIn;
  const { cache, secrets } = routerCredentialCache(config.cache, {
    vendor: 'wonderful',
    // tokens of one API, tenant and lifetime: routers signing other tokens may share the store
    namespace: JSON.stringify(['wonderful', config.baseUrl, config.tenantId ?? null, expiresIn]),
    secrets: [config.apiKey],
    timeoutMs: config.timeoutMs,
    retries: config.retries,
    logger: config.logger,
  });

  const entityOf = (entityId: unknown): string => {
    if (!isUuid(entityId)) throw new WidgetAuthError('INTERNAL_ERROR', 'entityIdFor did not return a UUID');
    return entityId.toLowerCase();
  };
  const entityIdForThrew = (err: unknown): never => {
    throw new WidgetAuthError('INTERNAL_ERROR', 'entityIdFor threw', { cause: err });
  };
  /** The user's entity id, lower-case; a promise only when `entityIdFor` gives one. */
  const ownEntity = (user: WidgetUser): string | Promise<string> => {
    let entityId: unknown;
    let promised: boolean;
    try {
      entityId = entityIdFor(user);
      promised = isPromiseLike(entityId);
    } catch (err) {
      // entityIdFor itself, or a `then` of its answer that cannot be read
      return entityIdForThrew(err);
    }
    return promised ? Promise.resolve(entityId).then(entityOf, entityIdForThrew) : entityOf(entityId);
  };
  /**
   * Sign a token for the entity. `route` is the request's context for a call of the
   * request's own: its close signal aborts the call, and the signer searches the answer's
   * text with the route's search, which also knows the secrets of the routers mounted
   * beside it and which the pipeline then spares a second search of the same text. None
   * when the call is shared by the user's requests: the signer searches the token for the
   * API key, and the pipeline searches the answer.
   */
  const signFor = (entityId: string, user: WidgetUser, route: RouteContext | undefined, record: (ms: number) => void): Promise<SignOutcome> => {
    const signed = (outcome: SignOutcome) => {
      record(outcome.upstreamMs);
      return outcome;
    };
    // the entity id (a lower-case UUID) and the lifetime passed their checks already
    if (metadataFor === undefined) return sign({ entityId, expiresIn }, { signal: route, userKey: userKeyOf(user) }, route).then(signed);
    return requestFor(entityId, metadataFor, expiresIn, user).then((request) => sign(request, { signal: route, userKey: userKeyOf(user) }, route).then(signed));
  };

  /**
   * The user's token: from the cache when there is one (`renew`: newer than the cached
   * one), never a cached token of another entity than `entityId`, the user's own.
   */
  const issue = (entityId: string, user: WidgetUser, ctx: RouteContext, renew: boolean): Promise<WonderfulTokenBody | JsonText> =>
    cache === undefined ? signFor(entityId, user, ctx, ctx.upstream).then(answerText) : cached(cache, entityId, user, ctx, renew);

  /** {@link issue} with a cache: one token per user, shared by the user's requests. */
  const cached = async (cache: CredentialCache, entityId: string, user: WidgetUser, ctx: RouteContext, renew: boolean): Promise<WonderfulTokenBody> => {
    const mint = async (): Promise<CachedCredential> => {
      const signed = await signFor(entityId, user, undefined, ctx.upstream);
      const body = bodyOf(signed);
      // the sooner of the answer's expiry and the token's own exp
      return { credential: { ...body }, expiresAt: Math.min(body.expiresAt, signed.tokenExp ?? Infinity) };
    };
    // the vendor may write the entity in upper case; entity ids compare without regard to case
    const ours = (entry: Record<string, unknown>) => typeof entry['id'] === 'string' && entry['id'].toLowerCase() === entityId;
    let entry = await cache.issue(user, { mint, renew, context: ctx });
    // a token cached for another entity (entityIdFor changed its answer) is replaced, never served
    if (!ours(entry) && !renew) entry = await cache.issue(user, { mint, renew: true, context: ctx });
    if (!ours(entry)) entry = (await mint()).credential;
    return answerOf(entry as unknown as WonderfulTokenBody);
  };

  const router = createWidgetRouter(wonderfulContract, config, {
    secrets,
    relaysVendor: true,
    routes: [
      {
        path: config.path ?? WONDERFUL_TOKEN_PATH,
        methods: ['POST'],
        requireUser: true,
        handle(ctx) {
          const user = ctx.user!;
          const entityId = ownEntity(user);
          return typeof entityId === 'string' ? issue(entityId, user, ctx, false) : entityId.then((own) => issue(own, user, ctx, false));
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
          // a refresh means the browser's token no longer works: never the cached one again
          return issue(own, user, ctx, true);
        },
      },
    ],
  });
  return Object.assign(router, {
    async invalidate(user: WidgetUser | string): Promise<void> {
      const id = invalidatedUserId(user, 'wonderfulTokenRouter');
      if (cache !== undefined) await cache.invalidate(id);
    },
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
