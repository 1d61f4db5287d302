import { z } from 'zod';

/**
 * Anything with pino's `info/warn/error(obj, msg)` methods: pino itself, a child
 * logger, or a small adapter over your own logging.
 */
export interface WidgetAuthLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** The one event logged per request. It never holds a secret, token, body or query string. */
export interface RequestLogEvent {
  vendor: string;
  route: string;
  method: string;
  status: number;
  /** The error code on the wire, when the request failed. */
  code?: string;
  durationMs: number;
  /** Time spent waiting on the vendor, when the route called one. */
  upstreamMs?: number;
  /** Vendor-side details of a vendor failure, for the operator. */
  vendorCode?: string;
  correlationId?: string;
  upstreamStatus?: number;
  /** Name and (redacted) message of an unexpected error, or of why a vendor's answer was refused (`UPSTREAM_INVALID_RESPONSE`). */
  err?: { name: string; message: string };
  /**
   * When the cause is the host's to fix (a hook, the configuration, the vendor refusing
   * this server): what is wrong and what to do, redacted. Not set with `report: false`.
   */
  hint?: string;
  /** Link to the section of docs/errors.md about that cause, with `hint`. */
  docs?: string;
}

export const loggerSchema = z.custom<WidgetAuthLogger>(
  (v) =>
    typeof v === 'object' &&
    v !== null &&
    ['info', 'warn', 'error'].every((m) => typeof (v as Record<string, unknown>)[m] === 'function'),
  { message: 'must be a logger with info, warn and error methods (pino-compatible)' },
);

// ---------------------------------------------------------------------------
// Redaction

/** What every secret found is replaced with. */
export const REDACTED = '[redacted]';

/** Forms shorter than this are not searched for: they would match ordinary text. */
const MIN_FORM_LENGTH = 6;
/** Fragments of a secret found on their own are at least this long (or the whole secret when it is shorter)… */
const MIN_FRAGMENT = 8;
/** …and half the secret, but never need to be longer than this. */
const MAX_FRAGMENT = 12;
/** A longer text is redacted on its first this-many characters only, then cut. */
const MAX_REDACTED_TEXT = 64 * 1024;

const hexByte = (b: number) => b.toString(16).padStart(2, '0');
const hexUnit = (u: number) => u.toString(16).padStart(4, '0');
/** `text` with each lone surrogate replaced by U+FFFD, as UTF-8 encoding (and so decoding) has it. */
const wellFormed = (text: string) => text.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');
const toBase64Url = (b64: string) => b64.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');

/**
 * The base64 text of `buf` that does not depend on its neighbours when it sits at byte
 * offset `k` (0, 1 or 2, modulo 3) of a larger buffer: the characters whose six bits all
 * come from `buf`. At offset 0 that is the whole encoding but a final partial character.
 */
function stableBase64(buf: Buffer, k: number): string {
  const text = Buffer.concat([Buffer.alloc(k), buf]).toString('base64');
  return text.slice(Math.ceil((4 * k) / 3), Math.floor((4 * (k + buf.length)) / 3));
}

/**
 * Every literal text form a secret is searched for: as is; JSON-escaped (minimally, and
 * every character as `\uXXXX` in lower and upper case); URL-encoded
 * (`encodeURIComponent`, and every byte as `%XX`, in lower and upper case); hex (lower and
 * upper case); base64 and base64url, padded or not, plus the part of the encoding that
 * stays the same wherever the secret sits inside a larger base64 text (one for each of
 * the three byte alignments). Forms shorter than 6 characters are left out.
 *
 * The redactor ({@link createSecretMatcher}) finds more than this list: any mixture of
 * plain, `%XX` and `\uXXXX` characters, hex in mixed case, and long fragments.
 */
