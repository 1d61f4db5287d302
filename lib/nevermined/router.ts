import { createHash } from 'node:crypto';
import type { Router } from 'express';
import { z } from 'zod';
import { optionsFromEnv, parseOptions, requiredString, vendorBaseUrl, type EnvVariable, type WeakSecretOption } from '../core/config';
import { credentialCacheOption, invalidatedUserId, routerCredentialCache, type CredentialCacheOptions } from '../core/credential-cache';
import { WidgetAuthError } from '../core/errors';
import { guardFactory } from '../core/misuse';
import { checkCommonOptions, commonOptionsShape, createWidgetRouter, resolveUserSchema, type CommonRouterOptions, type RouteContext } from '../core/pipeline';
import type { CachedCredential } from '../core/remote-store';
import type { ResolveUser, WidgetUser } from '../core/types';
import { trimmedUserEmail } from '../core/user';
import { createUpstreamClient, perUserUpstreamOptionsShape, upstreamOptionsShape, userKeyOf, type PerUserUpstreamOptions, type UpstreamOptions } from '../core/upstream';
import { neverminedContract } from './contract';
import { NEVERMINED_SESSION_API_PATH, mintWidgetSession, neverminedSecret, normaliseEmail, sessionTarget, type WidgetSession } from './session';

/** Default route of {@link neverminedSessionRouter}. */
export const NEVERMINED_SESSION_PATH = '/api/widget-session';

/** The Nevermined settings read from the environment by {@link neverminedConfigFromEnv}. */
export interface NeverminedConfig extends WeakSecretOption {
  /** Organization id (env `NVM_ORG_ID`). */
  orgId: string;
  /** Widget key secret (env `NVM_WIDGET_KEY_SECRET`). */
  rawSecret: string;
  /** API base URL without a trailing slash (env `NVM_API_BASE_URL`). */
  apiBaseUrl: string;
}

/** Options of {@link neverminedSessionRouter}. */
export interface NeverminedSessionRouterOptions extends CommonRouterOptions, UpstreamOptions, PerUserUpstreamOptions, WeakSecretOption {
  /** Your Nevermined organization id (env `NVM_ORG_ID`). */
  orgId: string;
  /** The widget key secret (`wk_…`, env `NVM_WIDGET_KEY_SECRET`), at least 12 characters. Never sent to the browser or logged. */
  rawSecret: string;
  /**
   * Nevermined API base URL (env `NVM_API_BASE_URL`), e.g. `https://api.sandbox.nevermined.app`.
   * `https:` only, except plain `http:` on loopback hosts.
   */
  apiBaseUrl: string;
  /** Maps the request to the signed-in user, whose `email` is the Nevermined identity; `null` means 401. */
  resolveUser: ResolveUser;
  /**
   * `false` (every request asks Nevermined for a new session), or `{ store, refreshBefore }`:
   * each user's session is kept (by user `id`) until `refreshBefore` seconds before its
   * `expiresAt`, so the user's requests, tabs and devices get the same session; one call
   * to Nevermined per user at a time (across instances with a shared store); a cached
   * session is served while Nevermined is down until it expires. A session cached for
   * another email than the user's is never served. Call the router's `invalidate(user)` at
   * sign-out. Defaults to `false`.
   */
  cache?: false | CredentialCacheOptions;
}

/** The router {@link neverminedSessionRouter} returns, with sign-out for its cache. */
export type NeverminedSessionRouter = Router & {
  /**
   * Remove the cached session of `user` (a user or its id): call it at sign-out, so that
   * the next request gets a new session. Rejects with a `WidgetAuthError`
   * (`INTERNAL_ERROR`) when the store cannot be reached. Without a cache it resolves at once.
   */
  invalidate(user: WidgetUser | string): Promise<void>;
};

const optionsSchema = z
  .object({
    orgId: requiredString(),
    rawSecret: neverminedSecret,
    apiBaseUrl: vendorBaseUrl(NEVERMINED_SESSION_API_PATH),
    resolveUser: resolveUserSchema,
    cache: credentialCacheOption,
    ...upstreamOptionsShape,
    ...perUserUpstreamOptionsShape,
    ...commonOptionsShape,
  })
  .strict()
  .superRefine(checkCommonOptions);

/**
 * Router answering `GET` and `POST /api/widget-session` with a fresh Nevermined
 * `WidgetSession` for the signed-in user, as Nevermined sent it (a session holding the
 * widget key secret answers 502 `UPSTREAM_INVALID_RESPONSE` instead). The user's
 * `email` is required: without a user or an email the answer is 401 `UNAUTHORIZED`. Vendor
 * failures answer 502 `UPSTREAM_REJECTED` / `UPSTREAM_UNAVAILABLE` /
 * `UPSTREAM_INVALID_RESPONSE` or 504 `UPSTREAM_TIMEOUT`, with the vendor's correlation id
 * when it has the form of an id.
 *
 * Options are validated once, here; one vendor client is built and its keep-alive
 * connections are shared by every request, at most `maxInFlightPerUser` (4) calls of one
 * user at a time. A request whose browser hangs up while its call waits for a connection
 * never reaches Nevermined.
 *
 * With `cache: { store, refreshBefore }`, a user's session is minted once and served to
 * each of the user's requests until `refreshBefore` seconds before its `expiresAt` (see
 * docs/nevermined.md#caching); the returned router's `invalidate(user)` removes it.
 *
 * @example
 * ```ts
 * app.use(neverminedSessionRouter({ ...neverminedConfigFromEnv(), resolveUser: (req) => req.user }));
 * ```
 */
