import type { IncomingHttpHeaders } from 'node:http';
import { parse as parseDomain } from 'tldts';
import { z } from 'zod';
import { isLoopbackHost } from './config';
import { WidgetAuthError } from './errors';
import type { WidgetAuthLogger } from './logger';

/**
 * A function deciding whether a page of `origin` may call the routes (the `Origin`
 * header, as the browser sent it). Called on every request that needs it; its answer
 * is not cached, so it may consult a database of tenants.
 */
export type AllowedOriginFunction = (origin: string) => boolean | Promise<boolean>;

/** One entry of an `allowedOrigins` list: an exact origin, a `https://*.example.com` wildcard, or an anchored RegExp. */
export type AllowedOriginEntry = string | RegExp;

/** The `allowedOrigins` option: a list of entries, or a function deciding per origin. */
export type AllowedOrigins = readonly AllowedOriginEntry[] | AllowedOriginFunction;

/** A compiled `allowedOrigins`: synchronous for a list, possibly asynchronous for a function. */
export interface OriginMatcher {
  (origin: string): boolean | Promise<boolean>;
}

/** Where the origin rules are explained, named in every message about them. */
const DOCS = 'see docs/security.md#origins-and-cors';

interface WildcardRule {
  scheme: string;
  /** `.example.com` — what the host must end with, after at least one label. */
  suffix: string;
  port: string;
}

const HOST_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const PORT = /^[1-9]\d{0,4}$/;

/** A port as written in an entry: canonical decimal from 1 to 65535, no leading zero. */
function portError(port: string | undefined): string | undefined {
  if (port === undefined) return undefined;
  return PORT.test(port) && Number(port) <= 65535 ? undefined : 'port must be a whole number from 1 to 65535, without leading zeros';
}

/**
 * Whether `hostname` is itself listed in the Public Suffix List, ICANN or private
 * section (`com`, `co.uk`, `github.io`, `vercel.app`): anyone can register a name under
 * it, so an origin there, or a wildcard over it, covers strangers. Unlisted names
 * (`localhost`, `example.test`, an intranet host) and IP addresses are not.
 */
export function isPublicSuffix(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/\.$/, '');
  const info = parseDomain(host, { allowPrivateDomains: true, extractHostname: false });
  return info.isIp !== true && info.publicSuffix === host && (info.isIcann === true || info.isPrivate === true);
}

/**
 * Normalise an exact origin (`https://app.example.com`, `http://localhost:3000`), or
 * return an error message. Default ports are dropped, the host is lower-cased.
 */
export function normaliseOrigin(value: string): { origin: string } | { error: string } {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return { error: 'must be an origin such as https://app.example.com' };
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return { error: 'must use http: or https:' };
  if (url.username || url.password) return { error: 'must not contain credentials' };
  if (url.search || url.hash || url.pathname !== '/' || /[?#]|\/\/[^/]*\/./.test(value) || value.endsWith('/')) {
    return { error: 'must be scheme://host[:port] with no path, query or fragment' };
  }
  return { origin: url.origin };
}

/** An exact `allowedOrigins` entry: {@link normaliseOrigin} plus the rules against covering strangers. */
function parseExact(value: string): { origin: string; url: URL } | { error: string } {
  const result = normaliseOrigin(value);
  if ('error' in result) return result;
  // the URL parser reads ":0443" as 443; an entry must say what it means
  const port = /^[a-z][a-z0-9+.-]*:\/\/(?:\[[^\]]*\]|[^/?#:]*)(?::([^/?#]*))?$/i.exec(value)?.[1];
  const badPort = portError(port);
  if (badPort) return { error: badPort };
  const url = new URL(result.origin);
  if (isPublicSuffix(url.hostname)) {
    return { error: `is a public suffix, not one site: anyone can register a name under ${url.hostname}; list your own origin instead (${DOCS})` };
  }
  return { origin: result.origin, url };
}

function parseWildcard(value: string): WildcardRule | { error: string } {
  const m = /^(https?):\/\/\*\.([^/:]+)(?::([^/]*))?$/i.exec(value);
  if (!m) return { error: 'wildcards must look like https://*.example.com (one leading "*." label, no path)' };
  const domain = m[2]!.toLowerCase();
  const labels = domain.split('.');
  // a numeric last label is an IPv4 address to a browser, not a domain
  if (labels.length < 2 || !labels.every((l) => HOST_LABEL.test(l)) || /^\d+$/.test(labels.at(-1)!)) {
    return { error: 'wildcard domain must be a registrable domain such as example.com' };
  }
  const badPort = portError(m[3]);
  if (badPort) return { error: badPort };
  if (isPublicSuffix(domain)) {
    return { error: `covers every site under ${domain}, which is a public suffix (anyone can register a name there); list your own origins instead, such as https://yours.${domain} (${DOCS})` };
  }
  const scheme = m[1]!.toLowerCase();
  const defaultPort = scheme === 'https' ? '443' : '80';
  const port = m[3] && m[3] !== defaultPort ? m[3] : '';
  return { scheme: `${scheme}:`, suffix: `.${domain}`, port };
}

/** Origins no allow-list should match; an anchored RegExp that matches one of them allows strangers. */
const STRANGERS = ['null', 'https://attacker.invalid', 'http://attacker.invalid', 'https://attacker.github.io', 'https://attacker.vercel.app', 'https://attacker.co.uk'];

/** The top-level alternatives of a RegExp source (`^a$|^b$` → `^a$`, `^b$`). */
function topLevelBranches(source: string, nestedClasses: boolean): string[] {
  const branches: string[] = [];
  let depth = 0;
  let classDepth = 0;
  let start = 0;
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c === '\\') {
      i++;
    } else if (classDepth > 0) {
      if (c === ']') classDepth--;
      else if (c === '[' && nestedClasses) classDepth++;
    } else if (c === '[') {
      classDepth = 1;
    } else if (c === '(') {
      depth++;
    } else if (c === ')') {
      depth--;
    } else if (c === '|' && depth === 0) {
      branches.push(source.slice(start, i));
      start = i + 1;
    }
  }
  branches.push(source.slice(start));
  return branches;
}

