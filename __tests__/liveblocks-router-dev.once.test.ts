import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { createClient, type Room } from '@liveblocks/client';
import WebSocket from 'ws';
import { liveblocksAuthRouter, type LiveblocksAuthRouterOptions, type WidgetUser } from '../lib';
import { buildApp, expectNoSecrets, testResolveUser } from './helpers/app';
import { loadJose } from './helpers/jose';
import { RUN_LIVEBLOCKS_DEV_TESTS, startLiveblocksDev, type LiveblocksDevServer } from './helpers/liveblocks-dev';
import { allowSecretsWhile } from './setup/leak-watch';

/**
 * liveblocksAuthRouter pointed at Liveblocks' own dev server (`liveblocks dev`, a child
 * process: the vendor's implementation of its API and of its room WebSocket). Tokens the
 * router obtains from it are accepted by it: @liveblocks/client (in Node, with `ws`),
 * given the router's route as its `authEndpoint`, enters a room `permissions` allows with
 * the scopes it gave, and a room `permissions` refuses is answered 403 without a call to
 * the dev server, which the client reports as an authentication failure.
 *
 * The dev server's only key is `sk_localdev`, which the weak-secret rules refuse:
 * `allowWeakSecrets: true` here. Its tokens carry its project id, `localdev`, which is a
 * piece of that key: the suite-wide leak watch, which looks for pieces, is paused while
 * its tokens are answered, and each token is checked here for the key itself instead.
 */

const suite = RUN_LIVEBLOCKS_DEV_TESTS ? describe : describe.skip;
const LIVEBLOCKS_DEV_KEY = 'sk_localdev';

/** ada writes in her own rooms and reads the team's; nobody enters any other room. */
const permissions = (user: WidgetUser, room: string): string[] | null => {
  if (room.startsWith(`${user.id}:`)) return ['room:write'];
  if (room.startsWith('team:')) return ['room:read', 'room:presence:write'];
  return null;
};

function whenStatus(room: Room, wanted: string, ms = 10_000): Promise<void> {
  if (room.getStatus() === wanted) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`room ${room.id} still ${room.getStatus()} after ${ms} ms`));
    }, ms);
    const stop = room.subscribe('status', (status) => {
      if (status !== wanted) return;
      clearTimeout(timer);
      stop();
      resolve();
    });
  });
}

