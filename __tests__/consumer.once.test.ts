/**
 * The package as an integrator meets it: built, packed, and installed from the tarball
 * into a fresh project outside the repository with `npm ci --offline` (every dependency
 * comes from the npm cache the repository's own `npm ci` filled; nothing is downloaded).
 * In that project:
 *
 * - a plain CommonJS app, an ESM app, and a TypeScript app compiled with
 *   `"module": "commonjs"` (node10 resolution) and `"module": "nodenext"` (ESM and
 *   CommonJS) start the fakes of `express-widget-auth/testing`, mount routers of
 *   `express-widget-auth`, and make real HTTP requests;
 * - the TypeScript app also type-checks under `strict` + `exactOptionalPropertyTypes`;
 * - every ```ts/```js block of README.md and docs/*.md, and every `@example` of the
 *   shipped declarations, type-checks against the installed types (conventions in
 *   `__tests__/fixtures/consumer/README.md`);
 * - `attw` and `publint --strict` find nothing to report in the tarball.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { checkBlocks, docBlocks, docPages, tsdocExamples, type BlockCheck } from './helpers/docs-blocks';
import { PACKAGE, REPO, installOffline, packPackage, type PackedPackage } from './helpers/pack';

const execFileAsync = promisify(execFile);
const FIXTURES = path.join(__dirname, 'fixtures', 'consumer');
const TSC = path.join(REPO, 'node_modules', 'typescript', 'bin', 'tsc');
const BIN = path.join(REPO, 'node_modules', '.bin');
/**
 * Declarations whose TSDoc `@example`s are type-checked like the docs' blocks (the
 * examples of the other declarations are fragments written for reading, not yet held
 * to compiling).
 */
const TSDOC_CHECKED = ['core/types.d.ts', 'neuroon/middleware.d.ts'];
/** What the consumer project installs beside the tarball (all in the repository's lock file). */
const CONSUMER_DEPENDENCIES = ['express', '@types/express', '@types/node', '@types/jest', 'supertest', '@types/supertest', 'ioredis', 'rate-limit-redis'];

interface Outcome {
  ok: boolean;
  stdout: string;
  stderr: string;
}

async function run(file: string, args: string[], cwd: string): Promise<Outcome> {
  try {
    const { stdout, stderr } = await execFileAsync(file, args, { cwd, timeout: 60_000, maxBuffer: 16 * 1024 * 1024 });
    return { ok: true, stdout, stderr };
  } catch (err) {
    const { stdout = '', stderr = '', message } = err as { stdout?: string; stderr?: string; message: string };
    return { ok: false, stdout, stderr: stderr || message };
  }
}

/** Runs a consumer app with node and parses the JSON report it prints. */
async function report(cwd: string, file: string, args: string[] = []): Promise<unknown> {
  const outcome = await run(process.execPath, [file, ...args], cwd);
  if (!outcome.ok) return { failed: `${file}: ${outcome.stderr}` };
  return JSON.parse(outcome.stdout);
}

/** Copies the fixtures into the project, without their `.fixture` suffix. */
function copyFixtures(root: string): void {
  for (const name of readdirSync(FIXTURES)) {
    if (name.endsWith('.fixture') || name.endsWith('.json')) copyFileSync(path.join(FIXTURES, name), path.join(root, name.replace(/\.fixture$/, '')));
  }
  // type-only stand-ins for the modules the docs import that the repository does not install
  for (const name of readdirSync(path.join(FIXTURES, 'stubs'))) {
    const pkg = name.replace(/\.d\.ts\.fixture$/, '').replace('+', '/');
    const dir = path.join(root, 'node_modules', pkg);
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: pkg, version: '0.0.0-stub', types: 'index.d.ts' }));
    copyFileSync(path.join(FIXTURES, 'stubs', name), path.join(dir, 'index.d.ts'));
  }
  // the TypeScript app also as an ES module and as a CommonJS module under nodenext
  copyFileSync(path.join(root, 'app.ts'), path.join(root, 'app.mts'));
  copyFileSync(path.join(root, 'app.ts'), path.join(root, 'app.cts'));
}

