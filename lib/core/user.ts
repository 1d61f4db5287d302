import { WidgetAuthError } from './errors';
import type { WidgetUser } from './types';

/** What a value is, for a message: its type (and class), never the value itself. */
function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  const type = typeof value;
  if (type === 'object') {
    const ctor = (Object.getPrototypeOf(value) as { constructor?: { name?: unknown } } | null)?.constructor?.name;
    return typeof ctor === 'string' && ctor !== 'Object' && /^[A-Za-z_$][\w$]{0,40}$/.test(ctor) ? `an object (${ctor})` : 'an object';
  }
  return type === 'undefined' ? 'undefined' : `${/^[aeiou]/.test(type) ? 'an' : 'a'} ${type}`;
}

/** A lone surrogate: a half of a UTF-16 pair without its other half. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * Whether `text` holds a lone surrogate. UTF-8 writes each as U+FFFD, so two different
 * texts (`x\ud800`, `x\ufffd`) become the same bytes: the same digest, the same identity.
 */
export function hasLoneSurrogate(text: string): boolean {
  return LONE_SURROGATE.test(text);
}

function refuse(what: string): never {
  throw new WidgetAuthError('INTERNAL_ERROR', `resolveUser returned ${what}`);
}

/** A metadata key for a message: quoted only when it is a plain name (never cut: a cut could hide part of a secret from the redactor). */
function keyName(key: string): string {
  return /^[\w$-]{1,64}$/.test(key) ? key : '[a key that is not a plain name]';
}

/** The user's optional text fields: strings when present. */
const USER_TEXT_FIELDS = ['email', 'name'] as const;

/**
 * Check what `resolveUser` gave: `null`/`undefined` (nobody) or a {@link WidgetUser}.
 * Throws `INTERNAL_ERROR` with a message that names the field and its type (never a
 * value): an `id` that is not a non-empty string, a database `_id` without `id`, an
 * `email` or `name` that is not a string, `metadata` that is not an object of strings.
 * An `id` or `email` that is not well-formed Unicode (a lone surrogate) is refused too:
 * signed or hashed as UTF-8 it would be another user's. `null` counts as absent for
 * `email`, `name` and `metadata`. Fields are read as
 * properties, so class instances with getters (ORM models) work.
 */
export function checkResolvedUser(value: unknown): WidgetUser | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) {
    refuse(`${kindOf(value)} instead of a user object or null; return { id: string, email?, name?, metadata? } or null`);
  }
  const user = value as Record<string, unknown>;
  const id = user['id'];
  if (id === undefined || id === null) {
    if (user['_id'] !== undefined && user['_id'] !== null) {
      refuse(`a user with \`_id\` (${kindOf(user['_id'])}) but no \`id\`; map your record: { id: String(doc._id), … }`);
    }
    refuse(`a user without \`id\`; id must be a non-empty string`);
  }
  if (typeof id !== 'string') refuse(`a user whose \`id\` is ${kindOf(id)}; id must be a non-empty string, e.g. String(user.id)`);
  if (id.length === 0) refuse('a user whose `id` is an empty string; id must be a non-empty string');
  // as UTF-8 (signed, hashed, sent) it would be the id of another user: x\ud800 and x\ufffd are the same bytes
  if (hasLoneSurrogate(id)) refuse('a user whose `id` is not well-formed Unicode (it holds a lone surrogate, which UTF-8 writes as U+FFFD: the id of another user)');
  for (const field of USER_TEXT_FIELDS) {
    const v = user[field];
    if (v !== undefined && v !== null && typeof v !== 'string') refuse(`a user whose \`${field}\` is ${kindOf(v)}; ${field} must be a string when present`);
    if (field === 'email' && typeof v === 'string' && hasLoneSurrogate(v)) {
      refuse('a user whose `email` is not well-formed Unicode (it holds a lone surrogate, which UTF-8 writes as U+FFFD: the email of another user)');
    }
  }
  const metadata = user['metadata'];
  if (metadata !== undefined && metadata !== null) {
    if (typeof metadata !== 'object' || Array.isArray(metadata)) refuse(`a user whose \`metadata\` is ${kindOf(metadata)}; metadata must be an object of strings`);
    for (const [key, v] of Object.entries(metadata)) {
      if (v !== undefined && typeof v !== 'string') refuse(`a user whose \`metadata.${keyName(key)}\` is ${kindOf(v)}; metadata values must be strings, e.g. String(value)`);
    }
  }
  return value as WidgetUser;
}

/** White space an email may carry around it (a form field, a padded column): ASCII only. */
const EDGE_SPACE = /^[\t\n\v\f\r ]+|[\t\n\v\f\r ]+$/g;

/** `text` without the ASCII white space around it (`String.prototype.trim` strips Unicode white space too). */
export function trimAsciiSpace(text: string): string {
  return text.replace(EDGE_SPACE, '');
}

/**
 * The signed-in user's email as a credential names it: trimmed of ASCII white space, or
 * `undefined` when missing or blank. Other white space anywhere in it (U+00A0, U+3000,
 * U+FEFF, …) is the host's broken record: `String.prototype.trim` strips those too, so
 * `kelly@example.com\u3000` would sign as the very address `kelly@example.com`. Throws
 * `INTERNAL_ERROR` (a report about the `resolveUser` result) for it.
 */
export function trimmedUserEmail(email: string | null | undefined): string | undefined {
  if (typeof email !== 'string') return undefined;
  const trimmed = trimAsciiSpace(email);
  if (trimmed === '') return undefined;
  if (/\s/.test(trimmed)) {
    throw new WidgetAuthError('INTERNAL_ERROR', 'resolveUser returned a user whose email holds white space other than ASCII spaces around it; two such addresses could be signed as one');
  }
  return trimmed;
}
