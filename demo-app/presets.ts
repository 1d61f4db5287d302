import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Router } from 'express';
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
  type ResolveUser,
  type WidgetAuthLogger,
} from '../lib';
import type { DemoUser } from './users';

/**
 * The local-signing presets the demo shows on `/presets`, one entry each: the sandbox
 * settings generated at start, the router mounted with them, the call the page makes,
 * and the check of what the page got. The checks use jose, node:crypto and Stream's own
 * SDK with each vendor's documented rules, never the package's code, so a preset that
 * signs wrongly gets a "failed" row. Adding a vendor is adding an entry to
 * {@link DEMO_PRESETS}.
 */

type Jose = typeof import('jose', { with: { 'resolution-mode': 'import' } });
type StreamChatSdk = typeof import('stream-chat');
type PusherSdk = typeof import('pusher');

// jose is published as ES modules only; Node's own require loads it (Node 20.19+), also
// where a test runner has a module system of its own. Both are loaded on first use.
const load = <T>(name: string): (() => T) => {
  let module: T | undefined;
  return () => (module ??= process.getBuiltinModule('node:module').createRequire(__filename)(name) as T);
};
const jose = load<Jose>('jose');
const streamChat = load<StreamChatSdk>('stream-chat');
const pusherSdk = load<PusherSdk>('pusher');

/** The verify endpoint's answer: a verdict and a short reason, never a secret. */
export interface PresetVerdict {
  verdict: 'verified' | 'failed';
  reason: string;
}

/** What a preset runs with in the sandbox, generated at start. */
export interface PresetSandbox {
  /** Signing secrets: never printed, never sent to the browser. */
  secrets: Record<string, string>;
  /** Values the vendor treats as public (key ids, API keys). */
  settings: Record<string, string>;
}

/** Options every preset router of the demo gets. */
export interface PresetCommon {
  resolveUser: ResolveUser;
  allowedOrigins: string[];
  logger?: WidgetAuthLogger;
}

/** What the verifier knows besides the answer. */
export interface PresetCheck {
  /** The signed-in demo user, whose credential the answer must be. */
  user: DemoUser;
  sandbox: PresetSandbox;
  /** The fields the page sent with its call (a form-encoded call), as the page reports them. */
  sent: Record<string, string>;
}

/** One preset on the demo's `/presets` page. */
export interface DemoPreset {
  /** Row id and the `:vendor` of `POST /demo/verify/:vendor`. */
  id: string;
  name: string;
  /** One line: what the widget takes. */
  kind: string;
  /** The call the page makes, with the fields it posts form-encoded, if any. */
  call: { method: 'GET' | 'POST'; path: string; form?: Record<string, string> };
  /** Fields of the answer holding the credential: shown shortened. */
  credentialFields: readonly string[];
  /** Settings generated at start. */
  sandbox(): PresetSandbox;
  router(sandbox: PresetSandbox, common: PresetCommon): Router;
  /** Checks the answer the page got, with code that is not the package's. */
  verify(answer: Record<string, unknown>, check: PresetCheck): PresetVerdict | Promise<PresetVerdict>;
}

const random = (prefix: string, bytes = 32): string => `${prefix}${randomBytes(bytes).toString('base64url')}`;
const verified = (reason: string): PresetVerdict => ({ verdict: 'verified', reason });
const failed = (reason: string): PresetVerdict => ({ verdict: 'failed', reason });

/** A rule broken by the answer: the check stops with this reason. */
class Refusal extends Error {}
function must(condition: unknown, reason: string): asserts condition {
  if (!condition) throw new Refusal(reason);
}

