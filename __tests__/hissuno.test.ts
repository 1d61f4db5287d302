import jwt from 'jsonwebtoken';
import request from 'supertest';
import { WidgetAuthConfigError, WidgetAuthError, hissunoConfigFromEnv, hissunoTokenRouter, signHissunoToken } from '../lib';
import { verifyHissunoToken } from '../lib/testing';
import { EXPRESS_MAJOR, buildApp, captureLogger, expectNoSecrets, testResolveUser } from './helpers/app';

const SECRET = 'sk_live_QZuX5SQetHGPBzyu36v7JVQdFkEmSuoH';

describe(`Hissuno (Express ${EXPRESS_MAJOR})`, () => {
  const logger = captureLogger();
  const tokens: string[] = [];
  afterAll(() => {
    expectNoSecrets(logger.text(), [SECRET, ...tokens]);
  });

  const app = buildApp(hissunoTokenRouter({ secretKey: SECRET, resolveUser: testResolveUser, logger }));

  it.each(['get', 'post'] as const)('answers %s with an HS256 token the vendor server accepts', async (method) => {
    const res = await request(app)[method]('/api/hissuno-token').set('x-test-user', 'ada');
    expect(res.status).toBe(200);
    expect(Object.keys(res.body)).toEqual(['token']);
    tokens.push(res.body.token);
    const header = jwt.decode(res.body.token, { complete: true })!.header;
    expect(header).toEqual({ alg: 'HS256', typ: 'JWT' });
    const claims = verifyHissunoToken(res.body.token, SECRET);
    expect(claims.userId).toBe('user-ada');
    expect(claims.userMetadata).toEqual({ name: 'Ada Lovelace', email: '  Ada@Example.COM ', plan: 'pro' });
    expect(claims.exp - claims.iat).toBe(24 * 3600);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['content-type']).toMatch(/^application\/json/);
  });

  it('answers 401 {"error":"Unauthorized"} when nobody is signed in', async () => {
    const res = await request(app).get('/api/hissuno-token');
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ error: 'Unauthorized' });
    expect(res.headers['cache-control']).toBe('no-store');
  });

  it('answers 405 with Allow for other methods', async () => {
    const res = await request(app).delete('/api/hissuno-token').set('x-test-user', 'ada');
    expect(res.status).toBe(405);
    expect(res.headers['allow']).toBe('GET, POST');
    expect(typeof res.body.error).toBe('string');
  });

  it('answers 500 {"error":"Internal error"} when resolveUser throws, leaking nothing', async () => {
    const log = captureLogger();
    const failing = buildApp(
      hissunoTokenRouter({
        secretKey: SECRET,
        logger: log,
        resolveUser: async () => {
          throw new Error(`database password hunter2-${SECRET}`);
        },
      }),
    );
    const res = await request(failing).get('/api/hissuno-token');
    expect(res.status).toBe(500);
    expect(res.body).toEqual({ error: 'Internal error' });
    expect(res.text).not.toContain('hunter2');
    expect(log.events).toHaveLength(1);
    expect(log.events[0]!.level).toBe('error');
    expectNoSecrets(log.text(), [SECRET]);
    expect(log.text()).toContain('hunter2'); // the operator still sees the cause, redacted
  });

  it('shapes malformed JSON, wrong content type and oversized bodies', async () => {
    const bad = await request(app).post('/api/hissuno-token').set('x-test-user', 'ada').set('Content-Type', 'application/json').send('{"a":');
    expect(bad.status).toBe(400);
    expect(bad.body).toEqual({ error: 'Request body is not valid JSON.' });
    const type = await request(app).post('/api/hissuno-token').set('x-test-user', 'ada').set('Content-Type', 'text/plain').send('hello');
    expect(type.status).toBe(415);
    expect(typeof type.body.error).toBe('string');
    const big = await request(app).post('/api/hissuno-token').set('x-test-user', 'ada').send({ pad: 'x'.repeat(9000) });
    expect(big.status).toBe(413);
    expect(big.body.error).toMatch(/larger than 8192 bytes/);
  });

  it('uses the configured lifetime and refuses lifetimes outside 60 s – 24 h', async () => {
    const short = buildApp(hissunoTokenRouter({ secretKey: SECRET, resolveUser: testResolveUser, expiresIn: '90s' }));
    const res = await request(short).get('/api/hissuno-token').set('x-test-user', 'ada');
    const claims = verifyHissunoToken(res.body.token, SECRET);
    expect(claims.exp - claims.iat).toBe(90);
    expect(() => hissunoTokenRouter({ secretKey: SECRET, resolveUser: testResolveUser, expiresIn: 59 })).toThrow(/expiresIn: must be between 60 seconds and 24 hours/);
    expect(() => hissunoTokenRouter({ secretKey: SECRET, resolveUser: testResolveUser, expiresIn: '25h' })).toThrow(WidgetAuthConfigError);
  });

  it('reports every configuration problem at once without echoing the secret', () => {
    const secret = 'sk_live_short';
    let error: unknown;
    try {
      hissunoTokenRouter({ secretKey: secret, resolveUser: 'nope' as never, expiresIn: 5, alowedOrigins: [] } as never);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(WidgetAuthConfigError);
    const problems = (error as WidgetAuthConfigError).problems;
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^secretKey: must be at least 32 characters/),
        expect.stringMatching(/^resolveUser: must be a function/),
        expect.stringMatching(/^expiresIn: /),
        expect.stringMatching(/^alowedOrigins: unknown option \(did you mean `allowedOrigins`\?\)/),
      ]),
    );
    expect((error as Error).message).not.toContain(secret);
  });

  it('tells a function given as its options apart: hissunoTokenRouter itself (mounted uncalled), or resolveUser alone', () => {
    expect(() => hissunoTokenRouter(hissunoTokenRouter as never)).toThrow(/did you write `app.use\(hissunoTokenRouter\)`/);
    expect(() => hissunoTokenRouter((() => undefined) as never)).toThrow(/resolveUser goes inside the options: hissunoTokenRouter\(\{ …, resolveUser \}\)/);
  });

  it('reads HISSUNO_SECRET_KEY and names it when missing or invalid', () => {
    expect(hissunoConfigFromEnv({ HISSUNO_SECRET_KEY: SECRET })).toEqual({ secretKey: SECRET });
    expect(() => hissunoConfigFromEnv({})).toThrow(/HISSUNO_SECRET_KEY: is not set/);
    expect(() => hissunoConfigFromEnv({ HISSUNO_SECRET_KEY: 'sk_live_tooshort' })).toThrow(/HISSUNO_SECRET_KEY: must be at least 32/);
  });
});

