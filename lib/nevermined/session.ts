import { z } from 'zod';
import { parseOptions, requiredString, secretString, vendorBaseUrl, type WeakSecretOption } from '../core/config';
import { WidgetAuthError, secretEchoError } from '../core/errors';
import { isRecord } from '../core/json';
import { createSecretMatcher, type SecretMatcher } from '../core/logger';
import { createUpstreamClient, upstreamOptionsShape, type CallContext, type UpstreamClient } from '../core/upstream';
import { trimAsciiSpace } from '../core/user';

/**
 * The session the Nevermined API mints for one end user. Forward it to the browser
 * unchanged: `NeverminedWidgets.initialize({ session, … })` consumes it as is. Fields
 * the API adds beyond these are kept as sent, once the whole session was searched for
 * the widget key secret: a session holding it in any form (an API echoing the request)
 * is refused with `UPSTREAM_INVALID_RESPONSE`, never returned.
 */
export interface WidgetSession {
  /** Bearer credential of the widget session (treat as a secret; never log it). */
  sessionToken: string;
  /** The Nevermined user the email resolves to. */
  userId: string;
  /** The user's wallet address. */
  userWallet: string;
  /** Hash of the API key bound to the session. */
  apiKeyHash: string;
  /** When the session expires, as an ISO 8601 timestamp. */
  expiresAt: string;
  [field: string]: unknown;
}

/** Options of {@link createWidgetSession}, the same as the vendor's server helper. */
export interface CreateWidgetSessionOptions extends WeakSecretOption {
  /** The end user's email, the Nevermined identity. Trimmed and lower-cased before sending. */
  email: string;
  /** Your Nevermined organization id (env `NVM_ORG_ID`). */
  orgId: string;
  /** The widget key secret (`wk_…`, env `NVM_WIDGET_KEY_SECRET`). Server-side only. */
  rawSecret: string;
  /**
   * Nevermined API base URL (env `NVM_API_BASE_URL`), e.g. `https://api.sandbox.nevermined.app`.
   * `https:` only, except plain `http:` on loopback. A trailing slash is ignored.
   */
  apiBaseUrl: string;
  /** A `fetch` to call Nevermined with instead of the built-in keep-alive `node:http`/`node:https` client. */
  fetch?: typeof fetch;
  /** Per-attempt timeout in milliseconds. Defaults to 5000. */
  timeoutMs?: number;
}

/** Route of the Nevermined API that mints widget sessions. */
export const NEVERMINED_SESSION_API_PATH = '/api/v1/widgets/session';

/** Shortest widget key secret accepted. */
const MIN_SECRET_LENGTH = 12;

/** zod schema of a widget key secret. */
export const neverminedSecret = secretString(MIN_SECRET_LENGTH);

const coreSchema = z.looseObject({
  sessionToken: z.string().min(1),
  userId: z.string().min(1),
  userWallet: z.string().min(1),
  apiKeyHash: z.string().min(1),
  expiresAt: z.iso.datetime({ offset: true }),
});

const ISO_DATE_TIME = z.regexes.datetime({ offset: true, local: false, precision: null });
const SESSION_STRINGS = ['sessionToken', 'userId', 'userWallet', 'apiKeyHash'] as const;

/**
 * What {@link widgetSessionSchema} gives for a valid session (the very object), without
 * zod: the path of every call. `undefined` leaves the body to the schema, which also
 * says why it is refused.
 */
export function acceptWidgetSession(value: unknown): WidgetSession | undefined {
  if (!isRecord(value)) return undefined;
  for (const name of SESSION_STRINGS) {
    const field = value[name];
    if (typeof field !== 'string' || field.length === 0) return undefined;
  }
  const expiresAt = value['expiresAt'];
  return typeof expiresAt === 'string' && ISO_DATE_TIME.test(expiresAt) ? (value as WidgetSession) : undefined;
}

/**
 * Validates a 2xx body against {@link WidgetSession} and hands back the very object the
 * vendor sent, so that key order and extra fields reach the browser untouched (once
 * searched for the secret).
 */
export const widgetSessionSchema = z.unknown().superRefine((value, ctx) => {
  const result = coreSchema.safeParse(value);
  if (result.success) return;
  for (const issue of result.error.issues) ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message });
}) as unknown as z.ZodType<WidgetSession>;

