import { z } from 'zod';
import { ERRORS_DOCS_URL, WidgetAuthConfigError } from './errors';
import { rejectMisuse } from './misuse';

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
 * The problem of a function given as a factory's options, with the likeliest fix: the
 * factory itself (`app.use(x)` rewritten by hand), a `…ConfigFromEnv` not called, or
 * `resolveUser` given on its own instead of inside the options.
 */
function functionAsOptions(subject: string, fn: unknown, schema: unknown): string {
  let raw: unknown;
  try {
    raw = (fn as { name?: unknown }).name;
  } catch {
    // a throwing getter or a revoked Proxy: a function without a name
  }
  const name = typeof raw === 'string' && /^[\w$]{1,64}$/.test(raw) ? raw : '';
  if (name === subject) {
    return `options: a function was passed where an options object was expected (did you write \`app.use(${subject})\` instead of \`app.use(${subject}({ … }))\`?)`;
  }
  if (name.endsWith('ConfigFromEnv')) return `options: ${name} was passed without being called; write ${subject}({ ...${name}(), … })`;
  // another of the package's factories (hissunoTokenRouter, hmacCredential, …): not a resolveUser
  if (/^[a-z]\w*(?:Router|Credential|CredentialStore)$/.test(name)) return `options: ${name} (a factory of its own) was passed where an options object was expected: ${subject}({ … })`;
  const what = `options: a function${name ? ` (${name})` : ''} was passed where an options object was expected`;
  return Object.hasOwn(objectShape(schema) ?? {}, 'resolveUser') ? `${what}; resolveUser goes inside the options: ${subject}({ …, resolveUser })` : `${what}: ${subject}({ … })`;
}

/**
 * Validate a factory's options once, at construction. Returns the resolved (output)
 * configuration or throws one {@link WidgetAuthConfigError} listing every problem.
 * The caller's object is never mutated (zod returns a fresh object).
 */
export function parseOptions<S extends z.ZodType>(subject: string, schema: S, input: unknown): z.output<S> {
  // a request here means the factory itself was mounted: `router.use(hissunoTokenRouter)`
  rejectMisuse(subject, input);
  if (typeof input === 'function') throw new WidgetAuthConfigError(subject, [functionAsOptions(subject, input, schema)]);
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new WidgetAuthConfigError(subject, ['options: expected an options object']);
  }
  // undefined values mean "omitted"
  const cleaned = Object.fromEntries(Object.entries(input as Record<string, unknown>).filter(([, v]) => v !== undefined));
  const problems: string[] = [];
  const secrets = secretFieldsOf(schema);
  let allowWeak = false;
  // `allowWeakSecrets` belongs to every factory that takes a secret: it is read here, not by each schema
  if (secrets.length > 0 && Object.hasOwn(cleaned, 'allowWeakSecrets') && !Object.hasOwn(objectShape(schema) ?? {}, 'allowWeakSecrets')) {
    const flag = cleaned['allowWeakSecrets'];
    delete cleaned['allowWeakSecrets'];
    if (typeof flag === 'boolean') allowWeak = flag;
    else problems.push('allowWeakSecrets: must be true or false');
  }
  const result = schema.safeParse(cleaned);
  if (!result.success) problems.push(...describeIssues(schema, result.error.issues));
  if (!allowWeak) problems.push(...weakSecretProblems(secrets, cleaned, result.success ? [] : result.error.issues, (key) => key));
  if (!result.success || problems.length > 0) throw new WidgetAuthConfigError(subject, problems);
  return result.data;
}

// documentation stand-ins: "changeme", "your-secret-key", "<secret>", "sk_live_..." (a prefix then an ellipsis)
const PLACEHOLDER = /^(?:changeme|change[-_ ]?me|replace[-_ ]?me|your[-_ ].*|xxx+|todo|placeholder|secret|<.*>|.*(?:\.\.\.|\u2026))$/i;

/** Schemas made by {@link secretString}: the fields {@link parseOptions} checks for weak secrets. */
const SECRET_SCHEMAS = new WeakSet<object>();

