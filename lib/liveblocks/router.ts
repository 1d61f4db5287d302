import type { Router } from 'express';
import { z } from 'zod';
import { optionsFromEnv, parseOptions, secretString, vendorBaseUrl, type EnvVariable, type WeakSecretOption } from '../core/config';
import { WidgetAuthError, isWidgetAuthError } from '../core/errors';
import { isPlainObject } from '../core/json';
import { unverifiedJwtClaims } from '../core/jwt';
import { guardFactory } from '../core/misuse';
import { checkCommonOptions, commonOptionsShape, resolveUserSchema, type CommonRouterOptions } from '../core/pipeline';
import { isPromiseLike } from '../core/promise';
import { presetRouter, presetUserId } from '../core/preset';
import { remoteCredential, type RemoteUpstream } from '../core/remote';
import type { ResolveUser, WidgetUser } from '../core/types';
import { perUserUpstreamOptionsShape, upstreamOptionsShape, type PerUserUpstreamOptions, type UpstreamOptions } from '../core/upstream';

/** Default route: the `authEndpoint` given to @liveblocks/client's `createClient`. */
export const LIVEBLOCKS_AUTH_PATH = '/api/liveblocks-auth';

/** Liveblocks' REST API. */
export const LIVEBLOCKS_API_URL = 'https://api.liveblocks.io';

/** Longest room id Liveblocks accepts, in characters. */
export const LIVEBLOCKS_MAX_ROOM_ID = 128;

/** Which token the router asks for: an access token (`/v2/authorize-user`) or an ID token (`/v2/identify-user`). */
export type LiveblocksTokenMode = 'access' | 'id';

/**
 * The Liveblocks permission scopes granted on a room (`['room:write']`, `['room:read',
 * 'room:presence:write']`, `['*:write']`), or `null` or `[]` to refuse the room.
 */
export type LiveblocksPermissions = readonly string[] | null;

/** Options of {@link liveblocksAuthRouter}. */
export interface LiveblocksAuthRouterOptions extends CommonRouterOptions, UpstreamOptions, PerUserUpstreamOptions, WeakSecretOption {
  /** Maps the request to the signed-in user; `null` means 401. The only source of the user's identity. */
  resolveUser: ResolveUser;
  /** The project's secret key (env `LIVEBLOCKS_SECRET_KEY`), `sk_…`. Never sent to the browser. */
  secretKey: string;
  /**
   * Liveblocks' API origin (env `LIVEBLOCKS_API_URL`): `https:`, or `http:` on a loopback
   * host (the local dev server, `liveblocks dev`). Defaults to `https://api.liveblocks.io`.
   */
  apiBaseUrl?: string;
  /**
   * `'access'`: access tokens from `POST /v2/authorize-user`, granting the room the
   * browser asks for what `permissions(user, room)` returns. `'id'`: ID tokens from
   * `POST /v2/identify-user`, the user's id and groups, with permissions kept on
   * Liveblocks' side (rooms' `usersAccesses`/`groupsAccesses`). Defaults to `'access'`.
   */
  mode?: LiveblocksTokenMode;
  /**
   * `'access'` mode, required: what `user` may do in `room` (the room id the browser
   * posted, already checked): a list of Liveblocks permission scopes such as
   * `['room:write']`, or `null` / `[]` to refuse (403 `FORBIDDEN`, and no call to
   * Liveblocks). May return a promise. A {@link WidgetAuthError} it throws is answered
   * with its code; any other throw, or any other answer, is 500 `INTERNAL_ERROR`.
   * Refused in `'id'` mode.
   */
  permissions?: (user: WidgetUser, room: string) => LiveblocksPermissions | Promise<LiveblocksPermissions>;
  /**
   * Metadata other users of a room see (`other.info`): a plain object of JSON values, or
   * `undefined` for none, e.g. `(user) => ({ name: user.name })`. Defaults to none.
   */
  userInfo?: (user: WidgetUser) => Record<string, unknown> | undefined;
  /** `'id'` mode only: the user's group ids (strings), or `undefined` for none. Defaults to none. */
  groupIds?: (user: WidgetUser) => readonly string[] | undefined;
  /** The Liveblocks organization the token is for (a string), or `undefined` for the default. Defaults to none. */
  organizationId?: (user: WidgetUser) => string | undefined;
}

