import { z } from 'zod';

/** A compiled `allowedOrigins` list: exact origins in a set, wildcards as suffix rules. */
export interface OriginMatcher {
  (origin: string): boolean;
}

interface WildcardRule {
  scheme: string;
  /** `.example.com` — what the host must end with, after at least one label. */
  suffix: string;
  port: string;
}

const HOST_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

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

function parseWildcard(value: string): WildcardRule | { error: string } {
  const m = /^(https?):\/\/\*\.([^/:]+)(?::(\d{1,5}))?$/i.exec(value);
  if (!m) return { error: 'wildcards must look like https://*.example.com (one leading "*." label, no path)' };
  const domain = m[2]!.toLowerCase();
  const labels = domain.split('.');
  if (labels.length < 2 || !labels.every((l) => HOST_LABEL.test(l))) {
    return { error: 'wildcard domain must be a registrable domain such as example.com' };
  }
  const scheme = m[1]!.toLowerCase();
  const defaultPort = scheme === 'https' ? '443' : '80';
  const port = m[3] && m[3] !== defaultPort ? m[3] : '';
  return { scheme: `${scheme}:`, suffix: `.${domain}`, port };
}

/** zod schema for `allowedOrigins`: each entry an exact origin or a `scheme://*.domain` wildcard. */
export const allowedOriginsSchema = z.array(z.string()).superRefine((entries, ctx) => {
  entries.forEach((entry, index) => {
    const result = entry.includes('*') ? parseWildcard(entry) : normaliseOrigin(entry);
    if ('error' in result) ctx.addIssue({ code: 'custom', path: [index], message: `"${entry}" ${result.error}` });
  });
});

/**
 * Compile an `allowedOrigins` list (already validated) into a matcher. Exact entries
 * match the whole origin; `https://*.example.com` matches one or more subdomain labels
 * of example.com with the same scheme and port, never the bare domain and never a
 * look-alike such as `evilexample.com`.
 */
export function compileOrigins(entries: readonly string[]): OriginMatcher {
  const exact = new Set<string>();
  const wildcards: WildcardRule[] = [];
  for (const entry of entries) {
    const r = entry.includes('*') ? parseWildcard(entry) : normaliseOrigin(entry);
    if ('origin' in r) exact.add(r.origin);
    else if ('suffix' in r) wildcards.push(r);
  }
  const cache = new Map<string, boolean>();
  return (origin: string) => {
    const hit = cache.get(origin);
    if (hit !== undefined) return hit;
    const allowed = matches(origin);
    if (cache.size < 1000) cache.set(origin, allowed);
    return allowed;
  };

  function matches(origin: string): boolean {
    if (exact.has(origin)) return true;
    if (wildcards.length === 0) return false;
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
      return sub.length > 0 && sub.split('.').every((l) => HOST_LABEL.test(l));
    });
  }
}
