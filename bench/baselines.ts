/**
 * The baselines each route is measured against, written the way an integrator would
 * write them without this package:
 *
 * - {@link constantRoute}: Express answering a constant JSON body — the floor;
 * - {@link constantFormRoute}: the same for a `POST` with a small form body, read with
 *   Express's own `express.urlencoded()` — the floor of a route that takes a body;
 * - {@link naiveHissunoRoute}: the vendor doc's handler, `jwt.sign(payload, secretString, …)`
 *   on every request;
 * - {@link plainNeutRoute}: the Neut backend guide's example app — the same validation,
 *   HMAC and URL building, done plainly inside one handler, reading its settings from the
 *   environment on each request as the guide does.
 *
 * - {@link handWrittenVendorRoute}: a vendor-backed route's vendor call (Nevermined,
 *   Wonderful, Liveblocks, HubSpot) written by hand in one Express handler: the CPU
 *   baseline of each such router, and, for Nevermined and Wonderful, how much of the
 *   latency added over the fake called directly is Express and the extra hop alone.
 */
import { createHmac, randomUUID } from 'node:crypto';
import http from 'node:http';
import express, { type Express } from 'express';
import jwt from 'jsonwebtoken';
import { benchResolveUser, HISSUNO_SECRET, PATHS } from './fixtures';

const CONSTANT_BODY = { token: 'constant-token-value-for-the-floor-route' };

/** `GET /api/constant` → a constant JSON body, after the same `resolveUser` call as every route. */
export function constantRoute(app: Express): void {
  app.get(PATHS.constant, (req, res) => {
    if (!benchResolveUser(req)) {
      res.status(401).json({ error: 'Unauthorized' });
      return;
    }
    res.json(CONSTANT_BODY);
  });
}

/** `POST /api/constant-form` → the constant JSON body, after reading the form body with `express.urlencoded()` and the same `resolveUser` call. */
export function constantFormRoute(app: Express): void {
  app.post(PATHS.constantForm, express.urlencoded({ extended: false, limit: '8kb' }), (req, res) => {
    if (!benchResolveUser(req) || typeof (req.body as Record<string, unknown>)['socket_id'] !== 'string') {
      res.status(401).json({ error: 'Unauthorized' });
      return;
    }
    res.json(CONSTANT_BODY);
  });
}

/** `GET /api/hissuno-token` as the vendor doc writes it: the secret passed as a string on every call. */
export function naiveHissunoRoute(app: Express): void {
  app.get(PATHS.hissuno, (req, res) => {
    const user = benchResolveUser(req);
    if (!user) {
      res.status(401).json({ error: 'Unauthorized' });
      return;
    }
    const token = jwt.sign({ userId: user.id, userMetadata: { name: user.name, email: user.email } }, HISSUNO_SECRET, {
      algorithm: 'HS256',
      expiresIn: '24h',
    });
    res.json({ token });
  });
}

// ---- the Neut guide's example, in plain code -------------------------------------------

const EMBED_PAGES: Record<string, string> = {
  'bill-preview': '/bill-preview-embed.html',
  'vote-breakdown': '/vote-breakdown-embed.html',
  'legislation-by-subject': '/legislation-by-subject-embed.html',
};
const TOPICS = new Set([
  'Animals & Agriculture', 'Business & Trade', 'Crime', 'Culture and Society', 'Education', 'Energy & Conservation',
  'Finance & Taxes', 'Geopolitics', 'Government Operations', 'Health & Social Welfare', 'Human, Civil, & Immigration Rights',
  'Infrastructure & Housing', 'Labor & Employment', 'National Security & International Affairs', 'STEM',
]);
const STATUSES = new Set(['All', 'Introduced', 'With First Chamber', 'With Second Chamber', 'Presented to President', 'Became Law', 'Vetoed by President', 'Passed Resolutions']);
const THEMES = new Set(['Default', 'Dark', 'Paper', 'WashedSage', 'Slate', 'MonoLight']);

type Body = Record<string, unknown>;
type Fields = Record<string, string | number | boolean | undefined>;

class BadRequest extends Error {}

function setting(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`server setting ${name} is missing`);
  return value;
}

function text(body: Body, key: string): string {
  const value = body[key];
  if (typeof value === 'string' && value.trim()) return value.trim();
  throw new BadRequest(`${key} is required.`);
}

