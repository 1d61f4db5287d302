import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createWidgetSession, neuroonConfigFromEnv, neverminedConfigFromEnv, WidgetAuthConfigError, wonderfulTokenRouter } from '../lib';
import { startFakeNevermined } from '../lib/testing';
import { expectNoSecrets } from './helpers/app';

/**
 * Failures the host must fix are reported without any logger: once per cause on stderr,
 * with the error code and a link into docs/errors.md, never a secret. The app runs in a
 * child process (report-child.ts) so that its real stderr is what is checked.
 */

const ROOT = join(__dirname, '..');
const CHILD = join(__dirname, 'fixtures', 'report-child.ts');
const DOCS = 'https://github.com/express-widget-auth/express-widget-auth/blob/main/docs/errors.md#';
const ANCHORS = [
  'reports-on-stderr',
  'resolveuser-returned-an-unusable-user',
  'resolveuser-threw-or-rejected',
  'a-hook-or-a-vendor-step-failed',
  'an-unexpected-error',
  'the-vendor-refused-this-server',
  'the-vendor-account-lacks-the-feature',
  'the-vendor-sent-an-unexpected-answer',
  'the-vendor-cannot-be-reached',
  'rate-limit-warnings',
  'a-factory-mounted-without-being-called',
];

const SECRETS = {
  REPORT_HISSUNO_SECRET: 'hs_report_9f4c2e7a1b3d5f8e0a6c4b2d9e7f1a3c',
  REPORT_NVM_SECRET: 'wk_report_right_5c1e9a7f3b2d',
  REPORT_NVM_WRONG_SECRET: 'wk_report_wrong_8d2f6b4a0c9e',
  REPORT_WONDERFUL_KEY: 'wf_report_key_3a9c7e5b1d8f2a4c',
  REPORT_NEUROON_KEY: 'nr_report_right_71c3e9',
  REPORT_NEUROON_WRONG_KEY: 'nr_report_wrong_a4f0d2',
};

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  /** stderr by scenario (the child writes `=== name` before each). */
  byScenario: Record<string, string>;
  statuses: Record<string, number[]>;
  events: { level: string; obj: Record<string, unknown>; msg?: string }[];
}

