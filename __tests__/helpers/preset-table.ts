/**
 * One descriptor per preset route (the eleven vendor presets, Intercom and Front in both
 * of their modes), for the property tests and the leak audit: how to build the router with a
 * file's own secrets, what a signed-in user gets, and how the credential is verified
 * with code of the tests' own (jose for JWTs, `node:crypto` for digests), written from
 * docs/<vendor>.md rather than from the library.
 *
 * A new preset is one more entry in {@link presetTable}: a `jwtPreset(…)` or an
 * `hmacPreset(…)` (or a descriptor of its own with a `verify` of its own).
 */
import { createHash, createHmac } from 'node:crypto';
import type { Router } from 'express';
import fc from 'fast-check';
import Pusher from 'pusher';
import {
  cannySsoRouter,
  chatwootIdentityRouter,
  crispIdentityRouter,
  featurebaseJwtRouter,
  frontChatIdentityRouter,
  helpScoutBeaconRouter,
  intercomIdentityRouter,
  plainChatIdentityRouter,
  pusherAuthRouter,
  streamChatTokenRouter,
  zendeskMessagingRouter,
} from '../../lib';
import type { WidgetUser } from '../../lib/core/types';
import type { WireContract } from './hardening';
import { loadJose } from './jose';

/** The message of the 401 a signed-in user without an email gets from an email-signing preset. */
export const NO_EMAIL_MESSAGE = 'Sign in with an account that has an email address to use this widget.';

/** What a preset answers a resolved user, decided from its documented rules before the request is sent. */
export type PresetOutcome = { status: 200 } | { status: 400 | 401 | 403 | 500; code: 'INVALID_REQUEST' | 'UNAUTHORIZED' | 'FORBIDDEN' | 'INTERNAL_ERROR'; message?: string };

/** One preset route. */
export interface PresetDescriptor {
  /** For test names: the vendor, and the mode where there are two. */
  label: string;
  /** The vendor's name in the error contract and the log events. */
  vendor: string;
  /** The default route. */
  path: string;
  /** The methods served. */
  methods: readonly ('GET' | 'POST')[];
  /** What the credential is: an HS256 JWT, or an HMAC-SHA256 digest of the identity. */
  kind: 'jwt' | 'hmac';
  /** Every secret configured, by label. */
  secrets: Readonly<Record<string, string>>;
  /** The router with these secrets and `extra` options (resolveUser, logger, origins, …). */
  build(extra: Record<string, unknown>): Router;
  /** Credential by the user's id (`'id'`) or email (`'email'`), as the docs say. */
  identity: 'id' | 'email';
  /** The identity text the credential is made for, or `undefined` when the user has none (401). */
  identityOf(user: WidgetUser): string | undefined;
  /** What the route answers `user` (for a request with this parsed JSON body, `{}` when none), from the documented rules. */
  outcome(user: WidgetUser, requestBody?: unknown): PresetOutcome;
  /** The route also reads `application/x-www-form-urlencoded` bodies (Pusher's). */
  forms?: boolean;
  /** A route reading its request body: JSON text of bodies near the valid ones, mixed into the generated ones. */
  bodies?: fc.Arbitrary<string>;
  /** A route reading its request body: JSON text of a body it serves, sent where a property or the audit needs a success. */
  okBody?: string;
  /** Codes of the route's own beside the pipeline's, with their statuses (e.g. a refusal of a channel). */
  codes?: Readonly<Record<string, readonly number[]>>;
  /** The answer field holding the credential (the token, or the digest). */
  credentialField: string;
  /**
   * Check a 200 answer's body for `user`: exactly the documented fields, the credential
   * verified independently. Throws on any difference. `signedBefore`/`signedAfter`
   * bracket the request, in seconds, for the JWT times; `requestBody` is the parsed
   * request body (`{}` when none).
   */
  verify(body: unknown, user: WidgetUser, when: { signedBefore: number; signedAfter: number }, requestBody?: unknown): Promise<void>;
  /**
   * Host hooks of the preset (where it has any) that misbehave for the users of
   * {@link HOOK_USER_IDS}: throw an error quoting `secret`, hand the secret back, or return
   * a value of the wrong type. `cases` says what each of those users must get.
   */
  hostileHooks?(secret: string, error: (secret: string) => Error): { options: Record<string, unknown>; cases: readonly { user: keyof typeof HOOK_USER_IDS; status: 200 | 500; what: string }[] };
}

