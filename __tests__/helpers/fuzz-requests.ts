/**
 * Generic requests for the property tests of the preset routes, and what the pipeline
 * must answer each of them, decided from the documented rules (docs/security.md, the
 * body rules of the README) rather than with the library's code: arbitrary methods,
 * path forms, query strings, Origin (single, repeated), preflight headers, Fetch
 * Metadata, Content-Type, Content-Encoding (real gzip and garbage), chunked bodies, any
 * JSON, almost-JSON, bytes, bodies around the size limit, and extra headers.
 *
 * The same rules as fuzz-routers.test.ts's, with Fetch Metadata added.
 */
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import type { WidgetUser } from '../../lib/core/types';
import { EXPRESS_MAJOR } from './app';
import { NOT_JSON, arbFetchMetadata, fuzzOriginAllowed, headerValue, hostileString, jsonObjectText, jsonText, originHeader, type OutgoingRequest } from './hardening';

/** The body limit of every route under test (the default). */
export const BODY_LIMIT = 8192;

/** The user key the generic requests sign in with most of the time. */
export const GOOD_KEY = 'good';

/** What the generic requests need of a route. */
export interface GenericRoute {
  path: string;
  methods: readonly string[];
  /** Bodies of this route's own, mixed into the generic ones. */
  bodies?: fc.Arbitrary<string>;
  /** The route also reads `application/x-www-form-urlencoded` bodies (UTF-8, each field named once). */
  forms?: boolean;
  /** Nobody signed in is answered 401 before the route runs. Defaults to `true`. */
  requireUser?: boolean;
}

export type Encoding = 'gzip' | 'gzip-garbage' | 'deflate-garbage' | 'br-garbage' | 'identity' | 'xyz';

/** One generated request, before it is turned into bytes. */
export interface GenericCase {
  method: string;
  pathForm: 'exact' | 'slash' | 'upper';
  query: string;
  origin: string | string[] | undefined;
  acrm: string | undefined;
  /** Sec-Fetch-Site/Mode/Dest as a browser (or anything else) sends them; none most of the time. */
  fetchMetadata: Record<string, string> | undefined;
  user: string | undefined;
  contentType: string | undefined;
  encoding: Encoding | undefined;
  chunked: boolean;
  body: Buffer | undefined;
  extra: [string, string][];
}

/** Content types with what the body parser does with them (`exotic`: decoded by a charset other than UTF-8). */
export const CONTENT_TYPES: readonly (readonly [string, 'utf8' | 'refused' | 'exotic'])[] = [
  ['application/json', 'utf8'],
  ['application/json; charset=utf-8', 'utf8'],
  ['application/json;charset="UTF-8"', 'utf8'],
  ['Application/JSON', 'utf8'],
  ['application/vnd.api+json', 'utf8'],
  ['application/problem+json; charset=UTF-8', 'utf8'],
  ['application/json-patch+json', 'utf8'],
  ['application/json; charset=latin1', 'refused'],
  ['application/json; charset=iso-8859-1', 'refused'],
  ['application/json; charset=utf8', 'refused'],
  ['application/json; charset=utf-16', 'exotic'],
  ['application/json; charset=utf-7', 'exotic'],
  ['application/json; charset=utf-xyz', 'exotic'],
  ['text/plain', 'refused'],
  ['application/x-www-form-urlencoded', 'refused'],
  ['multipart/form-data; boundary=x', 'refused'],
  ['application/jsonx', 'refused'],
  ['json', 'refused'],
  ['', 'refused'],
  ['*/*', 'refused'],
];

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json$/i;

/** Header text without the optional white space HTTP strips around it. */
export const trimOws = (v: string) => v.replace(/^[ \t]+|[ \t]+$/g, '');

const FORM_TYPE = /^application\/x-www-form-urlencoded$/i;

