import { randomBytes } from 'node:crypto';
import express from 'express';
import Pusher from 'pusher';
import request from 'supertest';
import { PUSHER_ENV, pusherAuthRouter, pusherConfigFromEnv, widgetAuth, type PusherAuthRouterOptions, type WidgetUser } from '../lib';
import { EXPRESS_MAJOR, USERS, buildApp, captureLogger, expectNoSecrets, testResolveUser } from './helpers/app';
import { configProblems } from './helpers/presets';

// the example of the `pusher` package's README: app key, secret, socket and channel
const APP_ID = '123456';
const KEY = '278d425bdf160c739803';
const SECRET = '7ad3773142a6692b25b8';
const MASTER_KEY = randomBytes(32).toString('base64');
const SECRETS = [SECRET, MASTER_KEY];
const FORM = 'application/x-www-form-urlencoded';

/** The vendor's own SDK, configured as the router is: the reference every answer must equal. */
const sdk = new Pusher({ appId: APP_ID, key: KEY, secret: SECRET, encryptionMasterKeyBase64: MASTER_KEY, cluster: 'mt1' });

const userInfo = (user: WidgetUser) => ({ name: user.name ?? null });
/** ada may join her own channels and the team's; bob only the team's. */
const canJoin = (user: WidgetUser, channel: string) => channel.endsWith('-team') || channel.endsWith(`-${user.id}`);

function router(extra: Partial<PusherAuthRouterOptions> = {}) {
  return pusherAuthRouter({ appId: APP_ID, key: KEY, secret: SECRET, encryptionMasterKeyBase64: MASTER_KEY, resolveUser: testResolveUser, canJoin, userInfo, ...extra });
}

const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();

