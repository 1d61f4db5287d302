import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { BENCH_USER, BENCH_USER_HEADER, BENCH_USERS, benchResolveUser } from '../bench/fixtures';
import { runLoad } from '../bench/load';
import { runBench, type BenchReport } from '../bench/run';
import { findRedisServer } from '../bench/processes';

// The benchmark machinery end to end, with a few requests per step: server processes,
// fake vendors, autocannon, the table. No timing is asserted (the figures of a run this
// short mean nothing); `npm run bench` is the real measurement.
jest.setTimeout(90_000);

const redisInstalled = findRedisServer() !== undefined;
// every vendor-backed router, against its vendor call written by hand
const VENDOR_CPU = ['nevermined', 'wonderful', 'liveblocks', 'hubspot'];
const EXPECTED = [
  'constant',
  'hissuno',
  'hissuno-naive',
  'neut',
  'neut-plain',
  'neuroon',
  'credential-hmac',
  'credential-jwt',
  'constant-form',
  'pusher',
  'remote-cached',
  'nevermined',
  'nevermined-direct',
  'nevermined-hand',
  'wonderful',
  'wonderful-direct',
  'wonderful-hand',
  ...VENDOR_CPU.flatMap((id) => [`${id}-cpu`, `${id}-hand-cpu`]),
  'neuroon-cold-1',
  ...(redisInstalled ? ['neuroon-cold-redis-1', 'neuroon-cold-redis-3', 'remote-shared-3'] : []),
  'memory',
];
const TARGET_ROWS = ['hissuno', 'neut', 'neuroon', 'credential-hmac', 'credential-jwt', 'pusher', 'remote-cached', 'nevermined', 'wonderful', ...VENDOR_CPU.map((id) => `${id}-cpu`), 'neuroon-cold-1', 'remote-shared-3', 'memory'];