function maybeText(body: Body, key: string): string | undefined {
  const value = body[key];
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value === 'string' && value.trim()) return value.trim();
  throw new BadRequest(`${key} must be a string.`);
}

function count(body: Body, key: string): number {
  const value = body[key];
  if (value === undefined || value === null || value === '') throw new BadRequest(`${key} is required.`);
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new BadRequest(`${key} must be a positive integer.`);
  return n;
}

function maybeCount(body: Body, key: string, fallback?: number): number | undefined {
  const value = body[key] ?? fallback;
  if (value === undefined || value === null || value === '') return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new BadRequest(`${key} must be a positive integer.`);
  return n;
}

function flag(body: Body, key: string, fallback: boolean): boolean {
  const value = body[key];
  if (value === undefined || value === null || value === '') return fallback;
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  throw new BadRequest(`${key} must be true or false.`);
}

function memberFields(body: Body): Fields {
  const type = maybeText(body, 'member_type');
  const last = maybeText(body, 'last_name');
  const state = maybeText(body, 'state_code');
  const district = maybeCount(body, 'district');
  if (!type && !last && !state && !district) return {};
  if (!type || !last || !state) throw new BadRequest('member_type, last_name, and state_code are required when targeting a single member.');
  if (type !== 'Representative' && type !== 'Senator') throw new BadRequest('member_type must be "Representative" or "Senator".');
  const upper = state.toUpperCase();
  if (!/^[A-Z]{2}$/.test(upper)) throw new BadRequest('state_code must be a two-letter state code.');
  if (district && type !== 'Representative') throw new BadRequest('district is only allowed when member_type is "Representative".');
  return { member_type: type, last_name: last, state_code: upper, district };
}

function paging(body: Body): Fields {
  return { congress: count(body, 'congress'), page: maybeCount(body, 'page', 1), limit: maybeCount(body, 'limit', 10) };
}

function validate(body: unknown): Fields {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw new BadRequest('Request body must be a JSON object.');
  const input = body as Body;
  const widgetId = text(input, 'widget_id');
  if (!EMBED_PAGES[widgetId]) throw new BadRequest('Unsupported widget_id.');
  const instanceId = text(input, 'instance_id');
  if (instanceId.length > 128 || !/^[A-Za-z0-9._:-]+$/.test(instanceId)) {
    throw new BadRequest('instance_id must use only letters, numbers, dot, underscore, colon, or hyphen and be 128 characters or fewer.');
  }
  const colorway = maybeText(input, 'colorway') || 'Default';
  if (!THEMES.has(colorway)) throw new BadRequest('Unsupported colorway.');
  const common: Fields = { widget_id: widgetId, instance_id: instanceId, article_id: maybeText(input, 'article_id'), colorway };

  if (widgetId === 'bill-preview') {
    const textUrl = maybeText(input, 'temp_text_url');
    if (textUrl && new URL(textUrl).protocol !== 'https:') throw new BadRequest('temp_text_url must be an HTTPS URL.');
    return {
      ...common,
      bill_type: text(input, 'bill_type'),
      bill_number: count(input, 'bill_number'),
      congress: count(input, 'congress'),
      temp_text_url: textUrl,
      temp_title: maybeText(input, 'temp_title'),
    };
  }
  if (widgetId === 'vote-breakdown') {
    const member = memberFields(input);
    if (member['member_type'] && member['member_type'] !== 'Representative') {
      throw new BadRequest('vote-breakdown currently supports House roll call votes only; member_type must be "Representative".');
    }
    return { ...common, ...paging(input), ...member };
  }
  const subject = text(input, 'subject');
  if (!TOPICS.has(subject)) throw new BadRequest('Unsupported subject.');
  const status = maybeText(input, 'status_filter') || 'All';
  if (!STATUSES.has(status)) throw new BadRequest('Unsupported status_filter.');
  return {
    ...common,
    ...paging(input),
    ...memberFields(input),
    subject,
    status_filter: status,
    show_subject_filter: flag(input, 'show_subject_filter', true),
    show_status_filter: flag(input, 'show_status_filter', true),
  };
}

function hostOrigin(): string {
  const url = new URL(setting('HOST_ORIGIN'));
  if (url.pathname !== '/' || url.search || url.hash) throw new Error('HOST_ORIGIN must be an origin');
  return `${url.protocol}//${url.host}`;
}

