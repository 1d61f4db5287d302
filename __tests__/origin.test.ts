import { z } from 'zod';
import { WidgetAuthConfigError, WidgetAuthError } from '../lib';
import { parseOptions } from '../lib/core/config';
import { allowedOriginsSchema, checkOriginOptions, compileOrigins, normaliseOrigin } from '../lib/core/origin';

const schema = z.object({ allowedOrigins: allowedOriginsSchema }).strict();

function problemsFor(allowedOrigins: unknown): readonly string[] {
  try {
    parseOptions('router', schema, { allowedOrigins });
  } catch (err) {
    expect(err).toBeInstanceOf(WidgetAuthConfigError);
    return (err as WidgetAuthConfigError).problems;
  }
  throw new Error('expected a WidgetAuthConfigError, but nothing was thrown');
}

describe('allowedOriginsSchema', () => {
  it.each([
    'https://app.example.com',
    'http://localhost:3000',
    'https://app.example.com:8443',
    'HTTPS://App.Example.COM',
    'http://[::1]:5173',
    'http://127.0.0.1:8080',
    'https://*.example.com',
    'https://*.eu.example.com',
    'http://*.example.test:8080',
    'HTTPS://*.Example.com',
  ])('takes %p', (entry) => {
    expect(parseOptions('router', schema, { allowedOrigins: [entry] }).allowedOrigins).toEqual([entry]);
  });

  it('takes an empty list', () => {
    expect(parseOptions('router', schema, { allowedOrigins: [] }).allowedOrigins).toEqual([]);
  });

  it.each([
    ['a wildcard over a top-level domain', 'https://*.com', /registrable domain/],
    ['a wildcard without a scheme', '*.example.com', /wildcards must look like https:\/\/\*\.example\.com/],
    ['two wildcard labels', 'https://*.*.example.com', /registrable domain/],
    ['a wildcard inside the host', 'https://app.*.example.com', /wildcards must look like/],
    ['a wildcard without its dot', 'https://*example.com', /wildcards must look like/],
    ['a wildcard with a path', 'https://*.example.com/app', /wildcards must look like/],
    ['a bare wildcard', '*', /wildcards must look like/],
    ['a wildcard on another scheme', 'ftp://*.example.com', /wildcards must look like/],
    ['a path', 'https://a.example.com/path', /no path, query or fragment/],
    ['a trailing slash', 'https://a.example.com/', /no path, query or fragment/],
    ['a query', 'https://a.example.com?x=1', /no path, query or fragment/],
    ['a fragment', 'https://a.example.com#top', /no path, query or fragment/],
    ['credentials', 'https://user:pw@a.example.com', /must not contain credentials/],
    ['another scheme', 'ftp://a.example.com', /must use http: or https:/],
    ['a host without a scheme', 'app.example.com', /must be an origin such as/],
    ['the null origin', 'null', /must be an origin such as/],
    ['an empty string', '', /must be an origin such as/],
  ])('refuses %s (%p)', (_name, entry, problem) => {
    const problems = problemsFor(['https://ok.example.com', entry]);
    expect(problems).toEqual([expect.stringMatching(problem)]);
    expect(problems[0]).toMatch(/^allowedOrigins\[1\]: /);
  });

  it('reports every malformed entry at once', () => {
    expect(problemsFor(['https://*.com', 'https://ok.example.com', '*.example.com', 'https://a.example.com/path'])).toEqual([
      expect.stringMatching(/^allowedOrigins\[0\]: "https:\/\/\*\.com" /),
      expect.stringMatching(/^allowedOrigins\[2\]: "\*\.example\.com" /),
      expect.stringMatching(/^allowedOrigins\[3\]: "https:\/\/a\.example\.com\/path" /),
    ]);
  });

  it.each([['https://app.example.com'], [[42]], [null]])('refuses a value that is not a list of strings: %p', (value) => {
    expect(problemsFor(value).length).toBeGreaterThan(0);
  });
});

describe('normaliseOrigin', () => {
  it.each([
    ['HTTPS://App.Example.COM', 'https://app.example.com'],
    ['https://app.example.com:443', 'https://app.example.com'],
    ['http://app.example.com:80', 'http://app.example.com'],
    ['http://localhost:3000', 'http://localhost:3000'],
  ])('normalises %p to %p', (input, origin) => {
    expect(normaliseOrigin(input)).toEqual({ origin });
  });
});

