import { createHash, generateKeyPair, randomUUID, timingSafeEqual, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import jwt from 'jsonwebtoken';
import { startFakeServer, type FakeAnswer, type FakeServer, type RecordedRequest } from './fake-server';

/** The scope a private app needs to create visitor identification tokens. */
const SCOPE = 'conversations.visitor_identification.tokens.create';

/** Options of {@link startFakeHubSpot}. */
export interface FakeHubSpotOptions {
  /** The private app access token the fake accepts as `Authorization: Bearer <token>`. */
  accessToken: string;
  /**
   * Whether the account's plan includes visitor identification (Professional or
   * Enterprise). When `false`, every token request gets the 403 such accounts get.
   * Change it later with `setVisitorIdentification(…)`. Defaults to `true`.
   */
  visitorIdentification?: boolean;
  /**
   * Scopes granted to the private app. Without
   * `conversations.visitor_identification.tokens.create` the fake answers 403
   * `MISSING_SCOPES`. Defaults to that one scope.
   */
  scopes?: readonly string[];
  /** Token lifetime in milliseconds. Defaults to 12 hours, as HubSpot documents. */
  tokenTtlMs?: number;
  /** Clock for `iat`/`exp`, in milliseconds. Defaults to `Date.now`. */
  now?: () => number;
}

/** Claims of a token the fake signed. */
export interface FakeHubSpotClaims {
  /** The visitor's email, as requested. */
  email: string;
  firstName?: string;
  lastName?: string;
  iat: number;
  exp: number;
}

/** A token the fake issued, as recorded in `issued`. */
export interface FakeHubSpotIssue {
  email: string;
  firstName?: string;
  lastName?: string;
  token: string;
  /** `exp` of the token, in seconds since the epoch. */
  expiresAt: number;
  /** The route the request used (the versioned and the legacy paths are all served). */
  path: string;
  correlationId: string;
}

/** An error the fake answered, as recorded in `errors`. */
export interface FakeHubSpotError {
  status: number;
  /** HubSpot's error `category`, e.g. `INVALID_AUTHENTICATION`. */
  category: string;
  correlationId: string;
}

/** A running fake HubSpot API. */
export interface FakeHubSpot extends FakeServer {
  /** The RS256 public key (SPKI PEM) every token is signed for. */
  readonly publicKey: string;
  /** Every token issued, oldest first. */
  issued: FakeHubSpotIssue[];
  /** Every error answered by the route (not injected faults), oldest first. */
  errors: FakeHubSpotError[];
  /** Check a token the fake signed: RS256 with {@link publicKey}, not expired by the fake's clock. Throws otherwise. */
  verify(token: string): FakeHubSpotClaims;
  /** Switch the plan: `false` makes every later token request answer 403, as for an account without the feature. */
  setVisitorIdentification(available: boolean): void;
}

/** Error categories the fake answers with, in HubSpot's error bodies. */
export const FAKE_HUBSPOT_CATEGORIES = {
  invalidAuthentication: 'INVALID_AUTHENTICATION',
  missingScopes: 'MISSING_SCOPES',
  featureNotInPlan: 'FORBIDDEN',
  validation: 'VALIDATION_ERROR',
} as const;

/**
 * The token route under its three names: the documented `/visitor-identification/v3/…`,
 * the date-versioned `/visitor-identification/<yyyy-mm>/…`, and the older
 * `/conversations/v3/visitor-identification/…` that HubSpot's client libraries call.
 */
const TOKEN_PATH = /^(?:\/visitor-identification\/(?:v3|\d{4}-\d{2})|\/conversations\/v3\/visitor-identification)\/tokens\/create$/;
const EMAIL = /^[^\s@]+@[^\s@]+$/;

const sha256 = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

function header(req: RecordedRequest, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * Start a fake HubSpot API on `127.0.0.1` (real HTTP, ephemeral port) implementing the
 * visitor identification token route, `POST /visitor-identification/v3/tokens/create`
 * (also served as `/visitor-identification/<yyyy-mm>/tokens/create` and as the older
 * `/conversations/v3/visitor-identification/tokens/create`), with a private app's
 * bearer token and the body `{ email, firstName?, lastName? }`:
 *
 * | answer | when |
 * |---|---|
 * | 401 `INVALID_AUTHENTICATION` | no bearer token, or not the configured one (compared in constant time) |
 * | 403 `MISSING_SCOPES` | `scopes` lacks `conversations.visitor_identification.tokens.create` |
 * | 403 `FORBIDDEN` | the plan lacks visitor identification (`visitorIdentification: false`) |
 * | 400 `VALIDATION_ERROR` | the body is not a JSON object, `email` is missing or not an email, or a name is not a string |
 * | 405 | any method but `POST` |
 * | 200 `{ token }` | otherwise |
 *
 * Error bodies follow HubSpot's error schema: `{ status: 'error', message,
 * correlationId, category, errors? }`; every answer of the route carries an
 * `X-HubSpot-Correlation-Id` header. Tokens are RS256 JWTs signed with a key pair
 * generated at start, carrying `email`, `firstName`, `lastName`, `iat` and `exp` (12
 * hours later by default). The result is a {@link FakeServer} (`requests`,
 * `connections`, `fault(…)`, `close()`) plus `publicKey`, `verify(token)`, `issued`,
 * `errors` and `setVisitorIdentification(…)`.
 *
 * @example
 * ```ts
 * const accessToken = `pat-na1-${randomUUID()}`;
 * const fake = await startFakeHubSpot({ accessToken });
 * const res = await fetch(`${fake.url}/visitor-identification/v3/tokens/create`, {
 *   method: 'POST',
 *   headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json' },
 *   body: JSON.stringify({ email: 'ada@example.com' }),
 * });
 * expect(fake.verify(((await res.json()) as { token: string }).token).email).toBe('ada@example.com');
 * fake.setVisitorIdentification(false); // now 403, as on a Starter plan
 * await fake.close();
 * ```
 */
export async function startFakeHubSpot(options: FakeHubSpotOptions): Promise<FakeHubSpot> {
  if (typeof options?.accessToken !== 'string' || options.accessToken.length === 0) throw new TypeError('startFakeHubSpot: accessToken is required');
  const tokenHash = sha256(options.accessToken);
  const scopes = new Set(options.scopes ?? [SCOPE]);
  const ttlSeconds = Math.floor((options.tokenTtlMs ?? 12 * 3600_000) / 1000);
  const now = options.now ?? Date.now;
  let available = options.visitorIdentification ?? true;
  const { privateKey, publicKey } = await promisify(generateKeyPair)('rsa', { modulusLength: 2048 });
  const publicPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const issued: FakeHubSpotIssue[] = [];
  const errors: FakeHubSpotError[] = [];

  const handle = (req: RecordedRequest): FakeAnswer | undefined => {
    if (!TOKEN_PATH.test(req.path)) return undefined;
    const correlationId = randomUUID();
    const headers = { 'X-HubSpot-Correlation-Id': correlationId };
    const fail = (status: number, category: string, message: string, extra: Record<string, unknown> = {}): FakeAnswer => {
      errors.push({ status, category, correlationId });
      return { status, headers, body: { status: 'error', message, correlationId, category, ...extra } };
    };
    if (req.method !== 'POST') return { status: 405, headers: { ...headers, Allow: 'POST' }, body: { status: 'error', message: 'Method not allowed.', correlationId } };

    const bearer = /^Bearer (.+)$/i.exec(header(req, 'authorization') ?? '');
    if (!bearer || !timingSafeEqual(sha256(bearer[1]!), tokenHash)) {
      return fail(401, FAKE_HUBSPOT_CATEGORIES.invalidAuthentication, 'Authentication credentials not found. This API supports OAuth 2.0 authentication and private app access tokens.');
    }
    if (!scopes.has(SCOPE)) {
      return fail(403, FAKE_HUBSPOT_CATEGORIES.missingScopes, "This app hasn't been granted all required scopes to make this call.", {
        errors: [{ message: 'One or more of the following scopes are required.', context: { requiredGranularScopes: [SCOPE] } }],
      });
    }
    if (!available) {
      return fail(403, FAKE_HUBSPOT_CATEGORIES.featureNotInPlan, 'Visitor identification requires a Professional or Enterprise subscription.');
    }

    const body = /^application\/json\b/i.test(header(req, 'content-type') ?? '') ? req.json : undefined;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return fail(400, FAKE_HUBSPOT_CATEGORIES.validation, 'Invalid input JSON: the body must be a JSON object.');
    const { email, firstName, lastName } = body as Record<string, unknown>;
    if (typeof email !== 'string' || !EMAIL.test(email)) {
      return fail(400, FAKE_HUBSPOT_CATEGORIES.validation, 'Invalid input: email is required.', { errors: [{ message: 'must be an email address', in: 'email' }] });
    }
    for (const [name, value] of [['firstName', firstName], ['lastName', lastName]] as const) {
      if (value !== undefined && typeof value !== 'string') return fail(400, FAKE_HUBSPOT_CATEGORIES.validation, `Invalid input: ${name} must be a string.`, { errors: [{ message: 'must be a string', in: name }] });
    }

    const iat = Math.floor(now() / 1000);
    const exp = iat + ttlSeconds;
    const claims: Record<string, unknown> = { email, iat, exp };
    if (firstName !== undefined) claims['firstName'] = firstName;
    if (lastName !== undefined) claims['lastName'] = lastName;
    const token = jwt.sign(claims, privateKey, { algorithm: 'RS256' });
    issued.push({
      email,
      ...(firstName !== undefined ? { firstName: firstName as string } : {}),
      ...(lastName !== undefined ? { lastName: lastName as string } : {}),
      token,
      expiresAt: exp,
      path: req.path,
      correlationId,
    });
    return { status: 200, headers, body: { token } };
  };

  const server = await startFakeServer(handle);
  return Object.assign(server, {
    publicKey: publicPem,
    issued,
    errors,
    verify(token: string): FakeHubSpotClaims {
      const claims = jwt.verify(token, publicKey as KeyObject, { algorithms: ['RS256'], clockTimestamp: Math.floor(now() / 1000) });
      if (typeof claims !== 'object' || claims === null || typeof claims['email'] !== 'string') throw new Error('token has no string email claim');
      return claims as unknown as FakeHubSpotClaims;
    },
    setVisitorIdentification(next: boolean): void {
      available = next;
    },
  });
}
