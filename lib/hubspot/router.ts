import { createHash } from 'node:crypto';
import type { Router } from 'express';
import { z } from 'zod';
import { optionsFromEnv, parseOptions, secretString, vendorBaseUrl, type EnvVariable, type WeakSecretOption } from '../core/config';
import { writesCredentialText, type WidgetCredential } from '../core/credential';
import { WidgetAuthError, isWidgetAuthError, withUpstreamMs } from '../core/errors';
import { isRecord } from '../core/json';
import { guardFactory } from '../core/misuse';
import { checkCommonOptions, commonOptionsShape, resolveUserSchema, type CommonConfig, type CommonRouterOptions } from '../core/pipeline';
import { presetEmail, presetRouter } from '../core/preset';
import { remoteCredential, type RemoteUpstream } from '../core/remote';
import { memoryCredentialStore, scopedCredentialStore, type CredentialStore } from '../core/remote-store';
import type { ResolveUser, WidgetUser } from '../core/types';
import { perUserUpstreamOptionsShape, upstreamOptionsShape, type PerUserUpstreamOptions, type UpstreamOptions } from '../core/upstream';

/** Default route of {@link hubspotVisitorTokenRouter}. */
export const HUBSPOT_VISITOR_TOKEN_PATH = '/api/hubspot-visitor-token';

/** Default `apiBaseUrl` of {@link hubspotVisitorTokenRouter}: HubSpot's API origin. */
export const HUBSPOT_API_BASE_URL = 'https://api.hubapi.com';

/** HubSpot's visitor identification route, appended to `apiBaseUrl`. */
const TOKEN_ROUTE = '/visitor-identification/v3/tokens/create';

/** The scope a private app needs to create visitor identification tokens. */
export const HUBSPOT_VISITOR_TOKEN_SCOPE = 'conversations.visitor_identification.tokens.create';

/** How long HubSpot says a visitor identification token lasts, in seconds (12 hours). */
export const HUBSPOT_VISITOR_TOKEN_LIFETIME = 12 * 3600;

/** Default `cache.refreshBefore`, seconds: a served token has at least an hour left. */
const DEFAULT_REFRESH_BEFORE = 3600;

/** The visitor's names as HubSpot takes them; HubSpot sets them only on a new contact, or one whose name it does not know. */
export interface HubSpotVisitorNames {
  firstName?: string;
  lastName?: string;
}

/** The `cache` option of {@link hubspotVisitorTokenRouter}. */
export interface HubSpotTokenCacheOptions {
  /**
   * Where tokens are kept: {@link memoryCredentialStore} (one process) or
   * {@link redisCredentialStore} (shared by every instance). Defaults to a
   * `memoryCredentialStore()` of this router (10,000 users at most).
   */
  store?: CredentialStore;
  /**
   * Seconds before a token's expiry (12 hours after it was asked for) at which a new one
   * is minted, 0 to 39600 (11 hours). Defaults to `3600`: every token served has at least
   * an hour left.
   */
  refreshBefore?: number;
}

/** What {@link hubspotVisitorTokenRouter} answers: the two fields `window.hsConversationsSettings` takes. */
export interface HubSpotVisitorToken {
  /** The user's email, as the token was made for it. */
  identificationEmail: string;
  /** HubSpot's visitor identification token. */
  identificationToken: string;
}

/** Options of {@link hubspotVisitorTokenRouter}. */
export interface HubSpotVisitorTokenRouterOptions extends CommonRouterOptions, UpstreamOptions, PerUserUpstreamOptions, WeakSecretOption {
  /**
   * The access token of a HubSpot private app with the
   * `conversations.visitor_identification.tokens.create` scope (env `HUBSPOT_ACCESS_TOKEN`,
   * `pat-…`). Sent to HubSpot only, never to the browser or a log.
   */
  accessToken: string;
  /** Maps the request to the signed-in user, whose `email` HubSpot identifies; `null` means 401. The only source of the identity. */
  resolveUser: ResolveUser;
  /**
   * The visitor's first and last names sent with the email: a function of the user, or
   * `false` to send none. Defaults to `user.name` split at its first white space (`"Ada
   * King Lovelace"` → `Ada`, `King Lovelace`; a single word is the first name only).
   */
  names?: false | ((user: WidgetUser) => HubSpotVisitorNames);
  /**
   * `false` (every request asks HubSpot for a token), or `{ store, refreshBefore }`.
   * Defaults to a per-user cache in this process's memory, refreshed an hour before the
   * token's 12 hours run out. Pass `{ store: redisCredentialStore({ … }) }` to share the
   * tokens between instances.
   */
  cache?: false | HubSpotTokenCacheOptions;
  /** HubSpot's API origin: `https:`, or plain `http:` on a loopback host only (tests). Defaults to `https://api.hubapi.com`. */
  apiBaseUrl?: string;
  /** Time source in ms since the epoch, for token expiry (inject one in tests). Defaults to `Date.now`. */
  clock?: () => number;
}

