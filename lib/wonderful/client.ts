import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { closestName, parseOptions, secretString, vendorBaseUrl, type WeakSecretOption } from '../core/config';
import { WidgetAuthError, secretEchoError, withUpstreamMs, type WidgetAuthErrorCode } from '../core/errors';
import { createSecretMatcher, searchesFor } from '../core/logger';
import { isPlainObject, isRecord } from '../core/json';
import { unverifiedJwtClaims } from '../core/jwt';
import { createUpstreamClient, upstreamOptionsShape, type CallContext, type UpstreamOptions, type VendorResponse } from '../core/upstream';
import { isUuid } from './entity';

/** What {@link WonderfulAuthClient.sign} takes (the vendor SDK's `SignRequest`). */
export interface SignRequest {
  /** End-user identifier, a UUID. Defaults to a fresh random UUID. */
  id?: string;
  /** Tenant of a multi-tenant deployment, sent as `X-Tenant-ID`. Defaults to the client's `tenantId`. */
  tenantId?: string;
  /** Custom claims for the token: a plain JSON object of at most 4 KiB serialised. Defaults to none. */
  metadata?: Record<string, unknown>;
  /** Token lifetime in whole seconds, 60 to 86400. Defaults to 3600. */
  expiresIn?: number;
}

/** What {@link WonderfulAuthClient.sign} resolves to (the vendor SDK's `SignResponse`). */
export interface SignResponse {
  /** The signed JWT the browser SDK takes as `signedToken`. */
  jwt: string;
  /** When the token expires, in Unix seconds. */
  expiresAt: number;
  /** The end-user identifier the token was issued for (its `sub` claim). */
  id: string;
}

/** Options of {@link WonderfulAuthClient}. */
export interface WonderfulAuthClientOptions extends UpstreamOptions, WeakSecretOption {
  /** Wonderful API base URL (env `WONDERFUL_API_URL`), `https:` (plain `http:` on loopback only). */
  baseUrl: string;
  /** Server-side API key (env `WONDERFUL_API_KEY`), at least 16 characters. Never send it to a browser. */
  apiKey: string;
  /** Tenant sent as `X-Tenant-ID` on every call (env `WONDERFUL_TENANT_ID`). Defaults to none. */
  tenantId?: string;
}

/** Path of the vendor's signing endpoint, below the base URL. */
export const WONDERFUL_SIGN_PATH = '/api/v1/jwt/sign';
/** Shortest token lifetime the vendor accepts, in seconds. */
export const WONDERFUL_MIN_EXPIRES_IN = 60;
/** Longest token lifetime the vendor accepts, in seconds. */
export const WONDERFUL_MAX_EXPIRES_IN = 86_400;
/** Token lifetime used when none is given, in seconds. */
export const WONDERFUL_DEFAULT_EXPIRES_IN = 3600;
/** Largest `metadata` the vendor accepts, in UTF-8 bytes of its JSON form. */
export const WONDERFUL_MAX_METADATA_BYTES = 4096;

const TENANT = /^[\x21-\x7e]{1,256}$/;
const JWT_FORM = /^[\w-]+\.[\w-]+\.[\w-]*$/;

/** zod schema of the API key. */
export const wonderfulApiKey = secretString(16);
/** zod schema of a tenant id: 1–256 visible ASCII characters (it travels in a header). */
export const wonderfulTenantId = z
  .string({ error: 'must be a string' })
  .regex(TENANT, 'must be 1–256 visible ASCII characters without spaces');
/** zod schema of a token lifetime in seconds. */
export const wonderfulExpiresIn = z
  .number({ error: 'must be a number of seconds' })
  .int('must be a whole number of seconds')
  .min(WONDERFUL_MIN_EXPIRES_IN, `must be between ${WONDERFUL_MIN_EXPIRES_IN} and ${WONDERFUL_MAX_EXPIRES_IN} seconds`)
  .max(WONDERFUL_MAX_EXPIRES_IN, `must be between ${WONDERFUL_MIN_EXPIRES_IN} and ${WONDERFUL_MAX_EXPIRES_IN} seconds`);

