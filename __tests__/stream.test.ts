import request from 'supertest';
import { JWTUserToken, StreamChat, TokenManager } from 'stream-chat';
import { STREAM_ENV, streamChatConfigFromEnv, streamChatTokenRouter } from '../lib';
import { EXPRESS_MAJOR, buildApp, testResolveUser } from './helpers/app';
import { loadJose } from './helpers/jose';
import { configProblems, presetCommonCases } from './helpers/presets';

const { decodeJwt, decodeProtectedHeader, jwtVerify } = loadJose();

const API_KEY = 'k7q2m9x4z8wd';
const API_SECRET = 'st_Rw8Kq3Zx7Lm2Vn9Tb4Hc6Jy1Pd5Fg0Sa';

describe(`Stream Chat (Express ${EXPRESS_MAJOR})`, () => {
  const app = buildApp(streamChatTokenRouter({ apiSecret: API_SECRET, apiKey: API_KEY, resolveUser: testResolveUser }));

  it.each(['get', 'post'] as const)('answers %s with { apiKey, userId, token }: the token Stream’s own signing makes for the same claims', async (method) => {
    const before = Math.floor(Date.now() / 1000);
    const res = await request(app)[method]('/api/stream-token').set('x-test-user', 'ada');
    expect(res.status).toBe(200);
    expect(Object.keys(res.body)).toEqual(['apiKey', 'userId', 'token']);
    expect(res.body.apiKey).toBe(API_KEY);
    expect(res.body.userId).toBe('user-ada');
    const token = res.body.token as string;
    const claims = decodeJwt(token);
    expect(Object.keys(claims)).toEqual(['user_id', 'iat', 'exp']);
    // stream-chat's JWTUserToken with the same claims gives the very same token, signature included
    expect(JWTUserToken(API_SECRET, 'user-ada', { iat: claims.iat, exp: claims.exp })).toBe(token);
    // and its server client's createToken the same claims
    const server = new StreamChat(API_KEY, API_SECRET);
    const theirs = server.createToken('user-ada', claims.exp, claims.iat);
    expect(decodeJwt(theirs)).toEqual(claims);
    expect(decodeProtectedHeader(token)).toEqual(decodeProtectedHeader(theirs));
    // the browser SDK's check before connectUser: the token's user_id is the user's id
    expect(() => new TokenManager().validateToken(token, { id: res.body.userId })).not.toThrow();
    expect(() => new TokenManager().validateToken(token, { id: 'user-bob' })).toThrow(/not matching with user.id/);
    // iat set back a minute (Stream has no clock tolerance), exp an hour after signing
    expect(claims.iat).toBeGreaterThanOrEqual(before - 60);
    expect(claims.iat).toBeLessThanOrEqual(before - 59 + 2);
    expect(claims.exp! - claims.iat!).toBe(3600 + 60);
    const { payload } = await jwtVerify(token, new TextEncoder().encode(API_SECRET), { algorithms: ['HS256'], requiredClaims: ['user_id', 'exp', 'iat'] });
    expect(payload['user_id']).toBe('user-ada');
  });

  it('leaves apiKey out without one, and honours expiresIn and clockSkew', async () => {
    const plain = buildApp(streamChatTokenRouter({ apiSecret: API_SECRET, expiresIn: 900, clockSkew: 0, resolveUser: testResolveUser }));
    const res = await request(plain).post('/api/stream-token').set('x-test-user', 'bob');
    expect(Object.keys(res.body)).toEqual(['userId', 'token']);
    const claims = decodeJwt(res.body.token);
    expect(claims.exp! - claims.iat!).toBe(900);
    expect(JWTUserToken(API_SECRET, res.body.userId, { iat: claims.iat, exp: claims.exp })).toBe(res.body.token);
    expect(configProblems(() => streamChatTokenRouter({ apiSecret: API_SECRET, clockSkew: 301, resolveUser: testResolveUser }))).toEqual(['clockSkew: must be at most 300 seconds']);
  });

  it('reads STREAM_API_SECRET and STREAM_API_KEY and names them when missing or invalid', () => {
    expect(STREAM_ENV.map((v) => [v.name, v.required])).toEqual([['STREAM_API_SECRET', true], ['STREAM_API_KEY', false]]);
    expect(streamChatConfigFromEnv({ STREAM_API_SECRET: API_SECRET, STREAM_API_KEY: API_KEY })).toEqual({ apiSecret: API_SECRET, apiKey: API_KEY });
    expect(streamChatConfigFromEnv({ STREAM_API_SECRET: API_SECRET })).toEqual({ apiSecret: API_SECRET });
    expect(configProblems(() => streamChatConfigFromEnv({ STREAM_API_KEY: API_KEY }))).toEqual(['STREAM_API_SECRET: is not set']);
    expect(configProblems(() => streamChatConfigFromEnv({ STREAM_API_SECRET: 'your-api-secret' }))).toEqual(expect.arrayContaining([expect.stringMatching(/^STREAM_API_SECRET: /)]));
  });

  presetCommonCases({
    factory: streamChatTokenRouter,
    name: 'streamChatTokenRouter',
    options: { apiSecret: API_SECRET, apiKey: API_KEY },
    secretOption: 'apiSecret',
    path: '/api/stream-token',
    secrets: [API_SECRET],
    vendor: 'stream',
    env: { STREAM_API_SECRET: API_SECRET, STREAM_API_KEY: API_KEY },
    userIdOf: (body) => decodeJwt(body['token'] as string)['user_id'] as string,
  });
});