/** A router of {@link hubspotVisitorTokenRouter}, with sign-out. */
export interface HubSpotVisitorTokenRouter extends Router {
  /**
   * Remove the cached token of `user` (a user or its id), so that the next request asks
   * HubSpot for a new one: call it at sign-out. Rejects with a `WidgetAuthError`
   * (`INTERNAL_ERROR`) when the store cannot be reached. Without a cache it resolves at once.
   */
  invalidate(user: WidgetUser | string): Promise<void>;
}

const isFunction = (v: unknown): boolean => typeof v === 'function';

const storeSchema = z.custom<CredentialStore>(
  (v) => typeof v === 'object' && v !== null && ['get', 'set', 'delete'].every((m) => typeof (v as Record<string, unknown>)[m] === 'function'),
  { message: 'must be a credential store: memoryCredentialStore({ … }), redisCredentialStore({ … }), or an object with get, set and delete' },
);

const cacheObject = z
  .object({
    store: storeSchema.optional(),
    refreshBefore: z
      .number({ error: 'must be a whole number of seconds' })
      .int('must be a whole number of seconds')
      .min(0, 'must not be negative')
      .max(HUBSPOT_VISITOR_TOKEN_LIFETIME - 3600, 'must be at most 39600 seconds (11 hours): the token lasts 12 hours')
      .default(DEFAULT_REFRESH_BEFORE),
  })
  .strict();

/** `cache`: omitted (the default cache), `false`, or `{ store?, refreshBefore? }`. */
const cacheSchema = z
  .unknown()
  .optional()
  .transform((value, ctx): false | z.output<typeof cacheObject> | undefined => {
    if (value === false || value === undefined) return value;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      ctx.addIssue({ code: 'custom', message: 'must be false or { store, refreshBefore }' });
      return z.NEVER;
    }
    const parsed = cacheObject.safeParse(value);
    if (parsed.success) return parsed.data;
    for (const issue of parsed.error.issues) ctx.addIssue({ ...issue, path: [...issue.path] } as Parameters<typeof ctx.addIssue>[0]);
    return z.NEVER;
  });

const accessTokenSchema = secretString(16);

const optionsSchema = z
  .object({
    accessToken: accessTokenSchema,
    resolveUser: resolveUserSchema,
    names: z
      .custom<false | ((user: WidgetUser) => HubSpotVisitorNames)>((v) => v === false || isFunction(v), { message: 'must be false or a function (user) => ({ firstName, lastName })' })
      .optional(),
    cache: cacheSchema,
    apiBaseUrl: vendorBaseUrl(TOKEN_ROUTE).default(HUBSPOT_API_BASE_URL),
    clock: z.custom<() => number>(isFunction, { message: 'must be a function returning milliseconds' }).optional(),
    ...upstreamOptionsShape,
    ...perUserUpstreamOptionsShape,
    ...commonOptionsShape,
  })
  .strict()
  .superRefine(checkCommonOptions);

// what HubSpot itself checks of `email`: no white space, one `@` with text on both sides
const EMAIL = /^[^\s@]+@[^\s@]+$/;
const MAX_EMAIL_LENGTH = 254;

/** The user's email as HubSpot gets it: 401 without one; 500 when resolveUser gave something that is not an address. */
function visitorEmail(user: WidgetUser): string {
  const email = presetEmail(user);
  if (email.length > MAX_EMAIL_LENGTH || !EMAIL.test(email)) throw new WidgetAuthError('INTERNAL_ERROR', 'resolveUser returned a user whose email is not an email address');
  return email;
}

/** `user.name` split at its first white space. */
function namesFromName(user: WidgetUser): HubSpotVisitorNames {
  const name = user.name?.trim();
  if (!name) return {};
  const at = name.search(/\s/);
  return at === -1 ? { firstName: name } : { firstName: name.slice(0, at), lastName: name.slice(at).trim() };
}

/** The names to send, checked: strings only, empty ones left out. */
function visitorNames(user: WidgetUser, names: false | ((user: WidgetUser) => HubSpotVisitorNames)): HubSpotVisitorNames {
  if (names === false) return {};
  let given: unknown;
  try {
    given = names(user);
  } catch (err) {
    throw new WidgetAuthError('INTERNAL_ERROR', 'names(user) of hubspotVisitorTokenRouter threw', { cause: err });
  }
  if (given === undefined || given === null) return {};
  if (typeof given !== 'object' || Array.isArray(given)) throw new WidgetAuthError('INTERNAL_ERROR', 'names(user) of hubspotVisitorTokenRouter must return { firstName?, lastName? }');
  const out: HubSpotVisitorNames = {};
  for (const key of ['firstName', 'lastName'] as const) {
    const value = (given as Record<string, unknown>)[key];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'string') throw new WidgetAuthError('INTERNAL_ERROR', `names(user) of hubspotVisitorTokenRouter returned a ${key} that is not a string`);
    const trimmed = value.trim();
    if (trimmed) out[key] = trimmed;
  }
  return out;
}

