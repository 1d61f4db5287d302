import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import path from 'node:path';
import cookieParser from 'cookie-parser';
import express, { type NextFunction, type Request, type Response } from 'express';
import helmet from 'helmet';
import {
  neuroonWidgetToken,
  renderNeuroonScriptTag,
  serveNeutEmbedScript,
  WidgetAuthError,
  wonderfulEntityIdFor,
  type WidgetAuthLogger,
} from '../lib';
import { verifyHissunoToken } from '../lib/testing';
import { renderDashboard, renderLogin, renderPresets, renderProblem, shorten, type NeuroonRender } from './pages';
import { DEMO_PRESETS, setUpPresets, type DemoPresets } from './presets';
import { DEMO_USERS, findUser, resolveDemoUser, SESSION_COOKIE, type DemoUser } from './users';
import { setUpVendors, type DemoMode, type DemoSandbox, type DemoVendor, type DemoVendors } from './vendors';

/** Options of {@link startDemo}. */
export interface StartDemoOptions {
  /** Port to listen on; `0` picks a free one. Defaults to 3000. */
  port?: number;
  /** Interface to listen on. Defaults to `127.0.0.1` (the demo is for this machine only). */
  host?: string;
  /** Where vendor variables are read; a vendor with none of its variables runs in sandbox mode. Defaults to `{}`. */
  env?: Record<string, string | undefined>;
  /** Life of a Neut widget session in the sandbox before it asks for a refresh. Defaults to 8000 ms. */
  neutSessionLifeMs?: number;
  /** Where request log lines go. Defaults to none. */
  log?: (line: string) => void;
}

/** A running demo. */
export interface Demo {
  /** `http://localhost:<port>`. */
  url: string;
  port: number;
  modes: Record<DemoVendor, DemoMode>;
  /** The in-process fakes of the sandbox vendors. */
  sandbox: DemoSandbox;
  /** Every secret the demo holds (vendor secrets, preset secrets, the cookie secret): none may reach the browser. */
  secrets: readonly string[];
  /** The sandbox secrets of each preset on `/presets`, by preset id (also in `secrets`): none may reach the browser. */
  presetSecrets: Readonly<Record<string, readonly string[]>>;
  /** One line per vendor (mode and where it runs) and one for the presets. */
  describe(): string[];
  close(): Promise<void>;
}

const PUBLIC_DIR = path.join(__dirname, 'public');
const VERDICT_PATH = '/demo/verify/:vendor';

function requestLogger(log: (line: string) => void): WidgetAuthLogger {
  const write = (obj: object) => {
    const e = obj as { vendor?: string; method?: string; route?: string; status?: number; code?: string; durationMs?: number; upstreamMs?: number };
    const upstream = e.upstreamMs !== undefined ? ` (vendor ${e.upstreamMs} ms)` : '';
    log(`[${e.vendor}] ${e.method} ${e.route} \u2192 ${e.status}${e.code ? ` ${e.code}` : ''} in ${e.durationMs} ms${upstream}`);
  };
  return { info: write, warn: write, error: write };
}

/** 503 for a request that arrived while the demo was starting, when it then failed to start. */
function answerUnavailable(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    // the client may have gone already: then there is nothing to flush
    if (res.destroyed) return resolve();
    res.once('close', () => resolve());
    res.writeHead(503, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store', Connection: 'close' });
    res.end('The demo could not start; see its console.\n', () => resolve());
  });
}

/**
 * Start the demo: every vendor in sandbox mode (its fake started in-process on
 * loopback, credentials generated now) unless `env` configures it, a demo login, one
 * page with a card per vendor, and `/presets` with a row per local-signing preset (its
 * sandbox secret generated now, its answer checked by code that is not the package's).
 *
 * @example
 * ```ts
 * const demo = await startDemo({ port: 0 });
 * console.log(demo.url);
 * await demo.close();
 * ```
 */
