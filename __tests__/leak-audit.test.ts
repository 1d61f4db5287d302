/**
 * Secret-leak audit. Every route of every router is driven through its error paths
 * (nobody signed in, wrong method, refused origin and preflight, wrong content type,
 * malformed and oversized bodies, rate limit, hooks that throw with a secret in their
 * message, host user records the vendor refuses, every vendor failure, vendors that
 * echo our secret back in their error bodies and headers, a failing token cache) with a
 * capturing logger and a capturing `console`. The last test then searches every log
 * event, everything written to the console, and every answer's status line, headers and
 * body for every configured secret and API key, every token and embed URL minted
 * (also those the vendors issued or sent for someone else), in their plain, URL-encoded,
 * base64, base64url and hex forms. The only text left out is each success answer's own
 * token, in that answer.
 *
 * Vendors also echo the secret in every encoding the redactor handles (hex in any case,
 * base64 at each byte alignment, `%XX` and `\uXXXX` in any case and mixture), split in
 * two halves, padded past the lengths kept, and inside 2xx bodies. The configured
 * secrets are then searched a second time with `secretTraceFinder`, which is written
 * independently of the library's `encodedForms`: it decodes escapes, hex and base64 runs
 * at every alignment in the text and looks for the secret, or a piece of it as long as
 * the redactor promises to find, in what comes out.
 *
 * The vendor presets (one descriptor per route in __tests__/helpers/preset-table.ts) go
 * through the same pipeline paths, plus the users their rules refuse (no email to sign,
 * an id over Zendesk's limit), a user record holding the secret in every field, and
 * their host hooks (Zendesk's `emailVerified`, Canny's `avatarURL`) throwing with the
 * secret in the error or handing it back.
 */
import type { Express } from 'express';
import jwt from 'jsonwebtoken';
import { hmacCredential, jwtCredential, widgetCredentialRouter } from '../lib/core/credential';
import { WidgetAuthConfigError } from '../lib/core/errors';
import type { WidgetUser } from '../lib/core/types';
import { hissunoConfigFromEnv, hissunoTokenRouter } from '../lib/hissuno/index';
import { NeuroonTokenProvider, neuroonConfigFromEnv, neuroonTokenRouter, neuroonWidgetToken, type NeuroonTokenStore } from '../lib/neuroon/index';
import { neutConfigFromEnv, neutEmbedParamsRouter } from '../lib/neut/index';
import { neverminedConfigFromEnv, neverminedSessionRouter } from '../lib/nevermined/index';
import { wonderfulConfigFromEnv, wonderfulTokenRouter } from '../lib/wonderful/index';
import type { Fault } from '../lib/testing/fake-server';
import { startFakeNeuroon, type FakeNeuroon } from '../lib/testing/neuroon';
import { startFakeNevermined, type FakeNevermined } from '../lib/testing/nevermined';
import { startFakeWonderful, type FakeWonderful } from '../lib/testing/wonderful';
import { EXPRESS_MAJOR, buildApp, captureLogger } from './helpers/app';
import {
  SECRET_DISGUISES,
  WIRE,
  answerText,
  captureConsole,
  disguiseSecret,
  expectShaped,
  leakFinder,
  secretTraceFinder,
  serve,
  without,
  type Answer,
  type OutgoingRequest,
  type SecretDisguise,
  type ServedApp,
  type WireContract,
} from './helpers/hardening';
import { BILL_BODY, NEUT } from './helpers/neut';
import { HOOK_USER_IDS, presetTable, presetWire } from './helpers/preset-table';

const HISSUNO_SECRET = 'sk_live_audit_ODYAEYE4ZbWEXMNYf2V1ZqQsXS';
/** Every preset route (__tests__/helpers/preset-table.ts), with secrets of this file's own. */
const PRESETS = presetTable('audit');
const NEVERMINED_SECRET = 'wk_audit_5f2c9a1e7b3d4c6f8a0b';
const WONDERFUL_KEY = 'wk_audit_api_key_9b7d4c3e0a6f5f2c';
const NEUROON_KEY = 'nk_audit_c95cecc43bb4ce3df5b8ae9d';
const CUSTOM_JWT_SECRET = 'cj_audit_Tq4Xw8Lm2Zv6Kp9Rn3Hb7Yd5';
const CUSTOM_HMAC_SECRET = 'ch_audit_Fz5Nq2Vx8Jk4Wt7Lp3Gm9Rc6';
const SECRETS: Record<string, string> = {
  'the Hissuno secret key': HISSUNO_SECRET,
  'the Neut mint secret': NEUT.mintSecret,
  'the Nevermined widget key secret': NEVERMINED_SECRET,
  'the Wonderful API key': WONDERFUL_KEY,
  'the Neuroon API key': NEUROON_KEY,
  'a custom vendor JWT secret': CUSTOM_JWT_SECRET,
  'a custom vendor HMAC secret': CUSTOM_HMAC_SECRET,
  ...Object.assign({}, ...PRESETS.map((p) => p.secrets)),
};
/** The default contract of widgetCredentialRouter: {"error":{"code","message"}}, no vendor call. */
const ACME_WIRE: WireContract = { vendor: 'acme', flat: false, codes: Object.fromEntries(Object.entries(WIRE.nevermined.codes).filter(([code]) => !code.startsWith('UPSTREAM_'))) };
const STRANGER = '0b7e8a52-3c1d-4f6e-9a2b-7c8d9e0f1a2b';
const ORIGIN = 'https://app.example.com';
const RATE_LIMIT = 40;

