/**
 * Starting and talking to the benchmark's child processes: server processes (one app
 * each), the fake-vendor process and a private `redis-server`.
 *
 * The server and fakes entry points are bundled once per run with esbuild into a
 * temporary directory, so that each process starts in a fraction of a
 * second and runs plain JavaScript, as the published package does. When esbuild cannot
 * be loaded, the processes run the TypeScript through tsx instead.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import type { AppConfig } from './apps';
import type { FakeName, FakesCommand, FakesReply, ServerCommand, ServerReply, ServerWindow } from './protocol';

/** Root of the repository (the parent of `bench/`). */
export const REPO_ROOT = resolve(__dirname, '..');

/** How to start the two kinds of process. */
export interface Entrypoints {
  server: string[];
  fakes: string[];
  /** `esbuild` when bundled, `tsx` otherwise. */
  mode: 'esbuild' | 'tsx';
  /** Remove the bundle directory. */
  dispose(): void;
}

/** Bundle `server.ts` and `fakes.ts` (or fall back to tsx). */
export async function prepareEntrypoints(): Promise<Entrypoints> {
  const server = join(REPO_ROOT, 'bench', 'server.ts');
  const fakes = join(REPO_ROOT, 'bench', 'fakes.ts');
  let esbuild: typeof import('esbuild') | undefined;
  try {
    // a plain require works where a dynamic import does not (jest)
    esbuild = require('esbuild') as typeof import('esbuild');
  } catch {
    esbuild = undefined;
  }
  if (esbuild) {
    const outdir = mkdtempSync(join(tmpdir(), 'express-widget-auth-bench-'));
    bundles.add(outdir);
    try {
      await esbuild.build({
        entryPoints: { server, fakes },
        bundle: true,
        platform: 'node',
        format: 'cjs',
        target: 'node20',
        outdir,
        outExtension: { '.js': '.cjs' },
        logLevel: 'error',
      });
      return {
        server: [join(outdir, 'server.cjs')],
        fakes: [join(outdir, 'fakes.cjs')],
        mode: 'esbuild',
        dispose: () => removeBundle(outdir),
      };
    } catch (err) {
      removeBundle(outdir);
      console.warn(`bench: bundling failed (${(err as Error).message.split('\n')[0]}); running through tsx instead`);
    }
  }
  return { server: ['--import', 'tsx', server], fakes: ['--import', 'tsx', fakes], mode: 'tsx', dispose: () => undefined };
}

/** Every child started by this module, so that none outlives the run. */
const children = new Set<ChildProcess>();
/** Bundle directories not yet removed. */
const bundles = new Set<string>();

function removeBundle(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  bundles.delete(dir);
}

/** Kill every child still running and remove the bundles (on exit, on error, on Ctrl-C). */
export function cleanUp(): void {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  children.clear();
  for (const dir of bundles) removeBundle(dir);
}

type Reply = { type: string; id?: number };
/** `Omit` applied to each member of a union. */
type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;

