/**
 * Property tests of every router: arbitrary methods, paths, query strings, headers
 * (Origin, Content-Type, Content-Encoding, Transfer-Encoding, Content-Length that lies)
 * and bodies (any JSON, almost-JSON, bytes, oversized), arbitrary users from the host,
 * and for Neut and Wonderful bodies near the valid ones. Vendors are healthy here, so
 * no answer may be a 5xx except where the host's own user record breaks a documented
 * rule. Every answer is checked against the vendor's wire shape, and every answer and
 * log event against the configured secrets and the tokens minted so far.
 */
import { createHmac } from 'node:crypto';
import express from 'express';
import fc from 'fast-check';
import jwt from 'jsonwebtoken';
import { hmacCredential, jwtCredential, widgetCredentialRouter } from '../lib/core/credential';
import { WidgetAuthError } from '../lib/core/errors';
import type { WidgetUser } from '../lib/core/types';
import { hissunoTokenRouter } from '../lib/hissuno/index';
import { neuroonTokenRouter } from '../lib/neuroon/index';
import { NEUT_COLORWAYS, NEUT_DEFAULT_WIDGETS, NEUT_STATUS_FILTERS, NEUT_SUBJECTS, neutEmbedParamsRouter, validateNeutWidgetRequest, verifyNeutBootstrap } from '../lib/neut/index';
import { neverminedSessionRouter } from '../lib/nevermined/index';
import { wonderfulEntityIdFor, wonderfulTokenRouter } from '../lib/wonderful/index';
import { verifyHissunoToken } from '../lib/testing/hissuno';
import { checkNeuroonWidgetToken, startFakeNeuroon, type FakeNeuroon } from '../lib/testing/neuroon';
import { startFakeNevermined, type FakeNevermined } from '../lib/testing/nevermined';
import { startFakeWonderful, type FakeWonderful } from '../lib/testing/wonderful';
import { EXPRESS_MAJOR, buildApp, captureLogger } from './helpers/app';
import { trimAscii } from './helpers/preset-table';
import {
  FUZZ_ALLOWED_ORIGINS,
  FUZZ_SCALE,
  arbCharsetContentType,
  arbFetchMetadata,
  FUZZ_SEED,
  NOT_JSON,
  WIRE,
  answerText,
  captureConsole,
  checkProperty,
  eventually,
  expectShaped,
  fuzzOriginAllowed,
  headerValue,
  hostileErrorAnswer,
  hostileKey,
  hostileString,
  hostileSuccessAnswer,
  jsonObjectText,
  jsonText,
  leakFinder,
  numberToken,
  objectText,
  originHeader,
  secretTraceFinder,
  serve,
  notWellFormed,
  userRegistry,
  type Answer,
  type ServedApp,
  type WireContract,
  type WireError,
} from './helpers/hardening';
import { CONTENT_TYPES, expected, namesMemberTwice, refusedByOriginRules, requestOf, trimOws, type Encoding, type GenericCase } from './helpers/fuzz-requests';
import { NEUT } from './helpers/neut';

/**
 * Property runs per router: generic requests, the router's own property (Neuroon has
 * none: its route reads nothing from the request, so it gets more generic runs), and
 * Content-Length mismatches; `hostile`: Nevermined answers hiding the secret.
 */
const RUNS = { generic: 150, own: 150, lyingLength: 25, neuroonGeneric: 250, hostile: 150 };

// well above the usual second per property, for a loaded machine and for FUZZ_SCALE hunts
jest.setTimeout(60_000 * FUZZ_SCALE);

const HISSUNO_SECRET = 'sk_live_fuzz_mI27Lwq1jNlZ5UerK3KczipWTCuU';
const NEVERMINED_ORG = 'org-fuzz';
const NEVERMINED_SECRET = 'wk_fuzz_5f2c9a1e7b3d4c6f8a0b';
const WONDERFUL_KEY = 'wk_fuzz_api_key_9b7d4c3e0a6f5f2c';
const NEUROON_SHOP = 'shop_fuzz';
const NEUROON_KEY = 'nk_fuzz_812c021d1c05f472a6b30d51';
const CUSTOM_JWT_SECRET = 'cj_fuzz_Wq7Lz3Xv9Kp2Nt5Rb8Hc4Md6';
const CUSTOM_HMAC_SECRET = 'ch_fuzz_Yd3Pn8Vk2Qs6Lw9Tx4Jb7Gf5';
const SECRETS = { HISSUNO_SECRET, NEUT_MINT_SECRET: NEUT.mintSecret, NEVERMINED_SECRET, WONDERFUL_KEY, NEUROON_KEY, CUSTOM_JWT_SECRET, CUSTOM_HMAC_SECRET };

const BODY_LIMIT = 8192;
const GOOD_USER: WidgetUser = { id: 'user-ada', email: ' Ada@Example.COM ', name: 'Ada Lovelace', metadata: { plan: 'pro' } };
const GOOD_KEY = 'good';

// ---------------------------------------------------------------------------
// Leak and pollution checks shared by every run

const logger = captureLogger();
const responseLeaks = leakFinder();
const logLeaks = leakFinder();
for (const [label, value] of Object.entries(SECRETS)) {
  responseLeaks.add(label, value);
  logLeaks.add(label, value);
}
let eventsChecked = 0;
let tokensMinted = 0;
const PROTOTYPE_KEYS = [Object.prototype, Array.prototype, Function.prototype].map((p) => Object.getOwnPropertyNames(p).sort().join());

/** A minted token: it may appear in its own answer only, never in a log. */
function minted(label: string, token: string): void {
  tokensMinted++;
  logLeaks.add(label, token);
}

/** After every run: no secret in the answer, no secret or token in a new log event, no polluted prototype. */
function afterRun(answer: Answer): void {
  const inAnswer = responseLeaks.find(answerText(answer));
  if (inAnswer) throw new Error(`the answer carries ${inAnswer}`);
  const fresh = logger.events.slice(eventsChecked);
  eventsChecked = logger.events.length;
  const inLog = logLeaks.find(fresh.map((e) => JSON.stringify(e)).join('\n'));
  if (inLog) throw new Error(`a log event carries ${inLog}`);
  const now = [Object.prototype, Array.prototype, Function.prototype].map((p) => Object.getOwnPropertyNames(p).sort().join());
  if (now.join('|') !== PROTOTYPE_KEYS.join('|') || ({} as Record<string, unknown>)['polluted'] !== undefined) {
    throw new Error('a built-in prototype gained a property');
  }
}

// ---------------------------------------------------------------------------
// Generic requests and the pipeline's documented answers to them