/** HubSpot's answer, `{ token }` with a non-empty token; anything else is refused (502, nothing of the body quoted). */
function tokenAnswer(body: unknown): { token: string } {
  const token = isRecord(body) ? body['token'] : undefined;
  if (typeof token !== 'string' || token.length === 0) throw new Error('not { token }');
  return { token };
}

const FEATURE_HINT =
  "HubSpot's visitor identification API needs a Professional or Enterprise subscription (Marketing, Sales, Service, Content or Data Hub) on the account the private app belongs to: upgrade the account, or unmount this route and load the chat widget without identification.";
const SCOPE_HINT = `The private app's access token lacks the ${HUBSPOT_VISITOR_TOKEN_SCOPE} scope: add it on the private app's Scopes tab in HubSpot and commit the change.`;

/**
 * HubSpot's 403s, told apart: `MISSING_SCOPES` is this server's token lacking the scope
 * (`UPSTREAM_REJECTED`, with its own hint); any other 403 is the account's plan lacking
 * the feature (`UPSTREAM_FEATURE_UNAVAILABLE`, 503). Anything else passes as it is.
 */
function hubspotError(err: unknown): unknown {
  if (!isWidgetAuthError(err) || err.code !== 'UPSTREAM_REJECTED' || err.upstreamStatus !== 403) return err;
  const details = {
    upstreamStatus: 403,
    cause: err,
    ...(err.vendorCode !== undefined ? { vendorCode: err.vendorCode } : {}),
    ...(err.correlationId !== undefined ? { correlationId: err.correlationId } : {}),
  };
  const shaped =
    err.vendorCode === 'MISSING_SCOPES'
      ? new WidgetAuthError('UPSTREAM_REJECTED', `hubspot refused the access token: it lacks the ${HUBSPOT_VISITOR_TOKEN_SCOPE} scope (HTTP 403).`, { ...details, hint: SCOPE_HINT })
      : new WidgetAuthError('UPSTREAM_FEATURE_UNAVAILABLE', "hubspot refused visitor identification for this account's plan (HTTP 403).", { ...details, hint: FEATURE_HINT });
  // the time the call took, for the request's log event
  const upstreamMs = (err as { upstreamMs?: unknown }).upstreamMs;
  return typeof upstreamMs === 'number' ? withUpstreamMs(shaped, upstreamMs) : shaped;
}

/**
 * Router answering `GET` and `POST /api/hubspot-visitor-token` with
 * `{ identificationEmail, identificationToken }` for the signed-in user: the user's email
 * (trimmed, as `resolveUser` gave it) and the visitor identification token HubSpot made
 * for it (`POST /visitor-identification/v3/tokens/create` with the private app's access
 * token, the email and the names from `names`), what `window.hsConversationsSettings`
 * takes before `window.HubSpotConversations.widget.load()`.
 *
 * Built on {@link remoteCredential}: tokens are cached per user by default (HubSpot's
 * tokens last 12 hours; one is reused until an hour before then, counted from when it was
 * asked for), one HubSpot call per user at a time, a cached token served while HubSpot is
 * down until it expires. `router.invalidate(user)` drops a user's token at sign-out.
 *
 * Nobody signed in, or a user without an email: 401 `UNAUTHORIZED`. HubSpot refusing the
 * access token: 502 `UPSTREAM_REJECTED` (never 401), reported on stderr, naming the
 * missing scope when that is the cause. An account whose plan lacks visitor
 * identification: 503 `UPSTREAM_FEATURE_UNAVAILABLE`, reported on stderr. HubSpot down:
 * 502/503 `UPSTREAM_UNAVAILABLE`; too slow: 504 `UPSTREAM_TIMEOUT`.
 *
 * @example
 * ```ts
 * const hubspot = hubspotVisitorTokenRouter({ ...hubspotConfigFromEnv(), resolveUser });
 * app.use(hubspot);
 * // at sign-out: await hubspot.invalidate(userId);
 * ```
 */