async function runChild(scenarios: string[]): Promise<Run> {
  const result = await promisify(execFile)(process.execPath, ['--import', 'tsx', CHILD, ...scenarios], {
    cwd: ROOT,
    env: { ...process.env, ...SECRETS, NODE_ENV: 'production' },
    encoding: 'utf8',
    timeout: 60_000,
  }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (err: { code?: number; stdout?: string; stderr?: string }) => ({ code: typeof err.code === 'number' ? err.code : 1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' }),
  );
  const byScenario: Record<string, string> = {};
  let current = '';
  for (const line of result.stderr.split('\n')) {
    const marker = /^=== (.+)$/.exec(line);
    if (marker) current = marker[1]!;
    else if (line !== '') byScenario[current] = `${byScenario[current] ?? ''}${line}\n`;
  }
  const statuses: Record<string, number[]> = {};
  const events: Run['events'] = [];
  for (const line of result.stdout.split('\n').filter(Boolean)) {
    const parsed = JSON.parse(line) as { scenario?: string; statuses?: number[]; event?: Run['events'][number] };
    if (parsed.scenario) statuses[parsed.scenario] = parsed.statuses!;
    if (parsed.event) events.push(parsed.event);
  }
  return { ...result, byScenario, statuses, events };
}

/** The report lines (one per line of stderr that starts like a report). */
const reports = (text: string | undefined): string[] => (text ?? '').split('\n').filter((l) => l.startsWith('express-widget-auth: '));

describe('reports of what the host must fix (stderr of a child process, no logger)', () => {
  let run: Run;

  beforeAll(async () => {
    run = await runChild([
      'numeric-id-with-logger',
      'numeric-id-report-false',
      'numeric-id',
      'mongo-document',
      'metadata-number',
      'resolveUser-throws',
      'hook-throws',
      'vendor-refuses-nevermined',
      'vendor-refuses-neuroon',
      'vendor-echoes-secret',
      'vendor-unreachable',
      'visitor-mistakes',
    ]);
  }, 90_000);

  it('runs every scenario to the end', () => {
    expect(run.code).toBe(0);
    expect(Object.keys(run.statuses)).toHaveLength(12);
  });

  it('never writes a secret to stderr or to the logger, in any encoding', () => {
    expectNoSecrets(run.stderr, Object.values(SECRETS));
    expectNoSecrets(run.stdout, Object.values(SECRETS));
  });

  it('never writes part of a secret a vendor echoed where a report is cut short', () => {
    expect(run.statuses['vendor-echoes-secret']!.every((s) => s === 502)).toBe(true);
    const [line] = reports(run.byScenario['vendor-echoes-secret']);
    expect(line).toContain(': UPSTREAM_REJECTED: The Nevermined API refused this server');
    // the secret starts where the report cuts the vendor code (64) and the correlation id (128)
    for (const piece of [SECRETS.REPORT_NVM_SECRET.slice(0, 6), SECRETS.REPORT_NVM_SECRET.slice(0, 12)]) expect(run.stderr).not.toContain(piece);
  });

  it.each([
    ['numeric-id', 'INTERNAL_ERROR', 500, /resolveUser returned a user whose `id` is a number; id must be a non-empty string/, 'resolveuser-returned-an-unusable-user'],
    ['mongo-document', 'INTERNAL_ERROR', 500, /resolveUser returned a user with `_id` \(an object \(ObjectId\)\) but no `id`; map your record: \{ id: String\(doc\._id\), … \}/, 'resolveuser-returned-an-unusable-user'],
    ['metadata-number', 'INTERNAL_ERROR', 500, /resolveUser returned a user whose `metadata\.seats` is a number; metadata values must be strings/, 'resolveuser-returned-an-unusable-user'],
    ['resolveUser-throws', 'INTERNAL_ERROR', 500, /resolveUser threw or rejected \(TypeError: session store refused key \[redacted\] \/ \[redacted\]\)/, 'resolveuser-threw-or-rejected'],
    ['hook-throws', 'INTERNAL_ERROR', 500, /entityIdFor threw \(Error: no entity for key \[redacted\]\)/, 'a-hook-or-a-vendor-step-failed'],
    ['vendor-refuses-nevermined', 'UPSTREAM_REJECTED', 502, /The Nevermined API refused this server's request \(HTTP 401, vendor code BCK\.WIDGET_SESSION\.0001, correlation id [^)]+\).*Check the secret or API key/, 'the-vendor-refused-this-server'],
    ['vendor-refuses-neuroon', 'UPSTREAM_REJECTED', 502, /The Neuroon API refused this server's request \(HTTP 40[13]/, 'the-vendor-refused-this-server'],
    ['vendor-unreachable', 'UPSTREAM_UNAVAILABLE', 502, /The Wonderful API could not be reached \(ECONNREFUSED: nothing accepts connections at its address\); every visitor gets 502 while it lasts\. Check the host and port of the base URL/, 'the-vendor-cannot-be-reached'],
  ])('%s: the browser gets %s and stderr one report with the code, the cause and the docs link', (scenario, code, status, sentence, anchor) => {
    expect(run.statuses[scenario]!.every((s) => s === status)).toBe(true);
    const lines = reports(run.byScenario[scenario]);
    expect(lines).toHaveLength(1);
    const [line] = lines;
    expect(line).toContain(`: ${code}: `);
    expect(line).toMatch(sentence);
    expect(line).toContain(` See ${DOCS}${anchor}`);
    // nothing but the report: no stack trace, no second line
    expect(run.byScenario[scenario]!.trim().split('\n')).toHaveLength(1);
  });

  it('reports each cause once however many requests fail for it', () => {
    expect(run.statuses['numeric-id']!.length).toBeGreaterThanOrEqual(20);
    expect(reports(run.stderr).filter((l) => l.includes('`id` is a number'))).toHaveLength(1);
    expect(reports(run.stderr).filter((l) => l.includes('UPSTREAM_REJECTED') && l.includes('nevermined') && l.includes('HTTP 401'))).toHaveLength(1);
  });

  it("never reports a visitor's own mistakes (401, 403, 400, 415, 429)", () => {
    expect(run.statuses['visitor-mistakes']).toEqual([401, 401, 403, 400, 415, 401, 429, 429, 429]);
    expect(run.byScenario['visitor-mistakes']).toBeUndefined();
  });

  it('with a logger, writes nothing to stderr and puts the hint and docs link in the request event', () => {
    expect(run.statuses['numeric-id-with-logger']).toEqual([500, 500, 500]);
    expect(run.byScenario['numeric-id-with-logger']).toBeUndefined();
    const failed = run.events.filter((e) => e.obj['status'] === 500);
    expect(failed).toHaveLength(3);
    for (const event of failed) {
      expect(event.level).toBe('error');
      expect(event.obj).toMatchObject({
        code: 'INTERNAL_ERROR',
        hint: expect.stringContaining('resolveUser returned a user whose `id` is a number'),
        docs: `${DOCS}resolveuser-returned-an-unusable-user`,
      });
    }
  });

  it('with report: false, writes nothing', () => {
    expect(run.statuses['numeric-id-report-false']).toEqual([500, 500, 500]);
    expect(run.byScenario['numeric-id-report-false']).toBeUndefined();
  });

  it('links only headings that exist in docs/errors.md', () => {
    const headings = new Set(
      readFileSync(join(ROOT, 'docs', 'errors.md'), 'utf8')
        .split('\n')
        .filter((l) => /^#{1,6} /.test(l))
        .map((l) =>
          l
            .replace(/^#+ /, '')
            .trim()
            .toLowerCase()
            .replace(/[^\p{L}\p{N}\s_-]/gu, '')
            .replace(/\s/g, '-'),
        ),
    );
    const linked = [...run.stderr.matchAll(/errors\.md#([\w-]+)/g)].map((m) => m[1]!);
    expect(linked.length).toBeGreaterThanOrEqual(7);
    // and every anchor a report can link, including those this run does not produce: links
    // already written to logs must keep working, so the list is fixed here, not read from the code
    linked.push(...ANCHORS);
    expect(linked.filter((anchor) => !headings.has(anchor))).toEqual([]);
  });

  it('links the repository named in package.json, when it names one', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { repository?: string | { url?: string }; homepage?: string };
    const repository = typeof pkg.repository === 'string' ? pkg.repository : pkg.repository?.url;
    const named = /github\.com[/:]([\w.-]+\/[\w.-]+?)(?:\.git)?(?:[#/]|$)/.exec(`${repository ?? ''} ${pkg.homepage ?? ''}`)?.[1];
    expect(DOCS.startsWith(`https://github.com/${named ?? 'express-widget-auth/express-widget-auth'}/`)).toBe(true);
  });
});

describe('a vendor base URL that repeats the vendor route', () => {
  it('stops the app at start-up, naming the repeated path, instead of sending the vendor /api/v1/api/v1/…', async () => {
    const run = await runChild(['base-url-with-path']);
    expect(run.code).not.toBe(0);
    expect(run.statuses['base-url-with-path']).toBeUndefined();
    expect(run.stderr).toContain('WidgetAuthConfigError');
    expect(run.stderr).toContain(
      "apiBaseUrl: must be the API origin without the vendor's route: its path ends in `/api/v1`, and the router adds `/api/v1/widgets/session` itself (the vendor would get `/api/v1/api/v1/widgets/session`)",
    );
    expectNoSecrets(run.stderr, Object.values(SECRETS));
  }, 60_000);
});

describe('vendor base URLs and the route the router adds', () => {
  const problemsOf = (fn: () => unknown): readonly string[] => {
    try {
      fn();
    } catch (err) {
      if (err instanceof WidgetAuthConfigError) return err.problems;
      throw err;
    }
    return [];
  };
  const repeated = (name: string, path: string, route: string) =>
    `${name}: must be the API origin without the vendor's route: its path ends in \`${path}\`, and the router adds \`${route}\` itself (the vendor would get \`${path}${route}\`); drop \`${path}\``;

  it.each([
    ['https://api.sandbox.nevermined.app/api/v1', '/api/v1'],
    ['https://api.sandbox.nevermined.app/api/v1/', '/api/v1'],
    ['https://api.sandbox.nevermined.app/api', '/api'],
    ['https://api.sandbox.nevermined.app/API/V1/widgets/session', '/api/v1/widgets/session'],
  ])('refuses NVM_API_BASE_URL=%s, naming the variable and the repeated path', (url, path) => {
    expect(problemsOf(() => neverminedConfigFromEnv({ NVM_ORG_ID: 'org-1', NVM_WIDGET_KEY_SECRET: SECRETS.REPORT_NVM_SECRET, NVM_API_BASE_URL: url }))).toEqual([
      repeated('NVM_API_BASE_URL', path, '/api/v1/widgets/session'),
    ]);
  });

  it("refuses Wonderful's and Neuroon's routes the same way", () => {
    expect(problemsOf(() => wonderfulTokenRouter({ baseUrl: 'https://api.wonderful.ai/api/v1', apiKey: SECRETS.REPORT_WONDERFUL_KEY, resolveUser: () => null }))).toEqual([
      repeated('baseUrl', '/api/v1', '/api/v1/jwt/sign'),
    ]);
    expect(problemsOf(() => neuroonConfigFromEnv({ NEUROON_SHOP_ID: 'shop-1', NEUROON_API_KEY: SECRETS.REPORT_NEUROON_KEY, NEUROON_API_URL: 'https://api.neuroon.ai/api/shops' }))).toEqual([
      repeated('NEUROON_API_URL', '/api/shops', '/api/shops/:shopId/widget-token'),
    ]);
  });

  it("accepts each vendor's documented base URL and a gateway prefix that is not the route", () => {
    expect(neverminedConfigFromEnv({ NVM_ORG_ID: 'org-1', NVM_WIDGET_KEY_SECRET: SECRETS.REPORT_NVM_SECRET, NVM_API_BASE_URL: 'https://api.sandbox.nevermined.app/' }).apiBaseUrl).toBe('https://api.sandbox.nevermined.app');
    expect(neuroonConfigFromEnv({ NEUROON_SHOP_ID: 'shop-1', NEUROON_API_KEY: SECRETS.REPORT_NEUROON_KEY }).apiBaseUrl).toBe('https://api.neuroon.ai');
    expect(problemsOf(() => wonderfulTokenRouter({ baseUrl: 'https://api.wonderful.ai', apiKey: SECRETS.REPORT_WONDERFUL_KEY, resolveUser: () => null }))).toEqual([]);
    expect(neverminedConfigFromEnv({ NVM_ORG_ID: 'org-1', NVM_WIDGET_KEY_SECRET: SECRETS.REPORT_NVM_SECRET, NVM_API_BASE_URL: 'https://gateway.example.com/nevermined' }).apiBaseUrl).toBe('https://gateway.example.com/nevermined');
  });

  it('keeps a gateway prefix in front of the route it adds', async () => {
    const fake = await startFakeNevermined({ orgs: { 'org-1': { secret: SECRETS.REPORT_NVM_SECRET } } });
    try {
      await createWidgetSession({ email: 'ada@example.com', orgId: 'org-1', rawSecret: SECRETS.REPORT_NVM_SECRET, apiBaseUrl: `${fake.url}/gateway/nevermined/` }).catch(() => undefined);
      expect(fake.requests.map((r) => r.path)).toEqual(['/gateway/nevermined/api/v1/widgets/session']);
    } finally {
      await fake.close();
    }
  });
});
