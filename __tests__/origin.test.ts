import { z } from 'zod';
import { WidgetAuthConfigError } from '../lib';
import { parseOptions } from '../lib/core/config';
import { allowedOriginsSchema, compileOrigins, normaliseOrigin } from '../lib/core/origin';

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