/** HMAC-SHA256(secret, text), lower-case hex, compared as text in constant time: what these vendors' servers do. */
function hexHmacMatches(secret: string, text: string, given: unknown): boolean {
  if (typeof given !== 'string') return false;
  const expected = Buffer.from(createHmac('sha256', secret).update(text, 'utf8').digest('hex'), 'utf8');
  const actual = Buffer.from(given, 'utf8');
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

/** An HS256 JWT checked with jose: signature, algorithm, the required claims, `exp` and `nbf`. */
async function hs256(token: unknown, secret: string, requiredClaims: string[]) {
  must(typeof token === 'string' && token.length > 0, 'no token in the answer');
  const { jwtVerify } = jose();
  const { payload, protectedHeader } = await jwtVerify(token, new TextEncoder().encode(secret), { algorithms: ['HS256'], requiredClaims });
  must(typeof payload.exp === 'number', 'exp is missing');
  return { payload, header: protectedHeader, minutes: Math.round((payload.exp - Date.now() / 1000) / 60) };
}

const stringOrAbsent = (payload: Record<string, unknown>, names: string[]) => {
  for (const name of names) must(!(name in payload) || typeof payload[name] === 'string', `${name} must be a string`);
};
const emailOf = (user: DemoUser) => user.email.trim();

/** The answer's identity fields and the HMAC of the signed one, checked the vendors' way. */
function hmacIdentity(answer: Record<string, unknown>, check: PresetCheck, fields: { signed: string; hash: string; secret: string; expect: Record<string, string> }): PresetVerdict {
  for (const [field, value] of Object.entries(fields.expect)) must(answer[field] === value, `${field} is not the signed-in user's`);
  const text = answer[fields.signed];
  must(typeof text === 'string', `${fields.signed} is missing`);
  must(hexHmacMatches(check.sandbox.secrets[fields.secret]!, text, answer[fields.hash]), `${fields.hash} is not HMAC-SHA256 of ${fields.signed} in lower-case hex`);
  return verified(`${fields.hash} = HMAC-SHA256(secret, ${fields.signed}), lower-case hex, compared as text (node:crypto)`);
}

/** The presets the demo mounts, in row order. */
export const DEMO_PRESETS: readonly DemoPreset[] = [
  {
    id: 'intercom-jwt',
    name: 'Intercom',
    kind: 'Messenger security (JWT mode) \u00b7 intercom_user_jwt',
    call: { method: 'GET', path: '/api/intercom-identity' },
    credentialFields: ['intercom_user_jwt'],
    sandbox: () => ({ secrets: { messengerSecret: random('') }, settings: {} }),
    router: ({ secrets }, common) => intercomIdentityRouter({ ...common, messengerSecret: secrets['messengerSecret']! }),
    async verify(answer, { user, sandbox }) {
      const { payload, minutes } = await hs256(answer['intercom_user_jwt'], sandbox.secrets['messengerSecret']!, ['user_id', 'exp']);
      must(payload['user_id'] === user.id, 'user_id is not the signed-in user');
      stringOrAbsent(payload, ['email']);
      return verified(`HS256, user_id ${user.id}, expires in ${minutes} min (jose)`);
    },
  },
  {
    id: 'intercom-hmac',
    name: 'Intercom',
    kind: 'Identity verification (HMAC mode) \u00b7 user_hash',
    call: { method: 'GET', path: '/api/intercom-identity-hmac' },
    credentialFields: ['user_hash'],
    sandbox: () => ({ secrets: { identitySecret: random('') }, settings: {} }),
    router: ({ secrets }, common) => intercomIdentityRouter({ ...common, identitySecret: secrets['identitySecret']!, path: '/api/intercom-identity-hmac' }),
    // Intercom hashes user_id when one is sent (it takes precedence over email)
    verify: (answer, check) => hmacIdentity(answer, check, { signed: 'user_id', hash: 'user_hash', secret: 'identitySecret', expect: { user_id: check.user.id, email: emailOf(check.user) } }),
  },
  {
    id: 'zendesk',
    name: 'Zendesk',
    kind: 'Messaging Web Widget \u00b7 loginUser JWT with kid',
    call: { method: 'GET', path: '/api/zendesk-token' },
    credentialFields: ['jwt'],
    sandbox: () => ({ secrets: { secret: random('') }, settings: { keyId: `app_${randomBytes(12).toString('hex')}` } }),
    router: ({ secrets, settings }, common) => zendeskMessagingRouter({ ...common, keyId: settings['keyId']!, secret: secrets['secret']! }),
    async verify(answer, { user, sandbox }) {
      const token = answer['jwt'];
      must(typeof token === 'string', 'no token in the answer');
      const { kid } = jose().decodeProtectedHeader(token);
      must(typeof kid === 'string' && kid.length > 0, 'Invalid JWT header. Missing key id (kid)');
      must(kid === sandbox.settings['keyId'], 'kid names no signing key of the account');
      const { payload, minutes } = await hs256(token, sandbox.secrets['secret']!, ['scope', 'external_id', 'exp']);
      must(payload['scope'] === 'user', 'scope must be "user"');
      const externalId = payload['external_id'];
      must(typeof externalId === 'string' && externalId.length > 0 && externalId.length <= 255, 'external_id must be a string of at most 255 characters');
      must(externalId === user.id, 'external_id is not the signed-in user');
      must(!('email_verified' in payload) || typeof payload['email_verified'] === 'boolean', 'email_verified must be a boolean');
      stringOrAbsent(payload, ['name', 'email']);
      return verified(`HS256 with kid, scope "user", external_id ${user.id}, expires in ${minutes} min (jose)`);
    },
  },
  {
    id: 'stream',
    name: 'Stream Chat',
    kind: 'connectUser user token',
    call: { method: 'GET', path: '/api/stream-token' },
    credentialFields: ['token'],
    sandbox: () => ({ secrets: { apiSecret: random('') }, settings: { apiKey: randomBytes(6).toString('hex') } }),
    router: ({ secrets, settings }, common) => streamChatTokenRouter({ ...common, apiSecret: secrets['apiSecret']!, apiKey: settings['apiKey']! }),
    async verify(answer, { user, sandbox }) {
      const token = answer['token'];
      const { payload, minutes } = await hs256(token, sandbox.secrets['apiSecret']!, ['user_id', 'iat', 'exp']);
      must(answer['userId'] === user.id && payload['user_id'] === user.id, 'user_id is not the signed-in user');
      must(answer['apiKey'] === sandbox.settings['apiKey'], 'apiKey is not the app\u2019s');
      // Stream has no clock tolerance: a token issued in its future is "used before issue at"
      must((payload.iat as number) <= Date.now() / 1000, 'token used before issue at');
      const sdk = streamChat();
      must(sdk.JWTUserToken(sandbox.secrets['apiSecret']!, user.id, { iat: payload.iat, exp: payload.exp }) === token, 'stream-chat signs these claims differently');
      try {
        new sdk.TokenManager().validateToken(token as string, { id: user.id });
      } catch {
        throw new Refusal('stream-chat refuses the token for this user');
      }
      return verified(`HS256, user_id ${user.id}, iat not in the future, expires in ${minutes} min; the same token stream-chat's JWTUserToken signs`);
    },
  },
  {
    id: 'canny',
    name: 'Canny',
    kind: 'SSO \u00b7 ssoToken',
    call: { method: 'GET', path: '/api/canny-token' },
    credentialFields: ['ssoToken'],
    sandbox: () => ({ secrets: { privateKey: random('') }, settings: {} }),
    router: ({ secrets }, common) => cannySsoRouter({ ...common, privateKey: secrets['privateKey']! }),
    async verify(answer, { user, sandbox }) {
      const { payload, minutes } = await hs256(answer['ssoToken'], sandbox.secrets['privateKey']!, ['id', 'exp']);
      must(payload['id'] === user.id, 'id is not the signed-in user');
      stringOrAbsent(payload, ['email', 'name', 'avatarURL']);
      return verified(`HS256, id ${user.id}, expires in ${minutes} min (jose)`);
    },
  },
  {
    id: 'featurebase',
    name: 'Featurebase',
    kind: 'SDK boot \u00b7 featurebaseJwt',
    call: { method: 'GET', path: '/api/featurebase-token' },
    credentialFields: ['featurebaseJwt'],
    sandbox: () => ({ secrets: { jwtSecret: random('') }, settings: {} }),
    router: ({ secrets }, common) => featurebaseJwtRouter({ ...common, jwtSecret: secrets['jwtSecret']! }),
    async verify(answer, { user, sandbox }) {
      const { payload, minutes } = await hs256(answer['featurebaseJwt'], sandbox.secrets['jwtSecret']!, ['exp']);
      must(typeof payload['userId'] === 'string' || typeof payload['email'] === 'string', 'userId or email is required');
      stringOrAbsent(payload, ['userId', 'email', 'name']);
      must(payload['userId'] === user.id, 'userId is not the signed-in user');
      return verified(`HS256, userId ${user.id}, expires in ${minutes} min (jose)`);
    },
  },
  {
    id: 'chatwoot',
    name: 'Chatwoot',
    kind: 'setUser \u00b7 identifier_hash',
    call: { method: 'GET', path: '/api/chatwoot-identity' },
    credentialFields: ['identifier_hash'],
    // an inbox's HMAC token is 24 characters
    sandbox: () => ({ secrets: { hmacToken: randomBytes(18).toString('base64url') }, settings: {} }),
    router: ({ secrets }, common) => chatwootIdentityRouter({ ...common, hmacToken: secrets['hmacToken']! }),
    verify: (answer, check) => hmacIdentity(answer, check, { signed: 'identifier', hash: 'identifier_hash', secret: 'hmacToken', expect: { identifier: check.user.id } }),
  },
  {
    id: 'crisp',
    name: 'Crisp',
    kind: 'user:email \u00b7 signature',
    call: { method: 'GET', path: '/api/crisp-identity' },
    credentialFields: ['signature'],
    sandbox: () => ({ secrets: { secret: random('') }, settings: {} }),
    router: ({ secrets }, common) => crispIdentityRouter({ ...common, secret: secrets['secret']! }),
    verify: (answer, check) => hmacIdentity(answer, check, { signed: 'email', hash: 'signature', secret: 'secret', expect: { email: emailOf(check.user) } }),
  },
  {
    id: 'helpscout',
    name: 'Help Scout Beacon',
    kind: "Beacon('identify') \u00b7 signature",
    call: { method: 'GET', path: '/api/helpscout-signature' },
    credentialFields: ['signature'],
    sandbox: () => ({ secrets: { secret: random('') }, settings: {} }),
    router: ({ secrets }, common) => helpScoutBeaconRouter({ ...common, secret: secrets['secret']! }),
    // hex, not base64: one old sample of Help Scout's used base64, which secure mode refuses
    verify: (answer, check) => hmacIdentity(answer, check, { signed: 'email', hash: 'signature', secret: 'secret', expect: { email: emailOf(check.user), name: check.user.name } }),
  },
  {
    id: 'front',
    name: 'Front Chat',
    kind: "FrontChat('init') \u00b7 userHash",
    call: { method: 'GET', path: '/api/front-identity' },
    credentialFields: ['userHash'],
    sandbox: () => ({ secrets: { secret: random('') }, settings: {} }),
    router: ({ secrets }, common) => frontChatIdentityRouter({ ...common, secret: secrets['secret']! }),
    // Front hashes the email, or the user id when one is passed
    verify: (answer, check) =>
      'userId' in answer
        ? hmacIdentity(answer, check, { signed: 'userId', hash: 'userHash', secret: 'secret', expect: { userId: check.user.id } })
        : hmacIdentity(answer, check, { signed: 'email', hash: 'userHash', secret: 'secret', expect: { email: emailOf(check.user), name: check.user.name } }),
  },
  {
    id: 'plain',
    name: 'Plain',
    kind: 'customerDetails \u00b7 emailHash',
    call: { method: 'GET', path: '/api/plain-identity' },
    credentialFields: ['emailHash'],
    sandbox: () => ({ secrets: { secret: random('') }, settings: {} }),
    router: ({ secrets }, common) => plainChatIdentityRouter({ ...common, secret: secrets['secret']! }),
    verify: (answer, check) => hmacIdentity(answer, check, { signed: 'email', hash: 'emailHash', secret: 'secret', expect: { email: emailOf(check.user), fullName: check.user.name } }),
  },
  {
    id: 'pusher',
    name: 'Pusher Channels',
    kind: 'presence channel \u00b7 auth + channel_data',
    // what pusher-js posts when it subscribes: the connection's socket id and the channel
    call: { method: 'POST', path: '/api/pusher/auth', form: { socket_id: '1234.5678', channel_name: 'presence-demo' } },
    credentialFields: ['auth'],
    // an app secret is 20 hex digits; the app id and key are public
    sandbox: () => ({ secrets: { secret: randomBytes(10).toString('hex') }, settings: { appId: String(100000 + (randomBytes(2).readUInt16BE() % 900000)), key: randomBytes(10).toString('hex') } }),
    router: ({ secrets, settings }, common) =>
      pusherAuthRouter({
        ...common,
        appId: settings['appId']!,
        key: settings['key']!,
        secret: secrets['secret']!,
        canJoin: (user, channel) => channel === 'presence-demo' || channel === `private-user-${user.id}`,
        userInfo: (user) => ({ name: user.name ?? null }),
      }),
    verify: ({ auth, channel_data: channelData }, { user, sandbox, sent }) => {
      const socketId = sent['socket_id'];
      const channel = sent['channel_name'];
      must(typeof socketId === 'string' && typeof channel === 'string', 'the page did not report the socket id and channel it sent');
      const Pusher = pusherSdk();
      const sdk = new Pusher({ appId: sandbox.settings['appId']!, key: sandbox.settings['key']!, secret: sandbox.secrets['secret']!, cluster: 'mt1' });
      const expected = sdk.authorizeChannel(socketId, channel, { user_id: user.id, user_info: { name: user.name } });
      must(channelData === expected.channel_data, "channel_data is not the signed-in user's");
      must(auth === expected.auth, "auth is not what the pusher SDK's authorizeChannel gives");
      return verified(`auth equals pusher.authorizeChannel(socket, ${channel}, { user_id: ${user.id} }) (the vendor's SDK)`);
    },
  },
];

/** The presets mounted with their sandbox settings. */
export interface DemoPresets {
  routers: Router[];
  /** Every preset's secrets by preset id: for redaction checks, never sent to the browser. */
  secrets: Readonly<Record<string, readonly string[]>>;
  /** The verdict on an answer the page got from preset `id`; `undefined` for an unknown id. */
  verify(id: string, body: Record<string, unknown>, user: DemoUser): Promise<PresetVerdict | undefined>;
}

/** Generate every preset's sandbox settings and build its router. */
export function setUpPresets(common: PresetCommon, presets: readonly DemoPreset[] = DEMO_PRESETS): DemoPresets {
  const mounted = new Map(presets.map((preset) => [preset.id, { preset, sandbox: preset.sandbox() }]));
  const asRecord = (value: unknown): Record<string, unknown> => (typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {});
  return {
    routers: [...mounted.values()].map(({ preset, sandbox }) => preset.router(sandbox, common)),
    secrets: Object.freeze(Object.fromEntries([...mounted].map(([id, { sandbox }]) => [id, Object.freeze(Object.values(sandbox.secrets))]))),
    async verify(id, body, user) {
      const entry = mounted.get(id);
      if (!entry) return undefined;
      const sent = Object.fromEntries(Object.entries(asRecord(body['sent'])).filter((e): e is [string, string] => typeof e[1] === 'string'));
      try {
        return await entry.preset.verify(asRecord(body['answer']), { user, sandbox: entry.sandbox, sent });
      } catch (err) {
        if (err instanceof Refusal) return failed(err.message);
        // jose's errors name the broken rule (signature, a claim, the token's form), never the key
        const code = (err as { code?: unknown }).code;
        if (typeof code === 'string' && code.startsWith('ERR_J')) return failed((err as Error).message.slice(0, 120));
        return failed('the answer is not a credential of this vendor');
      }
    },
  };
}