/**
 * A server-side secret: a non-empty string of at least `min` characters that is not an
 * obvious placeholder. Messages state the rule, never the value.
 *
 * An object schema holding one (directly, optional, or as a union member) also gets the
 * weak-secret rules of {@link weakSecretReason} from {@link parseOptions} and
 * {@link optionsFromEnv}, and the `allowWeakSecrets` option that turns them off.
 */
export function secretString(min = 1) {
  const schema = z
    .string({ error: (iss) => (iss.input === undefined ? 'is required' : 'must be a string') })
    .refine((v) => v.length > 0, { message: 'must not be empty', abort: true })
    .refine((v) => v.trim() === v, { message: 'must not start or end with white space', abort: true })
    .refine((v) => v.length >= min, { message: `must be at least ${min} characters long` })
    .refine((v) => !PLACEHOLDER.test(v), { message: 'looks like a placeholder, not a real secret' });
  SECRET_SCHEMAS.add(schema);
  return schema;
}

/** Options of every factory and `…ConfigFromEnv` function that takes a server-side secret. */
export interface WeakSecretOption {
  /**
   * Accept a secret that looks like a placeholder or has too little variety
   * (`'a'.repeat(32)`, `secretsecret…`, `abcdef…`, `0123456789…`, `test-secret-key`):
   * for tests with throwaway values only, never in production. A `…ConfigFromEnv`
   * function given it returns it with the configuration, so the factory the
   * configuration is spread into accepts the same secret. Defaults to `false`.
   */
  allowWeakSecrets?: boolean;
}

function holdsSecret(schema: unknown): boolean {
  let s = schema as { def?: { type?: string; innerType?: unknown; options?: readonly unknown[] } } | undefined;
  while (s !== undefined && !SECRET_SCHEMAS.has(s) && s.def?.innerType !== undefined) s = s.def.innerType as typeof s;
  if (s === undefined) return false;
  return SECRET_SCHEMAS.has(s) || (s.def?.type === 'union' && (s.def.options ?? []).some(holdsSecret));
}

const secretFields = new WeakMap<object, readonly string[]>();

/** The keys of an object schema whose values are secrets, found once per schema. */
function secretFieldsOf(schema: z.ZodType): readonly string[] {
  let keys = secretFields.get(schema);
  if (keys === undefined) {
    keys = Object.entries(objectShape(schema) ?? {})
      .filter(([, field]) => holdsSecret(field))
      .map(([key]) => key);
    secretFields.set(schema, keys);
  }
  return keys;
}

// runs of characters typed in order: a person's stand-in, not a key
const SEQUENCES = ['abcdefghijklmnopqrstuvwxyz', '01234567890', 'qwertyuiop', 'asdfghjkl', 'zxcvbnm'];
// words of example values ("my-super-secret-key", "test_password_1234"), longest first
const PLACEHOLDER_WORDS = [
  'password', 'passwd', 'secret', 'changeme', 'change', 'replace', 'example', 'sample', 'placeholder', 'dummy', 'testing',
  'test', 'demo', 'fake', 'default', 'your', 'super', 'token', 'apikey', 'api', 'key', 'keyboard', 'admin', 'letmein',
  'welcome', 'hello', 'world', 'foobar', 'foo', 'bar', 'baz', 'qux', 'todo', 'sandbox', 'value', 'here', 'local',
  'development', 'staging', 'production',
].sort((a, b) => b.length - a.length);
// `-`, `_`, `.`, `:` and white space
const SEPARATORS = new Set([45, 95, 46, 58, 32, 9, 10, 13]);

// ADJACENT[a * 128 + b] is 1 when b follows a in one of SEQUENCES ("ab", "90", "qw"), ASCII codes
const ADJACENT = new Uint8Array(128 * 128);
for (const run of SEQUENCES) for (let i = 1; i < run.length; i++) ADJACENT[run.charCodeAt(i - 1) * 128 + run.charCodeAt(i)] = 1;
const followsInSequence = (a: number, b: number): boolean => a < 128 && b < 128 && ADJACENT[a * 128 + b] === 1;

