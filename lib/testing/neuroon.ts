import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { startFakeServer, type FakeAnswer, type FakeServer, type RecordedRequest } from './fake-server';

/** One shop the fake Neuroon API knows. */
export interface FakeNeuroonShop {
  /** The Shop API key; it is also the HMAC secret of the shop's widget tokens. */
  apiKey: string;
  /**
   * Origins the widget may call from (`shop.url` plus `app.widget.allowed-origins` on
   * the real backend). A widget call whose `Origin` is outside the list gets 403.
   * Defaults to any origin.
   */
  allowedOrigins?: string[];
}

/** Options of {@link startFakeNeuroon}. */
export interface FakeNeuroonOptions {
  /** Shops by id. */
  shops: Record<string, FakeNeuroonShop>;
  /** Clock for issuing and expiring tokens, in ms since the epoch. Defaults to `Date.now`. */
  now?: () => number;
  /** How long a token is accepted. Defaults to 24 hours, as on the real backend. */
  tokenLifetimeMs?: number;
}

/** A token the fake issued, as recorded in `issued`. */
export interface FakeNeuroonIssue {
  shopId: string;
  token: string;
  /** Issue time in whole seconds since the epoch (the timestamp inside the token). */
  issuedAt: number;
}

/** A running fake Neuroon API. */
export interface FakeNeuroon extends FakeServer {
  /** Every token issued, oldest first. */
  issued: FakeNeuroonIssue[];
  /** The requests made to the token-issuing route, oldest first. */
  issueRequests(): RecordedRequest[];
}

/** Why {@link checkNeuroonWidgetToken} refused a token. */
export type NeuroonTokenProblem = 'missing' | 'malformed' | 'unknown-shop' | 'bad-signature' | 'expired' | 'not-yet-valid';

/** The outcome of {@link checkNeuroonWidgetToken}. */
export type NeuroonTokenCheck = { ok: true; shopId: string; issuedAt: number } | { ok: false; problem: NeuroonTokenProblem };

const DAY_MS = 24 * 3600_000;
/** Tokens stamped this far in the future are still accepted (clock skew). */
const SKEW_SECONDS = 60;
const ISSUE_PATH = /^\/api\/shops\/([^/]+)\/widget-token$/;
const WIDGET_PATH = '/api/widget/';

const hmacHex = (apiKey: string, payload: string): string => createHmac('sha256', apiKey).update(payload, 'utf8').digest('hex');
const sha256 = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

/**
 * Mint a widget token the way Neuroon's backend does:
 * `base64("<shopId>:<unix seconds>:<hex HMAC-SHA256 of "<shopId>:<unix seconds>" keyed by the API key>")`.
 * For tests that need a token of a given age.
 *
 * @example
 * ```ts
 * const old = createNeuroonWidgetToken('shop_abc', apiKey, Date.now() - 25 * 3600_000);
 * ```
 */
export function createNeuroonWidgetToken(shopId: string, apiKey: string, issuedAtMs: number = Date.now()): string {
  const payload = `${shopId}:${Math.floor(issuedAtMs / 1000)}`;
  return Buffer.from(`${payload}:${hmacHex(apiKey, payload)}`, 'utf8').toString('base64');
}

/**
 * Check a widget token the way Neuroon's widget API does: Base64 of
 * `shopId:timestamp:hmac`, an HMAC-SHA256 (keyed by the shop's API key) that matches,
 * and an age under the token lifetime (24 h). Never throws.
 *
 * @example
 * ```ts
 * const check = checkNeuroonWidgetToken(token, { shop_abc: { apiKey } });
 * if (check.ok) console.log(check.shopId);
 * ```
 */
export function checkNeuroonWidgetToken(
  token: string | undefined,
  shops: Record<string, { apiKey: string }>,
  options: { now?: number; lifetimeMs?: number } = {},
): NeuroonTokenCheck {
  if (token === undefined || token.length === 0) return { ok: false, problem: 'missing' };
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(token)) return { ok: false, problem: 'malformed' };
  const decoded = Buffer.from(token, 'base64').toString('utf8');
  const lastColon = decoded.lastIndexOf(':');
  const midColon = lastColon > 0 ? decoded.lastIndexOf(':', lastColon - 1) : -1;
  if (midColon <= 0) return { ok: false, problem: 'malformed' };
  const shopId = decoded.slice(0, midColon);
  const stamp = decoded.slice(midColon + 1, lastColon);
  const signature = decoded.slice(lastColon + 1);
  if (!/^\d{1,12}$/.test(stamp) || !/^[0-9a-f]{64}$/.test(signature)) return { ok: false, problem: 'malformed' };
  const shop = Object.prototype.hasOwnProperty.call(shops, shopId) ? shops[shopId] : undefined;
  if (shop === undefined) return { ok: false, problem: 'unknown-shop' };
  const expected = Buffer.from(hmacHex(shop.apiKey, `${shopId}:${stamp}`), 'hex');
  if (!timingSafeEqual(expected, Buffer.from(signature, 'hex'))) return { ok: false, problem: 'bad-signature' };
  const issuedAt = Number(stamp);
  const nowSeconds = (options.now ?? Date.now()) / 1000;
  if (issuedAt > nowSeconds + SKEW_SECONDS) return { ok: false, problem: 'not-yet-valid' };
  if (nowSeconds - issuedAt >= (options.lifetimeMs ?? DAY_MS) / 1000) return { ok: false, problem: 'expired' };
  return { ok: true, shopId, issuedAt };
}

