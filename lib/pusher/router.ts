import { createHash } from 'node:crypto';
import type { Router } from 'express';
import { z } from 'zod';
import { optionsFromEnv, parseOptions, secretString, type EnvVariable, type WeakSecretOption } from '../core/config';
import { jsonErrorContract } from '../core/contract';
import { CREDENTIAL_MIN_SECRET_LENGTH, hmacCredential, type CredentialRequest } from '../core/credential';
import { WidgetAuthError, isWidgetAuthError } from '../core/errors';
import { guardFactory } from '../core/misuse';
import { createWidgetRouter, commonOptionsShape, type RouteContext } from '../core/pipeline';
import { isPromiseLike } from '../core/promise';
import { checkSecretLength, credentialKey, presetSchema, presetSecret, presetUserId, type PresetRouterOptions, type PresetSecret } from '../core/preset';
import type { WidgetUser } from '../core/types';

/** Default route of channel authorization (pusher-js `channelAuthorization.endpoint`). */
export const PUSHER_AUTH_PATH = '/api/pusher/auth';

/** Default route of user authentication (pusher-js `userAuthentication.endpoint`). */
export const PUSHER_USER_AUTH_PATH = '/api/pusher/user-auth';

/** Longest channel name Pusher accepts, in characters. */
export const PUSHER_MAX_CHANNEL_NAME = 200;

/** Extra facts about a user shared with the other members (`user_info`): a plain object of JSON values. */
export type PusherUserInfo = Record<string, unknown>;

/** Options of {@link pusherAuthRouter}. */
export interface PusherAuthRouterOptions extends PresetRouterOptions {
  /** The app's id (env `PUSHER_APP_ID`), digits. Not used in signatures; checked so that swapped variables fail at start-up. */
  appId: string;
  /** The app's key (env `PUSHER_KEY`): public, the one pusher-js is given; it prefixes every `auth`. */
  key: string;
  /** The app's secret (env `PUSHER_SECRET`, 20 hex digits): a string as Pusher shows it, or its bytes. */
  secret: PresetSecret;
  /**
   * Base64 of the 32-byte master key of end-to-end encrypted channels (env
   * `PUSHER_ENCRYPTION_MASTER_KEY`), as the vendor's SDK takes it. Without it,
   * `private-encrypted-` channels are refused with 403 `FORBIDDEN`.
   */
  encryptionMasterKeyBase64?: string;
  /**
   * Whether `user` may join `channel` (a `private-`, `presence-` or `private-encrypted-`
   * channel whose name is already checked): `true` or `false`, or a promise of one.
   * `false` answers 403 `FORBIDDEN`; a throw, or anything but a boolean, answers 500
   * `INTERNAL_ERROR` and is reported. Required: there is no default that lets everyone in.
   */
  canJoin: (user: WidgetUser, channel: string) => boolean | Promise<boolean>;
  /**
   * The `user_info` other members see, for presence channels and user authentication:
   * a plain object of JSON values, or `undefined` for none. Defaults to none.
   */
  userInfo?: (user: WidgetUser) => PusherUserInfo | undefined;
  /** Path of the user authentication route. Defaults to `/api/pusher/user-auth`; `path` is the channel authorization route's. */
  userAuthPath?: string;
}