describe(`Pusher (Express ${EXPRESS_MAJOR})`, () => {
  const app = buildApp(router());

  it("answers the README example exactly as the vendor's SDK and its published value", async () => {
    const plain = buildApp(router({ encryptionMasterKeyBase64: undefined, userInfo: undefined, canJoin: () => true }));
    const res = await request(plain).post('/api/pusher/auth').set('x-test-user', 'ada').type('form').send(form({ socket_id: '1234.1234', channel_name: 'private-foobar' }));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ auth: '278d425bdf160c739803:58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4' });
    expect(res.body).toEqual(new Pusher({ appId: APP_ID, key: KEY, secret: SECRET, cluster: 'mt1' }).authorizeChannel('1234.1234', 'private-foobar'));
  });

  it.each([
    ['private', 'private-team'],
    ['presence', 'presence-team'],
    ['encrypted', 'private-encrypted-team'],
  ])('authorizes a %s channel as pusher.authorizeChannel does, from a form body and from JSON', async (_kind, channel) => {
    for (const who of ['ada', 'bob'] as const) {
      const user = USERS[who]!;
      const expected = sdk.authorizeChannel('98765.4321', channel, channel.startsWith('presence-') ? { user_id: user.id, user_info: { name: user.name } } : undefined);
      const byForm = await request(app).post('/api/pusher/auth').set('x-test-user', who).set('content-type', FORM).send(form({ socket_id: '98765.4321', channel_name: channel }));
      const byJson = await request(app).post('/api/pusher/auth').set('x-test-user', who).send({ socket_id: '98765.4321', channel_name: channel });
      for (const res of [byForm, byJson]) {
        expect(res.status).toBe(200);
        expect(res.body).toEqual(expected);
      }
    }
  });

  it('authenticates the user as pusher.authenticateUser does', async () => {
    for (const who of ['ada', 'bob'] as const) {
      const user = USERS[who]!;
      const res = await request(app).post('/api/pusher/user-auth').set('x-test-user', who).type('form').send(form({ socket_id: '1.2' }));
      expect(res.status).toBe(200);
      expect(res.body).toEqual(sdk.authenticateUser('1.2', { id: user.id, user_info: { name: user.name } }));
      expect(JSON.parse(res.body.user_data).id).toBe(user.id);
    }
    const bare = buildApp(router({ userInfo: undefined }));
    const res = await request(bare).post('/api/pusher/user-auth').set('x-test-user', 'ada').type('form').send(form({ socket_id: '1.2' }));
    expect(res.body).toEqual(sdk.authenticateUser('1.2', { id: 'user-ada' }));
  });

  it('takes the identity from resolveUser only: ids in the body never reach channel_data or user_data', async () => {
    const fields = { socket_id: '1.2', channel_name: 'presence-team', user_id: 'evil', id: 'evil', channel_data: '{"user_id":"evil"}', user_data: '{"id":"evil"}' };
    const presence = await request(app).post('/api/pusher/auth').set('x-test-user', 'bob').type('form').send(form(fields));
    const signin = await request(app).post('/api/pusher/user-auth').set('x-test-user', 'bob').type('form').send(form(fields));
    for (const res of [presence, signin]) {
      expect(res.status).toBe(200);
      expect(res.text).not.toContain('evil');
    }
    expect(JSON.parse(presence.body.channel_data).user_id).toBe(USERS['bob']!.id);
  });

  it('asks canJoin with the signed-in user and the channel, and answers 403 FORBIDDEN for a refused channel', async () => {
    const asked: [string, string][] = [];
    const watched = buildApp(router({ canJoin: (user, channel) => (asked.push([user.id, channel]), canJoin(user, channel)) }));
    const own = await request(watched).post('/api/pusher/auth').set('x-test-user', 'ada').type('form').send(form({ socket_id: '1.2', channel_name: 'private-user-ada' }));
    expect(own.status).toBe(200);
    for (const [who, channel] of [
      ['bob', 'private-user-ada'],
      ['bob', 'presence-user-ada'],
      ['ada', 'private-encrypted-admins'],
    ] as const) {
      const res = await request(watched).post('/api/pusher/auth').set('x-test-user', who).type('form').send(form({ socket_id: '1.2', channel_name: channel }));
      expect(res.status).toBe(403);
      expect(res.body).toEqual({ error: { code: 'FORBIDDEN', message: 'You may not join this channel.' } });
    }
    expect(asked).toEqual([
      ['user-ada', 'private-user-ada'],
      [USERS['bob']!.id, 'private-user-ada'],
      [USERS['bob']!.id, 'presence-user-ada'],
      ['user-ada', 'private-encrypted-admins'],
    ]);
  });

  it('lets nobody in when canJoin answers anything but true or false, throws or rejects (500 INTERNAL_ERROR)', async () => {
    for (const answer of [() => 'yes', () => 1, () => undefined, () => Promise.resolve(null), () => Promise.reject(new Error('db down')), () => {
      throw new Error('db down');
    }]) {
      const res = await request(buildApp(router({ canJoin: answer as never, report: false }))).post('/api/pusher/auth').set('x-test-user', 'ada').type('form').send(form({ socket_id: '1.2', channel_name: 'private-team' }));
      expect(res.status).toBe(500);
      expect(res.body.error.code).toBe('INTERNAL_ERROR');
      expect(res.body.auth).toBeUndefined();
    }
    const async = await request(buildApp(router({ canJoin: async () => true }))).post('/api/pusher/auth').set('x-test-user', 'ada').type('form').send(form({ socket_id: '1.2', channel_name: 'private-x' }));
    expect(async.status).toBe(200);
  });

  it.each([
    ['no socket_id', { channel_name: 'private-team' }, 'Request body must have a socket_id.'],
    ['no channel_name', { socket_id: '1.2' }, 'Request body must have a channel_name.'],
    // a socket id carrying ':' would make the signed text of one channel read as another's
    ['a socket_id with a colon', { socket_id: '1.2:private-user-ada', channel_name: 'private-team' }, 'Request body has a malformed socket_id.'],
    ['a socket_id that is not two numbers', { socket_id: '12', channel_name: 'private-team' }, 'Request body has a malformed socket_id.'],
    ['a channel name with a colon', { socket_id: '1.2', channel_name: 'private-team:x' }, 'Request body has a malformed channel_name.'],
    ['a channel name of 201 characters', { socket_id: '1.2', channel_name: `private-${'a'.repeat(193)}` }, 'Request body has a malformed channel_name.'],
    ['a public channel', { socket_id: '1.2', channel_name: 'team' }, 'Only private-, presence- and private-encrypted- channels need authorization.'],
  ])('answers 400 INVALID_REQUEST for %s, before asking canJoin', async (_case, fields, message) => {
    let asked = false;
    const res = await request(buildApp(router({ canJoin: () => (asked = true) }))).post('/api/pusher/auth').set('x-test-user', 'ada').type('form').send(form(fields));
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: { code: 'INVALID_REQUEST', message } });
    expect(asked).toBe(false);
  });

  it('takes a 200-character channel name, the longest Pusher accepts', async () => {
    const channel = `private-${'a'.repeat(192)}`;
    const res = await request(buildApp(router({ canJoin: () => true }))).post('/api/pusher/auth').set('x-test-user', 'ada').type('form').send(form({ socket_id: '1.2', channel_name: channel }));
    expect(res.status).toBe(200);
    expect(res.body).toEqual(sdk.authorizeChannel('1.2', channel));
  });

  it('refuses a form that names a field twice (two parsers could read two different channels)', async () => {
    const res = await request(app).post('/api/pusher/auth').set('x-test-user', 'ada').type('form').send('socket_id=1.2&channel_name=private-team&channel_name=private-user-bob');
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('INVALID_REQUEST');
    expect(res.body.auth).toBeUndefined();
  });

  it('refuses a JSON body that names a member twice: JSON.parse keeps the last, a first-wins filter in front reads the other', async () => {
    const seen: string[] = [];
    const guarded = buildApp(router({ canJoin: (_user, channel) => (seen.push(channel), channel === 'private-user-ada') }));
    for (const text of [
      '{"socket_id":"1.2","channel_name":"private-team","channel_name":"private-user-ada"}',
      // the same name written with an escape
      '{"socket_id":"1.2","channel_name":"private-team","channel_\\u006eame":"private-user-ada"}',
    ]) {
      const res = await request(guarded).post('/api/pusher/auth').set('x-test-user', 'ada').set('content-type', 'application/json').send(text);
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ error: { code: 'INVALID_REQUEST', message: 'Request body names a JSON member more than once in one object.' } });
    }
    expect(seen).toEqual([]);
    // the same members once each: let in
    const once = await request(guarded).post('/api/pusher/auth').set('x-test-user', 'ada').set('content-type', 'application/json').send('{"socket_id":"1.2","channel_name":"private-user-ada"}');
    expect(once.status).toBe(200);
    expect(once.body).toEqual(sdk.authorizeChannel('1.2', 'private-user-ada'));
  });

  it('refuses encrypted channels with 403 FORBIDDEN when no master key is configured', async () => {
    const res = await request(buildApp(router({ encryptionMasterKeyBase64: undefined, canJoin: () => true }))).post('/api/pusher/auth').set('x-test-user', 'ada').type('form').send(form({ socket_id: '1.2', channel_name: 'private-encrypted-team' }));
    expect(res.status).toBe(403);
    expect(res.body.error).toEqual({ code: 'FORBIDDEN', message: 'Encrypted channels are not enabled on this server (encryptionMasterKeyBase64).' });
  });

  it('answers 401 when nobody is signed in, 405 with Allow: POST to GET, 415 to other body types and charsets', async () => {
    for (const path of ['/api/pusher/auth', '/api/pusher/user-auth']) {
      const nobody = await request(app).post(path).type('form').send(form({ socket_id: '1.2', channel_name: 'private-team' }));
      expect(nobody.status).toBe(401);
      expect(nobody.body.error.code).toBe('UNAUTHORIZED');
      const get = await request(app).get(path).set('x-test-user', 'ada');
      expect(get.status).toBe(405);
      expect(get.headers['allow']).toBe('POST');
      const text = await request(app).post(path).set('x-test-user', 'ada').set('content-type', 'text/plain').send('socket_id=1.2');
      expect(text.status).toBe(415);
      expect(text.body.error.message).toBe('Request body must be application/json or application/x-www-form-urlencoded.');
      const latin = await request(app).post(path).set('x-test-user', 'ada').set('content-type', `${FORM}; charset=latin1`).send('socket_id=1.2');
      expect(latin.status).toBe(415);
      expect(latin.body.error.message).toBe('Request body must be UTF-8 form data (charset=utf-8, or no charset).');
    }
  });

  it('warns once, with the fix, that a form the host parsed (express.urlencoded() first) can no longer be refused for naming a field twice', async () => {
    const logger = captureLogger();
    const hostParsed = buildApp(router({ logger }), (host) => host.use(express.urlencoded({ extended: false })));
    const twice = 'socket_id=1.2&channel_name=private-team&channel_name=private-user-bob';
    const res = await request(hostParsed).post('/api/pusher/auth').set('x-test-user', 'ada').type('form').send(twice);
    expect([res.status, res.body.error?.message]).toEqual([400, 'Request body must have channel_name as one string, not a list (a form field named twice?).']);
    // a JSON list is refused with the same words, which claim no repeat
    const list = await request(app).post('/api/pusher/auth').set('x-test-user', 'ada').send({ socket_id: '1.2', channel_name: ['private-team'] });
    expect([list.status, list.body.error?.message]).toEqual([400, 'Request body must have channel_name as one string, not a list (a form field named twice?).']);
    // the router reading the form itself names the repeat
    const own = await request(app).post('/api/pusher/auth').set('x-test-user', 'ada').type('form').send(twice);
    expect(own.status).toBe(400);
    await request(hostParsed).post('/api/pusher/auth').set('x-test-user', 'ada').type('form').send(form({ socket_id: '1.2', channel_name: 'private-team' }));
    const warnings = logger.events.filter((e) => (e.obj as { code?: string }).code === 'BODY_PARSED_BEFORE_ROUTER');
    expect(warnings.map((w) => [w.level, (w.obj as { route?: string }).route])).toEqual([['warn', '/api/pusher/auth']]);
    expect((warnings[0]!.obj as { message: string }).message).toMatch(/^The app's own body parser \(express\.urlencoded\(\) or the like\) read this route's form before the router.*Mount the widget routers before/);
  });

  it("refuses a cross-site form post carrying the visitor's cookies (a form is a CORS simple request: no preflight stops it)", async () => {
    const res = await request(app)
      .post('/api/pusher/auth')
      .set('x-test-user', 'ada')
      .set('Origin', 'https://evil.example.net')
      .set('Sec-Fetch-Site', 'cross-site')
      .set('Sec-Fetch-Mode', 'navigate')
      .set('Sec-Fetch-Dest', 'document')
      .type('form')
      .send(form({ socket_id: '1.2', channel_name: 'private-user-ada' }));
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('FORBIDDEN_ORIGIN');
  });

  it('reads a form the host app has already parsed, and refuses a field the host parsed into an array', async () => {
    const parsed = buildApp(router(), (host) => host.use(express.urlencoded({ extended: true })));
    const ok = await request(parsed).post('/api/pusher/auth').set('x-test-user', 'ada').type('form').send(form({ socket_id: '1.2', channel_name: 'private-team' }));
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual(sdk.authorizeChannel('1.2', 'private-team'));
    const twice = await request(parsed).post('/api/pusher/auth').set('x-test-user', 'ada').type('form').send('socket_id=1.2&channel_name[]=private-team&channel_name[]=private-user-bob');
    expect(twice.status).toBe(400);
    expect(twice.body.error.code).toBe('INVALID_REQUEST');
  });

  it('logs one event per request with neither the secret nor the master key', async () => {
    const logger = captureLogger();
    const logged = buildApp(router({ logger }));
    await request(logged).post('/api/pusher/auth').set('x-test-user', 'ada').type('form').send(form({ socket_id: '1.2', channel_name: 'private-encrypted-team' }));
    await request(logged).post('/api/pusher/auth').set('x-test-user', 'bob').type('form').send(form({ socket_id: '1.2', channel_name: 'private-user-ada' }));
    expect(logger.events).toHaveLength(2);
    expectNoSecrets(logger.text(), SECRETS);
  });

  it('refuses at start-up a missing canJoin, swapped or malformed values and a bad master key, never quoting a value', () => {
    const base = { appId: APP_ID, key: KEY, secret: SECRET, resolveUser: testResolveUser, canJoin };
    expect(configProblems(() => pusherAuthRouter({ ...base, canJoin: undefined as never }))).toEqual([
      'canJoin: is required: a function (user, channel) => boolean deciding who may join which channel (there is no default that lets everyone in)',
    ]);
    expect(configProblems(() => pusherAuthRouter({ ...base, key: SECRET }))).toEqual(['key: is the same value as `secret`: `key` is the public app key, `secret` the app secret']);
    expect(configProblems(() => pusherAuthRouter({ ...base, appId: KEY }))).toEqual(['appId: must be the app id: digits']);
    const badKeys = [Buffer.alloc(16, 7).toString('base64'), 'not base64!', randomBytes(32).toString('hex')];
    for (const bad of badKeys) {
      const problems = configProblems(() => pusherAuthRouter({ ...base, encryptionMasterKeyBase64: bad }));
      expect(problems).toEqual(['encryptionMasterKeyBase64: must be base64 of exactly 32 bytes (e.g. `openssl rand -base64 32`)']);
    }
    expect(configProblems(() => pusherAuthRouter({ ...base, userAuthPath: '/api/pusher/auth' }))).toEqual(['userAuthPath: must differ from path']);
    for (const bad of ['changeme', 'your-pusher-secret', 'aaaaaaaaaaaaaaaaaaaa']) {
      const problems = configProblems(() => pusherAuthRouter({ ...base, secret: bad }));
      expect(problems.length).toBeGreaterThan(0);
      expect(problems.every((p) => p.startsWith('secret: '))).toBe(true);
      expect(problems.join('\n')).not.toContain(bad);
    }
    expect(() => (pusherAuthRouter as (o: unknown) => unknown)(pusherAuthRouter)).toThrow(/did you write `app.use\(pusherAuthRouter\)`/);
    expect(() => (pusherAuthRouter as (o: unknown) => unknown)(() => undefined)).toThrow(/resolveUser goes inside the options: pusherAuthRouter\(\{ …, resolveUser \}\)/);
  });

  it('serves its two routes at the paths given', async () => {
    const moved = buildApp(router({ path: '/rt/auth', userAuthPath: '/rt/signin' }));
    expect((await request(moved).post('/rt/auth').set('x-test-user', 'ada').type('form').send(form({ socket_id: '1.2', channel_name: 'private-team' }))).status).toBe(200);
    expect((await request(moved).post('/rt/signin').set('x-test-user', 'ada').type('form').send(form({ socket_id: '1.2' }))).status).toBe(200);
    expect((await request(moved).post('/api/pusher/auth').set('x-test-user', 'ada').type('form').send(form({ socket_id: '1.2', channel_name: 'private-team' }))).status).toBe(404);
  });

  it('reads PUSHER_APP_ID, PUSHER_KEY, PUSHER_SECRET and PUSHER_ENCRYPTION_MASTER_KEY, naming each problem', () => {
    expect(PUSHER_ENV.map((v) => v.name)).toEqual(['PUSHER_APP_ID', 'PUSHER_KEY', 'PUSHER_SECRET', 'PUSHER_ENCRYPTION_MASTER_KEY']);
    const env = { PUSHER_APP_ID: APP_ID, PUSHER_KEY: KEY, PUSHER_SECRET: SECRET, PUSHER_ENCRYPTION_MASTER_KEY: MASTER_KEY };
    expect(pusherConfigFromEnv(env)).toEqual({ appId: APP_ID, key: KEY, secret: SECRET, encryptionMasterKeyBase64: MASTER_KEY });
    expect(pusherConfigFromEnv({ ...env, PUSHER_ENCRYPTION_MASTER_KEY: '' })).toEqual({ appId: APP_ID, key: KEY, secret: SECRET });
    expect(configProblems(() => pusherConfigFromEnv({}))).toEqual(['PUSHER_APP_ID: is not set', 'PUSHER_KEY: is not set', 'PUSHER_SECRET: is not set']);
    const problems = configProblems(() => pusherConfigFromEnv({ ...env, PUSHER_APP_ID: 'app', PUSHER_ENCRYPTION_MASTER_KEY: 'short' }));
    expect(problems).toEqual(['PUSHER_APP_ID: must be the app id: digits', 'PUSHER_ENCRYPTION_MASTER_KEY: must be base64 of exactly 32 bytes (e.g. `openssl rand -base64 32`)']);
  });

  it('is mounted by widgetAuth from its environment with the canJoin it is given, and refused without one', async () => {
    const env = { PUSHER_APP_ID: APP_ID, PUSHER_KEY: KEY, PUSHER_SECRET: SECRET };
    const mounted = widgetAuth({ resolveUser: testResolveUser, env, vendors: { pusher: { canJoin } } });
    expect(mounted.routes).toEqual([
      { vendor: 'pusher', path: '/api/pusher/auth', methods: ['POST'] },
      { vendor: 'pusher', path: '/api/pusher/user-auth', methods: ['POST'] },
    ]);
    const res = await request(buildApp(mounted)).post('/api/pusher/auth').set('x-test-user', 'ada').type('form').send(form({ socket_id: '1.2', channel_name: 'private-user-ada' }));
    expect(res.body).toEqual(new Pusher({ appId: APP_ID, key: KEY, secret: SECRET, cluster: 'mt1' }).authorizeChannel('1.2', 'private-user-ada'));
    expect(() => widgetAuth({ resolveUser: testResolveUser, env })).toThrow(/canJoin: is required: .*; give it in widgetAuth\(\{ vendors: \{ pusher: \{ canJoin \} \} \}\)$/m);
  });
});