const MAX_EMAIL_LENGTH = 254;
const EMAIL = /^[^\s@]+@[^\s@]+$/;

/** An ASCII capital letter. */
const ASCII_UPPER = /[A-Z]/g;

/**
 * Trim (ASCII white space) and lower-case an email the way Nevermined identifies users.
 * Throws `INVALID_REQUEST` naming `email` when it is empty or not an address, or holds a
 * letter outside ASCII that lower-cases to another character (`\u212A`, the Kelvin sign,
 * lower-cases to `k`): two addresses would then name one user.
 */
export function normaliseEmail(email: unknown): string {
  if (typeof email !== 'string') {
    throw new WidgetAuthError('INVALID_REQUEST', email === undefined || email === null ? 'email is required.' : 'email must be a string.', { field: 'email' });
  }
  const trimmed = trimAsciiSpace(email);
  const normalised = trimmed.toLowerCase();
  if (normalised !== trimmed.replace(ASCII_UPPER, (c) => c.toLowerCase())) {
    throw new WidgetAuthError('INVALID_REQUEST', 'email must not hold a letter outside ASCII that lower-cases to another character.', { field: 'email' });
  }
  if (normalised.length === 0) throw new WidgetAuthError('INVALID_REQUEST', 'email must not be empty.', { field: 'email' });
  if (normalised.length > MAX_EMAIL_LENGTH || !EMAIL.test(normalised)) {
    throw new WidgetAuthError('INVALID_REQUEST', 'email must be an email address.', { field: 'email' });
  }
  return normalised;
}

/** Where and as whom to mint sessions: the resolved part of the options. */
export interface SessionTarget {
  /** Full URL of the session endpoint. */
  url: string;
  orgId: string;
  rawSecret: string;
  /** Finds `rawSecret` in the vendor's answers: redacts error codes and ids, refuses sessions holding it. */
  secrets: SecretMatcher;
}

/** Build the {@link SessionTarget} of validated options. */
export function sessionTarget(config: { apiBaseUrl: string; orgId: string; rawSecret: string }): SessionTarget {
  return { url: `${config.apiBaseUrl}${NEVERMINED_SESSION_API_PATH}`, orgId: config.orgId, rawSecret: config.rawSecret, secrets: createSecretMatcher([config.rawSecret]) };
}

/**
 * The session as it is passed on: the vendor's object, its documented fields validated
 * and any extra field kept as sent (key order included), once the whole of it was
 * searched for the widget key secret. Throws `UPSTREAM_INVALID_RESPONSE` when it holds
 * the secret in any form the redactor knows: an API that echoes the request must not
 * hand the secret on.
 */
function relaySession(data: WidgetSession, target: SessionTarget, holdsSecret: (text: string) => boolean, status: number, upstreamMs: number): WidgetSession {
  const json = JSON.stringify(data);
  if (holdsSecret(json)) {
    const whose = target.secrets.contains(json) ? 'the widget key secret' : 'the secret of another router mounted with it';
    throw secretEchoError(`nevermined answered ${status} with a session that holds ${whose}; it was not passed on.`, { upstreamStatus: status, upstreamMs });
  }
  return data;
}

/**
 * Mint one session with an existing client (the router's per-request path). `email`
 * must already be normalised; `context` carries the request's close signal and the
 * user's key (see {@link CallContext}). `holdsSecret` searches the session for the secret
 * (a route's own search, which also knows the secrets of the routers mounted beside it);
 * defaults to the target's.
 */
export async function mintWidgetSession(
  client: UpstreamClient,
  target: SessionTarget,
  email: string,
  context?: CallContext,
  holdsSecret: (text: string) => boolean = (text) => target.secrets.contains(text),
): Promise<{ session: WidgetSession; upstreamMs: number }> {
  const { data, status, upstreamMs } = await client.call({
    url: target.url,
    method: 'POST',
    body: { orgId: target.orgId, email, rawSecret: target.rawSecret },
    schema: widgetSessionSchema,
    accept: acceptWidgetSession,
    redact: target.secrets.redact,
    signal: context?.signal,
    userKey: context?.userKey,
  });
  return { session: relaySession(data, target, holdsSecret, status, upstreamMs), upstreamMs };
}

