/**
 * A JSON body naming a member twice in one object is refused: `JSON.parse` keeps the
 * last value, other parsers (a WAF, a proxy, a first-wins filter in the host) the first,
 * so the two could read different values of one field.
 *
 * `hasDuplicateMember` against texts whose answer is known by construction: whatever
 * `JSON.stringify` writes has no repeat; a repeat planted at any depth, its name written
 * plainly or with `\uXXXX` escapes, is found; the same name in different objects is not a
 * repeat. Then over HTTP: the pipeline answers 400 before `resolveUser` runs.
 */
import fc from 'fast-check';
import { hasDuplicateMember, nestingDepth, nestsDeeperThan } from '../lib/core/json';
import { buildApp, testResolveUser } from './helpers/app';
import request from 'supertest';
import { TEST_PATH, testRouter } from './helpers/pipeline';
import type { Request } from 'express';

/** A member name written with every character as a `\uXXXX` escape. */
const escapedName = (name: string) => `"${Array.from({ length: name.length }, (_, i) => `\\u${name.charCodeAt(i).toString(16).padStart(4, '0')}`).join('')}"`;
/** The name as `JSON.stringify` writes it, or all escaped. */
const nameText = (name: string, escaped: boolean) => (escaped ? escapedName(name) : JSON.stringify(name));
const objectText = (entries: readonly [string, string][]) => `{${entries.map(([k, v]) => `${k}:${v}`).join(',')}}`;

/** A text with a value planted `depth` levels down, each level an array or an object of other members. */
function nest(inner: string, path: readonly { array: boolean; name: string }[]): string {
  return path.reduceRight((text, level) => (level.array ? `[1,${text},"}"]` : objectText([[JSON.stringify(`${level.name}-outer`), '"x"'], [JSON.stringify(level.name), text]])), inner);
}

const memberName = fc.string({ unit: 'grapheme-composite', maxLength: 8 });
const level = fc.record({ array: fc.boolean(), name: fc.string({ maxLength: 4 }) });

describe('nestingDepth', () => {
  /** The depth of a parsed value, by recursion: an oracle independent of the text scan. */
  const depthOf = (value: unknown): number =>
    value !== null && typeof value === 'object' ? 1 + Math.max(0, ...Object.values(value as object).map(depthOf)) : 0;

  it('is the depth of the parsed value, for anything JSON.stringify writes (strings holding brackets, quotes and escapes included)', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 8 }), fc.boolean(), (value, indent) => {
        const text = JSON.stringify(value, null, indent ? 2 : undefined);
        expect(nestingDepth(text)).toBe(depthOf(JSON.parse(text)));
      }),
      { numRuns: 500 },
    );
  });

  it('counts 200,000 levels without recursion', () => {
    expect(nestingDepth(`${'['.repeat(200_000)}${']'.repeat(200_000)}`)).toBe(200_000);
    expect(nestingDepth(JSON.stringify('[[[{{{\\"x'))).toBe(0);
    // text that is not JSON (an unterminated string) ends the scan instead of looping
    expect(nestingDepth('["[[[')).toBe(1);
  });
});

describe('nestsDeeperThan', () => {
  const depthOf = (value: unknown): number =>
    value !== null && typeof value === 'object' ? 1 + Math.max(0, ...Object.values(value as object).map(depthOf)) : 0;

  it('says whether the parsed value is deeper than the bound, whatever the brackets inside strings or beside the deepest path', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 8 }), fc.nat({ max: 9 }), fc.boolean(), (value, max, bracketsInText) => {
        // strings full of brackets push the count of `{` and `[` past the bound while the depth stays below it
        const text = JSON.stringify(bracketsInText ? [value, '{[{[{[{[{[{[', { '[[[[': '{{{{' }] : value);
        expect(nestsDeeperThan(text, max)).toBe(depthOf(JSON.parse(text)) > max);
      }),
      { numRuns: 1000 },
    );
  });

  it('tells a body exactly at the bound from one a level deeper', () => {
    for (const max of [0, 1, 64]) {
      expect(nestsDeeperThan(`${'['.repeat(max)}${']'.repeat(max)}`, max)).toBe(false);
      expect(nestsDeeperThan(`${'['.repeat(max + 1)}${']'.repeat(max + 1)}`, max)).toBe(true);
      expect(nestsDeeperThan(`${'{"a":'.repeat(max + 1)}1${'}'.repeat(max + 1)}`, max)).toBe(true);
      // more brackets than the bound, side by side: 2 deep whatever their number
      expect(nestsDeeperThan(JSON.stringify(Array.from({ length: max + 2 }, () => [])), max)).toBe(max < 2);
    }
  });
});