const EXTRA_HEADERS = ['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'authorization', 'cookie', 'accept', 'accept-encoding', 'x-http-method-override', 'x-requested-with', 'if-none-match', 'range', 'referer', 'user-agent', 'x-correlation-id'];
const ODD_QUERIES = ['?__proto__[polluted]=1', '?constructor[prototype][polluted]=1', '?a[b][c][d][e][f][g]=1', '?%', '?%E0%A4%A', '?a=%ZZ', '?a=1&a=2&a[]=3', `?${'a'.repeat(4000)}=1`, '?entityId=0b7e8a52-3c1d-4f6e-9a2b-7c8d9e0f1a2b', '?token=x&bootstrap_nonce=y'];

/** Percent-encode the UTF-8 bytes of any string (lone surrogates become U+FFFD). */
const percent = (s: string) => [...Buffer.from(s, 'utf8')].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');

const queryArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constant('') },
  { weight: 2, arbitrary: fc.constantFrom(...ODD_QUERIES) },
  { weight: 2, arbitrary: fc.array(fc.tuple(hostileString(20, { long: false }), hostileString(20, { long: false })), { minLength: 1, maxLength: 4 }).map((pairs) => `?${pairs.map(([k, v]) => `${percent(k)}=${percent(v)}`).join('&')}`) },
);

/** Bodies for any route; `routeBodies` adds the route's own near-valid ones. */
function bodyArb(routeBodies?: fc.Arbitrary<string>): fc.Arbitrary<Buffer | undefined> {
  const text = (arb: fc.Arbitrary<string>) => arb.map((t) => Buffer.from(t, 'utf8'));
  return fc.oneof(
    { weight: 3, arbitrary: fc.constant(undefined) },
    { weight: 3, arbitrary: text(jsonObjectText) },
    { weight: 2, arbitrary: text(jsonText) },
    { weight: 1, arbitrary: text(fc.constantFrom(...NOT_JSON)) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)) },
    { weight: 1, arbitrary: fc.constantFrom(BODY_LIMIT - 1, BODY_LIMIT, BODY_LIMIT + 1, 20_000).map((n) => Buffer.from(`{"pad":"${'x'.repeat(n - 10)}"}`, 'utf8')) },
    { weight: 1, arbitrary: fc.constant(Buffer.alloc(0)) },
    ...(routeBodies ? [{ weight: 4, arbitrary: text(routeBodies) }] : []),
  );
}

function genericArb(route: FuzzRoute): fc.Arbitrary<GenericCase> {
  return fc.record({
    method: fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...route.methods) }, { weight: 4, arbitrary: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS', 'TRACE') }),
    pathForm: fc.constantFrom('exact', 'exact', 'slash', 'upper'),
    query: queryArb,
    origin: fc.oneof(
      { weight: 3, arbitrary: fc.constant(undefined) },
      { weight: 4, arbitrary: originHeader },
      { weight: 1, arbitrary: fc.constantFrom<string[]>(['https://app.example.com', 'https://app.example.com'], ['https://a.example.org', 'https://evil.example']) },
    ),
    acrm: fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constantFrom('POST', 'GET', '', 'DELETE') }),
    // the Fetch Metadata rules have their own property below
    fetchMetadata: fc.constant(undefined),
    user: fc.oneof({ weight: 5, arbitrary: fc.constant(GOOD_KEY) }, { weight: 2, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constantFrom('__proto__', 'constructor', 'toString', 'GOOD', ' good') }, { weight: 1, arbitrary: headerValue(20) }),
    contentType: fc.oneof({ weight: 1, arbitrary: fc.constant(undefined) }, { weight: 6, arbitrary: fc.constantFrom(...CONTENT_TYPES.map(([t]) => t)) }, { weight: 1, arbitrary: headerValue(40) }),
    encoding: fc.oneof({ weight: 10, arbitrary: fc.constant(undefined) }, { weight: 2, arbitrary: fc.constantFrom<Encoding>('gzip', 'gzip-garbage', 'deflate-garbage', 'br-garbage', 'identity', 'xyz') }),
    chunked: fc.boolean(),
    body: bodyArb(route.bodies),
    extra: fc.array(fc.tuple(fc.constantFrom(...EXTRA_HEADERS), headerValue()), { maxLength: 3 }),
  });
}

function wireCode(contract: WireContract, canonical: string): string | undefined {
  if (contract.flat) return undefined;
  if (canonical === 'INVALID_REQUEST' && contract.vendor === 'neut') return 'INVALID_WIDGET_REQUEST';
  if (canonical === 'INVALID_REQUEST' && contract.vendor === 'wonderful') return 'VALIDATION_ERROR';
  return canonical;
}

/** A route under test and what a request that got through the pipeline must get. */
interface FuzzRoute {
  contract: WireContract;
  path: string;
  methods: readonly string[];
  requireUser: boolean;
  /** Near-valid bodies of this route, mixed into the generic bodies. */
  bodies?: fc.Arbitrary<string>;
  /** Check the answer to a request the pipeline handed to the route. */
  handled(answer: Answer, body: unknown, user: WidgetUser | undefined): void;
}

function expectError(error: WireError | undefined, status: number, code: string | undefined, where: string): void {
  if (!error || error.status !== status || error.code !== code) {
    throw new Error(`expected ${status} ${code ?? '(flat)'}, got ${error ? `${error.status} ${error.code ?? '(flat)'}` : 'a success'} for ${where}`);
  }
}

function genericProperty(app: () => ServedApp, route: FuzzRoute, users: { get(key: string): WidgetUser | undefined }): fc.IAsyncProperty<[GenericCase]> {
  return fc.asyncProperty(genericArb(route), async (c) => {
    const req = requestOf(route, c);
    const answer = await app().send(req);
    const where = `${req.method} ${req.path.slice(0, 60)}`;
    if (answer.status >= 500) throw new Error(`${answer.status} with healthy vendors for ${where}: ${answer.text.slice(0, 200)}`);
    const error = expectShaped(route.contract, answer, req.method);
    if (answer.headers['vary'] === undefined || !/\borigin\b/i.test(String(answer.headers['vary']))) throw new Error(`no Vary: Origin on ${where}`);
    const want = expected(route, c, users);
    const origin = typeof c.origin === 'string' ? trimOws(c.origin) : undefined;
    const corsExpected = origin !== undefined && fuzzOriginAllowed(origin) && !(want.kind === 'answer' && (want.code === 'METHOD_NOT_ALLOWED' || want.code === 'FORBIDDEN_ORIGIN'));
    if ((answer.headers['access-control-allow-origin'] !== undefined) !== corsExpected || (corsExpected && answer.headers['access-control-allow-origin'] !== origin)) {
      throw new Error(`Access-Control-Allow-Origin is ${String(answer.headers['access-control-allow-origin'])} for origin ${JSON.stringify(c.origin)} on ${where}`);
    }
    if (want.kind === 'preflight') {
      if (answer.status !== 204 || answer.headers['access-control-allow-methods'] !== route.methods.join(', ')) throw new Error(`expected a preflight answer for ${where}`);
    } else if (want.kind === 'answer') {
      expectError(error, want.status, c.method === 'HEAD' ? undefined : wireCode(route.contract, want.code), where);
      if (want.allow !== undefined && answer.headers['allow'] !== want.allow) throw new Error(`Allow is ${String(answer.headers['allow'])} on ${where}`);
    } else if (want.kind === 'refused-body') {
      if (answer.status >= 500) throw new Error(`5xx for ${where}`);
    } else {
      route.handled(answer, want.body, want.user);
    }
    afterRun(answer);
  });
}