/** Ids of the users the hostile hooks misbehave for (the leak audit gives each an email, so that every hook is asked). */
export const HOOK_USER_IDS = { fails: 'user-preset-hook-fails', leaks: 'user-preset-hook-leaks', odd: 'user-preset-hook-odd' } as const;

/** The error contract of every preset: `{"error":{"code","message"}}` with the pipeline's codes, no vendor call. */
export function presetWire(vendor: string, codes: Readonly<Record<string, readonly number[]>> = {}): WireContract {
  return {
    vendor,
    flat: false,
    codes: {
      UNAUTHORIZED: [401],
      UNSUPPORTED_MEDIA_TYPE: [415],
      PAYLOAD_TOO_LARGE: [413],
      FORBIDDEN_ORIGIN: [403],
      RATE_LIMITED: [429],
      METHOD_NOT_ALLOWED: [405],
      INTERNAL_ERROR: [500],
      INVALID_REQUEST: [400],
      ...codes,
    },
  };
}

/** A secret with plenty of variety, different for each file (`tag`) and vendor. */
function secretFor(tag: string, name: string): string {
  return `${name.slice(0, 3)}_${tag}_${createHash('sha256').update(`${tag}/${name}`).digest('base64url').slice(0, 24)}`;
}

/** Exactly these fields (a value `undefined` means the field is absent), compared with Object.is. */
export function expectFields(body: unknown, want: Record<string, unknown>, where: string): void {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new Error(`${where}: not a JSON object`);
  const got = body as Record<string, unknown>;
  const wantKeys = Object.keys(want).filter((k) => want[k] !== undefined).sort();
  const gotKeys = Object.keys(got).sort();
  if (wantKeys.join() !== gotKeys.join()) throw new Error(`${where}: fields ${JSON.stringify(gotKeys)}, documented ${JSON.stringify(wantKeys)}`);
  for (const k of wantKeys) {
    if (!Object.is(got[k], want[k])) throw new Error(`${where}: ${k} is ${JSON.stringify(got[k])?.slice(0, 120)}, expected ${JSON.stringify(want[k])?.slice(0, 120)}`);
  }
}

/** `text` without the ASCII white space around it (space, tab, line feed, vertical tab, form feed, carriage return). */
export function trimAscii(text: string): string {
  let start = 0;
  let end = text.length;
  const space = (c: string) => ' \t\n\v\f\r'.includes(c);
  while (start < end && space(text[start]!)) start++;
  while (end > start && space(text[end - 1]!)) end--;
  return text.slice(start, end);
}

/**
 * The user's email trimmed of the ASCII white space around it, or undefined when missing,
 * `null` or blank (the email presets' rule); `null` when the host's record is refused
 * (500): other white space left anywhere in it, which `String.trim` would have stripped,
 * so that two addresses would sign as one.
 */
export function trimmedEmail(user: WidgetUser): string | undefined | null {
  const email = (user as { email?: string | null }).email;
  if (email === undefined || email === null) return undefined;
  const trimmed = trimAscii(email);
  if (trimmed === '') return undefined;
  return /\s/.test(trimmed) ? null : trimmed;
}

const HEX64 = /^[0-9a-f]{64}$/;

