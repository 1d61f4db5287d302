/**
 * liveblocksAuthRouter over real HTTP, on Express 5 and Express 4, against the Liveblocks
 * fake (startFakeLiveblocks: the two authentication routes of Liveblocks' REST API,
 * recording every request, RS256 tokens checked with its `verify`): the request the
 * router sends, the answer @liveblocks/client reads, refusals that never reach the
 * vendor, the vendor's failures, start-up and environment errors, widgetAuth.
 */
import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { LIVEBLOCKS_ENV, WidgetAuthError, liveblocksAuthRouter, liveblocksConfigFromEnv, widgetAuth, type LiveblocksAuthRouterOptions, type WidgetUser } from '../lib';
import { startFakeLiveblocks, type FakeLiveblocks } from '../lib/testing';
import { EXPRESS_MAJOR, USERS, buildApp, captureLogger, expectNoSecrets, testResolveUser } from './helpers/app';
import { configProblems } from './helpers/presets';

const SECRET = `sk_prod_${randomBytes(24).toString('base64url')}`;
const PATH = '/api/liveblocks-auth';

/** ada may write in her own rooms and read the team's; bob may only read the team's. */
const permissions = (user: WidgetUser, room: string): string[] | null => {
  if (room.startsWith(`${user.id}:`)) return ['room:write'];
  if (room.startsWith('team:')) return ['room:read', 'room:presence:write'];
  return null;
};

