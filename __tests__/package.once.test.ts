/**
 * The built package as an integrator gets it: `npm run build`, `npm pack`, the tarball
 * unpacked into `node_modules/express-widget-auth` of a scratch folder inside the
 * repository (so that express, zod and the rest resolve from the repository's own
 * node_modules, with no network install), then small CommonJS, ESM and TypeScript
 * projects that require/import it and serve a real request.
 */
import { execFile, execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { PACKAGE, REPO, SCRATCH, packPackage } from './helpers/pack';

const run = promisify(execFile);

const SECRET = 'sk_live_QZuX5SQetHGPBzyu36v7JVQdFkEmSuoH';

interface ConsumerReport {
  exports: Record<string, string>;
  testing: Record<string, string>;
  expressMajor: string;
  token: { status: number; cacheControl: string | null; userId: string; keys: string[] };
  anonymous: { status: number; body: unknown };
  configError: { name: string; code: string; isInstance: boolean; problems: string[] };
  factoriesWithoutOptions: Record<string, string>;
}

/** Body shared by the JavaScript consumers; `load` is their require/import prologue. */
const consumerBody = `
const exportsOf = (m) => Object.fromEntries(Object.keys(m).filter((k) => k !== 'default').sort().map((k) => [k, typeof m[k]]));

async function main() {
  const app = express();
  app.use(pkg.hissunoTokenRouter({
    secretKey: process.env.CONSUMER_SECRET,
    resolveUser: (req) => (req.headers['x-user'] ? { id: String(req.headers['x-user']) } : null),
  }));
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const url = 'http://127.0.0.1:' + server.address().port + '/api/hissuno-token';
  const ok = await fetch(url, { headers: { 'x-user': 'u-42', connection: 'close' } });
  const okBody = await ok.json();
  const anonymous = await fetch(url, { headers: { connection: 'close' } });
  const anonymousBody = await anonymous.json();
  server.close();
  server.closeAllConnections();

  let configError = null;
  try {
    pkg.hissunoTokenRouter({ secretKey: 'short', resolveUser: () => null });
  } catch (err) {
    configError = { name: err.name, code: err.code, isInstance: err instanceof pkg.WidgetAuthConfigError, problems: err.problems };
  }
  const factoriesWithoutOptions = {};
  for (const name of Object.keys(pkg).filter((k) => /Router$/.test(k) && typeof pkg[k] === 'function')) {
    try {
      pkg[name]();
      factoriesWithoutOptions[name] = 'returned';
    } catch (err) {
      factoriesWithoutOptions[name] = err instanceof pkg.WidgetAuthConfigError ? 'WidgetAuthConfigError' : String(err && err.name);
    }
  }
  const report = {
    exports: exportsOf(pkg),
    testing: exportsOf(testing),
    expressMajor: expressVersion.split('.')[0],
    token: { status: ok.status, cacheControl: ok.headers.get('cache-control'), userId: testing.verifyHissunoToken(okBody.token, process.env.CONSUMER_SECRET).userId, keys: Object.keys(okBody) },
    anonymous: { status: anonymous.status, body: anonymousBody },
    configError,
    factoriesWithoutOptions,
  };
  process.stdout.write(JSON.stringify(report));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
`;

const CJS = `'use strict';
const express = require('express');
const expressVersion = require('express/package.json').version;
const pkg = require('${PACKAGE}');
const testing = require('${PACKAGE}/testing');
${consumerBody}`;

const ESM = `import express from 'express';
import { createRequire } from 'node:module';
import * as pkg from '${PACKAGE}';
import * as testing from '${PACKAGE}/testing';
import { hissunoTokenRouter, WidgetAuthConfigError } from '${PACKAGE}';
if (typeof hissunoTokenRouter !== 'function' || typeof WidgetAuthConfigError !== 'function') throw new Error('named imports are missing');
const expressVersion = createRequire(import.meta.url)('express/package.json').version;
${consumerBody}`;

/** A TypeScript consumer; the same source is compiled as ESM (.mts) and as CommonJS (.cts). */
const TS = `import express from 'express';
import {
  hissunoTokenRouter,
  hissunoConfigFromEnv,
  WidgetAuthConfigError,
  type CommonRouterOptions,
  type HissunoTokenRouterOptions,
  type ResolveUser,
  type WidgetAuthErrorCode,
  type WidgetUser,
} from '${PACKAGE}';
import { verifyHissunoToken, type VerifiedHissunoToken } from '${PACKAGE}/testing';

const resolveUser: ResolveUser = (req) => {
  const id = req.header('x-user');
  const user: WidgetUser = { id: id ?? '' };
  return id ? user : null;
};
const common: CommonRouterOptions = { bodyLimit: '4kb', requireOrigin: false };
const options: HissunoTokenRouterOptions = { ...common, ...hissunoConfigFromEnv({ HISSUNO_SECRET_KEY: process.env['CONSUMER_SECRET'] }), resolveUser, expiresIn: '1h' };
// @ts-expect-error a misspelled option is a type error, so the types are real
const misspelled: HissunoTokenRouterOptions = { secretKey: 'x', resolveUser, expiresin: '1h' };
// @ts-expect-error resolveUser is required
const incomplete: HissunoTokenRouterOptions = { secretKey: 'x' };
// @ts-expect-error error codes are a closed union
const unknownCode: WidgetAuthErrorCode = 'NOT_A_CODE';
void [misspelled, incomplete, unknownCode];

async function main(): Promise<void> {
  const app = express();
  app.use(hissunoTokenRouter(options));
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const res = await fetch('http://127.0.0.1:' + port + '/api/hissuno-token', { headers: { 'x-user': 'u-ts', connection: 'close' } });
  const body = (await res.json()) as { token: string };
  server.close();
  server.closeAllConnections();
  const claims: VerifiedHissunoToken = verifyHissunoToken(body.token, process.env['CONSUMER_SECRET']!);
  let refused = false;
  try {
    hissunoTokenRouter({ secretKey: '', resolveUser });
  } catch (err) {
    refused = err instanceof WidgetAuthConfigError && err.code === 'INVALID_CONFIG';
  }
  process.stdout.write(JSON.stringify({ status: res.status, userId: claims.userId, lifetime: claims.exp - claims.iat, refused }));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
`;

const TSCONFIG = {
  compilerOptions: {
    module: 'nodenext',
    moduleResolution: 'nodenext',
    target: 'es2022',
    lib: ['es2022', 'dom'],
    strict: true,
    esModuleInterop: true,
    // the library's .d.ts are produced by the build's own type check; re-checking zod's
    // and express's declarations here would only add ten seconds
    skipLibCheck: true,
    types: ['node'],
    outDir: 'out',
  },
  files: ['consumer.mts', 'consumer.cts'],
};

async function node(file: string): Promise<unknown> {
  const { stdout } = await run(process.execPath, [file], { cwd: path.dirname(file), env: { ...process.env, CONSUMER_SECRET: SECRET }, timeout: 20_000 });
  return JSON.parse(stdout);
}

function write(file: string, text: string): string {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, text);
  return file;
}