interface HmacSpec {
  label: string;
  vendor: string;
  path: string;
  factory: (options: never) => Router;
  secretOption: string;
  options?: Record<string, unknown>;
  identity: 'id' | 'email';
  hashField: string;
  /** The other fields of a 200 answer for `user`, as documented (`undefined`: absent). */
  fields(user: WidgetUser, signed: string): Record<string, unknown>;
}

/** A preset answering HMAC-SHA256 (lower-case hex) of the user's id or trimmed email. */
function hmacPreset(tag: string, spec: HmacSpec): PresetDescriptor {
  const secret = secretFor(tag, spec.label);
  const identityOf = (user: WidgetUser) => (spec.identity === 'id' ? user.id : (trimmedEmail(user) ?? undefined));
  return {
    label: spec.label,
    vendor: spec.vendor,
    path: spec.path,
    methods: ['GET', 'POST'],
    kind: 'hmac',
    secrets: { [`the ${spec.label} secret`]: secret },
    build: (extra) => (spec.factory as (o: Record<string, unknown>) => Router)({ [spec.secretOption]: secret, ...spec.options, ...extra }),
    identity: spec.identity,
    identityOf,
    outcome: (user) =>
      spec.identity === 'email' && trimmedEmail(user) === null
        ? { status: 500, code: 'INTERNAL_ERROR' }
        : identityOf(user) === undefined
          ? { status: 401, code: 'UNAUTHORIZED', message: NO_EMAIL_MESSAGE }
          : { status: 200 },
    credentialField: spec.hashField,
    async verify(body, user) {
      const signed = identityOf(user)!;
      const hash = createHmac('sha256', secret).update(signed, 'utf8').digest('hex');
      expectFields(body, { ...spec.fields(user, signed), [spec.hashField]: hash }, spec.label);
      if (!HEX64.test(hash)) throw new Error('not 64 lower-case hex digits');
    },
  };
}

interface JwtSpec {
  label: string;
  vendor: string;
  path: string;
  factory: (options: never) => Router;
  secretOption: string;
  options?: Record<string, unknown>;
  tokenField: string;
  /** Header fields besides alg and typ. */
  header?: Record<string, string>;
  expiresIn: number;
  /** Seconds `iat` is set back from the signing time. */
  clockSkew?: number;
  maxId?: number;
  /** The claims besides iat and exp, as documented (`undefined`: absent). */
  claims(user: WidgetUser): Record<string, unknown>;
  /** The answer's fields besides the token. */
  fields?(user: WidgetUser): Record<string, unknown>;
  hostileHooks?: PresetDescriptor['hostileHooks'];
}

/** A preset answering an HS256 JWT, verified with jose and the vendor's claim rules. */
function jwtPreset(tag: string, spec: JwtSpec): PresetDescriptor {
  const secret = secretFor(tag, spec.label);
  const key = new TextEncoder().encode(secret);
  const skew = spec.clockSkew ?? 0;
  return {
    label: spec.label,
    vendor: spec.vendor,
    path: spec.path,
    methods: ['GET', 'POST'],
    kind: 'jwt',
    secrets: { [`the ${spec.label} secret`]: secret },
    build: (extra) => (spec.factory as (o: Record<string, unknown>) => Router)({ [spec.secretOption]: secret, ...spec.options, ...extra }),
    identity: 'id',
    identityOf: (user) => user.id,
    outcome: (user) => (spec.maxId !== undefined && user.id.length > spec.maxId ? { status: 500, code: 'INTERNAL_ERROR' } : { status: 200 }),
    credentialField: spec.tokenField,
    async verify(body, user, { signedBefore, signedAfter }) {
      const token = (body as Record<string, unknown> | null)?.[spec.tokenField];
      if (typeof token !== 'string') throw new Error(`${spec.label}: no ${spec.tokenField}`);
      expectFields(body, { ...spec.fields?.(user), [spec.tokenField]: token }, spec.label);
      const { jwtVerify } = loadJose();
      // HS256 only; exp and iat must be there; exp checked against the real clock
      const { payload, protectedHeader } = await jwtVerify(token, key, { algorithms: ['HS256'], requiredClaims: ['exp', 'iat'] });
      expectFields(protectedHeader, { alg: 'HS256', typ: 'JWT', ...spec.header }, `${spec.label} header`);
      const { iat, exp } = payload as { iat: number; exp: number };
      expectFields(payload, { ...spec.claims(user), iat, exp }, `${spec.label} claims`);
      if (!Number.isSafeInteger(iat) || !Number.isSafeInteger(exp)) throw new Error(`${spec.label}: iat/exp not whole seconds`);
      // signed between the two readings of the clock; iat set back by the documented skew
      if (iat + skew < signedBefore || iat + skew > signedAfter) throw new Error(`${spec.label}: iat ${iat} is not the signing time (${signedBefore}…${signedAfter}) less ${skew} s`);
      if (exp - iat !== spec.expiresIn + skew) throw new Error(`${spec.label}: exp - iat is ${exp - iat}, expected ${spec.expiresIn + skew}`);
    },
    ...(spec.hostileHooks ? { hostileHooks: spec.hostileHooks } : {}),
  };
}