/** What a Liveblocks secret key looks like (`@liveblocks/node` checks the prefix and the characters). */
const SECRET_KEY = /^sk_[A-Za-z0-9_-]+$/;
/** A room id as @liveblocks/node's `allow` takes one without a pattern: 1 to 128 characters, no `*`. */
const ROOM_ID = /^[^*]{1,128}$/;
/** A permission scope: `room:write`, `*:read`, `comments:public:write`. */
const SCOPE = /^(?:\*|[a-z]+)(?::[a-z]+)+$/;
/** More scopes than Liveblocks has is the host's bug. */
const MAX_SCOPES = 32;
/** A token as Liveblocks issues it: a JWT (the local dev server's are unsigned: an empty third part). */
const TOKEN = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/** Adds an issue when `secretKey` is not in the form of a Liveblocks secret key (the weak-secret rules apply besides). */
function checkSecretKey(options: { secretKey?: string | undefined }, ctx: z.RefinementCtx): void {
  const key = options.secretKey;
  if (typeof key === 'string' && !SECRET_KEY.test(key)) {
    ctx.addIssue({
      code: 'custom',
      path: ['secretKey'],
      message: 'must be the secret key Liveblocks issued: "sk_" then letters, digits, "_" and "-" (a public key "pk_…" belongs in the browser, not here)',
    });
  }
}

const hook = <F>(message: string) => z.custom<F>((v) => typeof v === 'function', { message }).optional();

const optionsSchema = z
  .object({
    resolveUser: resolveUserSchema,
    secretKey: secretString(8),
    apiBaseUrl: vendorBaseUrl('/v2/authorize-user').default(LIVEBLOCKS_API_URL),
    mode: z.enum(['access', 'id'], { error: "must be 'access' or 'id'" }).default('access'),
    permissions: hook<NonNullable<LiveblocksAuthRouterOptions['permissions']>>('must be a function (user, room) => permission list or null'),
    userInfo: hook<NonNullable<LiveblocksAuthRouterOptions['userInfo']>>('must be a function (user) => object or undefined'),
    groupIds: hook<NonNullable<LiveblocksAuthRouterOptions['groupIds']>>('must be a function (user) => list of group ids or undefined'),
    organizationId: hook<NonNullable<LiveblocksAuthRouterOptions['organizationId']>>('must be a function (user) => organization id or undefined'),
    ...commonOptionsShape,
    ...upstreamOptionsShape,
    ...perUserUpstreamOptionsShape,
  })
  .strict()
  .superRefine((options, ctx) => {
    checkCommonOptions(options, ctx);
    checkSecretKey(options, ctx);
    if (options.mode === 'access' && options.permissions === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['permissions'],
        message: "is required in 'access' mode: a function (user, room) => permission list (e.g. ['room:write']) or null to refuse (there is no default that lets everyone in)",
      });
    }
    if (options.mode === 'id' && options.permissions !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['permissions'], message: "is for 'access' mode: ID tokens carry no permissions (set them on the rooms through Liveblocks' API)" });
    }
    if (options.mode === 'access' && options.groupIds !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['groupIds'], message: "is for 'id' mode: access tokens carry no groups" });
    }
  });

type Config = z.output<typeof optionsSchema>;

/** The `room` of the body: `undefined` when absent, else checked; 400 when malformed. */
function roomOf(body: unknown): string | undefined {
  const room = typeof body === 'object' && body !== null && Object.hasOwn(body, 'room') ? (body as Record<string, unknown>)['room'] : undefined;
  if (room === undefined) return undefined;
  if (typeof room !== 'string' || !ROOM_ID.test(room)) {
    throw new WidgetAuthError('INVALID_REQUEST', `Request body has a malformed room: a room id of 1 to ${LIVEBLOCKS_MAX_ROOM_ID} characters without "*".`);
  }
  return room;
}


const PERMISSIONS_HOOK = 'permissions(user, room)';

