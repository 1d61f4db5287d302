import { z } from 'zod';
import { WidgetAuthConfigError } from './errors';

/** Levenshtein distance, small inputs only (option names). */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1]!.toLowerCase() === b[j - 1]!.toLowerCase() ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length]!;
}

/** The known name closest to `name`, if it is close enough to be a likely typo. */
export function closestName(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestScore = Infinity;
  for (const candidate of known) {
    const d = distance(name, candidate);
    if (d < bestScore) {
      best = candidate;
      bestScore = d;
    }
  }
  return best !== undefined && bestScore <= Math.max(2, Math.floor(best.length / 3)) ? best : undefined;
}

function pathOf(prefix: string, path: readonly PropertyKey[]): string {
  let out = prefix;
  for (const key of path) out += typeof key === 'number' ? `[${key}]` : out ? `.${String(key)}` : String(key);
  return out || '(options)';
}

/** Known keys of the (possibly nested) object schema at `path`, for did-you-mean hints. */
function keysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let current: unknown = schema;
  for (const key of path) {
    const shape = objectShape(current);
    if (!shape || typeof key !== 'string') return [];
    current = shape[key];
  }
  return Object.keys(objectShape(current) ?? {});
}

function objectShape(schema: unknown): Record<string, unknown> | undefined {
  let s = schema as { def?: { type?: string; innerType?: unknown; shape?: Record<string, unknown> } } | undefined;
  // unwrap optional/default/nullable wrappers
  while (s?.def && s.def.innerType && s.def.type !== 'object') s = s.def.innerType as typeof s;
  return s?.def?.type === 'object' ? s.def.shape : undefined;
}

/**
 * Turn zod issues into one line each: the option path and the rule broken. Zod's own
 * messages never include the offending value, and custom messages in this library are
 * written not to, so a secret cannot leak through here.
 */
export function describeIssues(schema: z.ZodType, issues: readonly z.core.$ZodIssue[], prefix = ''): string[] {
  const out: string[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      const known = keysAt(schema, issue.path);
      for (const key of issue.keys) {
        const hint = closestName(key, known);
        out.push(`${pathOf(prefix, [...issue.path, key])}: unknown option${hint ? ` (did you mean \`${hint}\`?)` : ''}`);
      }
      continue;
    }
    if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      // report the branch that got furthest rather than "Invalid input"
      const branch = [...issue.errors].sort((a, b) => a.length - b.length)[0]!;
      out.push(...describeIssues(schema, branch.map((i) => ({ ...i, path: [...issue.path, ...i.path] })), prefix));
      continue;
    }
    out.push(`${pathOf(prefix, issue.path)}: ${issue.message.replace(/^Invalid input: /, '')}`);
  }
  return out;
}

/**
 * Validate a factory's options once, at construction. Returns the resolved (output)
 * configuration or throws one {@link WidgetAuthConfigError} listing every problem.
 * The caller's object is never mutated (zod returns a fresh object).
 */
export function parseOptions<S extends z.ZodType>(subject: string, schema: S, input: unknown): z.output<S> {
  if (typeof input === 'function') {
    throw new WidgetAuthConfigError(subject, [
      `options: a function was passed where an options object was expected (did you write \`app.use(${subject})\` instead of \`app.use(${subject}({ … }))\`?)`,
    ]);
  }
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new WidgetAuthConfigError(subject, ['options: expected an options object']);
  }
  // undefined values mean "omitted"
  const cleaned = Object.fromEntries(Object.entries(input as Record<string, unknown>).filter(([, v]) => v !== undefined));
  const result = schema.safeParse(cleaned);
  if (!result.success) throw new WidgetAuthConfigError(subject, describeIssues(schema, result.error.issues));
  return result.data;
}

// documentation stand-ins: "changeme", "your-secret-key", "<secret>", "sk_live_..." (a prefix then an ellipsis)
const PLACEHOLDER = /^(?:changeme|change[-_ ]?me|replace[-_ ]?me|your[-_ ].*|xxx+|todo|placeholder|secret|<.*>|.*(?:\.\.\.|\u2026))$/i;

/**
 * A server-side secret: a non-empty string of at least `min` characters that is not an
 * obvious placeholder. Messages state the rule, never the value.
 */
