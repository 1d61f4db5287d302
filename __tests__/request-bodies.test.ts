/**
 * Request bodies over real HTTP: only UTF-8 JSON is read (any other charset, declared or
 * given away by a byte order mark, is 415 before anyone looks at the user), whoever
 * parsed the body; `bodyLimit` holds when the host's `express.json()` read the body
 * first, as far as the headers tell its size; compressed bodies are inflated within the
 * limit.
 */
import { gzipSync, deflateSync } from 'node:zlib';
import express from 'express';
import type { Request } from 'express';
import { wonderfulEntityIdFor } from '../lib';
import type { FakeWonderful } from '../lib/testing';
import { EXPRESS_MAJOR, USERS, buildApp, captureLogger, testResolveUser } from './helpers/app';
import { serve, type Answer, type ServedApp } from './helpers/hardening';
import { TEST_PATH, testRouter } from './helpers/pipeline';
import { WONDERFUL_KEY, startWonderful, wonderfulApp } from './helpers/wonderful';

const ADA = USERS['ada']!;

/** `text` as UTF-7 would carry it: every `"` as `+ACI-`, the rest as is (ASCII only). */
const utf7 = (text: string) => Buffer.from(text.replace(/"/g, '+ACI-'), 'ascii');
const utf16le = (text: string) => Buffer.from(text, 'utf16le');
const utf16be = (text: string) => utf16le(text).swap16();
const BOM_LE = Buffer.from([0xff, 0xfe]);
const BOM_BE = Buffer.from([0xfe, 0xff]);
const BOM_UTF8 = Buffer.from([0xef, 0xbb, 0xbf]);

/** A served test router that counts the calls of its `resolveUser`. */
async function countingApp(options: { bodyLimit?: number | string } = {}, setup?: (app: express.Express) => void): Promise<{ app: ServedApp; calls: () => number }> {
  let calls = 0;
  const resolveUser = (req: Request) => {
    calls++;
    return testResolveUser(req);
  };
  const app = await serve(buildApp(testRouter({ ...options, resolveUser }), setup));
  return { app, calls: () => calls };
}

function post(app: ServedApp, headers: Record<string, string>, body?: Buffer): Promise<Answer> {
  const all: Record<string, string> = { 'x-test-user': 'ada', ...headers };
  if (body !== undefined && all['transfer-encoding'] === undefined) all['content-length'] = String(body.length);
  return app.send({ method: 'POST', path: TEST_PATH, headers: all, ...(body !== undefined ? { body } : {}) });
}

function errorOf(answer: Answer): { status: number; code: unknown; message: unknown } {
  const body = JSON.parse(answer.text) as { error?: { code?: unknown; message?: unknown } };
  return { status: answer.status, code: body.error?.code, message: body.error?.message };
}

describe(`request bodies (Express ${EXPRESS_MAJOR})`, () => {
  describe('the charset of a body the router reads', () => {
    let served: Awaited<ReturnType<typeof countingApp>>;
    beforeAll(async () => {
      served = await countingApp();
    });
    afterAll(() => served.app.close());

    const JSON_BODY = '{"entityId":"x","n":[1,2]}';

    it.each([
      ['utf-7', utf7(JSON_BODY)],
      ['UTF-7', utf7(JSON_BODY)],
      ['utf-16', Buffer.concat([BOM_LE, utf16le(JSON_BODY)])],
      ['utf-16le', utf16le(JSON_BODY)],
      ['utf-16be', utf16be(JSON_BODY)],
      ['"UTF-16LE"', utf16le(JSON_BODY)],
      ['utf-32', Buffer.from(JSON_BODY)],
      ['latin1', Buffer.from(JSON_BODY)],
      ['iso-8859-1', Buffer.from(JSON_BODY)],
      ['windows-1252', Buffer.from(JSON_BODY)],
      ['us-ascii', Buffer.from(JSON_BODY)],
      ['utf8', Buffer.from(JSON_BODY)],
      ['""', Buffer.from(JSON_BODY)],
      ['"utf-8 "', Buffer.from(JSON_BODY)],
      ['utf-8; charset=utf-7', utf7(JSON_BODY)],
      ['utf-7; charset=utf-8', utf7(JSON_BODY)],
    ])('answers charset=%s with 415 UNSUPPORTED_MEDIA_TYPE before resolveUser runs', async (charset, body) => {
      const before = served.calls();
      const answer = await post(served.app, { 'content-type': `application/json; charset=${charset}` }, body);
      expect(errorOf(answer)).toEqual({ status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', message: 'Request body must be UTF-8 JSON (charset=utf-8, or no charset).' });
      expect(served.calls()).toBe(before);
    });

    it.each([
      'application/json',
      'application/json; charset=utf-8',
      'application/json; charset=UTF-8',
      'application/json;charset="UTF-8"',
      'application/json; charset = "utf-8"',
      'application/json; CHARSET=Utf-8',
      'application/json; charset=utf-8; profile="https://example.com/p;charset=utf-16"',
      'application/vnd.api+json; charset=utf-8',
    ])('reads %s as UTF-8 JSON', async (type) => {
      const answer = await post(served.app, { 'content-type': type }, Buffer.from('{"word":"caf\u00e9 \u{1F600}"}', 'utf8'));
      expect(answer.status).toBe(200);
      expect(JSON.parse(answer.text)).toEqual({ user: ADA.id, body: { word: 'caf\u00e9 \u{1F600}' } });
    });

    it.each([
      ['a UTF-16LE byte order mark', Buffer.concat([BOM_LE, utf16le(JSON_BODY)])],
      ['a UTF-16BE byte order mark', Buffer.concat([BOM_BE, utf16be(JSON_BODY)])],
      ['a UTF-32BE byte order mark', Buffer.concat([Buffer.from([0, 0, 0xfe, 0xff]), Buffer.from(JSON_BODY)])],
    ])('answers a body that starts with %s (no charset named) with 415', async (_name, body) => {
      const before = served.calls();
      const answer = await post(served.app, { 'content-type': 'application/json' }, body);
      expect(errorOf(answer)).toMatchObject({ status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' });
      expect(served.calls()).toBe(before);
    });

    it('skips a UTF-8 byte order mark', async () => {
      const answer = await post(served.app, { 'content-type': 'application/json; charset=utf-8' }, Buffer.concat([BOM_UTF8, Buffer.from('{"a":1}')]));
      expect(answer.status).toBe(200);
      expect(JSON.parse(answer.text)).toEqual({ user: ADA.id, body: { a: 1 } });
    });

    it('reads bytes that are not UTF-8 as U+FFFD, never as another charset', async () => {
      const answer = await post(served.app, { 'content-type': 'application/json' }, Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xe9, 0x22, 0x7d]));
      expect(answer.status).toBe(200);
      expect(JSON.parse(answer.text)).toEqual({ user: ADA.id, body: { a: '\ufffd' } });
    });
  });

  describe('a Wonderful refresh sent as UTF-7', () => {
    let fake: FakeWonderful;
    let app: ServedApp;
    beforeAll(async () => {
      fake = await startWonderful();
      app = await serve(wonderfulApp(fake, { retries: 0 }));
    });
    afterAll(async () => {
      await app.close();
      await fake.close();
    });

    it('is refused with 415, and the vendor is never called', async () => {
      const own = wonderfulEntityIdFor(ADA);
      const body = utf7(JSON.stringify({ entityId: own }));
      expect(body.toString('ascii')).toBe(`{+ACI-entityId+ACI-:+ACI-${own}+ACI-}`);
      const answer = await app.send({
        method: 'POST',
        path: '/api/refresh-sdk-token',
        headers: { 'content-type': 'application/json; charset=utf-7', 'content-length': String(body.length), 'x-test-user': 'ada' },
        body,
      });
      expect(errorOf(answer)).toMatchObject({ status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' });
      expect(answer.text).not.toContain(WONDERFUL_KEY);
      expect(fake.requests).toHaveLength(0);
      // the same request in UTF-8 is served
      const plain = Buffer.from(JSON.stringify({ entityId: own }));
      const ok = await app.send({
        method: 'POST',
        path: '/api/refresh-sdk-token',
        headers: { 'content-type': 'application/json', 'content-length': String(plain.length), 'x-test-user': 'ada' },
        body: plain,
      });
      expect(ok.status).toBe(200);
      expect(JSON.parse(ok.text).id).toBe(own);
    });
  });

  describe("a body the host's express.json() already read", () => {
    let served: Awaited<ReturnType<typeof countingApp>>;
    beforeAll(async () => {
      // the host's own limit is larger than the router's 1 KiB
      served = await countingApp({ bodyLimit: '1kb' }, (host) => host.use(express.json({ limit: '1mb' })));
    });
    afterAll(() => served.app.close());

    const padded = (bytes: number) => Buffer.from(JSON.stringify({ pad: 'x'.repeat(bytes - 10) }), 'utf8');

    it.each([
      ['utf-16le', utf16le('{"a":1}')],
      ['utf-16be', utf16be('{"a":1}')],
      ['UTF-16', Buffer.concat([BOM_LE, utf16le('{"a":1}')])],
    ])('answers charset=%s with 415 though the host decoded it', async (charset, body) => {
      const before = served.calls();
      const answer = await post(served.app, { 'content-type': `application/json; charset=${charset}` }, body);
      expect(errorOf(answer)).toEqual({ status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', message: 'Request body must be UTF-8 JSON (charset=utf-8, or no charset).' });
      expect(served.calls()).toBe(before);
    });

    it('answers a Content-Length over bodyLimit with 413, as when the router reads the body', async () => {
      const before = served.calls();
      const answer = await post(served.app, { 'content-type': 'application/json' }, padded(1025));
      expect(errorOf(answer)).toEqual({ status: 413, code: 'PAYLOAD_TOO_LARGE', message: 'Request body is larger than 1024 bytes.' });
      expect(served.calls()).toBe(before);
      const own = await countingApp({ bodyLimit: '1kb' });
      try {
        expect(errorOf(await post(own.app, { 'content-type': 'application/json' }, padded(1025)))).toEqual(errorOf(answer));
      } finally {
        await own.app.close();
      }
    });

    it.each([[''], [' '], ['identity'], ['IDENTITY']])('answers 413 for a Content-Encoding of %p, which the host parser reads as no coding', async (coding) => {
      const before = served.calls();
      const answer = await post(served.app, { 'content-type': 'application/json', 'content-encoding': coding }, padded(4096));
      expect(errorOf(answer).status).toBe(413);
      expect(served.calls()).toBe(before);
    });

    it('takes a body at the limit', async () => {
      const body = padded(1024);
      expect(body.length).toBe(1024);
      const answer = await post(served.app, { 'content-type': 'application/json; charset=utf-8' }, body);
      expect(answer.status).toBe(200);
      expect(JSON.parse(answer.text).body.pad).toHaveLength(1014);
    });

    it('warns once, with the fix, that a JSON body the host parsed can no longer be refused for naming a field twice', async () => {
      const logger = captureLogger();
      const host = await serve(buildApp(testRouter({ resolveUser: testResolveUser, logger }), (app) => app.use(express.json())));
      const own = await serve(buildApp(testRouter({ resolveUser: testResolveUser, logger })));
      try {
        const twice = Buffer.from('{"channel":"team","channel":"user-ada"}');
        // the host's parser kept the last value: served, where the router itself answers 400
        const parsed = await post(host, { 'content-type': 'application/json' }, twice);
        expect([parsed.status, JSON.parse(parsed.text).body]).toEqual([200, { channel: 'user-ada' }]);
        expect(errorOf(await post(own, { 'content-type': 'application/json' }, twice)).status).toBe(400);
        await post(host, { 'content-type': 'application/json' }, Buffer.from('{"a":1}'));
        const warnings = logger.events.filter((e) => (e.obj as { code?: string }).code === 'BODY_PARSED_BEFORE_ROUTER');
        expect(warnings).toHaveLength(1);
        expect(warnings[0]!.level).toBe('warn');
        expect(warnings[0]!.obj).toMatchObject({
          cause: 'host.bodyParser',
          route: TEST_PATH,
          message: expect.stringContaining('Mount the widget routers before'),
          docs: 'https://github.com/express-widget-auth/express-widget-auth/blob/main/docs/errors.md#a-body-parser-ran-before-the-router',
        });
      } finally {
        await host.close();
        await own.close();
      }
    });

    it('cannot size a chunked body the host read: it is served (documented)', async () => {
      const answer = await post(served.app, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' }, padded(4000));
      expect(answer.status).toBe(200);
      expect(JSON.parse(answer.text).body.pad).toHaveLength(3990);
    });
  });

  describe('compressed bodies', () => {
    let served: Awaited<ReturnType<typeof countingApp>>;
    beforeAll(async () => {
      served = await countingApp({ bodyLimit: '1kb' });
    });
    afterAll(() => served.app.close());

    it.each([
      ['gzip', gzipSync],
      ['deflate', deflateSync],
    ])('inflates %s within bodyLimit', async (coding, compress) => {
      const answer = await post(served.app, { 'content-type': 'application/json', 'content-encoding': coding }, compress(Buffer.from('{"a":"caf\u00e9"}')));
      expect(answer.status).toBe(200);
      expect(JSON.parse(answer.text).body).toEqual({ a: 'caf\u00e9' });
    });

    it('cuts a body that inflates past bodyLimit at the limit: 413', async () => {
      const bomb = gzipSync(Buffer.from(`{"pad":"${'0'.repeat(10_000_000)}"}`));
      expect(bomb.length).toBeLessThan(20_000);
      const before = served.calls();
      const answer = await post(served.app, { 'content-type': 'application/json', 'content-encoding': 'gzip' }, bomb);
      expect(errorOf(answer)).toMatchObject({ status: 413, code: 'PAYLOAD_TOO_LARGE' });
      expect(served.calls()).toBe(before);
    });

    it('answers an unknown content coding with 415', async () => {
      const answer = await post(served.app, { 'content-type': 'application/json', 'content-encoding': 'compress' }, Buffer.from('{}'));
      expect(errorOf(answer)).toMatchObject({ status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' });
    });
  });
});
