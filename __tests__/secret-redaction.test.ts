/**
 * Secrets a vendor (or a host hook) puts where the library reads text: cut before they
 * were redacted, written in an encoding the redactor did not know, split in two, echoed
 * in a success body, hidden in a thrown value that broke the error handler, or quoted
 * from another vendor's configuration under `widgetAuth`. Every test goes over real
 * HTTP to a router whose vendor is one of the fakes of `lib/testing`, and searches the
 * answer and every log event with an independent finder (`secretTraceFinder`: it decodes
 * what is there rather than encoding what it looks for).
 */
import { randomBytes } from 'node:crypto';
import { hissunoTokenRouter } from '../lib/hissuno/index';
import { neuroonTokenRouter } from '../lib/neuroon/index';
import { createWidgetSession, neverminedSessionRouter } from '../lib/nevermined/index';
import { WonderfulAuthClient, wonderfulEntityIdFor, wonderfulTokenRouter } from '../lib/wonderful/index';
import { createWonderfulSigner } from '../lib/wonderful/client';
import { widgetAuth } from '../lib/widget-auth';
import type { WidgetUser } from '../lib/core/types';
import { startFakeNeuroon, type FakeNeuroon } from '../lib/testing/neuroon';
import { startFakeNevermined, type FakeNevermined } from '../lib/testing/nevermined';
import { startFakeWonderful, type FakeWonderful } from '../lib/testing/wonderful';
import request from 'supertest';
import { crispIdentityRouter } from '../lib/crisp/index';
import { EXPRESS_MAJOR, buildApp, captureLogger, expectNoSecrets } from './helpers/app';
import fc from 'fast-check';
import { createSecretMatcher } from '../lib/core/logger';
import {
  WIRE,
  answerText,
  checkProperty,
  disguiseSecret,
  disguisedSecret,
  eventually,
  expectShaped,
  secretFragmentLength,
  secretTraceFinder,
  serve,
  type Answer,
  type SecretDisguise,
  type ServedApp,
} from './helpers/hardening';

const NVM_SECRET = 'wk_live_7Hq2XbN9sLc4TzR8mVd3Kp';
const WONDERFUL_KEY = 'wf_key_Zt4Lq9Xc2Vn7Bm5Rk8Hs3Jd6';
const NEUROON_KEY = 'nk_live_P3s8Wd1Qx6Gz4Nc9Tb5';
const HISSUNO_SECRET = 'sk_live_Yx7Rb2Mq9Tn4Wz6Kc1Vd8Hs3Lp5Fg0J';
const NEUT_SECRET = 'neut_mint_Rw8Kd3Zq6Xn1Vb9Mt4Lc7Hp2';
const ORG = 'org-redaction';
const SHOP = 'shop_redaction';
const ADA: WidgetUser = { id: 'user-ada', email: 'ada@example.com' };

const findTrace = secretTraceFinder({
  'the Nevermined secret': NVM_SECRET,
  'the Wonderful key': WONDERFUL_KEY,
  'the Neuroon key': NEUROON_KEY,
  'the Hissuno secret': HISSUNO_SECRET,
  'the Neut secret': NEUT_SECRET,
});

const logger = captureLogger();
const resolveAda = (req: { headers: Record<string, unknown> }) => (req.headers['x-user'] === 'ada' ? ADA : null);

/** The log events of requests to `route` written since `from`, once the request's own event is in. */
async function eventsOf(route: string, from: number): Promise<Record<string, unknown>[]> {
  const mine = () => logger.events.slice(from).filter((e) => (e.obj as { route?: unknown }).route === route);
  expect(await eventually(() => mine().some((e) => typeof (e.obj as { status?: unknown }).status === 'number'))).toBe(true);
  return logger.events.slice(from).map((e) => ({ level: e.level, msg: e.msg, ...e.obj }));
}

/** No secret, whole or a piece, in any form, in the answer or in any event logged since `from`. */
function expectNoTrace(answer: Answer, events: readonly object[]): void {
  expect(findTrace(answerText(answer))).toBeUndefined();
  for (const event of events) expect(findTrace(JSON.stringify(event))).toBeUndefined();
}

/** The request event (the one with a status) of `route` among `events`. */
const requestEvent = (events: Record<string, unknown>[], route: string) => events.find((e) => e['route'] === route && typeof e['status'] === 'number')!;