/** `user.email`/`user.name` as the user record has them (`null` included): a claim or field left out only when undefined. */
const raw = (user: WidgetUser, field: 'email' | 'name') => (user as unknown as Record<string, unknown>)[field];

/** The public Stream API key the Stream descriptor configures (not a secret: answered as `apiKey`). */
export const STREAM_API_KEY = 'k7q2m9x4z8wd';
/** The Zendesk key id (public: the `kid` header). */
export const ZENDESK_KEY_ID = 'app_5e0c2b7d9f4a6183a2d4c6e8';

/** Zendesk's `emailVerified` hook of the table: users whose metadata says so. */
const zendeskVerified = (user: WidgetUser) => user.metadata?.['verified'] === 'yes';
/** Canny's `avatarURL` hook of the table: from the user's metadata. */
const cannyAvatar = (user: WidgetUser) => user.metadata?.['avatar'];

/**
 * Every preset route, with secrets of its own for the file `tag` names. Intercom and Front
 * appear once per mode.
 */
export function presetTable(tag: string): PresetDescriptor[] {
  return [
    jwtPreset(tag, {
      label: 'intercom-jwt',
      vendor: 'intercom',
      path: '/api/intercom-identity',
      factory: intercomIdentityRouter,
      secretOption: 'messengerSecret',
      tokenField: 'intercom_user_jwt',
      expiresIn: 3600,
      claims: (user) => ({ user_id: user.id, email: raw(user, 'email') }),
    }),
    hmacPreset(tag, {
      label: 'intercom-hmac',
      vendor: 'intercom',
      path: '/api/intercom-identity',
      factory: intercomIdentityRouter,
      secretOption: 'identitySecret',
      identity: 'id',
      hashField: 'user_hash',
      fields: (user) => ({ user_id: user.id, email: raw(user, 'email') }),
    }),
    jwtPreset(tag, {
      label: 'zendesk',
      vendor: 'zendesk',
      path: '/api/zendesk-token',
      factory: zendeskMessagingRouter,
      secretOption: 'secret',
      options: { keyId: ZENDESK_KEY_ID, emailVerified: zendeskVerified, expiresIn: 900 },
      tokenField: 'jwt',
      header: { kid: ZENDESK_KEY_ID },
      expiresIn: 900,
      maxId: 255,
      claims: (user) => ({
        scope: 'user',
        external_id: user.id,
        name: raw(user, 'name'),
        email: raw(user, 'email'),
        // only when the hook says so and the user has an email
        email_verified: typeof raw(user, 'email') === 'string' && zendeskVerified(user) ? true : undefined,
      }),
      hostileHooks: (secret, error) => ({
        options: {
          emailVerified: (user: WidgetUser) => {
            if (user.id === HOOK_USER_IDS.fails) throw error(secret);
            if (user.id === HOOK_USER_IDS.odd) return `yes ${secret}` as unknown as boolean;
            return true;
          },
        },
        cases: [
          { user: 'fails', status: 500, what: 'emailVerified throws quoting the secret' },
          { user: 'odd', status: 500, what: 'emailVerified returns a text quoting the secret, not a boolean' },
        ],
      }),
    }),
    jwtPreset(tag, {
      label: 'stream',
      vendor: 'stream',
      path: '/api/stream-token',
      factory: streamChatTokenRouter,
      secretOption: 'apiSecret',
      options: { apiKey: STREAM_API_KEY },
      tokenField: 'token',
      expiresIn: 3600,
      clockSkew: 60,
      claims: (user) => ({ user_id: user.id }),
      fields: (user) => ({ apiKey: STREAM_API_KEY, userId: user.id }),
    }),
    jwtPreset(tag, {
      label: 'canny',
      vendor: 'canny',
      path: '/api/canny-token',
      factory: cannySsoRouter,
      secretOption: 'privateKey',
      options: { avatarURL: cannyAvatar, expiresIn: 600 },
      tokenField: 'ssoToken',
      expiresIn: 600,
      claims: (user) => ({ id: user.id, email: raw(user, 'email'), name: raw(user, 'name'), avatarURL: cannyAvatar(user) }),
      hostileHooks: (secret, error) => ({
        options: {
          avatarURL: (user: WidgetUser) => {
            if (user.id === HOOK_USER_IDS.fails) throw error(secret);
            if (user.id === HOOK_USER_IDS.leaks) return `https://img.example/a.png?key=${secret}`;
            return undefined;
          },
        },
        cases: [
          { user: 'fails', status: 500, what: 'avatarURL throws quoting the secret' },
          { user: 'leaks', status: 500, what: 'avatarURL returns a URL holding the secret (a claim holding it is refused)' },
        ],
      }),
    }),
    jwtPreset(tag, {
      label: 'featurebase',
      vendor: 'featurebase',
      path: '/api/featurebase-token',
      factory: featurebaseJwtRouter,
      secretOption: 'jwtSecret',
      tokenField: 'featurebaseJwt',
      expiresIn: 3600,
      claims: (user) => ({ userId: user.id, email: raw(user, 'email'), name: raw(user, 'name') }),
    }),
    hmacPreset(tag, {
      label: 'chatwoot',
      vendor: 'chatwoot',
      path: '/api/chatwoot-identity',
      factory: chatwootIdentityRouter,
      secretOption: 'hmacToken',
      identity: 'id',
      hashField: 'identifier_hash',
      fields: (user) => ({ identifier: user.id }),
    }),
    hmacPreset(tag, {
      label: 'crisp',
      vendor: 'crisp',
      path: '/api/crisp-identity',
      factory: crispIdentityRouter,
      secretOption: 'secret',
      identity: 'email',
      hashField: 'signature',
      fields: (_user, email) => ({ email }),
    }),
    hmacPreset(tag, {
      label: 'helpscout',
      vendor: 'helpscout',
      path: '/api/helpscout-signature',
      factory: helpScoutBeaconRouter,
      secretOption: 'secret',
      identity: 'email',
      hashField: 'signature',
      fields: (user, email) => ({ name: raw(user, 'name'), email }),
    }),
    hmacPreset(tag, {
      label: 'front-email',
      vendor: 'front',
      path: '/api/front-identity',
      factory: frontChatIdentityRouter,
      secretOption: 'secret',
      identity: 'email',
      hashField: 'userHash',
      fields: (user, email) => ({ email, name: raw(user, 'name') }),
    }),
    hmacPreset(tag, {
      label: 'front-userId',
      vendor: 'front',
      path: '/api/front-identity',
      factory: frontChatIdentityRouter,
      secretOption: 'secret',
      options: { identifyBy: 'userId' },
      identity: 'id',
      hashField: 'userHash',
      // the email without the ASCII white space around it (and nothing else: U+3000 and U+FEFF stay), left out when blank; a user without one is still identified
      fields: (user) => ({ userId: user.id, email: typeof raw(user, 'email') === 'string' ? (raw(user, 'email') as string).replace(/^[\t\n\v\f\r ]+|[\t\n\v\f\r ]+$/g, '') || undefined : undefined, name: raw(user, 'name') }),
    }),
    hmacPreset(tag, {
      label: 'plain',
      vendor: 'plain',
      path: '/api/plain-identity',
      factory: plainChatIdentityRouter,
      secretOption: 'secret',
      identity: 'email',
      hashField: 'emailHash',
      fields: (user, email) => ({ email, fullName: raw(user, 'name') }),
    }),
    pusherPreset(tag),
    pusherUserAuthPreset(tag),
  ];
}