/** What a host hook's throw is answered with: its own `WidgetAuthError` as it is, anything else 500 naming the hook. */
function hookFailed(name: string, err: unknown): unknown {
  if (isWidgetAuthError(err)) return err;
  return new WidgetAuthError('INTERNAL_ERROR', `${name} of liveblocksAuthRouter threw`, { cause: err });
}

/** Run a synchronous host hook, as {@link hookFailed} answers its failure. */
function callHook<T>(name: string, run: () => T): T {
  try {
    return run();
  } catch (err) {
    throw hookFailed(name, err);
  }
}

/** Whether every entry is a scope: read by index, so a hole (`['room:write', , 'room:read']`) is no scope. */
function isScopeList(list: readonly unknown[]): boolean {
  for (let i = 0; i < list.length; i++) {
    const scope = list[i];
    if (typeof scope !== 'string' || !SCOPE.test(scope)) return false;
  }
  return true;
}

/** The permission list `permissions(user, room)` gave, checked, without repeats; `undefined` for a refusal. */
function checkedScopes(value: unknown): string[] | undefined {
  if (value === null || (Array.isArray(value) && value.length === 0)) return undefined;
  if (!Array.isArray(value) || value.length > MAX_SCOPES || !isScopeList(value)) {
    throw new WidgetAuthError(
      'INTERNAL_ERROR',
      `permissions(user, room) of liveblocksAuthRouter returned ${Array.isArray(value) ? 'a list that is not of Liveblocks scopes' : value === undefined ? 'undefined' : `a value of type ${typeof value}`}; it must return a list of scopes such as ['room:write'], or null or [] to refuse`,
    );
  }
  // a handful of scopes: without repeats by indexOf, no Set
  return (value as string[]).filter((scope, i) => value.indexOf(scope) === i);
}

/** The optional identity fields of the vendor's body, from the host's hooks. */
function identityFields(config: Config, user: WidgetUser): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (config.userInfo !== undefined) {
    const hook = config.userInfo;
    const info = callHook('userInfo(user)', () => hook(user));
    if (info !== undefined) {
      let json: string | undefined;
      try {
        json = isPlainObject(info) ? JSON.stringify(info) : undefined;
      } catch {
        json = undefined;
      }
      if (json === undefined) throw new WidgetAuthError('INTERNAL_ERROR', 'userInfo(user) of liveblocksAuthRouter must return a plain object of JSON values, or undefined');
      out['userInfo'] = JSON.parse(json) as unknown;
    }
  }
  if (config.groupIds !== undefined) {
    const hook = config.groupIds;
    const groups: unknown = callHook('groupIds(user)', () => hook(user));
    if (groups !== undefined) {
      if (!Array.isArray(groups) || !groups.every((g) => typeof g === 'string' && g.length > 0)) {
        throw new WidgetAuthError('INTERNAL_ERROR', 'groupIds(user) of liveblocksAuthRouter must return a list of non-empty strings, or undefined');
      }
      out['groupIds'] = [...groups];
    }
  }
  if (config.organizationId !== undefined) {
    const hook = config.organizationId;
    const organization: unknown = callHook('organizationId(user)', () => hook(user));
    if (organization !== undefined) {
      if (typeof organization !== 'string' || organization.length === 0) throw new WidgetAuthError('INTERNAL_ERROR', 'organizationId(user) of liveblocksAuthRouter must return a non-empty string, or undefined');
      out['organizationId'] = organization;
    }
  }
  return out;
}

/** What the router asked Liveblocks for: an access token for one room and its scopes, or an ID token with its groups (none when `groupIds` gave none). */
type AskedToken = { kind: 'acc'; userId: string; room: string; scopes: readonly string[] } | { kind: 'id'; userId: string; groupIds: readonly string[] };

/** The words end the logged error: "liveblocks answered 200 with a token of another kind or user." */
const refused = (what: string): WidgetAuthError => new WidgetAuthError('UPSTREAM_INVALID_RESPONSE', what);

