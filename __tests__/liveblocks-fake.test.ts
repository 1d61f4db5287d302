import { randomBytes } from 'node:crypto';
import { Liveblocks } from '@liveblocks/node';
import { startFakeLiveblocks, type FakeLiveblocks } from '../lib/testing';
import { loadJose } from './helpers/jose';

const SECRET = `sk_test_${randomBytes(16).toString('hex')}`;
const NOW = Date.parse('2030-05-01T12:00:00.000Z');

describe('startFakeLiveblocks', () => {
  let fake: FakeLiveblocks;
  let clock = NOW;

  beforeAll(async () => {
    fake = await startFakeLiveblocks({ secret: SECRET, projectId: 'pr_test', now: () => clock });
  });
  afterEach(() => {
    fake.clearFaults();
    clock = NOW;
  });
  afterAll(() => fake.close());

  async function post(path: string, body: unknown, headers: Record<string, string> = { authorization: `Bearer ${SECRET}` }) {
    const res = await fetch(`${fake.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  it('answers /v2/authorize-user with { token }, an RS256 access token with the requested permissions and user info, valid an hour', async () => {
    const res = await post('/v2/authorize-user', { userId: 'user-1', permissions: { 'room-1': ['room:write'], 'team:*': ['*:read', 'comments:write'] }, userInfo: { name: 'Ada' }, organizationId: 'org-9' });
    expect(res.status).toBe(200);
    expect(Object.keys(res.body)).toEqual(['token']);
    const token = res.body['token'] as string;

    const claims = fake.verify(token);
    expect(claims).toEqual({
      k: 'acc',
      pid: 'pr_test',
      uid: 'user-1',
      perms: { 'room-1': ['room:write'], 'team:*': ['*:read', 'comments:write'] },
      ui: { name: 'Ada' },
      iat: NOW / 1000,
      exp: NOW / 1000 + 3600,
      jti: expect.stringMatching(/^[A-Za-z0-9_-]{12}$/),
    });
    // checked again with an independent library, against the published key
    const { importSPKI, jwtVerify, decodeProtectedHeader } = loadJose();
    const verified = await jwtVerify(token, await importSPKI(fake.publicKey, 'RS256'), { currentDate: new Date(NOW) });
    expect(verified.payload['uid']).toBe('user-1');
    expect(decodeProtectedHeader(token)).toMatchObject({ alg: 'RS256', typ: 'JWT' });
    expect(fake.issued.at(-1)).toEqual({ kind: 'access', userId: 'user-1', permissions: claims.perms, userInfo: { name: 'Ada' }, organizationId: 'org-9', token, expiresAt: NOW / 1000 + 3600 });
  });

  it('answers /v2/identify-user with an ID token carrying the groups', async () => {
    const res = await post('/v2/identify-user', { userId: 'user-2', groupIds: ['eng', 'ops'] });
    expect(res.status).toBe(200);
    const claims = fake.verify(res.body['token'] as string);
    expect(claims).toMatchObject({ k: 'id', pid: 'pr_test', uid: 'user-2', gids: ['eng', 'ops'] });
    expect(claims.perms).toBeUndefined();
    expect(fake.issued.at(-1)).toMatchObject({ kind: 'id', userId: 'user-2', groupIds: ['eng', 'ops'] });
  });

  it('is what @liveblocks/node expects: prepareSession().authorize() and identifyUser() pointed at the fake get its tokens', async () => {
    const liveblocks = new Liveblocks({ secret: SECRET, baseUrl: fake.url });
    const before = fake.requests.length;

    const session = liveblocks.prepareSession('user-3', { userInfo: { name: 'Grace' } });
    session.allow('doc-*', session.FULL_ACCESS);
    const access = await session.authorize();
    expect(access.status).toBe(200);
    expect(fake.verify((JSON.parse(access.body) as { token: string }).token)).toMatchObject({ k: 'acc', uid: 'user-3', perms: { 'doc-*': ['*:write'] }, ui: { name: 'Grace' } });

    const identity = await liveblocks.identifyUser({ userId: 'user-3', groupIds: ['eng'] });
    expect(identity.status).toBe(200);
    expect(fake.verify((JSON.parse(identity.body) as { token: string }).token)).toMatchObject({ k: 'id', uid: 'user-3', gids: ['eng'] });

    const seen = fake.requests.slice(before);
    expect(seen.map((r) => `${r.method} ${r.path}`)).toEqual(['POST /v2/authorize-user', 'POST /v2/identify-user']);
    expect(seen[0]!.headers['authorization']).toBe(`Bearer ${SECRET}`);
    expect(seen[0]!.json).toEqual({ userId: 'user-3', permissions: { 'doc-*': ['*:write'] }, userInfo: { name: 'Grace' } });
  });

  it('answers 401 without a bearer secret and 403 for another secret, without echoing it', async () => {
    const other = `sk_test_${randomBytes(16).toString('hex')}`;
    const missing = await post('/v2/authorize-user', { userId: 'u', permissions: { r: ['room:read'] } }, {});
    expect([missing.status, missing.body['error']]).toEqual([401, 'Unauthorized']);
    const wrong = await post('/v2/authorize-user', { userId: 'u', permissions: { r: ['room:read'] } }, { authorization: `Bearer ${other}` });
    expect([wrong.status, wrong.body['error']]).toEqual([403, 'Forbidden']);
    expect(JSON.stringify(wrong.body)).not.toContain(other);

    // as @liveblocks/node reports it
    const refused = await new Liveblocks({ secret: other, baseUrl: fake.url }).prepareSession('u').allow('r', ['room:read']).authorize();
    expect(refused.status).toBe(403);
  });

  it.each([
    ['no userId', '/v2/authorize-user', { permissions: { r: ['room:read'] } }],
    ['an empty userId', '/v2/identify-user', { userId: '' }],
    ['no permissions', '/v2/authorize-user', { userId: 'u' }],
    ['an unknown scope', '/v2/authorize-user', { userId: 'u', permissions: { r: ['room:admin'] } }],
    ['an empty scope list', '/v2/authorize-user', { userId: 'u', permissions: { r: [] } }],
    ['a * inside a pattern', '/v2/authorize-user', { userId: 'u', permissions: { 'a*b': ['room:read'] } }],
    ['eleven room patterns', '/v2/authorize-user', { userId: 'u', permissions: Object.fromEntries('abcdefghijk'.split('').map((r) => [r, ['room:read']])) }],
    ['userInfo that is not an object', '/v2/authorize-user', { userId: 'u', permissions: { r: ['room:read'] }, userInfo: 'Ada' }],
    ['groupIds that are not strings', '/v2/identify-user', { userId: 'u', groupIds: [1] }],
  ])('answers 422 for %s', async (_name, path, body) => {
    const issued = fake.issued.length;
    const res = await post(path, body);
    expect([res.status, res.body['error']]).toEqual([422, 'Unprocessable Entity']);
    expect(typeof res.body['message']).toBe('string');
    expect(fake.issued).toHaveLength(issued);
  });

  it('answers 400 to a body that is not JSON and 405 to another method', async () => {
    const text = await fetch(`${fake.url}/v2/authorize-user`, { method: 'POST', headers: { authorization: `Bearer ${SECRET}`, 'content-type': 'text/plain' }, body: 'userId=u' });
    expect(text.status).toBe(400);
    const get = await fetch(`${fake.url}/v2/identify-user`, { headers: { authorization: `Bearer ${SECRET}` } });
    expect([get.status, get.headers.get('allow')]).toEqual([405, 'POST']);
  });

  it('signs tokens by its clock: one it issued fails verify() once expired', async () => {
    const res = await post('/v2/authorize-user', { userId: 'u', permissions: { r: ['room:read'] } });
    const token = res.body['token'] as string;
    clock = NOW + 3601_000;
    expect(() => fake.verify(token)).toThrow(/expired/);
    const tampered = token.replace(/\.([^.]+)\./, (_m, payload: string) => `.${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), uid: 'admin' })).toString('base64url')}.`);
    clock = NOW;
    expect(() => fake.verify(tampered)).toThrow(/signature/);
  });

  it('records requests and applies injected faults like the other fakes', async () => {
    fake.fault({ kind: 'status', status: 503, body: { error: 'Service Unavailable' } }, { times: 1, path: '/v2/authorize-user' });
    const failed = await post('/v2/authorize-user', { userId: 'u', permissions: { r: ['room:read'] } });
    expect(failed.status).toBe(503);
    const next = await post('/v2/authorize-user', { userId: 'u', permissions: { r: ['room:read'] } });
    expect(next.status).toBe(200);

    fake.fault({ kind: 'malformed' }, { times: 1 });
    const malformed = await new Liveblocks({ secret: SECRET, baseUrl: fake.url }).prepareSession('u').allow('r', ['room:read']).authorize();
    expect(malformed.status).toBe(200);
    expect(() => JSON.parse(malformed.body)).toThrow();
    expect(fake.requests.at(-1)).toMatchObject({ method: 'POST', path: '/v2/authorize-user' });
  });

  it('refuses to start without a secret', async () => {
    await expect(startFakeLiveblocks({ secret: '' })).rejects.toThrow(/secret is required/);
  });
});
