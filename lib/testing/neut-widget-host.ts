import { createHash } from 'node:crypto';
import { z } from 'zod';
import { parseOptions, requiredString } from '../core/config';
import { normaliseOrigin } from '../core/origin';
import { NeutBootstrapError, verifyNeutBootstrap, type NeutBootstrapErrorCode } from '../neut/verify';
import { NEUT_DEFAULT_WIDGETS } from '../neut/widgets';
import { startFakeServer, type FakeAnswer, type FakeServer, type RecordedRequest } from './fake-server';

/** One tenant the fake widget host knows. */
export interface FakeNeutTenant {
  /** The tenant's mint secret: the HMAC key its embed URLs are signed with. */
  mintSecret: string;
  /** Expected `bootstrap_key_id`. Defaults to not checked. */
  mintKeyId?: string;
  /**
   * Origins allowed to embed the tenant's widgets: `customer_origin` must be one of
   * them, and they are the page's `frame-ancestors`.
   */
  customerOrigins: string[];
}

/** Options of {@link startFakeNeutWidgetHost}. */
export interface FakeNeutWidgetHostOptions {
  /** Tenants by `tenant_id`. */
  tenants: Record<string, FakeNeutTenant>;
  /**
   * How long a verified page lives before it posts `{ type: 'neut-widget-refresh-request' }`
   * to its parent, in milliseconds. Defaults to 15 minutes.
   */
  sessionLifeMs?: number;
  /** Largest accepted distance between the signed time and now, either way. Defaults to 300. */
  maxSkewSeconds?: number;
  /** Widget id → embed page path. Defaults to the three documented widgets and their pages. */
  widgets?: Record<string, string>;
  /** Clock used for the skew check, in milliseconds. Defaults to `Date.now`. */
  now?: () => number;
}

/** An embed URL the host accepted, as recorded in `verified`. */
export interface FakeNeutVerifiedEmbed {
  tenantId: string;
  widgetId: string;
  customerOrigin: string;
  nonce: string;
  keyId: string;
  /** The signed time, Unix seconds. */
  timestamp: number;
  path: string;
  /** The widget's display parameters (every unsigned query parameter). */
  params: Record<string, string>;
  /** When the page was served, ms since the epoch. */
  at: number;
}

/**
 * Why the host refused an embed URL: a {@link NeutBootstrapErrorCode}, or
 * `UNKNOWN_TENANT` (no such `tenant_id`), `WIDGET_MISMATCH` (the page is not the signed
 * widget's page).
 */
export type FakeNeutRefusalCode = NeutBootstrapErrorCode | 'UNKNOWN_TENANT' | 'WIDGET_MISMATCH';

/** An embed URL the host refused, as recorded in `refused`. */
export interface FakeNeutRefusedEmbed {
  status: 401 | 403;
  code: FakeNeutRefusalCode;
  message: string;
  path: string;
  /** The URL's `tenant_id`, when it had one. */
  tenantId?: string;
  /** The URL's `bootstrap_nonce`, when it had one. */
  nonce?: string;
  at: number;
}

/** A running fake Neut widget host. */
export interface FakeNeutWidgetHost extends FakeServer {
  /** Every embed page served with a verified assertion, oldest first. */
  verified: FakeNeutVerifiedEmbed[];
  /** Every embed URL refused, oldest first. */
  refused: FakeNeutRefusedEmbed[];
}

const REFRESH_MESSAGE = 'neut-widget-refresh-request';

const originSchema = z.string().transform((value, ctx) => {
  const result = normaliseOrigin(value);
  if ('error' in result) {
    ctx.addIssue({ code: 'custom', message: result.error });
    return z.NEVER;
  }
  return result.origin;
});