/**
 * Why `value` is too weak to be a real secret, or `undefined`. Two plain rules, so that a
 * key a vendor issued (hex, base64, `wk_…`, `sk_live_…` with a random tail) passes:
 *
 * - **too little variety**: fewer different characters than a quarter of its length
 *   (at most 10 are asked for): `'a'.repeat(32)`, `secretsecret…`;
 * - **mostly predictable**: at least half of it (and at least 6 characters) is
 *   separators (`-_.:` and spaces), placeholder words (`secret`, `password`, `test`,
 *   `example`, `key`, …), runs of 4 or more in alphabet, digit or keyboard order
 *   (`abcd`, `4321`, `qwer`; all but a run's first character), or repeats of what came
 *   just before (`password1234password1234`; the repeat, not the first copy).
 *
 * The answer describes the value's shape, never its content.
 */
export function weakSecretReason(value: string): string | undefined {
  const n = value.length;
  const distinct = new Set<number>();
  for (let i = 0; i < n; i++) distinct.add(value.charCodeAt(i));
  if (distinct.size < Math.min(10, Math.ceil(n / 4))) return 'it has too few different characters';
  const predictable = new Uint8Array(n);
  const kinds = new Set<string>();
  const mark = (from: number, to: number, kind: string) => {
    predictable.fill(1, from, to);
    kinds.add(kind);
  };
  for (let i = 0; i < n; i++) if (SEPARATORS.has(value.charCodeAt(i))) predictable[i] = 1;
  // ASCII only, so that indexes stay those of `value`
  const lower = value.replace(/[A-Z]+/g, (c) => c.toLowerCase());
  for (const word of PLACEHOLDER_WORDS) {
    for (let at = lower.indexOf(word); at !== -1; at = lower.indexOf(word, at + 1)) mark(at, at + word.length, 'placeholder words such as "secret" or "test"');
  }
  for (const ascending of [true, false]) {
    let start = 0;
    for (let i = 1; i <= n; i++) {
      if (i < n) {
        const before = lower.charCodeAt(i - 1);
        const here = lower.charCodeAt(i);
        if (ascending ? followsInSequence(before, here) : followsInSequence(here, before)) continue;
      }
      if (i - start >= 4) mark(start + 1, i, 'a run such as "abcd" or "1234"');
      start = i;
    }
  }
  for (let period = 1; period <= Math.min(64, n >> 1); period++) {
    let run = 0;
    for (let i = period; i <= n; i++) {
      if (i < n && value.charCodeAt(i) === value.charCodeAt(i - period)) {
        run++;
      } else {
        if (run >= Math.max(4, period)) mark(i - run, i, 'a repeated pattern');
        run = 0;
      }
    }
  }
  let count = 0;
  for (const p of predictable) count += p;
  if (count < Math.max(6, n / 2)) return undefined;
  return kinds.size === 0 ? 'it is mostly separators' : `it is mostly ${[...kinds].join(' and ')}`;
}

/** The problem line's text for a weak secret: the shape found and what to do, never the value. */
function weakSecretMessage(reason: string): string {
  return `looks like a placeholder or has too little variety (${reason}); set the key the vendor issued — in tests, a random value such as the output of \`openssl rand -hex 32\` (see ${ERRORS_DOCS_URL}#weak-secrets)`;
}