/** For a route that reads forms: `form` for a form declared UTF-8 (or with no charset), `refused` for another charset, else `undefined`. */
function formClass(contentType: string | undefined): 'form' | 'refused' | undefined {
  if (contentType === undefined) return undefined;
  const seen = trimOws(contentType);
  const semi = seen.indexOf(';');
  if (!FORM_TYPE.test((semi === -1 ? seen : seen.slice(0, semi)).trim())) return undefined;
  if (semi === -1) return 'form';
  // every charset parameter, quoted or not, must name UTF-8
  for (const [, value] of seen.slice(semi).matchAll(/;[ \t]*charset[ \t]*=[ \t]*("(?:[^"\\]|\\.)*"?|[^;]*)/gi)) {
    const v = value!.trim().replace(/^"|"$/g, '').replace(/\\(.)/g, '$1');
    if (v.toLowerCase() !== 'utf-8') return 'refused';
  }
  return 'form';
}

function typeClass(contentType: string | undefined): 'utf8' | 'refused' | 'exotic' {
  if (contentType === undefined) return 'refused';
  const known = CONTENT_TYPES.find(([t]) => t === contentType);
  if (known) return known[1];
  const seen = trimOws(contentType);
  const semi = seen.indexOf(';');
  return JSON_TYPE.test((semi === -1 ? seen : seen.slice(0, semi)).trim()) ? 'exotic' : 'refused';
}

const EXTRA_HEADERS = ['x-forwarded-for', 'x-forwarded-host', 'authorization', 'cookie', 'accept', 'accept-encoding', 'x-http-method-override', 'x-requested-with', 'referer', 'user-agent', 'x-user-id', 'x-user-email'];
const ODD_QUERIES = ['?__proto__[polluted]=1', '?constructor[prototype][polluted]=1', '?a[b][c][d][e][f][g]=1', '?%', '?%E0%A4%A', '?a=%ZZ', '?a=1&a=2&a[]=3', `?${'a'.repeat(4000)}=1`];

/** Percent-encode the UTF-8 bytes of any string (lone surrogates become U+FFFD). */
export const percent = (s: string) => [...Buffer.from(s, 'utf8')].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');

/** Query strings: none, odd ones, arbitrary pairs. */
export const queryArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constant('') },
  { weight: 2, arbitrary: fc.constantFrom(...ODD_QUERIES) },
  { weight: 2, arbitrary: fc.array(fc.tuple(hostileString(20, { long: false }), hostileString(20, { long: false })), { minLength: 1, maxLength: 4 }).map((pairs) => `?${pairs.map(([k, v]) => `${percent(k)}=${percent(v)}`).join('&')}`) },
);

function bodyArb(routeBodies?: fc.Arbitrary<string>): fc.Arbitrary<Buffer | undefined> {
  const text = (arb: fc.Arbitrary<string>) => arb.map((t) => Buffer.from(t, 'utf8'));
  return fc.oneof(
    { weight: 3, arbitrary: fc.constant(undefined) },
    { weight: 3, arbitrary: text(jsonObjectText) },
    { weight: 2, arbitrary: text(jsonText) },
    { weight: 1, arbitrary: text(fc.constantFrom(...NOT_JSON)) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)) },
    { weight: 1, arbitrary: fc.constantFrom(BODY_LIMIT - 1, BODY_LIMIT, BODY_LIMIT + 1, 20_000).map((n) => Buffer.from(`{"pad":"${'x'.repeat(n - 10)}"}`, 'utf8')) },
    { weight: 1, arbitrary: fc.constant(Buffer.alloc(0)) },
    ...(routeBodies ? [{ weight: 4, arbitrary: text(routeBodies) }] : []),
  );
}

