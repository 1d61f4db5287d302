/**
 * Origins in a real browser: Debian's Chromium loads pages from the app
 * (`app.example.test`), from another origin of the same site (`evil.example.test`),
 * from another site (`attacker.test`) and from a listed partner (`partner.test`), all
 * served over HTTPS by one server on 127.0.0.1 (`--host-resolver-rules` maps the names).
 * The visitor is signed in with a session cookie, so every attack carries it and would
 * have minted a Nevermined session and spent the user's rate limit on 0.1.0.
 *
 * The profile allows third-party cookies (as most browsers still do), so that
 * `SameSite=None` cookies reach cross-site subresources; `SameSite=Lax` cookies reach
 * same-site subresources and cross-site top-level navigations in any profile.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { neverminedSessionRouter, type NeverminedSessionRouterOptions, type WidgetUser } from '../lib';
import { startFakeNevermined, type FakeNevermined } from '../lib/testing';
import { captureLogger, expectNoSecrets } from './helpers/app';
import { CHROMIUM_ARGS, CHROMIUM_PATH, chromiumInstalled, runningInCI } from './helpers/browser';

const ORG = 'org-origin-browser';
const SECRET = 'wk_test_origin_browser_0123';
const ROUTE = '/api/widget-session';
const LIMIT = 3;
const USER: WidgetUser = { id: 'user-ada', email: 'ada@example.com', name: 'Ada' };

if (!chromiumInstalled) {
  const reason = `Debian's Chromium is not installed at ${CHROMIUM_PATH} (apt-get install chromium)`;
  if (runningInCI) {
    it('has a browser to run the origin tests in', () => {
      throw new Error(`${reason}; browser tests must run under CI`);
    });
  } else {
    console.warn(`skipping the origin browser test: ${reason}`);
  }
}

const describeInBrowser = chromiumInstalled ? describe : describe.skip; // skip-reason: no /usr/bin/chromium on this machine (CI installs it and fails instead of skipping)

/** One request to the route, as the server saw it. */
interface Seen {
  method: string;
  site?: string;
  mode?: string;
  dest?: string;
  origin?: string;
  signedIn: boolean;
  status: number;
}

type Load = 'img' | 'script' | 'iframe' | 'fetch-no-cors' | 'fetch-cors';

