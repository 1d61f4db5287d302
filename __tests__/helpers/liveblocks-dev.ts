import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/**
 * Liveblocks' official local dev server (`liveblocks dev`, from the `liveblocks` CLI
 * package, a devDependency), run as a separate process on the `bun` runtime (also a
 * devDependency). It implements the vendor's REST API (`POST /v2/authorize-user`,
 * `POST /v2/identify-user`, …) and the room WebSocket (`/v8?roomId=…&tok=…`) for real,
 * which makes it the reference the Liveblocks tests check tokens against. The CLI is
 * AGPL: it is only ever started as a program, never imported or copied.
 *
 * Facts the tests rely on (checked against CLI 1.9.0): the only secret key it accepts
 * is `sk_localdev` (any other gets 403, none gets 401); it answers `GET /health` with
 * `{ "status": "ok" }` once it listens; its tokens are unsigned JWTs (`alg: none`)
 * with `k` (`acc` or `id`), `pid` (`localdev`), `uid`, `perms`, `ui`, `gids`, `iat`,
 * `exp` (an hour later) and `jti`; it closes a room socket with code 4001 when the
 * token does not grant the room. It makes no outgoing connection.
 */

/** The one secret key the dev server accepts. */
export const LIVEBLOCKS_DEV_SECRET = 'sk_localdev';

/** Under CI the dev server is installed by `npm ci`: a missing one fails instead of skipping. */
const runningInCI = process.env['CI'] === 'true';

function packageDir(name: string): string | undefined {
  try {
    return dirname(require.resolve(`${name}/package.json`));
  } catch {
    return undefined;
  }
}

function runs(binary: string): boolean {
  if (!existsSync(binary)) return false;
  const probe = spawnSync(binary, ['--version'], { stdio: 'ignore', timeout: 15_000 });
  return probe.status === 0;
}

/**
 * The bun binary from the registry. The `bun` package's postinstall links the binary of
 * its platform package (`@oven/bun-<os>-<arch>`, an optional dependency) over its own
 * `bin/bun.exe` placeholder; with install scripts disabled the placeholder stays and the
 * binary is still in the platform package. Either is used, whichever runs.
 */
function findBun(): string | undefined {
  const candidates: string[] = [];
  const bunPackage = packageDir('bun');
  if (bunPackage) candidates.push(join(bunPackage, 'bin', 'bun.exe'));
  const arch = process.arch === 'arm64' ? 'aarch64' : process.arch;
  for (const variant of ['', '-musl', '-baseline']) {
    const dir = packageDir(`@oven/bun-${process.platform}-${arch}${variant}`);
    if (dir) candidates.push(join(dir, 'bin', process.platform === 'win32' ? 'bun.exe' : 'bun'));
  }
  return candidates.find(runs);
}

/** The CLI's entry point, read from its package.json `bin`. */
function findCli(): string | undefined {
  const dir = packageDir('liveblocks');
  if (!dir) return undefined;
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { bin?: string | Record<string, string> };
  const bin = typeof manifest.bin === 'string' ? manifest.bin : manifest.bin?.['liveblocks'];
  const entry = bin ? join(dir, bin) : undefined;
  return entry && existsSync(entry) ? entry : undefined;
}

const BUN = findBun();
const CLI = findCli();

/** Why the dev server cannot run here, or `undefined` when it can. */
export const LIVEBLOCKS_DEV_UNAVAILABLE: string | undefined =
  BUN === undefined ? 'no runnable bun binary (devDependency `bun` and its @oven/bun-* platform package)' : CLI === undefined ? 'the `liveblocks` CLI package is not installed' : undefined;

/**
 * Whether the dev-server suites run: when bun and the CLI are installed, and always under
 * `CI=true` (CI installs them with `npm ci`, so a missing one fails there instead of
 * skipping).
 */
export const RUN_LIVEBLOCKS_DEV_TESTS = LIVEBLOCKS_DEV_UNAVAILABLE === undefined || runningInCI;
if (!RUN_LIVEBLOCKS_DEV_TESTS) console.warn(`Liveblocks dev server tests skipped: ${LIVEBLOCKS_DEV_UNAVAILABLE} (they run in CI).`);

/** A running `liveblocks dev`. */
export interface LiveblocksDevServer {
  /** `http://127.0.0.1:<port>`: the `baseUrl` for @liveblocks/node and @liveblocks/client. */
  url: string;
  port: number;
  /** `sk_localdev`. */
  secret: string;
  /** Milliseconds from spawning the process to its first healthy answer. */
  startupMs: number;
  /** What the process printed so far, without terminal escapes. */
  output(): string;
  /** Stop the process group (SIGTERM, then SIGKILL after 3 s) and remove its scratch directory. */
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no free port'))));
    });
  });
}

const ESCAPE = String.fromCharCode(27);
const stripAnsi = (text: string): string => text.split(ESCAPE).map((part, i) => (i === 0 ? part : part.replace(/^\[[0-9;?]*[A-Za-z]/, ''))).join('');

function gone(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

function exited(child: ChildProcess, ms: number): Promise<boolean> {
  if (gone(child)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || gone(child)) return;
  try {
    // negative pid: the whole group the detached child leads (bun and anything it spawned)
    process.kill(-child.pid, signal);
  } catch {
    child.kill(signal);
  }
}

/**
 * Start `liveblocks dev` on a free port of 127.0.0.1, without persistence and without
 * the project check, in a scratch directory; resolves once `GET /health` answers.
 * Throws (naming the reason and the process's last output) when it cannot start within
 * `timeoutMs` (40 s by default: a loaded 2-core machine starts it slowly).
 */
export async function startLiveblocksDev(options: { timeoutMs?: number } = {}): Promise<LiveblocksDevServer> {
  if (BUN === undefined || CLI === undefined) throw new Error(`Liveblocks dev server cannot run: ${LIVEBLOCKS_DEV_UNAVAILABLE} (required when CI=true)`);
  const timeoutMs = options.timeoutMs ?? 40_000;
  const port = await freePort();
  const scratch = mkdtempSync(join(tmpdir(), 'liveblocks-dev-'));
  const started = Date.now();
  const child = spawn(BUN, [CLI, 'dev', '--port', String(port), '--host', '127.0.0.1', '--no-persist', '--no-check'], {
    cwd: scratch,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1' },
  });
  let printed = '';
  const keep = (chunk: Buffer) => {
    printed = (printed + chunk.toString('utf8')).slice(-8192);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  // a test file that dies without afterAll must not leave the server behind
  const onExit = () => signalGroup(child, 'SIGKILL');
  process.once('exit', onExit);

  const stop = async (): Promise<void> => {
    process.removeListener('exit', onExit);
    signalGroup(child, 'SIGTERM');
    if (!(await exited(child, 3000))) {
      signalGroup(child, 'SIGKILL');
      await exited(child, 3000);
    }
    rmSync(scratch, { recursive: true, force: true });
  };

  const url = `http://127.0.0.1:${port}`;
  const deadline = started + timeoutMs;
  for (;;) {
    if (gone(child)) {
      await stop();
      throw new Error(`liveblocks dev exited (code ${child.exitCode}, signal ${child.signalCode}) before answering: ${stripAnsi(printed).trim()}`);
    }
    try {
      const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) });
      const body = (await res.json()) as { status?: unknown };
      if (res.status === 200 && body.status === 'ok') break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`liveblocks dev did not answer on ${url}/health within ${timeoutMs} ms: ${stripAnsi(printed).trim()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }

  return { url, port, secret: LIVEBLOCKS_DEV_SECRET, startupMs: Date.now() - started, output: () => stripAnsi(printed), stop };
}