/**
 * Content-Length that lies: shorter than the body (the rest is read as a next request
 * and refused by Node) or longer, with the client then closing its side. The first
 * answer on the connection, if any, is shaped; the connection never hangs; the server
 * keeps answering.
 */
function lyingLengthProperty(app: () => ServedApp, route: FuzzRoute & { post: string }): fc.IAsyncProperty<[string, number, boolean]> {
  return fc.asyncProperty(route.bodies ?? jsonObjectText, fc.integer({ min: 1, max: 64 }), fc.boolean(), async (text, delta, shorter) => {
    const body = Buffer.from(text, 'utf8');
    const declared = shorter ? Math.max(0, body.length - delta) : body.length + delta;
    const head =
      `POST ${route.post} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nX-Fuzz-User: ${GOOD_KEY}\r\n` +
      `Connection: close\r\nContent-Length: ${declared}\r\n\r\n`;
    const outcome = await app().raw(Buffer.concat([Buffer.from(head, 'latin1'), body]), { halfClose: !shorter, timeoutMs: 3000 });
    // Node itself refuses bytes left over after a short Content-Length (a bare 400 that
    // may go out before the route's answer): that answer is the HTTP server's, not the route's
    const nodeRefusal = outcome.kind === 'answer' && outcome.status === 400 && outcome.headers['content-type'] === undefined && outcome.text === '';
    if (outcome.kind === 'answer' && !nodeRefusal) {
      const answer: Answer = { status: outcome.status, headers: outcome.headers, text: outcome.text, ms: 0 };
      if (answer.status >= 500) throw new Error(`${answer.status} for a lying Content-Length: ${answer.text.slice(0, 200)}`);
      expectShaped(route.contract, answer, 'POST');
      afterRun(answer);
    } else if (shorter && !nodeRefusal) {
      throw new Error('no answer to a request whose Content-Length was shorter than its body');
    }
    const alive = await app().send({ method: route.methods.includes('GET') ? 'GET' : 'POST', path: route.post, headers: { 'x-fuzz-user': GOOD_KEY } });
    if (alive.status >= 500) throw new Error(`the server answers ${alive.status} after a lying Content-Length`);
  });
}

// ---------------------------------------------------------------------------