/** One problem per secret field that passed its own rules but is weak, named by `name(key)`. */
function weakSecretProblems(keys: readonly string[], values: Record<string, unknown>, issues: readonly z.core.$ZodIssue[], name: (key: string) => string): string[] {
  const out: string[] = [];
  for (const key of keys) {
    const value = values[key];
    // a KeyObject, or a value already reported by its own rules
    if (typeof value !== 'string' || issues.some((issue) => issue.path[0] === key)) continue;
    const reason = weakSecretReason(value);
    if (reason !== undefined) out.push(`${name(key)}: ${weakSecretMessage(reason)}`);
  }
  return out;
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
 * The part of `path` (a URL path) that repeats the start of the vendor's `route`: `/api/v1`
 * for `/api/v1` against `/api/v1/widgets/session`. Whole segments only, case-insensitive,
 * up to the route's first `:parameter`; `undefined` when they do not overlap.
 */
function repeatedRoute(path: string, route: string): string | undefined {
  const base = path.split('/').filter(Boolean);
  const head: string[] = [];
  for (const segment of route.split('/').filter(Boolean)) {
    if (segment.startsWith(':')) break;
    head.push(segment);
  }
  for (let n = Math.min(base.length, head.length); n > 0; n--) {
    const tail = base.slice(base.length - n);
    if (tail.every((segment, i) => segment.toLowerCase() === head[i]!.toLowerCase())) return `/${head.slice(0, n).join('/')}`;
  }
  return undefined;
}

/**
 * A vendor base URL: absolute `https:` (or `http:` on a loopback host only, so that
 * secrets never travel in the clear). Returned without a trailing slash.
 *
 * `route` is the vendor route the client appends (`/api/v1/widgets/session`). A base URL
 * whose path ends with the start of that route (`https://api.example.com/api/v1`) is
 * refused, since the vendor would get `/api/v1/api/v1/…`. Any other path is kept as a
 * prefix (a gateway mounting the vendor's API at `/nevermined`).
 */
export function vendorBaseUrl(route?: string) {
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
      const repeated = route === undefined ? undefined : repeatedRoute(url.pathname, route);
      if (repeated !== undefined) {
        // only the repeated route segments are quoted: they are the library's own, never a secret in the path
        ctx.addIssue({
          code: 'custom',
          message: `must be the API origin without the vendor's route: its path ends in \`${repeated}\`, and the router adds \`${route}\` itself (the vendor would get \`${repeated}${route}\`); drop \`${repeated}\``,
        });
      }
    })
    .transform((value) => value.replace(/\/+$/, ''));
}

/**
 * A positive whole number of milliseconds. `required` describes the value for the message
 * when it is missing (`is required — the window length in milliseconds, e.g. 60000`).
 */
export function milliseconds(max = 10 * 60_000, required?: string) {
  return z
    .number({ error: (iss) => (iss.input === undefined && required !== undefined ? `is required — ${required}` : undefined) })
    .int('must be a whole number of milliseconds')
    .positive('must be positive')
    .max(max, `must be at most ${max}`);
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
 * option schema, so the rules are the same as for options passed in code). Secrets are
 * held to the weak-secret rules unless `options.allowWeakSecrets`, which then comes back
 * with the options (so that the factory they are spread into accepts the same secret).
 */
export function optionsFromEnv<S extends z.ZodType>(
  subject: string,
  env: Record<string, string | undefined>,
  variables: readonly EnvVariable[],
  schema: S,
  options?: WeakSecretOption,
): z.output<S> & WeakSecretOption {
  const allowWeak = options === undefined ? false : parseOptions(subject, envOptionsSchema, options).allowWeakSecrets === true;
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
  const byOption = new Map(variables.map((v) => [v.option, v.name]));
  const weak = allowWeak ? [] : weakSecretProblems(secretFieldsOf(schema), values, result.success ? [] : result.error.issues, (key) => byOption.get(key) ?? key);
  if (result.success && problems.length === 0 && weak.length === 0) return (allowWeak ? { ...(result.data as object), allowWeakSecrets: true } : result.data) as z.output<S> & WeakSecretOption;
  if (!result.success) {
    for (const issue of result.error.issues) {
      const option = String(issue.path[0] ?? '');
      if (missing.has(option)) continue;
      const name = byOption.get(option);
      const [line] = describeIssues(schema, [issue]);
      problems.push(name && line ? `${name}${line.slice(line.indexOf(':'))}` : (line ?? option));
    }
  }
  throw new WidgetAuthConfigError(subject, [...problems, ...weak]);
}

const envOptionsSchema = z.object({ allowWeakSecrets: z.boolean({ error: 'must be true or false' }).optional() }).strict();
