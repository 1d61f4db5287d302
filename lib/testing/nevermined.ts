import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { startFakeServer, type FakeAnswer, type FakeServer, type RecordedRequest } from './fake-server';

/** One organization the fake Nevermined API knows. */
export interface FakeNeverminedOrg {
  /** The widget key secret (`rawSecret`). Only its SHA-256 hash is kept. */
  secret: string;
  /**
   * Origins allowed to mint sessions with this key. A request carrying an `Origin`
   * header outside this list gets 403 `BCK.WIDGET_SESSION.0012`. Defaults to any origin.
   */
  allowedOrigins?: string[];
}

/** Options of {@link startFakeNevermined}. */
export interface FakeNeverminedOptions {
  /** Organizations by id. */
  orgs: Record<string, FakeNeverminedOrg>;
  /** Session lifetime in milliseconds. Defaults to one hour. */
  sessionTtlMs?: number;
  /** Clock used for `expiresAt`. Defaults to `Date.now`. */
  now?: () => number;
}

/** A session the fake issued, as recorded in `sessions`. */
export interface FakeIssuedSession {
  orgId: string;
  /** The email as the fake received it. */
  email: string;
  /** The exact body answered. */
  session: {
    sessionToken: string;
    userId: string;
    userWallet: string;
    apiKeyHash: string;
    expiresAt: string;
  };
  correlationId: string;
}

/** An error the fake answered, as recorded in `errors`. */
export interface FakeNeverminedError {
  status: number;
  /** The vendor code, e.g. `BCK.WIDGET_SESSION.0001`. */
  code: string;
  correlationId: string;
}

/** A running fake Nevermined API. */
export interface FakeNevermined extends FakeServer {
  /** Every session issued, oldest first. */
  sessions: FakeIssuedSession[];
  /** Every error answered by the route (not injected faults), oldest first. */
  errors: FakeNeverminedError[];
}

/** Vendor error codes the fake answers with. */
export const FAKE_NEVERMINED_CODES = {
  invalidCredentials: 'BCK.WIDGET_SESSION.0001',
  originNotAllowed: 'BCK.WIDGET_SESSION.0012',
  emailMissing: 'BCK.WIDGET_SESSION.0013',
} as const;

const SESSION_PATH = '/api/v1/widgets/session';

const sha256 = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

function isJsonRequest(req: RecordedRequest): boolean {
  const type = req.headers['content-type'];
  return typeof type === 'string' && /^application\/json\b/i.test(type);
}

/**
 * Start a fake Nevermined API on `127.0.0.1` (real HTTP, ephemeral port) implementing
 * `POST /api/v1/widgets/session` as documented:
 *
 * | answer | when |
 * |---|---|
 * | 400 `BCK.WIDGET_SESSION.0013` | no `email` in the JSON body |
 * | 401 `BCK.WIDGET_SESSION.0001` | unknown `orgId` or wrong `rawSecret` |
 * | 403 `BCK.WIDGET_SESSION.0012` | the request carries an `Origin` outside the org's `allowedOrigins` |
 * | 200 `WidgetSession` | otherwise: a random `sessionToken`, `userId` and `userWallet` stable per email, `apiKeyHash`, `expiresAt` one hour ahead |
 *
 * Error bodies are `{ code, message, correlationId }`, and every answer of the route
 * carries an `x-correlation-id` header. Secrets are kept only as SHA-256 hashes and
 * compared in constant time. The result is a {@link FakeServer} (`requests`,
 * `connections`, `fault(…)`, `close()`) plus `sessions` (every session issued) and
 * `errors` (every error answered, with its correlation id).
 *
 * @example
 * ```ts
 * const rawSecret = `wk_test_${randomBytes(16).toString('hex')}`; // a placeholder such as wk_test_0123456789 is refused
 * const fake = await startFakeNevermined({ orgs: { 'org-1': { secret: rawSecret } } });
 * app.use(neverminedSessionRouter({ orgId: 'org-1', rawSecret, apiBaseUrl: fake.url, resolveUser }));
 * // …
 * fake.fault({ kind: 'status', status: 503 }, { times: 2 });
 * await fake.close();
 * ```
 */
export async function startFakeNevermined(options: FakeNeverminedOptions): Promise<FakeNevermined> {
  const ttl = options.sessionTtlMs ?? 3600_000;
  const now = options.now ?? Date.now;
  const orgs = new Map(
    Object.entries(options.orgs).map(([id, org]) => [id, { hash: sha256(org.secret), allowedOrigins: org.allowedOrigins ? new Set(org.allowedOrigins) : undefined }]),
  );
  // compared against for unknown orgs, so both failures take the same time
  const decoy = sha256(randomUUID());
  const sessions: FakeIssuedSession[] = [];
  const errors: FakeNeverminedError[] = [];

  const handler = (req: RecordedRequest): FakeAnswer => {
    const correlationId = randomUUID();
    const headers = { 'x-correlation-id': correlationId };
    const fail = (status: number, code: string, message: string): FakeAnswer => {
      errors.push({ status, code, correlationId });
      return { status, headers, body: { code, message, correlationId } };
    };

    if (req.path !== SESSION_PATH) return fail(404, 'BCK.NOT_FOUND', 'Route not found.');
    if (req.method !== 'POST') return fail(405, 'BCK.METHOD_NOT_ALLOWED', 'Method not allowed.');

    // like the real API, a body that is not JSON reads as an empty one
    const body = isJsonRequest(req) && typeof req.json === 'object' && req.json !== null ? (req.json as Record<string, unknown>) : {};
    const { orgId, email, rawSecret } = body;
    if (typeof email !== 'string' || email.trim() === '') return fail(400, FAKE_NEVERMINED_CODES.emailMissing, 'Email is required.');

    const org = typeof orgId === 'string' ? orgs.get(orgId) : undefined;
    const given = sha256(typeof rawSecret === 'string' ? rawSecret : '');
    const secretOk = timingSafeEqual(given, org?.hash ?? decoy);
    if (!org || !secretOk) return fail(401, FAKE_NEVERMINED_CODES.invalidCredentials, 'Invalid widget key credentials.');

    const origin = req.headers.origin;
    if (typeof origin === 'string' && org.allowedOrigins && !org.allowedOrigins.has(origin)) {
      return fail(403, FAKE_NEVERMINED_CODES.originNotAllowed, 'Origin not allowed for this widget key.');
    }

    const identity = sha256(email.trim().toLowerCase()).toString('hex');
    const session = {
      sessionToken: `nvm_ws_${randomBytes(32).toString('base64url')}`,
      userId: `did:privy:${identity.slice(0, 25)}`,
      userWallet: `0x${identity.slice(24, 64)}`,
      apiKeyHash: sha256(`${orgId as string}:${identity}`).toString('hex'),
      expiresAt: new Date(now() + ttl).toISOString(),
    };
    sessions.push({ orgId: orgId as string, email, session, correlationId });
    return { status: 200, headers, body: session };
  };

  const server = await startFakeServer(handler);
  // the FakeServer's getter must stay live, so extend it rather than copy it
  return Object.assign(server, { sessions, errors });
}