/**
 * Pusher's user authentication route (`pusher.signin()`): `{ auth, user_data }` for the
 * signed-in user, compared with the `pusher` SDK's own `authenticateUser`.
 */
function pusherUserAuthPreset(tag: string): PresetDescriptor {
  const channelRoute = pusherPreset(tag);
  const secret = Object.values(channelRoute.secrets)[0]!;
  const sdk = new Pusher({ appId: '424242', key: PUSHER_KEY, secret, cluster: 'mt1' });
  const socketOf = (body: unknown): unknown => (typeof body === 'object' && body !== null && !Array.isArray(body) && Object.hasOwn(body, 'socket_id') ? (body as Record<string, unknown>)['socket_id'] : undefined);
  return {
    ...channelRoute,
    label: 'pusher-user-auth',
    path: '/api/pusher/user-auth',
    outcome(_user, requestBody) {
      const socket = socketOf(requestBody);
      if (typeof socket !== 'string' || socket.length === 0 || socket.length > 64 || !PUSHER_SOCKET.test(socket)) return { status: 400, code: 'INVALID_REQUEST' };
      return { status: 200 };
    },
    bodies: fc.record({ socket_id: fc.oneof(fc.constantFrom('1234.5678', '1.2', '12', '1.2::user::x', ' 1.2'), fc.string({ maxLength: 12 })) }).map((body) => JSON.stringify(body)),
    okBody: JSON.stringify({ socket_id: '1234.5678' }),
    codes: {},
    async verify(body, user, _when, requestBody) {
      expectFields(body, { ...sdk.authenticateUser(socketOf(requestBody) as string, { id: user.id }) }, 'pusher-user-auth');
    },
    hostileHooks: (hookSecret, error) => ({
      options: {
        userInfo: (user: WidgetUser) => {
          if (user.id === HOOK_USER_IDS.fails) throw error(hookSecret);
          if (user.id === HOOK_USER_IDS.odd) return hookSecret as unknown as Record<string, unknown>;
          return user.id === HOOK_USER_IDS.leaks ? { note: hookSecret } : undefined;
        },
      },
      cases: [
        { user: 'fails', status: 500, what: 'userInfo throws quoting the secret' },
        { user: 'odd', status: 500, what: 'userInfo returns the secret as text, not an object' },
        { user: 'leaks', status: 500, what: 'userInfo hands the secret back (an answer holding it is refused)' },
      ],
    }),
  };
}