const optionsSchema = z
  .object({
    email: z.unknown(),
    orgId: requiredString(),
    rawSecret: neverminedSecret,
    apiBaseUrl: vendorBaseUrl(NEVERMINED_SESSION_API_PATH),
    fetch: upstreamOptionsShape.fetch,
    timeoutMs: upstreamOptionsShape.timeoutMs,
  })
  .strict();

interface ResolvedSessionOptions {
  target: SessionTarget;
  client: UpstreamClient;
}

// Callers usually pass the same configuration every time; remembering the last one
// skips re-validation, and clients are shared per fetch + timeout so that keep-alive
// connections are reused and bounded across calls.
let last: { input: Omit<CreateWidgetSessionOptions, 'email'>; resolved: ResolvedSessionOptions } | undefined;
const globalClients = new Map<number, UpstreamClient>();
const customClients = new WeakMap<typeof fetch, Map<number, UpstreamClient>>();

function clientFor(fetchFn: typeof fetch | undefined, timeoutMs: number): UpstreamClient {
  let byTimeout = fetchFn ? customClients.get(fetchFn) : globalClients;
  if (!byTimeout) {
    byTimeout = new Map();
    customClients.set(fetchFn!, byTimeout);
  }
  let client = byTimeout.get(timeoutMs);
  if (!client) {
    client = createUpstreamClient('nevermined', { timeoutMs, retries: 1, fetch: fetchFn });
    byTimeout.set(timeoutMs, client);
  }
  return client;
}

function sameInput(a: Omit<CreateWidgetSessionOptions, 'email'>, b: CreateWidgetSessionOptions): boolean {
  // allowWeakSecrets too: a weak secret taken once with the opt-out must not be taken again without it
  return (
    a.orgId === b.orgId && a.rawSecret === b.rawSecret && a.apiBaseUrl === b.apiBaseUrl && a.fetch === b.fetch && a.timeoutMs === b.timeoutMs && a.allowWeakSecrets === b.allowWeakSecrets
  );
}

function resolveOptions(options: CreateWidgetSessionOptions): ResolvedSessionOptions {
  if (last && options !== null && typeof options === 'object' && sameInput(last.input, options) && Object.keys(options).every((k) => k in optionsSchema.shape || k === 'allowWeakSecrets')) {
    return last.resolved;
  }
  const config = parseOptions('createWidgetSession', optionsSchema, options);
  const resolved = { target: sessionTarget(config), client: clientFor(config.fetch, config.timeoutMs) };
  const { orgId, rawSecret, apiBaseUrl, fetch: fetchFn, timeoutMs, allowWeakSecrets } = options;
  last = { input: { orgId, rawSecret, apiBaseUrl, fetch: fetchFn, timeoutMs, allowWeakSecrets }, resolved };
  return resolved;
}

/**
 * Mint a Nevermined widget session for one end user: `POST {apiBaseUrl}/api/v1/widgets/session`
 * with `{ orgId, email, rawSecret }` (email trimmed and lower-cased), one retry on
 * connection errors and 502/503/504, and the validated session returned as sent, extra
 * fields included. A session holding the widget key secret (in any encoding) is never
 * returned: that rejects with `UPSTREAM_INVALID_RESPONSE`.
 *
 * Rejects with `WidgetAuthConfigError` for bad options, {@link WidgetAuthError}
 * `INVALID_REQUEST` (field `email`) for a missing or invalid email, and `UPSTREAM_*`
 * errors when the vendor refuses, fails, times out or answers the wrong shape; those
 * keep the vendor's `vendorCode` and `correlationId`, with the widget key secret
 * redacted from them.
 *
 * For an Express app, `neverminedSessionRouter` validates its options once and is
 * the cheaper path; this function remembers its last configuration so repeated calls
 * with the same options are not re-validated.
 *
 * @example
 * ```ts
 * const session = await createWidgetSession({
 *   email: req.user.email,
 *   orgId: process.env.NVM_ORG_ID!,
 *   rawSecret: process.env.NVM_WIDGET_KEY_SECRET!,
 *   apiBaseUrl: 'https://api.sandbox.nevermined.app',
 * });
 * res.json(session);
 * ```
 */
export async function createWidgetSession(options: CreateWidgetSessionOptions): Promise<WidgetSession> {
  const { target, client } = resolveOptions(options);
  const email = normaliseEmail(options.email);
  const { session } = await mintWidgetSession(client, target, email);
  return session;
}
