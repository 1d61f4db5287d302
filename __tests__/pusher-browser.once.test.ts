/**
 * pusher-js, from the registry, in Debian's Chromium against a loopback stand-in for
 * Pusher's WebSocket service. The stand-in speaks the part of protocol 7 a subscription
 * needs: `pusher:connection_established` with a socket id, then `pusher:subscribe` with
 * the `auth` the page's authorization endpoint gave, checked as Pusher's service checks
 * it (HMAC-SHA256 of `socket_id:channel[:channel_data]` with the app secret, written
 * here with node:crypto, not the package's code), answered with
 * `pusher_internal:subscription_succeeded` or a subscription error.
 *
 * The page is served with a signed-in user by the same Express app that mounts
 * pusherAuthRouter, so pusher-js's own XHR (form-encoded, with the page's cookies)
 * reaches the router as it would in production.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import express from 'express';
import type { Browser, Page } from 'playwright-core';
import { WebSocketServer, type WebSocket } from 'ws';
import { pusherAuthRouter, type WidgetUser } from '../lib';
import { CHROMIUM_PATH, chromiumInstalled, launchChromium, runningInCI } from './helpers/browser';

const APP_ID = '424242';
const KEY = '3c9f0a7d2b6e1f4a8c05';
const SECRET = '9e2b7c4f1a0d6e3b8f52';
const USER: WidgetUser = { id: 'user-ada', email: 'ada@example.com', name: 'Ada Lovelace' };

if (!chromiumInstalled) {
  const reason = `Debian's Chromium is not installed at ${CHROMIUM_PATH} (apt-get install chromium)`;
  if (runningInCI) {
    it('has a browser to run pusher-js in', () => {
      throw new Error(`${reason}; browser tests must run under CI`);
    });
  } else {
    console.warn(`skipping the pusher-js browser test: ${reason}`);
  }
}

const describeInBrowser = chromiumInstalled ? describe : describe.skip; // skip-reason: no /usr/bin/chromium on this machine (CI installs it and fails instead of skipping)

/** What Pusher's service checks before it lets a socket into a channel. */
function serviceAccepts(socketId: string, channel: string, auth: unknown, channelData: unknown): boolean {
  if (typeof auth !== 'string' || !auth.startsWith(`${KEY}:`)) return false;
  const signed = typeof channelData === 'string' ? `${socketId}:${channel}:${channelData}` : `${socketId}:${channel}`;
  const expected = Buffer.from(createHmac('sha256', SECRET).update(signed).digest('hex'));
  const given = Buffer.from(auth.slice(KEY.length + 1));
  return expected.length === given.length && timingSafeEqual(expected, given);
}

/** A subscription the stand-in saw, and its verdict. */
interface Subscription {
  channel: string;
  accepted: boolean;
  userId?: string;
}