/** Any request to `route`, the user header naming `GOOD_KEY` most of the time. */
export function genericArb(route: GenericRoute): fc.Arbitrary<GenericCase> {
  return fc.record({
    method: fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...route.methods) }, { weight: 4, arbitrary: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS', 'TRACE') }),
    pathForm: fc.constantFrom('exact', 'exact', 'slash', 'upper'),
    query: queryArb,
    origin: fc.oneof(
      { weight: 3, arbitrary: fc.constant(undefined) },
      { weight: 4, arbitrary: originHeader },
      { weight: 1, arbitrary: fc.constantFrom<string[]>(['https://app.example.com', 'https://app.example.com'], ['https://a.example.org', 'https://evil.example']) },
    ),
    acrm: fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constantFrom('POST', 'GET', '', 'DELETE') }),
    fetchMetadata: fc.oneof(
      { weight: 2, arbitrary: fc.constant(undefined) },
      {
        weight: 1,
        arbitrary: arbFetchMetadata().map((headers) => {
          const { origin: _origin, ...rest } = headers;
          return rest;
        }),
      },
    ),
    user: fc.oneof({ weight: 5, arbitrary: fc.constant(GOOD_KEY) }, { weight: 2, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constantFrom('__proto__', 'constructor', 'toString', 'GOOD', ' good') }, { weight: 1, arbitrary: headerValue(20) }),
    contentType: fc.oneof({ weight: 1, arbitrary: fc.constant(undefined) }, { weight: 6, arbitrary: fc.constantFrom(...CONTENT_TYPES.map(([t]) => t)) }, { weight: 1, arbitrary: headerValue(40) }),
    encoding: fc.oneof({ weight: 10, arbitrary: fc.constant(undefined) }, { weight: 2, arbitrary: fc.constantFrom<Encoding>('gzip', 'gzip-garbage', 'deflate-garbage', 'br-garbage', 'identity', 'xyz') }),
    chunked: fc.boolean(),
    body: bodyArb(route.bodies),
    extra: fc.array(fc.tuple(fc.constantFrom(...EXTRA_HEADERS), headerValue()), { maxLength: 3 }),
  });
}

/**
 * Requests a browser page of the app would send (the route's methods, an allowed or no
 * Origin, a same-origin or cors fetch, JSON or no body), with any query, body content and
 * extra headers: so that a good share of runs reaches the route itself.
 */
export function politeArb(route: GenericRoute): fc.Arbitrary<GenericCase> {
  return fc.record({
    method: fc.constantFrom(...route.methods),
    pathForm: fc.constantFrom<GenericCase['pathForm']>('exact', 'exact', 'slash', 'upper'),
    query: queryArb,
    origin: fc.constantFrom(undefined, 'https://app.example.com', 'https://a.example.org'),
    acrm: fc.constant(undefined),
    fetchMetadata: fc.constantFrom(undefined, { 'sec-fetch-site': 'same-origin', 'sec-fetch-mode': 'cors', 'sec-fetch-dest': 'empty' }, { 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'cors', 'sec-fetch-dest': 'empty' }),
    user: fc.oneof({ weight: 6, arbitrary: fc.constant(GOOD_KEY) }, { weight: 1, arbitrary: fc.constant(undefined) }),
    contentType: fc.constantFrom('application/json', 'application/json; charset=utf-8'),
    encoding: fc.constantFrom<Encoding | undefined>(undefined, undefined, undefined, 'gzip', 'identity'),
    chunked: fc.boolean(),
    body: fc.oneof(fc.constant(undefined), jsonObjectText.map((t) => Buffer.from(t, 'utf8'))),
    extra: fc.array(fc.tuple(fc.constantFrom(...EXTRA_HEADERS), headerValue()), { maxLength: 3 }),
  });
}

/** {@link genericArb} two runs in three, {@link politeArb} one in three. */
export function requestArb(route: GenericRoute): fc.Arbitrary<GenericCase> {
  return fc.oneof({ weight: 2, arbitrary: genericArb(route) }, { weight: 1, arbitrary: politeArb(route) });
}

const GARBAGE = Buffer.from('definitely not compressed');

/** The request a case describes, with the user in `x-fuzz-user`. */
export function requestOf(route: GenericRoute, c: GenericCase): OutgoingRequest {
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of c.extra) headers[name] = value;
  for (const [name, value] of Object.entries(c.fetchMetadata ?? {})) headers[name] = value;
  if (c.origin !== undefined) headers['origin'] = c.origin;
  if (c.acrm !== undefined) headers['access-control-request-method'] = c.acrm;
  if (c.user !== undefined) headers['x-fuzz-user'] = c.user;
  if (c.contentType !== undefined) headers['content-type'] = c.contentType;
  let payload = c.method === 'HEAD' || c.method === 'TRACE' ? undefined : c.body;
  if (payload !== undefined && c.encoding !== undefined) {
    headers['content-encoding'] = c.encoding.replace('-garbage', '');
    if (c.encoding === 'gzip') payload = gzipSync(payload);
    else if (c.encoding !== 'identity') payload = GARBAGE;
  }
  if (payload !== undefined) {
    if (c.chunked) headers['transfer-encoding'] = 'chunked';
    else headers['content-length'] = String(payload.length);
  }
  const path = c.pathForm === 'slash' ? `${route.path}/` : c.pathForm === 'upper' ? route.path.toUpperCase() : route.path;
  return { method: c.method, path: `${path}${c.query}`, headers, ...(payload !== undefined ? { body: payload } : {}) };
}

