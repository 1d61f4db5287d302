/**
 * Property tests of every preset route (__tests__/helpers/preset-table.ts, one
 * descriptor per route): arbitrary methods, paths, query strings, headers (Origin,
 * preflights, Fetch Metadata, Content-Type, Content-Encoding, chunked bodies) and bodies,
 * and arbitrary users from the host, ids and emails near the limits and hostile text
 * included. No answer is a 5xx except where the host's user breaks a documented rule;
 * every answer has the documented wire shape, a success exactly the documented fields;
 * every credential is verified with code of the tests' own (jose, `node:crypto`); the
 * identity comes from resolveUser only; two users never share a credential; no answer
 * or log event holds a configured secret, and no log event a credential.
 */
import fc from 'fast-check';
import type { WidgetUser } from '../lib/core/types';
import { EXPRESS_MAJOR, buildApp, captureLogger } from './helpers/app';
import { BODY_LIMIT, GOOD_KEY, corsExpected, expected, namesMemberTwice, percent, requestArb, requestOf } from './helpers/fuzz-requests';
import {
  FUZZ_ALLOWED_ORIGINS,
  FUZZ_SCALE,
  FUZZ_SEED,
  answerText,
  captureConsole,
  checkProperty,
  expectShaped,
  hostileKey,
  hostileString,
  jsonText,
  leakFinder,
  notWellFormed,
  objectText,
  serve,
  userRegistry,
  type Answer,
  type OutgoingRequest,
  type ServedApp,
  type WireError,
} from './helpers/hardening';
import { presetTable, presetWire, type PresetDescriptor, type PresetOutcome } from './helpers/preset-table';

/** Property runs per preset route (twelve routes, each file run once per Express major). */
const RUNS = { generic: 100, users: 60, identity: 30, twins: 30 };

jest.setTimeout(60_000 * FUZZ_SCALE);

const PRESETS = presetTable('fuzz');
const SECRETS: Record<string, string> = Object.assign({}, ...PRESETS.map((p) => p.secrets));

const GOOD_USER: WidgetUser = { id: 'user-ada', email: ' Ada@Example.COM ', name: 'Ada Lovelace', metadata: { plan: 'pro', verified: 'yes', avatar: 'https://img.example/ada.png' } };

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
let credentialsMinted = 0;
const PROTOTYPE_KEYS = [Object.prototype, Array.prototype, Function.prototype].map((p) => Object.getOwnPropertyNames(p).sort().join());

/** After every run: no secret in the answer, no secret or credential in a new log event, no polluted prototype. */
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

function expectError(error: WireError | undefined, status: number, code: string | undefined, where: string): void {
  if (!error || error.status !== status || error.code !== code) {
    throw new Error(`expected ${status} ${code ?? ''}, got ${error ? `${error.status} ${error.code ?? ''}` : 'a success'} for ${where}`);
  }
}

const seconds = () => Math.floor(Date.now() / 1000);

/** Send `req` signed in as `user` and check the answer against the preset's documented outcome; returns the credential of a 200. */
async function sendFor(app: ServedApp, preset: PresetDescriptor, req: OutgoingRequest, user: WidgetUser): Promise<{ answer: Answer; credential: string | undefined }> {
  const requestBody: unknown = req.body === undefined ? {} : JSON.parse(req.body.toString());
  // a member named twice is refused before the user is read: two parsers could read two values
  const twice = req.method === 'POST' && req.body !== undefined && namesMemberTwice(req.body.toString());
  const signedBefore = seconds();
  const answer = await app.send(req);
  const signedAfter = seconds();
  const credential = checkOutcome(preset, answer, req.method, user, requestBody, twice);
  if (credential !== undefined) await preset.verify(JSON.parse(answer.text), user, { signedBefore, signedAfter }, requestBody);
  return { answer, credential };
}

/** A request of `method` to the preset's route as `key`, with its `okBody` (or `body`) when it is a POST. */
function simple(preset: PresetDescriptor, method: string, key: string, body = preset.okBody, query = ''): OutgoingRequest {
  const post = method === 'POST' && body !== undefined;
  const bytes = Buffer.from(body ?? '', 'utf8');
  return {
    method,
    path: `${preset.path}${query}`,
    headers: { 'x-fuzz-user': key, ...(post ? { 'content-type': 'application/json', 'content-length': String(bytes.length) } : {}) },
    ...(post ? { body: bytes } : {}),
  };
}