describe('the packed package, installed offline into fresh projects', () => {
  /** Scratch folder of this run (outside the repository, so nothing resolves from its node_modules). */
  let scratch = '';
  /** The consumer project, inside it. */
  let root = '';
  let packed: PackedPackage;
  const compiled: Record<'node10' | 'nodenext', Outcome> = {} as never;
  const reports: Record<string, unknown> = {};
  let docs: BlockCheck;
  let examples: BlockCheck;
  let attw: Outcome;
  let publint: Outcome;

  beforeAll(async () => {
    scratch = mkdtempSync(path.join(tmpdir(), 'ewa-consumer-'));
    packed = packPackage(scratch);
    root = path.join(scratch, 'project');
    installOffline(root, packed, CONSUMER_DEPENDENCIES);
    copyFixtures(root);

    const tsc = (config: string) => run(process.execPath, [TSC, '-p', config], root);
    const apps = (async () => {
      const [node10, nodenext] = await Promise.all([tsc('tsconfig.node10.json'), tsc('tsconfig.nodenext.json')]);
      Object.assign(compiled, { node10, nodenext });
      const runs = {
        'plain CommonJS JavaScript (require)': report(root, 'app.cjs'),
        'ESM JavaScript (import)': report(root, 'app.mjs'),
        'TypeScript, module commonjs (node10 resolution)': node10.ok ? report(root, 'out/node10/app.js') : Promise.resolve({ failed: 'did not compile' }),
        'TypeScript, module nodenext, ESM': nodenext.ok ? report(root, 'out/nodenext/app.mjs') : Promise.resolve({ failed: 'did not compile' }),
        'TypeScript, module nodenext, CommonJS': nodenext.ok ? report(root, 'out/nodenext/app.cjs') : Promise.resolve({ failed: 'did not compile' }),
      };
      for (const [name, outcome] of Object.entries(runs)) reports[name] = await outcome;
      for (const format of ['cjs', 'esm']) reports[`startup ${format}`] = await report(root, 'startup.cjs', [format]);
    })();
    const tools = Promise.all([
      run(path.join(BIN, 'attw'), ['--format', 'json', '--no-definitely-typed', packed.tarball], root),
      run(path.join(BIN, 'publint'), ['run', packed.tarball, '--strict'], root),
    ]);

    // while those run: the documentation, then the shipped TSDoc
    docs = checkBlocks(root, new Map(docPages().map((page) => [page, docBlocks(page)])));
    const installed = path.join(root, 'node_modules', PACKAGE, 'dist');
    examples = checkBlocks(root, new Map(TSDOC_CHECKED.map((f) => [f, tsdocExamples(readFileSync(path.join(installed, f), 'utf8'), `dist/${f}`)])));
    [attw, publint] = await tools;
    await apps;
  }, 180_000);

  afterAll(() => {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it('installs from the tarball with npm ci --offline, with the files the docs refer to', () => {
    const installed = path.join(root, 'node_modules', PACKAGE);
    expect(JSON.parse(readFileSync(path.join(installed, 'package.json'), 'utf8')).version).toBe(packed.manifest['version']);
    // README: "Copy .env.example to .env"
    expect(existsSync(path.join(installed, '.env.example'))).toBe(true);
    expect(existsSync(path.join(root, 'node_modules', 'express', 'package.json'))).toBe(true);
  });

  const EXPECTED_SCENARIO = {
    session: { status: 200, matchesVendor: true, email: 'ada@example.com' },
    anonymous: 401,
    embed: { status: 200, widgetId: 'bill-preview', firstLoad: 200, replay: 401, refused: 'REPLAYED' },
    errors: {
      testingConfigError: { name: 'WidgetAuthConfigError', isMainClass: true, isError: true },
      mainConfigError: { name: 'WidgetAuthConfigError', isMainClass: true },
      bootstrapError: { name: 'NeutBootstrapError', code: 'REPLAYED', isMainClass: true },
    },
  };
  const EXPECTED_TS = {
    page: { status: 200, shopId: 'shop_consumer' },
    session: { status: 200, fromVendor: true, email: 'ada@example.com' },
    crossEntry: { name: 'WidgetAuthConfigError', isMainClass: true },
  };

  it.each([
    ['plain CommonJS JavaScript (require)', EXPECTED_SCENARIO],
    ['ESM JavaScript (import)', EXPECTED_SCENARIO],
    ['TypeScript, module commonjs (node10 resolution)', EXPECTED_TS],
    ['TypeScript, module nodenext, ESM', EXPECTED_TS],
    ['TypeScript, module nodenext, CommonJS', EXPECTED_TS],
  ])('%s: mounts routers against the fakes, serves real requests, and errors of both entry points are one class', (name, expected) => {
    expect(reports[name]).toEqual(expected);
  });

  it.each(['cjs', 'esm'])('loads Hissuno\'s JWT library only when a first token is signed, not with the package (%s)', (format) => {
    expect(reports[`startup ${format}`]).toEqual({ jsonwebtoken: { atStart: false, afterSigning: true }, tokenParts: 3 });
  });

  it.each([
    ['node10', '"module": "commonjs", strict'],
    ['nodenext', '"module": "nodenext", .mts and .cts, strict + exactOptionalPropertyTypes + noUncheckedIndexedAccess'],
  ] as const)('compiles the TypeScript app (%s: %s) against the shipped types', (key, _settings) => {
    expect({ ok: compiled[key].ok, errors: compiled[key].stdout.trim() }).toEqual({ ok: true, errors: '' });
  });

  it('type-checks every ts/js block of README.md and docs/*.md against the installed package', () => {
    expect(docs.errors).toEqual([]);
    expect(docs.checked.length).toBeGreaterThan(40);
    expect(new Set(docs.checked.map((where) => where.split(':')[0]))).toEqual(new Set(docPages().filter((page) => docBlocks(page).length > 0)));
  });

  it('lets a block opt out only with a reason, and rarely', () => {
    expect(docs.skipped.filter((s) => s.why.length < 10)).toEqual([]);
    expect(docs.skipped.length).toBeLessThanOrEqual(Math.ceil(docs.checked.length / 10));
  });

  it('type-checks the @example of the shipped ResolveUser, WidgetUser and neuroonWidgetToken declarations', () => {
    expect(examples.errors).toEqual([]);
    expect(examples.checked.map((where) => where.replace(/:\d+$/, ''))).toEqual(['dist/core/types.d.ts', 'dist/neuroon/middleware.d.ts']);
    expect(examples.skipped.filter((s) => s.why.length < 10)).toEqual([]);
  });

  it('gives attw (are the types wrong) nothing to report for any entry point', () => {
    const result = attw.stdout ? (JSON.parse(attw.stdout) as { analysis: { problems: unknown[]; entrypoints: Record<string, unknown> } }) : undefined;
    expect(result?.analysis.problems ?? attw.stderr).toEqual([]);
    expect(Object.keys(result!.analysis.entrypoints)).toEqual(expect.arrayContaining(['.', './testing']));
    expect(attw.ok).toBe(true);
  });

  it('gives publint --strict nothing to report, not even a suggestion', () => {
    expect({ ok: publint.ok, stderr: publint.stderr }).toEqual({ ok: true, stderr: '' });
    expect(publint.stdout).toContain('All good!');
  });
});
