import { inspect } from 'node:util';
import jwt from 'jsonwebtoken';
import {
  WONDERFUL_ENTITY_NAMESPACE,
  WidgetAuthConfigError,
  WidgetAuthError,
  WonderfulAuthClient,
  uuidV5,
  wonderfulEntityIdFor,
  type SignRequest,
} from '../lib';
import type { FakeWonderful } from '../lib/testing';
import { expectNoSecrets } from './helpers/app';
import { STRANGER_ENTITY, WONDERFUL_KEY, startWonderful } from './helpers/wonderful';

const ENTITY = '3f2504e0-4f89-41d3-9a0c-0305e82c3301';
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** The error a promise rejects with (fails the test if it resolves). */
async function rejection(promise: Promise<unknown>): Promise<WidgetAuthError> {
  const outcome = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  if (!(outcome instanceof WidgetAuthError)) throw new Error(`expected a WidgetAuthError, got ${String(outcome)}`);
  expectNoSecrets(`${outcome.message} ${JSON.stringify(outcome)}`, [WONDERFUL_KEY]);
  return outcome;
}

class Profile {
  plan = 'pro';
}

describe('WonderfulAuthClient', () => {
  let fake: FakeWonderful;
  let client: WonderfulAuthClient;
  beforeAll(async () => {
    fake = await startWonderful();
    client = new WonderfulAuthClient({ baseUrl: `${fake.url}/`, apiKey: WONDERFUL_KEY, retries: 0, timeoutMs: 300 });
  });
  afterAll(() => fake.close());
  afterEach(() => {
    fake.clearFaults();
    fake.setAnswerFormat({ wrap: false, omit: [] });
    fake.requests.length = 0;
  });

  describe('request on the wire', () => {
    it('POSTs { entityId, expiresIn, metadata } to /api/v1/jwt/sign with x-api-key and JSON headers', async () => {
      const metadata = { name: 'Ada', plan: 'premium', seats: 3, tags: ['a', 'b'], nested: { ok: true, none: null } };
      const res = await client.sign({ id: ENTITY.toUpperCase(), metadata, expiresIn: 7200 });
      expect(fake.requests).toHaveLength(1);
      const sent = fake.requests[0]!;
      expect(sent.method).toBe('POST');
      expect(sent.path).toBe('/api/v1/jwt/sign');
      expect(sent.query.toString()).toBe('');
      expect(sent.headers['x-api-key']).toBe(WONDERFUL_KEY);
      expect(sent.headers['content-type']).toBe('application/json');
      expect(sent.headers['accept']).toBe('application/json');
      expect(sent.headers['x-tenant-id']).toBeUndefined();
      expect(sent.headers['authorization']).toBeUndefined();
      expect(sent.json).toEqual({ entityId: ENTITY, expiresIn: 7200, metadata });
      expect(Object.keys(sent.json as object)).toEqual(['entityId', 'expiresIn', 'metadata']);

      expect(Object.keys(res)).toEqual(['jwt', 'expiresAt', 'id']);
      expect(res.id).toBe(ENTITY);
      const claims = fake.verify(res.jwt);
      expect(claims).toMatchObject({ sub: ENTITY, name: 'Ada', plan: 'premium', seats: 3, tags: ['a', 'b'] });
      expect(res.expiresAt).toBe(claims.exp);
      expect(claims.exp - claims.iat).toBe(7200);
    });

    it('sends no metadata and a 3600 s lifetime by default, for a random UUID when no id is given', async () => {
      const res = await client.sign();
      const body = fake.requests[0]!.json as Record<string, unknown>;
      expect(Object.keys(body)).toEqual(['entityId', 'expiresIn']);
      expect(body['expiresIn']).toBe(3600);
      expect(body['entityId']).toMatch(UUID_V4);
      expect(res.id).toBe(body['entityId']);
      const second = await client.sign({});
      expect(second.id).not.toBe(res.id);
    });

    it('sends X-Tenant-ID only when a tenant is set, the request overriding the client', async () => {
      const tenantClient = new WonderfulAuthClient({ baseUrl: fake.url, apiKey: WONDERFUL_KEY, tenantId: 'tenant-456' });
      const fromClient = await tenantClient.sign({ id: ENTITY });
      const fromRequest = await tenantClient.sign({ id: ENTITY, tenantId: 'tenant-789' });
      const none = await client.sign({ id: ENTITY });
      expect(fake.requests.map((r) => r.headers['x-tenant-id'])).toEqual(['tenant-456', 'tenant-789', undefined]);
      expect(fake.verify(fromClient.jwt).tenantId).toBe('tenant-456');
      expect(fake.verify(fromRequest.jwt).tenantId).toBe('tenant-789');
      expect(fake.verify(none.jwt)).not.toHaveProperty('tenantId');
    });
  });

  describe('validation before any request', () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic['self'] = cyclic;
    const cases: [string, unknown, string, RegExp][] = [
      ['an id that is not a UUID', { id: 'user-42' }, 'id', /id must be a UUID/],
      ['a numeric id', { id: 42 }, 'id', /id must be a UUID/],
      ['expiresIn below 60', { expiresIn: 59 }, 'expiresIn', /from 60 to 86400/],
      ['expiresIn above 86400', { expiresIn: 86_401 }, 'expiresIn', /from 60 to 86400/],
      ['a fractional expiresIn', { expiresIn: 3600.5 }, 'expiresIn', /whole number/],
      ['expiresIn as a string', { expiresIn: '3600' }, 'expiresIn', /expiresIn/],
      ['metadata that is an array', { metadata: ['a'] }, 'metadata', /plain JSON object/],
      ['metadata that is null', { metadata: null }, 'metadata', /plain JSON object/],
      ['metadata that is a class instance', { metadata: new Profile() }, 'metadata', /plain JSON object/],
      ['metadata that is a Map', { metadata: new Map([['a', 1]]) }, 'metadata', /plain JSON object/],
      ['a Date inside metadata', { metadata: { since: new Date() } }, 'metadata', /metadata\.since must be a JSON value/],
      ['a function inside metadata', { metadata: { f: () => 1 } }, 'metadata', /metadata\.f must be a JSON value/],
      ['NaN inside metadata', { metadata: { list: [1, Number.NaN] } }, 'metadata', /metadata\.list\[1\] must be a finite number/],
      ['cyclic metadata', { metadata: cyclic }, 'metadata', /serialisable/],
      ['a BigInt inside metadata', { metadata: { n: BigInt(1) } }, 'metadata', /serialisable/],
      ['metadata over 4 KiB of UTF-8 (1,400 characters, 4,200 bytes)', { metadata: { note: '€'.repeat(1400) } }, 'metadata', /at most 4096 bytes/],
      ['a tenantId with a space', { tenantId: 'tenant 1' }, 'tenantId', /tenantId/],
      ['a misspelt field', { expiresin: 3600 }, 'expiresin', /Unknown field "expiresin" \(did you mean "expiresIn"\?\)/],
      ['a request that is not an object', 'ada', 'request', /must be an object/],
      ['a null request', null, 'request', /must be an object/],
    ];

    it.each(cases)('refuses %s with VALIDATION_ERROR and sends nothing', async (_name, request, field, message) => {
      const err = await rejection(client.sign(request as SignRequest));
      expect(err.code).toBe('VALIDATION_ERROR');
      expect(err.status).toBe(400);
      expect(err.field).toBe(field);
      expect(err.message).toMatch(message);
      expect(fake.requests).toHaveLength(0);
    });

    it('accepts metadata of exactly 4096 bytes and the 60 s and 86400 s bounds', async () => {
      const metadata = { note: 'x'.repeat(4096 - JSON.stringify({ note: '' }).length) };
      expect(Buffer.byteLength(JSON.stringify(metadata))).toBe(4096);
      const a = await client.sign({ id: ENTITY, metadata, expiresIn: 60 });
      const b = await client.sign({ id: ENTITY, expiresIn: 86_400 });
      const ca = fake.verify(a.jwt);
      const cb = fake.verify(b.jwt);
      expect([ca.exp - ca.iat, cb.exp - cb.iat]).toEqual([60, 86_400]);
      expect(ca['note']).toBe(metadata.note);
      expect(fake.requests).toHaveLength(2);
    });

    it('omits undefined metadata values, as JSON does', async () => {
      await client.sign({ id: ENTITY, metadata: { plan: 'pro', gone: undefined } });
      expect((fake.requests[0]!.json as { metadata: unknown }).metadata).toEqual({ plan: 'pro' });
    });
  });

  describe('answer variants', () => {
    it.each([
      ['plain', { wrap: false, omit: [] }],
      ['wrapped in { data }', { wrap: true, omit: [] }],
      ['without expiresAt (taken from the JWT exp)', { wrap: false, omit: ['expiresAt'] }],
      ['without id (taken from the JWT sub)', { wrap: false, omit: ['id'] }],
      ['wrapped, with only the jwt', { wrap: true, omit: ['expiresAt', 'id'] }],
    ] as const)('reads a %s answer', async (_name, format) => {
      fake.setAnswerFormat(format);
      const res = await client.sign({ id: ENTITY, expiresIn: 600 });
      const claims = fake.verify(res.jwt);
      expect(res).toEqual({ jwt: fake.issued.at(-1)!.jwt, expiresAt: claims.exp, id: ENTITY });
      expect(claims.exp - claims.iat).toBe(600);
    });

    it('falls back to now + expiresIn when neither the answer nor the JWT has an expiry', async () => {
      const bare = jwt.sign({ sub: ENTITY }, 'an-unrelated-test-key', { algorithm: 'HS256', noTimestamp: true });
      fake.fault({ kind: 'status', status: 200, body: { jwt: bare } }, { times: 1 });
      const before = Math.floor(Date.now() / 1000);
      const res = await client.sign({ id: ENTITY, expiresIn: 900 });
      const after = Math.floor(Date.now() / 1000);
      expect(res.id).toBe(ENTITY);
      expect(res.expiresAt).toBeGreaterThanOrEqual(before + 900);
      expect(res.expiresAt).toBeLessThanOrEqual(after + 900);
    });

    it('falls back to the requested id when neither the answer nor the JWT names one', async () => {
      const bare = jwt.sign({ exp: 2_000_000_000 }, 'an-unrelated-test-key', { algorithm: 'HS256' });
      fake.fault({ kind: 'status', status: 200, body: { data: { jwt: bare } } }, { times: 1 });
      await expect(client.sign({ id: ENTITY })).resolves.toEqual({ jwt: bare, expiresAt: 2_000_000_000, id: ENTITY });
    });

    it.each([
      ['an id of another entity', () => ({ jwt: fake.issued.at(-1)!.jwt, id: STRANGER_ENTITY })],
      ['a JWT for another entity', () => ({ jwt: jwt.sign({ sub: STRANGER_ENTITY }, 'an-unrelated-test-key') })],
      ['a jwt that is not a JWT', () => ({ jwt: 'not-a-jwt', id: ENTITY })],
      ['a JWT whose payload is not an object', () => ({ jwt: `${Buffer.from('{}').toString('base64url')}.${Buffer.from('[1]').toString('base64url')}.x` })],
      ['an expiresAt that is a string', () => ({ jwt: fake.issued.at(-1)!.jwt, expiresAt: '2030-01-01' })],
    ])('refuses an answer with %s as UPSTREAM_ERROR', async (_name, body) => {
      await client.sign({ id: ENTITY });
      fake.fault({ kind: 'status', status: 200, body: body() }, { times: 1 });
      const err = await rejection(client.sign({ id: ENTITY }));
      expect(err.code).toBe('UPSTREAM_ERROR');
      expect(err.status).toBe(502);
      expect((err.cause as WidgetAuthError).code).toBe('UPSTREAM_INVALID_RESPONSE');
    });
  });

  describe('failures in the SDK codes', () => {
    it('answers UNAUTHORIZED (never status 401) when the vendor refuses the API key', async () => {
      const wrong = new WonderfulAuthClient({ baseUrl: fake.url, apiKey: 'wk_test_not_the_right_key_000', retries: 0 });
      const err = await rejection(wrong.sign({ id: ENTITY }));
      expect(err.code).toBe('UNAUTHORIZED');
      expect(err.status).toBe(502);
      expect(err.upstreamStatus).toBe(401);
      expect(err.vendorCode).toBe('UNAUTHORIZED');
      expect(err.correlationId).toMatch(/^[0-9a-f-]{36}$/);
      expect(err.cause).toBeInstanceOf(WidgetAuthError);
      expect((err.cause as WidgetAuthError).code).toBe('UPSTREAM_REJECTED');
      expectNoSecrets(err.message, ['wk_test_not_the_right_key_000']);
    });

    it.each([
      ['a 403', 'UNAUTHORIZED', 'UPSTREAM_REJECTED', 502, { kind: 'status', status: 403, body: { code: 'FORBIDDEN' } }],
      ['a connection reset', 'NETWORK_ERROR', 'UPSTREAM_UNAVAILABLE', 502, { kind: 'reset' }],
      ['a 500', 'NETWORK_ERROR', 'UPSTREAM_UNAVAILABLE', 502, { kind: 'status', status: 500 }],
      ['a 503', 'NETWORK_ERROR', 'UPSTREAM_UNAVAILABLE', 502, { kind: 'status', status: 503 }],
      ['a 429', 'NETWORK_ERROR', 'UPSTREAM_UNAVAILABLE', 503, { kind: 'status', status: 429, headers: { 'Retry-After': '7' } }],
      ['a timeout', 'NETWORK_ERROR', 'UPSTREAM_TIMEOUT', 504, { kind: 'latency', ms: 600 }],
      ['a 400 from the vendor', 'UPSTREAM_ERROR', 'UPSTREAM_REJECTED', 502, { kind: 'status', status: 400, body: { code: 'VALIDATION_ERROR' } }],
      ['a body that is not JSON', 'UPSTREAM_ERROR', 'UPSTREAM_INVALID_RESPONSE', 502, { kind: 'malformed' }],
      ['a body of the wrong shape', 'UPSTREAM_ERROR', 'UPSTREAM_INVALID_RESPONSE', 502, { kind: 'wrong-shape' }],
    ] as const)('maps %s to %s, keeping %s as the cause (status %s)', async (_name, code, canonical, status, fault) => {
      fake.fault(fault);
      const err = await rejection(client.sign({ id: ENTITY }));
      expect(err.code).toBe(code);
      expect(err.status).toBe(status);
      expect((err.cause as WidgetAuthError).code).toBe(canonical);
      expect(fake.requests).toHaveLength(1);
    });

    it('keeps the vendor Retry-After on a 429', async () => {
      fake.fault({ kind: 'status', status: 429, headers: { 'Retry-After': '7' } });
      const err = await rejection(client.sign({ id: ENTITY }));
      expect(err.retryAfterSeconds).toBe(7);
    });

    it('answers NETWORK_ERROR when nothing listens at the base URL', async () => {
      const gone = await startWonderful();
      const url = gone.url;
      await gone.close();
      const err = await rejection(new WonderfulAuthClient({ baseUrl: url, apiKey: WONDERFUL_KEY, retries: 0 }).sign());
      expect(err.code).toBe('NETWORK_ERROR');
      expect((err.cause as WidgetAuthError).code).toBe('UPSTREAM_UNAVAILABLE');
    });
  });

  describe('configuration', () => {
    it('reports every problem at once, with hints, never echoing the API key', () => {
      const key = 'wk_short_key';
      let error: unknown;
      try {
        new WonderfulAuthClient({ baseUrl: 'http://api.wonderful.example', apiKey: key, tenantID: 't', timeoutMs: -1 } as never);
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(WidgetAuthConfigError);
      expect((error as WidgetAuthConfigError).problems).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/^baseUrl: must use https:/),
          expect.stringMatching(/^apiKey: must be at least 16 characters/),
          expect.stringMatching(/^tenantID: unknown option \(did you mean `tenantId`\?\)/),
          expect.stringMatching(/^timeoutMs: /),
        ]),
      );
      expect((error as Error).message).not.toContain(key);
    });

    it('refuses a placeholder API key and a missing base URL', () => {
      expect(() => new WonderfulAuthClient({ apiKey: 'your-api-key' } as never)).toThrow(/baseUrl: is required[\s\S]*apiKey: looks like a placeholder/);
    });

    it('does not show the API key when the client is inspected or serialised', () => {
      const c = new WonderfulAuthClient({ baseUrl: fake.url, apiKey: WONDERFUL_KEY });
      expectNoSecrets(`${inspect(c, { showHidden: true, depth: 5 })} ${JSON.stringify(c)}`, [WONDERFUL_KEY]);
      expect(typeof c.sign).toBe('function');
    });
  });
});