/** A child process spoken to over IPC, request by request. */
class IpcChild<Command extends { id: number }, Answer extends Reply> {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (a: Answer) => void; reject: (e: Error) => void }>();
  private exited: Error | undefined;

  constructor(
    readonly child: ChildProcess,
    readonly label: string,
  ) {
    child.on('message', (message: Answer) => {
      if (message.id === undefined) return;
      const waiter = this.pending.get(message.id);
      this.pending.delete(message.id);
      waiter?.resolve(message);
    });
    child.on('exit', (code, signal) => {
      this.exited = new Error(`${label} exited (${signal ?? `code ${code}`})`);
      for (const waiter of this.pending.values()) waiter.reject(this.exited);
      this.pending.clear();
      children.delete(child);
    });
  }

  /** Wait for the process's first message without an id (`ready` or `failed`). */
  first<T extends Answer>(timeoutMs: number): Promise<T> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.label} did not start within ${timeoutMs} ms`)), timeoutMs);
      const onMessage = (message: Answer) => {
        if (message.id !== undefined) return;
        cleanup();
        if (message.type === 'failed') reject(new Error(`${this.label} failed to start: ${(message as unknown as { message: string }).message}`));
        else resolve(message as T);
      };
      const onExit = (code: number | null) => {
        cleanup();
        reject(new Error(`${this.label} exited during start-up (code ${code})`));
      };
      const cleanup = () => {
        clearTimeout(timer);
        this.child.off('message', onMessage);
        this.child.off('exit', onExit);
      };
      this.child.on('message', onMessage);
      this.child.on('exit', onExit);
    });
  }

  ask<T extends Answer>(command: WithoutId<Command>, timeoutMs = 30_000): Promise<T> {
    if (this.exited) return Promise.reject(this.exited);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${this.label} did not answer ${JSON.stringify(command)} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (a) => {
          clearTimeout(timer);
          resolve(a as T);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.child.send({ ...command, id });
    });
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 2000);
    await gone;
    clearTimeout(timer);
  }
}

/**
 * Extra node flags for server processes, e.g. `--cpu-prof --cpu-prof-dir=prof` to profile
 * the routes (`BENCH_NODE_FLAGS`). Defaults to none.
 */
const SERVER_FLAGS = (process.env['BENCH_NODE_FLAGS'] ?? '').split(/\s+/).filter(Boolean);

function startChild(args: string[], env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, args, {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, ...env },
  });
  children.add(child);
  return child;
}

/** A running server process. */
export interface BenchServer {
  label: string;
  /** `http://127.0.0.1:<port>` */
  url: string;
  pid: number;
  /** Begin a measurement window. */
  start(options?: { sampleRssMs?: number; recordArrivals?: boolean }): Promise<void>;
  /** End the window and return what the process measured. */
  stop(): Promise<ServerWindow>;
  close(): Promise<void>;
}

/** Start a server process running the app `config` describes. */
export async function startServer(entry: Entrypoints, label: string, config: AppConfig): Promise<BenchServer> {
  const ipc = new IpcChild<ServerCommand, ServerReply & Reply>(startChild([...SERVER_FLAGS, ...entry.server], { BENCH_APP: JSON.stringify(config) }), `server "${label}"`);
  const ready = await ipc.first<{ type: 'ready'; port: number }>(30_000);
  return {
    label,
    url: `http://127.0.0.1:${ready.port}`,
    pid: ipc.child.pid ?? -1,
    async start(options = {}) {
      await ipc.ask({ cmd: 'start', ...options });
    },
    async stop() {
      const reply = await ipc.ask<{ id: number; type: 'stopped'; window: ServerWindow }>({ cmd: 'stop' });
      return reply.window;
    },
    close: () => ipc.close(),
  };
}

/** The running fake vendors. */
export interface BenchFakes {
  urls: Record<FakeName, string>;
  pid: number;
  counts(): Promise<Omit<Extract<FakesReply, { type: 'counts' }>, 'id' | 'type'>>;
  /** Delay every answer of one fake (optionally only under `path`). */
  latency(fake: FakeName, ms: number, path?: string): Promise<void>;
  clearFaults(): Promise<void>;
  close(): Promise<void>;
}

/** Start the fake-vendor process. */
export async function startFakes(entry: Entrypoints): Promise<BenchFakes> {
  const ipc = new IpcChild<FakesCommand, FakesReply & Reply>(startChild(entry.fakes, {}), 'fake vendors');
  const ready = await ipc.first<{ type: 'ready'; urls: Record<FakeName, string> }>(30_000);
  return {
    urls: ready.urls,
    pid: ipc.child.pid ?? -1,
    async counts() {
      const reply = await ipc.ask<Extract<FakesReply, { type: 'counts' }>>({ cmd: 'counts' });
      return { counts: reply.counts, neuroonIssues: reply.neuroonIssues, neuroonIssueTimes: reply.neuroonIssueTimes };
    },
    async latency(fake, ms, path) {
      await ipc.ask(path === undefined ? { cmd: 'latency', fake, ms } : { cmd: 'latency', fake, ms, path });
    },
    async clearFaults() {
      await ipc.ask({ cmd: 'clear-faults' });
    },
    close: () => ipc.close(),
  };
}

