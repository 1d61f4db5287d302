import { createHash } from 'node:crypto';
import type { WidgetUser } from '../core/types';
import { hasLoneSurrogate } from '../core/user';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** True for a UUID in its usual `8-4-4-4-12` hexadecimal form (any version, any case). */
export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID.test(value);
}

/**
 * Namespace of the name-based (v5) entity ids derived by {@link wonderfulEntityIdFor}.
 * Fixed forever: changing it would give every existing user a new Wonderful identity.
 */
export const WONDERFUL_ENTITY_NAMESPACE = 'd940acf9-71fa-4a51-b99e-a59bdc80d296';

/**
 * The name-based UUID (version 5, RFC 9562 §5.5) of `name` in `namespace`: SHA-1 over
 * the namespace's 16 bytes followed by the name's UTF-8 bytes, with the version and
 * variant bits set. The same inputs always give the same UUID.
 *
 * @example
 * ```ts
 * uuidV5('www.example.com', '6ba7b810-9dad-11d1-80b4-00c04fd430c8'); // '2ed6657d-e927-568b-95e1-2665a8aea6a2'
 * ```
 */
export function uuidV5(name: string, namespace: string): string {
  if (!isUuid(namespace)) throw new TypeError('namespace must be a UUID');
  const bytes = createHash('sha1').update(Buffer.from(namespace.replace(/-/g, ''), 'hex')).update(name, 'utf8').digest().subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x50;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** How many user ids {@link wonderfulEntityIdFor} remembers the entity of. */
const MAX_REMEMBERED_ENTITIES = 1000;
const ENTITIES = new Map<string, string>();

/**
 * The default Wonderful entity id of an application user: the v5 UUID of the user's
 * `id` in {@link WONDERFUL_ENTITY_NAMESPACE}, whatever the id looks like. An id that
 * already is a UUID is derived from too, never used as is: otherwise a user whose id
 * is the string `uuidV5('alice', WONDERFUL_ENTITY_NAMESPACE)`, or another user's UUID
 * in a different case, would share that user's entity and could refresh their token.
 * Host ids are opaque strings, so two different strings always get two different
 * entities. Stable across calls, processes and restarts, with nothing stored, so a
 * refreshed token keeps the user's identity. Throws a `TypeError` for an empty id or
 * one that is not well-formed Unicode (a lone surrogate), which would otherwise share
 * its entity with another id.
 *
 * @example
 * ```ts
 * wonderfulEntityIdFor({ id: 'user-42' }); // the same UUID on every call
 * wonderfulEntityIdFor({ id: '6f1c1d3e-2b4a-4c5d-9e8f-0a1b2c3d4e5f' }); // a v5 UUID, not the id itself
 * ```
 */
export function wonderfulEntityIdFor(user: Pick<WidgetUser, 'id'>): string {
  const id = user.id;
  if (typeof id !== 'string' || id.length === 0) throw new TypeError('the user has no string id');
  // UTF-8 turns every lone surrogate into U+FFFD, so two different ids would share an entity
  const known = ENTITIES.get(id);
  if (known !== undefined) return known;
  if (hasLoneSurrogate(id)) throw new TypeError('the user id is not well-formed Unicode (it holds a lone surrogate)');
  // every id goes through the hash, so host ids and entity ids never meet in one space
  const entity = uuidV5(id, WONDERFUL_ENTITY_NAMESPACE);
  // the entities of the ids seen last, so a returning user costs no hash; the oldest go first
  if (ENTITIES.size >= MAX_REMEMBERED_ENTITIES) ENTITIES.delete(ENTITIES.keys().next().value!);
  ENTITIES.set(id, entity);
  return entity;
}
