/**
 * @liveblocks/client, from the registry, bundled for the page with esbuild when the test
 * starts, in Debian's Chromium, against Liveblocks' own dev server (`liveblocks dev`, a
 * child process). The page is served with a signed-in user by the Express app that
 * mounts liveblocksAuthRouter, pointed at the dev server, and the page's client is created
 * with `authEndpoint: '/api/liveblocks-auth'`, as the docs show: it enters a room the
 * `permissions` hook allows (the dev server accepts the router's token on its room
 * WebSocket), and for a room the hook refuses it reports the router's 403 as an
 * authentication failure and stops, with no call made to the dev server.
 *
 * The dev server's only key is `sk_localdev` (refused by the weak-secret rules:
 * `allowWeakSecrets: true`); its tokens carry its project id `localdev`, a piece of that
 * key, so the suite-wide leak watch (which looks for pieces) is paused while the page
 * runs, and the router's answers are checked here for the key itself.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { build } from 'esbuild';
import express from 'express';
import type { Browser, Page } from 'playwright-core';
import { liveblocksAuthRouter, type WidgetUser } from '../lib';
import { expectNoSecrets } from './helpers/app';
import { CHROMIUM_PATH, chromiumInstalled, launchChromium, runningInCI, watchPage } from './helpers/browser';
import { loadJose } from './helpers/jose';
import { RUN_LIVEBLOCKS_DEV_TESTS, startLiveblocksDev, type LiveblocksDevServer } from './helpers/liveblocks-dev';
import { allowSecretsWhile } from './setup/leak-watch';

const USER: WidgetUser = { id: 'user-ada', email: 'ada@example.com', name: 'Ada Lovelace' };
const DEV_KEY = 'sk_localdev';

if (!chromiumInstalled) {
  const reason = `Debian's Chromium is not installed at ${CHROMIUM_PATH} (apt-get install chromium)`;
  if (runningInCI) {
    it('has a browser to run @liveblocks/client in', () => {
      throw new Error(`${reason}; browser tests must run under CI`);
    });
  } else {
    console.warn(`skipping the @liveblocks/client browser test: ${reason}`);
  }
}

const describeInBrowser = chromiumInstalled && RUN_LIVEBLOCKS_DEV_TESTS ? describe : describe.skip; // skip-reason: no /usr/bin/chromium, or no bun / liveblocks CLI, on this machine (CI has them and fails instead of skipping)

/** What the page reports about one room. */
type Outcome = { status: string; self: { id: string; canWrite: boolean; info: unknown } | null; errors: { code: unknown; message: string }[] };