describe('compileOrigins', () => {
  const allowed = compileOrigins(['https://*.example.com', 'https://Shop.Example.org', 'http://localhost:3000', 'https://pay.example.net:443', 'http://*.example.test:8080']);

  it.each([
    'https://app.example.com',
    'https://eu.app.example.com',
    'https://a-b.example.com',
    'https://shop.example.org',
    'http://localhost:3000',
    'https://pay.example.net',
    'http://a.example.test:8080',
  ])('matches %p', (origin) => {
    expect(allowed(origin)).toBe(true);
  });

  it.each([
    ['the bare domain of a wildcard', 'https://example.com'],
    ['another scheme', 'http://app.example.com'],
    ['another port', 'https://app.example.com:8443'],
    ['a port spelled out', 'https://pay.example.net:443'],
    ['a look-alike domain', 'https://evilexample.com'],
    ['the domain as a prefix', 'https://example.com.evil.com'],
    ['an empty label', 'https://.example.com'],
    ['a hyphen-led label', 'https://-a.example.com'],
    ['an underscore label', 'https://a_b.example.com'],
    ['a trailing dot', 'https://app.example.com.'],
    ['upper case', 'https://APP.example.com'],
    ['upper case on an exact entry', 'https://SHOP.EXAMPLE.ORG'],
    ['a trailing slash', 'https://app.example.com/'],
    ['a path', 'https://app.example.com/x'],
    ['the null origin', 'null'],
    ['an empty string', ''],
    ['the wildcard itself', 'https://*.example.com'],
    ['a wildcard port missing', 'http://a.example.test'],
    ['a wildcard port on the wrong scheme', 'https://a.example.test:8080'],
    ['an exact origin on another port', 'http://localhost:3001'],
    ['credentials', 'https://user@app.example.com'],
  ])('refuses %s (%p)', (_name, origin) => {
    expect(allowed(origin)).toBe(false);
  });

  it('gives the same answer on repeated calls (the cache does not change the verdict)', () => {
    for (let i = 0; i < 3; i++) {
      expect(allowed('https://app.example.com')).toBe(true);
      expect(allowed('https://evilexample.com')).toBe(false);
    }
  });

  it('keeps answering correctly after many distinct origins', () => {
    for (let i = 0; i < 1500; i++) expect(allowed(`https://s${i}.example.com`)).toBe(true);
    expect(allowed('https://s1499.evil.com')).toBe(false);
    expect(allowed('https://s1499.example.com')).toBe(true);
  });

  it('matches nothing for an empty list', () => {
    const none = compileOrigins([]);
    expect(none('https://app.example.com')).toBe(false);
  });
});

// ---------------------------------------------------------------------------
// Entries that cover strangers, RegExps, functions, and the request-time rules

const corsSchema = z
  .object({ allowedOrigins: allowedOriginsSchema.optional(), cors: z.boolean().default(false) })
  .strict()
  .superRefine(checkOriginOptions);

function corsProblemsFor(options: { allowedOrigins?: unknown; cors?: boolean }): readonly string[] {
  try {
    parseOptions('router', corsSchema, options);
  } catch (err) {
    expect(err).toBeInstanceOf(WidgetAuthConfigError);
    return (err as WidgetAuthConfigError).problems;
  }
  throw new Error('expected a WidgetAuthConfigError, but nothing was thrown');
}