describe('the packed package', () => {
  let work = '';
  let installed = '';
  let packed: string[] = [];
  let manifest: Record<string, unknown> & {
    exports: Record<string, unknown>;
    engines: Record<string, string>;
    peerDependencies: Record<string, string>;
    dependencies: Record<string, string>;
    files: string[];
  };
  let reports: Record<'cjs' | 'esm' | 'cjs4' | 'esm4', ConsumerReport>;
  let tsReports: { esm: unknown; cjs: unknown };

  beforeAll(async () => {
    mkdirSync(SCRATCH, { recursive: true });
    work = mkdtempSync(path.join(SCRATCH, 'run-'));
    const tarball = packPackage(work);
    packed = tarball.files;

    installed = path.join(work, 'node_modules', PACKAGE);
    mkdirSync(installed, { recursive: true });
    execFileSync('tar', ['-xzf', tarball.tarball, '-C', installed, '--strip-components=1']);
    manifest = JSON.parse(readFileSync(path.join(installed, 'package.json'), 'utf8'));

    // a second project whose `express` is Express 4 (the repository's express4 alias)
    const legacy = path.join(work, 'express4');
    cpSync(installed, path.join(legacy, 'node_modules', PACKAGE), { recursive: true });
    symlinkSync(path.join(REPO, 'node_modules', 'express4'), path.join(legacy, 'node_modules', 'express'), 'dir');

    const ts = path.join(work, 'ts');
    write(path.join(ts, 'package.json'), JSON.stringify({ name: 'ts-consumer', private: true, type: 'module' }));
    write(path.join(ts, 'tsconfig.json'), JSON.stringify(TSCONFIG, null, 2));
    write(path.join(ts, 'consumer.mts'), TS);
    write(path.join(ts, 'consumer.cts'), TS);
    const compiled = run(process.execPath, [path.join(REPO, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', ts], { cwd: ts }).catch((err: { stdout?: string }) => {
      throw new Error(`the TypeScript consumer does not compile:\n${err.stdout ?? String(err)}`);
    });

    const [cjs, esm, cjs4, esm4] = await Promise.all([
      node(write(path.join(work, 'cjs', 'consumer.cjs'), CJS)),
      node(write(path.join(work, 'esm', 'consumer.mjs'), ESM)),
      node(write(path.join(legacy, 'consumer.cjs'), CJS)),
      node(write(path.join(legacy, 'consumer.mjs'), ESM)),
    ]);
    reports = { cjs, esm, cjs4, esm4 } as typeof reports;
    await compiled;
    const [tsEsm, tsCjs] = await Promise.all([node(path.join(ts, 'out', 'consumer.mjs')), node(path.join(ts, 'out', 'consumer.cjs'))]);
    tsReports = { esm: tsEsm, cjs: tsCjs };
  }, 90_000);

  afterAll(() => {
    // the packed tarball stays in .pack-test/ for the next run (git-ignored)
    if (work) rmSync(work, { recursive: true, force: true });
  });

  describe('package.json', () => {
    it('maps both entry points for import and require, types first', () => {
      const entry = (base: string) => ({
        import: { types: `./dist/${base}.d.mts`, default: `./dist/${base}.mjs` },
        require: { types: `./dist/${base}.d.ts`, default: `./dist/${base}.cjs` },
      });
      expect(manifest.exports).toEqual({ '.': entry('index'), './testing': entry('testing/index'), './package.json': './package.json' });
      for (const conditions of [manifest.exports['.'], manifest.exports['./testing']] as Record<string, Record<string, string>>[]) {
        for (const target of Object.values(conditions)) expect(Object.keys(target)[0]).toBe('types');
      }
    });

    it('points every entry field at a file that is in the tarball', () => {
      const targets = new Set<string>();
      const collect = (value: unknown): void => {
        if (typeof value === 'string') targets.add(value);
        else if (value && typeof value === 'object') Object.values(value).forEach(collect);
      };
      collect(manifest.exports);
      collect([manifest['main'], manifest['module'], manifest['types']]);
      // testing/package.json: what resolvers without `exports` support (TypeScript's node10) read
      const stub = JSON.parse(readFileSync(path.join(installed, 'testing', 'package.json'), 'utf8')) as Record<string, string>;
      for (const field of ['main', 'module', 'types']) targets.add(path.posix.join('testing', stub[field]!));
      expect(targets.size).toBeGreaterThanOrEqual(12);
      const missing = [...targets].filter((t) => !existsSync(path.join(installed, t)));
      expect(missing).toEqual([]);
    });

    it('builds when packed: `npm pack` alone, in a checkout that was never built, packs dist', () => {
      // the tracked files only, as a fresh clone has them; the dependencies are the repository's
      const clone = path.join(work, 'fresh-clone');
      for (const file of execFileSync('git', ['ls-files', '-z'], { cwd: REPO }).toString().split('\0').filter(Boolean)) {
        if (existsSync(path.join(REPO, file))) cpSync(path.join(REPO, file), path.join(clone, file));
      }
      symlinkSync(path.join(REPO, 'node_modules'), path.join(clone, 'node_modules'), 'dir');
      expect(existsSync(path.join(clone, 'dist'))).toBe(false);
      const out = execFileSync('npm', ['pack', '--json', '--pack-destination', work], { cwd: clone, stdio: ['ignore', 'pipe', 'pipe'] }).toString();
      const [fresh] = JSON.parse(out.slice(out.indexOf('\n[') + 1)) as { files: { path: string }[] }[];
      expect(fresh!.files.map((f) => f.path)).toEqual(expect.arrayContaining(['dist/index.cjs', 'dist/index.mjs', 'dist/index.d.ts', 'dist/testing/index.cjs']));
    }, 60_000);

    it('declares Node 20+, express 4.21+/5 as a peer, and ships dist', () => {
      expect(manifest.engines.node).toBe('>=20');
      expect(manifest.peerDependencies).toEqual({ express: '^4.21.0 || ^5.0.0' });
      expect(manifest.dependencies['express']).toBeUndefined();
      expect(manifest.files).toContain('dist');
      expect(manifest['name']).toBe(PACKAGE);
      expect(manifest['license']).toBe('MIT');
    });

    it('packs the build, the README, the CHANGELOG and .env.example, and no sources, tests or local files', () => {
      expect(packed).toEqual(
        expect.arrayContaining(['package.json', 'README.md', 'CHANGELOG.md', '.env.example', 'testing/package.json', 'dist/index.cjs', 'dist/index.mjs', 'dist/index.d.ts', 'dist/index.d.mts', 'dist/testing/index.cjs', 'dist/testing/index.mjs']),
      );
      const stray = packed.filter((f) => /^(?:lib|__tests__|demo-app|bench|scripts|\.pack-test|node_modules)\/|^\.env(?!\.example$)|\.tgz$/.test(f));
      expect(stray).toEqual([]);
    });

    it('names the repository, its issue tracker and its homepage, and declares no side effects', () => {
      const repository = 'https://github.com/express-widget-auth/express-widget-auth';
      expect(manifest['repository']).toEqual({ type: 'git', url: `git+${repository}.git` });
      expect(manifest['bugs']).toEqual({ url: `${repository}/issues` });
      expect(manifest['homepage']).toBe(`${repository}#readme`);
      expect(manifest['sideEffects']).toBe(false);
    });

    it('shares one copy of the code both entry points use: the testing bundles load the main entry\'s chunks', () => {
      for (const ext of ['cjs', 'mjs']) {
        const shared = packed.filter((f) => f.startsWith('dist/shared/') && f.endsWith(`.${ext}`));
        expect(shared.length).toBeGreaterThan(0);
        for (const entry of [`dist/index.${ext}`, `dist/testing/index.${ext}`]) {
          const text = readFileSync(path.join(installed, entry), 'utf8');
          expect([entry, shared.some((chunk) => text.includes(path.posix.basename(chunk)))]).toEqual([entry, true]);
        }
        // the classes are defined once, in a shared chunk
        const definitions = packed.filter((f) => f.endsWith(`.${ext}`) && /\bWidgetAuthConfigError = class\b|\bclass WidgetAuthConfigError\b/.test(readFileSync(path.join(installed, f), 'utf8')));
        expect(definitions).toEqual([expect.stringMatching(/^dist\/shared\//)]);
      }
    });
  });

  describe.each([
    ['a CommonJS consumer', 'cjs', '5'],
    ['an ESM consumer', 'esm', '5'],
    ['a CommonJS consumer on Express 4', 'cjs4', '4'],
    ['an ESM consumer on Express 4', 'esm4', '4'],
  ] as const)('%s', (_name, key, major) => {
    it(`mounts hissunoTokenRouter on Express ${major} and serves a token the vendor accepts`, () => {
      const report = reports[key];
      expect(report.expressMajor).toBe(major);
      expect(report.token).toEqual({ status: 200, cacheControl: 'no-store', userId: 'u-42', keys: ['token'] });
      expect(report.anonymous).toEqual({ status: 401, body: { error: 'Unauthorized' } });
    });

    it('gets the router factories, errors and testing helpers', () => {
      const report = reports[key];
      for (const name of ['hissunoTokenRouter', 'hissunoConfigFromEnv', 'signHissunoToken', 'WidgetAuthError', 'WidgetAuthConfigError']) {
        expect([name, report.exports[name]]).toEqual([name, 'function']);
      }
      expect(report.testing).toMatchObject({ verifyHissunoToken: 'function', startFakeServer: 'function' });
    });

    it('throws configuration errors it can recognise with instanceof', () => {
      expect(reports[key].configError).toEqual({
        name: 'WidgetAuthConfigError',
        code: 'INVALID_CONFIG',
        isInstance: true,
        problems: ['secretKey: must be at least 32 characters long'],
      });
    });

    it('gets router factories that refuse a call without options', () => {
      const factories = reports[key].factoriesWithoutOptions;
      expect(Object.keys(factories)).toContain('hissunoTokenRouter');
      expect(Object.entries(factories).filter(([, outcome]) => outcome !== 'WidgetAuthConfigError')).toEqual([]);
    });
  });

  it('exports the same names, of the same kinds, from the CommonJS and the ESM entries', () => {
    expect(Object.keys(reports.cjs.exports).length).toBeGreaterThan(5);
    expect(reports.esm.exports).toEqual(reports.cjs.exports);
    expect(reports.esm.testing).toEqual(reports.cjs.testing);
    expect(reports.esm4.exports).toEqual(reports.cjs.exports);
  });

  it('compiles a TypeScript consumer (module nodenext, ESM and CommonJS) against the shipped types, and runs it', () => {
    const expected = { status: 200, userId: 'u-ts', lifetime: 3600, refused: true };
    expect(tsReports).toEqual({ esm: expected, cjs: expected });
  });
});