/** Check the status, shape and code the preset's rules give `user`; returns the credential of a 200 (verified by the caller). */
function checkOutcome(preset: PresetDescriptor, answer: Answer, method: string, user: WidgetUser, requestBody: unknown, twice = false): string | undefined {
  const where = `${preset.label} ${method} for ${JSON.stringify(user).slice(0, 200)}: ${answer.status} ${answer.text.slice(0, 200)}`;
  const error = expectShaped(presetWire(preset.vendor, preset.codes), answer, method);
  // an id or email that is not well-formed Unicode is the host's broken record, refused on every route
  const want: PresetOutcome = twice
    ? { status: 400, code: 'INVALID_REQUEST' }
    : notWellFormed(user.id) || notWellFormed(user.email)
      ? { status: 500, code: 'INTERNAL_ERROR' }
      : preset.outcome(user, requestBody);
  if (want.status !== 200) {
    expectError(error, want.status, want.code, where);
    if (want.message !== undefined && error!.message !== want.message) throw new Error(`message ${JSON.stringify(error!.message)} for ${where}`);
    return undefined;
  }
  if (answer.status !== 200) throw new Error(`expected 200 for ${where}`);
  const credential = (JSON.parse(answer.text) as Record<string, unknown>)[preset.credentialField];
  if (typeof credential !== 'string') throw new Error(`no ${preset.credentialField} in ${where}`);
  // a credential may appear in its own answer only, never in a log
  credentialsMinted++;
  logLeaks.add(`a ${preset.label} credential`, credential);
  return credential;
}

// ---------------------------------------------------------------------------
// Users from the host

/** BMP-only ids around Zendesk's 255-character limit (UTF-16 units and characters agree). */
const nearLimitId = fc.tuple(fc.constantFrom(1, 254, 255, 256, 1000), fc.constantFrom('x', '\u00e9', '\u4e2d', ' ', '0')).map(([n, c]) => c.repeat(n));
const idArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: hostileString().filter((s) => s.length > 0) },
  { weight: 2, arbitrary: nearLimitId },
  { weight: 1, arbitrary: fc.uuid() },
  { weight: 1, arbitrary: fc.constantFrom('\u{1F600}'.repeat(127), 'a'.repeat(255) + '\u0301', 'user-ada') },
);
/** Emails: missing, `null`, empty, blank, spaced, cased, near and past RFC lengths, any text. */
const emailArb: fc.Arbitrary<string | null | undefined> = fc.oneof(
  { weight: 2, arbitrary: fc.constantFrom(undefined, null, '', '   ', '\t\n', '\u00a0', ' Ada@Example.COM ', 'ada@example.com', 'ADA@EXAMPLE.COM') },
  { weight: 1, arbitrary: fc.constantFrom(64, 254, 255, 320, 5000).map((n) => `${'a'.repeat(n - 12)}@example.com`) },
  { weight: 3, arbitrary: hostileString() },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom(' ', '  ', '\t', ''), fc.emailAddress(), fc.constantFrom(' ', '', '\n')).map(([a, e, b]) => `${a}${e}${b}`) },
);
const userArb: fc.Arbitrary<WidgetUser> = fc
  .record({
    id: idArb,
    email: emailArb,
    name: fc.oneof({ weight: 1, arbitrary: fc.constantFrom(undefined, null, '') }, { weight: 3, arbitrary: hostileString() }),
    verified: fc.constantFrom(undefined, 'yes', 'no'),
    avatar: fc.option(hostileString(), { nil: undefined }),
    metadataKeys: fc.array(fc.tuple(hostileKey, hostileString(20)), { maxLength: 2 }),
  })
  .map(({ id, email, name, verified, avatar, metadataKeys }) => {
    const user: Record<string, unknown> = { id };
    // null where a database column is NULL: outside WidgetUser's type, accepted by the pipeline
    if (email !== undefined) user['email'] = email;
    if (name !== undefined) user['name'] = name;
    const metadata: Record<string, string | undefined> = {};
    for (const [k, v] of metadataKeys) Object.defineProperty(metadata, k, { value: v, enumerable: true, writable: true, configurable: true });
    if (verified !== undefined) metadata['verified'] = verified;
    if (avatar !== undefined) metadata['avatar'] = avatar;
    user['metadata'] = metadata;
    return user as unknown as WidgetUser;
  });

/** What a page would send to pose as someone else: ids and emails of a victim, under every name the vendors use, hidden in `__proto__` too. */
const VICTIM = { id: 'victim-1', email: 'victim@example.com' };
const IDENTITY_KEYS = ['user_id', 'userId', 'id', 'external_id', 'identifier', 'email', 'user', 'sub', 'user_hash', 'signature', 'emailHash', 'userHash', 'identifier_hash'];
const injectionArb = fc.record({
  keys: fc.uniqueArray(fc.constantFrom(...IDENTITY_KEYS), { minLength: 1, maxLength: 5 }),
  value: fc.oneof(fc.constantFrom(JSON.stringify(VICTIM.id), JSON.stringify(VICTIM.email), JSON.stringify(VICTIM), '"user-ada"'), jsonText),
  hidden: fc.boolean(),
  extra: fc.array(fc.tuple(hostileKey, jsonText), { maxLength: 2 }),
});