/**
 * Liveblocks' `{ token }`, checked against what was asked: a JWT whose claims (read as
 * @liveblocks/client reads them, unverified) are of the kind asked for and for the user
 * asked for; an access token grants the one room asked for and no scope beyond those asked
 * for, an ID token names no group beyond those asked for. @liveblocks/client keeps an
 * access token and uses it for every room its `perms` match, so a token for another user,
 * for a pattern or for more rooms, from a wrong `apiBaseUrl` or a proxy answering with a
 * stored token, must not reach it. Anything else is 502 `UPSTREAM_INVALID_RESPONSE`.
 */
function checkedToken(body: unknown, asked: AskedToken): { token: string } {
  const token = isPlainObject(body) ? body['token'] : undefined;
  if (typeof token !== 'string' || !TOKEN.test(token)) throw refused('not a Liveblocks token');
  const claims = unverifiedJwtClaims(token);
  if (claims === undefined || claims['k'] !== asked.kind || claims['uid'] !== asked.userId) throw refused('a token of another kind or user');
  const perms = claims['perms'];
  if (asked.kind === 'id') {
    if (perms !== undefined) throw refused('an ID token with permissions');
    // groups decide what an ID token may do: none beyond those groupIds gave
    if (claims['gids'] !== undefined && !onlyFrom(claims['gids'], asked.groupIds)) throw refused('an ID token with groups not asked for');
  } else {
    const rooms = isPlainObject(perms) ? Object.keys(perms) : [];
    if (rooms.length !== 1 || rooms[0] !== asked.room || !onlyFrom((perms as Record<string, unknown>)[asked.room], asked.scopes)) throw refused('an access token for other rooms or scopes');
  }
  return { token };
}

/** Whether `value` is a list of strings, each of `allowed`. */
function onlyFrom(value: unknown, allowed: readonly string[]): boolean {
  return Array.isArray(value) && value.every((v) => typeof v === 'string' && allowed.includes(v));
}

/**
 * Router for Liveblocks: `POST /api/liveblocks-auth`, the `authEndpoint` of
 * @liveblocks/client's `createClient`, which posts `{ room }` and expects `{ token }`.
 *
 * - `mode: 'access'` (the default): the room is checked (a room id of 1 to 128
 *   characters, no `*`: a pattern would grant more than one room), `permissions(user,
 *   room)` decides, and Liveblocks' `POST /v2/authorize-user` mints an access token for
 *   that one room with those scopes. `null` or `[]` answers 403 `FORBIDDEN` without
 *   calling Liveblocks; a missing or malformed room 400 `INVALID_REQUEST`.
 * - `mode: 'id'`: Liveblocks' `POST /v2/identify-user` mints an ID token for the user (and
 *   `groupIds`); what the user may do is set on the rooms, on Liveblocks' side.
 *
 * The user's id, `userInfo`, `groupIds` and `organizationId` come from `resolveUser` and
 * the hooks, never from the body. The call goes through the package's upstream client
 * (`remoteCredential`): a timeout per attempt, one retry, the secret key redacted; the
 * key refused by Liveblocks answers 502 `UPSTREAM_REJECTED` (never 401). Tokens are not
 * cached: each is for one room and its permissions, and the client refuses a token it
 * has seen before.
 *
 * @example
 * ```ts
 * app.use(liveblocksAuthRouter({ ...liveblocksConfigFromEnv(), resolveUser, permissions: (user, room) => (room.startsWith(`${user.id}:`) ? ['room:write'] : null) }));
 * ```
 */