/** An error whose message, name and extra fields all carry a secret, as a careless database driver's might. */
function secretError(secret: string): Error {
  const err = new Error(`connection failed: password=${secret} (${Buffer.from(secret).toString('base64')})`);
  err.name = `AuthError[${secret}]`;
  return Object.assign(err, { config: { password: secret }, url: `https://user:${encodeURIComponent(secret)}@db.internal/` });
}

/** Users the `x-audit-user` header selects; some are built to make the host hooks fail. */
const USERS: Record<string, WidgetUser> = {
  ada: { id: 'user-ada', email: 'ada@example.com', name: 'Ada', metadata: { plan: 'pro' } },
  limited: { id: 'user-limited', email: 'limited@example.com' },
  limited2: { id: 'user-limited-2', email: 'limited2@example.com' },
  noEmail: { id: 'user-no-email' },
  badEmail: { id: 'user-bad-email', email: 'not an email' },
  badMetadata: { id: 'user-bad-metadata', metadata: { age: 42 as unknown as string } },
  noId: { id: '' },
  hookFails: { id: 'user-hook-fails' },
  // the preset hooks misbehave for these; each has an email, so that every hook is asked
  presetHookFails: { id: HOOK_USER_IDS.fails, email: 'fails@example.com' },
  presetHookLeaks: { id: HOOK_USER_IDS.leaks, email: 'leaks@example.com' },
  presetHookOdd: { id: HOOK_USER_IDS.odd, email: 'odd@example.com' },
  // users some presets refuse: no usable email to sign, an id over Zendesk's 255 characters
  nullEmail: { id: 'user-null-email', email: null as unknown as string },
  blankEmail: { id: 'user-blank-email', email: ' \t ' },
  longId: { id: 'x'.repeat(256), email: 'long@example.com' },
  // the Wonderful vendor failures are spread over these, each within the rate limit
  vendor0: { id: 'user-vendor-0', email: 'vendor0@example.com' },
  vendor1: { id: 'user-vendor-1', email: 'vendor1@example.com' },
};

/** resolveUser of the audit: a user by header, or a hook that throws or rejects with a secret. */
function resolveUser(secret: string) {
  return (req: { headers: Record<string, string | string[] | undefined> }): WidgetUser | null | Promise<WidgetUser | null> => {
    const name = req.headers['x-audit-user'];
    if (name === 'throws') throw secretError(secret);
    if (name === 'rejects') return Promise.reject(secretError(secret));
    if (name === 'rejects-string') return Promise.reject(`token ${secret}`);
    // a user record holding the secret in every field: an answer holding it is refused
    if (name === 'echoes') return { id: `id-${secret}`, email: `${secret}@example.com`, name: secret };
    return typeof name === 'string' && Object.hasOwn(USERS, name) ? USERS[name]! : null;
  };
}

// ---------------------------------------------------------------------------
// What was seen

interface Seen {
  label: string;
  answer: Answer;
  /** The tokens this answer is meant to carry (its own success body). */
  intended: string[];
}

const seen: Seen[] = [];
const minted: [string, string][] = [];
const logger = captureLogger();
const output = captureConsole();
afterAll(() => output.restore());

/** Send, check status and wire code, and keep the answer for the final search. */
async function hit(app: ServedApp, contract: WireContract, label: string, req: OutgoingRequest, want: { status: number; code?: string; tokens?: (body: Record<string, unknown>) => string[] }): Promise<Answer> {
  const answer = await app.send(req);
  const error = expectShaped(contract, answer, req.method);
  expect({ label, status: answer.status, code: error?.code }).toEqual({ label, status: want.status, code: contract.flat ? undefined : want.code });
  let intended: string[] = [];
  if (want.tokens && answer.status === 200) {
    intended = want.tokens(JSON.parse(answer.text) as Record<string, unknown>);
    for (const token of intended) minted.push([`a token minted for ${label}`, token]);
  }
  seen.push({ label, answer, intended });
  return answer;
}

