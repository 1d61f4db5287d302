/**
 * The credential strategies on their own: `hmacCredential` against published vectors and
 * `node:crypto`, `jwtCredential` against an independent JWT library (`jose`), and the
 * option checks of both, which run once, at start-up.
 */
import { createHmac, createSecretKey } from 'node:crypto';
import { WidgetAuthConfigError, WidgetAuthError, hmacCredential, jwtCredential, type CredentialRequest, type WidgetCredential, type WidgetUser } from '../lib';

import request from 'supertest';
import { widgetCredentialRouter } from '../lib';
import { shareSecrets } from '../lib/core/pipeline';
import { buildApp } from './helpers/app';
import { loadJose } from './helpers/jose';

const { decodeProtectedHeader, jwtVerify } = loadJose();

const HMAC_SECRET = 'hm_Q7vK2pX9rLw4Zt8bN3cY6dJ1';
const JWT_SECRET = 'jw_8sFq3ZkL1xV7mB4nR9tP2wC6yH0gD5aE';
const ADA: WidgetUser = { id: 'user-ada', email: 'ada@example.com', name: 'Ada Lovelace' };
const REQUEST: CredentialRequest = { req: {} as CredentialRequest['req'], body: {} };

async function issue(credential: WidgetCredential, user: WidgetUser = ADA): Promise<Record<string, unknown>> {
  return credential.issue(user, REQUEST);
}

function configProblems(make: () => unknown): readonly string[] {
  try {
    make();
  } catch (err) {
    if (err instanceof WidgetAuthConfigError) return err.problems;
    throw err;
  }
  throw new Error('no configuration error was thrown');
}

async function internalError(work: () => unknown): Promise<string> {
  try {
    await work();
  } catch (err) {
    expect(err).toBeInstanceOf(WidgetAuthError);
    expect((err as WidgetAuthError).code).toBe('INTERNAL_ERROR');
    return (err as WidgetAuthError).message;
  }
  throw new Error('nothing was thrown');
}