suite('liveblocksAuthRouter against Liveblocks’ dev server', () => {
  let dev: LiveblocksDevServer;
  let server: Server;
  let appUrl: string;
  /** Every call the router made to the dev server. */
  const vendorCalls: string[] = [];
  const { decodeJwt } = loadJose();

  const routerOptions = (extra: Partial<LiveblocksAuthRouterOptions> = {}): LiveblocksAuthRouterOptions => ({
    secretKey: dev.secret,
    allowWeakSecrets: true,
    apiBaseUrl: dev.url,
    resolveUser: testResolveUser,
    permissions,
    userInfo: (user) => ({ name: user.name ?? null }),
    fetch: (input, init) => {
      vendorCalls.push(new URL(String(input)).pathname);
      return fetch(input, init);
    },
    ...extra,
  });

  beforeAll(async () => {
    dev = await startLiveblocksDev();
    const app = buildApp(liveblocksAuthRouter(routerOptions()), (host) => host.use('/id', liveblocksAuthRouter(routerOptions({ mode: 'id', permissions: undefined, groupIds: () => ['team-x'] }))));
    server = app.listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    appUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }, 30_000);
  afterAll(async () => {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await dev?.stop();
  });
  beforeEach(() => {
    vendorCalls.length = 0;
  });

  /** The router's answers the client received. */
  const answered: string[] = [];
  afterAll(() => expectNoSecrets(answered.join('\n'), [LIVEBLOCKS_DEV_KEY]));

  /** @liveblocks/client signed in as `who` (the test session header on its calls), with the router as its authEndpoint. */
  const clientAs = (who: string) =>
    createClient({
      baseUrl: dev.url,
      authEndpoint: `${appUrl}/api/liveblocks-auth`,
      polyfills: {
        WebSocket: WebSocket as never,
        fetch: (async (input: RequestInfo | URL, init?: RequestInit) => {
          const res = await fetch(input, { ...init, headers: { ...(init?.headers as Record<string, string>), 'x-test-user': who } });
          if (String(input).startsWith(appUrl)) answered.push(await res.clone().text());
          return res;
        }) as typeof fetch,
      },
    });

  const selfOf = async (room: Room) => {
    const deadline = Date.now() + 5000;
    while (room.getSelf() === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    return room.getSelf();
  };

  it('mints through the dev server a token @liveblocks/client enters the allowed room with, writable as permissions said', () =>
    allowSecretsWhile(async () => {
      answered.length = 0;
      const { room, leave } = clientAs('ada').enterRoom('user-ada:notes', { initialPresence: { cursor: null } });
      try {
        await whenStatus(room, 'connected');
        expect(await selfOf(room)).toMatchObject({ id: 'user-ada', info: { name: 'Ada Lovelace' }, canWrite: true });
        expect(vendorCalls).toEqual(['/v2/authorize-user']);
        expect(answered).toHaveLength(1);
        const { token } = JSON.parse(answered[0]!) as { token: string };
        expect(decodeJwt(token)).toMatchObject({ k: 'acc', pid: 'localdev', uid: 'user-ada', perms: { 'user-ada:notes': ['room:write'] } });
      } finally {
        leave();
      }
    }), 30_000);

  it('gives read-only scopes for a team room: the dev server lets the client in without write access', () =>
    allowSecretsWhile(async () => {
      const { room, leave } = clientAs('bob').enterRoom('team:general', { initialPresence: {} });
      try {
        await whenStatus(room, 'connected');
        expect(await selfOf(room)).toMatchObject({ canWrite: false });
        expect(vendorCalls).toEqual(['/v2/authorize-user']);
      } finally {
        leave();
      }
    }), 30_000);

  it('answers 403 for a room permissions refuses, without calling the dev server, and the client reports the failure and stops', async () => {
    const direct = await fetch(`${appUrl}/api/liveblocks-auth`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-test-user': 'bob' }, body: JSON.stringify({ room: 'user-ada:notes' }) });
    expect(direct.status).toBe(403);
    expect(await direct.json()).toEqual({ error: { code: 'FORBIDDEN', message: 'You may not enter this room.' } });

    const { room, leave } = clientAs('bob').enterRoom('user-ada:notes', { initialPresence: {} });
    const errors: { code: unknown; message: string }[] = [];
    const stop = room.subscribe('error', (err) => errors.push({ code: err.context.code, message: err.message }));
    // the client logs the refusal itself
    const printed = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      await whenStatus(room, 'disconnected');
      expect(errors).toHaveLength(1);
      expect(errors[0]!.code).toBe(-1);
      expect(errors[0]!.message).toContain('403 returned by POST');
      expect(vendorCalls).toEqual([]);
    } finally {
      printed.mockRestore();
      stop();
      leave();
    }
  }, 30_000);

  it('mints an ID token through /v2/identify-user in id mode', () =>
    allowSecretsWhile(async () => {
      const res = await fetch(`${appUrl}/id/api/liveblocks-auth`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-test-user': 'ada' }, body: '{}' });
      expect(res.status).toBe(200);
      const text = await res.text();
      answered.push(text);
      expect(decodeJwt((JSON.parse(text) as { token: string }).token)).toMatchObject({ k: 'id', pid: 'localdev', uid: 'user-ada', gids: ['team-x'], ui: { name: 'Ada Lovelace' } });
      expect(vendorCalls).toEqual(['/v2/identify-user']);
    }));

  it('answers 502 UPSTREAM_REJECTED when the dev server refuses the key', async () => {
    const refused = buildApp(liveblocksAuthRouter(routerOptions({ secretKey: 'sk_dev_Wq7Lz4Xm1Rb8Tn5Vc3Hj6Pd0YsK2', retries: 0, report: false })));
    const listening = refused.listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => listening.once('listening', () => resolve()));
    try {
      const res = await fetch(`http://127.0.0.1:${(listening.address() as AddressInfo).port}/api/liveblocks-auth`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-test-user': 'ada' },
        body: JSON.stringify({ room: 'user-ada:notes' }),
      });
      expect(res.status).toBe(502);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('UPSTREAM_REJECTED');
    } finally {
      await new Promise<void>((resolve) => listening.close(() => resolve()));
    }
  });
});
