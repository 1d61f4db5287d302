import { createHash, generateKeyPair, randomBytes, timingSafeEqual, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import jwt from 'jsonwebtoken';
import { startFakeServer, type FakeAnswer, type FakeServer, type RecordedRequest } from './fake-server';

/** Options of {@link startFakeLiveblocks}. */
export interface FakeLiveblocksOptions {
  /** The one secret key (`sk_…`) the fake accepts as `Authorization: Bearer <secret>`. */
  secret: string;
  /** The project id written into every token (`pid`). Defaults to `'fake-project'`. */
  projectId?: string;
  /** Token lifetime in seconds (`exp - iat`). Defaults to 3600, as Liveblocks issues them. */
  tokenTtlSeconds?: number;
  /** Clock for `iat`/`exp`, in milliseconds. Defaults to `Date.now`. */
  now?: () => number;
}

/** Claims of a token the fake signed (the payload @liveblocks/client reads). */
export interface FakeLiveblocksClaims {
  /** `'acc'` for an access token, `'id'` for an ID token. */
  k: 'acc' | 'id';
  /** The project id. */
  pid: string;
  /** The user id. */
  uid: string;
  /** Access tokens: room id or pattern (`prefix*`) → permission scopes. */
  perms?: Record<string, string[]>;
  /** ID tokens: the group ids, when the request gave some. */
  gids?: string[];
  /** The request's `userInfo`, when it gave one. */
  ui?: Record<string, unknown>;
  iat: number;
  exp: number;
  /** A random token id. */
  jti: string;
}

/** A token the fake issued, as recorded in `issued`. */
export interface FakeLiveblocksIssue {
  /** `'access'` from `/v2/authorize-user`, `'id'` from `/v2/identify-user`. */
  kind: 'access' | 'id';
  userId: string;
  /** Access tokens: the permissions as requested. */
  permissions?: Record<string, string[]>;
  /** ID tokens: the group ids as requested. */
  groupIds?: string[];
  userInfo?: Record<string, unknown>;
  organizationId?: string;
  token: string;
  /** `exp` of the token, in seconds since the epoch. */
  expiresAt: number;
}

/** A running fake Liveblocks API. */
export interface FakeLiveblocks extends FakeServer {
  /** The RS256 public key (SPKI PEM) every token is signed for. */
  readonly publicKey: string;
  /** Every token issued, oldest first. */
  issued: FakeLiveblocksIssue[];
  /** Check a token the fake signed: RS256 with {@link publicKey}, not expired by the fake's clock. Throws otherwise. */
  verify(token: string): FakeLiveblocksClaims;
}

const AUTHORIZE_PATH = '/v2/authorize-user';
const IDENTIFY_PATH = '/v2/identify-user';
/** @liveblocks/node refuses more patterns per token: the token would grow too large. */
const MAX_ROOM_PATTERNS = 10;
/** The permission scopes Liveblocks knows (legacy `room:*` names included). */
const SCOPES = new Set([
  '*:read',
  '*:write',
  'room:read',
  'room:write',
  'room:presence:write',
  'storage:read',
  'storage:write',
  'storage:none',
  'comments:read',
  'comments:write',
  'comments:none',
  'comments:public:read',
  'comments:public:write',
  'comments:public:none',
  'comments:private:read',
  'comments:private:write',
  'comments:private:none',
  'feeds:read',
  'feeds:write',
  'feeds:none',
]);

const sha256 = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

function refuse(status: number, error: string, message: string, extra: Record<string, string> = {}): FakeAnswer {
  return { status, body: { error, message }, headers: extra };
}

function header(req: RecordedRequest, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** What is wrong with a `permissions` value, or `undefined`. */
function permissionsProblem(permissions: unknown): string | undefined {
  if (!isRecord(permissions)) return "'permissions' must be an object of room patterns to scope lists";
  const patterns = Object.keys(permissions);
  if (patterns.length > MAX_ROOM_PATTERNS) return `'permissions' may hold at most ${MAX_ROOM_PATTERNS} room ids or patterns`;
  for (const pattern of patterns) {
    const star = pattern.indexOf('*');
    if (pattern === '' || (star !== -1 && star !== pattern.length - 1)) return `room pattern '${pattern}' must be non-empty, with '*' only at its end`;
    const scopes = permissions[pattern];
    if (!Array.isArray(scopes) || scopes.length === 0) return `'permissions.${pattern}' must be a non-empty list of scopes`;
    const unknown = scopes.find((scope) => typeof scope !== 'string' || !SCOPES.has(scope));
    if (unknown !== undefined) return `'permissions.${pattern}' holds an unknown scope: ${JSON.stringify(unknown)}`;
  }
  return undefined;
}

/**
 * Start a fake Liveblocks API on `127.0.0.1` (real HTTP, ephemeral port) implementing the
 * two authentication routes @liveblocks/node calls:
 *
 * | answer | when |
 * |---|---|
 * | 401 `Unauthorized` | no `Authorization: Bearer …` header |
 * | 403 `Forbidden` | a bearer secret other than the configured one (compared in constant time) |
 * | 400 `Bad Request` | the body is not a JSON object |
 * | 422 `Unprocessable Entity` | `userId` not a non-empty string; for `/v2/authorize-user`, `permissions` missing, with more than 10 room patterns, a `*` anywhere but at the end of a pattern, or an empty or unknown scope list; `userInfo` not an object; `groupIds` not a list of strings; `organizationId` not a string |
 * | 405 `Method Not Allowed` | any method but `POST` |
 * | 200 `{ token }` | otherwise |
 *
 * `POST /v2/authorize-user` (`{ userId, permissions, userInfo?, organizationId? }`)
 * answers an access token, `POST /v2/identify-user` (`{ userId, groupIds?, userInfo?,
 * organizationId? }`) an ID token. Tokens are RS256 JWTs, signed with a key pair
 * generated at start, carrying the claims @liveblocks/client reads: `k` (`acc` or
 * `id`), `pid`, `uid`, `perms` or `gids`, `ui`, `iat`, `exp` (an hour later by
 * default) and `jti`. Error bodies are `{ error, message }`, the fields @liveblocks/node
 * reads. The result is a {@link FakeServer} (`requests`, `connections`, `fault(…)`,
 * `close()`) plus `publicKey`, `verify(token)` and `issued`.
 *
 * @example
 * ```ts
 * const secret = `sk_test_${randomBytes(16).toString('hex')}`;
 * const fake = await startFakeLiveblocks({ secret });
 * const res = await fetch(`${fake.url}/v2/authorize-user`, {
 *   method: 'POST',
 *   headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
 *   body: JSON.stringify({ userId: 'user-1', permissions: { 'room-1': ['room:write'] } }),
 * });
 * expect(fake.verify(((await res.json()) as { token: string }).token).uid).toBe('user-1');
 * await fake.close();
 * ```
 */
export async function startFakeLiveblocks(options: FakeLiveblocksOptions): Promise<FakeLiveblocks> {
  if (typeof options?.secret !== 'string' || options.secret.length === 0) throw new TypeError('startFakeLiveblocks: secret is required');
  const secretHash = sha256(options.secret);
  const projectId = options.projectId ?? 'fake-project';
  const ttl = options.tokenTtlSeconds ?? 3600;
  const now = options.now ?? Date.now;
  const { privateKey, publicKey } = await promisify(generateKeyPair)('rsa', { modulusLength: 2048 });
  const publicPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const kid = sha256(publicPem).toString('base64url').slice(0, 16);
  const issued: FakeLiveblocksIssue[] = [];

  const handle = (req: RecordedRequest): FakeAnswer | undefined => {
    if (req.path !== AUTHORIZE_PATH && req.path !== IDENTIFY_PATH) return undefined;
    if (req.method !== 'POST') return refuse(405, 'Method Not Allowed', 'Use POST.', { Allow: 'POST' });

    const authorization = /^Bearer (.+)$/.exec(header(req, 'authorization') ?? '');
    if (!authorization) return refuse(401, 'Unauthorized', 'Missing secret key.');
    if (!timingSafeEqual(sha256(authorization[1]!), secretHash)) return refuse(403, 'Forbidden', 'Invalid secret key.');

    const body = /^application\/json\b/i.test(header(req, 'content-type') ?? '') ? req.json : undefined;
    if (!isRecord(body)) return refuse(400, 'Bad Request', 'The body must be a JSON object.');
    const { userId, permissions, groupIds, userInfo, organizationId } = body;
    const invalid = (message: string) => refuse(422, 'Unprocessable Entity', message);
    if (typeof userId !== 'string' || userId === '') return invalid("'userId' must be a non-empty string");
    if (userInfo !== undefined && !isRecord(userInfo)) return invalid("'userInfo' must be an object");
    if (organizationId !== undefined && typeof organizationId !== 'string') return invalid("'organizationId' must be a string");

    const iat = Math.floor(now() / 1000);
    const claims: Record<string, unknown> = { pid: projectId, uid: userId };
    const issue: Omit<FakeLiveblocksIssue, 'token' | 'expiresAt'> & { kind: 'access' | 'id' } = { kind: 'access', userId };
    if (req.path === AUTHORIZE_PATH) {
      const problem = permissionsProblem(permissions);
      if (problem) return invalid(problem);
      claims['k'] = 'acc';
      claims['perms'] = permissions;
      issue.permissions = permissions as Record<string, string[]>;
    } else {
      if (groupIds !== undefined && !(Array.isArray(groupIds) && groupIds.every((g) => typeof g === 'string'))) return invalid("'groupIds' must be a list of strings");
      claims['k'] = 'id';
      issue.kind = 'id';
      if (groupIds !== undefined) {
        claims['gids'] = groupIds;
        issue.groupIds = groupIds as string[];
      }
    }
    if (userInfo !== undefined) {
      claims['ui'] = userInfo;
      issue.userInfo = userInfo;
    }
    if (organizationId !== undefined) issue.organizationId = organizationId;
    Object.assign(claims, { iat, exp: iat + ttl, jti: randomBytes(9).toString('base64url') });

    const token = jwt.sign(claims, privateKey, { algorithm: 'RS256', keyid: kid });
    issued.push({ ...issue, token, expiresAt: iat + ttl });
    return { status: 200, body: { token } };
  };

  const server = await startFakeServer(handle);
  return Object.assign(server, {
    publicKey: publicPem,
    issued,
    verify(token: string): FakeLiveblocksClaims {
      const claims = jwt.verify(token, publicKey as KeyObject, { algorithms: ['RS256'], clockTimestamp: Math.floor(now() / 1000) });
      if (typeof claims !== 'object' || claims === null || (claims['k'] !== 'acc' && claims['k'] !== 'id') || typeof claims['uid'] !== 'string') {
        throw new Error('token is not a Liveblocks access or ID token');
      }
      return claims as unknown as FakeLiveblocksClaims;
    },
  });
}