describe('npm run bench (quick mode)', () => {
  let report: BenchReport;
  const lines: string[] = [];
  beforeAll(async () => {
    report = await runBench({ quick: true, write: false, log: (line) => lines.push(line) });
  });

  it('measures every route and baseline, in the documented order', () => {
    expect(report.rows.map((r) => r.id)).toEqual(EXPECTED);
  });

  it('gives every row finite throughput and latency figures', () => {
    for (const row of report.rows) {
      expect({ id: row.id, rps: Number.isFinite(row.rps) && row.rps > 0 }).toEqual({ id: row.id, rps: true });
      expect({ id: row.id, p50: Number.isFinite(row.p50), p99: Number.isFinite(row.p99) && row.p99 >= row.p50 }).toEqual({ id: row.id, p50: true, p99: true });
    }
  });

  it('measures server CPU per request wherever an app server answered', () => {
    for (const row of report.rows) {
      const direct = row.id.endsWith('-direct');
      expect({ id: row.id, cpu: direct ? row.cpuUs : Number.isFinite(row.cpuUs) && row.cpuUs! > 0 }).toEqual({ id: row.id, cpu: direct ? null : true });
    }
  });

  it('judges every target and leaves baselines unjudged', () => {
    for (const row of report.rows) {
      const judged = TARGET_ROWS.includes(row.id) || row.id.startsWith('neuroon-cold');
      expect({ id: row.id, judged: typeof row.pass === 'boolean' }).toEqual({ id: row.id, judged });
    }
  });

  it('shows each comparison with finite numbers', () => {
    const comparison = (id: string) => report.rows.find((r) => r.id === id)!.comparison;
    expect(comparison('hissuno')).toMatch(/^\d+\.\d\d× constant; \d+\.\d\d× naive$/);
    expect(comparison('neut')).toMatch(/^\d+\.\d\d× plain$/);
    expect(comparison('neuroon')).toMatch(/^\d+\.\d\d× constant$/);
    expect(comparison('pusher')).toMatch(/^\d+\.\d\d× constant POST$/);
    expect(comparison('remote-cached')).toMatch(/^\d+\.\d\d× constant$/);
    for (const id of ['nevermined', 'wonderful']) {
      expect(comparison(id)).toMatch(/^\+-?\d+\.\d\d ms p50, \+-?\d+\.\d\d ms p99; \d+ connections? opened for [\d,]+ vendor calls \(at most \d+ opened during one measured slot\)$/);
    }
    for (const id of VENDOR_CPU) {
      expect(comparison(`${id}-cpu`)).toMatch(/^\d+\.\d\d× hand-written \(2 rounds in 2 sets of fresh processes\)$/);
      expect(report.rows.find((r) => r.id === `${id}-cpu`)!.target).toBe('≤ 1.05× hand-written');
    }
    for (const id of ['nevermined-hand', 'wonderful-hand']) {
      expect(comparison(id)).toMatch(/^\+-?\d+\.\d\d ms p50, \+-?\d+\.\d\d ms p99 \(Express and the extra hop alone\)$/);
    }
    expect(comparison('memory')).toMatch(/^RSS \d+\.\d MB at the start, \d+\.\d MB at the end \([+-]\d+\.\d%\)/);
  });

  it('measures the vendor-backed routers and their handlers in fresh processes for each set of rounds, started in turn first', () => {
    const sets = lines.map((line) => /^ {2}processes (\d)\/2 \(pids ([\d, ]+)\)(, each hand-written handler started first)?: /.exec(line)).filter((m) => m !== null);
    expect(sets.map((m) => [m[1], m[3] !== undefined])).toEqual([
      ['1', false],
      ['2', true],
    ]);
    const [first, second] = sets.map((m) => m[2]!.split(', '));
    expect(first).toHaveLength(2 * VENDOR_CPU.length);
    expect(second).toHaveLength(2 * VENDOR_CPU.length);
    expect(first!.filter((pid) => second!.includes(pid))).toEqual([]);
  });

  it('makes one vendor call for one user across 3 instances sharing Redis, cold and warm', () => {
    if (!redisInstalled) return expect(report.rows.find((r) => r.id === 'remote-shared-3')).toBeUndefined();
    const row = report.rows.find((r) => r.id === 'remote-shared-3')!;
    expect({ comparison: row.comparison, pass: row.pass }).toEqual({ comparison: expect.stringMatching(/^1 vendor call for 120 requests within the credential's life/), pass: true });
  });

  it('makes exactly one vendor call for all the concurrent cold requests', () => {
    for (const row of report.rows.filter((r) => r.id.startsWith('neuroon-cold'))) {
      expect({ id: row.id, comparison: row.comparison, pass: row.pass }).toEqual({ id: row.id, comparison: expect.stringMatching(/^1 vendor call for 60 concurrent requests/), pass: true });
    }
  });

  it('prints the run facts and one markdown table with a row per measurement', () => {
    const lines = report.markdown.split('\n');
    expect(lines[0]).toBe('# Benchmark results');
    expect(report.markdown).toContain(`Node ${process.version}`);
    const tableRows = lines.filter((l) => l.startsWith('| ') && !l.startsWith('| Route'));
    expect(tableRows).toHaveLength(EXPECTED.length);
    for (const line of tableRows) expect(line.split(' | ')).toHaveLength(9);
    if (!redisInstalled) expect(report.facts.skipped).toEqual([expect.stringContaining('redis-server is not installed')]);
  });
});

describe('npm run bench without redis-server', () => {
  it('runs the single-instance cold start and skips the Redis trials with a printed reason', async () => {
    const lines: string[] = [];
    const report = await runBench({ quick: true, write: false, only: ['cold'], noRedis: true, log: (line) => lines.push(line) });
    expect(report.rows.map((r) => [r.id, r.pass])).toEqual([['neuroon-cold-1', true]]);
    expect(report.facts.skipped).toEqual(['Neuroon cold start with Redis (1 and 3 instances) and the cached remote route on 3 instances: redis-server is not installed']);
    expect(lines).toContain('  skipped: Neuroon cold start with Redis (1 and 3 instances) and the cached remote route on 3 instances: redis-server is not installed');
    expect(report.markdown).toContain('Skipped: Neuroon cold start with Redis (1 and 3 instances) and the cached remote route on 3 instances: redis-server is not installed');
  });
});

describe('the load of the vendor CPU comparisons', () => {
  it('sends each request as the next of the bench users, so that concurrent requests come from different users', async () => {
    const seen: (string | undefined)[] = [];
    const server = http.createServer((req, res) => {
      const user = req.headers[BENCH_USER_HEADER];
      seen.push(Array.isArray(user) ? user.join() : user);
      res.end('{}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      await runLoad({ url, requests: [{ method: 'GET', path: '/' }], connections: 8, amount: 640, manyUsers: true });
      const counts = new Map<string | undefined, number>();
      for (const user of seen) counts.set(user, (counts.get(user) ?? 0) + 1);
      expect([...counts.keys()].sort()).toEqual(BENCH_USERS.map((_, i) => String(i)).sort());
      // in turn: no user gets more than a round's share beyond another
      expect(Math.max(...counts.values()) - Math.min(...counts.values())).toBeLessThanOrEqual(2);
      seen.length = 0;
      await runLoad({ url, requests: [{ method: 'GET', path: '/' }], connections: 2, amount: 20 });
      expect(new Set(seen)).toEqual(new Set([undefined]));
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('resolves each of those users, and the one bench user without the header', () => {
    const req = (headers: Record<string, string>) => ({ headers }) as unknown as import('express').Request;
    expect(benchResolveUser(req({}))).toBe(BENCH_USER);
    expect(benchResolveUser(req({ [BENCH_USER_HEADER]: '7' }))).toBe(BENCH_USERS[7]);
    expect(new Set(BENCH_USERS.map((u) => u.id)).size).toBe(BENCH_USERS.length);
  });
});
