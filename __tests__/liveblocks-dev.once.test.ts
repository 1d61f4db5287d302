import { randomBytes } from 'node:crypto';
import { createClient, type Room } from '@liveblocks/client';
import { Liveblocks } from '@liveblocks/node';
import WebSocket from 'ws';
import { loadJose } from './helpers/jose';
import { RUN_LIVEBLOCKS_DEV_TESTS, startLiveblocksDev, type LiveblocksDevServer } from './helpers/liveblocks-dev';

/**
 * The harness for the Liveblocks tests: Liveblocks' own dev server, started as a child
 * process, is a real implementation of the vendor API. These tests show it runs here
 * and does what the other Liveblocks tests rely on, using only the vendor's own
 * clients: @liveblocks/node gets access and ID tokens from it, it refuses other secret
 * keys, and @liveblocks/client (in Node, with `ws`) enters a room with such a token,
 * while a token that does not grant a room gets that room's socket closed.
 */

const suite = RUN_LIVEBLOCKS_DEV_TESTS ? describe : describe.skip;

/** What an access or ID token of the dev server carries (decoded, not verified: it is unsigned). */
interface DevTokenClaims {
  k: 'acc' | 'id';
  pid: string;
  uid: string;
  perms?: Record<string, string[]>;
  ui?: Record<string, unknown>;
  gids?: string[];
  iat: number;
  exp: number;
  jti: string;
}

function tokenOf(answer: { status: number; body: string }): string {
  expect(answer.status).toBe(200);
  const parsed = JSON.parse(answer.body) as { token?: unknown };
  expect(typeof parsed.token).toBe('string');
  return parsed.token as string;
}

/** Open a room socket as the client does (`/v8?roomId=…&tok=…`) and report how it ends within `ms`. */
function roomSocket(dev: LiveblocksDevServer, roomId: string, tok: string, ms = 3000): Promise<{ opened: boolean; firstMessage?: unknown; closeCode?: number; closeReason?: string }> {
  return new Promise((resolve) => {
    const url = new URL('/v8', dev.url.replace(/^http/, 'ws'));
    url.searchParams.set('roomId', roomId);
    url.searchParams.set('tok', tok);
    const socket = new WebSocket(url);
    const seen: { opened: boolean; firstMessage?: unknown; closeCode?: number; closeReason?: string } = { opened: false };
    const timer = setTimeout(() => {
      socket.removeAllListeners('close');
      socket.terminate();
      resolve(seen);
    }, ms);
    socket.on('open', () => (seen.opened = true));
    socket.on('message', (data) => {
      if (seen.firstMessage === undefined) seen.firstMessage = JSON.parse(String(data));
    });
    socket.on('error', () => undefined);
    socket.on('close', (code, reason) => {
      clearTimeout(timer);
      resolve({ ...seen, closeCode: code, closeReason: reason.toString('utf8') });
    });
  });
}

function whenConnected(room: Room, ms = 10_000): Promise<void> {
  if (room.getStatus() === 'connected') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`room ${room.id} still ${room.getStatus()} after ${ms} ms`));
    }, ms);
    const stop = room.subscribe('status', (status) => {
      if (status !== 'connected') return;
      clearTimeout(timer);
      stop();
      resolve();
    });
  });
}