/** `^…$` with the final `$` not escaped. */
function isAnchored(branch: string): boolean {
  if (!branch.startsWith('^') || !branch.endsWith('$')) return false;
  let backslashes = 0;
  for (let i = branch.length - 2; i >= 0 && branch[i] === '\\'; i--) backslashes++;
  return backslashes % 2 === 0;
}

function checkPattern(pattern: RegExp): string | undefined {
  if (/[gym]/.test(pattern.flags)) {
    return 'must not use the g, y or m flag (g and y make each test() depend on the last one; m lets ^ and $ match inside the value)';
  }
  if (!topLevelBranches(pattern.source, pattern.flags.includes('v')).every(isAnchored)) {
    return `must be anchored: start with ^ and end with $ (every alternative too), or it also matches origins that merely contain it, such as https://app.example.com.evil.net (${DOCS})`;
  }
  const test = new RegExp(pattern.source, pattern.flags);
  const stranger = [...STRANGERS, ...probesOf(pattern.source)].find((origin) => test.test(origin));
  if (stranger !== undefined) return `matches ${stranger}: it would allow sites you do not control (${DOCS})`;
  return undefined;
}

/** The literal text of a run of RegExp source made of plain host characters and escapes (`\.`, `\/`, `\-`, `\:`). */
function literalOf(run: string): string {
  return run.replace(/\\(.)/g, '$1');
}

/**
 * Origins a pattern should not match, built from its own literal parts: its literal start
 * (`https://app.example.com`) followed by another host's labels, which a pattern ending
 * in `.*$` or `.+$` allows; and a stranger's host under the public suffix its literal end
 * names (`\.netlify\.app$`, `\.s3\.amazonaws\.com$`), where anyone can register a site.
 */
function probesOf(source: string): string[] {
  const probes: string[] = [];
  for (const branch of topLevelBranches(source, false)) {
    const head = /^\^((?:[A-Za-z0-9:]|\\[./:-])+)/.exec(branch);
    if (head) {
      const start = literalOf(head[1]!);
      if (/^https?:\/\/./.test(start)) probes.push(`${start}.attacker.invalid`, `${start}-attacker.invalid`);
    }
    const tail = /((?:[A-Za-z0-9-]|\\[.-])+)\$$/.exec(branch);
    if (tail) {
      const labels = literalOf(tail[1]!).split('.').filter((l) => l !== '');
      // every public suffix the end names: s3.amazonaws.com, then amazonaws.com, …
      for (let i = 0; i < labels.length - 1; i++) {
        const suffix = labels.slice(i).join('.');
        if (isPublicSuffix(suffix)) probes.push(`https://attacker.${suffix}`, `http://attacker.${suffix}`, `https://attacker-1.${suffix}`);
      }
    }
  }
  return probes;
}

/**
 * The public suffix under `domain` that `host` sits below, if any: a wildcard over
 * `amazonaws.com` must not take `attacker.s3.amazonaws.com`, whose owner is whoever
 * created that bucket. `undefined` when the host's public suffix is above the domain.
 */