const optionsSchema = z
  .object({
    tenants: z.record(
      z.string().min(1),
      z
        .object({
          mintSecret: z.string().min(1, 'must not be empty'),
          mintKeyId: requiredString().optional(),
          customerOrigins: z.array(originSchema).min(1, 'must list at least one origin'),
        })
        .strict(),
    ),
    sessionLifeMs: z.number().int().positive().max(24 * 3600_000).default(15 * 60_000),
    maxSkewSeconds: z.number().int().min(0).max(86_400).default(300),
    widgets: z.record(z.string().min(1), z.string().regex(/^\/[^\s?#]*$/, 'must be a path such as /my-widget-embed.html')).optional(),
    now: z.custom<() => number>((v) => typeof v === 'function', { message: 'must be a function returning milliseconds' }).optional(),
  })
  .strict();

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => ENTITIES[c]!);

// Constant text, so the page's CSP can allow exactly it by hash; the values it needs are data attributes.
const PAGE_SCRIPT = `(function () {
  var body = document.body;
  var life = Number(body.getAttribute('data-session-life-ms'));
  var target = body.getAttribute('data-customer-origin');
  var out = document.getElementById('session');
  if (!(life > 0) || !target || !out) return;
  var end = Date.now() + life;
  function tick() {
    var left = end - Date.now();
    if (left > 0) {
      out.textContent = 'Widget session ends in ' + Math.ceil(left / 1000) + ' s';
      setTimeout(tick, Math.min(left, 250));
      return;
    }
    out.textContent = 'Widget session expired: asked the page for a fresh URL';
    body.setAttribute('data-session', 'expired');
    if (window.parent !== window) window.parent.postMessage({ type: '${REFRESH_MESSAGE}' }, target);
  }
  tick();
})();`;

const PAGE_STYLE = `
:root { color-scheme: light; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; }
* { box-sizing: border-box; }
body { margin: 0; padding: 12px; color: #1f2937; background: #f8fafc; }
header { display: flex; flex-wrap: wrap; align-items: center; gap: 8px; margin-bottom: 8px; }
h1 { font-size: 15px; margin: 0; }
.badge { border-radius: 999px; padding: 2px 10px; font-size: 12px; font-weight: 600; }
.verified { background: #dcfce7; color: #166534; }
.refused { background: #fee2e2; color: #991b1b; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; margin: 0; }
dt { color: #64748b; }
dd { margin: 0; overflow-wrap: anywhere; }
#session { margin: 8px 0 0; font-size: 12px; color: #475569; }
`;

const sha256 = (text: string): string => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
const SCRIPT_HASH = sha256(PAGE_SCRIPT);
const STYLE_HASH = sha256(PAGE_STYLE);

function rows(entries: [string, string][]): string {
  return entries.map(([name, value]) => `<dt>${escapeHtml(name)}</dt><dd>${escapeHtml(value)}</dd>`).join('');
}

function page(status: number, ancestors: readonly string[], body: string, withScript: boolean): FakeAnswer {
  const csp = [
    "default-src 'none'",
    `script-src ${withScript ? SCRIPT_HASH : "'none'"}`,
    `style-src ${STYLE_HASH}`,
    `frame-ancestors ${ancestors.length > 0 ? ancestors.join(' ') : "'none'"}`,
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Neut widget</title><style>${PAGE_STYLE}</style></head>${body}${withScript ? `<script>${PAGE_SCRIPT}</script>` : ''}</html>`;
  return {
    status,
    body: html,
    headers: {
      'Content-Type': 'text/html; charset=utf-8',
      'Content-Security-Policy': csp,
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
      // the page URL holds a one-time assertion: never hand it on as a referrer
      'Referrer-Policy': 'no-referrer',
    },
  };
}

/**
 * Start a stand-in for Neut's widget host on `127.0.0.1` (real HTTP, ephemeral port). It
 * serves the embed pages (`/bill-preview-embed.html`, `/vote-breakdown-embed.html`,
 * `/legislation-by-subject-embed.html`) and checks each URL the way the real host
 * bootstraps a widget, with {@link verifyNeutBootstrap}: the tenant is known, the
 * assertion is the HMAC of the canonical value under the tenant's mint secret, the
 * timestamp canonical and within `maxSkewSeconds`, the key id as configured, the page
 * the signed widget's, `customer_origin` one of the tenant's `customerOrigins`, and the
 * nonce never seen before by this host.
 *
 * | answer | when |
 * |---|---|
 * | 200 page with `data-verdict="verified"` | every check passed; the nonce is now used |
 * | 403 page with `data-verdict="refused"` | `UNKNOWN_TENANT`, `TENANT_MISMATCH`, `ORIGIN_MISMATCH` |
 * | 401 page with `data-verdict="refused"` | any other failed check (`BAD_ASSERTION`, `EXPIRED`, `REPLAYED`, …) |
 * | 405 | an embed page requested with any method but `GET` |
 * | 404 | any other path |
 *
 * The refused page names the code in `data-reason`. The verified page lists the
 * widget's parameters (HTML-escaped) and, `sessionLifeMs` after it loads, posts
 * `{ type: 'neut-widget-refresh-request' }` to `window.parent` for the
 * `customer_origin`. Every page carries its own Content-Security-Policy: its one inline
 * script and style allowed by hash, and `frame-ancestors` limited to the tenant's
 * customer origins.
 *
 * The result is a {@link FakeServer} (`url`, `requests`, `fault(…)`, `close()`) plus
 * `verified` and `refused`, the outcome of every embed URL received.
 *
 * @example
 * ```ts
 * const host = await startFakeNeutWidgetHost({
 *   tenants: { 'tenant-acme': { mintSecret, customerOrigins: ['https://www.example.com'] } },
 *   sessionLifeMs: 8000,
 * });
 * app.use(neutEmbedParamsRouter({ tenantId: 'tenant-acme', hostOrigin: 'https://www.example.com', mintSecret, mintKeyId: 'k1', widgetOrigin: host.url }));
 * // … load the embed_url in a browser, then:
 * expect(host.verified).toHaveLength(1);
 * await host.close();
 * ```
 */
export async function startFakeNeutWidgetHost(options: FakeNeutWidgetHostOptions): Promise<FakeNeutWidgetHost> {
  const config = parseOptions('startFakeNeutWidgetHost', optionsSchema, options);
  const tenants = new Map(Object.entries(config.tenants));
  const widgetsByPath = new Map<string, string>();
  const widgetTable = config.widgets ?? Object.fromEntries(Object.entries(NEUT_DEFAULT_WIDGETS).map(([id, w]) => [id, w.path!]));
  for (const [id, path] of Object.entries(widgetTable)) widgetsByPath.set(path, id);
  const now = config.now ?? Date.now;
  // nonce → signed time (s): entries far older than the skew window can no longer pass and are dropped
  const seen = new Map<string, number>();
  const verified: FakeNeutVerifiedEmbed[] = [];
  const refused: FakeNeutRefusedEmbed[] = [];

  const forget = (nowSeconds: number) => {
    if (seen.size < 1000) return;
    for (const [nonce, at] of seen) if (nowSeconds - at > 2 * config.maxSkewSeconds + 60) seen.delete(nonce);
  };

  const refuse = (req: RecordedRequest, status: 401 | 403, code: FakeNeutRefusalCode, message: string, ancestors: readonly string[]): FakeAnswer => {
    const tenantId = req.query.get('tenant_id') ?? undefined;
    const nonce = req.query.get('bootstrap_nonce') ?? undefined;
    refused.push({ status, code, message, path: req.path, ...(tenantId ? { tenantId } : {}), ...(nonce ? { nonce } : {}), at: now() });
    const body =
      `<body data-verdict="refused" data-reason="${escapeHtml(code)}"><main><header><h1>Neut widget</h1>` +
      `<span class="badge refused">Refused: ${escapeHtml(code)}</span></header>` +
      `<dl>${rows([['reason', message], ['page', req.path]])}</dl></main></body>`;
    return page(status, ancestors, body, false);
  };

  const handler = (req: RecordedRequest): FakeAnswer | undefined => {
    const widgetOfPage = widgetsByPath.get(req.path);
    if (widgetOfPage === undefined) return undefined;
    if (req.method !== 'GET') {
      return { status: 405, body: 'Method not allowed', headers: { Allow: 'GET', 'Content-Type': 'text/plain; charset=utf-8' } };
    }
    const tenantId = req.query.get('tenant_id');
    const tenant = tenantId === null ? undefined : tenants.get(tenantId);
    if (tenant === undefined) return refuse(req, 403, 'UNKNOWN_TENANT', 'tenant_id is not a known tenant', []);
    const ancestors = tenant.customerOrigins;

    const query = req.query.toString();
    const url = `http://127.0.0.1${req.path}${query ? `?${query}` : ''}`;
    let result;
    try {
      result = verifyNeutBootstrap(url, {
        mintSecret: tenant.mintSecret,
        tenantId: tenantId!,
        ...(tenant.mintKeyId !== undefined ? { mintKeyId: tenant.mintKeyId } : {}),
        maxSkewSeconds: config.maxSkewSeconds,
        now,
      });
    } catch (err) {
      if (!(err instanceof NeutBootstrapError)) throw err;
      const status = err.code === 'TENANT_MISMATCH' || err.code === 'ORIGIN_MISMATCH' ? 403 : 401;
      return refuse(req, status, err.code, err.message, ancestors);
    }
    if (result.widgetId !== widgetOfPage) {
      return refuse(req, 401, 'WIDGET_MISMATCH', 'widget_id is not the widget of this page', ancestors);
    }
    if (!ancestors.includes(result.customerOrigin)) {
      return refuse(req, 403, 'ORIGIN_MISMATCH', 'customer_origin is not one of the tenant\u2019s origins', ancestors);
    }
    // the nonce is spent only by a URL that passed every other check
    if (seen.has(result.nonce)) return refuse(req, 401, 'REPLAYED', 'bootstrap_nonce was already used', ancestors);
    seen.set(result.nonce, result.timestamp);
    forget(Math.floor(now() / 1000));

    verified.push({
      tenantId: result.tenantId,
      widgetId: result.widgetId,
      customerOrigin: result.customerOrigin,
      nonce: result.nonce,
      keyId: result.keyId,
      timestamp: result.timestamp,
      path: result.path,
      params: result.params,
      at: now(),
    });
    const body =
      `<body data-verdict="verified" data-widget-id="${escapeHtml(result.widgetId)}" data-nonce="${escapeHtml(result.nonce)}"` +
      ` data-customer-origin="${escapeHtml(result.customerOrigin)}" data-session-life-ms="${config.sessionLifeMs}">` +
      `<main><header><h1>Neut \u00b7 ${escapeHtml(result.widgetId)}</h1><span class="badge verified">Assertion verified</span></header>` +
      `<dl>${rows([
        ['tenant', result.tenantId],
        ['customer origin', result.customerOrigin],
        ['signed at', new Date(result.timestamp * 1000).toISOString()],
        ['nonce', `${result.nonce.slice(0, 8)}\u2026 (one-time)`],
        ...Object.entries(result.params),
      ])}</dl><p id="session" role="status"></p></main></body>`;
    return page(200, ancestors, body, true);
  };

  const server = await startFakeServer(handler);
  return Object.assign(server, { verified, refused });
}