describe(`Property tests of every router (Express ${EXPRESS_MAJOR}, seed ${FUZZ_SEED})`, () => {
  const output = captureConsole();
  const registry = userRegistry();
  registry.set(GOOD_KEY, GOOD_USER);
  const common = { logger, allowedOrigins: FUZZ_ALLOWED_ORIGINS, cors: true };

  afterAll(() => {
    output.restore();
    const console = output.text();
    const hit = logLeaks.find(console);
    expect(hit).toBeUndefined();
    expect(output.calls).toEqual([]);
    expect(tokensMinted).toBeGreaterThan(100);
  });

  describe('Hissuno', () => {
    let app: ServedApp;
    beforeAll(async () => {
      app = await serve(buildApp(hissunoTokenRouter({ secretKey: HISSUNO_SECRET, resolveUser: registry.resolveUser, ...common })));
    });
    afterAll(() => app.close());

    const route: FuzzRoute = {
      contract: WIRE.hissuno,
      path: '/api/hissuno-token',
      methods: ['GET', 'POST'],
      requireUser: true,
      handled(answer, _body, user) {
        if (answer.status !== 200) throw new Error(`expected 200, got ${answer.status} ${answer.text}`);
        const { token } = JSON.parse(answer.text) as { token: string };
        minted('a Hissuno token', token);
        expect(verifyHissunoToken(token, HISSUNO_SECRET).userId).toBe(user!.id);
      },
    };

    it('answers any request in its shape, with a token only for the signed-in user', async () => {
      await checkProperty(genericProperty(() => app, route, registry), RUNS.generic);
    });

    it('signs exactly the id and metadata of whatever user the host resolves', async () => {
      const userArb = fc.record(
        {
          id: hostileString().filter((s) => s.length > 0),
          name: hostileString(),
          email: hostileString(),
          metadata: fc.array(fc.tuple(hostileKey, fc.option(hostileString(), { nil: undefined })), { maxLength: 5 }),
        },
        { requiredKeys: ['id'] },
      );
      await checkProperty(
        fc.asyncProperty(userArb, fc.constantFrom('GET', 'POST'), async (u, method) => {
          const user: WidgetUser = { id: u.id };
          if (u.name !== undefined) user.name = u.name;
          if (u.email !== undefined) user.email = u.email;
          if (u.metadata !== undefined) {
            const metadata: Record<string, string | undefined> = {};
            // defineProperty keeps "__proto__" as an own key, as a database row could have it
            for (const [k, v] of u.metadata) Object.defineProperty(metadata, k, { value: v, enumerable: true, writable: true, configurable: true });
            user.metadata = metadata;
          }
          const key = registry.add(user);
          const answer = await app.send({ method, path: '/api/hissuno-token', headers: { 'x-fuzz-user': key } });
          if (notWellFormed(user.id) || notWellFormed(user.email)) {
            expectError(expectShaped(WIRE.hissuno, answer, method), 500, undefined, JSON.stringify(user.id));
            afterRun(answer);
            return;
          }
          expect(answer.status).toBe(200);
          expectShaped(WIRE.hissuno, answer, method);
          const { token } = JSON.parse(answer.text) as { token: string };
          minted('a Hissuno token', token);
          const claims = verifyHissunoToken(token, HISSUNO_SECRET);
          expect(claims.userId).toBe(user.id);
          const wanted = new Map<string, string | undefined>([
            ['name', user.name],
            ['email', user.email],
          ]);
          for (const [k, v] of Object.entries(user.metadata ?? {})) wanted.set(k, v);
          const expectedMetadata = [...wanted].filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : 1));
          const actualMetadata = Object.entries(claims.userMetadata ?? {}).sort(([a], [b]) => (a < b ? -1 : 1));
          expect(actualMetadata).toEqual(expectedMetadata);
          afterRun(answer);
        }),
        RUNS.own,
        // a "__proto__" metadata key was once dropped from the token
        [[{ id: 'user-proto', metadata: [['__proto__', 'kept']] }, 'GET']],
      );
    });

    it('survives a Content-Length that lies', async () => {
      await checkProperty(lyingLengthProperty(() => app, { ...route, post: route.path }), RUNS.lyingLength);
    });
  });

  describe('A vendor of its own (widgetCredentialRouter)', () => {
    // the default {"error":{"code","message"}} contract, and no vendor call: no upstream codes
    const contract: WireContract = {
      vendor: 'acme',
      flat: false,
      codes: Object.fromEntries(Object.entries(WIRE.nevermined.codes).filter(([code]) => !code.startsWith('UPSTREAM_'))),
    };
    let app: ServedApp;
    beforeAll(async () => {
      const jwtRouter = widgetCredentialRouter({
        vendor: 'acme',
        path: '/api/acme-token',
        resolveUser: registry.resolveUser,
        credential: jwtCredential({ secret: CUSTOM_JWT_SECRET, header: { kid: 'fuzz-key' }, claims: (user) => ({ sub: user.id, email: user.email }), expiresIn: 600 }),
        ...common,
      });
      const hmacRouter = widgetCredentialRouter({
        vendor: 'acme',
        path: '/api/acme-identity',
        resolveUser: registry.resolveUser,
        credential: hmacCredential({ secret: CUSTOM_HMAC_SECRET, message: (user) => user.id, answer: { identifier: (user) => user.id, identifier_hash: 'hash' } }),
        ...common,
      });
      app = await serve(buildApp(express.Router().use(jwtRouter, hmacRouter)));
    });
    afterAll(() => app.close());

    const route: FuzzRoute = {
      contract,
      path: '/api/acme-token',
      methods: ['GET', 'POST'],
      requireUser: true,
      handled(answer, _body, user) {
        if (answer.status !== 200) throw new Error(`expected 200, got ${answer.status} ${answer.text}`);
        const { token } = JSON.parse(answer.text) as { token: string };
        minted('a custom vendor token', token);
        const claims = jwt.verify(token, CUSTOM_JWT_SECRET, { algorithms: ['HS256'] }) as jwt.JwtPayload;
        expect(claims.sub).toBe(user!.id);
        expect(claims.exp! - claims.iat!).toBe(600);
      },
    };

    it('answers any request in its shape, with a token only for the signed-in user', async () => {
      await checkProperty(genericProperty(() => app, route, registry), RUNS.generic);
    });

    it('signs exactly the id of whatever user the host resolves, whatever the body or query names', async () => {
      await checkProperty(
        fc.asyncProperty(hostileString().filter((s) => s.length > 0), fc.constantFrom('GET', 'POST'), jsonObjectText.filter((t) => Buffer.byteLength(t) <= BODY_LIMIT), queryArb, async (id, method, body, query) => {
          const key = registry.add({ id });
          const bytes = Buffer.from(body, 'utf8');
          const answer = await app.send({
            method,
            path: `/api/acme-identity${query}`,
            headers: { 'x-fuzz-user': key, ...(method === 'POST' ? { 'content-type': 'application/json', 'content-length': String(bytes.length) } : {}) },
            ...(method === 'POST' ? { body: bytes } : {}),
          });
          const error = expectShaped(contract, answer, method);
          if (method === 'POST' && namesMemberTwice(body)) {
            // read before the user: two parsers could read two different values
            expectError(error, 400, 'INVALID_REQUEST', body.slice(0, 80));
            afterRun(answer);
            return;
          }
          if (notWellFormed(id)) {
            // as UTF-8 it would be the id of another user: refused, never signed
            expectError(error, 500, 'INTERNAL_ERROR', JSON.stringify(id));
            afterRun(answer);
            return;
          }
          if (answer.status !== 200) throw new Error(`expected 200, got ${answer.status} ${answer.text.slice(0, 200)}`);
          const got = JSON.parse(answer.text) as { identifier: string; identifier_hash: string };
          expect(got).toEqual({ identifier: id, identifier_hash: createHmac('sha256', CUSTOM_HMAC_SECRET).update(id, 'utf8').digest('hex') });
          minted('a custom vendor digest', got.identifier_hash);
          afterRun(answer);
        }),
        RUNS.own,
      );
    });

    it('survives a Content-Length that lies', async () => {
      await checkProperty(lyingLengthProperty(() => app, { ...route, post: route.path }), RUNS.lyingLength);
    });
  });

  describe('Neut', () => {
    let app: ServedApp;
    const seenNonces = new Set<string>();
    let accepted = 0;
    beforeAll(async () => {
      app = await serve(buildApp(neutEmbedParamsRouter({ ...NEUT, ...common })));
    });
    afterAll(() => app.close());

    const str = (s: string) => JSON.stringify(s);
    /**
     * The fields of a body. `hostile` mixes values of any JSON type into every field;
     * without it values have the right type (still any text), so that a good share of
     * bodies is accepted and the embed URL property is exercised.
     */
    function neutFields(hostile: boolean) {
      const some = (arb: fc.Arbitrary<string>, weight = 12) => (hostile ? fc.oneof({ weight, arbitrary: arb }, { weight: 1, arbitrary: jsonText }) : arb);
      const integer = some(
        fc.oneof(
          { weight: 16, arbitrary: fc.integer({ min: 1, max: 200 }).map(String) },
          { weight: 3, arbitrary: fc.stringMatching(/^[0-9]{1,17}$/).map(str) },
          { weight: 2, arbitrary: numberToken },
          { weight: 1, arbitrary: fc.constantFrom('0x10', '1e3', ' 5', '007', '', '-1', '1.0', '+1', '\uff19').map(str) },
        ),
      );
      const text = some(hostileString().map(str), 8);
      const member = fc.oneof(
        {
          weight: 4,
          arbitrary: fc.record({
            member_type: fc.constantFrom('Representative', 'Representative', 'Senator', ' Representative ', 'representative').map(str),
            last_name: text,
            state_code: fc.oneof({ weight: 3, arbitrary: fc.constantFrom('ca', 'CA', 'Ca', '  ny ') }, { weight: 1, arbitrary: fc.constantFrom('C', 'CAL', '\u00f1x') }).map(str),
            district: fc.option(integer, { nil: undefined }),
          }),
        },
        { weight: 1, arbitrary: fc.record({ member_type: text, last_name: text, state_code: text, district: integer }, { requiredKeys: [] }) },
      );
      return fc.record(
        {
          widget_id: fc.oneof(
            { weight: 12, arbitrary: fc.constantFrom(...Object.keys(NEUT_DEFAULT_WIDGETS)).map(str) },
            { weight: 1, arbitrary: fc.constantFrom(' bill-preview ', 'Bill-Preview', 'constructor', '__proto__', 'unknown').map(str) },
            ...(hostile ? [{ weight: 1, arbitrary: jsonText }] : []),
          ),
          instance_id: some(
            fc.oneof({ weight: 12, arbitrary: fc.stringMatching(/^[A-Za-z0-9._:-]{1,40}$/) }, { weight: 1, arbitrary: fc.constantFrom('a'.repeat(128), 'a'.repeat(129), ' main ', 'main id', '\u00fc') }).map(str),
          ),
          colorway: some(fc.constantFrom(...NEUT_COLORWAYS, ' Dark ', 'dark', '').map(str)),
          article_id: text,
          bill_type: some(fc.constantFrom('HR', 'S', 'hjres').map(str)),
          bill_number: integer,
          congress: integer,
          temp_text_url: some(
            fc.oneof(
              { weight: 3, arbitrary: fc.constant('https://example.com/bill.txt').map(str) },
              { weight: 1, arbitrary: fc.constantFrom('http://example.com/x', 'https://\u00fcn\u00efcode.example/\u00e4?q=1#f', 'javascript:alert(1)', 'https://', '//example.com', 'HTTPS://EXAMPLE.COM').map(str) },
            ),
          ),
          temp_title: text,
          page: integer,
          limit: integer,
          subject: some(fc.constantFrom(...NEUT_SUBJECTS, ' Crime ', 'crime').map(str)),
          status_filter: some(fc.constantFrom(...NEUT_STATUS_FILTERS, 'all', '').map(str)),
          show_subject_filter: fc.constantFrom('true', 'false', '"true"', '"false"', '"TRUE"', '1', '0', 'null', '""', '[]'),
          show_status_filter: fc.constantFrom('true', 'false', '"true"', '"false"', 'null'),
          member,
        },
        { requiredKeys: ['widget_id', 'instance_id', 'congress', 'bill_number', 'bill_type', 'subject'] },
      );
    }
    const fields = fc.oneof(neutFields(false), neutFields(true));
    const rare = <T>(arb: fc.Arbitrary<T>, weight = 12) => fc.oneof({ weight, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: arb });
    /** JSON text of a body near the valid ones: mostly objects, sometimes anything. */
    const neutBody: fc.Arbitrary<string> = fc.oneof(
      {
        weight: 19,
        arbitrary: fc
          .record({
            fields,
            server: rare(fc.constantFrom('tenant_id', 'customer_origin', 'bootstrap_timestamp', 'bootstrap_', 'token', 'access_token'), 30),
            extra: fc.array(fc.tuple(hostileKey, jsonText), { maxLength: 2 }),
            duplicate: rare(fc.tuple(fc.constantFrom('widget_id', 'instance_id', 'congress', 'subject', 'colorway'), jsonText), 10),
            duplicateFirst: fc.boolean(),
          })
          .map(({ fields: f, server, extra, duplicate, duplicateFirst }) => {
            const { member: m, ...plain } = f;
            const entries: [string, string][] = Object.entries(plain).filter((e): e is [string, string] => e[1] !== undefined);
            for (const [key, value] of Object.entries(m ?? {})) if (value !== undefined) entries.push([key, value]);
            if (server !== undefined) entries.push([server, '"x"']);
            entries.push(...extra);
            if (duplicate) {
              if (duplicateFirst) entries.unshift(duplicate);
              else entries.push(duplicate);
            }
            return objectText(entries);
          }),
      },
      { weight: 1, arbitrary: jsonText },
    );

    /** The answer to a body: an embed URL a widget host accepts, with exactly the validated fields, or the validator's own refusal. */
    function expectNeutAnswer(answer: Answer, size: number, body: unknown): void {
      const raw = JSON.stringify(body)?.slice(0, 80) ?? '';
      if (size > BODY_LIMIT) {
        expectError(expectShaped(WIRE.neut, answer, 'POST'), 413, 'PAYLOAD_TOO_LARGE', raw);
        return;
      }
      let validated: Record<string, unknown> | undefined;
      let refusal: unknown;
      try {
        validated = validateNeutWidgetRequest(body) as Record<string, unknown>;
      } catch (err) {
        refusal = err;
      }
      const error = expectShaped(WIRE.neut, answer, 'POST');
      if (!validated) {
        expect(refusal).toBeInstanceOf(WidgetAuthError);
        expectError(error, 400, 'INVALID_WIDGET_REQUEST', raw);
        const top = typeof body === 'object' && body !== null;
        if (top) expect(error!.message).toBe((refusal as Error).message);
        return;
      }
      expect(answer.status).toBe(200);
      accepted++;
      const sent = JSON.parse(answer.text) as { widget_id: string; embed_url: string };
      expect(Object.keys(sent)).toEqual(['widget_id', 'embed_url']);
      minted('a Neut embed URL', sent.embed_url);
      minted('a Neut assertion', new URL(sent.embed_url).searchParams.get('bootstrap_assertion')!);
      const verified = verifyNeutBootstrap(sent.embed_url, { mintSecret: NEUT.mintSecret, tenantId: NEUT.tenantId, hostOrigin: NEUT.hostOrigin, mintKeyId: NEUT.mintKeyId, seenNonces });
      expect(sent.widget_id).toBe(validated['widget_id']);
      expect(verified.widgetId).toBe(validated['widget_id']);
      expect(verified.path).toBe(NEUT_DEFAULT_WIDGETS[validated['widget_id'] as string]!.path);
      expect(new URL(sent.embed_url).origin).toBe(NEUT.widgetOrigin);
      const fieldsSent = Object.entries(validated)
        .filter(([k]) => k !== 'widget_id')
        .map(([k, v]) => [k, String(v)]);
      expect(Object.entries(verified.params)).toEqual(fieldsSent);
    }

    const route: FuzzRoute = {
      contract: WIRE.neut,
      path: '/api/widget-embed-params',
      methods: ['POST'],
      requireUser: false,
      bodies: neutBody,
      handled(answer, body) {
        // the generic property already sent oversized bodies to the 413 check
        expectNeutAnswer(answer, 0, body);
      },
    };

    it('answers any request in its shape', async () => {
      await checkProperty(genericProperty(() => app, route, registry), RUNS.generic);
    });

    it('turns whatever it accepts into an embed URL a widget host verifies, carrying exactly the validated fields', async () => {
      const before = accepted;
      await checkProperty(
        fc.asyncProperty(neutBody, async (raw) => {
          const answer = await app.send({ method: 'POST', path: route.path, headers: { 'content-type': 'application/json' }, body: Buffer.from(raw, 'utf8') });
          const size = Buffer.byteLength(raw, 'utf8');
          if (size <= BODY_LIMIT && namesMemberTwice(raw)) expectError(expectShaped(WIRE.neut, answer, 'POST'), 400, 'INVALID_WIDGET_REQUEST', raw.slice(0, 80));
          else expectNeutAnswer(answer, size, JSON.parse(raw));
          afterRun(answer);
        }),
        RUNS.own,
        // a lone surrogate was once validated as is but reached the URL as U+FFFD
        [['{"widget_id":"bill-preview","instance_id":"0","article_id":"\\ud800","bill_type":"HR","bill_number":1,"congress":1}']],
      );
      // the property is about accepted bodies: make sure many were
      expect(accepted - before).toBeGreaterThan(RUNS.own / 10);
    });

    it('survives a Content-Length that lies', async () => {
      await checkProperty(lyingLengthProperty(() => app, { ...route, post: route.path }), RUNS.lyingLength);
    });
  });

  describe('Nevermined', () => {
    let fake: FakeNevermined;
    let app: ServedApp;
    beforeAll(async () => {
      fake = await startFakeNevermined({ orgs: { [NEVERMINED_ORG]: { secret: NEVERMINED_SECRET } } });
      app = await serve(buildApp(neverminedSessionRouter({ orgId: NEVERMINED_ORG, rawSecret: NEVERMINED_SECRET, apiBaseUrl: fake.url, resolveUser: registry.resolveUser, ...common })));
    });
    afterAll(async () => {
      await app.close();
      await fake.close();
    });

    /** A 200 must be the very session the vendor issued for the user's normalised email. */
    function expectSessionFor(answer: Answer, email: string): void {
      expect(answer.status).toBe(200);
      const issued = fake.sessions.at(-1)!;
      expect(issued.email).toBe(trimAscii(email).toLowerCase());
      expect(answer.text).toBe(JSON.stringify(issued.session));
      minted('a Nevermined session token', issued.session.sessionToken);
    }

    const route: FuzzRoute = {
      contract: WIRE.nevermined,
      path: '/api/widget-session',
      methods: ['GET', 'POST'],
      requireUser: true,
      handled(answer, _body, user) {
        expectSessionFor(answer, user!.email!);
      },
    };

    it('answers any request in its shape, with a session only for the signed-in user', async () => {
      await checkProperty(genericProperty(() => app, route, registry), RUNS.generic);
    });

    it('mints for the host user’s normalised email, 401 without one, 500 for a record that is not an email', async () => {
      const emailArb = fc.oneof(
        { weight: 2, arbitrary: hostileString() },
        { weight: 3, arbitrary: fc.constantFrom(' Ada@Example.COM ', 'a@b', 'a@b@c', '@b', 'a@', '\u00e4@\u00f6.de', '\u0130@x.com', 'a b@c', `${'x'.repeat(250)}@b.c`, `${'x'.repeat(249)}@b.c`, '\ud800@x.y', 'a@b\u2028', '\u00a0a@b\u00a0', 'kelly@example.com\u3000', '\ufeffkelly@example.com', '\u212Aelly@example.com', '\u00c4@x.de') },
        { weight: 2, arbitrary: fc.tuple(hostileString(12), hostileString(12)).map(([local, domain]) => `${local}@${domain}`) },
        { weight: 1, arbitrary: fc.constantFrom<unknown>(undefined, null, 42, ['a@b'], {}) },
      );
      await checkProperty(
        fc.asyncProperty(emailArb, fc.constantFrom('GET', 'POST'), async (email, method) => {
          const key = registry.add({ id: 'user-fuzz', email: email as string });
          const answer = await app.send({ method, path: route.path, headers: { 'x-fuzz-user': key } });
          const error = expectShaped(WIRE.nevermined, answer, method);
          if (email === undefined || email === null || (typeof email === 'string' && trimAscii(email) === '')) {
            expectError(error, 401, 'UNAUTHORIZED', JSON.stringify(email));
          } else if (typeof email !== 'string' || notWellFormed(email)) {
            // a record whose email is not a string (or not well-formed Unicode) is the host's bug: reported, not a sign-in problem
            expectError(error, 500, 'INTERNAL_ERROR', JSON.stringify(email));
          } else {
            // only ASCII white space is trimmed, only ASCII letters may change case: anything else could make two addresses one
            const trimmed = trimAscii(email);
            const normalised = trimmed.toLowerCase();
            const asciiLowered = [...trimmed].map((c) => (c >= 'A' && c <= 'Z' ? c.toLowerCase() : c)).join('');
            if (normalised !== asciiLowered || normalised.length > 254 || !/^[^\s@]+@[^\s@]+$/.test(normalised)) expectError(error, 500, 'INTERNAL_ERROR', JSON.stringify(email));
            else expectSessionFor(answer, email);
          }
          afterRun(answer);
        }),
        RUNS.own,
      );
    });

    it('survives a Content-Length that lies', async () => {
      await checkProperty(lyingLengthProperty(() => app, { ...route, post: route.path }), RUNS.lyingLength);
    });

    it('lets through no trace of a secret the vendor hides in an error or a 2xx body, in any encoding, padded or split', async () => {
      const traces = secretTraceFinder(SECRETS);
      const valid = { sessionToken: 'nvm_ws_hostile', userId: 'did:privy:hostile', userWallet: '0x00000000000000000000000000000000000000ab', apiKeyHash: 'ab'.repeat(32), expiresAt: '2030-01-01T00:00:00.000Z' };
      const hostile = fc.oneof({ weight: 3, arbitrary: hostileErrorAnswer(NEVERMINED_SECRET) }, { weight: 1, arbitrary: hostileSuccessAnswer(NEVERMINED_SECRET, valid) });
      await checkProperty(
        fc.asyncProperty(hostile, fc.constantFrom('GET', 'POST'), async (vendor, method) => {
          fake.fault({ kind: 'status', status: vendor.status, body: vendor.body, ...(vendor.headers ? { headers: vendor.headers } : {}) }, { times: 1 });
          const from = logger.events.length;
          const answer = await app.send({ method, path: route.path, headers: { 'x-fuzz-user': GOOD_KEY } });
          const error = expectShaped(WIRE.nevermined, answer, method);
          if (vendor.status === 200) expectError(error, 502, 'UPSTREAM_INVALID_RESPONSE', vendor.how);
          else if (vendor.status === 429) expectError(error, 503, 'UPSTREAM_UNAVAILABLE', vendor.how);
          else if (vendor.status >= 500) expectError(error, 502, 'UPSTREAM_UNAVAILABLE', vendor.how);
          else expectError(error, 502, 'UPSTREAM_REJECTED', vendor.how);
          // the request's event is written once the answer is out
          if (!(await eventually(() => logger.events.length > from))) throw new Error(`no log event for ${vendor.how}`);
          const trace = traces(answerText(answer)) ?? traces(logger.events.slice(from).map((e) => JSON.stringify(e)).join('\n'));
          if (trace) throw new Error(`a vendor answer with the secret ${vendor.how} left ${trace}`);
          afterRun(answer);
        }),
        RUNS.hostile,
      );
    });
  });

  describe('Wonderful', () => {
    let fake: FakeWonderful;
    let app: ServedApp;
    beforeAll(async () => {
      fake = await startFakeWonderful({ apiKey: WONDERFUL_KEY });
      app = await serve(buildApp(wonderfulTokenRouter({ baseUrl: fake.url, apiKey: WONDERFUL_KEY, resolveUser: registry.resolveUser, ...common })));
    });
    afterAll(async () => {
      await app.close();
      await fake.close();
    });

    /** What the refresh route owes a body: 400 without a UUID, 403 for another entity, else a token for the user's own. */
    function expectRefresh(answer: Answer, body: unknown, user: WidgetUser): void {
      const own = wonderfulEntityIdFor(user);
      const requested = typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>)['entityId'] : undefined;
      const error = expectShaped(WIRE.wonderful, answer, 'POST');
      const where = `entityId ${JSON.stringify(requested)}`;
      if (requested === undefined || requested === null || requested === '') expectError(error, 400, 'VALIDATION_ERROR', where);
      else if (typeof requested !== 'string' || !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(requested)) expectError(error, 400, 'VALIDATION_ERROR', where);
      else if (requested.toLowerCase() !== own) expectError(error, 403, 'FORBIDDEN', where);
      else expectTokenFor(answer, own);
    }

    function expectTokenFor(answer: Answer, entity: string): void {
      expect(answer.status).toBe(200);
      const sent = JSON.parse(answer.text) as { token: string; expiresAt: number; id: string };
      expect(Object.keys(sent)).toEqual(['token', 'expiresAt', 'id']);
      minted('a Wonderful token', sent.token);
      expect(sent.id).toBe(entity);
      expect(fake.verify(sent.token).sub).toBe(entity);
    }

    const own = wonderfulEntityIdFor(GOOD_USER);
    const refreshBody: fc.Arbitrary<string> = fc
      .tuple(
        fc.oneof(
          { weight: 4, arbitrary: fc.constantFrom(own, own.toUpperCase(), ` ${own}`, `{${own}}`, `urn:uuid:${own}`, own.replace(/-/g, '')).map((s) => JSON.stringify(s)) },
          { weight: 2, arbitrary: fc.uuid().map((s) => JSON.stringify(s)) },
          { weight: 2, arbitrary: jsonText },
        ),
        fc.array(fc.tuple(hostileKey, jsonText), { maxLength: 3 }),
        fc.boolean(),
      )
      .map(([entity, extra, hidden]) => objectText(hidden ? [['__proto__', `{"entityId":${entity}}`], ...extra] : [['entityId', entity], ...extra]));

    const routes: FuzzRoute[] = [
      {
        contract: WIRE.wonderful,
        path: '/api/sdk-token',
        methods: ['POST'],
        requireUser: true,
        handled(answer, _body, user) {
          expectTokenFor(answer, wonderfulEntityIdFor(user!));
        },
      },
      {
        contract: WIRE.wonderful,
        path: '/api/refresh-sdk-token',
        methods: ['POST'],
        requireUser: true,
        bodies: refreshBody,
        handled(answer, body, user) {
          expectRefresh(answer, body, user!);
        },
      },
    ];

    it.each(routes.map((r) => [r.path, r] as const))('answers any request to %s in its shape', async (_path, route) => {
      await checkProperty(genericProperty(() => app, route, registry), RUNS.generic / 2);
    });

    it('refreshes only the signed-in user’s own entity, whatever the body says', async () => {
      await checkProperty(
        fc.asyncProperty(refreshBody, async (raw) => {
          const body = Buffer.from(raw, 'utf8');
          const answer = await app.send({ method: 'POST', path: '/api/refresh-sdk-token', headers: { 'content-type': 'application/json', 'x-fuzz-user': GOOD_KEY }, body });
          if (body.length > BODY_LIMIT) expectError(expectShaped(WIRE.wonderful, answer, 'POST'), 413, 'PAYLOAD_TOO_LARGE', 'an oversized body');
          else if (namesMemberTwice(raw)) expectError(expectShaped(WIRE.wonderful, answer, 'POST'), 400, 'VALIDATION_ERROR', raw.slice(0, 80));
          else expectRefresh(answer, JSON.parse(raw), GOOD_USER);
          afterRun(answer);
        }),
        RUNS.own / 2,
      );
    });

    it('issues each host user a token for that user’s entity only', async () => {
      await checkProperty(
        fc.asyncProperty(hostileString().filter((s) => s.length > 0), async (id) => {
          const user = { id };
          const key = registry.add(user);
          let entity: string | undefined;
          try {
            entity = wonderfulEntityIdFor(user);
          } catch {
            entity = undefined;
          }
          const path = entity === undefined || id.length % 2 === 0 ? '/api/sdk-token' : '/api/refresh-sdk-token';
          const body = path === '/api/sdk-token' ? undefined : Buffer.from(JSON.stringify({ entityId: entity ?? '' }), 'utf8');
          const answer = await app.send({ method: 'POST', path, headers: { 'content-type': 'application/json', 'x-fuzz-user': key }, ...(body ? { body } : {}) });
          const error = expectShaped(WIRE.wonderful, answer, 'POST');
          // a user record without a usable identity is the host's problem: 500, never someone's token
          if (entity === undefined) expectError(error, 500, 'INTERNAL_ERROR', JSON.stringify(id));
          else expectTokenFor(answer, entity);
          afterRun(answer);
        }),
        RUNS.own / 2,
      );
    });

    it('never gives two different users the same entity', async () => {
      const ids = fc.oneof(hostileString(), fc.string({ unit: fc.constantFrom('a', '\ud800', '\udc00', '\ufffd', '\u00e9', 'e\u0301', 'A'), maxLength: 6 }), fc.uuid());
      // the id another user would choose to share a's entity: a's entity itself, in either case
      const entityOf = (id: string): string => {
        try {
          return wonderfulEntityIdFor({ id });
        } catch {
          return id;
        }
      };
      const twin = (id: string) =>
        fc.constantFrom(
          id,
          id.toUpperCase(),
          id.toLowerCase(),
          entityOf(id),
          entityOf(id).toUpperCase(),
          id.normalize('NFD'),
          `${id} `,
          // what a lossy encoder makes of a lone surrogate
          id.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd'),
        );
      await checkProperty(
        fc.property(ids.chain((a) => fc.tuple(fc.constant(a), twin(a))), ([a, b]) => {
          fc.pre(a !== b && a.length > 0 && b.length > 0);
          let ea: string | undefined;
          let eb: string | undefined;
          try {
            ea = wonderfulEntityIdFor({ id: a });
            eb = wonderfulEntityIdFor({ id: b });
          } catch {
            return; // a refused id gets no entity at all
          }
          if (ea === eb) throw new Error(`users ${JSON.stringify(a)} and ${JSON.stringify(b)} share the entity ${ea}`);
        }),
        1000,
        // these pairs once shared an entity: a lone surrogate and U+FFFD; a UUID id in either
        // case; an id and the entity derived from it
        [[['user\ud800', 'user\ufffd']], [['3b241101-e2bb-4255-8caf-4136c566a962', '3B241101-E2BB-4255-8CAF-4136C566A962']], [['alice', entityOf('alice')]]],
      );
    });

    it('survives a Content-Length that lies', async () => {
      await checkProperty(lyingLengthProperty(() => app, { ...routes[1]!, post: routes[1]!.path }), RUNS.lyingLength);
    });
  });

  describe('Neuroon', () => {
    let fake: FakeNeuroon;
    let app: ServedApp;
    beforeAll(async () => {
      fake = await startFakeNeuroon({ shops: { [NEUROON_SHOP]: { apiKey: NEUROON_KEY } } });
      app = await serve(buildApp(neuroonTokenRouter({ shopId: NEUROON_SHOP, apiKey: NEUROON_KEY, apiBaseUrl: fake.url, ...common })));
    });
    afterAll(async () => {
      await app.close();
      await fake.close();
    });

    const route: FuzzRoute = {
      contract: WIRE.neuroon,
      path: '/api/neuroon-widget-token',
      methods: ['GET'],
      requireUser: false,
      handled(answer) {
        expect(answer.status).toBe(200);
        const sent = JSON.parse(answer.text) as { token: string };
        expect(Object.keys(sent)).toEqual(['token']);
        minted('a Neuroon token', sent.token);
        expect(checkNeuroonWidgetToken(sent.token, { [NEUROON_SHOP]: { apiKey: NEUROON_KEY } })).toMatchObject({ ok: true, shopId: NEUROON_SHOP });
      },
    };

    it('answers any request in its shape, with a token the widget API accepts', async () => {
      await checkProperty(genericProperty(() => app, route, registry), RUNS.neuroonGeneric);
      expect(fake.issueRequests().length).toBeGreaterThanOrEqual(1);
    });

    it('survives a Content-Length that lies', async () => {
      await checkProperty(lyingLengthProperty(() => app, { ...route, post: route.path }), RUNS.lyingLength);
    });
  });
});