/** Processes kept on CPUs of their own (see {@link pinApart}). */
export interface CpuPinning {
  /** Whether the processes were pinned; when not, `reason` says why. */
  pinned: boolean;
  reason?: string;
  /** Let the other processes run on all their CPUs again (the measured ones end with their part). */
  restore(): void;
}

/** Path of an executable on `PATH` (or in /usr/bin), or `undefined`. */
function findExecutable(name: string): string | undefined {
  const dirs = (process.env['PATH'] ?? '').split(delimiter).filter(Boolean);
  for (const dir of [...dirs, '/usr/bin', '/usr/local/bin']) {
    const candidate = join(dir, name);
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

/**
 * Keep the `measured` processes on the first CPU this process may run on and the
 * `others` (the load generator, the fakes) on the remaining ones, with `taskset`
 * (util-linux; every thread of each process). A
 * server's CPU time per request then counts its own work only: sharing its CPU with the
 * load generator and the fakes costs it cache and branch-predictor state, by an amount
 * that changes from one moment to the next. Needs Linux, `taskset` and two CPUs; otherwise
 * nothing is pinned and `reason` says why.
 */
export function pinApart(measured: readonly number[], others: readonly number[]): CpuPinning {
  const taskset = process.platform === 'linux' ? findExecutable('taskset') : undefined;
  const unpinned = (reason: string): CpuPinning => ({ pinned: false, reason, restore: () => undefined });
  if (availableParallelism() < 2) return unpinned('one CPU');
  if (taskset === undefined) return unpinned('no taskset (util-linux)');
  const pin = (pid: number, list: string) => execFileSync(taskset, ['-a', '-p', '-c', list, String(pid)], { stdio: 'ignore' });
  // the CPUs this process may use ("pid 1's current affinity list: 0-3,6"), as the others get them back
  let all: string;
  try {
    all = /list:\s*(\S+)/.exec(execFileSync(taskset, ['-c', '-p', String(process.pid)], { encoding: 'utf8' }))?.[1] ?? '';
  } catch {
    all = '';
  }
  const cpus = all.split(',').flatMap((range) => {
    const [from, to = from] = range.split('-').map(Number);
    return Number.isInteger(from) && Number.isInteger(to) ? Array.from({ length: to! - from! + 1 }, (_, i) => from! + i) : [];
  });
  if (cpus.length < 2) return unpinned(`one CPU to run on (${all || 'affinity unknown'})`);
  try {
    for (const pid of measured) pin(pid, String(cpus[0]));
    for (const pid of others) pin(pid, cpus.slice(1).join(','));
  } catch (err) {
    for (const pid of [...measured, ...others]) {
      try {
        pin(pid, all);
      } catch {
        // a process that has gone needs no CPUs back
      }
    }
    return unpinned(`taskset failed: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
  }
  return {
    pinned: true,
    restore() {
      for (const pid of others) {
        try {
          pin(pid, all);
        } catch {
          // a process that has gone needs no CPUs back
        }
      }
    },
  };
}

/** Path of `redis-server`, or `undefined` when it is not installed. */
export function findRedisServer(): string | undefined {
  return findExecutable('redis-server');
}

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => (typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error('no free port'))));
    });
  });
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolveOpen) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolveOpen(true);
    });
    socket.once('error', () => resolveOpen(false));
  });
}

/** A private, memory-only `redis-server`. */
export interface BenchRedis {
  port: number;
  close(): Promise<void>;
}

/** Start a memory-only `redis-server` on a free loopback port. */
export async function startRedis(binary: string): Promise<BenchRedis> {
  const port = await freePort();
  const child = spawn(binary, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'yes'], { stdio: 'ignore' });
  children.add(child);
  const deadline = Date.now() + 10_000;
  while (!(await portOpen(port))) {
    if (child.exitCode !== null) throw new Error(`redis-server exited with code ${child.exitCode}`);
    if (Date.now() > deadline) throw new Error('redis-server did not start within 10 s');
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port,
    close: async () => {
      if (child.exitCode !== null) return;
      const gone = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGTERM');
      await gone;
      children.delete(child);
    },
  };
}