/** Short identities of characters that encoders, case mappings and normalization confuse. */
const CONFUSABLE: fc.Arbitrary<string> = fc.string({ unit: fc.constantFrom('a', 'A', '\ud800', '\udc00', '\ufffd', '\u00e9', 'e\u0301', '\u0130', '\u00df', ' '), minLength: 1, maxLength: 6 });

/** An identity a different user could hold that is easily confused with `a`'s. */
function twins(a: string, withReplacement: boolean): fc.Arbitrary<string> {
  const forms = fc.constantFrom(a.toUpperCase(), a.toLowerCase(), a.normalize('NFD'), a.normalize('NFC'), `${a}\u0000`, `${a}.`, a.slice(0, -1), a.slice(1), `${a}${a}`);
  // what a lossy encoder makes of a lone surrogate
  const replaced = a.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');
  return withReplacement && replaced !== a ? fc.oneof(forms, fc.constant(replaced)) : forms;
}

// ---------------------------------------------------------------------------

describe(`Property tests of every preset route (Express ${EXPRESS_MAJOR}, seed ${FUZZ_SEED})`, () => {
  const output = captureConsole();
  const registry = userRegistry();
  registry.set(GOOD_KEY, GOOD_USER);

  afterAll(() => {
    output.restore();
    expect(logLeaks.find(output.text())).toBeUndefined();
    expect(output.calls).toEqual([]);
    expect(credentialsMinted).toBeGreaterThan(PRESETS.length * 50);
  });

  describe.each(PRESETS.map((p) => [p.label, p] as const))('%s', (_label, preset) => {
    let app: ServedApp;
    beforeAll(async () => {
      app = await serve(buildApp(preset.build({ resolveUser: registry.resolveUser, logger, allowedOrigins: FUZZ_ALLOWED_ORIGINS, cors: true })));
    });
    afterAll(() => app.close());
    const contract = presetWire(preset.vendor, preset.codes);
    const methods = fc.constantFrom(...preset.methods);

    it('answers any request in its documented shape, with a verified credential only for the signed-in user', async () => {
      const kinds: Record<string, number> = {};
      await checkProperty(
        fc.asyncProperty(requestArb(preset), async (c) => {
          const req = requestOf(preset, c);
          const signedBefore = seconds();
          const answer = await app.send(req);
          const signedAfter = seconds();
          const where = `${req.method} ${req.path.slice(0, 60)} ${JSON.stringify(req.headers).slice(0, 300)}`;
          if (answer.status >= 500) throw new Error(`${answer.status} for ${where}: ${answer.text.slice(0, 200)}`);
          const error = expectShaped(contract, answer, req.method);
          if (!/\borigin\b/i.test(String(answer.headers['vary'] ?? ''))) throw new Error(`no Vary: Origin on ${where}`);
          const want = expected(preset, c, registry);
          kinds[want.kind] = (kinds[want.kind] ?? 0) + 1;
          const cors = corsExpected(c, want);
          const acao = answer.headers['access-control-allow-origin'];
          if ((acao !== undefined) !== cors || (cors && acao !== (c.origin as string).replace(/^[ \t]+|[ \t]+$/g, ''))) {
            throw new Error(`Access-Control-Allow-Origin is ${String(acao)} for ${where}`);
          }
          if (want.kind === 'preflight') {
            if (answer.status !== 204 || answer.headers['access-control-allow-methods'] !== preset.methods.join(', ')) throw new Error(`expected a preflight answer for ${where}`);
          } else if (want.kind === 'answer') {
            expectError(error, want.status, c.method === 'HEAD' ? undefined : want.code, where);
            if (want.allow !== undefined && answer.headers['allow'] !== want.allow) throw new Error(`Allow is ${String(answer.headers['allow'])} on ${where}`);
          } else if (want.kind === 'handled') {
            const credential = checkOutcome(preset, answer, req.method, want.user!, want.body);
            if (credential !== undefined) await preset.verify(JSON.parse(answer.text), want.user!, { signedBefore, signedAfter }, want.body);
          }
          afterRun(answer);
        }),
        RUNS.generic,
      );
      // both the pipeline's refusals and the route's own answers were generated in numbers
      expect(kinds['handled'] ?? 0).toBeGreaterThan(RUNS.generic / 10);
      expect(kinds['answer'] ?? 0).toBeGreaterThan(RUNS.generic / 4);
    });

    it('answers whatever user the host resolves as documented: the credential of exactly that user, or the documented refusal', async () => {
      const seen = { ok: 0, refused: 0 };
      await checkProperty(
        fc.asyncProperty(userArb, methods, async (user, method) => {
          const { answer, credential } = await sendFor(app, preset, simple(preset, method, registry.add(user)), user);
          if (credential === undefined) seen.refused++;
          else seen.ok++;
          afterRun(answer);
        }),
        RUNS.users,
        // a user whose email is null while the host vouches for it (Zendesk: email_verified only with an email)
        [[{ id: 'user-null-email', email: null as unknown as string, metadata: { verified: 'yes' } }, preset.methods[0]!]],
      );
      expect(seen.ok).toBeGreaterThan(RUNS.users / 4);
      // a preset with a rule on the user (an email to sign, a longest id) refused some
      if (preset.outcome({ id: 'x'.repeat(300) }).status !== 200) expect(seen.refused).toBeGreaterThan(0);
    });

    it('takes the identity from resolveUser only: ids and emails in the query or body never change the answer', async () => {
      await checkProperty(
        fc.asyncProperty(userArb, injectionArb, methods, fc.boolean(), async (user, inj, method, idInQuery) => {
          const entries: [string, string][] = inj.keys.map((k) => [k, inj.value]);
          // after the fields of the route's own valid body, if it has one
          const own = Object.entries((preset.okBody === undefined ? {} : JSON.parse(preset.okBody)) as Record<string, unknown>).map(([k, v]): [string, string] => [k, JSON.stringify(v)]);
          const text = objectText([...own, ...(inj.hidden ? [['__proto__', objectText(entries)] as [string, string]] : entries), ...inj.extra]);
          const query = `?${inj.keys.map((k) => `${k}=${percent(idInQuery ? VICTIM.id : VICTIM.email)}`).join('&')}`;
          const body = Buffer.byteLength(text) <= BODY_LIMIT ? text : preset.okBody;
          const { answer } = await sendFor(app, preset, simple(preset, method, registry.add(user), body, query), user);
          afterRun(answer);
        }),
        RUNS.identity,
      );
    });

    it('never gives two different users the same credential', async () => {
      // a lone surrogate and U+FFFD are left to the reproduction below for the digest presets
      const pair = fc.oneof(idArb, CONFUSABLE).chain((a) => fc.tuple(fc.constant(a), twins(a, preset.kind === 'jwt')));
      await checkProperty(
        fc.asyncProperty(pair, methods, async ([a, b], method) => {
          const userOf = (text: string): WidgetUser => (preset.identity === 'id' ? { id: text, email: 'same@example.com' } : { id: 'same-id', email: text });
          const [ua, ub] = [userOf(a), userOf(b)];
          fc.pre(b.length > 0 && preset.identityOf(ua) !== undefined && preset.identityOf(ub) !== undefined && preset.identityOf(ua) !== preset.identityOf(ub));
          const got: string[] = [];
          for (const user of [ua, ub]) {
            const { answer, credential } = await sendFor(app, preset, simple(preset, method, registry.add(user)), user);
            afterRun(answer);
            if (credential !== undefined) got.push(credential);
          }
          if (got.length === 2 && got[0] === got[1]) throw new Error(`users ${JSON.stringify(a)} and ${JSON.stringify(b)} share a credential`);
        }),
        RUNS.twins,
        [[['user-ada', 'USER-ADA'], preset.methods[0]!]],
      );
    });
  });

  /**
   * An id or email holding a lone surrogate would be signed as its UTF-8 bytes, where the
   * surrogate is U+FFFD, so its digest would be the very digest of the id with U+FFFD in
   * that place: the user `x\ud800` would get a credential that verifies for the user
   * `x\ufffd`. Such an identity is refused (500, the host's record is broken), never signed.
   */
  it.each(PRESETS.filter((p) => p.kind === 'hmac').map((p) => [p.label, p] as const))('%s: a lone surrogate and U+FFFD never share a credential', async (_label, preset) => {
    const app = await serve(buildApp(preset.build({ resolveUser: registry.resolveUser, logger })));
    try {
      const text = preset.identity === 'id' ? ['user\ud800', 'user\ufffd'] : ['ada\ud800@example.com', 'ada\ufffd@example.com'];
      const credentials: (string | undefined)[] = [];
      const statuses: number[] = [];
      for (const t of text) {
        const user: WidgetUser = preset.identity === 'id' ? { id: t } : { id: 'user-x', email: t };
        const answer = await app.send(simple(preset, preset.methods[0]!, registry.add(user)));
        credentials.push(answer.status === 200 ? ((JSON.parse(answer.text) as Record<string, string>)[preset.credentialField] ?? '') : undefined);
        statuses.push(answer.status);
      }
      // the lone surrogate is refused; its U+FFFD twin, well-formed, gets its own credential
      expect(statuses).toEqual([500, 200]);
      expect(credentials[0] === undefined || credentials[0] !== credentials[1]).toBe(true);
    } finally {
      await app.close();
    }
  });
});