describeInBrowser('@liveblocks/client in headless Chromium, authenticated by liveblocksAuthRouter against the dev server', () => {
  jest.setTimeout(60_000);

  let dev: LiveblocksDevServer;
  let server: Server;
  let browser: Browser;
  let page: Page;
  /** Every call the router made to the dev server. */
  const vendorCalls: string[] = [];
  /** What the page received from the router: status and body. */
  let answers: () => Promise<{ status: number; body: string }[]>;
  const { decodeJwt } = loadJose();

  beforeAll(async () => {
    const [devServer, bundle] = await Promise.all([
      startLiveblocksDev(),
      build({
        stdin: { contents: "export { createClient } from '@liveblocks/client';", resolveDir: join(__dirname, '..'), loader: 'js' },
        bundle: true,
        format: 'iife',
        globalName: 'LiveblocksClient',
        platform: 'browser',
        target: 'es2020',
        minify: true,
        write: false,
        logLevel: 'silent',
        define: { 'process.env.NODE_ENV': '"production"' },
      }),
    ]);
    dev = devServer;
    const script = bundle.outputFiles[0]!.text;

    const app = express();
    app.get('/liveblocks-client.js', (_req, res) => res.type('js').send(script));
    app.get('/', (_req, res) => res.type('html').send('<!doctype html><title>liveblocks</title><script src="/liveblocks-client.js"></script>'));
    app.use(
      liveblocksAuthRouter({
        secretKey: DEV_KEY,
        allowWeakSecrets: true,
        apiBaseUrl: dev.url,
        // the page's session: every request of this page is Ada's
        resolveUser: () => USER,
        permissions: (user, room) => (room.startsWith(`${user.id}:`) ? ['room:write'] : null),
        userInfo: (user) => ({ name: user.name }),
        fetch: (input, init) => {
          vendorCalls.push(new URL(String(input)).pathname);
          return fetch(input, init);
        },
      }),
    );
    server = app.listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await launchChromium();
    page = await browser.newPage();
    const seen = watchPage(page);
    answers = async () => {
      await seen.settled();
      return seen.responses.filter((r) => new URL(r.url).pathname === '/api/liveblocks-auth').map((r) => ({ status: r.status, body: r.body }));
    };
    await page.goto(`${origin}/`);
    // the browser snippet of docs/liveblocks.md, with the dev server as Liveblocks
    await page.evaluate((baseUrl) => {
      const w = window as unknown as { LiveblocksClient: { createClient(options: object): unknown }; client: unknown };
      w.client = w.LiveblocksClient.createClient({ authEndpoint: '/api/liveblocks-auth', baseUrl });
    }, dev.url);
  }, 60_000);

  afterAll(async () => {
    const received = answers ? await answers() : [];
    await browser?.close();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await dev?.stop();
    expectNoSecrets(received.map((a) => a.body).join('\n'), [DEV_KEY]);
  });

  /** Enter `roomId` in the page; resolves once the room is connected or has failed (disconnected), or after 8 s. */
  function enter(roomId: string): Promise<Outcome> {
    return page.evaluate(
      (id) =>
        new Promise<Outcome>((resolve) => {
          type Room = {
            getStatus(): string;
            getSelf(): { id: string; canWrite: boolean; info: unknown } | null;
            subscribe(event: 'status', cb: (status: string) => void): () => void;
            subscribe(event: 'error', cb: (err: { message: string; context: { code: unknown } }) => void): () => void;
          };
          const client = (window as unknown as { client: { enterRoom(id: string, options: object): { room: Room } } }).client;
          const { room } = client.enterRoom(id, { initialPresence: {} });
          const errors: { code: unknown; message: string }[] = [];
          room.subscribe('error', (err) => errors.push({ code: err.context.code, message: err.message }));
          const finish = () => {
            const self = room.getSelf();
            resolve({ status: room.getStatus(), self: self && { id: self.id, canWrite: self.canWrite, info: self.info }, errors });
          };
          const settle = (status: string) => {
            if (status === 'disconnected') return finish();
            if (status !== 'connected') return;
            // the room's own state (self) follows the connection
            const poll = () => (room.getSelf() !== null ? finish() : setTimeout(poll, 20));
            poll();
          };
          room.subscribe('status', settle);
          settle(room.getStatus());
          setTimeout(finish, 8000);
        }),
      roomId,
    );
  }

  it('enters a room the permissions hook allows: the dev server accepts the token the router obtained', () =>
    allowSecretsWhile(async () => {
      const outcome = await enter('user-ada:notes');
      expect(outcome).toEqual({ status: 'connected', self: { id: 'user-ada', canWrite: true, info: { name: 'Ada Lovelace' } }, errors: [] });
      expect(vendorCalls).toEqual(['/v2/authorize-user']);
      const received = await answers();
      expect(received.map((a) => a.status)).toEqual([200]);
      const { token } = JSON.parse(received[0]!.body) as { token: string };
      expect(decodeJwt(token)).toMatchObject({ k: 'acc', uid: 'user-ada', perms: { 'user-ada:notes': ['room:write'] } });
    }));

  it('is refused a room the hook denies: the client reports the 403 as an authentication failure, and nothing reaches the dev server', () =>
    allowSecretsWhile(async () => {
      const calls = vendorCalls.length;
      const outcome = await enter('user-bob:notes');
      expect(outcome.status).toBe('disconnected');
      expect(outcome.self).toBeNull();
      expect(outcome.errors).toHaveLength(1);
      expect(outcome.errors[0]!.code).toBe(-1);
      expect(outcome.errors[0]!.message).toMatch(/^Unauthorized: .*"FORBIDDEN".*\(403 returned by POST \/api\/liveblocks-auth\)$/);
      expect((await answers()).at(-1)).toEqual({ status: 403, body: JSON.stringify({ error: { code: 'FORBIDDEN', message: 'You may not enter this room.' } }) });
      expect(vendorCalls).toHaveLength(calls);
    }));
});