describe('allowedOriginsSchema against entries that cover strangers', () => {
  it.each([
    ['a wildcard over a private suffix (GitHub Pages)', 'https://*.github.io', 'github.io'],
    ['a wildcard over a private suffix (Vercel)', 'https://*.vercel.app', 'vercel.app'],
    ['a wildcard over an ICANN suffix of two labels', 'https://*.co.uk', 'co.uk'],
    ['a wildcard over a private suffix of three labels', 'https://*.s3.amazonaws.com', 's3.amazonaws.com'],
    ['a wildcard over a suffix under a PSL wildcard rule', 'https://*.anything.ck', 'anything.ck'],
    ['a wildcard with a port over a public suffix', 'https://*.github.io:8443', 'github.io'],
  ])('refuses %s (%p), naming the suffix and why', (_name, entry, suffix) => {
    const problems = problemsFor([entry]);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(`allowedOrigins[0]: "${entry}" covers every site under ${suffix}, which is a public suffix`);
    expect(problems[0]).toContain('docs/security.md#origins-and-cors');
  });

  it.each(['https://github.io', 'https://co.uk', 'https://vercel.app', 'https://GitHub.IO', 'https://blogspot.com'])('refuses the exact origin of a public suffix (%p)', (entry) => {
    expect(problemsFor([entry])).toEqual([expect.stringMatching(/^allowedOrigins\[0\]: ".*" is a public suffix, not one site: anyone can register a name under /)]);
  });

  it.each(['https://*.yours.github.io', 'https://yours.github.io', 'https://*.example.co.uk', 'https://shop.example.co.uk', 'https://yours.vercel.app', 'http://localhost:3000', 'http://intranet:8080', 'http://*.example.test:8080'])(
    'takes %p (a registrable domain under a public suffix, or a name outside the list)',
    (entry) => {
      expect(parseOptions('router', schema, { allowedOrigins: [entry] }).allowedOrigins).toEqual([entry]);
    },
  );

  it.each([
    ['a leading zero on a wildcard port', 'https://*.example.com:0443'],
    ['a wildcard port above 65535', 'https://*.example.com:99999'],
    ['wildcard port 0', 'https://*.example.com:0'],
    ['wildcard port 65536', 'https://*.example.com:65536'],
    ['an empty wildcard port', 'https://*.example.com:'],
    ['a signed wildcard port', 'https://*.example.com:+443'],
    ['a leading zero on an exact port', 'https://a.example.com:0443'],
    ['exact port 0', 'http://a.example.com:0'],
    ['an empty exact port', 'https://a.example.com:'],
  ])('refuses %s (%p)', (_name, entry) => {
    expect(problemsFor([entry])).toEqual([expect.stringMatching(/port must be a whole number from 1 to 65535, without leading zeros$/)]);
  });

  it.each(['https://*.example.com:1', 'https://*.example.com:65535', 'https://a.example.com:65535'])('takes the canonical port %p', (entry) => {
    expect(parseOptions('router', schema, { allowedOrigins: [entry] }).allowedOrigins).toEqual([entry]);
  });

  it('refuses a wildcard over a numeric label, which browsers read as an IPv4 address', () => {
    expect(problemsFor(['https://*.0.0.1'])).toEqual([expect.stringMatching(/registrable domain/)]);
  });
});

