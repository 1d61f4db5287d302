/**
 * The package as an integrator gets it, for the packaging tests: `npm run build` and
 * `npm pack` once per change of the sources (the tarball is kept in `.pack-test/` and
 * shared by every test file and every jest worker), and an offline `npm ci` of the
 * tarball into a scratch project, its dependencies taken from the npm cache that the
 * repository's own `npm ci` filled.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export const REPO = path.resolve(__dirname, '..', '..');
export const PACKAGE = 'express-widget-auth';
/** Scratch folder of the packaging tests (git-ignored). */
export const SCRATCH = path.join(REPO, '.pack-test');

/** Everything `npm run build` and `npm pack` read. */
const INPUTS = ['lib', 'scripts', 'docs', 'testing', 'README.md', 'CHANGELOG.md', 'LICENSE', '.env.example', 'package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json'];

export interface PackedPackage {
  /** Absolute path of the `.tgz`. */
  tarball: string;
  /** Paths inside the tarball (without the `package/` prefix), as `npm pack --json` lists them. */
  files: string[];
  /** The packed package.json. */
  manifest: Record<string, unknown>;
}

function inputsHash(): string {
  const hash = createHash('sha256');
  const visit = (rel: string): void => {
    const abs = path.join(REPO, rel);
    if (!existsSync(abs)) return;
    if (statSync(abs).isDirectory()) {
      for (const name of readdirSync(abs).sort()) visit(path.join(rel, name));
    } else {
      hash.update(`${rel}\0`).update(readFileSync(abs)).update('\0');
    }
  };
  INPUTS.forEach(visit);
  return hash.digest('hex').slice(0, 16);
}

const sleep = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/** Runs `fn` while holding a lock shared by every jest worker (a directory: mkdir is atomic). */
function withLock<T>(fn: () => T): T {
  const lock = path.join(SCRATCH, 'pack.lock');
  const deadline = Date.now() + 180_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      // a worker that died while building leaves the lock behind: a build takes seconds
      const held = statSync(lock, { throwIfNoEntry: false });
      if (held && Date.now() - held.mtimeMs > 120_000) rmSync(lock, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error(`packPackage: ${lock} is held for too long`, { cause: err });
      sleep(200);
    }
  }
  try {
    return fn();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/**
 * Builds and packs the package, or reuses the tarball packed from the same sources, and
 * copies it into `into` (other test processes may replace the shared copy meanwhile).
 * Synchronous, for `beforeAll`.
 */
export function packPackage(into: string): PackedPackage {
  mkdirSync(SCRATCH, { recursive: true });
  mkdirSync(into, { recursive: true });
  return withLock(() => {
    const dir = path.join(SCRATCH, `pack-${inputsHash()}`);
    const info = path.join(dir, 'pack.json');
    if (!existsSync(info)) {
      // packs of older sources, unless a test started in the last hour may still copy one
      for (const old of readdirSync(SCRATCH).filter((name) => name.startsWith('pack-'))) {
        if (Date.now() - statSync(path.join(SCRATCH, old)).mtimeMs > 3600_000) rmSync(path.join(SCRATCH, old), { recursive: true, force: true });
      }
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
      try {
        execFileSync('npm', ['run', 'build'], { cwd: REPO, stdio: 'pipe' });
        // built just above: the package's prepack (the same build, for `npm pack` and `npm publish` alone) need not run again
        const out = execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dir], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] }).toString();
        writeFileSync(info, out.slice(out.indexOf('[')));
      } catch (err) {
        rmSync(dir, { recursive: true, force: true });
        const { stdout, stderr } = err as { stdout?: Buffer; stderr?: Buffer };
        throw new Error(`npm run build / npm pack failed:\n${String(stdout ?? '')}${String(stderr ?? '')}`, { cause: err });
      }
    }
    const [packed] = JSON.parse(readFileSync(info, 'utf8')) as { filename: string; files: { path: string }[] }[];
    const tarball = path.join(into, packed!.filename);
    copyFileSync(path.join(dir, packed!.filename), tarball);
    const manifest = JSON.parse(execFileSync('tar', ['-xzOf', tarball, 'package/package.json']).toString()) as Record<string, unknown>;
    return { tarball, files: packed!.files.map((f) => f.path), manifest };
  });
}

interface LockEntry {
  name?: string;
  version: string;
  resolved?: string;
  integrity?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  dev?: boolean;
  devOptional?: boolean;
  optional?: boolean;
  peer?: boolean;
  [key: string]: unknown;
}