export function encodedForms(secret: string): string[] {
  const buf = Buffer.from(secret, 'utf8');
  let units = '';
  for (let i = 0; i < secret.length; i++) units += `\\u${hexUnit(secret.charCodeAt(i))}`;
  const percentAll = [...buf].map((b) => `%${hexByte(b)}`).join('');
  // encodeURIComponent throws on a lone surrogate; UTF-8 writes it as U+FFFD
  const uri = encodeURIComponent(wellFormed(secret));
  const forms = new Set([
    secret,
    JSON.stringify(secret).slice(1, -1),
    units,
    units.replace(/[a-f]/g, (c) => c.toUpperCase()),
    uri,
    uri.replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase()),
    percentAll,
    percentAll.toUpperCase(),
    buf.toString('hex'),
    buf.toString('hex').toUpperCase(),
    buf.toString('base64'),
    buf.toString('base64').replace(/=+$/, ''),
    buf.toString('base64url'),
  ]);
  for (let k = 0; k < 3; k++) {
    const stable = stableBase64(buf, k);
    forms.add(stable);
    forms.add(toBase64Url(stable));
  }
  return [...forms].filter((f) => f.length >= MIN_FORM_LENGTH);
}

const escapeRegExp = (text: string) => text.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');

/** A regex source matching the hex digits `hex` in any letter case. */
const anyCase = (hex: string) => hex.replace(/[a-f]/gi, (c) => `[${c.toLowerCase()}${c.toUpperCase()}]`);

/** The letter of each JSON short escape (`\/`, `\n`, …). */
const JSON_SHORT_ESCAPES: Readonly<Record<string, string>> = { '"': '"', '\\': '\\', '/': '/', '\b': 'b', '\f': 'f', '\n': 'n', '\r': 'r', '\t': 't' };

/**
 * The backslashes of one JSON escape, nested up to {@link MAX_ESCAPE_LEVELS} deep (1, 2, 4 or 8
 * of them): bounded, so a run of thousands of backslashes in a vendor's text costs a few
 * steps per position, not a scan of the rest of the run from each one.
 */
const BACKSLASHES = '\\\\{1,8}';

/**
 * A regex source matching `secret` written with any mixture, character by character, of
 * the character itself, its UTF-8 bytes as `%XX` and its JSON escapes (`\uXXXX`, `\/`, …),
 * hex digits in either case. An escape may have several backslashes: inside a serialised
 * JSON string (a success body about to be sent) the text `\u0077` reads `\\u0077`.
 */
function mixedSource(secret: string): string {
  let source = '';
  for (const char of secret) {
    const ways = [escapeRegExp(char), [...Buffer.from(char, 'utf8')].map((b) => `%${anyCase(hexByte(b))}`).join('')];
    let units = '';
    for (let i = 0; i < char.length; i++) units += `${BACKSLASHES}u${anyCase(hexUnit(char.charCodeAt(i)))}`;
    ways.push(units);
    const short = JSON_SHORT_ESCAPES[char];
    if (short !== undefined) ways.push(`${BACKSLASHES}${escapeRegExp(short)}`);
    source += `(?:${ways.join('|')})`;
  }
  return source;
}