/**
 * Verify a widget token for one shop's API key, throwing an `Error` naming the rule
 * broken (`missing`, `malformed`, `bad-signature`, `expired`, …). Returns the shop id
 * and issue time (unix seconds).
 *
 * @example
 * ```ts
 * const { shopId } = verifyNeuroonWidgetToken(res.body.token, apiKey, { shopId: 'shop_abc' });
 * ```
 */
export function verifyNeuroonWidgetToken(
  token: string,
  apiKey: string,
  options: { shopId?: string; now?: number; lifetimeMs?: number } = {},
): { shopId: string; issuedAt: number } {
  const decoded = typeof token === 'string' ? Buffer.from(token, 'base64').toString('utf8') : '';
  const claimed = options.shopId ?? decoded.slice(0, Math.max(0, decoded.lastIndexOf(':', decoded.lastIndexOf(':') - 1)));
  const check = checkNeuroonWidgetToken(token, { [claimed]: { apiKey } }, options);
  if (!check.ok) throw new Error(`Neuroon widget token refused: ${check.problem === 'unknown-shop' ? 'wrong shop' : check.problem}`);
  return { shopId: check.shopId, issuedAt: check.issuedAt };
}

function vendorError(status: number, error: string, message: string, path: string): FakeAnswer {
  return { status, body: { status, error, message, path } };
}

/**
 * Start a fake Neuroon API on `127.0.0.1` (real HTTP, ephemeral port):
 *
 * | route | answer | when |
 * |---|---|---|
 * | `POST /api/shops/:shopId/widget-token` | 404 | unknown shop |
 * | | 401 | `X-Shop-API-Key` missing or wrong |
 * | | 200 `{ "token": … }` | otherwise: `base64(shopId:timestamp:hmac)`, valid 24 h |
 * | `GET`/`POST /api/widget/*` | 401 | `X-Widget-Token` missing, tampered, of an unknown shop, or expired |
 * | | 403 | the `Origin` header is outside the shop's `allowedOrigins` |
 * | | 200 `{ "ok": true, "shopId": … }` | otherwise |
 *
 * Error bodies are `{ status, error, message, path }`. API keys are compared in
 * constant time. The result is a {@link FakeServer} (`requests`, `connections`,
 * `fault(…)`, `close()`) plus `issued` and `issueRequests()`.
 *
 * @example
 * ```ts
 * const apiKey = `nk_test_${randomBytes(16).toString('hex')}`; // a placeholder such as nk_test_0123456789 is refused
 * const neuroon = await startFakeNeuroon({ shops: { shop_abc: { apiKey } } });
 * const provider = new NeuroonTokenProvider({ shopId: 'shop_abc', apiKey, apiBaseUrl: neuroon.url });
 * // … later
 * await neuroon.close();
 * ```
 */
export async function startFakeNeuroon(options: FakeNeuroonOptions): Promise<FakeNeuroon> {
  const shops = new Map(Object.entries(options.shops).map(([id, shop]) => [id, { apiKey: shop.apiKey, keyHash: sha256(shop.apiKey), allowedOrigins: shop.allowedOrigins }]));
  const secrets = Object.fromEntries([...shops].map(([id, shop]) => [id, { apiKey: shop.apiKey }]));
  const now = options.now ?? Date.now;
  const lifetimeMs = options.tokenLifetimeMs ?? DAY_MS;
  const issued: FakeNeuroonIssue[] = [];

  const server = await startFakeServer((req) => {
    const issue = ISSUE_PATH.exec(req.path);
    if (issue) {
      if (req.method !== 'POST') return { status: 405, headers: { Allow: 'POST' }, body: { status: 405, error: 'Method Not Allowed', path: req.path } };
      let shopId: string;
      try {
        shopId = decodeURIComponent(issue[1]!);
      } catch {
        return vendorError(400, 'Bad Request', 'Malformed shop id.', req.path);
      }
      const shop = shops.get(shopId);
      if (shop === undefined) return vendorError(404, 'Not Found', 'Shop not found.', req.path);
      const key = req.headers['x-shop-api-key'];
      if (typeof key !== 'string' || !timingSafeEqual(sha256(key), shop.keyHash)) {
        return vendorError(401, 'Unauthorized', 'Missing or invalid X-Shop-API-Key.', req.path);
      }
      const at = now();
      const token = createNeuroonWidgetToken(shopId, shop.apiKey, at);
      issued.push({ shopId, token, issuedAt: Math.floor(at / 1000) });
      return { status: 200, body: { token } };
    }
    if (req.path.startsWith(WIDGET_PATH)) {
      const header = req.headers['x-widget-token'];
      const check = checkNeuroonWidgetToken(typeof header === 'string' ? header : undefined, secrets, { now: now(), lifetimeMs });
      if (!check.ok) {
        const message = check.problem === 'missing' ? 'Missing X-Widget-Token header.' : check.problem === 'expired' ? 'Widget token expired.' : 'Invalid widget token.';
        return vendorError(401, 'Unauthorized', message, req.path);
      }
      const origin = req.headers['origin'];
      const allowed = shops.get(check.shopId)!.allowedOrigins;
      if (typeof origin === 'string' && allowed !== undefined && !allowed.includes(origin)) {
        return vendorError(403, 'Forbidden', 'Origin mismatch.', req.path);
      }
      return { status: 200, body: { ok: true, shopId: check.shopId } };
    }
    return undefined;
  });

  return Object.assign(server, {
    issued,
    issueRequests: () => server.requests.filter((r) => ISSUE_PATH.test(r.path)),
  });
}
