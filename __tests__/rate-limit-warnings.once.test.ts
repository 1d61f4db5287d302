import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { hissunoTokenRouter, WidgetAuthConfigError, widgetAuth } from '../lib';
import { expectNoSecrets } from './helpers/app';

/**
 * express-rate-limit warns when `X-Forwarded-For` arrives with `trust proxy` off, and
 * when `trust proxy` is `true`; those checks live in its default key generator, which the
 * per-user key replaces. The warnings must still reach the operator, once, on stderr of
 * the running app (a child process, rate-limit-child.ts).
 */

const ROOT = join(__dirname, '..');
const CHILD = join(__dirname, 'fixtures', 'rate-limit-child.ts');
const DOCS = 'https://github.com/express-widget-auth/express-widget-auth/blob/main/docs/errors.md#rate-limit-warnings';
const SECRETS = { RL_HISSUNO_SECRET: 'hs_rl_7c2e9a4f1b8d3e6a0c5f2b9d4e7a1c3f', RL_NEUT_SECRET: 'neut_rl_4b8e2a6c9d1f' };

describe('express-rate-limit warnings through rateLimit (stderr of a child process)', () => {
  let code: number;
  let stderr: string;
  const byScenario: Record<string, string> = {};
  const statuses: Record<string, number[]> = {};

  beforeAll(async () => {
    const result = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', CHILD, 'trust-proxy-one-hop', 'x-forwarded-for-report-false', 'x-forwarded-for-without-trust-proxy', 'trust-proxy-true-two-vendors', 'store-fails'],
      { cwd: ROOT, env: { ...process.env, ...SECRETS }, encoding: 'utf8', timeout: 60_000 },
    ).then(
      (r) => ({ code: 0, ...r }),
      (err: { code?: number; stdout?: string; stderr?: string }) => ({ code: typeof err.code === 'number' ? err.code : 1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' }),
    );
    code = result.code;
    stderr = result.stderr;
    let current = '';
    for (const line of stderr.split('\n')) {
      const marker = /^=== (.+)$/.exec(line);
      if (marker) current = marker[1]!;
      else if (line !== '') byScenario[current] = `${byScenario[current] ?? ''}${line}\n`;
    }
    for (const line of result.stdout.split('\n').filter(Boolean)) {
      const parsed = JSON.parse(line) as { scenario: string; statuses: number[] };
      statuses[parsed.scenario] = parsed.statuses;
    }
  }, 90_000);

  it('serves every request', () => {
    expect(code).toBe(0);
    for (const name of ['trust-proxy-one-hop', 'x-forwarded-for-without-trust-proxy', 'trust-proxy-true-two-vendors', 'store-fails']) {
      expect(statuses[name]!.length).toBeGreaterThanOrEqual(20);
      expect(statuses[name]!.every((s) => s === 200)).toBe(true);
    }
  });

  it("warns once about X-Forwarded-For when 'trust proxy' is off, with the fix and both docs links", () => {
    const lines = (byScenario['x-forwarded-for-without-trust-proxy'] ?? '').trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^express-widget-auth: hissuno: ERR_ERL_UNEXPECTED_X_FORWARDED_FOR: The 'X-Forwarded-For' header is set but the Express 'trust proxy' setting is false/);
    expect(lines[0]).toContain('https://express-rate-limit.github.io/ERR_ERL_UNEXPECTED_X_FORWARDED_FOR/');
    expect(lines[0]).toContain("app.set('trust proxy', <number of proxies>)");
    expect(lines[0]).toContain(` See ${DOCS}`);
  });

  it("warns once about 'trust proxy' true, however many routers and requests see it", () => {
    const lines = (byScenario['trust-proxy-true-two-vendors'] ?? '').trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/: ERR_ERL_PERMISSIVE_TRUST_PROXY: The Express 'trust proxy' setting is true, which allows anyone to trivially bypass IP-based rate limiting/);
    expect(lines[0]).toContain(` See ${DOCS}`);
    expect(stderr.match(/ERR_ERL_PERMISSIVE_TRUST_PROXY: /g)).toHaveLength(1);
  });

  it("says nothing when 'trust proxy' names the hops, or with report: false", () => {
    expect(byScenario['trust-proxy-one-hop']).toBeUndefined();
    expect(statuses['x-forwarded-for-report-false']).toEqual([200, 200, 200, 200, 200]);
    expect(byScenario['x-forwarded-for-report-false']).toBeUndefined();
  });

  it('reports a failing store once, redacted, while requests pass', () => {
    const lines = (byScenario['store-fails'] ?? '').trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^express-widget-auth: hissuno: RATE_LIMIT_STORE_ERROR: express-rate-limit: error from store, allowing request without rate-limiting\. \(Error: redis refused AUTH \[redacted\]\)\./);
    expect(lines[0]).toContain(` See ${DOCS}`);
  });

  it('never writes a secret, in any encoding, and nothing but reports', () => {
    expectNoSecrets(stderr, Object.values(SECRETS));
    expect(stderr.split('\n').filter((l) => l !== '' && !l.startsWith('=== ') && !l.startsWith('express-widget-auth: '))).toEqual([]);
  });
});

describe('rateLimit option messages', () => {
  const secretKey = SECRETS.RL_HISSUNO_SECRET;
  const problemsOf = (fn: () => unknown): readonly string[] => {
    try {
      fn();
    } catch (err) {
      if (err instanceof WidgetAuthConfigError) return err.problems;
      throw err;
    }
    throw new Error('nothing was thrown');
  };

  it('says what windowMs and limit are when they are missing', () => {
    expect(problemsOf(() => hissunoTokenRouter({ secretKey, resolveUser: () => null, rateLimit: { limit: 5 } as never }))).toEqual([
      'rateLimit.windowMs: is required — the window length in milliseconds, e.g. 60000',
    ]);
    expect(problemsOf(() => hissunoTokenRouter({ secretKey, resolveUser: () => null, rateLimit: {} as never }))).toEqual([
      'rateLimit.windowMs: is required — the window length in milliseconds, e.g. 60000',
      'rateLimit.limit: is required — the number of requests allowed per window, e.g. 30',
    ]);
    expect(problemsOf(() => widgetAuth({ resolveUser: () => null, env: { HISSUNO_SECRET_KEY: secretKey }, rateLimit: { limit: 5 } as never }))).toEqual([
      'rateLimit.windowMs: is required — the window length in milliseconds, e.g. 60000',
    ]);
  });

  it('keeps the rules for values that are present', () => {
    expect(problemsOf(() => hissunoTokenRouter({ secretKey, resolveUser: () => null, rateLimit: { windowMs: 1.5, limit: 5 } }))).toEqual(['rateLimit.windowMs: must be a whole number of milliseconds']);
    expect(problemsOf(() => hissunoTokenRouter({ secretKey, resolveUser: () => null, rateLimit: { windowMs: '60000' as never, limit: 5 } }))).toEqual([
      'rateLimit.windowMs: expected number, received string',
    ]);
  });

  it('validates report', () => {
    expect(problemsOf(() => hissunoTokenRouter({ secretKey, resolveUser: () => null, report: 'no' as never }))).toEqual(['report: expected boolean, received string']);
    expect(problemsOf(() => hissunoTokenRouter({ secretKey, resolveUser: () => null, reprot: false } as never))).toEqual(['reprot: unknown option (did you mean `report`?)']);
  });
});