describe('allowedOriginsSchema with RegExp entries and a function', () => {
  it.each([
    /^https:\/\/(?:app|shop)\.example\.com$/,
    /^https:\/\/[a-z0-9-]+\.example\.com$/i,
    /^https:\/\/a\.example\.com$|^https:\/\/b\.example\.com$/,
    /^https:\/\/app\.example\.com(?::8443)?$/u,
    /^https:\/\/[a|b]\.example\.com$/,
  ])('takes the anchored RegExp %p', (pattern) => {
    expect(parseOptions('router', schema, { allowedOrigins: ['https://x.example.org', pattern] }).allowedOrigins).toEqual(['https://x.example.org', pattern]);
  });

  it.each([
    ['no anchors', /app\.example\.com/],
    ['no $', /^https:\/\/app\.example\.com/],
    ['no ^', /https:\/\/app\.example\.com$/],
    ['an unanchored alternative', /^https:\/\/a\.example\.com$|b\.example\.com$/],
    ['an alternative split across the anchors', /^https:\/\/a\.example\.com|https:\/\/b\.example\.com$/],
    ['an escaped $', /^https:\/\/app\.example\.com\$/],
    ['anchors inside a group only', /(^https:\/\/app\.example\.com$)/],
  ])('refuses a RegExp with %s', (_name, pattern) => {
    expect(problemsFor([pattern])).toEqual([`allowedOrigins[0]: ${String(pattern)} must be anchored: start with ^ and end with $ (every alternative too), or it also matches origins that merely contain it, such as https://app.example.com.evil.net (see docs/security.md#origins-and-cors)`]);
  });

  it.each([/^https:\/\/app\.example\.com$/g, /^https:\/\/app\.example\.com$/y, /^https:\/\/app\.example\.com$/m])('refuses the stateful or multi-line flags (%p)', (pattern) => {
    expect(problemsFor([pattern])).toEqual([expect.stringMatching(/^allowedOrigins\[0\]: .* must not use the g, y or m flag/)]);
  });

  it.each([
    [/^https:\/\/.*$/, 'https://attacker.invalid'],
    [/^https?:\/\/[^/]+$/, 'https://attacker.invalid'],
    [/^https:\/\/[a-z]+\.github\.io$/, 'https://attacker.github.io'],
    [/^https:\/\/[a-z-]+\.vercel\.app$/, 'https://attacker.vercel.app'],
    [/^https:\/\/[a-z]+\.co\.uk$/, 'https://attacker.co.uk'],
    [/^(?:null|https:\/\/app\.example\.com)$/, 'null'],
    // strangers found from the pattern's own literal end: a public suffix anyone can register under
    [/^https:\/\/[a-z0-9-]+\.netlify\.app$/, 'https://attacker.netlify.app'],
    [/^https:\/\/[a-z0-9-]+\.pages\.dev$/, 'https://attacker.pages.dev'],
    [/^https:\/\/.+\.herokuapp\.com$/, 'https://attacker.herokuapp.com'],
    [/^https:\/\/[^.]+\.s3\.amazonaws\.com$/, 'https://attacker.s3.amazonaws.com'],
    // …and from its literal start: `.*` before `$` takes any longer host
    [/^https:\/\/app\.example\.com.*$/, 'https://app.example.com.attacker.invalid'],
    [/^https:\/\/app\.example\.com.+$/, 'https://app.example.com.attacker.invalid'],
  ])('refuses %p, which matches %p', (pattern, stranger) => {
    expect(problemsFor([pattern])).toEqual([`allowedOrigins[0]: ${String(pattern)} matches ${stranger}: it would allow sites you do not control (see docs/security.md#origins-and-cors)`]);
  });

  it.each([/^https:\/\/(?:app|shop)\.example\.com$/, /^https:\/\/[a-z]+\.example\.com$/, /^https:\/\/app\.example\.com(?::\d+)?$/, /^https:\/\/[a-z0-9-]+\.yours\.github\.io$/])('takes %p, which covers one owner’s sites only', (pattern) => {
    expect(parseOptions('router', schema, { allowedOrigins: [pattern] }).allowedOrigins).toEqual([pattern]);
  });

  it('takes a function, sync or async', () => {
    const sync = (origin: string) => origin === 'https://app.example.com';
    const async = async (origin: string) => origin === 'https://app.example.com';
    expect(parseOptions('router', schema, { allowedOrigins: sync }).allowedOrigins).toBe(sync);
    expect(parseOptions('router', schema, { allowedOrigins: async }).allowedOrigins).toBe(async);
  });

  it.each([[42], [{}], [true]])('refuses an entry that is neither a string nor a RegExp (%p)', (entry) => {
    expect(problemsFor([entry])).toEqual(['allowedOrigins[0]: must be an origin string or a RegExp']);
  });

  it.each([['https://app.example.com'], [/^https:\/\/app\.example\.com$/], [{ origin: 'https://app.example.com' }]])('refuses a value that is neither a list nor a function (%p)', (value) => {
    expect(problemsFor(value)).toEqual(['allowedOrigins: must be a list of origins (strings or RegExps) or a function (origin) => boolean | Promise<boolean>']);
  });
});

describe('checkOriginOptions (allowedOrigins with cors)', () => {
  it.each(['http://app.example.com', 'http://*.example.test:8080', 'http://app.example.com:8080', 'HTTP://App.Example.com'])('refuses plain http: %p while cors is on', (entry) => {
    expect(corsProblemsFor({ allowedOrigins: ['https://ok.example.com', entry], cors: true })).toEqual([
      `allowedOrigins[1]: "${entry}" is plain http: while cors is on: anyone on the network path can inject script into that page and read the credentialed answers; use https: (plain http: is allowed only for localhost, 127.0.0.0/8 and [::1]) (see docs/security.md#origins-and-cors)`,
    ]);
  });

  it.each(['http://localhost:3000', 'http://127.0.0.1:8080', 'http://127.1:8080', 'http://[::1]:5173', 'https://app.example.com'])('takes %p with cors (loopback or https:)', (entry) => {
    expect(parseOptions('router', corsSchema, { allowedOrigins: [entry], cors: true }).cors).toBe(true);
  });

  it('takes plain http: without cors (the page cannot read the answer then)', () => {
    expect(parseOptions('router', corsSchema, { allowedOrigins: ['http://app.example.com', 'http://*.example.test:8080'] }).allowedOrigins).toHaveLength(2);
  });

  it.each([[undefined], [[]]])('needs allowedOrigins for cors (%p)', (allowedOrigins) => {
    expect(corsProblemsFor({ allowedOrigins, cors: true })).toEqual(['cors: needs allowedOrigins: CORS is only answered for listed origins']);
  });

  it('takes a function for cors, whatever its arity', () => {
    expect(parseOptions('router', corsSchema, { allowedOrigins: () => false, cors: true }).cors).toBe(true);
  });
});