/**
 * A package-lock.json for a project that depends on the tarball and on `extra` (packages
 * of the repository's lock file, at the version locked there): the entries are copied from
 * the repository's lock file, so `npm ci --offline` finds every tarball in the npm cache.
 */
function consumerLock(packed: PackedPackage, tarballSpec: string, extra: string[]): { dependencies: Record<string, string>; lock: object } {
  const repoLock = JSON.parse(readFileSync(path.join(REPO, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
  const entries = repoLock.packages;
  const locate = (from: string, name: string): string | undefined => {
    for (let base = from; ; ) {
      const candidate = `${base ? `${base}/` : ''}node_modules/${name}`;
      if (entries[candidate]) return candidate;
      if (!base) return undefined;
      const up = base.lastIndexOf('/node_modules/');
      base = up < 0 ? '' : base.slice(0, up);
    }
  };
  const own = (packed.manifest['dependencies'] ?? {}) as Record<string, string>;
  const needed = new Set<string>();
  const queue = [...extra, ...Object.keys(own)].map((name) => {
    const at = locate('', name);
    if (!at) throw new Error(`${name} is not in the repository's package-lock.json, so it is not in the npm cache`);
    return at;
  });
  while (queue.length > 0) {
    const at = queue.pop()!;
    if (needed.has(at)) continue;
    needed.add(at);
    const entry = entries[at]!;
    for (const name of Object.keys({ ...entry.dependencies, ...entry.optionalDependencies, ...entry.peerDependencies })) {
      const dep = locate(at, name);
      if (dep) queue.push(dep);
      else if (!entry.optionalDependencies?.[name] && !entry.peerDependenciesMeta?.[name]?.optional) throw new Error(`${at} needs ${name}, missing from the lock file`);
    }
  }
  const dependencies: Record<string, string> = { [PACKAGE]: tarballSpec };
  for (const name of extra) dependencies[name] = entries[`node_modules/${name}`]!.version;
  const packages: Record<string, object> = {
    '': { name: 'consumer', version: '0.0.0', dependencies },
    [`node_modules/${PACKAGE}`]: {
      version: packed.manifest['version'],
      resolved: tarballSpec,
      integrity: `sha512-${createHash('sha512').update(readFileSync(packed.tarball)).digest('base64')}`,
      dependencies: own,
      peerDependencies: packed.manifest['peerDependencies'],
    },
  };
  for (const at of [...needed].sort()) {
    const { dev: _dev, devOptional: _devOptional, peer: _peer, ...entry } = entries[at]!;
    const name = entry.name ?? at.slice(at.lastIndexOf('node_modules/') + 'node_modules/'.length);
    // the repository's lock file omits registry URLs (omit-lockfile-registry-resolved);
    // with the URL and the integrity npm reads the tarball from its cache, offline
    packages[at] = { resolved: `https://registry.npmjs.org/${name}/-/${name.split('/').pop()}-${entry.version}.tgz`, ...entry };
  }
  return { dependencies, lock: { name: 'consumer', version: '0.0.0', lockfileVersion: 3, requires: true, packages } };
}

/**
 * Creates `dir` as a project depending on the packed tarball and on `extra` (names of
 * packages in the repository's lock file), and installs it with `npm ci --offline`: no
 * request leaves the machine, and a package missing from the npm cache fails the
 * install (ENOTCACHED) instead of being downloaded.
 */
export function installOffline(dir: string, packed: PackedPackage, extra: string[]): void {
  mkdirSync(dir, { recursive: true });
  const tarballSpec = `file:${path.relative(dir, packed.tarball).split(path.sep).join('/')}`;
  const { dependencies, lock } = consumerLock(packed, tarballSpec, extra);
  writeFileSync(path.join(dir, 'package.json'), `${JSON.stringify({ name: 'consumer', version: '0.0.0', private: true, dependencies }, null, 2)}\n`);
  writeFileSync(path.join(dir, 'package-lock.json'), `${JSON.stringify(lock, null, 2)}\n`);
  // the settings of an enclosing `npm test` (npm_config_*) are not the consumer's; the
  // cache location is kept, it is where the dependencies are
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key) || /^npm_config_cache$/i.test(key)));
  try {
    execFileSync('npm', ['ci', '--offline', '--ignore-scripts', '--no-audit', '--no-fund', '--no-update-notifier', '--loglevel=error'], { cwd: dir, env, stdio: 'pipe' });
  } catch (err) {
    const { stderr, stdout } = err as { stderr?: Buffer; stdout?: Buffer };
    throw new Error(`npm ci --offline failed in ${dir}:\n${String(stderr ?? '')}${String(stdout ?? '')}`, { cause: err });
  }
}