/**
 * Whether the documented origin rules (docs/security.md, "Origins and CORS") refuse a
 * request with these headers, for a router with `allowedOrigins` (`listed`, the fuzz
 * origins) or without, with `requireOrigin` or without: written from the table, not with
 * the library's gate. Defaults to a listed router without `requireOrigin`.
 */
export function refusedByOriginRules(headers: Record<string, string>, config: { listed: boolean; requireOrigin: boolean } = { listed: true, requireOrigin: false }): boolean {
  const value = (name: string) => (headers[name] === undefined ? undefined : trimOws(headers[name]!));
  const [site, mode, dest, origin] = [value('sec-fetch-site'), value('sec-fetch-mode'), value('sec-fetch-dest'), value('origin')];
  const allowed = config.listed && origin !== undefined && fuzzOriginAllowed(origin);
  if (site !== undefined) {
    // only fetch() and XMLHttpRequest, whatever the site
    if ((mode !== 'cors' && mode !== 'same-origin') || (dest !== undefined && dest !== 'empty')) return true;
    if (site === 'same-origin') return false;
    // same-site, cross-site and anything else: a cors call from an allowed origin only
    if (site !== 'none') return !(mode === 'cors' && allowed);
  }
  // no Fetch Metadata, or `none`: the Origin rules of 0.1.0, with requireOrigin vouching only for allowed origins
  if (origin === undefined) return config.requireOrigin;
  if (config.listed) return !allowed;
  return config.requireOrigin;
}

/** What the pipeline must answer, decided from the documented rules, before the route's own logic. */
export type Expected =
  | { kind: 'answer'; status: number; code: string; allow?: string }
  | { kind: 'preflight' }
  | { kind: 'refused-body' }
  | { kind: 'handled'; body: unknown; user: WidgetUser | undefined };

/** The origin as the server sees it (repeated headers joined), or undefined. */
export function seenOrigin(c: GenericCase): string | undefined {
  return c.origin === undefined ? undefined : Array.isArray(c.origin) ? c.origin.map(trimOws).join(', ') : trimOws(c.origin);
}

