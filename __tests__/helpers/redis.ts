import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { delimiter, join } from 'node:path';
import Redis, { type RedisOptions } from 'ioredis';

/** Path of `redis-server`, or `undefined` when it is not installed. */
export const REDIS_SERVER: string | undefined = (() => {
  const dirs = (process.env['PATH'] ?? '').split(delimiter).filter(Boolean);
  for (const dir of [...dirs, '/usr/bin', '/usr/local/bin']) {
    const candidate = join(dir, 'redis-server');
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
})();

/**
 * Whether the Redis suites run: when `redis-server` is installed, and always under
 * `CI=true` (CI installs it, so a missing binary fails there instead of skipping).
 */
export const RUN_REDIS_TESTS = REDIS_SERVER !== undefined || process.env['CI'] === 'true';
if (!RUN_REDIS_TESTS) console.warn('Redis tests skipped: redis-server is not installed on this machine (they run in CI).');

/** ioredis settings that make a dead Redis fail fast, as docs/scaling.md recommends. */
export const FAIL_FAST: RedisOptions = { enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: 250, connectTimeout: 500 };

/** A `redis-server` started for one test file. */
export interface TestRedis {
  port: number;
  /** Open a connection (ready before it resolves); closed by `stop()`. */
  connect(options?: RedisOptions): Promise<Redis>;
  /** A client that connects in the background (also to a dead server); closed by `stop()`. */
  open(options?: RedisOptions): Redis;
  /** Kill the server abruptly (SIGKILL), as a crash would. */
  kill(): Promise<void>;
  /** Close every connection opened through `connect` and stop the server. */
  stop(): Promise<void>;
}

/** A loopback port that is free now (to start a server on later). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

function waitForPort(port: number, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      if (child.exitCode !== null) return reject(new Error(`redis-server exited with code ${child.exitCode}`));
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve();
      });
      socket.once('error', () => {
        socket.destroy();
        if (Date.now() > deadline) reject(new Error('redis-server did not start in time'));
        else setTimeout(attempt, 20);
      });
    };
    attempt();
  });
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Start `redis-server` on a free loopback port (or on `port`, e.g. one clients already try), without persistence. */
export async function startRedis(options: { port?: number } = {}): Promise<TestRedis> {
  if (REDIS_SERVER === undefined) throw new Error('redis-server is not installed (required when CI=true)');
  const port = options.port ?? (await freePort());
  const child = spawn(REDIS_SERVER, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'no'], {
    stdio: 'ignore',
  });
  await waitForPort(port, child, 5000);
  const clients = new Set<Redis>();

  const handle: TestRedis = {
    port,
    async connect(options = {}) {
      const client = handle.open({ lazyConnect: true, ...options });
      await client.connect();
      return client;
    },
    open(options = {}) {
      // a short disconnectTimeout: ioredis otherwise keeps a 2 s timer after closing a dead connection
      const client = new Redis({ host: '127.0.0.1', port, disconnectTimeout: 50, ...FAIL_FAST, ...options });
      // reconnect noise after a kill is expected; the tests assert on behaviour instead
      client.on('error', () => undefined);
      clients.add(client);
      return client;
    },
    async kill() {
      child.kill('SIGKILL');
      await exited(child);
    },
    async stop() {
      for (const client of clients) client.disconnect();
      clients.clear();
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exited(child);
      }
    },
  };
  return handle;
}