describe(`Liveblocks (Express ${EXPRESS_MAJOR})`, () => {
  let fake: FakeLiveblocks;
  const logger = captureLogger();

  beforeAll(async () => {
    fake = await startFakeLiveblocks({ secret: SECRET });
  });
  afterAll(async () => {
    await fake.close();
    expectNoSecrets(logger.text(), [SECRET]);
  });
  beforeEach(() => {
    fake.requests.length = 0;
    fake.issued.length = 0;
    fake.clearFaults();
  });

  const router = (extra: Partial<LiveblocksAuthRouterOptions> = {}) =>
    liveblocksAuthRouter({ secretKey: SECRET, apiBaseUrl: fake.url, resolveUser: testResolveUser, permissions, logger, retries: 0, timeoutMs: 2000, ...extra });
  const post = (app: ReturnType<typeof buildApp>, body: unknown, who: string | null = 'ada') => {
    const req = request(app).post(PATH);
    if (who !== null) req.set('x-test-user', who);
    return req.send(body as object);
  };

  it('asks /v2/authorize-user with the bearer key, the user from resolveUser and the permissions for the room, and answers { token }', async () => {
    const app = buildApp(router({ userInfo: (user) => ({ name: user.name ?? null }) }));
    const res = await post(app, { room: 'user-ada:doc-1' });
    expect(res.status).toBe(200);
    expect(Object.keys(res.body)).toEqual(['token']);
    expect(fake.requests).toHaveLength(1);
    const sent = fake.requests[0]!;
    expect([sent.method, sent.path, sent.headers['authorization'], sent.headers['content-type']]).toEqual(['POST', '/v2/authorize-user', `Bearer ${SECRET}`, 'application/json']);
    expect(sent.json).toEqual({ userId: 'user-ada', permissions: { 'user-ada:doc-1': ['room:write'] }, userInfo: { name: 'Ada Lovelace' } });
    // the token is the one Liveblocks issued, relayed as it is
    expect(res.body.token).toBe(fake.issued[0]!.token);
    expect(fake.verify(res.body.token)).toMatchObject({ k: 'acc', uid: 'user-ada', perms: { 'user-ada:doc-1': ['room:write'] }, ui: { name: 'Ada Lovelace' } });
    expect(res.headers['cache-control']).toMatch(/no-store/);

    const team = await post(app, { room: 'team:general' }, 'bob');
    expect(team.status).toBe(200);
    expect(fake.verify(team.body.token)).toMatchObject({ uid: USERS['bob']!.id, perms: { 'team:general': ['room:read', 'room:presence:write'] } });
  });

  it('takes the identity from resolveUser only: userId, userInfo and permissions in the body never reach Liveblocks', async () => {
    const res = await post(buildApp(router()), { room: 'team:general', userId: 'evil', userInfo: { name: 'evil' }, permissions: { '*': ['*:write'] }, groupIds: ['admins'] }, 'bob');
    expect(res.status).toBe(200);
    expect(fake.requests[0]!.json).toEqual({ userId: USERS['bob']!.id, permissions: { 'team:general': ['room:read', 'room:presence:write'] } });
    expect(fake.requests[0]!.body).not.toContain('evil');
  });

  it('asks permissions with the signed-in user and the room, and answers 403 FORBIDDEN without calling Liveblocks for null or []', async () => {
    const asked: [string, string][] = [];
    const app = buildApp(router({ permissions: (user, room) => (asked.push([user.id, room]), room === 'empty' ? [] : permissions(user, room)) }));
    for (const [who, room] of [
      ['bob', 'user-ada:doc-1'],
      ['ada', 'other'],
      ['ada', 'empty'],
    ] as const) {
      const res = await post(app, { room }, who);
      expect(res.status).toBe(403);
      expect(res.body).toEqual({ error: { code: 'FORBIDDEN', message: 'You may not enter this room.' } });
    }
    expect(asked).toEqual([
      [USERS['bob']!.id, 'user-ada:doc-1'],
      ['user-ada', 'other'],
      ['user-ada', 'empty'],
    ]);
    expect(fake.requests).toHaveLength(0);
    // the hook's own refusal is answered as it is
    const refuse = () => {
      throw new WidgetAuthError('FORBIDDEN', 'Ask the owner of this room for access.');
    };
    const own = await post(buildApp(router({ permissions: refuse })), { room: 'r' });
    expect(own.status).toBe(403);
    expect(own.body).toEqual({ error: { code: 'FORBIDDEN', message: 'Ask the owner of this room for access.' } });
    expect(fake.requests).toHaveLength(0);
    // an async hook
    const later = await post(buildApp(router({ permissions: async () => ['room:read'] })), { room: 'r' });
    expect(later.status).toBe(200);
    expect(fake.requests[0]!.json).toMatchObject({ permissions: { r: ['room:read'] } });
  });

  it('answers 500 INTERNAL_ERROR, without calling Liveblocks, when permissions throws or answers something else than a scope list', async () => {
    const answers: LiveblocksAuthRouterOptions['permissions'][] = [
      () => 'room:write' as never,
      () => undefined as never,
      () => ['room write'],
      () => [1 as never],
      // a hole is no scope (it is skipped by every() and would be dropped by filter())
      // eslint-disable-next-line no-sparse-arrays
      () => ['room:write', , 'room:read'] as never,
      () => Promise.reject(new Error('db down')),
      () => {
        throw new Error('db down');
      },
    ];
    for (const answer of answers) {
      const res = await post(buildApp(router({ permissions: answer, report: false })), { room: 'user-ada:doc-1' });
      expect(res.status).toBe(500);
      expect(res.body.error.code).toBe('INTERNAL_ERROR');
      expect(res.body.token).toBeUndefined();
    }
    expect(fake.requests).toHaveLength(0);
  });

  it('names permissions(user, room) in the log when it throws, rejects, or gives a then that cannot be read; a refusal it rejects with is answered as it is', async () => {
    const hostileThen = {
      get then(): never {
        throw new Error('then unreadable');
      },
    };
    const failing: [string, LiveblocksAuthRouterOptions['permissions']][] = [
      ['throws', () => {
        throw new Error('db down');
      }],
      ['rejects', () => Promise.reject(new Error('db down'))],
      ['a then that throws', () => hostileThen as never],
    ];
    for (const [what, permissions] of failing) {
      // the router's report of the failure (its line on stderr without a logger, the event's hint with one) says whose it is
      const own = captureLogger();
      const res = await post(buildApp(router({ permissions, logger: own })), { room: 'user-ada:doc-1' });
      const reported = own.events.map((e) => (e.obj as { hint?: unknown }).hint).filter((m) => typeof m === 'string');
      expect([what, res.status, reported]).toEqual([what, 500, [expect.stringMatching(/^permissions\(user, room\) of liveblocksAuthRouter threw \(Error: /)]]);
    }
    const refused = await post(buildApp(router({ permissions: () => Promise.reject(new WidgetAuthError('FORBIDDEN', 'Not your room.')), report: false })), { room: 'user-ada:doc-1' });
    expect([refused.status, refused.body.error.code]).toEqual([403, 'FORBIDDEN']);
    expect(fake.requests).toHaveLength(0);
  });

  it.each([
    ['no room', {}, 'Request body must have a room.'],
    ['a room that is not a string', { room: 42 }, 'Request body has a malformed room: a room id of 1 to 128 characters without "*".'],
    ['an empty room', { room: '' }, 'Request body has a malformed room: a room id of 1 to 128 characters without "*".'],
    ['a room pattern (it would grant every room it matches)', { room: 'user-ada:*' }, 'Request body has a malformed room: a room id of 1 to 128 characters without "*".'],
    ['the pattern of every room', { room: '*' }, 'Request body has a malformed room: a room id of 1 to 128 characters without "*".'],
    ['a room of 129 characters', { room: 'r'.repeat(129) }, 'Request body has a malformed room: a room id of 1 to 128 characters without "*".'],
  ])('answers 400 INVALID_REQUEST for %s, before asking permissions or Liveblocks', async (_case, body, message) => {
    let asked = false;
    const res = await post(buildApp(router({ permissions: () => ((asked = true), ['room:write']) })), body);
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: { code: 'INVALID_REQUEST', message } });
    expect(asked).toBe(false);
    expect(fake.requests).toHaveLength(0);
  });

  it('takes a room id of 128 characters, the longest Liveblocks accepts', async () => {
    const room = `user-ada:${'r'.repeat(119)}`;
    const res = await post(buildApp(router()), { room });
    expect(res.status).toBe(200);
    expect(fake.verify(res.body.token).perms).toEqual({ [room]: ['room:write'] });
  });

  it("asks /v2/identify-user in 'id' mode, with the groups and organization of the hooks, the room not needed", async () => {
    const app = buildApp(router({ mode: 'id', permissions: undefined, groupIds: (user) => (user.id === 'user-ada' ? ['team-x'] : undefined), organizationId: () => 'org-1' }));
    for (const body of [{ room: 'anything' }, {}]) {
      const res = await post(app, body);
      expect(res.status).toBe(200);
      expect(fake.verify(res.body.token)).toMatchObject({ k: 'id', uid: 'user-ada', gids: ['team-x'] });
    }
    expect(fake.requests.map((r) => [r.path, r.json])).toEqual([
      ['/v2/identify-user', { userId: 'user-ada', groupIds: ['team-x'], organizationId: 'org-1' }],
      ['/v2/identify-user', { userId: 'user-ada', groupIds: ['team-x'], organizationId: 'org-1' }],
    ]);
    const bob = await post(app, { room: 'x', userId: 'evil', groupIds: ['admins'] }, 'bob');
    expect(bob.status).toBe(200);
    expect(fake.requests.at(-1)!.json).toEqual({ userId: USERS['bob']!.id, organizationId: 'org-1' });
    const malformed = await post(app, { room: 'a*' });
    expect(malformed.status).toBe(400);
  });

  it('answers 401 when nobody is signed in and 405 with Allow: POST to GET, without calling Liveblocks', async () => {
    const app = buildApp(router());
    const nobody = await post(app, { room: 'team:general' }, null);
    expect(nobody.status).toBe(401);
    expect(nobody.body.error.code).toBe('UNAUTHORIZED');
    const get = await request(app).get(PATH).set('x-test-user', 'ada');
    expect(get.status).toBe(405);
    expect(get.headers['allow']).toBe('POST');
    expect(fake.requests).toHaveLength(0);
  });

  it('refuses a cross-site request carrying the visitor’s cookies (403 FORBIDDEN_ORIGIN)', async () => {
    const res = await request(buildApp(router()))
      .post(PATH)
      .set('x-test-user', 'ada')
      .set('Origin', 'https://evil.example.net')
      .set('Sec-Fetch-Site', 'cross-site')
      .send({ room: 'user-ada:doc-1' });
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('FORBIDDEN_ORIGIN');
    expect(fake.requests).toHaveLength(0);
  });

  it('answers 502 UPSTREAM_REJECTED, never 401, when Liveblocks refuses the secret key', async () => {
    const other = `sk_prod_${randomBytes(24).toString('base64url')}`;
    const res = await post(buildApp(router({ secretKey: other })), { room: 'user-ada:doc-1' });
    expect(res.status).toBe(502);
    expect(res.body.error.code).toBe('UPSTREAM_REJECTED');
    expect(fake.requests[0]!.headers['authorization']).toBe(`Bearer ${other}`);
    expectNoSecrets(res.text, [other, SECRET]);
    // a scope Liveblocks does not know: its 422 is this server's mistake too
    const unknown = await post(buildApp(router({ permissions: () => ['room:admin'] })), { room: 'user-ada:doc-1' });
    expect(unknown.status).toBe(502);
    expect(unknown.body.error.code).toBe('UPSTREAM_REJECTED');
  });

  it('answers 504 UPSTREAM_TIMEOUT when Liveblocks does not answer in time', async () => {
    fake.fault({ kind: 'latency', ms: 1000 });
    const res = await post(buildApp(router({ timeoutMs: 150 })), { room: 'user-ada:doc-1' });
    expect(res.status).toBe(504);
    expect(res.body.error.code).toBe('UPSTREAM_TIMEOUT');
  });

  it('answers 502/503 UPSTREAM_UNAVAILABLE when Liveblocks fails, after one retry, and 502 UPSTREAM_INVALID_RESPONSE for an answer without a token', async () => {
    fake.fault({ kind: 'status', status: 503, body: { error: 'Service Unavailable' } });
    const down = await post(buildApp(router({ retries: 1 })), { room: 'user-ada:doc-1' });
    expect([502, 503]).toContain(down.status);
    expect(down.body.error.code).toBe('UPSTREAM_UNAVAILABLE');
    expect(fake.requests).toHaveLength(2);
    fake.clearFaults();

    fake.fault({ kind: 'status', status: 429, body: { error: 'Too Many Requests' } });
    const limited = await post(buildApp(router()), { room: 'user-ada:doc-1' });
    expect(limited.body.error.code).toBe('UPSTREAM_UNAVAILABLE');
    fake.clearFaults();

    fake.fault({ kind: 'reset' });
    const reset = await post(buildApp(router()), { room: 'user-ada:doc-1' });
    expect([502, 503]).toContain(reset.status);
    expect(reset.body.error.code).toBe('UPSTREAM_UNAVAILABLE');
    fake.clearFaults();

    for (const fault of [{ kind: 'malformed' }, { kind: 'wrong-shape' }, { kind: 'status', status: 200, body: { token: 'not a jwt' } }] as const) {
      fake.fault(fault);
      const res = await post(buildApp(router()), { room: 'user-ada:doc-1' });
      expect(res.status).toBe(502);
      expect(res.body.error.code).toBe('UPSTREAM_INVALID_RESPONSE');
      fake.clearFaults();
    }
  });

  /** A token as the local dev server writes them (unsigned), with the claims given as JSON text. */
  const unsigned = (claims: string) => `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${Buffer.from(claims).toString('base64url')}.`;
  /** Liveblocks answers every call with this token, until told otherwise. */
  const answerToken = (token: string) => {
    fake.clearFaults();
    fake.fault({ kind: 'status', status: 200, body: { token } });
  };
  const adaAccess = { k: 'acc', pid: 'p', uid: 'user-ada', perms: { 'user-ada:doc-1': ['room:write'] } };

  it('passes on a token with the claims it asked for, and refuses one for another user, kind, room, scope or group, or naming a member twice (502 UPSTREAM_INVALID_RESPONSE)', async () => {
    const app = buildApp(router());
    answerToken(unsigned(JSON.stringify(adaAccess)));
    const own = await post(app, { room: 'user-ada:doc-1' });
    expect([own.status, own.body.token]).toEqual([200, unsigned(JSON.stringify(adaAccess))]);
    // fewer scopes than asked for is Liveblocks' choice to make
    answerToken(unsigned(JSON.stringify({ ...adaAccess, perms: { 'user-ada:doc-1': [] } })));
    expect((await post(app, { room: 'user-ada:doc-1' })).status).toBe(200);

    const hostile: [string, string][] = [
      ['another user', JSON.stringify({ ...adaAccess, uid: 'user-bob' })],
      ['no user', JSON.stringify({ ...adaAccess, uid: undefined })],
      ['an ID token', JSON.stringify({ k: 'id', pid: 'p', uid: 'user-ada' })],
      ['every room', JSON.stringify({ ...adaAccess, perms: { '*': ['room:write'] } })],
      ['a pattern', JSON.stringify({ ...adaAccess, perms: { 'user-ada:*': ['room:write'] } })],
      ['a second room', JSON.stringify({ ...adaAccess, perms: { 'user-ada:doc-1': ['room:write'], 'team:general': ['room:write'] } })],
      ['another room', JSON.stringify({ ...adaAccess, perms: { 'user-ada:doc-2': ['room:write'] } })],
      ['a scope not asked for', JSON.stringify({ ...adaAccess, perms: { 'user-ada:doc-1': ['room:write', 'comments:write'] } })],
      ['scopes that are not a list', JSON.stringify({ ...adaAccess, perms: { 'user-ada:doc-1': 'room:write' } })],
      ['no permissions', JSON.stringify({ ...adaAccess, perms: undefined })],
      // JSON.parse keeps the last uid; a reader that keeps the first sees bob
      ['uid named twice', '{"k":"acc","uid":"user-bob","uid":"user-ada","perms":{"user-ada:doc-1":["room:write"]}}'],
      ['claims that are not an object', '["user-ada"]'],
    ];
    // the log says why each was refused, in the router's own words, never quoting the token
    const why: Record<string, string> = {
      'another user': 'a token of another kind or user',
      'no user': 'a token of another kind or user',
      'an ID token': 'a token of another kind or user',
      'every room': 'an access token for other rooms or scopes',
      'a pattern': 'an access token for other rooms or scopes',
      'a second room': 'an access token for other rooms or scopes',
      'another room': 'an access token for other rooms or scopes',
      'a scope not asked for': 'an access token for other rooms or scopes',
      'scopes that are not a list': 'an access token for other rooms or scopes',
      'no permissions': 'an access token for other rooms or scopes',
      'uid named twice': 'a token of another kind or user',
      'claims that are not an object': 'a token of another kind or user',
    };
    for (const [what, claims] of hostile) {
      answerToken(unsigned(claims));
      logger.events.length = 0;
      const res = await post(app, { room: 'user-ada:doc-1' });
      expect([what, res.status, res.body.error?.code]).toEqual([what, 502, 'UPSTREAM_INVALID_RESPONSE']);
      expect(res.text).not.toContain(unsigned(claims));
      const logged = logger.events.map((e) => (e.obj as { err?: { message?: string } }).err?.message).filter((m) => m !== undefined);
      expect([what, logged]).toEqual([what, [`liveblocks answered 200 with ${why[what]}.`]]);
    }

    // groups decide what an ID token may do: a token from before ada lost a group is refused
    const ids = buildApp(router({ mode: 'id', permissions: undefined, groupIds: (user) => (user.id === 'user-ada' ? ['team-a'] : undefined) }));
    for (const claims of [{ k: 'id', pid: 'p', uid: 'user-ada' }, { k: 'id', pid: 'p', uid: 'user-ada', gids: ['team-a'] }, { k: 'id', pid: 'p', uid: 'user-ada', gids: [] }]) {
      answerToken(unsigned(JSON.stringify(claims)));
      expect([claims, (await post(ids, {})).status]).toEqual([claims, 200]);
    }
    for (const claims of [
      adaAccess,
      { k: 'id', pid: 'p', uid: 'user-ada', perms: { '*': ['room:write'] } },
      { k: 'id', pid: 'p', uid: 'user-bob' },
      { k: 'id', pid: 'p', uid: 'user-ada', gids: ['team-a', 'admins'] },
      { k: 'id', pid: 'p', uid: 'user-ada', gids: 'team-a' },
    ]) {
      answerToken(unsigned(JSON.stringify(claims)));
      const res = await post(ids, {});
      expect([claims, res.status]).toEqual([claims, 502]);
    }
  });

  it('never sends an answer holding the secret key (502 UPSTREAM_INVALID_RESPONSE)', async () => {
    // claims the router would otherwise pass on
    fake.fault({ kind: 'status', status: 200, body: { token: unsigned(JSON.stringify({ ...adaAccess, note: SECRET })) } });
    const res = await post(buildApp(router()), { room: 'user-ada:doc-1' });
    expect(res.status).toBe(502);
    expect(res.body.error.code).toBe('UPSTREAM_INVALID_RESPONSE');
  });

  it('answers 500 INTERNAL_ERROR when userInfo, groupIds or organizationId answer something Liveblocks cannot take', async () => {
    const fails = () => {
      throw new Error('db down');
    };
    const bad: Partial<LiveblocksAuthRouterOptions>[] = [
      { userInfo: () => ['x'] as never },
      { userInfo: () => ({ n: 1n }) as never },
      { userInfo: fails },
      { mode: 'id', permissions: undefined, groupIds: () => 'team' as never },
      { mode: 'id', permissions: undefined, groupIds: () => [''] },
      { organizationId: () => 42 as never },
    ];
    for (const extra of bad) {
      const res = await post(buildApp(router({ ...extra, report: false })), { room: 'user-ada:doc-1' });
      expect(res.status).toBe(500);
      expect(res.body.error.code).toBe('INTERNAL_ERROR');
    }
    expect(fake.requests).toHaveLength(0);
  });

  it('logs one event per request with neither the secret key nor the token', async () => {
    const events = captureLogger();
    const app = buildApp(router({ logger: events }));
    const ok = await post(app, { room: 'user-ada:doc-1' });
    await post(app, { room: 'nope' });
    expect(events.events).toHaveLength(2);
    expectNoSecrets(events.text(), [SECRET]);
    expect(events.text()).not.toContain(ok.body.token);
  });

  it('refuses at start-up a missing permissions hook, options of the other mode, a bad URL and a placeholder or public key, never quoting a value', () => {
    const base = { secretKey: SECRET, resolveUser: testResolveUser, permissions };
    expect(configProblems(() => liveblocksAuthRouter({ ...base, permissions: undefined }))).toEqual([
      "permissions: is required in 'access' mode: a function (user, room) => permission list (e.g. ['room:write']) or null to refuse (there is no default that lets everyone in)",
    ]);
    expect(configProblems(() => liveblocksAuthRouter({ ...base, mode: 'id' }))).toEqual(["permissions: is for 'access' mode: ID tokens carry no permissions (set them on the rooms through Liveblocks' API)"]);
    expect(configProblems(() => liveblocksAuthRouter({ ...base, groupIds: () => ['g'] }))).toEqual(["groupIds: is for 'id' mode: access tokens carry no groups"]);
    expect(configProblems(() => liveblocksAuthRouter({ ...base, mode: 'room' as never }))).toEqual(["mode: must be 'access' or 'id'"]);
    expect(configProblems(() => liveblocksAuthRouter({ ...base, apiBaseUrl: 'http://api.liveblocks.io' }))).toEqual([
      'apiBaseUrl: must use https: (plain http: is allowed only for localhost, 127.0.0.0/8 and [::1])',
    ]);
    expect(configProblems(() => liveblocksAuthRouter({ ...base, apiBaseUrl: 'https://api.liveblocks.io/v2' }))[0]).toMatch(/^apiBaseUrl: must be the API origin without the vendor's route/);
    expect(configProblems(() => liveblocksAuthRouter({ ...base, secretKey: undefined as never }))).toEqual(['secretKey: is required']);
    const publicKey = `pk_prod_${randomBytes(24).toString('base64url')}`;
    for (const bad of ['changeme', 'sk_prod_...', 'sk_aaaaaaaaaaaaaaaaaaaaaaaa', 'sk_test_secret_key_example', publicKey]) {
      const problems = configProblems(() => liveblocksAuthRouter({ ...base, secretKey: bad }));
      expect(problems.length).toBeGreaterThan(0);
      expect(problems.every((p) => p.startsWith('secretKey: '))).toBe(true);
      expect(problems.join('\n')).not.toContain(bad);
    }
    expect(configProblems(() => liveblocksAuthRouter({ ...base, secretKey: 'sk_localdev' }))[0]).toMatch(/^secretKey: looks like a placeholder or has too little variety/);
    expect(() => liveblocksAuthRouter({ ...base, secretKey: 'sk_localdev', allowWeakSecrets: true })).not.toThrow();
    expect(configProblems(() => liveblocksAuthRouter({ ...base, permision: permissions } as never))[0]).toMatch(/^permision: /);
    expect(() => (liveblocksAuthRouter as (o: unknown) => unknown)(liveblocksAuthRouter)).toThrow(/did you write `app.use\(liveblocksAuthRouter\)`/);
    expect(() => (liveblocksAuthRouter as (o: unknown) => unknown)(() => undefined)).toThrow(/resolveUser goes inside the options: liveblocksAuthRouter\(\{ …, resolveUser \}\)/);
  });

  it('serves its route at the path given', async () => {
    const moved = buildApp(router({ path: '/rt/liveblocks' }));
    expect((await request(moved).post('/rt/liveblocks').set('x-test-user', 'ada').send({ room: 'user-ada:x' })).status).toBe(200);
    expect((await request(moved).post(PATH).set('x-test-user', 'ada').send({ room: 'user-ada:x' })).status).toBe(404);
  });

  it('reads LIVEBLOCKS_SECRET_KEY and LIVEBLOCKS_API_URL, naming each problem', () => {
    expect(LIVEBLOCKS_ENV.map((v) => v.name)).toEqual(['LIVEBLOCKS_SECRET_KEY', 'LIVEBLOCKS_API_URL']);
    expect(liveblocksConfigFromEnv({ LIVEBLOCKS_SECRET_KEY: SECRET })).toEqual({ secretKey: SECRET });
    expect(liveblocksConfigFromEnv({ LIVEBLOCKS_SECRET_KEY: SECRET, LIVEBLOCKS_API_URL: 'http://127.0.0.1:1153/' })).toEqual({ secretKey: SECRET, apiBaseUrl: 'http://127.0.0.1:1153' });
    expect(configProblems(() => liveblocksConfigFromEnv({}))).toEqual(['LIVEBLOCKS_SECRET_KEY: is not set']);
    expect(configProblems(() => liveblocksConfigFromEnv({ LIVEBLOCKS_SECRET_KEY: `pk_${randomBytes(16).toString('hex')}` }))).toEqual([
      'LIVEBLOCKS_SECRET_KEY: must be the secret key Liveblocks issued: "sk_" then letters, digits, "_" and "-" (a public key "pk_…" belongs in the browser, not here)',
    ]);
    expect(configProblems(() => liveblocksConfigFromEnv({ LIVEBLOCKS_SECRET_KEY: SECRET, LIVEBLOCKS_API_URL: 'ftp://x' }))).toEqual(['LIVEBLOCKS_API_URL: must use https:']);
    expect(configProblems(() => liveblocksConfigFromEnv({ LIVEBLOCKS_SECRET_KEY: 'sk_localdev' }))[0]).toMatch(/^LIVEBLOCKS_SECRET_KEY: looks like a placeholder/);
    expect(liveblocksConfigFromEnv({ LIVEBLOCKS_SECRET_KEY: 'sk_localdev' }, { allowWeakSecrets: true })).toEqual({ secretKey: 'sk_localdev', allowWeakSecrets: true });
  });

  it('is mounted by widgetAuth from its environment with the permissions hook it is given, and refused without one', async () => {
    const env = { LIVEBLOCKS_SECRET_KEY: SECRET, LIVEBLOCKS_API_URL: fake.url };
    const mounted = widgetAuth({ resolveUser: testResolveUser, env, vendors: { liveblocks: { permissions, retries: 0 } } });
    expect(mounted.routes).toEqual([{ vendor: 'liveblocks', path: PATH, methods: ['POST'] }]);
    const res = await request(buildApp(mounted)).post(PATH).set('x-test-user', 'ada').send({ room: 'user-ada:doc-1' });
    expect(res.status).toBe(200);
    expect(fake.verify(res.body.token)).toMatchObject({ uid: 'user-ada', perms: { 'user-ada:doc-1': ['room:write'] } });
    expect(() => widgetAuth({ resolveUser: testResolveUser, env })).toThrow(/permissions: is required .*; give it in widgetAuth\(\{ vendors: \{ liveblocks: \{ permissions \} \} \}\)$/m);
  });
});