export function secretString(min = 1) {
  return z
    .string({ error: (iss) => (iss.input === undefined ? 'is required' : 'must be a string') })
    .refine((v) => v.length > 0, { message: 'must not be empty', abort: true })
    .refine((v) => v.trim() === v, { message: 'must not start or end with white space', abort: true })
    .refine((v) => v.length >= min, { message: `must be at least ${min} characters long` })
    .refine((v) => !PLACEHOLDER.test(v), { message: 'looks like a placeholder, not a real secret' });
}

/** A required non-empty string (not a secret: its value may appear in messages elsewhere). */
export function requiredString() {
  return z
    .string({ error: (iss) => (iss.input === undefined ? 'is required' : 'must be a string') })
    .trim()
    .min(1, 'must not be empty');
}

const LOOPBACK_HOST = /^(?:localhost|127(?:\.\d{1,3}){3}|\[::1\])$/i;

/** True for `localhost`, `127.0.0.0/8` and `[::1]`. */
export function isLoopbackHost(hostname: string): boolean {
  return LOOPBACK_HOST.test(hostname);
}

/**
 * A vendor base URL: absolute `https:` (or `http:` on a loopback host only, so that
 * secrets never travel in the clear). Returned without a trailing slash.
 */
export function vendorBaseUrl() {
  return z
    .string({ error: (iss) => (iss.input === undefined ? 'is required' : 'must be a string') })
    .superRefine((value, ctx) => {
      let url: URL;
      try {
        url = new URL(value);
      } catch {
        ctx.addIssue({ code: 'custom', message: 'must be an absolute URL such as https://api.example.com' });
        return;
      }
      if (url.protocol !== 'https:' && url.protocol !== 'http:') {
        ctx.addIssue({ code: 'custom', message: 'must use https:' });
      } else if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
        ctx.addIssue({ code: 'custom', message: 'must use https: (plain http: is allowed only for localhost, 127.0.0.0/8 and [::1])' });
      }
      if (url.username || url.password) ctx.addIssue({ code: 'custom', message: 'must not contain credentials' });
      if (url.search || url.hash) ctx.addIssue({ code: 'custom', message: 'must not contain a query or fragment' });
    })
    .transform((value) => value.replace(/\/+$/, ''));
}

/** A positive whole number of milliseconds. */
export function milliseconds(max = 10 * 60_000) {
  return z.number().int('must be a whole number of milliseconds').positive('must be positive').max(max, `must be at most ${max}`);
}

/** Description of one environment variable read by a `…ConfigFromEnv` function. */
export interface EnvVariable {
  /** Variable name, e.g. `HISSUNO_SECRET_KEY`. */
  name: string;
  /** Option the value goes to. */
  option: string;
  /** Whether the variable must be set. */
  required: boolean;
}

/**
 * Build a vendor's options from environment variables. Every missing required
 * variable and every invalid value is reported together in one
 * {@link WidgetAuthConfigError}, named by variable, never with its value. Empty
 * strings count as missing.
 *
 * `schema` validates the options the variables map to (a `.pick` of the vendor's
 * option schema, so the rules are the same as for options passed in code).
 */
export function optionsFromEnv<S extends z.ZodType>(
  subject: string,
  env: Record<string, string | undefined>,
  variables: readonly EnvVariable[],
  schema: S,
): z.output<S> {
  const problems: string[] = [];
  const values: Record<string, string> = {};
  const missing = new Set<string>();
  for (const v of variables) {
    const raw = env[v.name];
    if (raw === undefined || raw.trim() === '') {
      if (v.required) {
        problems.push(`${v.name}: is not set`);
        missing.add(v.option);
      }
      continue;
    }
    values[v.option] = raw;
  }
  const result = schema.safeParse(values);
  if (result.success && problems.length === 0) return result.data;
  if (!result.success) {
    const byOption = new Map(variables.map((v) => [v.option, v.name]));
    for (const issue of result.error.issues) {
      const option = String(issue.path[0] ?? '');
      if (missing.has(option)) continue;
      const name = byOption.get(option);
      const [line] = describeIssues(schema, [issue]);
      problems.push(name && line ? `${name}${line.slice(line.indexOf(':'))}` : (line ?? option));
    }
  }
  throw new WidgetAuthConfigError(subject, problems);
}