describe('hasDuplicateMember', () => {
  it('finds no repeat in anything JSON.stringify writes, compact or indented', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.boolean(), (value, indent) => {
        const text = JSON.stringify(value, null, indent ? 2 : undefined);
        expect(hasDuplicateMember(text)).toBe(false);
      }),
      { numRuns: 500 },
    );
  });

  it('finds a repeated name at any depth, written plainly or escaped, first or last among the members', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(memberName, { minLength: 1, maxLength: 6 }),
        fc.nat(),
        fc.array(fc.jsonValue({ maxDepth: 2 }), { minLength: 7, maxLength: 7 }),
        fc.boolean(),
        fc.boolean(),
        fc.array(level, { maxLength: 4 }),
        (names, pick, values, escaped, atStart, path) => {
          const entries: [string, string][] = names.map((name, i) => [JSON.stringify(name), JSON.stringify(values[i])]);
          const twice = names[pick % names.length]!;
          const repeat: [string, string] = [nameText(twice, escaped), JSON.stringify(values[6])];
          if (atStart) entries.unshift(repeat);
          else entries.push(repeat);
          const text = nest(objectText(entries), path);
          // the text is JSON, and JSON.parse itself reads one member fewer than written
          JSON.parse(text);
          expect(hasDuplicateMember(text)).toBe(true);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('does not count the same name in different objects, nor a name that only appears as a value', () => {
    fc.assert(
      fc.property(memberName, fc.boolean(), (name, escaped) => {
        const key = nameText(name, escaped);
        const text = `{${key}:{${key}:[{${key}:1},{${key}:${JSON.stringify(name)}}]},"other":${JSON.stringify(name)}}`;
        JSON.parse(text);
        expect(hasDuplicateMember(text)).toBe(name === 'other');
      }),
      { numRuns: 300 },
    );
    // strings holding JSON punctuation and escaped quotes do not open or close anything
    expect(hasDuplicateMember('{"a":"{\\"a\\":1,","b":"}],[{","a\\"":2}')).toBe(false);
    expect(hasDuplicateMember('{"a":"{\\"a\\":1,","b":"}],[{","a":2}')).toBe(true);
  });
});

describe('a JSON body that names a member twice, over HTTP', () => {
  it('is refused with 400 INVALID_REQUEST before resolveUser runs; the same members once each are read', async () => {
    let calls = 0;
    const resolveUser = (req: Request) => {
      calls++;
      return testResolveUser(req);
    };
    const app = buildApp(testRouter({ resolveUser }));
    const post = (body: string) => request(app).post(TEST_PATH).set('x-test-user', 'ada').set('content-type', 'application/json').send(body);
    for (const body of ['{"a":1,"a":2}', '{"x":{"role":"user","r\\u006fle":"admin"}}', '[{"a":1},{"b":1,"b":1}]']) {
      const res = await post(body);
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ error: { code: 'INVALID_REQUEST', message: 'Request body names a JSON member more than once in one object.' } });
    }
    expect(calls).toBe(0);
    const once = await post('{"x":{"role":"user"},"a":[{"a":1},{"a":2}]}');
    expect(once.status).toBe(200);
    expect(calls).toBe(1);
  });
});