/** The pipeline's answer to a case (before the route's own logic). */
export function expected(route: GenericRoute, c: GenericCase, users: { get(key: string): WidgetUser | undefined }): Expected {
  const origin = seenOrigin(c);
  if (c.method === 'OPTIONS' && origin !== undefined && c.acrm !== undefined && trimOws(c.acrm) !== '') {
    return fuzzOriginAllowed(origin) ? { kind: 'preflight' } : { kind: 'answer', status: 403, code: 'FORBIDDEN_ORIGIN' };
  }
  if (!route.methods.includes(c.method)) return { kind: 'answer', status: 405, code: 'METHOD_NOT_ALLOWED', allow: route.methods.join(', ') };
  if (refusedByOriginRules({ ...c.fetchMetadata, ...(origin !== undefined ? { origin } : {}) })) return { kind: 'answer', status: 403, code: 'FORBIDDEN_ORIGIN' };

  let body: unknown = {};
  const payload = c.body;
  if (c.method === 'POST' && payload !== undefined && (c.chunked || payload.length > 0 || (c.encoding !== undefined && c.encoding !== 'identity'))) {
    const form = route.forms === true ? formClass(c.contentType) : undefined;
    const type = form ?? typeClass(c.contentType);
    if (type === 'refused') return { kind: 'answer', status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' };
    if (type === 'exotic') return { kind: 'refused-body' };
    if (c.encoding === 'xyz') return { kind: 'answer', status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' };
    if (c.encoding === 'br-garbage') return EXPRESS_MAJOR === '4' ? { kind: 'answer', status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' } : { kind: 'answer', status: 400, code: 'INVALID_REQUEST' };
    if (c.encoding === 'gzip-garbage' || c.encoding === 'deflate-garbage') return { kind: 'answer', status: 400, code: 'INVALID_REQUEST' };
    if (payload.length > BODY_LIMIT) return { kind: 'answer', status: 413, code: 'PAYLOAD_TOO_LARGE' };
    if (type === 'form') {
      // URLSearchParams over the UTF-8 text; a field named twice is refused (`a[…]` names `a`)
      const fields: Record<string, string> = {};
      const named = new Set<string>();
      for (const [name, value] of new URLSearchParams(payload.toString('utf8'))) {
        const base = name.includes('[') ? name.slice(0, name.indexOf('[')) : name;
        if (named.has(base)) return { kind: 'answer', status: 400, code: 'INVALID_REQUEST' };
        named.add(base);
        Object.defineProperty(fields, name, { value, enumerable: true, writable: true, configurable: true });
      }
      body = fields;
    } else {
      // a UTF-16 or UTF-32 byte order mark gives the body away as not UTF-8
      if (/^(?:\xfe\xff|\xff\xfe|\0\0\xfe\xff)/.test(payload.toString('latin1'))) return { kind: 'answer', status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' };
      const text = payload.toString('utf8').replace(/^\ufeff/, '');
      if (text.length > 0) {
        // JSON's own white space only (space, tab, LF, CR), as the body parser's strict check
        const first = /^[ \t\n\r]*([^ \t\n\r])/.exec(text)?.[1];
        if (first !== '{' && first !== '[') return { kind: 'answer', status: 400, code: 'INVALID_REQUEST' };
        try {
          body = JSON.parse(text);
        } catch {
          return { kind: 'answer', status: 400, code: 'INVALID_REQUEST' };
        }
        if (namesMemberTwice(text)) return { kind: 'answer', status: 400, code: 'INVALID_REQUEST' };
      }
    }
  }
  const user = c.user === undefined ? undefined : users.get(trimOws(c.user));
  if (route.requireUser !== false && !user) return { kind: 'answer', status: 401, code: 'UNAUTHORIZED' };
  return { kind: 'handled', body, user };
}

/**
 * Whether the answer must carry `Access-Control-Allow-Origin` (equal to the origin): an
 * allowed single origin on a request the origin rules let through, except a same-origin
 * fetch (served without CORS headers).
 */
export function corsExpected(c: GenericCase, want: Expected): boolean {
  const origin = typeof c.origin === 'string' ? trimOws(c.origin) : undefined;
  if (origin === undefined || !fuzzOriginAllowed(origin)) return false;
  if (want.kind === 'answer' && (want.code === 'METHOD_NOT_ALLOWED' || want.code === 'FORBIDDEN_ORIGIN')) return false;
  if (want.kind === 'preflight') return true;
  const site = c.fetchMetadata?.['sec-fetch-site'];
  return site === undefined || trimOws(site) !== 'same-origin';
}

/**
 * Whether valid JSON `text` names a member twice in one object, read by a recursive
 * descent of its own (not the library's scanner): the routers refuse such a body with 400
 * `INVALID_REQUEST`, because parsers disagree on which of the two values counts.
 */
export function namesMemberTwice(text: string): boolean {
  const TOKEN = /\s*("(?:[^"\\]|\\.)*"|[{}[\],:]|[^\s{}[\],:"]+)/y;
  TOKEN.lastIndex = 0;
  const next = (): string => TOKEN.exec(text)![1]!;
  let found = false;
  const value = (token: string): void => {
    if (token === '{') {
      const names = new Set<string>();
      for (let t = next(); t !== '}'; t = next()) {
        if (t === ',') continue;
        const name = JSON.parse(t) as string;
        if (names.has(name)) found = true;
        names.add(name);
        next(); // ':'
        value(next());
      }
    } else if (token === '[') {
      for (let t = next(); t !== ']'; t = next()) if (t !== ',') value(t);
    }
  };
  value(next());
  return found;
}