export function neverminedSessionRouter(options: NeverminedSessionRouterOptions): NeverminedSessionRouter {
  const config = parseOptions('neverminedSessionRouter', optionsSchema, options);
  const target = sessionTarget(config);
  const client = createUpstreamClient('nevermined', { timeoutMs: config.timeoutMs, retries: config.retries, fetch: config.fetch, maxInFlightPerUser: config.maxInFlightPerUser });
  const { cache, secrets } = routerCredentialCache(config.cache, {
    vendor: 'nevermined',
    // sessions of one organization on one API: routers of other organizations may share the store
    namespace: JSON.stringify(['nevermined', config.apiBaseUrl, config.orgId]),
    secrets: [config.rawSecret],
    timeoutMs: config.timeoutMs,
    retries: config.retries,
    logger: config.logger,
  });

  /** The user's session from the cache: minted at most once per user at a time, never one of another email. */
  const cachedSession = async (user: WidgetUser, email: string, ctx: RouteContext): Promise<WidgetSession> => {
    const record = (ms: number) => ctx.upstream(ms);
    const emailKey = createHash('sha256').update(email, 'utf8').digest('base64url');
    const mint = async (): Promise<CachedCredential> => {
      // shared by every request of the user: the browser that asked first cannot cancel it
      const { session, upstreamMs } = await mintWidgetSession(client, target, email, { userKey: userKeyOf(user) });
      record(upstreamMs);
      return { credential: { session, emailKey }, expiresAt: Date.parse(session.expiresAt) / 1000 };
    };
    let entry = await cache!.issue(user, { mint, context: ctx });
    // the user's email changed since the session was cached: a session of the new address replaces it
    if (entry['emailKey'] !== emailKey) entry = await cache!.issue(user, { mint, renew: true, context: ctx });
    if (entry['emailKey'] !== emailKey) entry = (await mint()).credential;
    return entry['session'] as WidgetSession;
  };

  const router = createWidgetRouter(neverminedContract, config, {
    secrets,
    relaysVendor: true,
    routes: [
      {
        path: config.path ?? NEVERMINED_SESSION_PATH,
        methods: ['GET', 'POST'],
        requireUser: true,
        async handle(ctx) {
          const user = ctx.user!;
          const raw = trimmedUserEmail(user.email);
          if (raw === undefined) {
            throw new WidgetAuthError('UNAUTHORIZED', 'Sign in with an account that has an email address to use this widget.');
          }
          let email: string;
          try {
            email = normaliseEmail(raw);
          } catch (err) {
            // the address comes from the host's user record, not from the browser
            throw new WidgetAuthError('INTERNAL_ERROR', 'resolveUser returned a user whose email is not an email address', { cause: err });
          }
          if (cache !== undefined) return cachedSession(user, email, ctx);
          const { session, upstreamMs } = await mintWidgetSession(client, target, email, { signal: ctx, userKey: userKeyOf(user) }, (text) => ctx.holdsSecret(text));
          ctx.upstream(upstreamMs);
          return session;
        },
      },
    ],
  });
  return Object.assign(router, {
    async invalidate(user: WidgetUser | string): Promise<void> {
      const id = invalidatedUserId(user, 'neverminedSessionRouter');
      if (cache !== undefined) await cache.invalidate(id);
    },
  });
}

guardFactory(neverminedSessionRouter, 'neverminedSessionRouter');

/** Environment variables read by {@link neverminedConfigFromEnv}. */
export const NEVERMINED_ENV: readonly EnvVariable[] = [
  { name: 'NVM_ORG_ID', option: 'orgId', required: true },
  { name: 'NVM_WIDGET_KEY_SECRET', option: 'rawSecret', required: true },
  { name: 'NVM_API_BASE_URL', option: 'apiBaseUrl', required: true },
];

const envSchema = z.object({ orgId: requiredString(), rawSecret: neverminedSecret, apiBaseUrl: vendorBaseUrl(NEVERMINED_SESSION_API_PATH) });

/**
 * Nevermined options from the environment (`NVM_ORG_ID`, `NVM_WIDGET_KEY_SECRET`,
 * `NVM_API_BASE_URL`). Throws one `WidgetAuthConfigError` naming every missing or
 * invalid variable, never with its value.
 *
 * @example
 * ```ts
 * app.use(neverminedSessionRouter({ ...neverminedConfigFromEnv(), resolveUser }));
 * ```
 */
export function neverminedConfigFromEnv(env: Record<string, string | undefined> = process.env, options?: WeakSecretOption): NeverminedConfig {
  return optionsFromEnv('neverminedConfigFromEnv', env, NEVERMINED_ENV, envSchema, options);
}