export function hubspotVisitorTokenRouter(options: HubSpotVisitorTokenRouterOptions): HubSpotVisitorTokenRouter {
  const config = parseOptions('hubspotVisitorTokenRouter', optionsSchema, options) as z.output<typeof optionsSchema> & CommonConfig & { resolveUser: ResolveUser };
  const accessToken = config.accessToken;
  const url = `${config.apiBaseUrl}${TOKEN_ROUTE}`;
  const names = config.names ?? namesFromName;
  const clock = config.clock ?? Date.now;
  // the account's tokens only: a store shared with the router of another HubSpot account (another
  // access token or API) never hands that account's token out here. The access token is named by a
  // hash, never by its text (a store of your own sees namespaces as they are)
  const account = JSON.stringify([config.apiBaseUrl, createHash('sha256').update(`express-widget-auth hubspot account\0${accessToken}`, 'utf8').digest('base64url')]);
  const cache =
    config.cache === false
      ? false
      : { store: scopedCredentialStore(config.cache?.store ?? memoryCredentialStore(), account), refreshBefore: config.cache?.refreshBefore ?? DEFAULT_REFRESH_BEFORE };
  // when each token was asked for (HubSpot answers the token only): its expiry is 12 hours later
  const askedAt = new WeakMap<object, number>();

  async function call({ user, upstream }: { user: WidgetUser; upstream: RemoteUpstream }): Promise<HubSpotVisitorToken & Record<string, unknown>> {
    const email = visitorEmail(user);
    const started = clock();
    let answer: { token: string };
    try {
      answer = await upstream({
        url,
        headers: { Authorization: `Bearer ${accessToken}` },
        body: { email, ...visitorNames(user, names) },
        parse: tokenAnswer,
      });
    } catch (err) {
      throw hubspotError(err);
    }
    const token: HubSpotVisitorToken & Record<string, unknown> = { identificationEmail: email, identificationToken: answer.token };
    // only a cached token needs its expiry
    if (cache !== false) askedAt.set(token, started);
    return token;
  }

  const remote = remoteCredential<HubSpotVisitorToken & Record<string, unknown>>({
    vendor: 'hubspot',
    secrets: [accessToken],
    // the token was checked by this router's own schema (and its allowWeakSecrets)
    allowWeakSecrets: true,
    call,
    ...(cache === false ? {} : { expiresAt: (token: HubSpotVisitorToken & Record<string, unknown>) => Math.floor((askedAt.get(token) ?? clock()) / 1000) + HUBSPOT_VISITOR_TOKEN_LIFETIME }),
    cache,
    clock,
    timeoutMs: config.timeoutMs,
    retries: config.retries,
    maxInFlightPerUser: config.maxInFlightPerUser,
    ...(config.fetch !== undefined ? { fetch: config.fetch } : {}),
    ...(config.logger !== undefined ? { logger: config.logger } : {}),
  });

  const credential: WidgetCredential = {
    kind: 'hubspotVisitorToken',
    secrets: remote.secrets,
    relaysVendor: true,
    async issue(user, request) {
      // before the cache: a user who lost their email is not served the token of the old one
      const email = visitorEmail(user);
      const token = await remote.issue(user, request);
      if (token['identificationEmail'] === email) return token;
      // the user's email changed since the cached token was made: mint one for the new email
      await remote.invalidate(user);
      const fresh = await remote.issue(user, request);
      if (fresh['identificationEmail'] !== email) throw new WidgetAuthError('INTERNAL_ERROR', "The cached hubspot token is for the user's previous email and could not be replaced");
      return fresh;
    },
  };

  // it answers remoteCredential's own objects, unchanged: the router sends the text remoteCredential wrote
  writesCredentialText(credential.issue);
  const router = presetRouter('hubspot', HUBSPOT_VISITOR_TOKEN_PATH, config, credential) as HubSpotVisitorTokenRouter;
  Object.defineProperty(router, 'invalidate', { value: (user: WidgetUser | string) => remote.invalidate(user), enumerable: false });
  return router;
}

guardFactory(hubspotVisitorTokenRouter, 'hubspotVisitorTokenRouter');

/** Environment variables read by {@link hubspotConfigFromEnv}. */
export const HUBSPOT_ENV: readonly EnvVariable[] = [{ name: 'HUBSPOT_ACCESS_TOKEN', option: 'accessToken', required: true }];

const envSchema = z.object({ accessToken: accessTokenSchema });

/**
 * HubSpot options from the environment (`HUBSPOT_ACCESS_TOKEN`, a private app's access
 * token). Throws a {@link WidgetAuthConfigError} naming the variable when it is missing
 * or invalid, never with its value.
 *
 * @example
 * ```ts
 * app.use(hubspotVisitorTokenRouter({ ...hubspotConfigFromEnv(), resolveUser }));
 * ```
 */
export function hubspotConfigFromEnv(env: Record<string, string | undefined> = process.env, options?: WeakSecretOption): { accessToken: string } & WeakSecretOption {
  return optionsFromEnv('hubspotConfigFromEnv', env, HUBSPOT_ENV, envSchema, options);
}