describeInBrowser('origins in headless Chromium', () => {
  jest.setTimeout(60_000);

  let fake: FakeNevermined;
  let server: Server;
  let context: BrowserContext;
  let page: Page;
  let profile: string;
  let port: number;
  let router: express.Router;
  const seen: Seen[] = [];
  const logger = captureLogger();
  const bodies: string[] = [];
  const sessions = new Map<string, WidgetUser>();

  const url = (host: string) => `https://${host}:${port}`;
  const APP = () => url('app.example.test');
  const TARGET = () => `${APP()}${ROUTE}`;

  function mount(options: Partial<NeverminedSessionRouterOptions>): void {
    router = neverminedSessionRouter({
      orgId: ORG,
      rawSecret: SECRET,
      apiBaseUrl: fake.url,
      resolveUser: (req) => {
        const sid = /(?:^|;\s*)sid=([^;]+)/.exec(req.headers.cookie ?? '')?.[1];
        return (sid !== undefined && sessions.get(sid)) || null;
      },
      rateLimit: { windowMs: 60_000, limit: LIMIT },
      logger,
      ...options,
    });
    seen.length = 0;
  }

  async function signIn(sameSite: 'Lax' | 'None'): Promise<void> {
    await context.clearCookies();
    await page.goto(`${APP()}/login?samesite=${sameSite}`);
    const cookies = await context.cookies(APP());
    expect(cookies).toEqual([expect.objectContaining({ name: 'sid', sameSite, secure: true, httpOnly: true })]);
  }

  /** Open a page of `origin` and make it load the route in each way; what the page could read. */
  async function loadFrom(origin: string, loads: readonly Load[]): Promise<Record<string, string>> {
    await page.goto(`${origin}/`);
    return page.evaluate(
      async ({ target, loads }) => {
        const element = (tag: 'img' | 'script' | 'iframe') =>
          new Promise<string>((resolve) => {
            const el = document.createElement(tag);
            el.addEventListener('load', () => resolve('load'));
            el.addEventListener('error', () => resolve('error'));
            setTimeout(() => resolve('timeout'), 10_000);
            el.src = target;
            document.body.append(el);
          });
        const results: Record<string, string> = {};
        for (const load of loads) {
          if (load === 'fetch-no-cors') {
            const res = await fetch(target, { mode: 'no-cors', credentials: 'include' });
            results[load] = res.type;
          } else if (load === 'fetch-cors') {
            try {
              const res = await fetch(target, { credentials: 'include' });
              results[load] = `read ${res.status} ${await res.text()}`;
            } catch {
              results[load] = 'blocked';
            }
          } else {
            results[load] = await element(load);
          }
        }
        return results;
      },
      { target: TARGET(), loads },
    );
  }

  /** A top-level navigation from a page of `origin` to the route (a link the visitor is lured into following). */
  async function navigateFrom(origin: string): Promise<void> {
    await page.goto(`${origin}/`);
    await Promise.all([page.waitForURL(TARGET()), page.evaluate((target) => (location.href = target), TARGET()).catch(() => undefined)]);
  }

  /** The app's own page calls the route with fetch: GET, then POST. */
  async function ownCalls(): Promise<{ status: number; body: unknown }[]> {
    await page.goto(`${APP()}/`);
    return page.evaluate(async () => {
      const get = await fetch('/api/widget-session');
      const post = await fetch('/api/widget-session', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
      return [
        { status: get.status, body: await get.json() },
        { status: post.status, body: await post.json() },
      ];
    });
  }

  /** The attacks reached the server signed in, and every one was refused with 403 FORBIDDEN_ORIGIN. */
  function expectRefusedAttacks(count: number): void {
    const attacks = seen.filter((s) => s.site !== 'same-origin' || s.mode !== 'cors');
    expect(attacks).toHaveLength(count);
    for (const attack of attacks) expect(attack).toEqual({ ...attack, signedIn: true, status: 403 });
  }

  beforeAll(async () => {
    fake = await startFakeNevermined({ orgs: { [ORG]: { secret: SECRET } } });
    const app = express();
    app.get('/login', (req, res) => {
      const sid = `s${sessions.size}-${Date.now()}`;
      sessions.set(sid, USER);
      res.setHeader('Set-Cookie', `sid=${sid}; Path=/; Secure; HttpOnly; SameSite=${req.query['samesite'] === 'None' ? 'None' : 'Lax'}`);
      res.type('html').send('<!doctype html><title>signed in</title><p>signed in');
    });
    app.use(ROUTE, (req, res, next) => {
      const header = (name: string) => (typeof req.headers[name] === 'string' ? (req.headers[name] as string) : undefined);
      res.on('finish', () => {
        const entry: Seen = { method: req.method, signedIn: /(?:^|;\s*)sid=/.test(req.headers.cookie ?? ''), status: res.statusCode };
        for (const [key, name] of [['site', 'sec-fetch-site'], ['mode', 'sec-fetch-mode'], ['dest', 'sec-fetch-dest'], ['origin', 'origin']] as const) {
          const value = header(name);
          if (value !== undefined) entry[key] = value;
        }
        seen.push(entry);
      });
      next();
    });
    app.use((req, res, next) => (req.hostname === 'app.example.test' ? router(req, res, next) : next()));
    app.get('/', (req, res) => {
      res.type('html').send(`<!doctype html><title>${req.hostname}</title><p>${req.hostname}`);
    });
    const fixtures = join(__dirname, 'fixtures');
    server = createServer({ key: readFileSync(join(fixtures, 'loopback-tls.key')), cert: readFileSync(join(fixtures, 'loopback-tls.crt')) }, app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;

    profile = mkdtempSync(join(tmpdir(), 'origin-browser-'));
    mkdirSync(join(profile, 'Default'));
    // allow third-party cookies, as a default Chrome profile still does
    writeFileSync(join(profile, 'Default', 'Preferences'), JSON.stringify({ profile: { cookie_controls_mode: 0, block_third_party_cookies: false } }));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      ignoreHTTPSErrors: true,
      args: [...CHROMIUM_ARGS, '--host-resolver-rules=MAP *.example.test 127.0.0.1, MAP attacker.test 127.0.0.1, MAP partner.test 127.0.0.1'],
    });
    page = context.pages()[0] ?? (await context.newPage());
  });

  afterAll(async () => {
    await context?.close();
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    await fake?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
    expectNoSecrets(logger.text(), [SECRET, ...(fake?.sessions ?? []).map((s) => s.session.sessionToken)]);
    expectNoSecrets(bodies.join('\n'), [SECRET]);
  });

  it('SameSite=Lax: a same-site page’s img, script, iframe and fetches, another site’s link and an img injected into the app’s own page mint nothing and do not lock the user out', async () => {
    mount({});
    await signIn('Lax');
    const before = fake.requests.length;

    const read = await loadFrom(url('evil.example.test'), ['img', 'script', 'iframe', 'fetch-no-cors', 'fetch-cors']);
    expect(read).toEqual({ img: 'error', script: 'error', iframe: 'load', 'fetch-no-cors': 'opaque', 'fetch-cors': 'blocked' });
    await navigateFrom(url('attacker.test'));
    bodies.push((await page.content()) ?? '');
    // HTML injection on the app's own page (a markdown image, say)
    await page.goto(`${APP()}/`);
    await page.evaluate(
      (target) =>
        new Promise<void>((resolve) => {
          const img = document.createElement('img');
          img.onload = img.onerror = () => resolve();
          img.src = target;
          document.body.append(img);
        }),
      TARGET(),
    );
    expectRefusedAttacks(7);
    expect(seen.filter((s) => s.site === 'same-site').map((s) => `${s.mode} ${s.dest}`)).toEqual(['no-cors image', 'no-cors script', 'navigate iframe', 'no-cors empty', 'cors empty']);
    expect(seen.find((s) => s.site === 'cross-site')).toMatchObject({ mode: 'navigate', dest: 'document' });
    expect(fake.requests.length).toBe(before);

    // the user is not locked out: the app's own GET and POST are served, each a real vendor session
    const own = await ownCalls();
    expect(own.map((r) => r.status)).toEqual([200, 200]);
    expect(own.map((r) => r.body)).toEqual(fake.sessions.slice(-2).map((s) => s.session));
    expect(fake.requests.length).toBe(before + 2);
    expect(seen.filter((s) => s.site === 'same-origin' && s.mode === 'cors')).toEqual([
      { method: 'GET', site: 'same-origin', mode: 'cors', dest: 'empty', signedIn: true, status: 200 },
      { method: 'POST', site: 'same-origin', mode: 'cors', dest: 'empty', origin: APP(), signedIn: true, status: 200 },
    ]);
  });

  it('SameSite=None: another site’s img, script, iframe and fetches carry the cookie and mint nothing', async () => {
    mount({});
    await signIn('None');
    const before = fake.requests.length;

    const read = await loadFrom(url('attacker.test'), ['img', 'script', 'iframe', 'fetch-no-cors', 'fetch-cors', 'img']);
    expect(read).toMatchObject({ img: 'error', script: 'error', iframe: 'load', 'fetch-no-cors': 'opaque', 'fetch-cors': 'blocked' });
    expectRefusedAttacks(6);
    expect(seen.every((s) => s.site === 'cross-site')).toBe(true);
    expect(fake.requests.length).toBe(before);

    const own = await ownCalls();
    expect(own.map((r) => r.status)).toEqual([200, 200]);
    expect(fake.requests.length).toBe(before + 2);
  });

  it('requireOrigin: the app’s own fetch GET (sent without Origin) and POST are served; a same-site page’s cors fetch and img are not', async () => {
    mount({ requireOrigin: true });
    await signIn('Lax');
    const before = fake.requests.length;

    const own = await ownCalls();
    expect(own.map((r) => r.status)).toEqual([200, 200]);
    expect(seen.map((s) => s.origin)).toEqual([undefined, APP()]);

    const read = await loadFrom(url('evil.example.test'), ['fetch-cors', 'img']);
    expect(read).toEqual({ 'fetch-cors': 'blocked', img: 'error' });
    expectRefusedAttacks(2);
    expect(fake.requests.length).toBe(before + 2);
  });

  it('allowedOrigins with cors: the listed partner reads a session with a credentialed fetch; its img, and an unlisted same-site page, get nothing', async () => {
    mount({ allowedOrigins: [url('partner.test')], cors: true });
    await signIn('None');
    const before = fake.requests.length;

    const partner = await loadFrom(url('partner.test'), ['fetch-cors', 'img']);
    const evil = await loadFrom(url('evil.example.test'), ['fetch-cors', 'script']);
    expect(evil).toEqual({ 'fetch-cors': 'blocked', script: 'error' });
    expect(seen.map((s) => [s.site, s.mode, s.origin, s.signedIn, s.status])).toEqual([
      ['cross-site', 'cors', url('partner.test'), true, 200],
      ['cross-site', 'no-cors', undefined, true, 403],
      ['same-site', 'cors', url('evil.example.test'), true, 403],
      ['same-site', 'no-cors', undefined, true, 403],
    ]);
    expect(fake.requests.length).toBe(before + 1);

    expect(partner['fetch-cors']).toMatch(/^read 200 \{"sessionToken":"nvm_ws_/);
    expect(partner['img']).toBe('error');
    expect(JSON.parse(partner['fetch-cors']!.slice('read 200 '.length))).toEqual(fake.sessions.at(-1)!.session);
  });
});