export function strangerSuffixBelow(host: string, domain: string): string | undefined {
  const suffix = parseDomain(host, { allowPrivateDomains: true, extractHostname: false }).publicSuffix;
  return suffix !== null && (suffix === domain || suffix.endsWith(`.${domain}`)) ? suffix : undefined;
}

function describeEntry(entry: AllowedOriginEntry): string {
  return typeof entry === 'string' ? `"${entry}"` : String(entry);
}

/** Why an `allowedOrigins` entry is refused, or `undefined`. */
function entryError(entry: unknown): string | undefined {
  if (entry instanceof RegExp) return checkPattern(entry);
  if (typeof entry !== 'string') return 'must be an origin string or a RegExp';
  const result = entry.includes('*') ? parseWildcard(entry) : parseExact(entry);
  return 'error' in result ? result.error : undefined;
}

/**
 * zod schema for `allowedOrigins`: a list whose entries are exact origins,
 * `scheme://*.domain` wildcards or anchored RegExps, or a function `(origin) => boolean`.
 * Entries that cover strangers (a public suffix, a RegExp matching any site) are refused.
 */
export const allowedOriginsSchema = z.custom<AllowedOrigins>().superRefine((value, ctx) => {
  if (typeof value === 'function') return;
  if (!Array.isArray(value)) {
    ctx.addIssue({ code: 'custom', message: 'must be a list of origins (strings or RegExps) or a function (origin) => boolean | Promise<boolean>' });
    return;
  }
  value.forEach((entry: unknown, index) => {
    const error = entryError(entry);
    if (error !== undefined) {
      const shown = typeof entry === 'string' || entry instanceof RegExp ? `${describeEntry(entry)} ` : '';
      ctx.addIssue({ code: 'custom', path: [index], message: `${shown}${error}` });
    }
  });
});

/**
 * Cross-field rules of `allowedOrigins`, `requireOrigin` and `cors`, for a vendor
 * schema's `.superRefine` (through `checkCommonOptions`). With `cors` on, plain `http:`
 * entries other than loopback are refused: anyone on the network path can put script
 * into such a page and read the credentialed answers.
 */
export function checkOriginOptions(options: { cors: boolean; allowedOrigins?: AllowedOrigins | undefined }, ctx: z.RefinementCtx): void {
  const list = options.allowedOrigins;
  if (options.cors && (list === undefined || (typeof list !== 'function' && list.length === 0))) {
    ctx.addIssue({ code: 'custom', path: ['cors'], message: 'needs allowedOrigins: CORS is only answered for listed origins' });
  }
  if (!options.cors || !Array.isArray(list)) return;
  (list as readonly unknown[]).forEach((entry, index) => {
    if (typeof entry !== 'string' || !/^http:\/\//i.test(entry)) return;
    // a wildcard never covers a loopback host (those have no registrable domain)
    if (!entry.includes('*') && URL.canParse(entry) && isLoopbackHost(new URL(entry).hostname)) return;
    ctx.addIssue({
      code: 'custom',
      path: ['allowedOrigins', index],
      message: `"${entry}" is plain http: while cors is on: anyone on the network path can inject script into that page and read the credentialed answers; use https: (plain http: is allowed only for localhost, 127.0.0.0/8 and [::1]) (${DOCS})`,
    });
  });
}

/**
 * Why an origin that a RegExp or function allowed is refused all the same, or
 * `undefined`: the value is not an origin as browsers send it (`null`, a path, a query,
 * upper case), it is plain `http:` other than loopback while `cors` is on, or its host
 * is a public suffix. String entries are checked once, at start-up, by the same rules.
 */
export function requestTimeRefusal(origin: string, cors: boolean): string | undefined {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return 'is not an origin';
  }
  if (url.origin !== origin || (url.protocol !== 'https:' && url.protocol !== 'http:')) return 'is not an http: or https: origin as browsers send it';
  if (cors && url.protocol === 'http:' && !isLoopbackHost(url.hostname)) return 'is plain http: while cors is on';
  if (isPublicSuffix(url.hostname)) return 'is a public suffix';
  return undefined;
}

/** Options of {@link compileOrigins}. */
export interface CompileOriginsOptions {
  /** Whether credentialed CORS is answered (plain `http:` is then refused). Defaults to `false`. */
  cors?: boolean;
  /** Told once per origin when a RegExp or function allowed an origin the request-time rules refuse. */
  onRefused?: (origin: string, reason: string) => void;
}