describeInBrowser('pusher-js in headless Chromium, authorized by pusherAuthRouter', () => {
  jest.setTimeout(60_000);

  let server: Server;
  let wss: WebSocketServer;
  let browser: Browser;
  let page: Page;
  let origin: string;
  const subscriptions: Subscription[] = [];
  const authCalls: { contentType: string | undefined; status: number }[] = [];

  function standIn(socket: WebSocket, socketId: string): void {
    const send = (event: string, data: unknown, channel?: string) => socket.send(JSON.stringify({ event, ...(channel ? { channel } : {}), data: JSON.stringify(data) }));
    send('pusher:connection_established', { socket_id: socketId, activity_timeout: 120 });
    socket.on('message', (raw) => {
      const message = JSON.parse(String(raw)) as { event: string; data?: { channel?: string; auth?: string; channel_data?: string } };
      if (message.event === 'pusher:ping') return send('pusher:pong', {});
      if (message.event !== 'pusher:subscribe') return;
      const { channel = '', auth, channel_data: channelData } = message.data ?? {};
      const accepted = serviceAccepts(socketId, channel, auth, channelData);
      const userId = typeof channelData === 'string' ? (JSON.parse(channelData) as { user_id: string }).user_id : undefined;
      subscriptions.push({ channel, accepted, ...(userId !== undefined ? { userId } : {}) });
      if (!accepted) return send('pusher:error', { code: 4009, message: 'Invalid signature' });
      const presence = userId !== undefined ? { presence: { count: 1, ids: [userId], hash: { [userId]: {} } } } : {};
      send('pusher_internal:subscription_succeeded', presence, channel);
    });
  }

  beforeAll(async () => {
    const app = express();
    app.use((req, res, next) => {
      if (req.path === '/api/pusher/auth') res.once('finish', () => authCalls.push({ contentType: req.headers['content-type'], status: res.statusCode }));
      next();
    });
    app.get('/pusher.min.js', (_req, res) => res.sendFile(join(__dirname, '..', 'node_modules', 'pusher-js', 'dist', 'web', 'pusher.min.js')));
    app.get('/', (_req, res) => res.type('html').send('<!doctype html><title>pusher</title><script src="/pusher.min.js"></script>'));
    app.use(
      pusherAuthRouter({
        appId: APP_ID,
        key: KEY,
        secret: SECRET,
        // the page's session: every request of this page is Ada's
        resolveUser: () => USER,
        canJoin: (user, channel) => channel === `private-user-${user.id}` || channel === 'presence-lobby',
        userInfo: (user) => ({ name: user.name }),
      }),
    );
    server = createServer(app);
    wss = new WebSocketServer({ server, path: `/app/${KEY}` });
    let sockets = 0;
    wss.on('connection', (socket) => standIn(socket, `${++sockets}.${1000 + sockets}`));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    origin = `http://127.0.0.1:${port}`;
    browser = await launchChromium();
    page = await browser.newPage();
    await page.goto(`${origin}/`);
    await page.evaluate(
      ({ key, port }) => {
        const w = window as unknown as { Pusher: new (key: string, options: object) => unknown; client: unknown };
        w.client = new w.Pusher(key, {
          cluster: 'mt1',
          wsHost: '127.0.0.1',
          wsPort: port,
          forceTLS: false,
          enabledTransports: ['ws'],
          disableStats: true,
          channelAuthorization: { endpoint: '/api/pusher/auth', transport: 'ajax' },
        });
      },
      { key: KEY, port },
    );
  });

  afterAll(async () => {
    await browser?.close();
    wss?.close();
    await new Promise((resolve) => server?.close(resolve));
  });

  /** Subscribes in the page and resolves with what pusher-js reported: success, or the error's status. */
  function subscribe(channel: string): Promise<{ ok: true } | { ok: false; status: number | undefined }> {
    return page.evaluate(
      (name) =>
        new Promise((resolve) => {
          const client = (window as unknown as { client: { subscribe(name: string): { bind(event: string, cb: (data: { status?: number }) => void): void } } }).client;
          const channel = client.subscribe(name);
          channel.bind('pusher:subscription_succeeded', () => resolve({ ok: true }));
          channel.bind('pusher:subscription_error', (error) => resolve({ ok: false, status: error.status }));
          // the service refuses a bad signature on the connection, not the channel: no event reaches the channel
          setTimeout(() => resolve({ ok: false, status: undefined }), 5000);
        }),
      channel,
    ) as Promise<{ ok: true } | { ok: false; status: number | undefined }>;
  }

  it("joins the user's own private channel with the router's answer, which the service accepts", async () => {
    await expect(subscribe('private-user-user-ada')).resolves.toEqual({ ok: true });
    expect(subscriptions).toContainEqual({ channel: 'private-user-user-ada', accepted: true });
    expect(authCalls.at(-1)).toEqual({ contentType: 'application/x-www-form-urlencoded', status: 200 });
  });

  it('joins a presence channel as the signed-in user', async () => {
    await expect(subscribe('presence-lobby')).resolves.toEqual({ ok: true });
    expect(subscriptions).toContainEqual({ channel: 'presence-lobby', accepted: true, userId: 'user-ada' });
  });

  it("is refused another user's channel: pusher-js reports the router's 403 and never subscribes", async () => {
    const before = subscriptions.length;
    await expect(subscribe('private-user-user-bob')).resolves.toEqual({ ok: false, status: 403 });
    expect(authCalls.at(-1)).toEqual({ contentType: 'application/x-www-form-urlencoded', status: 403 });
    // nothing reached the service for that channel
    expect(subscriptions.slice(before)).toEqual([]);
  });
});