describe('signHissunoToken', () => {
  it('signs { userId, userMetadata } with iat and exp, dropping undefined metadata', () => {
    const token = signHissunoToken({ userId: 'u1', userMetadata: { name: 'A', gone: undefined } }, { secretKey: SECRET, expiresIn: 3600 });
    const claims = verifyHissunoToken(token, SECRET);
    expect(claims.userMetadata).toEqual({ name: 'A' });
    expect(claims.exp - claims.iat).toBe(3600);
  });

  it('refuses non-string metadata values and a missing userId', () => {
    expect(() => signHissunoToken({ userId: 'u1', userMetadata: { age: 3 as never } }, { secretKey: SECRET })).toThrow(/userMetadata.age must be a string/);
    expect(() => signHissunoToken({ userId: '' }, { secretKey: SECRET })).toThrow(WidgetAuthError);
  });

  it('produces tokens the vendor refuses once expired beyond the 60 s tolerance', () => {
    const token = signHissunoToken({ userId: 'u1' }, { secretKey: SECRET, expiresIn: 60 });
    const now = Date.now();
    expect(verifyHissunoToken(token, SECRET, { now: now + 110_000 }).userId).toBe('u1');
    expect(() => verifyHissunoToken(token, SECRET, { now: now + 125_000 })).toThrow(/expired/);
  });
});