const SOCKET_ID = /^\d+\.\d+$/;
const CHANNEL_NAME = /^[A-Za-z0-9_\-=@,.;]+$/;
const APP_ID = /^\d{1,20}$/;
const APP_KEY = /^[A-Za-z0-9_.-]{1,100}$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** The master key's bytes, or `undefined` when the text is not base64 of exactly 32 bytes. */
function masterKeyBytes(text: string): Buffer | undefined {
  if (!BASE64.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64');
  return bytes.length === 32 ? bytes : undefined;
}

const masterKeySchema = secretString(1).refine((v) => masterKeyBytes(v) !== undefined, { message: 'must be base64 of exactly 32 bytes (e.g. `openssl rand -base64 32`)' });

const optionsSchema = presetSchema(
  {
    appId: z.string({ error: (iss) => (iss.input === undefined ? 'is required' : 'must be a string') }).regex(APP_ID, 'must be the app id: digits'),
    key: z.string({ error: (iss) => (iss.input === undefined ? 'is required' : 'must be a string') }).regex(APP_KEY, 'must be the app key: letters, digits, ".", "-" and "_"'),
    secret: presetSecret(),
    encryptionMasterKeyBase64: masterKeySchema.optional(),
    canJoin: z.custom<PusherAuthRouterOptions['canJoin']>((v) => typeof v === 'function', {
      message: 'is required: a function (user, channel) => boolean deciding who may join which channel (there is no default that lets everyone in)',
    }),
    userInfo: z.custom<NonNullable<PusherAuthRouterOptions['userInfo']>>((v) => typeof v === 'function', { message: 'must be a function (user) => object' }).optional(),
    userAuthPath: commonOptionsShape.path,
  },
  (options, ctx) => {
    checkSecretLength(options.secret, options.minSecretLength, 'secret', ctx);
    if (typeof options.secret === 'string' && options.secret === options.key) {
      ctx.addIssue({ code: 'custom', path: ['key'], message: 'is the same value as `secret`: `key` is the public app key, `secret` the app secret' });
    }
    const path = (options as { path?: string }).path ?? PUSHER_AUTH_PATH;
    if (path === (options.userAuthPath ?? PUSHER_USER_AUTH_PATH)) ctx.addIssue({ code: 'custom', path: ['userAuthPath'], message: 'must differ from path' });
  },
);

/** A text field of the request body, or 400 naming it. */
function field(body: unknown, name: 'socket_id' | 'channel_name', pattern: RegExp, max: number): string {
  const value = typeof body === 'object' && body !== null && Object.hasOwn(body, name) ? (body as Record<string, unknown>)[name] : undefined;
  // a list: a JSON array, or a form field named twice that the app's own parser read before the router
  if (Array.isArray(value)) throw new WidgetAuthError('INVALID_REQUEST', `Request body must have ${name} as one string, not a list (a form field named twice?).`);
  if (typeof value !== 'string' || value.length === 0) throw new WidgetAuthError('INVALID_REQUEST', `Request body must have a ${name}.`);
  if (value.length > max || !pattern.test(value)) throw new WidgetAuthError('INVALID_REQUEST', `Request body has a malformed ${name}.`);
  return value;
}

/** The JSON text of `userInfo(user)`'s answer, checked to be an object of JSON values, or `undefined` for none. */
function userInfoJson(hook: PusherAuthRouterOptions['userInfo'], user: WidgetUser): string | undefined {
  if (hook === undefined) return undefined;
  let info: unknown;
  try {
    info = hook(user);
  } catch (err) {
    throw new WidgetAuthError('INTERNAL_ERROR', 'userInfo(user) of pusherAuthRouter threw', { cause: err });
  }
  if (info === undefined) return undefined;
  let json: string | undefined;
  try {
    json = typeof info === 'object' && info !== null && !Array.isArray(info) ? JSON.stringify(info) : undefined;
  } catch {
    json = undefined;
  }
  if (json === undefined || !json.startsWith('{')) {
    throw new WidgetAuthError('INTERNAL_ERROR', 'userInfo(user) of pusherAuthRouter must return a plain object of JSON values, or undefined');
  }
  return json;
}

/**
 * `JSON.stringify({ [idField]: id, user_info })` as the vendor's SDK writes it, from the
 * info's JSON text (the same text `JSON.stringify` gives the object it came from).
 */
function userJson(idField: 'user_id' | 'id', id: string, info: string | undefined): string {
  return info === undefined ? `{"${idField}":${JSON.stringify(id)}}` : `{"${idField}":${JSON.stringify(id)},"user_info":${info}}`;
}

/** A throw or rejection of `canJoin`, as the router answers it. */
function canJoinFailed(err: unknown): never {
  if (isWidgetAuthError(err)) throw err;
  throw new WidgetAuthError('INTERNAL_ERROR', 'canJoin(user, channel) of pusherAuthRouter threw', { cause: err });
}

/** The text to sign, passed to the HMAC strategy as its request body. */
interface Signed {
  readonly text: string;
}

/**
 * Router for Pusher Channels, answering pusher-js's two calls for a signed-in user:
 *
 * - `POST /api/pusher/auth` (channel authorization) with `socket_id` and `channel_name`,
 *   for `private-`, `presence-` and `private-encrypted-` channels `canJoin` allows:
 *   `{ auth }`, with `channel_data` (the user's id and `user_info`) for presence
 *   channels and `shared_secret` for encrypted ones;
 * - `POST /api/pusher/user-auth` (user authentication, `pusher.signin()`) with
 *   `socket_id`: `{ auth, user_data }`, the user's id and `user_info`.
 *
 * Bodies are form-encoded, as pusher-js sends them, or JSON. A malformed `socket_id` or
 * channel name answers 400 `INVALID_REQUEST`, a channel `canJoin` refuses 403
 * `FORBIDDEN`, nobody signed in 401 `UNAUTHORIZED`. The user's id comes only from
 * `resolveUser`.
 *
 * @example
 * ```ts
 * app.use(pusherAuthRouter({ ...pusherConfigFromEnv(), resolveUser, canJoin: (user, channel) => channel === `private-user-${user.id}` }));
 * ```
 */
export function pusherAuthRouter(options: PusherAuthRouterOptions): Router {
  const config = parseOptions('pusherAuthRouter', optionsSchema, options);
  const appKey = config.key;
  const canJoin = config.canJoin;
  const userInfoHook = config.userInfo;
  const masterText = config.encryptionMasterKeyBase64;
  const masterKey = masterText === undefined ? undefined : masterKeyBytes(masterText)!;
  // the digest of the text each route builds, with the secret's checks and redaction of hmacCredential
  const signer = hmacCredential({
    ...credentialKey(config.secret, config.minSecretLength),
    message: (_user, request) => (request.body as Signed).text,
  });
  const sign = (user: WidgetUser, req: CredentialRequest['req'], text: string): string => {
    // synchronous: hmacCredential computes the digest in place
    const { hash } = signer.issue(user, { req, body: { text } satisfies Signed }) as Record<string, unknown>;
    return `${appKey}:${String(hash)}`;
  };

  const answerChannel = (ctx: RouteContext, socketId: string, channel: string, allowed: unknown): Record<string, string> => {
    const user = ctx.user!;
    // fail closed: only a real `true` lets the user in
    if (typeof allowed !== 'boolean') throw new WidgetAuthError('INTERNAL_ERROR', `canJoin(user, channel) of pusherAuthRouter returned ${allowed === null ? 'null' : typeof allowed}; it must return true or false`);
    if (!allowed) throw new WidgetAuthError('FORBIDDEN', 'You may not join this channel.');
    const answer: Record<string, string> = {};
    let text = `${socketId}:${channel}`;
    if (channel.startsWith('presence-')) {
      const channelData = userJson('user_id', presetUserId(user, 'Pusher'), userInfoJson(userInfoHook, user));
      text += `:${channelData}`;
      answer.channel_data = channelData;
    }
    answer.auth = sign(user, ctx.req, text);
    if (masterKey !== undefined && channel.startsWith('private-encrypted-')) {
      answer.shared_secret = createHash('sha256').update(channel, 'utf8').update(masterKey).digest('base64');
    }
    return answer;
  };

  const authorizeChannel = (ctx: RouteContext): Record<string, string> | Promise<Record<string, string>> => {
    const socketId = field(ctx.body, 'socket_id', SOCKET_ID, 64);
    const channel = field(ctx.body, 'channel_name', CHANNEL_NAME, PUSHER_MAX_CHANNEL_NAME);
    if (!channel.startsWith('presence-') && !channel.startsWith('private-')) {
      throw new WidgetAuthError('INVALID_REQUEST', 'Only private-, presence- and private-encrypted- channels need authorization.');
    }
    if (masterKey === undefined && channel.startsWith('private-encrypted-')) {
      throw new WidgetAuthError('FORBIDDEN', 'Encrypted channels are not enabled on this server (encryptionMasterKeyBase64).');
    }
    let allowed: unknown;
    try {
      allowed = canJoin(ctx.user!, channel);
    } catch (err) {
      canJoinFailed(err);
    }
    // a promise only when the hook gives one: a synchronous hook costs no microtask turn
    if (isPromiseLike(allowed)) return Promise.resolve(allowed).then((value) => answerChannel(ctx, socketId, channel, value), canJoinFailed);
    return answerChannel(ctx, socketId, channel, allowed);
  };

  const authenticateUser = (ctx: RouteContext): Record<string, string> => {
    const user = ctx.user!;
    const socketId = field(ctx.body, 'socket_id', SOCKET_ID, 64);
    const userData = userJson('id', presetUserId(user, 'Pusher'), userInfoJson(userInfoHook, user));
    return { auth: sign(user, ctx.req, `${socketId}::user::${userData}`), user_data: userData };
  };

  const secrets = [...signer.secrets];
  if (masterKey !== undefined) secrets.push(masterText!, masterKey.toString('hex'));
  return createWidgetRouter(jsonErrorContract('pusher'), config, {
    secrets,
    routes: [
      { path: config.path ?? PUSHER_AUTH_PATH, methods: ['POST'], requireUser: true, forms: true, handle: authorizeChannel },
      { path: config.userAuthPath ?? PUSHER_USER_AUTH_PATH, methods: ['POST'], requireUser: true, forms: true, handle: authenticateUser },
    ],
  });
}

guardFactory(pusherAuthRouter, 'pusherAuthRouter');

/** Environment variables read by {@link pusherConfigFromEnv}. */
export const PUSHER_ENV: readonly EnvVariable[] = [
  { name: 'PUSHER_APP_ID', option: 'appId', required: true },
  { name: 'PUSHER_KEY', option: 'key', required: true },
  { name: 'PUSHER_SECRET', option: 'secret', required: true },
  { name: 'PUSHER_ENCRYPTION_MASTER_KEY', option: 'encryptionMasterKeyBase64', required: false },
];

/**
 * Pusher options from the environment (`PUSHER_APP_ID`, `PUSHER_KEY`, `PUSHER_SECRET`,
 * optional `PUSHER_ENCRYPTION_MASTER_KEY`). Throws a {@link WidgetAuthConfigError}
 * naming every missing or invalid variable, never its value.
 *
 * @example
 * ```ts
 * app.use(pusherAuthRouter({ ...pusherConfigFromEnv(), resolveUser, canJoin: () => false }));
 * ```
 */
export function pusherConfigFromEnv(
  env: Record<string, string | undefined> = process.env,
  options?: WeakSecretOption,
): { appId: string; key: string; secret: string; encryptionMasterKeyBase64?: string } & WeakSecretOption {
  return optionsFromEnv(
    'pusherConfigFromEnv',
    env,
    PUSHER_ENV,
    z.object({
      appId: z.string().regex(APP_ID, 'must be the app id: digits'),
      key: z.string().regex(APP_KEY, 'must be the app key: letters, digits, ".", "-" and "_"'),
      secret: secretString(CREDENTIAL_MIN_SECRET_LENGTH),
      encryptionMasterKeyBase64: masterKeySchema.optional(),
    }),
    options,
  );
}