describe(`Only UTF-8 JSON reaches a router (Express ${EXPRESS_MAJOR}, seed ${FUZZ_SEED})`, () => {
  let reached = 0;
  const resolveUser = (req: import('express').Request): WidgetUser | null => {
    reached++;
    return req.headers['x-fuzz-user'] === GOOD_KEY ? GOOD_USER : null;
  };
  const targets: { contract: WireContract; path: string; app?: ServedApp }[] = [
    { contract: WIRE.hissuno, path: '/api/hissuno-token' },
    { contract: WIRE.neut, path: '/api/widget-embed-params' },
  ];
  beforeAll(async () => {
    targets[0]!.app = await serve(buildApp(hissunoTokenRouter({ secretKey: HISSUNO_SECRET, resolveUser, logger })));
    targets[1]!.app = await serve(buildApp(neutEmbedParamsRouter({ ...NEUT, resolveUser, logger })));
  });
  afterAll(async () => {
    for (const target of targets) await target.app?.close();
  });

  it('answers any charset but UTF-8, and a UTF-16 byte order mark, with 415 before resolveUser runs', async () => {
    let refused = 0;
    let read = 0;
    await checkProperty(
      // within the limit: a body over it is 413 before its bytes are looked at
      fc.asyncProperty(fc.constantFrom(...targets), arbCharsetContentType().filter((c) => c.body.length <= BODY_LIMIT), async (target, c) => {
        const before = reached;
        const answer = await target.app!.send({
          method: 'POST',
          path: target.path,
          headers: { 'content-type': c.contentType, 'content-length': String(c.body.length), 'x-fuzz-user': GOOD_KEY },
          body: c.body,
        });
        const where = `${target.path} as ${JSON.stringify(c.contentType)} (${c.body.subarray(0, 4).toString('hex')}…)`;
        if (answer.status >= 500) throw new Error(`${answer.status} for ${where}`);
        const error = expectShaped(target.contract, answer, 'POST');
        if (c.utf8) {
          if (answer.status === 415) throw new Error(`UTF-8 JSON refused with 415 for ${where}`);
          read++;
        } else {
          expectError(error, 415, wireCode(target.contract, 'UNSUPPORTED_MEDIA_TYPE'), where);
          if (reached !== before) throw new Error(`resolveUser ran for ${where}`);
          refused++;
        }
        afterRun(answer);
      }),
      RUNS.own,
      // UTF-7 once carried JSON past the checks of UTF-8 text
      [[targets[1]!, { contentType: 'application/json; charset=utf-7', body: Buffer.from('{+ACI-widget_id+ACI-:+ACI-bill-preview+ACI-}'), utf8: false }]],
    );
    // both kinds were generated in numbers
    expect(refused).toBeGreaterThan(RUNS.own / 5);
    expect(read).toBeGreaterThan(RUNS.own / 10);
  });
});

