import type { Request } from 'express';
import fc from 'fast-check';
import jwt from 'jsonwebtoken';
import request from 'supertest';
import { WONDERFUL_ENTITY_NAMESPACE, WidgetAuthConfigError, uuidV5, wonderfulConfigFromEnv, wonderfulEntityIdFor, wonderfulTokenRouter } from '../lib';
import type { Fault, FakeWonderful } from '../lib/testing';
import { EXPRESS_MAJOR, USERS, buildApp, captureLogger, expectNoSecrets, testResolveUser } from './helpers/app';
import { checkProperty } from './helpers/hardening';
import { STRANGER_ENTITY, WONDERFUL_KEY, listen, startWonderful, wonderfulApp } from './helpers/wonderful';

const ADA_ENTITY = uuidV5(USERS['ada']!.id, WONDERFUL_ENTITY_NAMESPACE);
// Bob's id is a UUID: it is derived from like any other id, never used as the entity itself
const BOB_ENTITY = uuidV5(USERS['bob']!.id, WONDERFUL_ENTITY_NAMESPACE);
const V5 = /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe(`Wonderful router (Express ${EXPRESS_MAJOR})`, () => {
  const logger = captureLogger();
  const tokens: string[] = [];
  const answers: string[] = [];
  let fake: FakeWonderful;
  let app: ReturnType<typeof wonderfulApp>;

  /** POST to the app as `user` (or nobody), remembering every token and answer for the leak checks. */
  async function post(path: string, user?: string, body?: unknown, target = app) {
    let req = request(target).post(path);
    if (user) req = req.set('x-test-user', user);
    const res = body === undefined ? await req : await req.send(body as object);
    answers.push(res.text);
    if (typeof res.body?.token === 'string') tokens.push(res.body.token);
    return res;
  }

  beforeAll(async () => {
    fake = await startWonderful();
    app = wonderfulApp(fake, { logger, retries: 0, timeoutMs: 250 });
  });
  afterEach(() => {
    fake.clearFaults();
    fake.requests.length = 0;
  });
  afterAll(async () => {
    await fake.close();
    expect(tokens.length).toBeGreaterThan(10);
    expectNoSecrets(logger.text(), [WONDERFUL_KEY, ...tokens]);
    for (const text of answers.filter((a) => !a.includes('"token"'))) expectNoSecrets(text, [WONDERFUL_KEY, ...tokens]);
  });

  describe('POST /api/sdk-token', () => {
    it('answers { token, expiresAt, id } with a Wonderful RS256 JWT for the user', async () => {
      const res = await post('/api/sdk-token', 'ada');
      expect(res.status).toBe(200);
      expect(Object.keys(res.body)).toEqual(['token', 'expiresAt', 'id']);
      expect(res.body.id).toBe(ADA_ENTITY);
      expect(jwt.decode(res.body.token, { complete: true })!.header.alg).toBe('RS256');
      const claims = jwt.verify(res.body.token, fake.publicKey, { algorithms: ['RS256'] }) as jwt.JwtPayload;
      expect(claims.sub).toBe(res.body.id);
      expect(claims.exp).toBe(res.body.expiresAt);
      expect(claims.exp! - claims.iat!).toBe(3600);
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['content-type']).toMatch(/^application\/json/);
    });

    it('sends the vendor exactly { entityId, expiresIn } with the API key and no tenant by default', async () => {
      await post('/api/sdk-token', 'ada');
      expect(fake.requests).toHaveLength(1);
      const sent = fake.requests[0]!;
      expect(sent.method).toBe('POST');
      expect(sent.path).toBe('/api/v1/jwt/sign');
      expect(sent.headers['x-api-key']).toBe(WONDERFUL_KEY);
      expect(sent.headers['x-tenant-id']).toBeUndefined();
      expect(sent.json).toEqual({ entityId: ADA_ENTITY, expiresIn: 3600 });
    });

    it('gives the same app user the same entity on every call: the v5 UUID of the id, also when the id is a UUID', async () => {
      const ids = [];
      for (const user of ['ada', 'ada', 'bob', 'bob']) ids.push((await post('/api/sdk-token', user)).body.id);
      expect(ids).toEqual([ADA_ENTITY, ADA_ENTITY, BOB_ENTITY, BOB_ENTITY]);
      expect(ADA_ENTITY).toMatch(V5);
      expect(BOB_ENTITY).toMatch(V5);
      expect(BOB_ENTITY).not.toBe(USERS['bob']!.id);
      const other = wonderfulApp(fake, { entityIdFor: (u) => uuidV5(u.id, WONDERFUL_ENTITY_NAMESPACE) });
      expect((await post('/api/sdk-token', 'ada', undefined, other)).body.id).toBe(ADA_ENTITY);
    });

    it('sends metadataFor(user), tenantId and expiresIn when configured', async () => {
      const configured = wonderfulApp(fake, {
        tenantId: 'tenant-456',
        expiresIn: 900,
        metadataFor: (user) => ({ name: user.name, plan: user.metadata?.['plan'] }),
      });
      const res = await post('/api/sdk-token', 'ada', undefined, configured);
      expect(res.status).toBe(200);
      expect(fake.requests[0]!.headers['x-tenant-id']).toBe('tenant-456');
      expect(fake.requests[0]!.json).toEqual({ entityId: ADA_ENTITY, expiresIn: 900, metadata: { name: 'Ada Lovelace', plan: 'pro' } });
      const claims = fake.verify(res.body.token);
      expect(claims).toMatchObject({ sub: ADA_ENTITY, tenantId: 'tenant-456', name: 'Ada Lovelace', plan: 'pro' });
      expect(claims.exp - claims.iat).toBe(900);
    });

    it('reads wrapped answers and answers without expiresAt or id', async () => {
      fake.setAnswerFormat({ wrap: true, omit: ['expiresAt', 'id'] });
      try {
        const res = await post('/api/sdk-token', 'bob');
        expect(res.status).toBe(200);
        expect(res.body).toEqual({ token: fake.issued.at(-1)!.jwt, expiresAt: fake.verify(res.body.token).exp, id: BOB_ENTITY });
      } finally {
        fake.setAnswerFormat({ wrap: false, omit: [] });
      }
    });

    it('answers 401 UNAUTHORIZED when nobody is signed in, without calling the vendor', async () => {
      const res = await post('/api/sdk-token');
      expect(res.status).toBe(401);
      expect(res.body).toEqual({ error: { code: 'UNAUTHORIZED', message: expect.any(String) } });
      expect(fake.requests).toHaveLength(0);
    });

    it('answers 405 METHOD_NOT_ALLOWED with Allow: POST for GET', async () => {
      const res = await request(app).get('/api/sdk-token').set('x-test-user', 'ada');
      expect(res.status).toBe(405);
      expect(res.headers['allow']).toBe('POST');
      expect(res.body.error.code).toBe('METHOD_NOT_ALLOWED');
    });

    it('logs one event per request with the vendor time', async () => {
      const before = logger.events.length;
      await post('/api/sdk-token', 'bob');
      const event = logger.events[before]!;
      expect(logger.events).toHaveLength(before + 1);
      expect(event.level).toBe('info');
      expect(event.obj).toMatchObject({ vendor: 'wonderful', route: '/api/sdk-token', status: 200, upstreamMs: expect.any(Number) });
    });
  });

  describe('POST /api/refresh-sdk-token', () => {
    it("issues a new token for the signed-in user's own entity", async () => {
      const first = await post('/api/sdk-token', 'ada');
      const res = await post('/api/refresh-sdk-token', 'ada', { entityId: first.body.id });
      expect(res.status).toBe(200);
      expect(Object.keys(res.body)).toEqual(['token', 'expiresAt', 'id']);
      expect(res.body.id).toBe(first.body.id);
      expect(fake.verify(res.body.token).sub).toBe(first.body.id);
      expect(fake.requests.at(-1)!.json).toEqual({ entityId: ADA_ENTITY, expiresIn: 3600 });
    });

    it('compares entity ids without regard to case', async () => {
      const res = await post('/api/refresh-sdk-token', 'bob', { entityId: BOB_ENTITY.toUpperCase() });
      expect(res.status).toBe(200);
      expect(res.body.id).toBe(BOB_ENTITY);
    });

    it.each([
      ["another user's entity", 'ada', BOB_ENTITY],
      ['an entity nobody owns', 'bob', STRANGER_ENTITY],
    ])('answers 403 FORBIDDEN for %s, without calling the vendor', async (_name, user, entityId) => {
      const res = await post('/api/refresh-sdk-token', user, { entityId });
      expect(res.status).toBe(403);
      expect(res.body).toEqual({ error: { code: 'FORBIDDEN', message: expect.stringMatching(/entityId/) } });
      expect(fake.requests).toHaveLength(0);
    });

    it.each([
      ['no body', undefined, /required/],
      ['an empty object', {}, /required/],
      ['a null entityId', { entityId: null }, /required/],
      ['a non-UUID entityId', { entityId: 'user-ada' }, /must be a UUID/],
      ['a numeric entityId', { entityId: 42 }, /must be a UUID/],
      ['a UUID with extra characters', { entityId: `${ADA_ENTITY}x` }, /must be a UUID/],
      ['an array body', [ADA_ENTITY], /required/],
    ])('answers 400 VALIDATION_ERROR for %s', async (_name, body, message) => {
      const res = await post('/api/refresh-sdk-token', 'ada', body);
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('VALIDATION_ERROR');
      expect(res.body.error.message).toMatch(message);
      expect(fake.requests).toHaveLength(0);
    });

    it('answers 400 VALIDATION_ERROR for malformed JSON', async () => {
      const res = await request(app).post('/api/refresh-sdk-token').set('x-test-user', 'ada').set('Content-Type', 'application/json').send('{"entityId":');
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('VALIDATION_ERROR');
    });

    it('answers 401 UNAUTHORIZED when nobody is signed in, even for a valid entity', async () => {
      const res = await post('/api/refresh-sdk-token', undefined, { entityId: ADA_ENTITY });
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('UNAUTHORIZED');
      expect(fake.requests).toHaveLength(0);
    });

    it('serves both routes on custom paths', async () => {
      const custom = wonderfulApp(fake, { path: '/wonderful/token', refreshPath: '/wonderful/refresh' });
      expect((await post('/wonderful/token', 'ada', undefined, custom)).status).toBe(200);
      expect((await post('/wonderful/refresh', 'ada', { entityId: ADA_ENTITY }, custom)).status).toBe(200);
      expect((await post('/api/sdk-token', 'ada', undefined, custom)).status).toBe(404);
    });
  });

  describe('one entity per host id', () => {
    /** A lower-case UUID used as a host id. */
    const ALICE_UUID = '3b241101-e2bb-4255-8caf-4136c566a962';
    /** The host's ids are opaque strings: `x-test-user` carries the id itself, URI-encoded. */
    const byId = (req: Request) => {
      const id = req.get('x-test-user');
      return id ? { id: decodeURIComponent(id) } : null;
    };
    let hosts: ReturnType<typeof wonderfulApp>;
    beforeAll(() => {
      hosts = wonderfulApp(fake, { resolveUser: byId, logger, retries: 0 });
    });

    /** Both users get a token each, for two different entities, and neither can refresh the other's. */
    async function expectSeparate(victim: string, attacker: string): Promise<void> {
      const [v, a] = [encodeURIComponent(victim), encodeURIComponent(attacker)];
      const own = await post('/api/sdk-token', v, undefined, hosts);
      const theirs = await post('/api/sdk-token', a, undefined, hosts);
      expect([own.status, theirs.status]).toEqual([200, 200]);
      expect(theirs.body.id).not.toBe(own.body.id);
      expect(fake.verify(own.body.token).sub).toBe(own.body.id);
      expect(fake.verify(theirs.body.token).sub).toBe(theirs.body.id);

      fake.requests.length = 0;
      for (const [user, entity] of [
        [a, own.body.id as string],
        [v, theirs.body.id as string],
      ] as const) {
        for (const entityId of [entity, entity.toUpperCase()]) {
          const res = await post('/api/refresh-sdk-token', user, { entityId }, hosts);
          expect({ entityId, status: res.status, code: res.body.error?.code }).toEqual({ entityId, status: 403, code: 'FORBIDDEN' });
        }
      }
      expect(fake.requests).toHaveLength(0);

      const refreshed = await post('/api/refresh-sdk-token', a, { entityId: theirs.body.id }, hosts);
      expect(refreshed.status).toBe(200);
      expect(fake.verify(refreshed.body.token).sub).toBe(theirs.body.id);
    }

    it("gives the user whose id is alice's derived entity id a different entity from alice, and no refresh of hers", async () => {
      const aliceEntity = uuidV5('alice', WONDERFUL_ENTITY_NAMESPACE);
      await expectSeparate('alice', aliceEntity);
      await expectSeparate('alice', aliceEntity.toUpperCase());
    });

    it('gives the host ids ALICE-UUID and alice-uuid different entities, and neither a refresh of the other', async () => {
      await expectSeparate(ALICE_UUID, ALICE_UUID.toUpperCase());
      await expectSeparate(ALICE_UUID.toUpperCase(), ALICE_UUID);
    });

    /** Well-formed ids, UUID-shaped in every case and spelling, other ids' entities, and any text. */
    const hostId: fc.Arbitrary<string> = fc.oneof(
      fc.uuid(),
      fc.uuid().map((u) => u.toUpperCase()),
      fc.string({ unit: 'binary', minLength: 1, maxLength: 12 }).map((s) => uuidV5(s, WONDERFUL_ENTITY_NAMESPACE)),
      fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }),
      fc.string({ unit: fc.constantFrom('a', 'A', 'f', 'F', '0', '-', '\u00e9', 'e\u0301'), minLength: 1, maxLength: 40 }),
    );
    /** A second id close to the first: another case, its entity, its entity in upper case, a different string. */
    const neighbour = (id: string): fc.Arbitrary<string> => {
      const entity = uuidV5(id, WONDERFUL_ENTITY_NAMESPACE);
      return fc.oneof(fc.constantFrom(id.toUpperCase(), id.toLowerCase(), entity, entity.toUpperCase(), `${id} `, id.normalize('NFD')), hostId);
    };
    const pairs = hostId.chain((a) => fc.tuple(fc.constant(a), neighbour(a))).filter(([a, b]) => a !== b);

    it('never gives two different host ids one entity, nor passes an id through as its entity (property)', async () => {
      await checkProperty(
        fc.property(pairs, ([a, b]) => {
          const [ea, eb] = [wonderfulEntityIdFor({ id: a }), wonderfulEntityIdFor({ id: b })];
          expect(ea).toMatch(V5);
          expect(ea).not.toBe(eb);
          expect(ea).not.toBe(a.toLowerCase());
        }),
        2000,
      );
    });

    it('serves two different host ids two entities, and refreshes neither for the other (property, over HTTP)', async () => {
      await checkProperty(
        fc.asyncProperty(pairs, async ([a, b]) => {
          const first = await post('/api/sdk-token', encodeURIComponent(a), undefined, hosts);
          const second = await post('/api/sdk-token', encodeURIComponent(b), undefined, hosts);
          expect([first.status, second.status]).toEqual([200, 200]);
          expect(second.body.id).not.toBe(first.body.id);
          const crossed = await post('/api/refresh-sdk-token', encodeURIComponent(b), { entityId: first.body.id }, hosts);
          expect(crossed.status).toBe(403);
        }),
        25,
      );
    });
  });

  describe('vendor failures', () => {
    const faults: [string, number, string, Fault][] = [
      ['a connection reset', 502, 'NETWORK_ERROR', { kind: 'reset' }],
      ['a 500', 502, 'NETWORK_ERROR', { kind: 'status', status: 500, body: { code: 'INTERNAL' } }],
      ['a 502', 502, 'NETWORK_ERROR', { kind: 'status', status: 502 }],
      ['a 503', 502, 'NETWORK_ERROR', { kind: 'status', status: 503 }],
      ['a 429', 503, 'NETWORK_ERROR', { kind: 'status', status: 429, headers: { 'Retry-After': '12' } }],
      ['a timeout', 504, 'NETWORK_ERROR', { kind: 'latency', ms: 500 }],
      ['a body that is not JSON', 502, 'UPSTREAM_INVALID_RESPONSE', { kind: 'malformed' }],
      ['a body of the wrong shape', 502, 'UPSTREAM_INVALID_RESPONSE', { kind: 'wrong-shape' }],
      ['a 400 refusing our request', 502, 'UPSTREAM_REJECTED', { kind: 'status', status: 400, body: { code: 'VALIDATION_ERROR' } }],
    ];

    it.each(faults)('maps %s to %i %s on both routes', async (_name, status, code, fault) => {
      fake.fault(fault);
      const res = await post('/api/sdk-token', 'ada');
      expect(res.status).toBe(status);
      expect(res.body).toEqual({ error: { code, message: expect.any(String) } });
      const refresh = await post('/api/refresh-sdk-token', 'bob', { entityId: BOB_ENTITY });
      expect(refresh.status).toBe(status);
      expect(refresh.body.error.code).toBe(code);
      if (fault.kind === 'status' && fault.status === 429) expect(res.headers['retry-after']).toBe('12');
    });

    it('answers 502 UPSTREAM_REJECTED (never 401) when the vendor refuses the API key, with its correlation id', async () => {
      const wrongKey = buildApp(
        wonderfulTokenRouter({ baseUrl: fake.url, apiKey: 'wk_test_c8e815b94e71cdab724d', resolveUser: testResolveUser, logger }),
      );
      const res = await post('/api/sdk-token', 'ada', undefined, wrongKey);
      expect(res.status).toBe(502);
      expect(res.body.error.code).toBe('UPSTREAM_REJECTED');
      expect(res.body.error.correlationId).toMatch(/^[0-9a-f-]{36}$/);
      expect(res.text).not.toContain('wk_test_c8e815b94e71cdab724d');
      const event = logger.events.at(-1)!.obj;
      expect(event).toMatchObject({ status: 502, code: 'UPSTREAM_REJECTED', upstreamStatus: 401, vendorCode: 'UNAUTHORIZED' });
      expectNoSecrets(logger.text(), ['wk_test_c8e815b94e71cdab724d']);
    });

    it('answers 502 NETWORK_ERROR when the vendor is unreachable, after one retry by default', async () => {
      const gone = await startWonderful();
      const url = gone.url;
      await gone.close();
      const res = await post('/api/sdk-token', 'ada', undefined, buildApp(wonderfulTokenRouter({ baseUrl: url, apiKey: WONDERFUL_KEY, resolveUser: testResolveUser })));
      expect(res.status).toBe(502);
      expect(res.body.error.code).toBe('NETWORK_ERROR');
    });

    it('retries a 503 once and then succeeds', async () => {
      fake.fault({ kind: 'status', status: 503 }, { times: 1 });
      const retrying = wonderfulApp(fake, { logger });
      const res = await post('/api/sdk-token', 'ada', undefined, retrying);
      expect(res.status).toBe(200);
      expect(fake.requests).toHaveLength(2);
    });

    it('answers 502 UPSTREAM_INVALID_RESPONSE when the vendor signs for another entity', async () => {
      const foreign = jwt.sign({ sub: STRANGER_ENTITY }, 'an-unrelated-test-key');
      fake.fault({ kind: 'status', status: 200, body: { jwt: foreign, id: STRANGER_ENTITY } });
      const res = await post('/api/sdk-token', 'ada');
      expect(res.status).toBe(502);
      expect(res.body.error.code).toBe('UPSTREAM_INVALID_RESPONSE');
      expect(res.text).not.toContain(foreign);
    });

    it.each([
      ['a jwt that is a number', 42],
      ['a jwt that is no JWT', 'not-a-token'],
      ['a jwt of null', null],
    ])('answers 502 UPSTREAM_INVALID_RESPONSE for a body with %s beside a valid { data } (never a 500, never the token of data)', async (_what, bare) => {
      const wrapped = jwt.sign({ sub: ADA_ENTITY }, 'an-unrelated-test-key');
      fake.fault({ kind: 'status', status: 200, body: { jwt: bare, data: { jwt: wrapped, id: ADA_ENTITY } } });
      const res = await post('/api/sdk-token', 'ada', undefined, wonderfulApp(fake, { logger, retries: 0 }));
      expect({ status: res.status, code: res.body.error?.code }).toEqual({ status: 502, code: 'UPSTREAM_INVALID_RESPONSE' });
      expect(res.text).not.toContain(wrapped);
    });

    const unsigned = (claims: string) => `${Buffer.from('{"alg":"RS256","typ":"JWT"}').toString('base64url')}.${Buffer.from(claims).toString('base64url')}.c2ln`;
    it.each([
      // JSON.parse keeps the last name; a reader that keeps the first sees the stranger
      ['names sub twice, another entity first', () => `{"sub":"${STRANGER_ENTITY}","sub":"${ADA_ENTITY}"}`],
      ['names sub twice, once escaped', () => `{"sub":"${STRANGER_ENTITY}","\\u0073ub":"${ADA_ENTITY}"}`],
      ['gives sub as an array', () => `{"sub":["${STRANGER_ENTITY}"]}`],
      ['gives sub as a number', () => '{"sub":42}'],
    ])('answers 502 UPSTREAM_INVALID_RESPONSE for a token that %s (and no id)', async (_what, claims) => {
      fake.fault({ kind: 'status', status: 200, body: { jwt: unsigned(claims()) } });
      const res = await post('/api/sdk-token', 'ada');
      expect(res.status).toBe(502);
      expect(res.body.error.code).toBe('UPSTREAM_INVALID_RESPONSE');
    });
  });

  describe('host hooks and pipeline', () => {
    it.each([
      ['entityIdFor returns something other than a UUID', { entityIdFor: () => 'user-ada' }],
      ['entityIdFor throws', { entityIdFor: () => { throw new Error(`lookup failed ${WONDERFUL_KEY}`); } }],
      ['metadataFor returns more than 4 KiB', { metadataFor: () => ({ blob: 'x'.repeat(5000) }) }],
      ['metadataFor returns a class instance', { metadataFor: () => new Date() as never }],
      ['resolveUser rejects', { resolveUser: async () => Promise.reject(new Error('db down')) }],
    ])('answers 500 INTERNAL_ERROR when %s, without calling the vendor', async (_name, options) => {
      const res = await post('/api/sdk-token', 'ada', undefined, wonderfulApp(fake, { logger, ...options }));
      expect(res.status).toBe(500);
      expect(res.body).toEqual({ error: { code: 'INTERNAL_ERROR', message: 'Internal error.' } });
      expect(fake.requests).toHaveLength(0);
    });

    it('answers 403 FORBIDDEN_ORIGIN for an origin outside allowedOrigins', async () => {
      const guarded = wonderfulApp(fake, { allowedOrigins: ['https://app.example.com'] });
      const res = await request(guarded).post('/api/sdk-token').set('x-test-user', 'ada').set('Origin', 'https://evil.example.net');
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe('FORBIDDEN_ORIGIN');
      const ok = await request(guarded).post('/api/sdk-token').set('x-test-user', 'ada').set('Origin', 'https://app.example.com');
      expect(ok.status).toBe(200);
      tokens.push(ok.body.token);
    });

    it('answers 429 RATE_LIMITED with Retry-After past the limit', async () => {
      const limited = wonderfulApp(fake, { rateLimit: { windowMs: 60_000, limit: 1 } });
      expect((await post('/api/sdk-token', 'ada', undefined, limited)).status).toBe(200);
      const res = await post('/api/sdk-token', 'ada', undefined, limited);
      expect(res.status).toBe(429);
      expect(res.body.error.code).toBe('RATE_LIMITED');
      expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    });

    it('keeps vendor connections to 16 or fewer under 200 concurrent requests, all answered 200', async () => {
      const busy = await startWonderful();
      const server = await listen(wonderfulApp(busy));
      try {
        const responses = await Promise.all(
          Array.from({ length: 200 }, (_, i) =>
            fetch(`${server.url}/api/sdk-token`, { method: 'POST', headers: { 'x-test-user': i % 2 ? 'ada' : 'bob' } }).then(async (r) => ({
              status: r.status,
              body: (await r.json()) as { id?: string; token?: string },
            })),
          ),
        );
        expect(responses.filter((r) => r.status !== 200)).toEqual([]);
        expect(new Set(responses.map((r) => r.body.id))).toEqual(new Set([ADA_ENTITY, BOB_ENTITY]));
        expect(busy.issued).toHaveLength(200);
        expect(busy.connections).toBeGreaterThan(0);
        expect(busy.connections).toBeLessThanOrEqual(16);
        tokens.push(...responses.slice(0, 5).map((r) => r.body.token!));
      } finally {
        await server.close();
        await busy.close();
      }
      // 200 RS256 signatures by the fake on a shared machine: a deadline, not a speed claim
    }, 30_000);
  });

  describe('configuration', () => {
    it('reports every problem at once, with hints, never echoing the API key', () => {
      const key = 'wk_short';
      let error: unknown;
      try {
        wonderfulTokenRouter({
          baseUrl: 'ftp://api.wonderful.example',
          apiKey: key,
          resolveUser: undefined as never,
          expiresIn: 30,
          entityIdFor: 'user.id' as never,
          refreshPth: '/x',
        } as never);
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(WidgetAuthConfigError);
      expect((error as WidgetAuthConfigError).problems).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/^baseUrl: must use https:/),
          expect.stringMatching(/^apiKey: must be at least 16 characters/),
          expect.stringMatching(/^resolveUser: /),
          expect.stringMatching(/^expiresIn: must be between 60 and 86400 seconds/),
          expect.stringMatching(/^entityIdFor: must be a function/),
          expect.stringMatching(/^refreshPth: unknown option \(did you mean `refreshPath`\?\)/),
        ]),
      );
      expect((error as Error).message).not.toContain(key);
    });

    it('refuses the same path for both routes', () => {
      expect(() =>
        wonderfulTokenRouter({ baseUrl: 'https://api.wonderful.ai', apiKey: WONDERFUL_KEY, resolveUser: testResolveUser, path: '/t', refreshPath: '/t' }),
      ).toThrow(/refreshPath: must differ from path/);
    });

    it('tells a function given as its options apart: wonderfulTokenRouter itself (mounted uncalled), or resolveUser alone', () => {
      expect(() => wonderfulTokenRouter(wonderfulTokenRouter as never)).toThrow(/did you write `app.use\(wonderfulTokenRouter\)`/);
      expect(() => wonderfulTokenRouter((() => undefined) as never)).toThrow(/resolveUser goes inside the options: wonderfulTokenRouter\(\{ …, resolveUser \}\)/);
    });

    it('reads WONDERFUL_API_URL, WONDERFUL_API_KEY and the optional WONDERFUL_TENANT_ID', () => {
      const env = { WONDERFUL_API_URL: 'https://api.wonderful.ai/', WONDERFUL_API_KEY: WONDERFUL_KEY };
      expect(wonderfulConfigFromEnv(env)).toEqual({ baseUrl: 'https://api.wonderful.ai', apiKey: WONDERFUL_KEY });
      expect(wonderfulConfigFromEnv({ ...env, WONDERFUL_TENANT_ID: 'tenant-456', OTHER: 'x' })).toEqual({
        baseUrl: 'https://api.wonderful.ai',
        apiKey: WONDERFUL_KEY,
        tenantId: 'tenant-456',
      });
    });

    it('lists every missing or invalid variable at once without echoing the API key', () => {
      let error: unknown;
      try {
        wonderfulConfigFromEnv({});
      } catch (err) {
        error = err;
      }
      expect((error as WidgetAuthConfigError).problems).toEqual(['WONDERFUL_API_URL: is not set', 'WONDERFUL_API_KEY: is not set']);

      const shortKey = 'wk_live_abc';
      try {
        wonderfulConfigFromEnv({ WONDERFUL_API_URL: 'http://api.wonderful.ai', WONDERFUL_API_KEY: shortKey, WONDERFUL_TENANT_ID: 'two words' });
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(WidgetAuthConfigError);
      expect((error as WidgetAuthConfigError).problems).toEqual([
        expect.stringMatching(/^WONDERFUL_API_URL: must use https:/),
        expect.stringMatching(/^WONDERFUL_API_KEY: must be at least 16 characters/),
        expect.stringMatching(/^WONDERFUL_TENANT_ID: /),
      ]);
      expect((error as Error).message).not.toContain(shortKey);
    });

    it('mounts from the environment in one line', async () => {
      const fromEnv = buildApp(
        wonderfulTokenRouter({ ...wonderfulConfigFromEnv({ WONDERFUL_API_URL: fake.url, WONDERFUL_API_KEY: WONDERFUL_KEY }), resolveUser: testResolveUser }),
      );
      const res = await post('/api/sdk-token', 'bob', undefined, fromEnv);
      expect(res.status).toBe(200);
      expect(res.body.id).toBe(BOB_ENTITY);
    });
  });
});