describe(`Secrets in vendor text, success bodies and thrown values (Express ${EXPRESS_MAJOR})`, () => {
  let nevermined: FakeNevermined;
  let wonderful: FakeWonderful;
  let neuroon: FakeNeuroon;
  const apps: ServedApp[] = [];
  let nvm: ServedApp;

  const served = async (router: Parameters<typeof buildApp>[0]) => {
    const app = await serve(buildApp(router));
    apps.push(app);
    return app;
  };

  beforeAll(async () => {
    [nevermined, wonderful, neuroon] = await Promise.all([
      startFakeNevermined({ orgs: { [ORG]: { secret: NVM_SECRET } } }),
      startFakeWonderful({ apiKey: WONDERFUL_KEY }),
      startFakeNeuroon({ shops: { [SHOP]: { apiKey: NEUROON_KEY } } }),
    ]);
    nvm = await served(neverminedSessionRouter({ orgId: ORG, rawSecret: NVM_SECRET, apiBaseUrl: nevermined.url, resolveUser: resolveAda, logger, retries: 0 }));
  });
  afterAll(async () => {
    for (const app of apps) await app.close();
    await Promise.all([nevermined.close(), wonderful.close(), neuroon.close()]);
  });
  afterEach(() => {
    nevermined.clearFaults();
    wonderful.clearFaults();
    neuroon.clearFaults();
  });

  /** One Nevermined request while the vendor answers `fault`; the answer and the events it logged. */
  async function nvmFailure(status: number, body: unknown, headers?: Record<string, string>) {
    nevermined.fault({ kind: 'status', status, body, ...(headers ? { headers } : {}) }, { times: 1 });
    const from = logger.events.length;
    const answer = await nvm.send({ method: 'GET', path: '/api/widget-session', headers: { 'x-user': 'ada' } });
    const events = await eventsOf('/api/widget-session', from);
    return { answer, error: expectShaped(WIRE.nevermined, answer), events, event: requestEvent(events, '/api/widget-session') };
  }

  describe('vendor error text is redacted whole, then cut', () => {
    it('keeps no part of a secret padded past the lengths the code (100) and correlation id (200) are cut to', async () => {
      const { answer, error, events, event } = await nvmFailure(401, { code: `${'E'.repeat(80)}${NVM_SECRET}`, message: 'bad key', correlationId: `${'C'.repeat(190)}${NVM_SECRET}` });
      expect({ status: answer.status, code: error?.code }).toEqual({ status: 502, code: 'UPSTREAM_REJECTED' });
      expectNoTrace(answer, events);
      // the operator still sees what the vendor said, with the secret replaced
      expect(event['vendorCode']).toBe(`${'E'.repeat(80)}[redacted]`);
      expect(event['correlationId']).toBe(`${'C'.repeat(190)}[redacted]`);
      expect(error?.correlationId).toBeUndefined();
    });

    it('cuts a correlation id header to 200 characters, also when the error body is not JSON', async () => {
      const { answer, error, events, event } = await nvmFailure(500, 'upstream exploded', { 'x-correlation-id': `req-${'r'.repeat(8000)}` });
      expect({ status: answer.status, code: error?.code }).toEqual({ status: 502, code: 'UPSTREAM_UNAVAILABLE' });
      expect(error?.correlationId).toBeUndefined();
      expect(answer.text.length).toBeLessThan(300);
      expect(event['correlationId']).toBe(`req-${'r'.repeat(196)}`);
      expectNoTrace(answer, events);
    });

    it.each([
      ['a UUID', '0b7e8a52-3c1d-4f6e-9a2b-7c8d9e0f1a2b', true],
      ['a prefixed id with dots and colons', 'req:2025.06.01-abc_DEF', true],
      ['64 characters', 'a'.repeat(64), true],
      ['65 characters', 'a'.repeat(65), false],
      ['an id with a space', 'req 123', false],
      ['markup', '<img src=x onerror=alert(1)>', false],
      ['base64 with + / =', 'ab+cd/ef==', false],
      ['a line break', 'req-1\r\nSet-Cookie: a=b', false],
    ])('sends the browser a vendor correlation id only when it looks like an id: %s', async (_what, id, sent) => {
      const { answer, error, events, event } = await nvmFailure(403, { code: 'BCK.WIDGET_SESSION.0012', correlationId: id });
      expect(answer.status).toBe(502);
      expect(error?.correlationId).toBe(sent ? id : undefined);
      // the log keeps it either way, for the vendor's support
      expect(event['correlationId']).toBe(id);
      expectNoTrace(answer, events);
    });

    it('never forwards a correlation id that carries a secret, even one that looks like an id', async () => {
      const { answer, error, events, event } = await nvmFailure(401, { code: 'X', correlationId: Buffer.from(NVM_SECRET).toString('hex').toUpperCase() });
      expect(answer.status).toBe(502);
      // (asserted as a flag: a failure must not print the value)
      expect({ forwarded: error?.correlationId !== undefined }).toEqual({ forwarded: false });
      expect(event['correlationId']).toBe('[redacted]');
      expectNoTrace(answer, events);
    });
  });

  describe('pieces of a secret as a correlation id', () => {
    const half = Math.ceil(NVM_SECRET.length / 2);
    const hexOf = (text: string) => Buffer.from(text).toString('hex');
    it.each([
      ['the hex of its first half', () => hexOf(NVM_SECRET.slice(0, half))],
      ['the hex of its second half', () => hexOf(NVM_SECRET.slice(half))],
      ['the base64url of its first half', () => Buffer.from(NVM_SECRET.slice(0, half)).toString('base64url')],
      ['the base64url of its second half', () => Buffer.from(NVM_SECRET.slice(half)).toString('base64url')],
      ['8 of its characters after a prefix', () => `req-${NVM_SECRET.slice(3, 11)}`],
    ])('never sends the browser, nor logs, %s (two answers would give the whole)', async (_what, make) => {
      const id = make();
      // a refusal (401) is also reported: the report quotes the vendor's correlation id
      const { answer, error, events, event } = await nvmFailure(401, 'refused', { 'x-correlation-id': id });
      expect(answer.status).toBe(502);
      // (asserted as flags: a failure must not print the value)
      expect({ forwarded: error?.correlationId !== undefined, logged: event['correlationId'] === id, reported: String(event['hint']).includes(id) }).toEqual({
        forwarded: false,
        logged: false,
        reported: false,
      });
      expect(String(event['hint'])).toContain('correlation id [redacted]');
      expect(event['correlationId']).toBe('[redacted]');
      expectNoTrace(answer, events);
    });

    it('still sends an id that shares nothing with a secret', async () => {
      const { error, event } = await nvmFailure(500, 'down', { 'x-correlation-id': 'req-7f3a9c21-0b4d' });
      expect(error?.correlationId).toBe('req-7f3a9c21-0b4d');
      expect(event['correlationId']).toBe('req-7f3a9c21-0b4d');
    });
  });

  describe('every encoding of a secret is redacted', () => {
    const cases: [string, SecretDisguise, { before?: Uint8Array; after?: Uint8Array; pick?: boolean[] }][] = [
      ['upper-case hex', 'HEX', {}],
      ['mixed-case hex', 'hex-mixed', { pick: [true, false, false] }],
      ['base64 at byte offset 1 of a larger text', 'base64', { before: Buffer.from('{'), after: Buffer.from('}') }],
      ['base64 at byte offset 2', 'base64', { before: Buffer.from('k='), after: Buffer.from('&x=1') }],
      ['base64url at byte offset 1', 'base64url', { before: Buffer.from('a'), after: Buffer.from('zz') }],
      ['base64url at byte offset 2, unpadded', 'base64url', { before: Buffer.from('ab'), after: Buffer.from('z') }],
      ['every byte percent-encoded, lower case', 'percent', {}],
      ['every byte percent-encoded, upper case', 'PERCENT', {}],
      ['some characters percent-encoded', 'percent-mixed', { pick: [false, true] }],
      ['JSON \\u escapes, lower case', 'json-unicode', {}],
      ['JSON \\u escapes, upper case', 'JSON-UNICODE', {}],
      ['some characters as JSON \\u escapes', 'json-mixed', { pick: [true, true, false] }],
    ];

    it.each(cases)('%s, in the code, the correlation id and the header', async (_what, how, options) => {
      const hidden = disguiseSecret(NVM_SECRET, how, options);
      const { answer, error, events, event } = await nvmFailure(401, { code: `KEY_${hidden}`, correlationId: hidden, message: hidden }, { 'x-request-id': hidden });
      expect({ status: answer.status, code: error?.code }).toEqual({ status: 502, code: 'UPSTREAM_REJECTED' });
      expect({ forwarded: error?.correlationId !== undefined }).toEqual({ forwarded: false });
      expect(String(event['vendorCode']).includes('[redacted]')).toBe(true);
      expectNoTrace(answer, events);
    });

    it.each([
      ['across the code and the correlation id', (a: string, b: string) => ({ code: a, correlationId: b })],
      ['with a separator inserted', (a: string, b: string) => ({ code: 'X', correlationId: `${a}-${b}` })],
      ['with a space inserted, in the code', (a: string, b: string) => ({ code: `${a} ${b}`, correlationId: 'req-1' })],
    ])('a secret split in two halves %s', async (_what, body) => {
      const half = Math.floor(NVM_SECRET.length / 2);
      const { answer, error, events } = await nvmFailure(401, body(NVM_SECRET.slice(0, half), NVM_SECRET.slice(half)));
      expect(answer.status).toBe(502);
      expect({ forwarded: error?.correlationId !== undefined && error.correlationId !== 'req-1' }).toEqual({ forwarded: false });
      expectNoTrace(answer, events);
    });
  });

  describe('success bodies never carry a configured secret', () => {
    const session = () => ({
      sessionToken: `nvm_ws_${'Qm9'.repeat(12)}`,
      userId: 'did:privy:redaction',
      userWallet: '0x00000000000000000000000000000000000000aa',
      apiKeyHash: 'f'.repeat(64),
      expiresAt: '2030-01-01T00:00:00.000Z',
    });

    it.each([
      ['echoes the request, secret included', { ...session(), orgId: ORG, email: 'ada@example.com', rawSecret: NVM_SECRET }],
      ['echoes it base64-encoded inside a larger text', { ...session(), debug: Buffer.from(JSON.stringify({ orgId: ORG, rawSecret: NVM_SECRET })).toString('base64') }],
      ['hides it hex-encoded in a nested field', { ...session(), meta: { key: Buffer.from(NVM_SECRET).toString('hex') } }],
    ])('Nevermined: a session that %s answers 502 and is never relayed', async (_what, body) => {
      const { answer, error, events, event } = await nvmFailure(200, body);
      expect({ status: answer.status, code: error?.code }).toEqual({ status: 502, code: 'UPSTREAM_INVALID_RESPONSE' });
      expect(event).toMatchObject({ level: 'error', code: 'UPSTREAM_INVALID_RESPONSE', upstreamStatus: 200, err: { message: expect.stringContaining('holds the widget key secret') } });
      expectNoTrace(answer, events);
    });

    it('Nevermined: extra fields without a secret are still relayed as sent', async () => {
      const body = { ...session(), environment: 'sandbox', plan: { tier: 'pro' } };
      nevermined.fault({ kind: 'status', status: 200, body }, { times: 1 });
      const answer = await nvm.send({ method: 'GET', path: '/api/widget-session', headers: { 'x-user': 'ada' } });
      expect(answer.status).toBe(200);
      expect(answer.text).toBe(JSON.stringify(body));
    });

    it('Nevermined: createWidgetSession rejects such a session, and its error holds no trace of the secret', async () => {
      nevermined.fault({ kind: 'status', status: 200, body: { ...session(), rawSecret: NVM_SECRET } }, { times: 1 });
      const failure = await createWidgetSession({ email: 'ada@example.com', orgId: ORG, rawSecret: NVM_SECRET, apiBaseUrl: nevermined.url }).then(
        () => undefined,
        (err: unknown) => err as Error & { code?: string },
      );
      expect(failure?.code).toBe('UPSTREAM_INVALID_RESPONSE');
      expect(findTrace(`${failure?.message} ${JSON.stringify(failure)}`)).toBeUndefined();
    });

    it.each([0, 1, 2])('Wonderful: a token whose claims hold the API key (at byte offset %i mod 3) answers 502', async (offset) => {
      const app = await served(wonderfulTokenRouter({ baseUrl: wonderful.url, apiKey: WONDERFUL_KEY, resolveUser: resolveAda, logger, retries: 0 }));
      const entity = wonderfulEntityIdFor(ADA);
      const exp = Math.floor(Date.now() / 1000) + 600;
      const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
      // the claim's position moves the key across the three byte alignments of the payload
      const payload = { sub: entity, exp, pad: 'x'.repeat(offset), apiKey: WONDERFUL_KEY };
      const token = `${base64url({ alg: 'RS256', typ: 'JWT' })}.${base64url(payload)}.c2lnbmF0dXJl`;
      wonderful.fault({ kind: 'status', status: 200, body: { jwt: token, expiresAt: exp, id: entity } }, { times: 1 });
      const from = logger.events.length;
      const answer = await app.send({ method: 'POST', path: '/api/sdk-token', headers: { 'x-user': 'ada' } });
      const events = await eventsOf('/api/sdk-token', from);
      expect({ status: answer.status, code: expectShaped(WIRE.wonderful, answer, 'POST')?.code }).toEqual({ status: 502, code: 'UPSTREAM_INVALID_RESPONSE' });
      expect(requestEvent(events, '/api/sdk-token')).toMatchObject({ upstreamStatus: 200, err: { message: expect.stringContaining('with a token that holds the API key') } });
      expectNoTrace(answer, events);

      // the client gives the server no such token either
      wonderful.fault({ kind: 'status', status: 200, body: { jwt: token, expiresAt: exp, id: entity } }, { times: 1 });
      const client = new WonderfulAuthClient({ baseUrl: wonderful.url, apiKey: WONDERFUL_KEY, retries: 0 });
      const failure = await client.sign({ id: entity }).then(
        () => undefined,
        (err: unknown) => err as Error & { code?: string },
      );
      expect(failure?.code).toBe('UPSTREAM_ERROR');
    });

    it("Wonderful's signer, given a route's search that does not look for the API key, still refuses a token holding it", async () => {
      const sign = createWonderfulSigner({ baseUrl: wonderful.url, apiKey: WONDERFUL_KEY, timeoutMs: 2000, retries: 0 }, (answer) => JSON.stringify({ token: answer.jwt }));
      const entity = wonderfulEntityIdFor(ADA);
      const exp = Math.floor(Date.now() / 1000) + 600;
      const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
      const token = `${base64url({ alg: 'RS256', typ: 'JWT' })}.${base64url({ sub: entity, exp, apiKey: WONDERFUL_KEY })}.c2lnbmF0dXJl`;
      wonderful.fault({ kind: 'status', status: 200, body: { jwt: token, expiresAt: exp, id: entity } }, { times: 1 });
      // a search that finds nothing, as a route of a router that knows other secrets only
      const failure = await sign({ entityId: entity, expiresIn: 3600 }, undefined, { holdsSecret: () => false }).then(
        () => undefined,
        (err: unknown) => err as Error & { code?: string },
      );
      expect({ code: failure?.code, message: failure?.message }).toEqual({ code: 'UPSTREAM_INVALID_RESPONSE', message: expect.stringContaining('with a token that holds the API key') });
      expect(failure?.message).not.toContain(WONDERFUL_KEY);
    });

    it('Wonderful: a token holding the API key is reported as that before any other check of it, with what to check', async () => {
      const app = await served(wonderfulTokenRouter({ baseUrl: wonderful.url, apiKey: WONDERFUL_KEY, resolveUser: resolveAda, logger, retries: 0 }));
      const exp = Math.floor(Date.now() / 1000) + 600;
      const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
      // a token for another entity, too: the key is what the host must hear about
      const token = `${base64url({ alg: 'RS256', typ: 'JWT' })}.${base64url({ sub: '00000000-0000-4000-8000-000000000000', exp, apiKey: WONDERFUL_KEY })}.c2lnbmF0dXJl`;
      wonderful.fault({ kind: 'status', status: 200, body: { jwt: token, expiresAt: exp } }, { times: 1 });
      const from = logger.events.length;
      const answer = await app.send({ method: 'POST', path: '/api/sdk-token', headers: { 'x-user': 'ada' } });
      const events = await eventsOf('/api/sdk-token', from);
      expect(answer.status).toBe(502);
      const event = requestEvent(events, '/api/sdk-token');
      expect(event).toMatchObject({ upstreamStatus: 200, err: { message: expect.stringContaining('with a token that holds the API key') } });
      expect(String(event['hint'])).toContain('never sends a server');
      expectNoTrace(answer, events);
    });

    // JSON may write any character as `\u00XX` (and `/` as `\/`): inside a JWT that changes the
    // base64 a search of the plain text looks for, and the browser still decodes the key
    const escapeFirst = (secret: string) => `\\u${secret.charCodeAt(0).toString(16).padStart(4, '0')}${secret.slice(1).replace(/\//g, '\\/')}`;
    const jwtWithRawClaims = (claimsJson: string) => `${Buffer.from('{"alg":"RS256","typ":"JWT"}').toString('base64url')}.${Buffer.from(claimsJson).toString('base64url')}.c2lnbmF0dXJl`;

    it('Wonderful: a token whose claims hold the API key JSON-escaped answers 502', async () => {
      const app = await served(wonderfulTokenRouter({ baseUrl: wonderful.url, apiKey: WONDERFUL_KEY, resolveUser: resolveAda, logger, retries: 0 }));
      const entity = wonderfulEntityIdFor(ADA);
      const exp = Math.floor(Date.now() / 1000) + 600;
      const token = jwtWithRawClaims(`{"sub":"${entity}","exp":${exp},"apiKey":"${escapeFirst(WONDERFUL_KEY)}"}`);
      // what a browser would read back from that token
      expect((JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as { apiKey: string }).apiKey).toBe(WONDERFUL_KEY);
      wonderful.fault({ kind: 'status', status: 200, body: { jwt: token, expiresAt: exp, id: entity } }, { times: 1 });
      const from = logger.events.length;
      const answer = await app.send({ method: 'POST', path: '/api/sdk-token', headers: { 'x-user': 'ada' } });
      const events = await eventsOf('/api/sdk-token', from);
      expect({ status: answer.status, code: expectShaped(WIRE.wonderful, answer, 'POST')?.code }).toEqual({ status: 502, code: 'UPSTREAM_INVALID_RESPONSE' });
      expectNoTrace(answer, events);
    });

    it('Nevermined: a session token whose JWT claims hold the secret JSON-escaped answers 502', async () => {
      const body = { ...session(), sessionToken: jwtWithRawClaims(`{"org":"${ORG}","k":"${escapeFirst(NVM_SECRET)}"}`) };
      const { answer, error, events } = await nvmFailure(200, body);
      expect({ status: answer.status, code: error?.code }).toEqual({ status: 502, code: 'UPSTREAM_INVALID_RESPONSE' });
      expectNoTrace(answer, events);
    });

    it('Neuroon: a widget token that holds the Shop API key answers 502 and is never cached or served', async () => {
      const app = await served(neuroonTokenRouter({ shopId: SHOP, apiKey: NEUROON_KEY, apiBaseUrl: neuroon.url, logger, retries: 0 }));
      neuroon.fault({ kind: 'status', status: 200, body: { token: `ntk.${Buffer.from(`{"shop":"${SHOP}","key":"${NEUROON_KEY}"}`).toString('base64url')}` } }, { times: 1 });
      const from = logger.events.length;
      const answer = await app.send({ method: 'GET', path: '/api/neuroon-widget-token' });
      const events = await eventsOf('/api/neuroon-widget-token', from);
      expect({ status: answer.status, code: expectShaped(WIRE.neuroon, answer)?.code }).toEqual({ status: 502, code: 'UPSTREAM_INVALID_RESPONSE' });
      expectNoTrace(answer, events);
      // the next call asks Neuroon again and serves a real token
      const next = await app.send({ method: 'GET', path: '/api/neuroon-widget-token' });
      expect(next.status).toBe(200);
      expect(findTrace(next.text)).toBeUndefined();
    });

    it('Hissuno: a user record holding the project secret answers 500 rather than signing it into a token', async () => {
      const app = await served(
        hissunoTokenRouter({ secretKey: HISSUNO_SECRET, logger, resolveUser: () => ({ id: 'user-1', metadata: { note: `copied from .env: ${HISSUNO_SECRET}` } }) }),
      );
      const from = logger.events.length;
      const answer = await app.send({ method: 'GET', path: '/api/hissuno-token' });
      const events = await eventsOf('/api/hissuno-token', from);
      expect(answer.status).toBe(500);
      expect(JSON.parse(answer.text)).toEqual({ error: 'Internal error' });
      expect(requestEvent(events, '/api/hissuno-token')).toMatchObject({ code: 'INTERNAL_ERROR', err: { message: expect.stringContaining("this router's own secret") } });
      expectNoTrace(answer, events);
    });
  });

  describe('whatever is thrown, the error handler answers in the vendor shape', () => {
    const revoked = Proxy.revocable({}, {});
    revoked.revoke();
    const throwing = () => {
      throw new Error('no');
    };
    const hostile: [string, () => unknown][] = [
      ['an Error whose message is null', () => Object.assign(new Error(), { message: null })],
      ['an Error whose message is a number', () => Object.assign(new Error(), { message: 42 })],
      ['an Error whose message is an object', () => Object.assign(new Error(), { message: { text: NVM_SECRET } })],
      ['an Error whose message is a Symbol', () => Object.assign(new Error(), { message: Symbol('m') })],
      ['an Error whose message getter throws', () => Object.defineProperty(new Error(), 'message', { get: throwing })],
      ['an Error whose name getter throws', () => Object.defineProperty(new Error('x'), 'name', { get: throwing })],
      ['an Error whose name is an object with a throwing toString', () => Object.assign(new Error('x'), { name: { toString: throwing } })],
      ['null', () => null],
      ['a number', () => 42],
      ['a Symbol', () => Symbol(NVM_SECRET)],
      ['a string holding the secret', () => `secret is ${NVM_SECRET}`],
      ['an object with throwing toString, valueOf and Symbol.toPrimitive', () => ({ toString: throwing, valueOf: throwing, [Symbol.toPrimitive]: throwing })],
      ['a Proxy whose every trap throws', () => new Proxy({}, { get: throwing, getPrototypeOf: throwing, has: throwing, ownKeys: throwing, getOwnPropertyDescriptor: throwing })],
      ['a revoked Proxy', () => revoked.proxy],
    ];

    it.each(hostile)('resolveUser throwing %s answers 500 INTERNAL_ERROR and logs the failure', async (_what, make) => {
      const from = logger.events.length;
      let calls = 0;
      const app = await served(
        neverminedSessionRouter({
          orgId: ORG,
          rawSecret: NVM_SECRET,
          apiBaseUrl: nevermined.url,
          logger,
          // half of them throw, half reject
          resolveUser: () => {
            calls++;
            if (calls % 2 === 1) throw make();
            return Promise.reject(make());
          },
        }),
      );
      for (let i = 0; i < 2; i++) {
        const answer = await app.send({ method: 'GET', path: '/api/widget-session' });
        expect(answer.status).toBe(500);
        expect(expectShaped(WIRE.nevermined, answer)?.code).toBe('INTERNAL_ERROR');
        expect(JSON.parse(answer.text)).toEqual({ error: { code: 'INTERNAL_ERROR', message: 'Internal error.' } });
      }
      expect(await eventually(() => logger.events.slice(from).filter((e) => (e.obj as { status?: unknown }).status === 500).length === 2)).toBe(true);
      const events = logger.events.slice(from).filter((e) => (e.obj as { status?: unknown }).status === 500);
      for (const e of events) {
        expect(e.level).toBe('error');
        expect(e.obj).toMatchObject({ code: 'INTERNAL_ERROR', err: { name: expect.any(String), message: expect.any(String) } });
        expect(findTrace(JSON.stringify(e))).toBeUndefined();
      }
    });

    it.each(hostile.filter(([what]) => /Proxy|toString/.test(what)))('a Wonderful hook throwing %s answers 500 in the vendor shape', async (_what, make) => {
      const app = await served(
        wonderfulTokenRouter({
          baseUrl: wonderful.url,
          apiKey: WONDERFUL_KEY,
          resolveUser: resolveAda,
          logger,
          entityIdFor: () => {
            throw make();
          },
        }),
      );
      const answer = await app.send({ method: 'POST', path: '/api/sdk-token', headers: { 'x-user': 'ada' } });
      expect({ status: answer.status, code: expectShaped(WIRE.wonderful, answer, 'POST')?.code }).toEqual({ status: 500, code: 'INTERNAL_ERROR' });
    });

    it('the flat Hissuno contract too', async () => {
      const app = await served(hissunoTokenRouter({ secretKey: HISSUNO_SECRET, logger, resolveUser: () => Promise.reject(revoked.proxy) }));
      const answer = await app.send({ method: 'GET', path: '/api/hissuno-token' });
      expect(answer.status).toBe(500);
      expect(JSON.parse(answer.text)).toEqual({ error: 'Internal error' });
    });
  });

  describe('widgetAuth: every router redacts every mounted secret', () => {
    const env = () => ({
      NVM_ORG_ID: ORG,
      NVM_WIDGET_KEY_SECRET: NVM_SECRET,
      NVM_API_BASE_URL: nevermined.url,
      HISSUNO_SECRET_KEY: HISSUNO_SECRET,
      WONDERFUL_API_URL: wonderful.url,
      WONDERFUL_API_KEY: WONDERFUL_KEY,
      NEUROON_SHOP_ID: SHOP,
      NEUROON_API_KEY: NEUROON_KEY,
      NEUROON_API_URL: neuroon.url,
      WIDGET_TENANT_ID: 'tenant-redaction',
      HOST_ORIGIN: 'https://www.example.com',
      NEUT_MINT_SECRET: NEUT_SECRET,
      NEUT_MINT_KEY_ID: 'mint-key-1',
      WIDGET_ORIGIN: 'https://widgets.neut.us',
    });
    const quoting = `connect failed: nvm=${NVM_SECRET} wonderful=${Buffer.from(WONDERFUL_KEY).toString('base64')} neuroon=${encodeURIComponent(NEUROON_KEY)} neut=${NEUT_SECRET}`;

    it.each(['/api/hissuno-token', '/api/widget-session', '/api/sdk-token'])("a resolveUser error quoting other vendors' secrets is redacted in the log of %s", async (path) => {
      const app = await served(
        widgetAuth({
          env: env(),
          logger,
          resolveUser: () => {
            throw new Error(quoting);
          },
        }),
      );
      const from = logger.events.length;
      const answer = await app.send({ method: path === '/api/sdk-token' ? 'POST' : 'GET', path });
      expect(answer.status).toBe(500);
      const events = await eventsOf(path, from);
      expect(JSON.stringify(requestEvent(events, path)['err']).includes('[redacted]')).toBe(true);
      expectNoTrace(answer, events);
    });

    it("a success body holding another vendor's secret is not sent", async () => {
      const app = await served(
        widgetAuth({ env: env(), logger, vendors: { hissuno: true, wonderful: true }, resolveUser: () => ({ id: 'user-1', metadata: { apiKey: WONDERFUL_KEY } }) }),
      );
      const from = logger.events.length;
      const answer = await app.send({ method: 'GET', path: '/api/hissuno-token' });
      const events = await eventsOf('/api/hissuno-token', from);
      expect(answer.status).toBe(500);
      expect(requestEvent(events, '/api/hissuno-token')).toMatchObject({ code: 'INTERNAL_ERROR', err: { message: expect.stringContaining('another router') } });
      expectNoTrace(answer, events);
    });

    it("a Nevermined session holding another router's secret answers 502, its log naming whose secret, and is not sent", async () => {
      const app = await served(widgetAuth({ env: env(), logger, vendors: { hissuno: true, nevermined: true }, resolveUser: () => ADA }));
      nevermined.fault({ kind: 'status', status: 200, body: { sessionToken: 'nvm_ws_other', userId: 'did:privy:other', userWallet: '0xaa', apiKeyHash: 'f'.repeat(64), expiresAt: '2030-01-01T00:00:00.000Z', note: HISSUNO_SECRET } }, { times: 1 });
      const from = logger.events.length;
      const answer = await app.send({ method: 'GET', path: '/api/widget-session' });
      const events = await eventsOf('/api/widget-session', from);
      expect({ status: answer.status, code: expectShaped(WIRE.nevermined, answer)?.code }).toEqual({ status: 502, code: 'UPSTREAM_INVALID_RESPONSE' });
      expect(requestEvent(events, '/api/widget-session')).toMatchObject({ upstreamStatus: 200, err: { message: expect.stringContaining('holds the secret of another router mounted with it') } });
      expectNoTrace(answer, events);
    });

    // the second names another entity: its check would refuse it too, but say nothing of the secret
    it.each([
      ["a Wonderful token holding another router's secret answers 502, its log naming whose secret, and is not sent", true],
      ["a Wonderful token holding another router's secret is reported as that before the check of its entity", false],
    ])('%s', async (_title, ownEntity) => {
      const app = await served(widgetAuth({ env: env(), logger, vendors: { hissuno: true, wonderful: true }, resolveUser: () => ADA }));
      const entity = ownEntity ? wonderfulEntityIdFor(ADA) : '00000000-0000-4000-8000-000000000000';
      const exp = Math.floor(Date.now() / 1000) + 600;
      const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
      const token = `${base64url({ alg: 'RS256', typ: 'JWT' })}.${base64url({ sub: entity, exp, note: HISSUNO_SECRET })}.c2lnbmF0dXJl`;
      wonderful.fault({ kind: 'status', status: 200, body: ownEntity ? { jwt: token, expiresAt: exp, id: entity } : { jwt: token, expiresAt: exp } }, { times: 1 });
      const from = logger.events.length;
      const answer = await app.send({ method: 'POST', path: '/api/sdk-token' });
      const events = await eventsOf('/api/sdk-token', from);
      expect({ status: answer.status, code: expectShaped(WIRE.wonderful, answer, 'POST')?.code }).toEqual({ status: 502, code: 'UPSTREAM_INVALID_RESPONSE' });
      expect(requestEvent(events, '/api/sdk-token')).toMatchObject({ upstreamStatus: 200, err: { message: expect.stringContaining('with a token that holds the secret of another router mounted with it') } });
      expectNoTrace(answer, events);
    });

    it('the token of a healthy request still goes out', async () => {
      const app = await served(widgetAuth({ env: env(), logger, vendors: { hissuno: true, nevermined: true }, resolveUser: () => ADA }));
      const answer = await app.send({ method: 'GET', path: '/api/widget-session' });
      expect(answer.status).toBe(200);
      expect(findTrace(answerText(answer))).toBeUndefined();
    });
  });

  describe('routers mounted one by one: each redacts the secrets of the others too', () => {
    it("a resolveUser error quoting another router's secret is redacted from the log event and from the console report", async () => {
      const crispSecret = 'crisp_verify_Qm7Zt2Lx9Wd4Rb8Kp3Vn';
      const quoting = `db down: hissuno=${HISSUNO_SECRET} crisp=${Buffer.from(crispSecret).toString('hex')}`;
      const resolveUser = () => {
        throw new Error(quoting);
      };
      const written: string[] = [];
      const stderr = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: unknown) => (written.push(String(chunk)), true));
      try {
        const events = captureLogger();
        // Hissuno logs to a logger; Crisp, given no logger, reports on stderr
        const app = buildApp(hissunoTokenRouter({ secretKey: HISSUNO_SECRET, resolveUser, logger: events }), (host) => host.use(crispIdentityRouter({ secret: crispSecret, resolveUser })));
        expect((await request(app).get('/api/hissuno-token')).status).toBe(500);
        expect((await request(app).get('/api/crisp-identity')).status).toBe(500);
        expect(events.text()).toContain('db down');
        expect(written.join('')).toContain('db down');
        expectNoSecrets(events.text(), [HISSUNO_SECRET, crispSecret]);
        expectNoSecrets(written.join(''), [HISSUNO_SECRET, crispSecret]);
      } finally {
        stderr.mockRestore();
      }
    });
  });

  describe('the secrets of every router, shared for redaction: bounded, and never a reason to fail', () => {
    const failing = (secretKey: string, quoting: () => string, logger: ReturnType<typeof captureLogger>) =>
      buildApp(
        hissunoTokenRouter({
          secretKey,
          logger,
          resolveUser: () => {
            throw new Error(quoting());
          },
        }),
      );

    it('answers and logs a failure, without a trace of its own secret, however large the other routers’ secrets are', async () => {
      // 64 secrets of 1 KiB and 20 of 3.3 KiB (an RSA key's size): one pattern of all of them is too large for the engine
      const random = (length: number) => randomBytes(length).toString('base64url').slice(0, length);
      for (let i = 0; i < 64; i++) crispIdentityRouter({ secret: random(1024), resolveUser: () => null });
      for (let i = 0; i < 20; i++) crispIdentityRouter({ secret: random(3300), resolveUser: () => null });
      const logger = captureLogger();
      const own = 'sk_live_Bq4Wn8Zt3Lx7Rd2Kv6Hs9Pm5Jc1Fy0G';
      const res = await request(failing(own, () => `session store down (${own})`, logger)).get('/api/hissuno-token');
      expect(res.status).toBe(500);
      expect(logger.text()).toContain('session store down');
      expectNoSecrets(logger.text(), [own]);
    });

    it('keeps a secret registered again among the newest: 60 routers after its first, 10 after its second, it is still redacted', async () => {
      const shared = 'shared_vendor_key_Tq8Mz2Wx6Rb4Kn9Vd3';
      crispIdentityRouter({ secret: shared, resolveUser: () => null });
      for (let i = 0; i < 60; i++) crispIdentityRouter({ secret: `filler_${i}_Hs7Lq3Zw9Xc5Vb1Nm`, resolveUser: () => null });
      crispIdentityRouter({ secret: shared, resolveUser: () => null });
      for (let i = 0; i < 10; i++) crispIdentityRouter({ secret: `later_${i}_Pj4Rt8Yu2Io6Kl0Mn`, resolveUser: () => null });
      const logger = captureLogger();
      expect((await request(failing('sk_live_Cv5Xn1Bm7Qw3Er9Ty2Ui6Op4As8Df0G', () => `db said ${shared}`, logger)).get('/api/hissuno-token')).status).toBe(500);
      expect(logger.text()).toContain('db said');
      expectNoSecrets(logger.text(), [shared]);
    });
  });

  describe('the redactor itself, against the independent finder', () => {
    const secretArb = fc.oneof(
      { weight: 4, arbitrary: fc.stringMatching(/^[A-Za-z0-9_.~+/=%"\\-]{12,40}$/) },
      { weight: 1, arbitrary: fc.array(fc.constantFrom('a', 'Z', '9', '_', '\u00e9', '\u{1F600}', '%', '/', '"'), { minLength: 12, maxLength: 30 }).map((c) => c.join('')) },
    );

    it('redacts any secret in any disguise, padded, and finds it in a serialised body', async () => {
      await checkProperty(
        fc.asyncProperty(
          secretArb.chain((secret) => fc.tuple(fc.constant(secret), disguisedSecret(secret), fc.stringMatching(/^[A-Za-z0-9 :-]{0,20}$/), fc.stringMatching(/^[A-Za-z0-9 :-]{0,20}$/))),
          async ([secret, hidden, before, after]) => {
            const matcher = createSecretMatcher([secret]);
            const text = `${before}${hidden.text}${after}`;
            const redacted = matcher.redact(text);
            const trace = secretTraceFinder({ secret })(redacted);
            if (trace) throw new Error(`${hidden.how}: the redacted text still holds ${trace}`);
            // (a mixture of escaped and plain characters is only promised for secrets without `\` or `%`)
            const promised = !/mixed/.test(hidden.how) || !/[\\%]/.test(secret);
            if (promised && !matcher.contains(JSON.stringify({ echo: text }))) throw new Error(`${hidden.how}: not found in a serialised body`);
          },
        ),
        300,
      );
    });

    it('redacts both halves of a split secret, and nothing of a text that holds none', async () => {
      await checkProperty(
        fc.asyncProperty(secretArb, fc.nat(), fc.constantFrom('', '-', ' | ', '\n'), fc.stringMatching(/^[A-Za-z0-9 ]{0,60}$/), async (secret, at, sep, other) => {
          const size = secretFragmentLength(secret);
          fc.pre(secret.length >= 2 * size);
          const cut = size + (at % (secret.length - 2 * size + 1));
          const matcher = createSecretMatcher([secret]);
          const trace = secretTraceFinder({ secret })(matcher.redact(`code=${secret.slice(0, cut)}${sep}${secret.slice(cut)}`));
          if (trace) throw new Error(`split at ${cut}: ${trace}`);
          // text without a piece of the secret comes out as it went in
          fc.pre(secretTraceFinder({ secret })(other) === undefined);
          if (matcher.redact(other) !== other || matcher.contains(other)) throw new Error('text without the secret was changed');
        }),
        300,
      );
    });
  });
});