/** The pipeline's error paths, the same for every router. */
async function pipelinePaths(
  app: ServedApp,
  contract: WireContract,
  route: { path: string; method: 'GET' | 'POST'; other: string; limitedUser?: string; okBody?: string; tokens: (body: Record<string, unknown>) => string[] },
): Promise<void> {
  const v = contract.vendor;
  const user = { 'x-audit-user': 'ada' };
  const post = route.method === 'POST';
  const wire = (canonical: string) => (canonical === 'INVALID_REQUEST' ? (v === 'neut' ? 'INVALID_WIDGET_REQUEST' : v === 'wonderful' ? 'VALIDATION_ERROR' : canonical) : canonical);
  const okBody = route.okBody ?? '{}';
  const json = { 'content-type': 'application/json' };
  await hit(app, contract, `${v} success`, { method: route.method, path: route.path, headers: { ...user, ...json, origin: ORIGIN }, ...(post ? { body: okBody } : {}) }, { status: 200, tokens: route.tokens });
  await hit(app, contract, `${v} wrong method`, { method: route.other, path: route.path, headers: user }, { status: 405, code: 'METHOD_NOT_ALLOWED' });
  await hit(app, contract, `${v} refused origin`, { method: route.method, path: route.path, headers: { ...user, origin: 'https://evil.example' } }, { status: 403, code: 'FORBIDDEN_ORIGIN' });
  await hit(app, contract, `${v} refused preflight`, { method: 'OPTIONS', path: route.path, headers: { origin: 'https://evil.example', 'access-control-request-method': route.method } }, { status: 403, code: 'FORBIDDEN_ORIGIN' });
  await hit(app, contract, `${v} preflight`, { method: 'OPTIONS', path: route.path, headers: { origin: ORIGIN, 'access-control-request-method': route.method } }, { status: 204 });
  if (post) {
    await hit(app, contract, `${v} wrong content type`, { method: 'POST', path: route.path, headers: { ...user, 'content-type': 'text/plain' }, body: 'hello' }, { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' });
    await hit(app, contract, `${v} malformed JSON`, { method: 'POST', path: route.path, headers: { ...user, ...json }, body: '{"a":' }, { status: 400, code: wire('INVALID_REQUEST') });
    await hit(app, contract, `${v} oversized body`, { method: 'POST', path: route.path, headers: { ...user, ...json }, body: JSON.stringify({ pad: 'x'.repeat(9000) }) }, { status: 413, code: 'PAYLOAD_TOO_LARGE' });
    await hit(app, contract, `${v} bad charset`, { method: 'POST', path: route.path, headers: { ...user, 'content-type': 'application/json; charset=latin1' }, body: okBody }, { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' });
    await hit(app, contract, `${v} bad gzip`, { method: 'POST', path: route.path, headers: { ...user, ...json, 'content-encoding': 'gzip' }, body: okBody }, { status: 400, code: wire('INVALID_REQUEST') });
  }
  {
    await hit(app, contract, `${v} nobody signed in`, { method: route.method, path: route.path, headers: post ? json : {}, ...(post ? { body: okBody } : {}) }, { status: 401, code: 'UNAUTHORIZED' });
    for (const how of ['throws', 'rejects', 'rejects-string']) {
      await hit(app, contract, `${v} resolveUser ${how}`, { method: route.method, path: route.path, headers: { 'x-audit-user': how, ...(post ? json : {}) }, ...(post ? { body: okBody } : {}) }, { status: 500, code: 'INTERNAL_ERROR' });
    }
  }
  for (let i = 0; i <= RATE_LIMIT; i++) {
    const limited = i === RATE_LIMIT;
    await hit(app, contract, `${v} rate limit ${i}`, { method: route.method, path: route.path, headers: { 'x-audit-user': route.limitedUser ?? 'limited', ...(post ? json : {}) }, ...(post ? { body: okBody } : {}) }, limited ? { status: 429, code: 'RATE_LIMITED' } : { status: 200, tokens: route.tokens });
  }
}

const common = (secret: string) => ({ logger, allowedOrigins: [ORIGIN], cors: true, rateLimit: { windowMs: 60_000, limit: RATE_LIMIT }, resolveUser: resolveUser(secret) });

/** A vendor error body and headers that echo `secret` back in every field, plain and encoded. */
function echo(secret: string, status: number): Fault {
  const encoded = Buffer.from(secret).toString('base64');
  return {
    kind: 'status',
    status,
    body: { code: `KEY_${secret}`, message: `invalid key ${secret} (${encoded})`, correlationId: `req-${secret}`, error: { code: secret }, rawSecret: secret },
    headers: { 'x-correlation-id': `corr-${encoded}`, 'x-request-id': secret, 'retry-after': '1' },
  };
}

/** A vendor refusal that echoes `secret` written `how` in its code, error code, correlation id and both id headers. */
function echoDisguised(secret: string, how: SecretDisguise): Fault {
  // base64 forms put the secret at byte offset 1 (base64) and 2 (base64url) of a larger text
  const hidden = disguiseSecret(secret, how, { before: Buffer.from(how === 'base64' ? '{' : 'k='), after: Buffer.from('}') });
  return {
    kind: 'status',
    status: 401,
    body: { code: `KEY_${hidden}`, message: `invalid key ${hidden}`, correlationId: hidden, error: { code: hidden } },
    headers: { 'x-correlation-id': hidden, 'x-request-id': `req-${hidden}` },
  };
}

/** A vendor refusal that echoes `secret` cut in two: halves across code and correlation id, and with a separator inside the header id. */
function echoSplit(secret: string): Fault {
  const half = Math.floor(secret.length / 2);
  return {
    kind: 'status',
    status: 403,
    body: { code: secret.slice(0, half), correlationId: secret.slice(half) },
    headers: { 'x-request-id': `${secret.slice(0, half)}-${secret.slice(half)}` },
  };
}

/** A vendor refusal whose code and correlation id pad the secret across the lengths they are cut to (100, 200). */
function echoPadded(secret: string): Fault {
  return { kind: 'status', status: 400, body: { code: `${'E'.repeat(80)}${secret}`, correlationId: `${'C'.repeat(190)}${secret}` }, headers: { 'x-correlation-id': `${'H'.repeat(195)}${secret}` } };
}

/**
 * Vendor failures of a vendor-backed route: the expected status and wire code of each.
 * `okEcho` is a 2xx body the route would accept, plus the secret echoed in it.
 */
function vendorFaults(secret: string, vendor: 'nevermined' | 'wonderful' | 'neuroon', okEcho: unknown): [string, Fault, number, string][] {
  const network = vendor === 'wonderful';
  return [
    ...SECRET_DISGUISES.map((how): [string, Fault, number, string] => [`refuses our credentials, echoing the secret as ${how}`, echoDisguised(secret, how), 502, 'UPSTREAM_REJECTED']),
    ['refuses our request, echoing the secret split in two', echoSplit(secret), 502, 'UPSTREAM_REJECTED'],
    ['refuses our request, padding the secret past the length kept', echoPadded(secret), 502, 'UPSTREAM_REJECTED'],
    ['answers 200 with a valid body that echoes the secret', { kind: 'status', status: 200, body: okEcho }, 502, 'UPSTREAM_INVALID_RESPONSE'],
    ['refuses our credentials, echoing the secret', echo(secret, 401), 502, 'UPSTREAM_REJECTED'],
    ['refuses our request, echoing the secret', echo(secret, 403), 502, 'UPSTREAM_REJECTED'],
    ['fails, echoing the secret', echo(secret, 500), 502, network ? 'NETWORK_ERROR' : 'UPSTREAM_UNAVAILABLE'],
    ['is unavailable, echoing the secret', echo(secret, 503), 502, network ? 'NETWORK_ERROR' : 'UPSTREAM_UNAVAILABLE'],
    ['rate limits us, echoing the secret', echo(secret, 429), 503, network ? 'NETWORK_ERROR' : 'UPSTREAM_UNAVAILABLE'],
    ['answers 200 with the secret in a wrong shape', { kind: 'status', status: 200, body: { rawSecret: secret, apiKey: secret, token: 42 } }, 502, 'UPSTREAM_INVALID_RESPONSE'],
    ['answers malformed JSON', { kind: 'malformed' }, 502, 'UPSTREAM_INVALID_RESPONSE'],
    ['answers the wrong shape', { kind: 'wrong-shape' }, 502, 'UPSTREAM_INVALID_RESPONSE'],
    ['resets the connection', { kind: 'reset' }, 502, network ? 'NETWORK_ERROR' : 'UPSTREAM_UNAVAILABLE'],
    ['is too slow', { kind: 'latency', ms: 400 }, 504, network ? 'NETWORK_ERROR' : 'UPSTREAM_TIMEOUT'],
  ];
}

// ---------------------------------------------------------------------------

describe(`Secret-leak audit (Express ${EXPRESS_MAJOR})`, () => {
  let nevermined: FakeNevermined;
  let wonderful: FakeWonderful;
  let neuroon: FakeNeuroon;
  const apps: ServedApp[] = [];
  const served = async (app: Express) => {
    const s = await serve(app);
    apps.push(s);
    return s;
  };

  beforeAll(async () => {
    nevermined = await startFakeNevermined({ orgs: { 'org-audit': { secret: NEVERMINED_SECRET } } });
    wonderful = await startFakeWonderful({ apiKey: WONDERFUL_KEY });
    neuroon = await startFakeNeuroon({ shops: { shop_audit: { apiKey: NEUROON_KEY } } });
  });
  afterAll(async () => {
    for (const app of apps) await app.close();
    await Promise.all([nevermined.close(), wonderful.close(), neuroon.close()]);
  });

  it('Hissuno: every error path', async () => {
    const app = await served(buildApp(hissunoTokenRouter({ secretKey: HISSUNO_SECRET, ...common(HISSUNO_SECRET) })));
    const path = '/api/hissuno-token';
    await pipelinePaths(app, WIRE.hissuno, { path, method: 'GET', other: 'DELETE', tokens: (b) => [b['token'] as string] });
    await pipelinePaths(app, WIRE.hissuno, { path, method: 'POST', other: 'PUT', limitedUser: 'limited2', tokens: (b) => [b['token'] as string] });
    await hit(app, WIRE.hissuno, 'hissuno metadata that is not text', { method: 'GET', path, headers: { 'x-audit-user': 'badMetadata' } }, { status: 500 });
    await hit(app, WIRE.hissuno, 'hissuno user without an id', { method: 'GET', path, headers: { 'x-audit-user': 'noId' } }, { status: 500 });
  });

  it('A vendor of its own (widgetCredentialRouter): every error path, and host hooks that fail', async () => {
    const jwtApp = await served(
      buildApp(
        widgetCredentialRouter({
          vendor: 'acme',
          path: '/api/acme-token',
          credential: jwtCredential({ secret: CUSTOM_JWT_SECRET, header: { kid: 'audit' }, claims: (user) => ({ sub: user.id, plan: user.metadata?.['plan'] }) }),
          ...common(CUSTOM_JWT_SECRET),
        }),
      ),
    );
    const tokens = (b: Record<string, unknown>) => [b['token'] as string];
    await pipelinePaths(jwtApp, ACME_WIRE, { path: '/api/acme-token', method: 'GET', other: 'DELETE', tokens });
    await pipelinePaths(jwtApp, ACME_WIRE, { path: '/api/acme-token', method: 'POST', other: 'PUT', limitedUser: 'limited2', tokens });
    const hmacApp = await served(
      buildApp(
        widgetCredentialRouter({
          vendor: 'acme',
          path: '/api/acme-identity',
          methods: ['GET'],
          credential: hmacCredential({
            secret: CUSTOM_HMAC_SECRET,
            // a hook that fails quoting the secret, and one that returns no text
            message: (user) => {
              if (user.id === USERS['hookFails']!.id) throw secretError(CUSTOM_HMAC_SECRET);
              return user.id === USERS['noEmail']!.id ? (42 as unknown as string) : user.id;
            },
            answer: { identifier: (user) => user.id, identifier_hash: 'hash', leak: (user) => (user.id === USERS['badMetadata']!.id ? `key=${CUSTOM_HMAC_SECRET}` : undefined) },
          }),
          ...common(CUSTOM_HMAC_SECRET),
        }),
      ),
    );
    const path = '/api/acme-identity';
    await pipelinePaths(hmacApp, ACME_WIRE, { path, method: 'GET', other: 'POST', tokens: (b) => [b['identifier_hash'] as string] });
    await hit(hmacApp, ACME_WIRE, 'acme message(user) throws quoting the secret', { method: 'GET', path, headers: { 'x-audit-user': 'hookFails' } }, { status: 500, code: 'INTERNAL_ERROR' });
    await hit(hmacApp, ACME_WIRE, 'acme message(user) returns a number', { method: 'GET', path, headers: { 'x-audit-user': 'noEmail' } }, { status: 500, code: 'INTERNAL_ERROR' });
    await hit(hmacApp, ACME_WIRE, 'acme answer field holding the secret', { method: 'GET', path, headers: { 'x-audit-user': 'badMetadata' } }, { status: 500, code: 'INTERNAL_ERROR' });
  });

  it('Neut: every error path', async () => {
    const app = await served(buildApp(neutEmbedParamsRouter({ ...NEUT, ...common(NEUT.mintSecret) })));
    const path = '/api/widget-embed-params';
    const tokens = (b: Record<string, unknown>) => {
      const url = b['embed_url'] as string;
      return [url, new URL(url).searchParams.get('bootstrap_assertion')!];
    };
    await pipelinePaths(app, WIRE.neut, { path, method: 'POST', other: 'GET', okBody: JSON.stringify(BILL_BODY), tokens });
    const json = { 'content-type': 'application/json', 'x-audit-user': 'ada' };
    const earlier = seen.find((s) => s.label === 'neut success')!;
    const [url, assertion] = earlier.intended as [string, string];
    // the browser sending back a URL or an assertion it was given is refused without echoing it
    await hit(app, WIRE.neut, 'neut assertion sent back', { method: 'POST', path, headers: json, body: JSON.stringify({ ...BILL_BODY, bootstrap_assertion: assertion }) }, { status: 400, code: 'INVALID_WIDGET_REQUEST' });
    await hit(app, WIRE.neut, 'neut URL sent back', { method: 'POST', path, headers: json, body: JSON.stringify({ ...BILL_BODY, token: url }) }, { status: 400, code: 'INVALID_WIDGET_REQUEST' });
    await hit(app, WIRE.neut, 'neut unknown widget', { method: 'POST', path, headers: json, body: JSON.stringify({ ...BILL_BODY, widget_id: 'nope' }) }, { status: 400, code: 'INVALID_WIDGET_REQUEST' });
    await hit(app, WIRE.neut, 'neut bad field', { method: 'POST', path, headers: json, body: JSON.stringify({ ...BILL_BODY, congress: '0x10' }) }, { status: 400, code: 'INVALID_WIDGET_REQUEST' });
    await hit(app, WIRE.neut, 'neut unknown field with a secret-looking value', { method: 'POST', path, headers: json, body: JSON.stringify({ ...BILL_BODY, note: assertion }) }, { status: 200, tokens });
  });

  it('Nevermined: every error path, and every vendor failure', async () => {
    const app = await served(
      buildApp(neverminedSessionRouter({ orgId: 'org-audit', rawSecret: NEVERMINED_SECRET, apiBaseUrl: nevermined.url, timeoutMs: 200, retries: 0, ...common(NEVERMINED_SECRET) })),
    );
    const path = '/api/widget-session';
    const tokens = (b: Record<string, unknown>) => [b['sessionToken'] as string];
    await pipelinePaths(app, WIRE.nevermined, { path, method: 'GET', other: 'DELETE', tokens });
    await pipelinePaths(app, WIRE.nevermined, { path, method: 'POST', other: 'PATCH', limitedUser: 'limited2', tokens });
    await hit(app, WIRE.nevermined, 'nevermined user without an email', { method: 'GET', path, headers: { 'x-audit-user': 'noEmail' } }, { status: 401, code: 'UNAUTHORIZED' });
    await hit(app, WIRE.nevermined, 'nevermined user with a bad email', { method: 'GET', path, headers: { 'x-audit-user': 'badEmail' } }, { status: 500, code: 'INTERNAL_ERROR' });
    const session = { sessionToken: 'nvm_ws_echo', userId: 'did:privy:echo', userWallet: '0x00000000000000000000000000000000000000ee', apiKeyHash: 'e'.repeat(64), expiresAt: '2030-01-01T00:00:00.000Z' };
    for (const [what, fault, status, code] of vendorFaults(NEVERMINED_SECRET, 'nevermined', { ...session, request: { orgId: 'org-audit', rawSecret: NEVERMINED_SECRET } })) {
      nevermined.fault(fault, { times: 1 });
      await hit(app, WIRE.nevermined, `nevermined vendor ${what}`, { method: 'GET', path, headers: { 'x-audit-user': 'ada' } }, { status, code });
    }
    const refused = await startFakeNevermined({ orgs: { 'org-audit': { secret: 'wk_a_different_secret_0000' } } });
    const wrongKey = await served(buildApp(neverminedSessionRouter({ orgId: 'org-audit', rawSecret: NEVERMINED_SECRET, apiBaseUrl: refused.url, ...common(NEVERMINED_SECRET) })));
    await hit(wrongKey, WIRE.nevermined, 'nevermined vendor refuses the real key', { method: 'GET', path, headers: { 'x-audit-user': 'ada' } }, { status: 502, code: 'UPSTREAM_REJECTED' });
    await refused.close();
  });

  it('Wonderful: every error path of both routes, and every vendor failure', async () => {
    const strangerToken = jwt.sign({ sub: STRANGER }, 'another-key', { algorithm: 'HS256', expiresIn: 600 });
    minted.push(['a token the vendor issued for another entity', strangerToken]);
    const hooks = {
      entityIdFor: (user: WidgetUser) => {
        if (user.id === 'user-hook-fails') throw secretError(WONDERFUL_KEY);
        return user.id === 'user-no-id' ? 'not-a-uuid' : STRANGER.replace('0b7e', '1c8f');
      },
      metadataFor: (user: WidgetUser) => {
        if (user.id === 'user-bad-metadata') throw secretError(WONDERFUL_KEY);
        return { plan: 'pro' };
      },
    };
    const own = STRANGER.replace('0b7e', '1c8f');
    const app = await served(buildApp(wonderfulTokenRouter({ baseUrl: wonderful.url, apiKey: WONDERFUL_KEY, timeoutMs: 200, retries: 0, ...hooks, ...common(WONDERFUL_KEY) })));
    const tokens = (b: Record<string, unknown>) => [b['token'] as string];
    await pipelinePaths(app, WIRE.wonderful, { path: '/api/sdk-token', method: 'POST', other: 'GET', tokens });
    const json = { 'content-type': 'application/json', 'x-audit-user': 'ada' };
    const refresh = '/api/refresh-sdk-token';
    await pipelinePaths(app, WIRE.wonderful, { path: refresh, method: 'POST', other: 'PUT', limitedUser: 'limited2', okBody: JSON.stringify({ entityId: own }), tokens });
    await hit(app, WIRE.wonderful, 'wonderful refresh of own entity', { method: 'POST', path: refresh, headers: json, body: JSON.stringify({ entityId: own }) }, { status: 200, tokens });
    await hit(app, WIRE.wonderful, 'wonderful refresh without entityId', { method: 'POST', path: refresh, headers: json, body: '{}' }, { status: 400, code: 'VALIDATION_ERROR' });
    await hit(app, WIRE.wonderful, 'wonderful refresh with a token as entityId', { method: 'POST', path: refresh, headers: json, body: JSON.stringify({ entityId: strangerToken }) }, { status: 400, code: 'VALIDATION_ERROR' });
    await hit(app, WIRE.wonderful, 'wonderful refresh of another entity', { method: 'POST', path: refresh, headers: json, body: JSON.stringify({ entityId: STRANGER }) }, { status: 403, code: 'FORBIDDEN' });
    await hit(app, WIRE.wonderful, 'wonderful entityIdFor throws', { method: 'POST', path: '/api/sdk-token', headers: { 'x-audit-user': 'hookFails' } }, { status: 500, code: 'INTERNAL_ERROR' });
    await hit(app, WIRE.wonderful, 'wonderful metadataFor throws', { method: 'POST', path: '/api/sdk-token', headers: { 'x-audit-user': 'badMetadata' } }, { status: 500, code: 'INTERNAL_ERROR' });
    const faults: [string, Fault, number, string][] = [
      // a token for the right entity whose claims carry the API key
      ...vendorFaults(WONDERFUL_KEY, 'wonderful', { jwt: jwt.sign({ sub: own, key: WONDERFUL_KEY }, 'another-key', { algorithm: 'HS256', expiresIn: 600 }), id: own, expiresAt: 2_000_000_000 }),
      ['sends a token for another entity', { kind: 'status', status: 200, body: { jwt: strangerToken, expiresAt: 2_000_000_000, id: STRANGER } }, 502, 'UPSTREAM_INVALID_RESPONSE'],
      ['sends a token whose subject is another entity', { kind: 'status', status: 200, body: { data: { jwt: strangerToken } } }, 502, 'UPSTREAM_INVALID_RESPONSE'],
    ];
    for (const [i, [what, fault, status, code]] of faults.entries()) {
      for (const [route, body] of [['/api/sdk-token', undefined], [refresh, JSON.stringify({ entityId: own })]] as const) {
        wonderful.fault(fault, { times: 1 });
        const headers = { ...json, 'x-audit-user': `vendor${i % 2}` };
        await hit(app, WIRE.wonderful, `wonderful ${route} vendor ${what}`, { method: 'POST', path: route, headers, ...(body ? { body } : {}) }, { status, code });
      }
    }
  });

  it('Neuroon: every error path of the route and the middleware, every vendor failure, a failing cache', async () => {
    let now = Date.parse('2025-06-01T00:00:00Z');
    const clock = () => now;
    const app = await served(
      buildApp(neuroonTokenRouter({ shopId: 'shop_audit', apiKey: NEUROON_KEY, apiBaseUrl: neuroon.url, clock, timeoutMs: 200, retries: 0, ...common(NEUROON_KEY) })),
    );
    const path = '/api/neuroon-widget-token';
    const tokens = (b: Record<string, unknown>) => [b['token'] as string];
    await pipelinePaths(app, WIRE.neuroon, { path, method: 'GET', other: 'POST', tokens });
    for (const [what, fault, status, code] of vendorFaults(NEUROON_KEY, 'neuroon', { token: `ntk_${Buffer.from(NEUROON_KEY).toString('hex')}` })) {
      now += 25 * 3600_000; // the cached token is past its life: Neuroon must be asked
      neuroon.fault(fault, { times: 1 });
      await hit(app, WIRE.neuroon, `neuroon vendor ${what}`, { method: 'GET', path, headers: { 'x-audit-user': 'ada' } }, { status, code });
      // a 429 blocks further calls for its Retry-After: let it pass
      now += 60_000;
    }
    // past rotation but still usable: the cached token is served and the failure only logged
    now += 25 * 3600_000;
    await hit(app, WIRE.neuroon, 'neuroon fresh token', { method: 'GET', path, headers: { 'x-audit-user': 'ada' } }, { status: 200, tokens });
    now += 23.5 * 3600_000;
    neuroon.fault(echo(NEUROON_KEY, 500), { times: 1 });
    await hit(app, WIRE.neuroon, 'neuroon cached token while the vendor fails', { method: 'GET', path, headers: { 'x-audit-user': 'ada' } }, { status: 200, tokens });
    expect(logger.events.some((e) => e.msg?.includes('serving the cached token'))).toBe(true);

    // a cache that fails with the key in its errors is bypassed, and its errors logged redacted
    const failing: NeuroonTokenStore = {
      get: () => Promise.reject(secretError(NEUROON_KEY)),
      set: () => {
        throw secretError(NEUROON_KEY);
      },
      lock: () => Promise.reject(secretError(NEUROON_KEY)),
    };
    const provider = new NeuroonTokenProvider({ shopId: 'shop_audit', apiKey: NEUROON_KEY, apiBaseUrl: neuroon.url, store: failing, logger, timeoutMs: 200, retries: 0 });
    const cached = await served(
      buildApp(neuroonTokenRouter({ provider, logger, allowedOrigins: [ORIGIN] })),
    );
    await hit(cached, WIRE.neuroon, 'neuroon with a failing cache', { method: 'GET', path, headers: {} }, { status: 200, tokens });
    expect(logger.events.some((e) => e.msg?.includes('cache failed'))).toBe(true);

    // the middleware hands vendor failures to the host's error handler: nothing secret in them
    const pageProvider = new NeuroonTokenProvider({ shopId: 'shop_audit', apiKey: NEUROON_KEY, apiBaseUrl: neuroon.url, logger, timeoutMs: 200, retries: 0 });
    const page = await served(
      buildApp(neuroonTokenRouter({ provider: pageProvider }), (host) => {
        host.get('/page', neuroonWidgetToken(pageProvider), (_req, res) => {
          res.json({ page: 'rendered' });
        });
      }),
    );
    neuroon.fault(echo(NEUROON_KEY, 401), { times: 1 });
    const failed = await page.send({ method: 'GET', path: '/page' });
    expect(failed.status).toBe(599); // the host's own handler
    seen.push({ label: 'neuroon middleware failure', answer: failed, intended: [] });
    const rendered = await page.send({ method: 'GET', path: '/page' });
    expect(JSON.parse(rendered.text)).toEqual({ page: 'rendered' });
    seen.push({ label: 'neuroon middleware page', answer: rendered, intended: [] });
  });

  it.each(PRESETS.map((p) => [p.label, p] as const))('%s preset: every error path, the users its rules refuse, and host hooks that fail', async (label, preset) => {
    const secret = Object.values(preset.secrets)[0]!;
    const hooks = preset.hostileHooks?.(secret, secretError);
    const app = await served(buildApp(preset.build({ ...common(secret), ...hooks?.options })));
    // labelled by route (Intercom and Front twice, one per mode)
    const contract = presetWire(label, preset.codes);
    const path = preset.path;
    const tokens = (b: Record<string, unknown>) => [b[preset.credentialField] as string];
    const okBody = preset.okBody;
    if (preset.methods.includes('GET')) await pipelinePaths(app, contract, { path, method: 'GET', other: 'DELETE', tokens });
    if (preset.methods.includes('POST')) await pipelinePaths(app, contract, { path, method: 'POST', other: 'PUT', limitedUser: 'limited2', tokens, ...(okBody !== undefined ? { okBody } : {}) });
    const method = preset.methods[0]!;
    const as = (user: string) => ({ method, path, headers: { 'x-audit-user': user, origin: ORIGIN, 'content-type': 'application/json' }, ...(method === 'POST' ? { body: okBody ?? '{}' } : {}) });
    // the preset's own rules on the user: an email to sign, a longest id
    for (const name of ['noEmail', 'nullEmail', 'blankEmail', 'badEmail', 'longId']) {
      const want = preset.outcome(USERS[name]!, JSON.parse(okBody ?? '{}'));
      await hit(app, contract, `${label} user ${name}`, as(name), want.status === 200 ? { status: 200, tokens } : { status: want.status, code: want.code });
    }
    // users the pipeline refuses before the preset, and one whose record holds the secret
    for (const name of ['noId', 'badMetadata', 'echoes']) {
      await hit(app, contract, `${label} user ${name}`, as(name), { status: 500, code: 'INTERNAL_ERROR' });
    }
    for (const { user, status, what } of hooks?.cases ?? []) {
      const name = { fails: 'presetHookFails', leaks: 'presetHookLeaks', odd: 'presetHookOdd' }[user];
      await hit(app, contract, `${label} ${what}`, as(name), status === 200 ? { status, tokens } : { status, code: 'INTERNAL_ERROR' });
    }
  });

  it('configuration errors name the option, never the secret', () => {
    const attempts: [string, () => unknown][] = [
      ['hissunoTokenRouter', () => hissunoTokenRouter({ secretKey: `${HISSUNO_SECRET} `, resolveUser: () => null, expiresIn: 1 })],
      ['hissunoConfigFromEnv', () => hissunoConfigFromEnv({ HISSUNO_SECRET_KEY: HISSUNO_SECRET.slice(0, 20) })],
      ['neutEmbedParamsRouter', () => neutEmbedParamsRouter({ ...NEUT, mintSecret: ` ${NEUT.mintSecret}`, hostOrigin: 'nope' })],
      ['neutConfigFromEnv', () => neutConfigFromEnv({ WIDGET_TENANT_ID: 't', HOST_ORIGIN: 'x', NEUT_MINT_SECRET: `${NEUT.mintSecret}\n`, NEUT_MINT_KEY_ID: 'k', WIDGET_ORIGIN: 'http://widgets.example' })],
      ['neverminedSessionRouter', () => neverminedSessionRouter({ orgId: '', rawSecret: `${NEVERMINED_SECRET}\t`, apiBaseUrl: `http://user:${NEVERMINED_SECRET}@api.example`, resolveUser: () => null })],
      ['neverminedConfigFromEnv', () => neverminedConfigFromEnv({ NVM_ORG_ID: 'o', NVM_WIDGET_KEY_SECRET: ` ${NEVERMINED_SECRET}`, NVM_API_BASE_URL: `https://api.example/?key=${NEVERMINED_SECRET}` })],
      ['wonderfulTokenRouter', () => wonderfulTokenRouter({ baseUrl: 'ftp://x', apiKey: `${WONDERFUL_KEY} `, resolveUser: () => null, apiKeey: WONDERFUL_KEY } as never)],
      ['wonderfulConfigFromEnv', () => wonderfulConfigFromEnv({ WONDERFUL_API_URL: 'x', WONDERFUL_API_KEY: ` ${WONDERFUL_KEY}` })],
      ['neuroonTokenRouter', () => neuroonTokenRouter({ shopId: 's', apiKey: ` ${NEUROON_KEY}`, apiBaseUrl: `https://api.example#${NEUROON_KEY}` })],
      ['neuroonConfigFromEnv', () => neuroonConfigFromEnv({ NEUROON_SHOP_ID: 's', NEUROON_API_KEY: `${NEUROON_KEY} ` })],
      ['NeuroonTokenProvider', () => new NeuroonTokenProvider({ shopId: 's', apiKey: NEUROON_KEY, ttlMs: -1 })],
      ['hmacCredential', () => hmacCredential({ secret: `${CUSTOM_HMAC_SECRET} `, message: CUSTOM_HMAC_SECRET as never, answer: { [CUSTOM_HMAC_SECRET]: 'hash' } as never })],
      ['jwtCredential', () => jwtCredential({ secret: CUSTOM_JWT_SECRET, key: Buffer.from(CUSTOM_JWT_SECRET), header: { alg: CUSTOM_JWT_SECRET }, claims: () => ({}) })],
      ['widgetCredentialRouter', () => widgetCredentialRouter({ vendor: CUSTOM_JWT_SECRET, path: `/${CUSTOM_JWT_SECRET}?`, resolveUser: () => null, credential: CUSTOM_JWT_SECRET as never })],
      // each preset: its secret shorter than minSecretLength, and an unknown option holding it
      ...PRESETS.flatMap((p): [string, () => unknown][] => {
        const secret = Object.values(p.secrets)[0]!;
        return [
          [`${p.label} preset, secret too short`, () => p.build({ resolveUser: () => null, minSecretLength: 200 })],
          [`${p.label} preset, unknown option`, () => p.build({ resolveUser: () => null, secretKey: secret })],
        ];
      }),
    ];
    for (const [name, attempt] of attempts) {
      let thrown: unknown;
      try {
        attempt();
      } catch (err) {
        thrown = err;
      }
      expect({ name, config: thrown instanceof WidgetAuthConfigError }).toEqual({ name, config: true });
      const error = thrown as WidgetAuthConfigError;
      seen.push({ label: `${name} configuration error`, answer: { status: 0, headers: {}, text: `${error.message}\n${error.problems.join('\n')}\n${JSON.stringify(error)}`, ms: 0 }, intended: [] });
    }
  });

  it('leaves no secret, key, token or embed URL in any answer, log event or console output', () => {
    for (const s of nevermined.sessions) minted.push(['a Nevermined session token', s.session.sessionToken]);
    for (const t of wonderful.issued) minted.push(['a Wonderful token', t.jwt]);
    for (const t of neuroon.issued) minted.push(['a Neuroon token', t.token]);
    const everything = leakFinder();
    for (const [label, value] of Object.entries(SECRETS)) everything.add(label, value);
    for (const [label, value] of minted) everything.add(label, value);

    const leaks: string[] = [];
    for (const { label, answer, intended } of seen) {
      let text = answerText(answer);
      for (const token of intended) text = without(text, token);
      const leak = everything.find(text);
      if (leak) leaks.push(`${label}: the answer carries ${leak}`);
    }
    logger.events.forEach((event, i) => {
      const leak = everything.find(JSON.stringify(event));
      if (leak) leaks.push(`log event ${i} (${event.msg ?? ''}): ${leak}`);
    });
    const leak = everything.find(output.text());
    if (leak) leaks.push(`console: ${leak}`);

    // the configured secrets once more, with a search that shares no code with the redactor
    const traces = secretTraceFinder(SECRETS);
    for (const { label, answer, intended } of seen) {
      let text = answerText(answer);
      for (const token of intended) text = without(text, token);
      const trace = traces(text);
      if (trace) leaks.push(`${label}: the answer carries a trace of ${trace}`);
    }
    logger.events.forEach((event, i) => {
      const trace = traces(JSON.stringify(event));
      if (trace) leaks.push(`log event ${i} (${event.msg ?? ''}): a trace of ${trace}`);
    });
    const trace = traces(output.text());
    if (trace) leaks.push(`console: a trace of ${trace}`);
    expect(leaks).toEqual([]);

    // the audit covered what it says it did
    expect(seen.length).toBeGreaterThan(300);
    // every preset route went through every path (about 115 answers for GET and POST, 68 for POST only)
    const perPreset = PRESETS.map((p) => ({ preset: p.label, answers: seen.filter((x) => x.label.startsWith(`${p.label} `)).length, least: p.methods.length === 2 ? 100 : 60 }));
    expect(perPreset.filter((p) => p.answers < p.least)).toEqual([]);
    expect(minted.length).toBeGreaterThan(100);
    expect(logger.events.length).toBeGreaterThan(250);
    expect(logger.events.filter((e) => e.level === 'error').length).toBeGreaterThan(40);
    // the operator still learns what failed: redacted, not dropped
    expect(logger.text()).toContain('[redacted]');
    expect(output.calls).toEqual([]);
  });
});