// ---------------------------------------------------------------------------
// Fetch Metadata: a refused request costs nothing


describe(`Fetch Metadata and Origin rules (Express ${EXPRESS_MAJOR}, seed ${FUZZ_SEED})`, () => {
  const CONFIGS = [
    { listed: false, requireOrigin: false },
    { listed: true, requireOrigin: false },
    { listed: false, requireOrigin: true },
    { listed: true, requireOrigin: true },
  ] as const;
  let fake: FakeNevermined;
  const counts = { resolved: 0, limited: 0 };
  const targets: { config: (typeof CONFIGS)[number]; app?: ServedApp }[] = CONFIGS.map((config) => ({ config }));

  beforeAll(async () => {
    fake = await startFakeNevermined({ orgs: { [NEVERMINED_ORG]: { secret: NEVERMINED_SECRET } } });
    for (const target of targets) {
      target.app = await serve(
        buildApp(
          neverminedSessionRouter({
            orgId: NEVERMINED_ORG,
            rawSecret: NEVERMINED_SECRET,
            apiBaseUrl: fake.url,
            logger,
            resolveUser: () => {
              counts.resolved++;
              return GOOD_USER;
            },
            rateLimit: {
              windowMs: 60_000,
              limit: 1_000_000,
              store: {
                increment: () => {
                  counts.limited++;
                  return { totalHits: 1, resetTime: undefined };
                },
                decrement: () => undefined,
                resetKey: () => undefined,
              },
            },
            ...(target.config.listed ? { allowedOrigins: FUZZ_ALLOWED_ORIGINS, cors: true } : {}),
            ...(target.config.requireOrigin ? { requireOrigin: true } : {}),
          }),
        ),
      );
    }
  });
  afterAll(async () => {
    for (const target of targets) await target.app?.close();
    await fake.close();
  });

  it('a refused combination never reaches resolveUser, the rate limiter or the vendor; any other is served', async () => {
    const seen = { refused: 0, served: 0 };
    await checkProperty(
      fc.asyncProperty(fc.nat(targets.length - 1), arbFetchMetadata(), fc.constantFrom('GET', 'POST'), async (index, headers, method) => {
        const target = targets[index]!;
        const before = { ...counts, vendor: fake.requests.length };
        const body = method === 'POST' ? Buffer.from('{}') : undefined;
        const answer = await target.app!.send({
          method,
          path: '/api/widget-session',
          headers: { ...headers, ...(body ? { 'content-type': 'application/json', 'content-length': String(body.length) } : {}) },
          ...(body ? { body } : {}),
        });
        const where = `${method} with ${JSON.stringify(headers)} under ${JSON.stringify(target.config)}`;
        const error = expectShaped(WIRE.nevermined, answer, method);
        const after = { ...counts, vendor: fake.requests.length };
        if (refusedByOriginRules(headers, target.config)) {
          expectError(error, 403, 'FORBIDDEN_ORIGIN', where);
          if (answer.headers['access-control-allow-origin'] !== undefined) throw new Error(`CORS headers on a refusal: ${where}`);
          if (JSON.stringify(after) !== JSON.stringify(before)) throw new Error(`a refused request reached ${JSON.stringify({ before, after })}: ${where}`);
          seen.refused++;
        } else {
          if (answer.status !== 200) throw new Error(`expected 200, got ${answer.status} ${answer.text.slice(0, 200)}: ${where}`);
          if (after.resolved !== before.resolved + 1 || after.limited !== before.limited + 1 || after.vendor !== before.vendor + 1) {
            throw new Error(`a served request skipped a step ${JSON.stringify({ before, after })}: ${where}`);
          }
          minted('a Nevermined session token', fake.sessions.at(-1)!.session.sessionToken);
          seen.served++;
        }
        afterRun(answer);
      }),
      RUNS.generic,
    );
    // both outcomes were generated in numbers
    expect(seen.refused).toBeGreaterThan(RUNS.generic / 4);
    expect(seen.served).toBeGreaterThan(RUNS.generic / 10);
  });
});