describe('entity ids', () => {
  it('computes RFC 9562 name-based v5 UUIDs', () => {
    expect(uuidV5('www.example.com', '6ba7b810-9dad-11d1-80b4-00c04fd430c8')).toBe('2ed6657d-e927-568b-95e1-2665a8aea6a2');
    expect(uuidV5('python.org', '6ba7b810-9dad-11d1-80b4-00c04fd430c8')).toBe('886313e1-3b8a-5372-9b90-0c9aee199e5d');
    expect(() => uuidV5('x', 'not-a-uuid')).toThrow(TypeError);
  });

  it('derives a stable v5 UUID from every id, a UUID id included (each case its own)', () => {
    expect(wonderfulEntityIdFor({ id: ENTITY })).toBe(uuidV5(ENTITY, WONDERFUL_ENTITY_NAMESPACE));
    expect(wonderfulEntityIdFor({ id: ENTITY.toUpperCase() })).toBe(uuidV5(ENTITY.toUpperCase(), WONDERFUL_ENTITY_NAMESPACE));
    expect(wonderfulEntityIdFor({ id: ENTITY.toUpperCase() })).not.toBe(wonderfulEntityIdFor({ id: ENTITY }));
    const derived = wonderfulEntityIdFor({ id: 'user-42' });
    expect(derived).toBe(uuidV5('user-42', WONDERFUL_ENTITY_NAMESPACE));
    expect(derived).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(wonderfulEntityIdFor({ id: 'user-42' })).toBe(derived);
    expect(wonderfulEntityIdFor({ id: 'user-43' })).not.toBe(derived);
    expect(() => wonderfulEntityIdFor({ id: '' })).toThrow(TypeError);
  });
});