describe('hmacCredential', () => {
  it('answers the very text it signed as message, computing it once', async () => {
    let calls = 0;
    const credential = hmacCredential({ secret: HMAC_SECRET, message: (user) => (calls++, ` ${user.email!} `.trim()), answer: { identifier: 'message', identifier_hash: 'hash' } });
    expect(await issue(credential)).toEqual({ identifier: 'ada@example.com', identifier_hash: createHmac('sha256', HMAC_SECRET).update('ada@example.com').digest('hex') });
    expect(calls).toBe(1);
  });

  it('passes a WidgetAuthError thrown by message(user) on as it is (401 for a user it cannot identify); wraps anything else', async () => {
    const refusing = hmacCredential({ secret: HMAC_SECRET, message: () => { throw new WidgetAuthError('UNAUTHORIZED', 'Sign in with an account that has an email address.'); } });
    await expect(issue(refusing)).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    const failing = hmacCredential({ secret: HMAC_SECRET, message: () => { throw new Error('db down'); } });
    await expect(issue(failing)).rejects.toMatchObject({ code: 'INTERNAL_ERROR', message: 'message(user) of hmacCredential threw' });
  });

  it('refuses to sign text with a lone surrogate, which UTF-8 would sign as U+FFFD like another text', async () => {
    const credential = hmacCredential({ secret: HMAC_SECRET, message: (user) => user.metadata!['handle']! });
    const twin = await issue(credential, { id: 'u1', metadata: { handle: 'ada\ufffd' } });
    // without the check, 'ada\ud800' is signed as the very bytes of 'ada\ufffd'
    expect(createHmac('sha256', HMAC_SECRET).update('ada\ud800').digest('hex')).toBe(twin['hash']);
    expect(await internalError(() => issue(credential, { id: 'u2', metadata: { handle: 'ada\ud800' } }))).toBe(
      'message(user) of hmacCredential returned text that is not well-formed Unicode (a lone surrogate, signed as U+FFFD like another text)',
    );
    // a surrogate pair is well-formed: signed as it is
    expect((await issue(credential, { id: 'u3', metadata: { handle: 'ada\ud83d\ude00' } }))['hash']).toBe(createHmac('sha256', HMAC_SECRET).update('ada\u{1f600}').digest('hex'));
  });

  it("reproduces Intercom's published vector: HMAC-SHA256 of \"Message\" with the key \"secret\"", async () => {
    const credential = hmacCredential({ key: Buffer.from('secret'), minSecretLength: 6, message: () => 'Message' });
    expect(await issue(credential)).toEqual({ hash: 'aa747c502a898200f9e4fa21bac68136f886a0e27aec70ba06daf2e2a5cb5597' });
  });

  it('reproduces RFC 4231 test case 2 (key "Jefe") with a Uint8Array key', async () => {
    const credential = hmacCredential({ key: new TextEncoder().encode('Jefe'), minSecretLength: 4, message: () => 'what do ya want for nothing?' });
    expect((await issue(credential))['hash']).toBe('5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843');
  });

  it('signs the UTF-8 text of message(user) with the UTF-8 secret, in lower-case hex by default', async () => {
    const credential = hmacCredential({ secret: HMAC_SECRET, message: (user) => user.email!, answer: { email: (user) => user.email, user_hash: 'hash' } });
    const answer = await issue(credential, { id: 'u-1', email: 'zoë@example.com' });
    expect(answer).toEqual({ email: 'zoë@example.com', user_hash: createHmac('sha256', Buffer.from(HMAC_SECRET, 'utf8')).update('zoë@example.com', 'utf8').digest('hex') });
    expect(answer['user_hash']).toMatch(/^[0-9a-f]{64}$/);
  });

  it.each([
    ['base64', /^[A-Za-z0-9+/]{43}=$/],
    ['base64url', /^[A-Za-z0-9_-]{43}$/],
  ] as const)('writes the digest in %s when asked', async (encoding, shape) => {
    const credential = hmacCredential({ secret: HMAC_SECRET, message: (user) => user.id, encoding });
    const { hash } = await issue(credential);
    expect(hash).toMatch(shape);
    expect(hash).toBe(createHmac('sha256', HMAC_SECRET).update(ADA.id).digest(encoding));
  });

  it('takes a secret KeyObject, and lists a binary key as hex and base64 for redaction', async () => {
    const bytes = Buffer.from('9f8e7d6c5b4a39281706f5e4d3c2b1a0', 'hex');
    const credential = hmacCredential({ key: createSecretKey(bytes), message: (user) => user.id });
    expect((await issue(credential))['hash']).toBe(createHmac('sha256', bytes).update(ADA.id).digest('hex'));
    expect(credential.secrets).toEqual(expect.arrayContaining([bytes.toString('hex'), bytes.toString('base64')]));
    expect(hmacCredential({ secret: HMAC_SECRET, message: (user) => user.id }).secrets).toEqual([HMAC_SECRET]);
  });

  it('builds the answer from functions of the user, leaving out undefined and refusing objects', async () => {
    const credential = hmacCredential({
      secret: HMAC_SECRET,
      message: (user) => user.id,
      answer: { identifier: (user) => user.id, name: (user) => user.name, verified: () => true, count: () => 2, none: () => null, identifier_hash: 'hash' },
    });
    expect(await issue(credential, { id: 'u-2' })).toEqual({ identifier: 'u-2', verified: true, count: 2, none: null, identifier_hash: createHmac('sha256', HMAC_SECRET).update('u-2').digest('hex') });
    expect(JSON.stringify(await issue(credential, { id: 'u-2' }))).not.toContain('"name"');
    const bad = hmacCredential({ secret: HMAC_SECRET, message: (user) => user.id, answer: { hash: 'hash', extra: () => ({ nested: true }) as never } });
    expect(await internalError(() => bad.issue(ADA, REQUEST))).toBe('answer field extra of hmacCredential returned an object; it must return a string, a finite number, a boolean, null or undefined');
    const nan = hmacCredential({ secret: HMAC_SECRET, message: (user) => user.id, answer: { hash: 'hash', n: () => Number.NaN } });
    expect(await internalError(() => nan.issue(ADA, REQUEST))).toMatch(/^answer field n of hmacCredential returned a number that is not finite/);
  });

  it.each([
    ['a number', () => 42, 'returned a number'],
    ['an empty string', () => '', 'returned an empty string'],
    ['undefined', () => undefined, 'returned undefined'],
    ['an object', () => ({ id: 'x' }), 'returned an object'],
  ])('answers INTERNAL_ERROR naming the type when message(user) returns %s', async (_what, message, phrase) => {
    const credential = hmacCredential({ secret: HMAC_SECRET, message: message as never });
    const text = await internalError(() => credential.issue(ADA, REQUEST));
    expect(text).toBe(`message(user) of hmacCredential ${phrase}; it must return a non-empty string, e.g. user.id`);
  });

  it('answers INTERNAL_ERROR with the cause kept when message(user) throws', async () => {
    const boom = new Error('no such column');
    const credential = hmacCredential({
      secret: HMAC_SECRET,
      message: () => {
        throw boom;
      },
    });
    try {
      await credential.issue(ADA, REQUEST);
      throw new Error('nothing was thrown');
    } catch (err) {
      expect((err as WidgetAuthError).message).toBe('message(user) of hmacCredential threw');
      expect((err as WidgetAuthError).cause).toBe(boom);
    }
  });

  it('refuses bad options at start-up, naming each and never the secret', () => {
    const problems = configProblems(() => hmacCredential({ secret: 'short-9f3K', message: 'id' as never, encoding: 'HEX' as never, answer: { user_hash: 'digest' as never }, mesage: 1 } as never));
    expect(problems).toEqual([
      'message: must be a function (user) => string, e.g. (user) => user.id',
      "encoding: must be 'hex', 'base64' or 'base64url'",
      "answer: must name the credential in at least one field ('hash')",
      "answer.user_hash: must be 'hash', 'message' or a function (user) => value",
      'mesage: unknown option (did you mean `message`?)',
    ]);
    expect(configProblems(() => hmacCredential({ message: (u) => u.id }))).toEqual(['secret: is required (or `key`, for a binary key): the signing secret the vendor issued; an unset environment variable reads as undefined']);
    // a missing secret (an unset variable) is listed beside every other problem, not after they are fixed
    expect(configProblems(() => hmacCredential({ secret: undefined, message: 'id' as never, encoding: 'hexx' as never }))).toEqual([
      'message: must be a function (user) => string, e.g. (user) => user.id',
      "encoding: must be 'hex', 'base64' or 'base64url'",
      'secret: is required (or `key`, for a binary key): the signing secret the vendor issued; an unset environment variable reads as undefined',
    ]);
    expect(configProblems(() => jwtCredential({ secret: undefined, header: { kid: undefined as never }, claims: 5 as never }))).toEqual([
      'header.kid: is undefined (an unset environment variable?); it must be a string, a finite number or a boolean',
      'claims: must be a function (user) => claims, e.g. (user) => ({ sub: user.id })',
      'secret: is required (or `key`, for a binary key): the signing secret the vendor issued; an unset environment variable reads as undefined',
    ]);
    expect(configProblems(() => hmacCredential({ secret: HMAC_SECRET, key: Buffer.alloc(32, 7), message: (u) => u.id }))).toEqual(['key: must not be given with `secret`: give one of them']);
    expect(configProblems(() => hmacCredential({ secret: 'hm_Q7vK2pX9rLw', message: (u) => u.id }))).toEqual(['secret: must be at least 16 characters long (minSecretLength)']);
    expect(configProblems(() => hmacCredential({ key: Buffer.from('0123456789'), message: (u) => u.id }))).toEqual(['key: must be at least 16 bytes long (minSecretLength)']);
    expect(configProblems(() => hmacCredential({ secret: 'your-chatwoot-token', message: (u) => u.id }))).toEqual(['secret: looks like a placeholder, not a real secret']);
    expect(configProblems(() => hmacCredential({ secret: HMAC_SECRET, message: (u) => u.id, answer: { 'user-hash': 'hash' } }))).toEqual([
      'answer: has a field name that is not letters, digits and `_` (at most 64, not starting with a digit)',
    ]);
    expect(configProblems(() => hmacCredential({ secret: HMAC_SECRET, message: (u) => u.id, minSecretLength: 0 }))).toEqual(['minSecretLength: must be at least 1']);
  });

  it('takes the vendors\' shorter secrets once minSecretLength says so, and weak ones only with allowWeakSecrets', async () => {
    // Pusher issues 20 hex digits
    const pusherLike = '7ad3773142a6692b25b8';
    expect((await issue(hmacCredential({ secret: pusherLike, minSecretLength: 20, message: (u) => u.id })))['hash']).toBe(createHmac('sha256', pusherLike).update(ADA.id).digest('hex'));
    const weak = 'test-secret-key-1234';
    expect(configProblems(() => hmacCredential({ secret: weak, message: (u) => u.id }))[0]).toMatch(/^secret: looks like a placeholder or has too little variety/);
    expect((await issue(hmacCredential({ secret: weak, message: (u) => u.id, allowWeakSecrets: true })))['hash']).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('an identity that is not well-formed Unicode', () => {
  it('is refused by every router before any signing: a lone surrogate in the id or email would sign as another user', async () => {
    const users: Record<string, WidgetUser> = { id: { id: 'user\ud800' }, email: { id: 'u1', email: 'ada\udc00@example.com' }, twin: { id: 'user\ufffd', email: 'ada\ufffd@example.com' } };
    let signed = 0;
    const app = buildApp(
      widgetCredentialRouter({
        vendor: 'acme',
        path: '/api/acme-identity',
        report: false,
        resolveUser: (req) => users[String(req.headers['x-who'])] ?? null,
        credential: hmacCredential({ secret: HMAC_SECRET, message: (user) => (signed++, `${user.id}|${user.email ?? ''}`) }),
      }),
    );
    for (const who of ['id', 'email']) {
      const res = await request(app).get('/api/acme-identity').set('x-who', who);
      expect(res.status).toBe(500);
      expect(res.body.error.code).toBe('INTERNAL_ERROR');
    }
    expect(signed).toBe(0);
    expect((await request(app).get('/api/acme-identity').set('x-who', 'twin')).status).toBe(200);
  });
});

describe('the last search of an answer', () => {
  it('searches a repeated answer again once the secrets change: a text found clean is not clean for ever', async () => {
    const echoed = 've_' + 'Q'.repeat(4) + 'k9Tz2Lw7Xc4Nb8Rm1Pv6';
    const router = widgetCredentialRouter({
      vendor: 'acme',
      path: '/api/acme-identity',
      report: false,
      resolveUser: () => ({ id: 'u1', metadata: { note: echoed } }),
      credential: hmacCredential({ secret: HMAC_SECRET, message: (user) => user.id, answer: { hash: 'hash', note: (user) => user.metadata!['note'] } }),
    });
    const app = buildApp(router);
    for (let i = 0; i < 2; i++) expect((await request(app).get('/api/acme-identity')).status).toBe(200);
    // another router mounted beside it holds that text as its secret (as widgetAuth shares them)
    shareSecrets(router, [echoed]);
    const res = await request(app).get('/api/acme-identity');
    expect(res.status).toBe(500);
    expect(res.text).not.toContain(echoed);
  });
});

describe('jwtCredential', () => {
  const key = new TextEncoder().encode(JWT_SECRET);

  it('signs an HS256 JWT that jose verifies, with the header fields, the claims, iat and exp = iat + expiresIn', async () => {
    const credential = jwtCredential({
      secret: JWT_SECRET,
      header: { kid: 'key-2024' },
      claims: (user) => ({ scope: 'user', external_id: user.id, email: user.email, email_verified: true, nickname: undefined }),
      expiresIn: 600,
    });
    const before = Math.floor(Date.now() / 1000);
    const { token } = (await issue(credential)) as { token: string };
    const after = Math.floor(Date.now() / 1000);
    const { payload, protectedHeader } = await jwtVerify(token, key, { algorithms: ['HS256'] });
    expect(protectedHeader).toEqual({ alg: 'HS256', typ: 'JWT', kid: 'key-2024' });
    expect(Object.keys(payload)).toEqual(['scope', 'external_id', 'email', 'email_verified', 'iat', 'exp']);
    expect(payload).toMatchObject({ scope: 'user', external_id: 'user-ada', email: 'ada@example.com', email_verified: true });
    expect(payload.iat).toBeGreaterThanOrEqual(before);
    expect(payload.iat).toBeLessThanOrEqual(after);
    expect(payload.exp).toBe(payload.iat! + 600);
  });

  it('sets iat back by clockSkew and leaves exp at the signing time plus expiresIn', async () => {
    const credential = jwtCredential({ secret: JWT_SECRET, claims: (user) => ({ user_id: user.id }), expiresIn: 900, clockSkew: 30, answer: { token: 'token', expiresAt: 'exp' } });
    const before = Math.floor(Date.now() / 1000);
    const { token, expiresAt } = (await issue(credential)) as { token: string; expiresAt: number };
    const { payload } = await jwtVerify(token, key);
    expect(payload.exp).toBe(expiresAt);
    expect(payload.exp! - payload.iat!).toBe(900 + 30);
    expect(payload.iat).toBeLessThanOrEqual(before - 30 + 1);
    expect(payload.iat).toBeGreaterThanOrEqual(before - 30);
  });

  it('expires every token: an hour by default, refused by jose once past', async () => {
    jest.useFakeTimers({ now: new Date('2030-01-01T00:00:00Z') });
    try {
      const credential = jwtCredential({ secret: JWT_SECRET, claims: (user) => ({ sub: user.id }) });
      const { token } = (await issue(credential)) as { token: string };
      const { payload } = await jwtVerify(token, key, { currentDate: new Date('2030-01-01T00:59:59Z') });
      expect(payload.exp! - payload.iat!).toBe(3600);
      await expect(jwtVerify(token, key, { currentDate: new Date('2030-01-01T01:00:01Z') })).rejects.toMatchObject({ code: 'ERR_JWT_EXPIRED' });
    } finally {
      jest.useRealTimers();
    }
  });

  it('fails in jose with the wrong secret, another algorithm, or a payload changed by one character', async () => {
    const { token } = (await issue(jwtCredential({ secret: JWT_SECRET, claims: (user) => ({ sub: user.id }) }))) as { token: string };
    await expect(jwtVerify(token, new TextEncoder().encode(`${JWT_SECRET}x`))).rejects.toMatchObject({ code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' });
    await expect(jwtVerify(token, key, { algorithms: ['HS512'] })).rejects.toMatchObject({ code: 'ERR_JOSE_ALG_NOT_ALLOWED' });
    const [h, p, s] = token.split('.');
    const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p!, 'base64url').toString()), sub: 'user-bob' })).toString('base64url');
    await expect(jwtVerify(`${h}.${forged}.${s}`, key)).rejects.toMatchObject({ code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' });
  });

  it.each(['HS384', 'HS512'] as const)('signs with %s, and with a binary key', async (algorithm) => {
    const bytes = Buffer.from('c0ffee00deadbeef0badf00d12345678aabbccddeeff0011', 'hex');
    const credential = jwtCredential({ key: bytes, algorithm, header: { alg: algorithm }, claims: (user) => ({ sub: user.id }) });
    const { token } = (await issue(credential)) as { token: string };
    expect(decodeProtectedHeader(token)).toEqual({ alg: algorithm, typ: 'JWT' });
    expect((await jwtVerify(token, bytes, { algorithms: [algorithm] })).payload.sub).toBe('user-ada');
  });

  it('signs empty claims and claims with non-ASCII text', async () => {
    const empty = (await issue(jwtCredential({ secret: JWT_SECRET, claims: () => ({}) }))) as { token: string };
    expect(Object.keys((await jwtVerify(empty.token, key)).payload)).toEqual(['iat', 'exp']);
    const text = (await issue(jwtCredential({ secret: JWT_SECRET, claims: () => ({ name: 'Zoë 😀 "quoted" </script>' }) }))) as { token: string };
    expect((await jwtVerify(text.token, key)).payload['name']).toBe('Zoë 😀 "quoted" </script>');
  });

  it.each([
    ['an array', () => ['a'], 'claims(user) of jwtCredential returned an array; it must return a plain object of JSON values'],
    ['null', () => null, 'claims(user) of jwtCredential returned null; it must return a plain object of JSON values'],
    ['a string', () => 'sub', 'claims(user) of jwtCredential returned a string; it must return a plain object of JSON values'],
    ['a class instance', () => new Date(), 'claims(user) of jwtCredential returned a class instance; it must return a plain object of JSON values'],
    ['its own exp', () => ({ sub: 'x', exp: 1 }), 'claims(user) of jwtCredential returned its own `iat` or `exp`; leave them out: they come from expiresIn and clockSkew'],
    ['its own iat', () => ({ sub: 'x', iat: 1 }), 'claims(user) of jwtCredential returned its own `iat` or `exp`; leave them out: they come from expiresIn and clockSkew'],
    ['a BigInt', () => ({ n: 1n }), 'claims(user) of jwtCredential returned a value JSON cannot write (a BigInt, a cycle)'],
    ['a toJSON giving a string', () => ({ toJSON: () => 'x' }), 'claims(user) of jwtCredential returned an object whose JSON is not an object; it must return a plain object of JSON values'],
  ])('answers INTERNAL_ERROR when claims(user) returns %s', async (_what, claims, message) => {
    const credential = jwtCredential({ secret: JWT_SECRET, claims: claims as never });
    expect(await internalError(() => credential.issue(ADA, REQUEST))).toBe(message);
  });

  it('refuses bad options at start-up, naming each and never the secret', () => {
    const problems = configProblems(() =>
      jwtCredential({ secret: JWT_SECRET, algorithm: 'RS256' as never, header: { alg: 'none', crit: 'x', kid: {} as never }, claims: (u: WidgetUser) => ({ sub: u.id }), expiresIn: 86401, clockSkew: -1, expiresin: 5 } as never),
    );
    expect(problems).toEqual([
      "algorithm: must be 'HS256', 'HS384' or 'HS512'",
      'header.kid: must be a string, a finite number or a boolean',
      'expiresIn: must be at most 86400 seconds (24 hours)',
      'clockSkew: must not be negative',
      'expiresin: unknown option (did you mean `expiresIn`?)',
    ]);
    expect(configProblems(() => jwtCredential({ secret: JWT_SECRET, header: { alg: 'none', crit: 'x' }, claims: (u) => ({ sub: u.id }) }))).toEqual([
      'header.alg: must be left out (it comes from `algorithm`) or equal `algorithm`',
      'header.crit: is not supported: the token would need a verifier that understands it',
    ]);
    expect(configProblems(() => jwtCredential({ secret: JWT_SECRET, claims: (u) => ({ sub: u.id }), expiresIn: 0 }))).toEqual(['expiresIn: must be at least 1 second']);
    expect(configProblems(() => jwtCredential({ secret: JWT_SECRET, claims: (u) => ({ sub: u.id }), expiresIn: null as never }))).toEqual(['expiresIn: must be a whole number of seconds']);
    expect(configProblems(() => jwtCredential({ secret: JWT_SECRET, claims: (u) => ({ sub: u.id }), answer: { token: 'hash' as never } }))).toEqual([
      "answer: must name the credential in at least one field ('token')",
      "answer.token: must be 'token', 'exp' or a function (user) => value",
    ]);
    const all = configProblems(() => jwtCredential({ secret: ` ${JWT_SECRET}`, claims: (u) => ({ sub: u.id }) })).join('\n');
    expect(all).toBe('secret: must not start or end with white space');
  });
});