/**
 * Compile an `allowedOrigins` option (already validated) into a matcher. Exact entries
 * match the whole origin; `https://*.example.com` matches one or more subdomain labels
 * of example.com with the same scheme and port, never the bare domain and never a
 * look-alike such as `evilexample.com`; a RegExp must match the whole `Origin` value;
 * a function is asked on every call. What a RegExp or function allows must also pass
 * {@link requestTimeRefusal}. A list answers synchronously (and caches its verdicts);
 * a function's answer is awaited and must be a boolean.
 */
export function compileOrigins(allowed: AllowedOrigins, options: CompileOriginsOptions = {}): OriginMatcher {
  const cors = options.cors ?? false;
  const refused = (origin: string): boolean => {
    const reason = requestTimeRefusal(origin, cors);
    if (reason === undefined) return false;
    options.onRefused?.(origin, reason);
    return true;
  };

  if (typeof allowed === 'function') {
    const settle = (origin: string, answer: unknown): boolean => {
      if (typeof answer !== 'boolean') {
        throw new WidgetAuthError('INTERNAL_ERROR', `allowedOrigins returned ${answer === null ? 'null' : typeof answer}, not a boolean`);
      }
      return answer && !refused(origin);
    };
    return (origin: string) => {
      let answer: unknown;
      try {
        answer = allowed(origin);
      } catch (err) {
        throw new WidgetAuthError('INTERNAL_ERROR', 'allowedOrigins threw', { cause: err });
      }
      if (typeof (answer as { then?: unknown } | null)?.then !== 'function') return settle(origin, answer);
      return Promise.resolve(answer).then(
        (value) => settle(origin, value),
        (err: unknown) => {
          throw new WidgetAuthError('INTERNAL_ERROR', 'allowedOrigins rejected', { cause: err });
        },
      );
    };
  }

  const exact = new Set<string>();
  const wildcards: WildcardRule[] = [];
  // copies: the caller's RegExp objects (and their lastIndex) stay the caller's
  const patterns: RegExp[] = [];
  for (const entry of allowed) {
    if (entry instanceof RegExp) {
      patterns.push(new RegExp(entry.source, entry.flags));
      continue;
    }
    const r = entry.includes('*') ? parseWildcard(entry) : normaliseOrigin(entry);
    if ('origin' in r) exact.add(r.origin);
    else if ('suffix' in r) wildcards.push(r);
  }
  const cache = new Map<string, boolean>();
  return (origin: string) => {
    const hit = cache.get(origin);
    if (hit !== undefined) return hit;
    const verdict = matches(origin);
    if (cache.size < 1000) cache.set(origin, verdict);
    return verdict;
  };

  function matches(origin: string): boolean {
    if (exact.has(origin)) return true;
    if (wildcards.length > 0 && matchesWildcard(origin)) return true;
    return patterns.some((p) => p.test(origin)) && !refused(origin);
  }

  function matchesWildcard(origin: string): boolean {
    let url: URL;
    try {
      url = new URL(origin);
    } catch {
      return false;
    }
    if (url.origin !== origin) return false; // not in serialised origin form (path, trailing slash, upper case…)
    const host = url.hostname;
    return wildcards.some((w) => {
      if (url.protocol !== w.scheme || url.port !== w.port || !host.endsWith(w.suffix)) return false;
      const sub = host.slice(0, -w.suffix.length);
      if (sub.length === 0 || !sub.split('.').every((l) => HOST_LABEL.test(l))) return false;
      const stranger = strangerSuffixBelow(host, w.suffix.slice(1));
      if (stranger === undefined) return true;
      options.onRefused?.(origin, `is under ${stranger}, a public suffix below ${w.suffix.slice(1)}: another owner's site`);
      return false;
    });
  }
}

// ---------------------------------------------------------------------------
// Which requests may reach a route: Fetch Metadata, Origin and allowedOrigins

/** What the origin rules decided for one request. */
export type OriginVerdict =
  | { ok: true; /** Send credentialed CORS headers for this origin. */ allowOrigin?: string }
  | { ok: false; message: string };

/** The origin rules of one router, compiled once (see {@link createOriginGate}). */
export interface OriginGate {
  /** Whether a CORS preflight from `origin` is answered. */
  preflight(origin: string): boolean | Promise<boolean>;
  /** The verdict on a (non-preflight) request, from its headers alone. */
  check(headers: IncomingHttpHeaders): OriginVerdict | Promise<OriginVerdict>;
}