describe('compileOrigins with RegExps and the request-time rules', () => {
  const allowed = compileOrigins([/^https?:\/\/[a-z]+\.example\.com(?::\d+)?$/, /^https:\/\/(?:app\.example\.net|github\.io)$/, /^https:\/\/app\.example\.org.*$/], { cors: true });

  it.each(['https://app.example.com', 'https://app.example.com:8443', 'https://app.example.net', 'https://app.example.org'])('matches %p', (origin) => {
    expect(allowed(origin)).toBe(true);
  });

  it.each([
    ['plain http: while cors is on', 'http://app.example.com'],
    ['a public suffix', 'https://github.io'],
    ['a path (not an origin as browsers send it)', 'https://app.example.org/x'],
    ['a query', 'https://app.example.org?app.example.com'],
    ['upper case', 'https://APP.example.com'],
  ])('refuses %s (%p) even though a RegExp matches it', (_name, origin) => {
    expect(allowed(origin)).toBe(false);
  });

  it('takes plain http: from a RegExp when cors is off, and loopback http: always', () => {
    expect(compileOrigins([/^http:\/\/app\.example\.com$/])('http://app.example.com')).toBe(true);
    expect(compileOrigins([/^http:\/\/localhost:\d+$/], { cors: true })('http://localhost:3000')).toBe(true);
  });

  it('reports each refusal of a RegExp match', () => {
    const refusals: [string, string][] = [];
    const matcher = compileOrigins([/^https?:\/\/[a-z]+\.example\.com$/], { cors: true, onRefused: (origin, reason) => refusals.push([origin, reason]) });
    expect(matcher('http://app.example.com')).toBe(false);
    expect(refusals).toEqual([['http://app.example.com', 'is plain http: while cors is on']]);
  });

  it('does not share state with the caller’s RegExp objects', () => {
    const pattern = /^https:\/\/app\.example\.com$/;
    const matcher = compileOrigins([pattern]);
    pattern.compile('^https://evil\\.example$');
    expect(matcher('https://app.example.com')).toBe(true);
    expect(matcher('https://evil.example')).toBe(false);
  });
});

describe('compileOrigins with a function', () => {
  it('asks the function on every call (nothing is cached) and awaits a promise', async () => {
    const asked: string[] = [];
    let open = true;
    const matcher = compileOrigins(async (origin) => {
      asked.push(origin);
      return open && origin === 'https://app.example.com';
    });
    await expect(matcher('https://app.example.com')).resolves.toBe(true);
    open = false;
    await expect(matcher('https://app.example.com')).resolves.toBe(false);
    expect(asked).toEqual(['https://app.example.com', 'https://app.example.com']);
  });

  it('answers synchronously for a synchronous function', () => {
    expect(compileOrigins((origin) => origin === 'https://app.example.com')('https://app.example.com')).toBe(true);
  });

  it.each([
    ['plain http: while cors is on', 'http://evil.example.com', true],
    ['the null origin', 'null', false],
    ['a public suffix', 'https://github.io', false],
    ['an origin with a path', 'https://app.example.com/x', false],
  ])('refuses %s (%p) even when the function allows it', async (_name, origin, cors) => {
    const refusals: string[] = [];
    const matcher = compileOrigins(() => true, { cors, onRefused: (o) => refusals.push(o) });
    expect(await matcher(origin)).toBe(false);
    expect(refusals).toEqual([origin]);
  });

  it.each([
    ['returns a string', () => 'yes', 'allowedOrigins returned string, not a boolean'],
    ['returns undefined', () => undefined, 'allowedOrigins returned undefined, not a boolean'],
    ['resolves to null', async () => null, 'allowedOrigins returned null, not a boolean'],
    [
      'throws',
      () => {
        throw new Error('db down: postgres://u:pw@db');
      },
      'allowedOrigins threw',
    ],
    ['rejects', () => Promise.reject(new Error('db down')), 'allowedOrigins rejected'],
  ])('fails loudly when the function %s', async (_name, fn, message) => {
    const matcher = compileOrigins(fn as unknown as (origin: string) => boolean);
    const outcome = await (async () => matcher('https://app.example.com'))().then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(outcome).toBeInstanceOf(WidgetAuthError);
    expect(outcome).toMatchObject({ code: 'INTERNAL_ERROR', message });
  });
});
