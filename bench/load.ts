/**
 * The load generator: autocannon, run in the orchestrator process (never in the server
 * being measured). Latencies are taken from autocannon's per-response event with
 * sub-millisecond precision (its own histogram rounds to whole milliseconds, too coarse
 * for a 2 ms target).
 */
import type { EventEmitter } from 'node:events';
import { BENCH_USER_HEADER, BENCH_USERS } from './fixtures';
import { percentile } from './stats';

/** One request of a cycled sequence. */
export interface LoadRequest {
  method: 'GET' | 'POST';
  path: string;
  /** JSON body (sent with `Content-Type: application/json`). */
  body?: unknown;
  /** Form fields (sent as `application/x-www-form-urlencoded`, as pusher-js sends them); instead of `body`. */
  form?: Record<string, string>;
  headers?: Record<string, string>;
}

/** What to send. */
export interface LoadOptions {
  /** Base URL, `http://127.0.0.1:<port>`. */
  url: string;
  /** Requests each connection cycles through. */
  requests: readonly LoadRequest[];
  connections: number;
  /** Run for this many seconds… */
  durationS?: number;
  /** …or until this many requests have been answered. */
  amount?: number;
  /** Total requests per second across connections (open-loop load); closed-loop when absent. */
  overallRate?: number;
  /**
   * Send each request as the next of the bench users (the `x-bench-user` header, in turn
   * over all connections), so that concurrent requests come from different users, as
   * they do in production; absent: every request comes from the one bench user.
   */
  manyUsers?: boolean;
}

/** What came back. */
export interface LoadResult {
  /** 2xx answers. */
  ok: number;
  /** Other answers. */
  failed: number;
  /** Connection errors and timeouts. */
  errors: number;
  /** 2xx answers per second of the run. */
  rps: number;
  /** Latency percentiles of 2xx answers, in milliseconds. */
  p50: number;
  p99: number;
  elapsedS: number;
  /** Status codes seen, with counts. */
  statuses: Record<string, number>;
  /** Every 2xx latency in milliseconds, ascending. */
  latencies: number[];
}

interface AutocannonOptions {
  url: string;
  connections: number;
  duration?: number;
  amount?: number;
  overallRate?: number;
  timeout?: number;
  sampleInt?: number;
  requests: { method: string; path: string; body?: string; headers?: Record<string, string>; setupRequest?: (request: AutocannonRequest) => AutocannonRequest }[];
}
interface AutocannonRequest {
  headers?: Record<string, string>;
}
type AutocannonInstance = EventEmitter & { stop(): void };
type Autocannon = (options: AutocannonOptions, done: (err: Error | null, result: unknown) => void) => AutocannonInstance;

// autocannon ships no type declarations
const autocannon = require('autocannon') as Autocannon;

/** Run one load and collect its figures. */
export function runLoad(options: LoadOptions): Promise<LoadResult> {
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  let failed = 0;
  let errors = 0;
  let lastAnswer: number | undefined;
  const requests = options.requests.map((r) => {
    const headers: Record<string, string> = { ...r.headers };
    let body: string | undefined;
    if (r.body !== undefined) {
      body = JSON.stringify(r.body);
      headers['content-type'] = 'application/json';
    } else if (r.form !== undefined) {
      body = new URLSearchParams(r.form).toString();
      headers['content-type'] = 'application/x-www-form-urlencoded';
    }
    return { method: r.method, path: r.path, headers, ...(body !== undefined ? { body } : {}), ...(options.manyUsers ? { setupRequest: nextUser } : {}) };
  });
  let sent = 0;
  function nextUser(request: AutocannonRequest): AutocannonRequest {
    return { ...request, headers: { ...request.headers, [BENCH_USER_HEADER]: String(sent++ % BENCH_USERS.length) } };
  }
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: options.url,
        connections: options.connections,
        ...(options.durationS !== undefined ? { duration: options.durationS } : {}),
        ...(options.amount !== undefined ? { amount: options.amount } : {}),
        ...(options.overallRate !== undefined ? { overallRate: options.overallRate } : {}),
        timeout: 30,
        // autocannon notices the end of a run on this tick (1 s by default)
        sampleInt: 50,
        requests,
      },
      (err) => {
        if (err) return reject(err);
        // up to the last answer: autocannon reports the end on its next tick
        const elapsedS = ((lastAnswer ?? performance.now()) - started) / 1000;
        latencies.sort((a, b) => a - b);
        resolve({
          ok: latencies.length,
          failed,
          errors,
          rps: latencies.length / elapsedS,
          p50: percentile(latencies, 0.5),
          p99: percentile(latencies, 0.99),
          elapsedS,
          statuses,
          latencies,
        });
      },
    );
    instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
      lastAnswer = performance.now();
      statuses[status] = (statuses[status] ?? 0) + 1;
      if (status >= 200 && status < 300) latencies.push(ms);
      else failed++;
    });
    instance.on('reqError', () => errors++);
  });
}