const SHORT_ESCAPE_VALUES: Readonly<Record<string, string>> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
const JSON_ESCAPE = /\\(?:u([0-9a-fA-F]{4})|(["\\/bfnrt]))/g;
// one UTF-8 sequence may span several `%XX`
const PERCENT_RUN = /(?:%[0-9a-fA-F]{2})+/g;
/** JSON strings inside JSON strings are unescaped this many levels deep at most. */
const MAX_ESCAPE_LEVELS = 3;

/** `text` with one level of JSON string escapes decoded (`\uXXXX`, `\"`, `\\`, …). */
function unescapeJson(text: string): string {
  return text.replace(JSON_ESCAPE, (_m, unit: string | undefined, short: string | undefined) => (unit !== undefined ? String.fromCharCode(parseInt(unit, 16)) : SHORT_ESCAPE_VALUES[short!]!));
}

/** `text` with its `%XX` runs decoded as UTF-8 (invalid sequences as U+FFFD). */
function decodePercent(text: string): string {
  return text.replace(PERCENT_RUN, (run) => {
    try {
      return decodeURIComponent(run);
    } catch {
      return Buffer.from(run.replace(/%/g, ''), 'hex').toString('utf8');
    }
  });
}

/** Cut `text` to at most `max` UTF-16 units, never between the halves of a surrogate pair. */
export function cutText(text: string, max: number): string {
  if (text.length <= max) return text;
  const end = Math.max(0, max);
  const code = end > 0 ? text.charCodeAt(end - 1) : 0;
  return text.slice(0, code >= 0xd800 && code <= 0xdbff ? end - 1 : end);
}

/**
 * Replaces the configured secrets in a text with `[redacted]`, then cuts the result to
 * `max` characters (default: no cut). Redacting first means a cut never leaves the start
 * of a secret behind.
 */
export type Redactor = (text: string, max?: number) => string;

/** What {@link createSecretMatcher} builds. */
export interface SecretMatcher {
  /** Redact, then cut (see {@link Redactor}). */
  redact: Redactor;
  /**
   * Whether a whole secret occurs in `text`: as is, hex or base64 (any case, any
   * alignment), URL-encoded, JSON-escaped, or both, in JSON strings nested up to three
   * deep (a serialised body whose field holds JSON-escaped text). Fragments are not
   * looked for, nor, for a secret that itself holds `\` or `%`, a mixture of escaped and
   * plain characters. Cheap on short texts: one regular-expression test of the literal
   * forms and, only when the text holds `%` or `\`, one or two more per level of escapes
   * decoded.
   */
  contains(text: string): boolean;
  /**
   * Whether `text` holds a piece of a secret: 8 or more consecutive characters of it as
   * is, of its hex (any case), or of its base64 or base64url at any of the three byte
   * alignments. For short texts that are passed on whole (a vendor's correlation id), where
   * pieces of a secret in two answers could be joined again. The pieces are listed on the
   * first call; each call then looks up every 8 characters of the text.
   */
  sharesPiece(text: string): boolean;
}

const NO_SECRETS: SecretMatcher = { redact: (text, max = Infinity) => cutText(text, max), contains: () => false, sharesPiece: () => false };

/** The length of a piece of a secret that {@link SecretMatcher.sharesPiece} looks for. */
const PIECE = 8;

/** Every {@link PIECE}-character window of each written form of each secret (hex lower-cased). */
function secretPieces(list: readonly string[]): Set<string> {
  const pieces = new Set<string>();
  const add = (form: string) => {
    for (let at = 0; at + PIECE <= form.length; at++) pieces.add(form.slice(at, at + PIECE));
  };
  for (const secret of list) {
    const bytes = Buffer.from(secret, 'utf8');
    add(secret);
    add(bytes.toString('hex'));
    for (let pad = 0; pad < 3; pad++) {
      // the secret's bytes after 0, 1 or 2 others: the three ways base64 can split them
      const shifted = Buffer.concat([Buffer.alloc(pad), bytes]);
      const skip = Math.ceil((pad * 4) / 3);
      add(shifted.toString('base64').slice(skip));
      add(shifted.toString('base64url').slice(skip));
    }
  }
  return pieces;
}

/**
 * Compile, once, what finds the given secrets in free text. `redact` replaces with
 * `[redacted]`:
 *
 * - each whole secret written as is, URL-encoded or JSON-escaped, in any mixture of these
 *   character by character (`%XX` and `\uXXXX` in either letter case);
 * - its hex encoding in any letter case;
 * - its base64 and base64url encodings, also where the secret sits inside a larger
 *   base64 text at any byte alignment (the characters holding only the secret's bits;
 *   the one character at each end that mixes the secret's bits with its neighbours'
 *   stays, holding at most 4 bits of the secret);
 * - any fragment of a secret written as is that is at least half of it and at least 8
 *   characters long (12 are always enough), widened to as much of the secret as
 *   continues around it: a secret cut in two (across two fields, or with a separator
 *   inserted) is removed half by half.
 *
 * It does not find shorter pieces, fragments in an encoded form, or a secret transformed
 * otherwise (reversed, encoded twice, encrypted). A call is two regular-expression passes,
 * linear in the text, over its first 64 KiB at most.
 */
export function createSecretMatcher(secrets: readonly unknown[]): SecretMatcher {
  const list = [...new Set(secrets.filter((s): s is string => typeof s === 'string' && s.length > 0))];
  if (list.length === 0) return NO_SECRETS;

  const all: { source: string; length: number }[] = [];
  const literal: string[] = [];
  for (const secret of list) {
    all.push({ source: mixedSource(secret), length: secret.length });
    literal.push(escapeRegExp(secret));
    // decoded `%XX` text has U+FFFD where the secret has a lone surrogate
    if (wellFormed(secret) !== secret) literal.push(escapeRegExp(wellFormed(secret)));
    for (const form of encodedForms(secret)) {
      // the mixed source already covers the plain, URL-encoded and JSON-escaped forms
      let source: string | undefined;
      if (/^[0-9a-f]+$/i.test(form)) source = anyCase(form);
      else if (/^[A-Za-z0-9+/_=-]+$/.test(form) && form !== secret) source = escapeRegExp(form);
      if (source === undefined) continue;
      all.push({ source, length: form.length });
      literal.push(source);
    }
  }
  // where several alternatives match at one position the first wins: longest first
  all.sort((a, b) => b.length - a.length);
  const whole = new RegExp(all.map((a) => a.source).join('|'), 'g');
  const quick = new RegExp([...new Set(literal)].join('|'));
  // every secret's match is at most 12 characters per character (`\uXXXX\uXXXX`, four `%XX`)
  const longest = Math.max(...list.map((s) => s.length)) * 12;

  // fragments: every window of a secret's fragment length, and where it sits in the secret
  const windows = new Map<string, { secret: string; at: number }>();
  for (const secret of list) {
    const size = Math.min(secret.length, Math.max(MIN_FRAGMENT, Math.min(MAX_FRAGMENT, Math.ceil(secret.length / 2))));
    for (let at = 0; at + size <= secret.length; at++) {
      const window = secret.slice(at, at + size);
      if (!windows.has(window)) windows.set(window, { secret, at });
    }
  }
  const fragment = new RegExp([...windows.keys()].map(escapeRegExp).join('|'), 'g');

  const removeFragments = (text: string): string => {
    let out = '';
    let done = 0;
    fragment.lastIndex = 0;
    for (let m = fragment.exec(text); m !== null; m = fragment.exec(text)) {
      const { secret, at } = windows.get(m[0])!;
      // widen to as much of the secret as continues on either side
      let start = m.index;
      let end = m.index + m[0].length;
      for (let i = at - 1; i >= 0 && start > done && text[start - 1] === secret[i]; i--) start--;
      for (let i = at + m[0].length; i < secret.length && end < text.length && text[end] === secret[i]; i++) end++;
      out += text.slice(done, start) + REDACTED;
      done = end;
      fragment.lastIndex = end;
    }
    return done === 0 ? text : out + text.slice(done);
  };

  let pieces: Set<string> | undefined;
  return {
    redact(text, max = Infinity) {
      const long = text.length > MAX_REDACTED_TEXT;
      const redacted = removeFragments((long ? text.slice(0, MAX_REDACTED_TEXT) : text).replace(whole, REDACTED));
      // a text cut before redaction may end in the start of a secret: that end goes too
      return cutText(redacted, long ? Math.min(max, redacted.length - longest) : max);
    },
    sharesPiece(text) {
      pieces ??= secretPieces(list);
      const lower = text.toLowerCase();
      for (let at = 0; at + PIECE <= text.length; at++) {
        if (pieces.has(text.slice(at, at + PIECE)) || pieces.has(lower.slice(at, at + PIECE))) return true;
      }
      return false;
    },
    contains(text) {
      if (containsText(text)) return true;
      // the JSON inside a token (a JWT's header and claims, base64url-encoded): its escapes
      // (`\/`, `\u00XX`) change the base64 that the search of the plain text looks for.
      // Only runs of token characters holding an `eyJ` are read, each found from it: one
      // pass over the text
      for (let at = text.indexOf('eyJ'), from = 0; at !== -1; at = text.indexOf('eyJ', from)) {
        let start = at;
        while (start > from && isTokenCharacter(text.charCodeAt(start - 1))) start--;
        const end = tokenRunEnd(text, at + 3);
        from = end;
        const run = text.slice(start, end);
        if (!run.includes('.')) continue;
        for (const part of run.split('.')) {
          // from the segment's first `eyJ`: a token may follow other characters of the run
          const first = part.indexOf('eyJ');
          if (first >= 0 && containsText(Buffer.from(part.slice(first), 'base64url').toString('utf8'))) return true;
        }
      }
      return false;
    },
  };

  function containsText(text: string): boolean {
    if (quick.test(text)) return true;
    // an escaped form needs `\` or `%`: without them, the literal forms are all there is
    let json = text;
    for (let level = 0; level <= MAX_ESCAPE_LEVELS; level++) {
      if (level > 0) {
        if (!json.includes('\\')) break;
        json = unescapeJson(json);
        if (quick.test(json)) return true;
      }
      if (json.includes('%') && quick.test(decodePercent(json))) return true;
    }
    return false;
  }
}

/**
 * The secrets of every router built in this process, newest last: each router redacts
 * them all from its logs and reports, so a hook's error quoting another vendor's secret
 * is redacted wherever it is logged, with routers mounted one by one as under
 * `widgetAuth`. Bounded, so that no router's redactor grows past what a regular
 * expression can hold or compile quickly: at most {@link MAX_PROCESS_SECRETS} secrets of
 * {@link MAX_PROCESS_SECRET_LENGTH} characters at most, {@link MAX_PROCESS_SECRETS_TOTAL}
 * characters in all, the least recently registered going first (far more than an app
 * configures; each router always redacts its own, whatever their size).
 * {@link processSecretsVersion} changes with each addition.
 */
const processSecrets = new Set<string>();
let processSecretsVersion = 0;
let processSecretsTotal = 0;
const MAX_PROCESS_SECRETS = 64;
const MAX_PROCESS_SECRET_LENGTH = 512;
const MAX_PROCESS_SECRETS_TOTAL = 8192;

export function registerProcessSecrets(list: readonly unknown[]): void {
  for (const secret of list) {
    if (typeof secret !== 'string' || secret.length === 0 || secret.length > MAX_PROCESS_SECRET_LENGTH) continue;
    if (processSecrets.has(secret)) {
      // the newest again: the set holds the same secrets, in another order
      processSecrets.delete(secret);
      processSecrets.add(secret);
      continue;
    }
    processSecrets.add(secret);
    processSecretsTotal += secret.length;
    while (processSecrets.size > MAX_PROCESS_SECRETS || processSecretsTotal > MAX_PROCESS_SECRETS_TOTAL) {
      const oldest = processSecrets.values().next().value!;
      processSecrets.delete(oldest);
      processSecretsTotal -= oldest.length;
    }
    processSecretsVersion++;
  }
}

/**
 * One matcher of every registered secret, shared by the routers (`undefined` when there
 * is none or the engine cannot build it), and `reach`: the longest written form of one
 * (12 characters per character: `\uXXXX\uXXXX`, four `%XX`).
 */
let processMatcher: { version: number; matcher: SecretMatcher | undefined; reach: number } = { version: -1, matcher: undefined, reach: 0 };

export function processSecretMatcher(): { matcher: SecretMatcher | undefined; reach: number } {
  if (processMatcher.version !== processSecretsVersion) {
    let matcher: SecretMatcher | undefined;
    try {
      matcher = processSecrets.size === 0 ? undefined : createSecretMatcher([...processSecrets]);
    } catch {
      // a pattern too large for the engine: each router still redacts its own secrets
      matcher = undefined;
    }
    processMatcher = { version: processSecretsVersion, matcher, reach: 12 * Math.max(0, ...[...processSecrets].map((secret) => secret.length)) };
  }
  return processMatcher;
}

/**
 * A character of a token's run: a maximal run of base64url characters and dots which,
 * where it holds a dot, is a JWT or JWE whose segments are decoded from their first `eyJ`
 * (base64url JSON: `{"`) and searched. Each run is read once, from its first `eyJ` to its
 * end (a pattern that needs a `.` or starts at `eyJ` scans each position of a run to its
 * end again: quadratic in a vendor answer of `eyJeyJeyJ…`). The characters: `[A-Za-z0-9_.-]`.
 */
function isTokenCharacter(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x5f || c === 0x2e || c === 0x2d;
}

/**
 * The same characters as {@link isTokenCharacter}, matched from a set position: the
 * regular-expression engine walks a run forward about four times faster than a loop of
 * `charCodeAt`, and `test` builds no match array.
 */
const TOKEN_RUN_FROM = /[A-Za-z0-9_.-]*/y;

/** Where the run of token characters that continues from `at` ends. */
function tokenRunEnd(text: string, at: number): number {
  TOKEN_RUN_FROM.lastIndex = at;
  TOKEN_RUN_FROM.test(text);
  return TOKEN_RUN_FROM.lastIndex;
}

/**
 * The key of a route context's check of whether its `holdsSecret` searches for given
 * secrets: a strategy whose secrets it does would otherwise search the same text twice.
 * Only the contexts the pipeline makes have it.
 */
export const SEARCHES_FOR = Symbol('express-widget-auth.searchesFor');

/** Whether `route`, a route context made by the pipeline, searches for every one of `secrets` (any other object: no). */
export function searchesFor(route: object, secrets: readonly string[]): boolean {
  const check = (route as { [SEARCHES_FOR]?: unknown })[SEARCHES_FOR];
  return typeof check === 'function' && (check as (list: readonly string[]) => unknown).call(route, secrets) === true;
}

/** The redactor of {@link createSecretMatcher}. */
export function createRedactor(secrets: readonly unknown[]): Redactor {
  return createSecretMatcher(secrets).redact;
}

// ---------------------------------------------------------------------------
// Unexpected errors

/** Read a property without letting a getter, a Proxy trap or a revoked Proxy throw. */
function readSafely(value: object, key: string): unknown {
  try {
    return (value as Record<string, unknown>)[key];
  } catch {
    return undefined;
  }
}

/** Text of a value that is not an object, without running any code of the value's own. */
function primitiveText(value: unknown): string {
  // String() of a symbol is its description, and calls no overridable method
  return value === null ? 'null' : String(value as string | number | boolean | bigint | symbol | undefined);
}

/**
 * Describe whatever was thrown, for the log: a name and a redacted message, cut to 100
 * and 300 characters. Never throws and never runs code of the value's own beyond reading
 * its `name` and `message` (a getter or Proxy trap that throws reads as missing):
 * `toString`, `Symbol.toPrimitive` and the like are not called. A thrown primitive is
 * described by its type and value; a `message` that is not a string by its type.
 */
export function describeUnexpected(err: unknown, redactor: Redactor): { name: string; message: string } {
  // a plain `(text) => string` redactor ignores `max`: cut here as well
  const redact = (text: string, max: number) => cutText(redactor(text, max), max);
  try {
    if (err === null || (typeof err !== 'object' && typeof err !== 'function')) {
      const kind = err === null ? 'null' : typeof err;
      return { name: kind, message: redact(primitiveText(err), 300) };
    }
    const name = readSafely(err, 'name');
    const message = readSafely(err, 'message');
    let text: string;
    if (typeof message === 'string') text = message;
    else if (message === undefined) text = '';
    else if (message === null || (typeof message !== 'object' && typeof message !== 'function')) text = `(a ${message === null ? 'null' : typeof message} message: ${primitiveText(message)})`;
    else text = `(a message that is not text: ${typeof message})`;
    return { name: typeof name === 'string' && name !== '' ? redact(name, 100) : typeof err, message: redact(text, 300) };
  } catch {
    return { name: 'unknown', message: '' };
  }
}

/**
 * Log one request event at the level its status calls for. A logger that throws is
 * ignored: the event is written after the answer, where an exception would be uncaught
 * and take the whole server down.
 */
export function logRequest(logger: WidgetAuthLogger, event: RequestLogEvent): void {
  try {
    if (event.status >= 500) logger.error(event, 'widget auth request failed');
    else if (event.status >= 400) logger.warn(event, 'widget auth request refused');
    else logger.info(event, 'widget auth request');
  } catch {
    // nowhere left to report it
  }
}