describe('startFakeWonderful', () => {
  let fake: FakeWonderful;
  beforeAll(async () => {
    fake = await startWonderful({ tenants: ['tenant-a'] });
  });
  afterAll(() => fake.close());

  const post = (body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${fake.url}/api/v1/jwt/sign`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': WONDERFUL_KEY, ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    }).then(async (res) => ({ status: res.status, body: (await res.json()) as Record<string, unknown> }));

  it.each([
    ['no API key', { entityId: ENTITY }, { 'x-api-key': '' }, 401, 'UNAUTHORIZED'],
    ['a wrong API key', { entityId: ENTITY }, { 'x-api-key': `${WONDERFUL_KEY}x` }, 401, 'UNAUTHORIZED'],
    ['an entityId that is not a UUID', { entityId: 'user-1' }, {}, 400, 'VALIDATION_ERROR'],
    ['a missing entityId', { expiresIn: 600 }, {}, 400, 'VALIDATION_ERROR'],
    ['expiresIn 59', { entityId: ENTITY, expiresIn: 59 }, {}, 400, 'VALIDATION_ERROR'],
    ['a fractional expiresIn', { entityId: ENTITY, expiresIn: 60.5 }, {}, 400, 'VALIDATION_ERROR'],
    ['array metadata', { entityId: ENTITY, metadata: [] }, {}, 400, 'VALIDATION_ERROR'],
    ['metadata over 4 KiB', { entityId: ENTITY, metadata: { a: 'x'.repeat(4090) } }, {}, 400, 'VALIDATION_ERROR'],
    ['metadata naming a registered claim', { entityId: ENTITY, metadata: { sub: STRANGER_ENTITY } }, {}, 400, 'VALIDATION_ERROR'],
    ['an unknown tenant', { entityId: ENTITY }, { 'x-tenant-id': 'tenant-b' }, 403, 'FORBIDDEN'],
    ['a body that is not JSON', '{"entityId":', {}, 400, 'VALIDATION_ERROR'],
    ['a text body', 'hello', { 'content-type': 'text/plain' }, 415, 'UNSUPPORTED_MEDIA_TYPE'],
  ])('refuses %s', async (_name, body, headers, status, code) => {
    const res = await post(body, headers);
    expect(res.status).toBe(status);
    expect(res.body['code']).toBe(code);
  });

  it('answers 405 to other methods', async () => {
    const res = await fetch(`${fake.url}/api/v1/jwt/sign`, { headers: { 'x-api-key': WONDERFUL_KEY } });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
  });

  it('signs RS256 tokens that verify only with its public key', async () => {
    const res = await post({ entityId: ENTITY, metadata: { plan: 'pro' } }, { 'x-tenant-id': 'tenant-a' });
    expect(res.status).toBe(200);
    const token = res.body['jwt'] as string;
    expect(jwt.decode(token, { complete: true })!.header.alg).toBe('RS256');
    const claims = jwt.verify(token, fake.publicKey, { algorithms: ['RS256'] }) as jwt.JwtPayload;
    expect(claims).toMatchObject({ sub: ENTITY, plan: 'pro', tenantId: 'tenant-a', exp: res.body['expiresAt'] });
    expect(claims.exp! - claims.iat!).toBe(3600);
    expect(fake.verify(token).sub).toBe(ENTITY);
    const forged = jwt.sign({ sub: ENTITY }, 'a-forged-hmac-key', { algorithm: 'HS256' });
    expect(() => fake.verify(forged)).toThrow(/invalid algorithm/);
    expect(fake.publicKey).toMatch(/^-----BEGIN PUBLIC KEY-----/);
  });

  it('refuses expired tokens by its clock', async () => {
    let now = Date.now();
    const clocked = await startWonderful({ now: () => now });
    try {
      const res = await fetch(`${clocked.url}/api/v1/jwt/sign`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': WONDERFUL_KEY },
        body: JSON.stringify({ entityId: ENTITY, expiresIn: 60 }),
      });
      const { jwt: token } = (await res.json()) as { jwt: string };
      expect(clocked.verify(token).sub).toBe(ENTITY);
      now += 61_000;
      expect(() => clocked.verify(token)).toThrow(/expired/);
    } finally {
      await clocked.close();
    }
  });
});