function embedParams(fields: Fields): { widget_id: string; embed_url: string } {
  const widgetId = String(fields['widget_id']);
  const tenant = setting('WIDGET_TENANT_ID');
  const origin = hostOrigin();
  const timestamp = String(Math.floor(Date.now() / 1000));
  const nonce = randomUUID();
  const assertion = createHmac('sha256', setting('NEUT_MINT_SECRET'))
    .update([tenant, widgetId, origin, timestamp, nonce, 'bootstrap'].join('.'))
    .digest('base64url');
  const url = new URL(EMBED_PAGES[widgetId]!, setting('WIDGET_ORIGIN'));
  url.searchParams.set('tenant_id', tenant);
  url.searchParams.set('widget_id', widgetId);
  url.searchParams.set('customer_origin', origin);
  url.searchParams.set('bootstrap_timestamp', timestamp);
  url.searchParams.set('bootstrap_nonce', nonce);
  url.searchParams.set('bootstrap_key_id', setting('NEUT_MINT_KEY_ID'));
  url.searchParams.set('bootstrap_assertion', assertion);
  for (const [key, value] of Object.entries(fields)) {
    if (key !== 'widget_id' && value !== undefined && value !== null) url.searchParams.set(key, String(value));
  }
  return { widget_id: widgetId, embed_url: url.toString() };
}

/**
 * `POST /api/widget-embed-params` as the Neut guide's example app does it: `express.json()`
 * in front, validate, sign, build the URL with `URL`/`searchParams`, answer with `res.json`.
 * Expects the documented variables (`WIDGET_TENANT_ID`, …) in `process.env`.
 */
export function plainNeutRoute(app: Express): void {
  app.use(express.json());
  app.post(PATHS.neut, (req, res) => {
    if (!benchResolveUser(req)) {
      res.status(401).json({ error: { code: 'UNAUTHORIZED', message: 'Sign in first.' } });
      return;
    }
    try {
      res.json(embedParams(validate(req.body)));
    } catch (err) {
      res.status(400).json({ error: { code: 'INVALID_WIDGET_REQUEST', message: (err as Error).message || 'Widget setup failed.' } });
    }
  });
}

// ---- vendor-backed routes, the vendor call written by hand ---------------------------------

type BenchUser = NonNullable<ReturnType<typeof benchResolveUser>>;

/** The vendor call a hand-written handler makes: where, with which headers and body, and what it answers. */
export interface HandWrittenCall {
  url: string;
  headers: Record<string, string>;
  /** The vendor request's body; `request` is the browser's JSON body when `readsBody` is set. */
  body: (user: BenchUser, request: Record<string, unknown>) => unknown;
  /** Read the browser's JSON body with `express.json()` first (a route the browser posts to). */
  readsBody?: boolean;
  /** The browser's answer made of the vendor's JSON. Defaults to the vendor's JSON as is. */
  answer?: (vendor: Record<string, unknown>, user: BenchUser) => unknown;
}

/**
 * `path` answering with the vendor's JSON, the call written as directly as Node allows:
 * `node:http` with a keep-alive agent, no timeout, no retry, no validation, no pipeline.
 * It is the reference for what Express and one more hop cost by themselves, so that the
 * router's own share of the added latency can be told apart from theirs.
 */
export function handWrittenVendorRoute(app: Express, method: 'get' | 'post', path: string, call: HandWrittenCall): void {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  const target = new URL(call.url);
  const handler = (req: express.Request, res: express.Response): void => {
    const user = benchResolveUser(req);
    if (!user) {
      res.status(401).json({ error: 'Unauthorized' });
      return;
    }
    const body = JSON.stringify(call.body(user, (req.body ?? {}) as Record<string, unknown>));
    const upstream = http.request(
      { hostname: target.hostname, port: target.port, path: target.pathname, method: 'POST', agent, headers: { ...call.headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (answer) => {
        let text = '';
        answer.setEncoding('utf8');
        answer.on('data', (chunk: string) => (text += chunk));
        answer.on('end', () => {
          res.set('Cache-Control', 'no-store');
          const json = JSON.parse(text) as Record<string, unknown>;
          res.status(answer.statusCode === 200 ? 200 : 502).json(call.answer ? call.answer(json, user) : json);
        });
      },
    );
    upstream.on('error', () => res.status(502).json({ error: 'vendor unreachable' }));
    upstream.end(body);
  };
  if (call.readsBody) app[method](path, express.json(), handler);
  else app[method](path, handler);
}
