import { createHash, generateKeyPair, randomUUID, timingSafeEqual, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import jwt from 'jsonwebtoken';
import { startFakeServer, type FakeAnswer, type FakeServer, type RecordedRequest } from './fake-server';

/** How the fake shapes its successful answers. */
export interface FakeWonderfulAnswerFormat {
  /** Answer `{ data: { jwt, expiresAt, id } }` instead of the bare object. Defaults to `false`. */
  wrap?: boolean;
  /** Fields left out of the answer, as some deployments do (the token still carries `exp` and `sub`). Defaults to none. */
  omit?: readonly ('expiresAt' | 'id')[];
}

/** Options of {@link startFakeWonderful}. */
export interface FakeWonderfulOptions extends FakeWonderfulAnswerFormat {
  /** The one API key the fake accepts in `x-api-key`. */
  apiKey: string;
  /**
   * Tenants the fake knows. When given, a request whose `X-Tenant-ID` is not among them
   * gets 403 `FORBIDDEN` (a request without the header is served). Defaults to any tenant.
   */
  tenants?: readonly string[];
  /** Clock for `iat`/`exp`, in milliseconds. Defaults to `Date.now`. */
  now?: () => number;
}

/** Claims of a token the fake signed. */
export interface FakeWonderfulClaims {
  /** The entity id the token was requested for. */
  sub: string;
  iat: number;
  exp: number;
  /** The `X-Tenant-ID` of the request, when it carried one. */
  tenantId?: string;
  /** The request's metadata, one claim per key. */
  [claim: string]: unknown;
}

/** A token the fake issued, as recorded in `issued`. */
export interface FakeWonderfulIssue {
  entityId: string;
  expiresIn: number;
  tenantId?: string;
  metadata?: Record<string, unknown>;
  jwt: string;
  expiresAt: number;
}

/** A running fake Wonderful API. */
export interface FakeWonderful extends FakeServer {
  /** The RS256 public key (SPKI PEM) every token is signed for. */
  readonly publicKey: string;
  /** Every token issued, oldest first. */
  issued: FakeWonderfulIssue[];
  /** Verify a token as the vendor's chat API would: RS256 with {@link publicKey}, not expired. Throws otherwise. */
  verify(token: string): FakeWonderfulClaims;
  /** Change how later answers are shaped. */
  setAnswerFormat(format: FakeWonderfulAnswerFormat): void;
}

/** Error codes the fake answers with, in `{ code, message }` bodies. */
export const FAKE_WONDERFUL_CODES = {
  unauthorized: 'UNAUTHORIZED',
  validation: 'VALIDATION_ERROR',
  forbidden: 'FORBIDDEN',
  unsupportedMediaType: 'UNSUPPORTED_MEDIA_TYPE',
  methodNotAllowed: 'METHOD_NOT_ALLOWED',
} as const;

const SIGN_PATH = '/api/v1/jwt/sign';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const RESERVED_CLAIMS = new Set(['sub', 'iat', 'exp', 'nbf', 'iss', 'aud', 'jti', 'tenantId']);
const MAX_METADATA_BYTES = 4096;

const sha256 = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

function refuse(status: number, code: string, message: string, requestId: string, extra: Record<string, string> = {}): FakeAnswer {
  return { status, body: { code, message }, headers: { 'x-request-id': requestId, ...extra } };
}

function header(req: RecordedRequest, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * Start a fake Wonderful API on `127.0.0.1` (real HTTP, ephemeral port) implementing
 * `POST /api/v1/jwt/sign` by the documented rules:
 *
 * | answer | when |
 * |---|---|
 * | 401 `UNAUTHORIZED` | `x-api-key` missing or not the configured key (compared in constant time) |
 * | 415 `UNSUPPORTED_MEDIA_TYPE` | the body is not `application/json` |
 * | 400 `VALIDATION_ERROR` | `entityId` not a UUID; `expiresIn` not a whole number from 60 to 86400; `metadata` not a JSON object, larger than 4 KiB serialised, or using a registered claim name (`sub`, `iat`, `exp`, `nbf`, `iss`, `aud`, `jti`, `tenantId`) |
 * | 403 `FORBIDDEN` | `tenants` is set and `X-Tenant-ID` is not one of them |
 * | 405 `METHOD_NOT_ALLOWED` | any method but `POST` |
 * | 200 `{ jwt, expiresAt, id }` | otherwise (inside `{ data: … }` when `wrap` is set) |
 *
 * Tokens are RS256 JWTs signed with a key pair generated at start: `sub` = the entity
 * id, `iat`, `exp` (= `expiresAt`), one claim per metadata key, and `tenantId` when
 * `X-Tenant-ID` was sent. Error bodies are `{ code, message }`; every answer of the
 * route carries an `x-request-id`. The result is a {@link FakeServer} (`requests`,
 * `connections`, `fault(…)`, `close()`) plus `publicKey`, `verify(jwt)`, `issued` and
 * `setAnswerFormat(…)`.
 *
 * @example
 * ```ts
 * const apiKey = `wk_test_${randomBytes(16).toString('hex')}`; // a placeholder such as wk_test_0123456789abcdef is refused
 * const fake = await startFakeWonderful({ apiKey });
 * app.use(wonderfulTokenRouter({ baseUrl: fake.url, apiKey, resolveUser }));
 * // … request a token, then:
 * expect(fake.verify(res.body.token).sub).toBe(res.body.id);
 * await fake.close();
 * ```
 */
export async function startFakeWonderful(options: FakeWonderfulOptions): Promise<FakeWonderful> {
  if (typeof options?.apiKey !== 'string' || options.apiKey.length === 0) throw new TypeError('startFakeWonderful: apiKey is required');
  const keyHash = sha256(options.apiKey);
  const tenants = options.tenants ? new Set(options.tenants) : undefined;
  const now = options.now ?? Date.now;
  let format: Required<FakeWonderfulAnswerFormat> = { wrap: options.wrap ?? false, omit: [...(options.omit ?? [])] };
  const { privateKey, publicKey } = await promisify(generateKeyPair)('rsa', { modulusLength: 2048 });
  const publicPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const kid = sha256(publicPem).toString('base64url').slice(0, 16);
  const issued: FakeWonderfulIssue[] = [];

  const handle = (req: RecordedRequest): FakeAnswer | undefined => {
    if (req.path !== SIGN_PATH) return undefined;
    const requestId = randomUUID();
    if (req.method !== 'POST') return refuse(405, FAKE_WONDERFUL_CODES.methodNotAllowed, 'Use POST.', requestId, { Allow: 'POST' });

    const given = header(req, 'x-api-key');
    if (given === undefined || !timingSafeEqual(sha256(given), keyHash)) {
      return refuse(401, FAKE_WONDERFUL_CODES.unauthorized, 'Invalid or missing API key.', requestId);
    }
    const tenantId = header(req, 'x-tenant-id');
    if (tenants && tenantId !== undefined && !tenants.has(tenantId)) {
      return refuse(403, FAKE_WONDERFUL_CODES.forbidden, 'Unknown tenant.', requestId);
    }
    if (!/^application\/json\b/i.test(header(req, 'content-type') ?? '')) {
      return refuse(415, FAKE_WONDERFUL_CODES.unsupportedMediaType, 'Send application/json.', requestId);
    }
    const body = req.json;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      return refuse(400, FAKE_WONDERFUL_CODES.validation, 'Body must be a JSON object.', requestId);
    }
    const { entityId, expiresIn = 3600, metadata } = body as Record<string, unknown>;
    if (typeof entityId !== 'string' || !UUID.test(entityId)) {
      return refuse(400, FAKE_WONDERFUL_CODES.validation, 'entityId must be a UUID.', requestId);
    }
    if (typeof expiresIn !== 'number' || !Number.isInteger(expiresIn) || expiresIn < 60 || expiresIn > 86_400) {
      return refuse(400, FAKE_WONDERFUL_CODES.validation, 'expiresIn must be an integer between 60 and 86400.', requestId);
    }
    if (metadata !== undefined) {
      if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) {
        return refuse(400, FAKE_WONDERFUL_CODES.validation, 'metadata must be a JSON object.', requestId);
      }
      if (Buffer.byteLength(JSON.stringify(metadata), 'utf8') > MAX_METADATA_BYTES) {
        return refuse(400, FAKE_WONDERFUL_CODES.validation, 'metadata must be at most 4KB when serialized.', requestId);
      }
      if (Object.keys(metadata).some((key) => RESERVED_CLAIMS.has(key))) {
        return refuse(400, FAKE_WONDERFUL_CODES.validation, 'metadata must not use registered claim names.', requestId);
      }
    }

    const iat = Math.floor(now() / 1000);
    const exp = iat + expiresIn;
    const claims: Record<string, unknown> = { ...(metadata as Record<string, unknown> | undefined), sub: entityId, iat, exp };
    if (tenantId !== undefined) claims['tenantId'] = tenantId;
    const token = jwt.sign(claims, privateKey, { algorithm: 'RS256', keyid: kid });
    issued.push({
      entityId,
      expiresIn,
      ...(tenantId !== undefined ? { tenantId } : {}),
      ...(metadata !== undefined ? { metadata: metadata as Record<string, unknown> } : {}),
      jwt: token,
      expiresAt: exp,
    });

    const answer: Record<string, unknown> = { jwt: token };
    if (!format.omit.includes('expiresAt')) answer['expiresAt'] = exp;
    if (!format.omit.includes('id')) answer['id'] = entityId;
    return { status: 200, body: format.wrap ? { data: answer } : answer, headers: { 'x-request-id': requestId } };
  };

  const server = await startFakeServer(handle);
  return Object.assign(server, {
    publicKey: publicPem,
    issued,
    verify(token: string): FakeWonderfulClaims {
      const claims = jwt.verify(token, publicKey as KeyObject, { algorithms: ['RS256'], clockTimestamp: Math.floor(now() / 1000) });
      if (typeof claims !== 'object' || claims === null || typeof claims.sub !== 'string') throw new Error('token has no string sub claim');
      return claims as FakeWonderfulClaims;
    },
    setAnswerFormat(next: FakeWonderfulAnswerFormat): void {
      format = { wrap: next.wrap ?? format.wrap, omit: [...(next.omit ?? format.omit)] };
    },
  });
}