export function liveblocksAuthRouter(options: LiveblocksAuthRouterOptions): Router {
  const config = parseOptions('liveblocksAuthRouter', optionsSchema, options);
  const secretKey = config.secretKey;
  const access = config.mode === 'access';
  const url = `${config.apiBaseUrl}${access ? '/v2/authorize-user' : '/v2/identify-user'}`;
  const permissionsOf = config.permissions;
  const authorization = `Bearer ${secretKey}`;
  // most routers set none of the identity hooks: their requests skip the empty object
  const identityHooks = config.userInfo !== undefined || config.groupIds !== undefined || config.organizationId !== undefined;

  const headers = { Authorization: authorization };

  /** Ask Liveblocks for a token: `asked` is what its answer is checked against. */
  const ask = (upstream: RemoteUpstream, request: Record<string, unknown>, asked: AskedToken): Promise<{ token: string }> =>
    upstream({ url, headers, body: request, parse: (answer) => checkedToken(answer, asked) });

  /** An access token to `room` with the scopes `permissions` gave; a refusal is 403, and no call. */
  const grant = (upstream: RemoteUpstream, user: WidgetUser, userId: string, room: string, given: unknown): Promise<{ token: string }> => {
    const scopes = checkedScopes(given);
    if (scopes === undefined) throw new WidgetAuthError('FORBIDDEN', 'You may not enter this room.');
    const request = identityHooks ? { userId, permissions: { [room]: scopes }, ...identityFields(config, user) } : { userId, permissions: { [room]: scopes } };
    return ask(upstream, request, { kind: 'acc', userId, room, scopes });
  };

  const credential = remoteCredential<{ token: string }>({
    vendor: 'liveblocks',
    secrets: [secretKey],
    // checked above, with this router's own opt-out
    allowWeakSecrets: true,
    timeoutMs: config.timeoutMs,
    retries: config.retries,
    maxInFlightPerUser: config.maxInFlightPerUser,
    ...(config.fetch !== undefined ? { fetch: config.fetch } : {}),
    // not an async function: the vendor call's own promise is the answer (a throw is a
    // refusal all the same), without a promise and three turns more to adopt it
    call: ({ user, body, upstream }) => {
      const room = roomOf(body);
      const userId = presetUserId(user, 'Liveblocks');
      if (!access) {
        const request: Record<string, unknown> = identityHooks ? { userId, ...identityFields(config, user) } : { userId };
        return ask(upstream, request, { kind: 'id', userId, groupIds: (request['groupIds'] as string[] | undefined) ?? [] });
      }
      if (room === undefined) throw new WidgetAuthError('INVALID_REQUEST', 'Request body must have a room.');
      // awaited only when the hook gives a promise (a `then` that cannot be read is the hook's failure)
      let given: LiveblocksPermissions | Promise<LiveblocksPermissions>;
      let promised: boolean;
      try {
        given = permissionsOf!(user, room);
        promised = isPromiseLike(given);
      } catch (err) {
        throw hookFailed(PERMISSIONS_HOOK, err);
      }
      if (!promised) return grant(upstream, user, userId, room, given);
      // its rejection is the hook's failure; what `grant` throws is its own
      return Promise.resolve(given).then(
        (scopes) => grant(upstream, user, userId, room, scopes),
        (err: unknown) => {
          throw hookFailed(PERMISSIONS_HOOK, err);
        },
      );
    },
  });

  return presetRouter('liveblocks', LIVEBLOCKS_AUTH_PATH, config, credential, ['POST']);
}

guardFactory(liveblocksAuthRouter, 'liveblocksAuthRouter');

/** Environment variables read by {@link liveblocksConfigFromEnv}. */
export const LIVEBLOCKS_ENV: readonly EnvVariable[] = [
  { name: 'LIVEBLOCKS_SECRET_KEY', option: 'secretKey', required: true },
  { name: 'LIVEBLOCKS_API_URL', option: 'apiBaseUrl', required: false },
];

/**
 * Liveblocks options from the environment (`LIVEBLOCKS_SECRET_KEY`, optional
 * `LIVEBLOCKS_API_URL`). Throws a {@link WidgetAuthConfigError} naming every missing or
 * invalid variable, never its value.
 *
 * @example
 * ```ts
 * app.use(liveblocksAuthRouter({ ...liveblocksConfigFromEnv(), resolveUser, permissions: () => ['room:read'] }));
 * ```
 */
export function liveblocksConfigFromEnv(env: Record<string, string | undefined> = process.env, options?: WeakSecretOption): { secretKey: string; apiBaseUrl?: string } & WeakSecretOption {
  return optionsFromEnv('liveblocksConfigFromEnv', env, LIVEBLOCKS_ENV, z.object({ secretKey: secretString(8), apiBaseUrl: vendorBaseUrl('/v2/authorize-user').optional() }).superRefine(checkSecretKey), options);
}