suite('Liveblocks dev server (liveblocks dev on bun, a child process)', () => {
  let dev: LiveblocksDevServer;
  let liveblocks: Liveblocks;
  const { decodeJwt, decodeProtectedHeader } = loadJose();

  beforeAll(async () => {
    dev = await startLiveblocksDev();
    liveblocks = new Liveblocks({ secret: dev.secret, baseUrl: dev.url });
  }, 60_000);
  afterAll(async () => {
    await dev?.stop();
  });

  it('starts on a free loopback port and answers its health check', async () => {
    expect(dev.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const res = await fetch(`${dev.url}/health`);
    expect([res.status, await res.json()]).toEqual([200, { status: 'ok' }]);
  });

  it('gives @liveblocks/node an access token for the rooms the session allows (prepareSession + authorize)', async () => {
    const session = liveblocks.prepareSession('user-1', { userInfo: { name: 'Ada' } });
    session.allow('room-a', session.FULL_ACCESS);
    session.allow('team:*', ['room:read']);
    const token = tokenOf(await session.authorize());

    expect(decodeProtectedHeader(token)).toEqual({ alg: 'none', typ: 'JWT' });
    const claims = decodeJwt(token) as unknown as DevTokenClaims;
    expect(claims).toMatchObject({ k: 'acc', pid: 'localdev', uid: 'user-1', perms: { 'room-a': ['*:write'], 'team:*': ['room:read'] }, ui: { name: 'Ada' } });
    expect(claims.exp - claims.iat).toBe(3600);
    expect(Math.abs(claims.iat - Date.now() / 1000)).toBeLessThan(60);
  });

  it('gives @liveblocks/node an ID token for the user and groups (identifyUser)', async () => {
    const token = tokenOf(await liveblocks.identifyUser({ userId: 'user-2', groupIds: ['team-x'] }, { userInfo: { name: 'Grace' } }));
    const claims = decodeJwt(token) as unknown as DevTokenClaims;
    expect(claims).toMatchObject({ k: 'id', pid: 'localdev', uid: 'user-2', gids: ['team-x'], ui: { name: 'Grace' } });
    expect(claims.perms).toBeUndefined();
  });

  it('refuses any secret key but sk_localdev (403) and a request without one (401)', async () => {
    const other = new Liveblocks({ secret: `sk_${randomBytes(16).toString('hex')}`, baseUrl: dev.url });
    // the dev server explains the refusal in an X-LB-Warn header, which @liveblocks/node prints
    const printed = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    const refused = await other.prepareSession('user-1').allow('room-a', ['room:write']).authorize();
    const warnings = printed.mock.calls.flat().join(' ');
    printed.mockRestore();
    expect(refused.status).toBe(403);
    expect(JSON.parse(refused.body)).toMatchObject({ error: 'Forbidden' });
    expect(warnings).toContain("only use 'sk_localdev'");

    const anonymous = await fetch(`${dev.url}/v2/authorize-user`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ userId: 'u', permissions: {} }) });
    expect(anonymous.status).toBe(401);
  });

  it('answers 422 to an authorize-user body without permissions, as the vendor validates it', async () => {
    const res = await fetch(`${dev.url}/v2/authorize-user`, {
      method: 'POST',
      headers: { authorization: `Bearer ${dev.secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ userId: 'user-1' }),
    });
    expect(res.status).toBe(422);
  });

  it('lets @liveblocks/client (in Node) enter a room its access token grants, and shows each user to the other', async () => {
    const tokenFor = async (userId: string, name: string) => {
      const session = liveblocks.prepareSession(userId, { userInfo: { name } });
      session.allow('room-shared', ['room:write']);
      return tokenOf(await session.authorize());
    };
    const requested: (string | undefined)[] = [];
    const clientFor = (userId: string, name: string) =>
      createClient({
        baseUrl: dev.url,
        polyfills: { WebSocket: WebSocket as never, fetch },
        authEndpoint: async (room) => {
          requested.push(room);
          return { token: await tokenFor(userId, name) };
        },
      });
    const ada = clientFor('user-ada', 'Ada').enterRoom('room-shared', { initialPresence: { cursor: 'ada' } });
    const grace = clientFor('user-grace', 'Grace').enterRoom('room-shared', { initialPresence: { cursor: 'grace' } });
    try {
      await Promise.all([whenConnected(ada.room), whenConnected(grace.room)]);
      expect(requested).toEqual(['room-shared', 'room-shared']);
      // the room's state (self, then others) arrives in messages after the socket reports connected
      const deadline = Date.now() + 10_000;
      while (ada.room.getSelf() === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(ada.room.getSelf()).toMatchObject({ id: 'user-ada', info: { name: 'Ada' }, canWrite: true });

      while (ada.room.getOthers().length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(ada.room.getOthers().map((u) => ({ id: u.id, info: u.info }))).toEqual([{ id: 'user-grace', info: { name: 'Grace' } }]);
    } finally {
      ada.leave();
      grace.leave();
    }
  }, 30_000);

  it('closes the room socket with 4001 when the token does not grant the room, and accepts it for the room it grants', async () => {
    const session = liveblocks.prepareSession('user-1');
    session.allow('room-a', ['room:write']);
    const token = tokenOf(await session.authorize());

    const allowed = await roomSocket(dev, 'room-a', token, 1500);
    expect(allowed.opened).toBe(true);
    expect(allowed.closeCode).toBeUndefined();
    expect(allowed.firstMessage).toMatchObject({ scopes: ['room:write'] });

    const denied = await roomSocket(dev, 'room-b', token);
    expect([denied.closeCode, denied.closeReason]).toEqual([4001, 'You have no access to this room']);
  });

  it('closes the room socket with 4001 for a token it did not issue', async () => {
    const forged = await roomSocket(dev, 'room-a', 'eyJhbGciOiJub25lIn0.e30.');
    expect(forged.closeCode).toBe(4001);
  });
});