const SERVE: OriginVerdict = Object.freeze({ ok: true });
const NOT_FETCH: OriginVerdict = Object.freeze({
  ok: false,
  message: 'Only fetch() and XMLHttpRequest calls are served, not image, script, frame or navigation loads.',
});
const NOT_ALLOWED: OriginVerdict = Object.freeze({ ok: false, message: 'Origin is not allowed.' });
const NO_ORIGIN: OriginVerdict = Object.freeze({ ok: false, message: 'Requests must carry an Origin header.' });

function single(value: string | string[] | undefined): string | undefined {
  return typeof value === 'string' ? value.trim() : undefined;
}

/**
 * Compile the origin rules of a router: `allowedOrigins`, `requireOrigin` and `cors`,
 * applied with the browser's Fetch Metadata (`Sec-Fetch-Site`, `Sec-Fetch-Mode`,
 * `Sec-Fetch-Dest`). In order:
 *
 * 1. A browser request (`Sec-Fetch-Site` present) must be a `fetch()` or
 *    `XMLHttpRequest` call: mode `cors` or `same-origin`, destination `empty` (or not
 *    sent). Images, scripts, frames, navigations, `no-cors` fetches, prefetches and
 *    WebSockets are refused whatever their origin: they cannot read the answer, so
 *    serving them would only spend a vendor call and the user's rate limit.
 * 2. `same-origin`: served (the app's own pages need not be listed, and need not send
 *    `Origin`, which Chrome omits on same-origin `GET`).
 * 3. `same-site`, `cross-site` (or any other value): served only in mode `cors` with an
 *    `Origin` that `allowedOrigins` allows; with no `allowedOrigins`, refused.
 * 4. `none` (typed into the address bar, a bookmark, an extension) and requests
 *    without Fetch Metadata (servers, browsers from before 2023): an `Origin` must be
 *    allowed when `allowedOrigins` is set; without `Origin`, served unless
 *    `requireOrigin`; with `requireOrigin` and no `allowedOrigins`, no `Origin` can be
 *    vouched for, so only same-origin browser calls (step 2) remain.
 *
 * The matcher runs only when a verdict depends on it. Answers to allowed origins carry
 * `Access-Control-Allow-Origin` (with credentials) when `cors` is on.
 */
export function createOriginGate(options: {
  allowedOrigins?: AllowedOrigins | undefined;
  requireOrigin: boolean;
  cors: boolean;
  logger?: WidgetAuthLogger | undefined;
}): OriginGate {
  const { requireOrigin, cors, logger } = options;
  const warned = new Set<string>();
  const matcher =
    options.allowedOrigins === undefined
      ? undefined
      : compileOrigins(options.allowedOrigins, {
          cors,
          onRefused: (origin, reason) => {
            if (!logger || warned.has(origin) || warned.size >= 100) return;
            warned.add(origin);
            try {
              logger.warn(
                { origin, reason },
                `allowedOrigins allowed ${origin}, which ${reason}; the request was refused with 403 FORBIDDEN_ORIGIN (${DOCS})`,
              );
            } catch {
              // a throwing logger must not turn a refusal into a 500
            }
          },
        });
  const allowedVerdict = new Map<string, OriginVerdict>();
  const verdictFor = (origin: string, allowed: boolean): OriginVerdict => {
    if (!allowed) return NOT_ALLOWED;
    if (!cors) return SERVE;
    let verdict = allowedVerdict.get(origin);
    if (verdict === undefined) {
      verdict = Object.freeze({ ok: true, allowOrigin: origin });
      if (allowedVerdict.size < 1000) allowedVerdict.set(origin, verdict);
    }
    return verdict;
  };
  const byOrigin = (origin: string): OriginVerdict | Promise<OriginVerdict> => {
    const allowed = matcher!(origin);
    return typeof allowed === 'boolean' ? verdictFor(origin, allowed) : allowed.then((a) => verdictFor(origin, a));
  };

  return {
    preflight(origin) {
      return matcher ? matcher(origin) : false;
    },
    check(headers) {
      const origin = headers.origin;
      const site = single(headers['sec-fetch-site']);
      if (site !== undefined) {
        const mode = single(headers['sec-fetch-mode']);
        const dest = single(headers['sec-fetch-dest']);
        if ((mode !== 'cors' && mode !== 'same-origin') || (dest !== undefined && dest !== 'empty')) return NOT_FETCH;
        if (site === 'same-origin') return SERVE;
        if (site !== 'none') {
          if (mode !== 'cors' || origin === undefined || !matcher) return NOT_ALLOWED;
          return byOrigin(origin);
        }
      }
      if (origin === undefined) return requireOrigin ? NO_ORIGIN : SERVE;
      if (matcher) return byOrigin(origin);
      return requireOrigin ? NOT_ALLOWED : SERVE;
    },
  };
}