/** The public Pusher app key of the table (the prefix of every `auth`). */
export const PUSHER_KEY = '3c9f0a7d2b6e1f4a8c05';
const PUSHER_SOCKET = /^\d+\.\d+$/;
const PUSHER_CHANNEL = /^[A-Za-z0-9_\-=@,.;]+$/;

/**
 * Pusher's channel authorization route, from pusher-js's fields sent as JSON (the route
 * takes forms too; the generators write JSON): presence channels carry the user, so two
 * users never share an `auth`. Answers are compared with the `pusher` SDK's own
 * `authorizeChannel` for the same socket, channel and user. `canJoin` of the table lets
 * every channel in but `presence-closed`.
 */
function pusherPreset(tag: string): PresetDescriptor {
  const secret = createHash('sha256').update(`${tag}/pusher`).digest('hex').slice(0, 20);
  const sdk = new Pusher({ appId: '424242', key: PUSHER_KEY, secret, cluster: 'mt1' });
  const canJoin = (_user: WidgetUser, channel: string) => channel !== 'presence-closed';
  const fields = (body: unknown): { socket?: unknown; channel?: unknown } => {
    const record = typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : {};
    return { socket: Object.hasOwn(record, 'socket_id') ? record['socket_id'] : undefined, channel: Object.hasOwn(record, 'channel_name') ? record['channel_name'] : undefined };
  };
  return {
    label: 'pusher',
    vendor: 'pusher',
    path: '/api/pusher/auth',
    methods: ['POST'],
    forms: true,
    kind: 'hmac',
    secrets: { 'the Pusher secret': secret },
    build: (extra) => pusherAuthRouter({ appId: '424242', key: PUSHER_KEY, secret, canJoin, ...extra } as never),
    identity: 'id',
    identityOf: (user) => user.id,
    outcome(_user, requestBody) {
      const { socket, channel } = fields(requestBody);
      const bad = { status: 400, code: 'INVALID_REQUEST' } as const;
      if (typeof socket !== 'string' || socket.length === 0 || typeof channel !== 'string' || channel.length === 0) return bad;
      if (socket.length > 64 || !PUSHER_SOCKET.test(socket) || channel.length > 200 || !PUSHER_CHANNEL.test(channel)) return bad;
      if (!channel.startsWith('private-') && !channel.startsWith('presence-')) return bad;
      // no master key in the table: encrypted channels are refused, as is the closed one
      if (channel.startsWith('private-encrypted-') || !canJoin(_user, channel)) return { status: 403, code: 'FORBIDDEN' };
      return { status: 200 };
    },
    bodies: fc
      .record({
        socket_id: fc.oneof(fc.constantFrom('1234.5678', '1.2', '12', '1.2:private-x', ' 1.2', '١.٢'), fc.string({ maxLength: 12 })),
        channel_name: fc.oneof(fc.constantFrom('presence-room', 'private-room', 'presence-closed', 'private-encrypted-room', 'room', 'presence-a:b', `presence-${'a'.repeat(191)}`, `presence-${'a'.repeat(192)}`), fc.string({ maxLength: 24 })),
      })
      .map((body) => JSON.stringify(body)),
    okBody: JSON.stringify({ socket_id: '1234.5678', channel_name: 'presence-room' }),
    codes: { FORBIDDEN: [403] },
    credentialField: 'auth',
    async verify(body, user, _when, requestBody) {
      const { socket, channel } = fields(requestBody) as { socket: string; channel: string };
      const expected = sdk.authorizeChannel(socket, channel, channel.startsWith('presence-') ? { user_id: user.id } : undefined);
      expectFields(body, { ...expected }, 'pusher');
    },
    hostileHooks: (hookSecret, error) => ({
      options: {
        canJoin: (user: WidgetUser) => {
          if (user.id === HOOK_USER_IDS.fails) throw error(hookSecret);
          if (user.id === HOOK_USER_IDS.odd) return `yes ${hookSecret}` as unknown as boolean;
          return true;
        },
        userInfo: (user: WidgetUser) => (user.id === HOOK_USER_IDS.leaks ? { note: hookSecret } : undefined),
      },
      cases: [
        { user: 'fails', status: 500, what: 'canJoin throws quoting the secret' },
        { user: 'odd', status: 500, what: 'canJoin returns a text quoting the secret, not a boolean' },
        { user: 'leaks', status: 500, what: 'userInfo hands the secret back (an answer holding it is refused)' },
      ],
    }),
  };
}
