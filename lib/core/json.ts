/** An object that is neither `null` nor an array (a JSON object once parsed; any class instance too). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A record made by an object literal, `JSON.parse` or `Object.create(null)`: no class instance. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (!isRecord(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * `String.prototype.charCodeAt`, called as `charCodeAt.call(text, i)` in the loops below:
 * they read texts of many string representations (sliced, flat, one- or two-byte), and a
 * `text.charCodeAt` property read with that many shapes behind it becomes a generic lookup
 * on every character once the optimising compiler gives up on it.
 */
const charCodeAt = String.prototype.charCodeAt;

/**
 * Where the JSON string opened by the `"` at `open` closes (`text.length` if it does not):
 * the next `"` not escaped, that is, not after an odd run of `\`. Each run of `\` is
 * counted once, by the quote that ends it, so a whole text costs one pass.
 */
function closingQuote(text: string, open: number): number {
  for (let at = text.indexOf('"', open + 1); at !== -1; at = text.indexOf('"', at + 1)) {
    let slashes = 0;
    for (let k = at - 1; k > open && charCodeAt.call(text, k) === 0x5c; k--) slashes++;
    if (slashes % 2 === 0) return at;
  }
  return text.length;
}

/**
 * Whether a JSON text names a member twice in one object (`{"a":1,"a":2}`, or
 * `{"a":1,"\u0061":2}`: names compare as decoded). `JSON.parse` keeps the last of the
 * two, other parsers the first or either: a filter in front of the app and this router
 * could then read different values of one field. `text` must be valid JSON (call after
 * `JSON.parse` succeeded); one pass, no allocation but each object's names.
 */
export function hasDuplicateMember(text: string): boolean {
  // one entry per open object (the names seen so far) or array (null)
  const open: (Set<string> | null)[] = [];
  // inside an object, after `{` or `,`: the next string is a name
  let expectName = false;
  const length = text.length;
  for (let i = 0; i < length; i++) {
    const c = charCodeAt.call(text, i);
    if (c === 0x22 /* " */) {
      if (!expectName) {
        // a value: its end found by indexOf, not character by character (tokens run long)
        i = closingQuote(text, i);
        continue;
      }
      const start = i;
      let escaped = false;
      for (i++; i < length && charCodeAt.call(text, i) !== 0x22; i++) {
        if (charCodeAt.call(text, i) === 0x5c /* \ */) {
          escaped = true;
          i++;
        }
      }
      const names = open[open.length - 1]!;
      const name = escaped ? (JSON.parse(text.slice(start, i + 1)) as string) : text.slice(start + 1, i);
      if (names.has(name)) return true;
      names.add(name);
      expectName = false;
    } else if (c === 0x7b /* { */) {
      open.push(new Set());
      expectName = true;
    } else if (c === 0x5b /* [ */) {
      open.push(null);
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      open.pop();
    } else if (c === 0x2c /* , */) {
      expectName = open[open.length - 1] != null;
    }
  }
  return false;
}

/**
 * How deep a JSON text nests objects and arrays (`1` for `{}`, `0` for a string). `text`
 * must be valid JSON; one pass, no allocation. `JSON.parse` takes any depth, but
 * `JSON.stringify` and recursive code overflow the stack on a few thousand levels.
 */
export function nestingDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  const length = text.length;
  for (let i = 0; i < length; i++) {
    const c = charCodeAt.call(text, i);
    if (c === 0x22 /* " */) {
      i = closingQuote(text, i);
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (++depth > deepest) deepest = depth;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      depth--;
    }
  }
  return deepest;
}

/**
 * Whether a JSON text nests objects and arrays more than `max` levels deep: the same
 * answer as `nestingDepth(text) > max`, without the character-by-character walk when the
 * text opens at most `max` objects and arrays in all (every answer a vendor usually
 * sends), which are counted by `indexOf`.
 */
export function nestsDeeperThan(text: string, max: number): boolean {
  let opened = 0;
  for (const bracket of ['{', '[']) {
    for (let at = text.indexOf(bracket); at !== -1; at = text.indexOf(bracket, at + 1)) {
      // brackets inside strings count too: an overestimate, settled by the full walk
      if (++opened > max) return nestingDepth(text) > max;
    }
  }
  return false;
}