export async function startDemo(options: StartDemoOptions = {}): Promise<Demo> {
  const env = options.env ?? {};
  const server: Server = createServer();
  // The app needs the port (its origin) before it can be built, so the port opens first.
  // A request that arrives in between waits for the app instead of hanging unanswered.
  let handler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined = undefined;
  const waiting: [IncomingMessage, ServerResponse][] = [];
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (handler) handler(req, res);
    else waiting.push([req, res]);
  });
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 3000, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const origin = `http://localhost:${port}`;
  const closeServer = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const socket of sockets) socket.destroy();
    });

  let vendors: DemoVendors;
  try {
    vendors = await setUpVendors({
      env,
      origin,
      alternateOrigins: [`http://127.0.0.1:${port}`],
      resolveUser: resolveDemoUser,
      ...(options.log ? { logger: requestLogger(options.log) } : {}),
      neutSessionLifeMs: options.neutSessionLifeMs ?? 8000,
    });
  } catch (err) {
    await Promise.all(waiting.splice(0).map(([, res]) => answerUnavailable(res)));
    await closeServer();
    throw err;
  }
  const { modes, sandbox } = vendors;
  let presets: DemoPresets;
  try {
    presets = setUpPresets({
      resolveUser: resolveDemoUser,
      allowedOrigins: [origin, `http://127.0.0.1:${port}`],
      ...(options.log ? { logger: requestLogger(options.log) } : {}),
    });
  } catch (err) {
    await Promise.all(waiting.splice(0).map(([, res]) => answerUnavailable(res)));
    await closeServer();
    await vendors.close();
    throw err;
  }
  const cookieSecret = randomBytes(32).toString('base64url');

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(
    helmet({
      contentSecurityPolicy: {
        useDefaults: false,
        directives: {
          defaultSrc: ["'self'"],
          scriptSrc: ["'self'", ...(modes.neuroon === 'live' ? ['https://cdn.neuroon.ai'] : [])],
          styleSrc: ["'self'"],
          imgSrc: ["'self'", 'data:'],
          connectSrc: ["'self'", ...(vendors.neuroonApiOrigin ? [vendors.neuroonApiOrigin] : [])],
          frameSrc: [vendors.neutWidgetOrigin],
          frameAncestors: ["'none'"],
          formAction: ["'self'"],
          baseUri: ["'none'"],
          objectSrc: ["'none'"],
        },
      },
      // the demo is served over plain http on this machine
      strictTransportSecurity: false,
      // "no-referrer" would also make same-origin POSTs send `Origin: null`, which the routers' origin check refuses
      referrerPolicy: { policy: 'same-origin' },
    }),
  );
  app.use(cookieParser(cookieSecret));

  const neuroonToken = neuroonWidgetToken(vendors.neuroonProvider);

  app.get('/', (req, res, next) => {
    const user = resolveDemoUser(req);
    res.setHeader('Cache-Control', 'no-store');
    if (!user) {
      res.type('html').send(renderLogin(DEMO_USERS, modes));
      return;
    }
    neuroonToken(req, res, (err?: unknown) => {
      const neuroon: NeuroonRender = {};
      if (err) {
        neuroon.error = err instanceof WidgetAuthError ? err.code : 'INTERNAL_ERROR';
      } else {
        const token = res.locals['neuroonWidgetToken'] as string;
        const tag = { container: '#neuroon-search', theme: 'auto' as const, ...(vendors.neuroonScriptSrc ? { src: vendors.neuroonScriptSrc } : {}) };
        neuroon.token = token;
        neuroon.scriptTag = renderNeuroonScriptTag({ token, ...tag });
        neuroon.shownTag = renderNeuroonScriptTag({ token: shorten(token), ...tag }).replace(/ data-/g, '\n  data-');
      }
      try {
        res.type('html').send(renderDashboard({ user, modes, neutWidgetOrigin: vendors.neutWidgetOrigin, neuroon }));
      } catch (renderError) {
        next(renderError);
      }
    });
  });

  app.get('/presets', (req, res) => {
    const user = resolveDemoUser(req);
    res.setHeader('Cache-Control', 'no-store');
    if (!user) {
      res.redirect(303, '/');
      return;
    }
    const rows = DEMO_PRESETS.map((p) => ({ id: p.id, name: p.name, kind: p.kind, method: p.call.method, path: p.call.path, credentialFields: p.credentialFields, ...(p.call.form ? { form: p.call.form } : {}) }));
    res.type('html').send(renderPresets({ user, presets: rows }));
  });

  app.post('/login', express.urlencoded({ extended: false, limit: '1kb' }), (req, res) => {
    const user = findUser((req.body as Record<string, unknown> | undefined)?.['user']);
    if (!user) {
      res.status(400).type('html').send(renderProblem(400, 'Pick one of the demo users.'));
      return;
    }
    res.cookie(SESSION_COOKIE, user.id, { signed: true, httpOnly: true, sameSite: 'lax', secure: origin.startsWith('https:'), path: '/', maxAge: 8 * 3600_000 });
    res.redirect(303, '/');
  });

  app.post('/logout', (_req, res) => {
    res.clearCookie(SESSION_COOKIE, { httpOnly: true, sameSite: 'lax', path: '/' });
    res.redirect(303, '/');
  });

  app.use('/static', express.static(PUBLIC_DIR, { index: false, fallthrough: false, maxAge: 0, etag: false }));
  app.get('/neut-embed.js', serveNeutEmbedScript());
  if (modes.neuroon === 'sandbox') {
    app.get('/demo/neuroon-widget.js', (_req, res) => {
      res.sendFile(path.join(PUBLIC_DIR, 'neuroon-sandbox.js'), { headers: { 'Content-Type': 'text/javascript; charset=utf-8', 'Cache-Control': 'no-store' } });
    });
  }

  app.post(VERDICT_PATH, express.json({ limit: '8kb' }), (req: Request, res: Response, next: NextFunction) => {
    res.setHeader('Cache-Control', 'no-store');
    const user = resolveDemoUser(req);
    if (!user) {
      res.status(401).json({ error: { code: 'UNAUTHORIZED', message: 'Sign in first.' } });
      return;
    }
    const vendor = String(req.params['vendor']);
    const body = (typeof req.body === 'object' && req.body !== null ? req.body : {}) as Record<string, unknown>;
    verdict(vendor, body, user).then((answer) => {
      if (answer === undefined) res.status(404).json({ error: { code: 'NOT_FOUND', message: 'No such vendor.' } });
      else res.json(answer);
    }, next);
  });

  for (const router of vendors.routers) app.use(router);
  for (const router of presets.routers) app.use(router);

  app.use((_req, res) => {
    res.status(404).type('html').send(renderProblem(404, 'There is nothing here.'));
  });
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const status = (err as { status?: number; statusCode?: number }).status ?? (err as { statusCode?: number }).statusCode ?? 500;
    const code = status >= 400 && status < 500 ? status : 500;
    if (code === 500) options.log?.(`[demo] unexpected error: ${err instanceof Error ? err.name : typeof err}`);
    res.status(code).type('html').send(renderProblem(code, code === 404 ? 'There is nothing here.' : code < 500 ? 'The request could not be handled.' : 'Something went wrong.'));
  });

  /** The sandbox's view of a credential the page received. Answers only a verdict, never a secret. */
  async function verdict(vendor: string, body: Record<string, unknown>, user: DemoUser): Promise<object | undefined> {
    const text = (key: string): string => (typeof body[key] === 'string' ? (body[key] as string) : '');
    switch (vendor) {
      case 'hissuno': {
        try {
          const claims = verifyHissunoToken(text('token'), vendors.hissunoSecretKey);
          if (claims.userId !== user.id) return { verdict: 'refused', reason: 'the token is for another user' };
          return { verdict: 'verified', detail: 'HS256, string userId, 60 s clock tolerance' };
        } catch (err) {
          return { verdict: 'refused', reason: err instanceof Error ? err.message.slice(0, 100) : 'refused' };
        }
      }
      case 'neut': {
        const host = sandbox.neutHost;
        if (!host) return { verdict: 'live' };
        const nonce = text('nonce');
        const ok = host.verified.find((v) => v.nonce === nonce);
        if (ok) return { verdict: 'verified', detail: `${ok.widgetId} for ${ok.customerOrigin}, nonce used once` };
        const refused = host.refused.find((r) => r.nonce === nonce);
        if (refused) return { verdict: 'refused', reason: refused.code };
        return { verdict: 'pending' };
      }
      case 'neuroon': {
        const fake = sandbox.neuroon;
        if (!fake) return { verdict: 'live' };
        const res = await fetch(`${fake.url}/api/widget/search?q=demo`, { headers: { 'X-Widget-Token': text('token') }, signal: AbortSignal.timeout(5000) });
        const answer = (await res.json().catch(() => ({}))) as { shopId?: string };
        return res.ok ? { verdict: 'verified', detail: `widget API accepted the token for ${answer.shopId ?? 'the shop'}` } : { verdict: 'refused', reason: `widget API answered ${res.status}` };
      }
      case 'nevermined': {
        const fake = sandbox.nevermined;
        if (!fake) return { verdict: 'live' };
        const issued = fake.sessions.find((s) => s.session.sessionToken === text('sessionToken'));
        if (!issued) return { verdict: 'refused', reason: 'the sandbox never issued this session' };
        if (issued.email !== user.email) return { verdict: 'refused', reason: 'the session is for another user' };
        if (Date.parse(issued.session.expiresAt) <= Date.now()) return { verdict: 'refused', reason: 'the session expired' };
        return { verdict: 'verified', detail: `session of ${issued.email} issued by the sandbox` };
      }
      case 'wonderful': {
        const fake = sandbox.wonderful;
        if (!fake) return { verdict: 'live' };
        try {
          const claims = fake.verify(text('token'));
          if (claims.sub !== wonderfulEntityIdFor(user)) return { verdict: 'refused', reason: 'the token is for another entity' };
          return { verdict: 'verified', detail: 'RS256 signature and expiry checked with the sandbox\u2019s public key' };
        } catch (err) {
          return { verdict: 'refused', reason: err instanceof Error ? err.message.slice(0, 100) : 'refused' };
        }
      }
      default:
        return presets.verify(vendor, body, user);
    }
  }

  handler = app;
  for (const [req, res] of waiting.splice(0)) app(req, res);

  return {
    url: origin,
    port,
    modes,
    sandbox,
    secrets: Object.freeze([...vendors.secrets, ...Object.values(presets.secrets).flat(), cookieSecret]),
    presetSecrets: presets.secrets,
    describe: () => [
      ...(['nevermined', 'neuroon', 'hissuno', 'neut', 'wonderful'] as const).map((v) => `${v.padEnd(11)} ${modes[v].padEnd(8)} ${vendors.describe(v)}`),
      `${'presets'.padEnd(11)} ${'sandbox'.padEnd(8)} ${DEMO_PRESETS.length} local-signing routers of ${new Set(DEMO_PRESETS.map((p) => p.name)).size} vendors, secrets generated at start; see ${origin}/presets`,
    ],
    close: async () => {
      await closeServer();
      await vendors.close();
    },
  };
}