/** zod shape of {@link WonderfulAuthClientOptions}, shared with the router's options. */
export const wonderfulClientShape = {
  baseUrl: vendorBaseUrl(WONDERFUL_SIGN_PATH),
  apiKey: wonderfulApiKey,
  tenantId: wonderfulTenantId.optional(),
  ...upstreamOptionsShape,
};

const clientSchema = z.object(wonderfulClientShape).strict();

/** Resolved client configuration. */
export type WonderfulClientConfig = z.output<typeof clientSchema>;

/** A request that passed the vendor's rules, ready to send. */
export interface CheckedSignRequest {
  entityId: string;
  expiresIn: number;
  metadata?: Record<string, unknown>;
  tenantId?: string;
}

const REQUEST_FIELDS = ['id', 'tenantId', 'metadata', 'expiresIn'];

function invalid(field: string, message: string): WidgetAuthError {
  return new WidgetAuthError('VALIDATION_ERROR', message, { field });
}

function label(key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key.slice(0, 64)}` : `[${JSON.stringify(key.slice(0, 64))}]`;
}

/** Throws unless `value` is made only of JSON values (no class instances, functions, NaN, …). */
function checkJsonValue(value: unknown, path: string): void {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw invalid('metadata', `${path} must be a finite number.`);
    return;
  }
  if (Array.isArray(value)) {
    value.forEach((item, i) => checkJsonValue(item, `${path}[${i}]`));
    return;
  }
  if (isPlainObject(value)) {
    // undefined properties are omitted, as JSON.stringify omits them
    for (const [key, item] of Object.entries(value)) if (item !== undefined) checkJsonValue(item, `${path}${label(key)}`);
    return;
  }
  throw invalid('metadata', `${path} must be a JSON value (string, number, boolean, null, array or plain object).`);
}

function checkMetadata(value: unknown): Record<string, unknown> {
  if (!isPlainObject(value)) throw invalid('metadata', 'metadata must be a plain JSON object.');
  let text: string;
  try {
    text = JSON.stringify(value);
  } catch {
    throw invalid('metadata', 'metadata must be serialisable as JSON (no cycles or BigInt values).');
  }
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > WONDERFUL_MAX_METADATA_BYTES) {
    throw invalid('metadata', `metadata must be at most ${WONDERFUL_MAX_METADATA_BYTES} bytes as JSON (it is ${bytes}).`);
  }
  checkJsonValue(value, 'metadata');
  return value;
}

/**
 * Apply the vendor's documented rules to a sign request before anything is sent:
 * `id` a UUID or omitted (then a random UUID), `expiresIn` a whole number of seconds
 * from 60 to 86400 (default 3600), `metadata` a plain JSON object of at most 4 KiB.
 * Throws `VALIDATION_ERROR` naming the field.
 */
export function checkSignRequest(request: unknown): CheckedSignRequest {
  if (request === undefined) request = {};
  if (!isPlainObject(request)) throw invalid('request', 'The sign request must be an object.');
  for (const key of Object.keys(request)) {
    if (REQUEST_FIELDS.includes(key)) continue;
    const hint = closestName(key, REQUEST_FIELDS);
    throw invalid(key.slice(0, 64), `Unknown field "${key.slice(0, 64)}"${hint ? ` (did you mean "${hint}"?)` : ''}.`);
  }
  const { id, tenantId, metadata, expiresIn } = request;
  if (id !== undefined && !isUuid(id)) throw invalid('id', 'id must be a UUID (or be omitted).');
  if (tenantId !== undefined && !(typeof tenantId === 'string' && TENANT.test(tenantId))) {
    throw invalid('tenantId', 'tenantId must be 1–256 visible ASCII characters without spaces.');
  }
  if (expiresIn !== undefined && !wonderfulExpiresIn.safeParse(expiresIn).success) {
    throw invalid('expiresIn', `expiresIn must be a whole number of seconds from ${WONDERFUL_MIN_EXPIRES_IN} to ${WONDERFUL_MAX_EXPIRES_IN}.`);
  }
  const checked: CheckedSignRequest = {
    entityId: id === undefined ? randomUUID() : id.toLowerCase(),
    expiresIn: (expiresIn as number | undefined) ?? WONDERFUL_DEFAULT_EXPIRES_IN,
  };
  if (metadata !== undefined) checked.metadata = checkMetadata(metadata);
  if (tenantId !== undefined) checked.tenantId = tenantId;
  return checked;
}

const signedSchema = z
  .object({
    jwt: z.string().regex(JWT_FORM, 'must be a JWT'),
    expiresAt: z.number().int().positive().optional(),
    id: z.string().min(1).optional(),
  })
  .loose();

type SignedAnswer = z.output<typeof signedSchema>;

/**
 * The vendor's answer: `{ jwt, expiresAt?, id? }`, or the same inside `{ data: … }` when
 * the body has no `jwt` of its own (a body with both is read as the bare form, so its
 * own `jwt` must be valid).
 */
export const signAnswerSchema = z
  .union([signedSchema, z.object({ data: signedSchema }).loose().refine((body) => !('jwt' in body))])
  .transform((body) => ('jwt' in body ? (body as SignedAnswer) : (body as { data: SignedAnswer }).data));

/** `signedSchema`'s rules without zod: the fields when they certainly hold, `undefined` otherwise. */
function signedFields(value: unknown): SignedAnswer | undefined {
  if (!isRecord(value)) return undefined;
  const { jwt, expiresAt, id } = value;
  if (typeof jwt !== 'string' || !JWT_FORM.test(jwt)) return undefined;
  if (expiresAt !== undefined && !(Number.isSafeInteger(expiresAt) && (expiresAt as number) > 0)) return undefined;
  if (id !== undefined && !(typeof id === 'string' && id.length > 0)) return undefined;
  return value as SignedAnswer;
}

/**
 * What {@link signAnswerSchema} gives for a valid answer, without zod (the path of every
 * call); `undefined` leaves the body to the schema, which also says why it is refused.
 */
export function acceptSignAnswer(json: unknown): SignedAnswer | undefined {
  if (!isRecord(json)) return undefined;
  return 'jwt' in json ? signedFields(json) : signedFields(json['data']);
}

/** A signed token plus the time spent waiting on the vendor. */
export interface SignOutcome extends SignResponse {
  upstreamMs: number;
  /** The vendor's HTTP status. */
  status: number;
  /** The token's own `exp` claim (Unix seconds), when it has a numeric one. */
  tokenExp: number | undefined;
  /** The text the caller sends for this answer (`sentText`), when a route's search searched it; `undefined` otherwise. */
  sent: string | undefined;
}

/** A search for a secret that also knows secrets besides the API key (a route's). */
export interface SecretSearch {
  holdsSecret(text: string): boolean;
}

/**
 * A function that sends a checked request and resolves the answer, searched for the API
 * key before any other check of it; a router passes the request's close signal and the
 * user's key as `context`, and as `search` its route's own search, which then searches
 * the text the router will send (see {@link createWonderfulSigner}) instead of the token
 * (with the API key searched for by the signer too unless the route's search looks for it).
 */
export type WonderfulSigner = (request: CheckedSignRequest, context?: CallContext, search?: SecretSearch) => Promise<SignOutcome>;

/**
 * The error for an answer that holds the API key (`whose`: whose secret it was),
 * with the call's duration as the upstream client's own errors carry it.
 */
export function tokenHoldsSecret(status: number, upstreamMs: number, whose = 'the API key'): WidgetAuthError {
  return secretEchoError(`Wonderful answered ${status} with a token that holds ${whose}; it was not passed on.`, { upstreamStatus: status, upstreamMs });
}

/** Whether an id the answer gives (absent, or any letter case) names the requested entity. */
function ofEntity(id: string | undefined, entityId: string): boolean {
  return id === undefined || id.toLowerCase() === entityId;
}

/** An invalid-answer error carrying the call's duration, as the upstream client's own errors do. */
function answerError(message: string, status: number, upstreamMs: number): WidgetAuthError {
  return withUpstreamMs(new WidgetAuthError('UPSTREAM_INVALID_RESPONSE', message, { upstreamStatus: status }), upstreamMs);
}

/**
 * The signing call shared by the client and the router. It fails with the pipeline's
 * canonical codes (`UPSTREAM_REJECTED`, `UPSTREAM_UNAVAILABLE`, `UPSTREAM_TIMEOUT`,
 * `UPSTREAM_INVALID_RESPONSE`); each caller renames them for its audience. One upstream
 * client per signer, so connections to the vendor are reused and bounded
 * (`maxInFlightPerUser` applies to calls made with a `userKey`). `sentText` gives the
 * exact text a caller sends for an answer (the router's JSON body): a call given a
 * route's search searches that text, so the route's answer is not searched again.
 * Defaults to the token alone.
 */
export function createWonderfulSigner(config: WonderfulClientConfig & { maxInFlightPerUser?: number | undefined }, sentText: (answer: SignResponse) => string = (answer) => answer.jwt): WonderfulSigner {
  const upstream = createUpstreamClient('Wonderful', config);
  const url = `${config.baseUrl}${WONDERFUL_SIGN_PATH}`;
  const apiKey = config.apiKey;
  const apiKeys = [apiKey];
  const secrets = createSecretMatcher(apiKeys);

  /** The answer checked as the signer's doc says: searched for a secret first, then its claims and its entity. */
  const checked = (request: CheckedSignRequest, search: SecretSearch | undefined, sentAt: number, { data, status, upstreamMs }: VendorResponse<SignedAnswer>): SignOutcome => {
    // the answer as it would be passed on, searched for a secret before any other check of
    // it: only the token (checked below) and the ids (checked to be the entity's) are passed on
    const claims = unverifiedJwtClaims(data.jwt);
    const sub = claims?.sub;
    const tokenExp = typeof claims?.exp === 'number' && Number.isFinite(claims.exp) ? Math.floor(claims.exp) : undefined;
    const answer: SignResponse = { jwt: data.jwt, expiresAt: data.expiresAt ?? tokenExp ?? sentAt + request.expiresIn, id: data.id ?? (typeof sub === 'string' ? sub : undefined) ?? request.entityId };
    let sent: string | undefined;
    if (search === undefined) {
      if (secrets.contains(data.jwt)) throw tokenHoldsSecret(status, upstreamMs);
    } else {
      const text = (sent = sentText(answer));
      // the API key is searched for by the signer itself unless the route's search looks for it too (the router's own does)
      const holdsKey = !searchesFor(search, apiKeys) && secrets.contains(text);
      if (holdsKey || search.holdsSecret(text)) throw tokenHoldsSecret(status, upstreamMs, holdsKey || secrets.contains(text) ? 'the API key' : 'the secret of another router mounted with it');
    }

    if (claims === undefined) throw answerError(`Wonderful answered ${status} with a jwt whose claims are not one JSON object naming each member once.`, status, upstreamMs);
    if (sub !== undefined && typeof sub !== 'string') throw answerError(`Wonderful answered ${status} with a jwt whose sub is not a string.`, status, upstreamMs);
    // a token for anyone but the requested entity must never reach a browser
    if (!ofEntity(data.id, request.entityId)) throw answerError(`Wonderful answered ${status} with a token for another entity (id).`, status, upstreamMs);
    if (!ofEntity(sub, request.entityId)) throw answerError(`Wonderful answered ${status} with a token for another entity (jwt sub).`, status, upstreamMs);
    return { jwt: answer.jwt, expiresAt: answer.expiresAt, id: answer.id, upstreamMs, status, tokenExp, sent };
  };

  // not an async function: V8 gives each call of one a copy of its registers; the answer is checked in `checked`
  return (request, context, search) => {
    let call: Promise<VendorResponse<SignedAnswer>>;
    let sentAt: number;
    try {
      const tenantId = request.tenantId ?? config.tenantId;
      const headers: Record<string, string> = { 'x-api-key': apiKey };
      if (tenantId !== undefined) headers['X-Tenant-ID'] = tenantId;
      const body: Record<string, unknown> = { entityId: request.entityId, expiresIn: request.expiresIn };
      if (request.metadata !== undefined) body['metadata'] = request.metadata;
      sentAt = Math.floor(Date.now() / 1000);
      call = upstream.call({ url, method: 'POST', headers, body, schema: signAnswerSchema, accept: acceptSignAnswer, signal: context?.signal, userKey: context?.userKey, redact: secrets.redact });
    } catch (err) {
      return Promise.reject(err);
    }
    return call.then((answer) => checked(request, search, sentAt, answer));
  };
}

/** Rename the pipeline's canonical vendor-failure codes to the vendor SDK's codes. */
function sdkError(err: unknown): WidgetAuthError {
  if (!(err instanceof WidgetAuthError)) return new WidgetAuthError('UPSTREAM_ERROR', 'Signing with Wonderful failed unexpectedly.', { cause: err });
  if (err.code === 'VALIDATION_ERROR') return err;
  let code: WidgetAuthErrorCode = 'UPSTREAM_ERROR';
  let message = err.message;
  if (err.code === 'UPSTREAM_UNAVAILABLE' || err.code === 'UPSTREAM_TIMEOUT') code = 'NETWORK_ERROR';
  else if (err.code === 'UPSTREAM_REJECTED' && (err.upstreamStatus === 401 || err.upstreamStatus === 403)) {
    code = 'UNAUTHORIZED';
    message = `Wonderful refused the API key (HTTP ${err.upstreamStatus}).`;
  }
  return new WidgetAuthError(code, message, {
    // a refused API key is this server's problem, not the browser's session: never 401
    status: err.status,
    cause: err,
    ...(err.retryAfterSeconds !== undefined ? { retryAfterSeconds: err.retryAfterSeconds } : {}),
    ...(err.vendorCode !== undefined ? { vendorCode: err.vendorCode } : {}),
    ...(err.correlationId !== undefined ? { correlationId: err.correlationId } : {}),
    ...(err.upstreamStatus !== undefined ? { upstreamStatus: err.upstreamStatus } : {}),
  });
}

/**
 * Server-side client of Wonderful's JWT signing API, with the vendor SDK's
 * `sdk.auth.sign()` request and response shapes. Options are checked once, here;
 * each `sign` checks its request before any network call.
 *
 * `sign` fails with a {@link WidgetAuthError} whose `code` is one of the SDK's:
 * `VALIDATION_ERROR` (400, the request broke a documented rule), `UNAUTHORIZED` (the
 * vendor refused the API key), `NETWORK_ERROR` (the vendor was unreachable, failed
 * with 5xx or 429, or timed out) or `UPSTREAM_ERROR` (any other vendor failure,
 * including an answer of the wrong shape). Vendor failures keep the pipeline's
 * canonical error (`UPSTREAM_TIMEOUT`, …) as `cause`, and their `status` is a 5xx:
 * the browser's own session is never at fault.
 *
 * @example
 * ```ts
 * const wonderful = new WonderfulAuthClient({ baseUrl: process.env.WONDERFUL_API_URL!, apiKey: process.env.WONDERFUL_API_KEY! });
 * const { jwt, expiresAt, id } = await wonderful.sign({ id: user.entityId, metadata: { plan: 'pro' } });
 * ```
 */
export class WonderfulAuthClient {
  readonly #sign: WonderfulSigner;

  constructor(options: WonderfulAuthClientOptions) {
    this.#sign = createWonderfulSigner(parseOptions('WonderfulAuthClient', clientSchema, options));
  }

  /** Sign a JWT for one end user. See the class description for the failure codes. */
  async sign(request: SignRequest = {}): Promise<SignResponse> {
    const checked = checkSignRequest(request);
    try {
      const { jwt, expiresAt, id } = await this.#sign(checked);
      return { jwt, expiresAt, id };
    } catch (err) {
      throw sdkError(err);
    }
  }
}
