/**
 * `npm run bench`: serves every route from its own Express process on loopback (vendors
 * played by the fakes of `lib/testing`, in a process of their own), drives each with
 * autocannon from this process, and prints one markdown table — requests/s, p50/p99
 * latency, server CPU time per request, the baseline and the comparison with it, and
 * whether the target holds — which is also written to `bench/results.md`.
 *
 * Options: `--quick` (a few requests per step: checks the machinery, figures
 * meaningless), `--no-write` (do not touch `bench/results.md`), `--only=cpu,upstream,cold,memory`
 * (run some parts). `BENCH_NODE_FLAGS="--cpu-prof --cpu-prof-dir=prof"` profiles the
 * server processes.
 */
import { writeFileSync } from 'node:fs';
import { cpus, loadavg, platform, release } from 'node:os';
import { join } from 'node:path';
import { verifyHissunoToken } from '../lib/testing';
import { wonderfulEntityIdFor } from '../lib';
import type { AppConfig } from './apps';
import { createHmac } from 'node:crypto';
import { BENCH_USER, BENCH_USERS, CREDENTIAL_SECRET, HISSUNO_SECRET, NEUROON_COLD_SHOPS, NEUROON_WARM_SHOP, NEUT_BODIES, NEUT_ENV, LIVEBLOCKS_BENCH, NEVERMINED_ORG, PATHS, PUSHER_BENCH, WONDERFUL_API_KEY } from './fixtures';
import { runLoad, type LoadRequest, type LoadResult } from './load';
import { findRedisServer, cleanUp, pinApart, prepareEntrypoints, REPO_ROOT, startFakes, startRedis, startServer, type BenchFakes, type BenchServer, type CpuPinning, type Entrypoints } from './processes';
import type { ServerWindow } from './protocol';
import { format, renderReport, type BenchRow, type RunFacts } from './report';
import { median, percentile } from './stats';

/** How much load each part sends: run until `durationS` passes or `amount` requests are answered. */
type Slot = { durationS: number } | { amount: number };

/** The sizes of one run. */
export interface BenchPlan {
  /**
   * CPU comparisons (saturating, closed-loop load). `rewarm` is an unmeasured load sent
   * to a server just before each of its measured slots (see {@link runPairs}).
   */
  cpu: { connections: number; warmup: Slot; rounds: number; slot: Slot; rewarm: Slot };
  /** Vendor-calling routes against their fake called directly (one request at a time). */
  upstream: { connections: number; warmup: Slot; rounds: number; slot: Slot; rewarm: Slot };
  /**
   * Vendor-calling routes against the same call written by hand: CPU per request under
   * the CPU comparisons' load, each request from the next of the bench users. The rounds
   * are split over `generations` sets of fresh server processes (see {@link vendorCpuPart}).
   */
  vendorCpu: { connections: number; warmup: Slot; rounds: number; slot: Slot; rewarm: Slot; generations: number };
  /** Neuroon cold start: concurrent requests, and how slowly the fake issues the first token. */
  cold: { requests: number; vendorLatencyMs: number };
  /** Resident memory over many requests after a warm-up. */
  memory: { connections: number; warmup: number; requests: number; sampleMs: number };
}

/** The full run: about twenty minutes on two cores. */
export const FULL_PLAN: BenchPlan = {
  cpu: { connections: 16, warmup: { durationS: 3 }, rounds: 16, slot: { durationS: 1.5 }, rewarm: { durationS: 0.5 } },
  upstream: { connections: 1, warmup: { durationS: 3 }, rounds: 12, slot: { durationS: 1.5 }, rewarm: { durationS: 0.5 } },
  vendorCpu: { connections: 16, warmup: { durationS: 6 }, rounds: 24, slot: { durationS: 1.5 }, rewarm: { durationS: 0.5 }, generations: 4 },
  cold: { requests: 1000, vendorLatencyMs: 300 },
  memory: { connections: 16, warmup: 20_000, requests: 200_000, sampleMs: 250 },
};

/** A few requests per step: exercises every part of the machinery in seconds. */
export const QUICK_PLAN: BenchPlan = {
  cpu: { connections: 4, warmup: { amount: 100 }, rounds: 2, slot: { amount: 150 }, rewarm: { amount: 20 } },
  upstream: { connections: 1, warmup: { amount: 30 }, rounds: 2, slot: { amount: 60 }, rewarm: { amount: 10 } },
  vendorCpu: { connections: 4, warmup: { amount: 60 }, rounds: 2, slot: { amount: 100 }, rewarm: { amount: 10 }, generations: 2 },
  cold: { requests: 60, vendorLatencyMs: 100 },
  memory: { connections: 4, warmup: 300, requests: 1500, sampleMs: 100 },
};

/** The parts of a run. */
export type BenchPart = 'cpu' | 'upstream' | 'vendor-cpu' | 'cold' | 'memory';
const ALL_PARTS: readonly BenchPart[] = ['cpu', 'upstream', 'vendor-cpu', 'cold', 'memory'];

/** Options of {@link runBench}. */
export interface BenchOptions {
  /** Run {@link QUICK_PLAN} instead of {@link FULL_PLAN}. Defaults to `false`. */
  quick?: boolean;
  /** Write the report to `bench/results.md`. Defaults to `true`. */
  write?: boolean;
  /** Parts to run. Defaults to all. */
  only?: readonly BenchPart[];
  /** Progress lines. Defaults to `console.error`. */
  log?: (line: string) => void;
  /** Skip the Redis trials as if `redis-server` were missing (for tests). Defaults to `false`. */
  noRedis?: boolean;
}

/** What {@link runBench} returns. */
export interface BenchReport {
  rows: BenchRow[];
  facts: RunFacts;
  markdown: string;
}

/** Target ceilings. */
export const TARGETS = {
  hissunoVsConstant: 1.3,
  hissunoVsNaive: 1 / 3,
  neutVsPlain: 1.0,
  neuroonVsConstant: 1.15,
  credentialVsConstant: 1.15,
  remoteCachedVsConstant: 1.15,
  vendorVsHand: 1.05,
  addedP99Ms: 2,
  memoryChange: 0.1,
} as const;

const NEUROON_ISSUE_PATH = (shop: string) => `/api/shops/${encodeURIComponent(shop)}/widget-token`;

// ---- what each server is sent --------------------------------------------------------

const GET = (path: string): LoadRequest[] => [{ method: 'GET', path }];
const PUSHER_LOAD: LoadRequest[] = [{ method: 'POST', path: PATHS.pusher, form: PUSHER_BENCH.form }];
const NEUT_LOAD: LoadRequest[] = NEUT_BODIES.map((body) => ({ method: 'POST', path: PATHS.neut, body }));

function directNevermined(): LoadRequest[] {
  const body = { orgId: NEVERMINED_ORG.orgId, email: BENCH_USER.email!.trim().toLowerCase(), rawSecret: NEVERMINED_ORG.rawSecret };
  return [{ method: 'POST', path: '/api/v1/widgets/session', body, headers: { accept: 'application/json' } }];
}

function directWonderful(): LoadRequest[] {
  const body = { entityId: wonderfulEntityIdFor(BENCH_USER), expiresIn: 3600 };
  return [{ method: 'POST', path: '/api/v1/jwt/sign', body, headers: { accept: 'application/json', 'x-api-key': WONDERFUL_API_KEY } }];
}

// ---- measurement helpers -------------------------------------------------------------

interface Measured {
  load: LoadResult;
  window: ServerWindow | undefined;
}

function slotLoad(slot: Slot): { durationS: number } | { amount: number } {
  return 'durationS' in slot ? { durationS: slot.durationS } : { amount: slot.amount };
}

/** One load against `url`, with `server`'s CPU window around it when there is a server. */
async function measure(server: BenchServer | undefined, url: string, requests: readonly LoadRequest[], connections: number, slot: Slot, manyUsers = false): Promise<Measured> {
  await server?.start();
  const load = await runLoad({ url, requests, connections, manyUsers, ...slotLoad(slot) });
  const window = await server?.stop();
  return { load, window };
}

const cpuPerRequest = (m: Measured): number => (m.window && m.window.requests > 0 ? m.window.cpuUs / m.window.requests : Number.NaN);

function problems(samples: readonly Measured[]): string[] {
  const failed = samples.reduce((n, s) => n + s.load.failed, 0);
  const errors = samples.reduce((n, s) => n + s.load.errors, 0);
  const out: string[] = [];
  if (failed > 0) {
    const statuses = new Map<string, number>();
    for (const s of samples) for (const [code, n] of Object.entries(s.load.statuses)) if (!code.startsWith('2')) statuses.set(code, (statuses.get(code) ?? 0) + n);
    out.push(`${failed} non-2xx answers (${[...statuses].map(([c, n]) => `${c}×${n}`).join(', ')})`);
  }
  if (errors > 0) out.push(`${errors} connection errors`);
  return out;
}

/** A route measured over several slots. */
interface Series {
  id: string;
  route: string;
  server: BenchServer | undefined;
  url: string;
  requests: readonly LoadRequest[];
  /** Each request from the next of the bench users (see `LoadOptions.manyUsers`). */
  manyUsers?: boolean;
  /** Every measured slot (warm-up excluded). */
  slots: Measured[];
}

/** Two series measured in adjacent slots, round after round. */
interface Pair {
  a: Series;
  b: Series;
  /** One entry per round: the two adjacent slots. */
  rounds: { a: Measured; b: Measured }[];
}

const pooled = (slots: readonly Measured[]): number[] => slots.flatMap((m) => m.load.latencies).sort((x, y) => x - y);

function seriesFigures(s: Series): Pick<BenchRow, 'rps' | 'p50' | 'p99' | 'cpuUs' | 'notes'> {
  const latencies = pooled(s.slots);
  return {
    rps: median(s.slots.map((m) => m.load.rps)),
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    cpuUs: s.server ? median(s.slots.map(cpuPerRequest)) : null,
    notes: problems(s.slots),
  };
}

/**
 * Median over rounds of the latency the route adds: its percentile minus the direct
 * call's in the adjacent slot, so that a burst of outside load spoils one round, not
 * the figure.
 */
function addedLatency(pair: Pair, q: 'p50' | 'p99'): number {
  return median(pair.rounds.map((r) => r.a.load[q] - r.b.load[q]));
}

/** Median over `rounds` (a pair's, or some of them) of the ratio of CPU per request between adjacent slots. */
function cpuRatio(rounds: Pair['rounds']): number {
  return median(rounds.map((r) => cpuPerRequest(r.a) / cpuPerRequest(r.b)));
}

/** Load every series for the warm-up (not measured), so that the JIT has done its work. */
async function warmUp(series: readonly Series[], plan: { connections: number; warmup: Slot }): Promise<void> {
  for (const s of series) await measure(s.server, s.url, s.requests, Math.max(plan.connections, 4), plan.warmup, s.manyUsers);
}

/**
 * Run `rounds` rounds. A round measures each pair in two adjacent slots, A then B (B
 * then A in the next round), so that whatever else the shared machine is doing falls
 * on both alike; pairs take turns within a round, so that a burst of outside load
 * spoils one round of each pair rather than every round of one.
 */
async function runPairs(pairs: readonly Pair[], plan: { connections: number; rounds: number; slot: Slot; rewarm: Slot }, log: (line: string) => void): Promise<void> {
  for (let round = 0; round < plan.rounds; round++) {
    for (const pair of pairs) {
      const order = round % 2 === 0 ? [pair.a, pair.b] : [pair.b, pair.a];
      const got = new Map<Series, Measured>();
      for (const s of order) {
        // unmeasured: a server that sat idle while the other pairs ran starts its next
        // slot costlier per request, and the constant route's server, in five pairs,
        // sits idle least — measured from idle, a route read 1.5× the constant route in
        // a full run and 1.0× with its pair alone. Each slot measures a busy server.
        await runLoad({ url: s.url, requests: s.requests, connections: plan.connections, manyUsers: s.manyUsers, ...slotLoad(plan.rewarm) });
        const m = await measure(s.server, s.url, s.requests, plan.connections, plan.slot, s.manyUsers);
        s.slots.push(m);
        got.set(s, m);
      }
      pair.rounds.push({ a: got.get(pair.a)!, b: got.get(pair.b)! });
    }
    const describe = (m: Measured, s: Series) => `${format.rps(m.load.rps)}/s${s.server ? ` ${format.us(cpuPerRequest(m))} µs` : ` p99 ${format.ms(m.load.p99)} ms`}`;
    log(`  round ${round + 1}/${plan.rounds}: ${pairs.map((p) => `${p.a.id} ${describe(p.rounds.at(-1)!.a, p.a)} | ${p.b.id} ${describe(p.rounds.at(-1)!.b, p.b)}`).join('; ')}`);
  }
}

// ---- correctness probes --------------------------------------------------------------

async function probe(url: string, request: LoadRequest, check: (body: Record<string, unknown>) => boolean, what: string): Promise<void> {
  const res = await fetch(url + request.path, {
    method: request.method,
    headers: { ...request.headers, ...(request.body !== undefined ? { 'content-type': 'application/json' } : request.form !== undefined ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
    ...(request.body !== undefined ? { body: JSON.stringify(request.body) } : request.form !== undefined ? { body: new URLSearchParams(request.form).toString() } : {}),
  });
  const body = (await res.json().catch(() => undefined)) as Record<string, unknown> | undefined;
  if (res.status !== 200 || body === undefined || !check(body)) {
    throw new Error(`${what} did not answer as expected before the run (HTTP ${res.status})`);
  }
}

const isString = (v: unknown): v is string => typeof v === 'string' && v.length > 0;

// ---- the parts -----------------------------------------------------------------------

interface Context {
  entry: Entrypoints;
  fakes: BenchFakes;
  plan: BenchPlan;
  log: (line: string) => void;
  redisBinary: string | undefined;
  skipped: string[];
}

async function cpuPart(ctx: Context): Promise<BenchRow[]> {
  const { entry, fakes, plan, log } = ctx;
  log('CPU per request: constant route, Hissuno, Neut, Neuroon (cached), a custom HMAC and JWT route, and their baselines');
  const specs: [string, string, AppConfig, LoadRequest[]][] = [
    ['constant', 'Constant JSON route (the floor)', { kind: 'constant' }, GET(PATHS.constant)],
    ['hissuno', 'Hissuno `GET /api/hissuno-token`', { kind: 'hissuno' }, GET(PATHS.hissuno)],
    ['hissuno-naive', 'Hissuno, naive `jwt.sign(…, secretString)`', { kind: 'hissuno-naive' }, GET(PATHS.hissuno)],
    ['neut', 'Neut `POST /api/widget-embed-params`', { kind: 'neut' }, NEUT_LOAD],
    ['neut-plain', "Neut, the guide's example written plainly", { kind: 'neut-plain' }, NEUT_LOAD],
    ['neuroon', 'Neuroon `GET /api/neuroon-widget-token` (cached)', { kind: 'neuroon', shopId: NEUROON_WARM_SHOP, vendors: { neuroon: fakes.urls.neuroon } }, GET(PATHS.neuroon)],
    ['credential-hmac', '`widgetCredentialRouter` + `hmacCredential` (the HMAC presets)', { kind: 'credential-hmac' }, GET(PATHS.credentialHmac)],
    ['credential-jwt', '`widgetCredentialRouter` + `jwtCredential` (the JWT presets)', { kind: 'credential-jwt' }, GET(PATHS.credentialJwt)],
    ['constant-form', 'Constant JSON route for a `POST` with a form body (`express.urlencoded()`)', { kind: 'constant-form' }, [{ method: 'POST', path: PATHS.constantForm, form: PUSHER_BENCH.form }]],
    ['pusher', 'Pusher `POST /api/pusher/auth` (a presence channel, form-encoded as pusher-js sends it)', { kind: 'pusher' }, PUSHER_LOAD],
    ['remote-cached', 'A vendor-minted credential, cached (`remoteCredential`, memory store)', { kind: 'remote-cached', vendors: { wonderful: fakes.urls.wonderful } }, GET(PATHS.remote)],
  ];
  const servers = await Promise.all(specs.map(([id, , config]) => startServer(entry, id, config)));
  log(`  server processes: ${servers.map((s) => `${s.label} ${s.pid}`).join(', ')}`);
  try {
    const series: Series[] = specs.map(([id, route, , requests], i) => ({ id, route, server: servers[i]!, url: servers[i]!.url, requests, slots: [] }));
    const by = (id: string) => series.find((s) => s.id === id)!;

    const hissunoToken = (b: Record<string, unknown>) => isString(b['token']) && verifyHissunoToken(b['token'], HISSUNO_SECRET).userId === BENCH_USER.id;
    const embedUrl = (b: Record<string, unknown>) => isString(b['embed_url']) && b['embed_url'].startsWith(`${NEUT_ENV.WIDGET_ORIGIN}/`);
    await probe(by('constant').url, GET(PATHS.constant)[0]!, (b) => isString(b['token']), 'the constant route');
    await probe(by('hissuno').url, GET(PATHS.hissuno)[0]!, hissunoToken, 'the Hissuno router');
    await probe(by('hissuno-naive').url, GET(PATHS.hissuno)[0]!, hissunoToken, 'the naive Hissuno handler');
    for (const request of NEUT_LOAD) {
      await probe(by('neut').url, request, embedUrl, 'the Neut router');
      await probe(by('neut-plain').url, request, embedUrl, 'the plain Neut handler');
    }
    await probe(by('neuroon').url, GET(PATHS.neuroon)[0]!, (b) => isString(b['token']) && Object.keys(b).length === 1, 'the Neuroon router');
    const expectedHash = createHmac('sha256', CREDENTIAL_SECRET).update(BENCH_USER.id).digest('hex');
    await probe(by('credential-hmac').url, GET(PATHS.credentialHmac)[0]!, (b) => b['identifier'] === BENCH_USER.id && b['identifier_hash'] === expectedHash, 'the custom HMAC route');
    await probe(by('credential-jwt').url, GET(PATHS.credentialJwt)[0]!, (b) => isString(b['token']) && b['token'].split('.').length === 3, 'the custom JWT route');
    await probe(by('remote-cached').url, GET(PATHS.remote)[0]!, (b) => isString(b['token']) && Object.keys(b).length === 1, 'the cached remote route');
    await probe(by('constant-form').url, { method: 'POST', path: PATHS.constantForm, form: PUSHER_BENCH.form }, (b) => isString(b['token']), 'the constant form route');
    await probe(by('pusher').url, PUSHER_LOAD[0]!, (b) => isString(b['channel_data']) && b['auth'] === `${PUSHER_BENCH.key}:${createHmac('sha256', PUSHER_BENCH.secret).update(`${PUSHER_BENCH.form.socket_id}:${PUSHER_BENCH.form.channel_name}:${b['channel_data']}`).digest('hex')}`, 'the Pusher router');

    const pairs: Pair[] = [
      ['hissuno', 'constant'],
      ['hissuno', 'hissuno-naive'],
      ['neut', 'neut-plain'],
      ['neuroon', 'constant'],
      ['credential-hmac', 'constant'],
      ['credential-jwt', 'constant'],
      ['pusher', 'constant-form'],
      ['remote-cached', 'constant'],
    ].map(([a, b]) => ({ a: by(a!), b: by(b!), rounds: [] }));
    await warmUp(series, plan.cpu);
    await runPairs(pairs, plan.cpu, log);

    const ratio = (a: string, b: string) => cpuRatio(pairs.find((p) => p.a.id === a && p.b.id === b)!.rounds);
    const baselineRow = (id: string): BenchRow => ({ id, route: by(id).route, ...seriesFigures(by(id)), baseline: '—', comparison: '', target: '—', pass: null });
    const compared = (id: string, baseline: string, comparisons: { against: string; max: number; label: string }[]): BenchRow => {
      const figures = seriesFigures(by(id));
      const ratios = comparisons.map((c) => ({ ...c, value: ratio(id, c.against) }));
      return {
        id,
        route: by(id).route,
        ...figures,
        baseline,
        comparison: ratios.map((r) => `${format.ratio(r.value)} ${r.label}`).join('; '),
        target: ratios.map((r) => `≤ ${format.ratio(r.max)} ${r.label}`).join('; '),
        pass: figures.notes.length === 0 && ratios.every((r) => r.value <= r.max),
      };
    };
    return [
      baselineRow('constant'),
      compared('hissuno', 'constant route; naive handler', [
        { against: 'constant', max: TARGETS.hissunoVsConstant, label: 'constant' },
        { against: 'hissuno-naive', max: TARGETS.hissunoVsNaive, label: 'naive' },
      ]),
      baselineRow('hissuno-naive'),
      compared('neut', "guide's example", [{ against: 'neut-plain', max: TARGETS.neutVsPlain, label: 'plain' }]),
      baselineRow('neut-plain'),
      compared('neuroon', 'constant route', [{ against: 'constant', max: TARGETS.neuroonVsConstant, label: 'constant' }]),
      compared('credential-hmac', 'constant route', [{ against: 'constant', max: TARGETS.credentialVsConstant, label: 'constant' }]),
      compared('credential-jwt', 'constant route', [{ against: 'constant', max: TARGETS.credentialVsConstant, label: 'constant' }]),
      baselineRow('constant-form'),
      compared('pusher', 'constant route for the same POST', [{ against: 'constant-form', max: TARGETS.credentialVsConstant, label: 'constant POST' }]),
      compared('remote-cached', 'constant route', [{ against: 'constant', max: TARGETS.remoteCachedVsConstant, label: 'constant' }]),
    ];
  } finally {
    await Promise.all(servers.map((s) => s.close()));
  }
}

/** A server whose slots also count the connections its router opened to `fake` meanwhile. */
function countingConnections(inner: BenchServer, fakes: BenchFakes, fake: 'nevermined' | 'wonderful', perSlot: number[]): BenchServer {
  let before = 0;
  return {
    ...inner,
    async start(options) {
      before = (await fakes.counts()).counts[fake].connections;
      await inner.start(options);
    },
    async stop() {
      const window = await inner.stop();
      perSlot.push((await fakes.counts()).counts[fake].connections - before);
      return window;
    },
  };
}

async function upstreamPart(ctx: Context): Promise<BenchRow[]> {
  const { entry, fakes, plan, log } = ctx;
  log('Vendor-calling routes against their fake vendor called directly (latency, one request at a time)');
  const [nevermined, wonderful, neverminedHand, wonderfulHand] = await Promise.all([
    startServer(entry, 'nevermined', { kind: 'nevermined', vendors: { nevermined: fakes.urls.nevermined } }),
    startServer(entry, 'wonderful', { kind: 'wonderful', vendors: { wonderful: fakes.urls.wonderful } }),
    // the hand-written handlers call the direct fakes, so that the routers' fakes count the routers' connections only
    startServer(entry, 'nevermined-hand', { kind: 'nevermined-hand', vendors: { nevermined: fakes.urls.neverminedDirect } }),
    startServer(entry, 'wonderful-hand', { kind: 'wonderful-hand', vendors: { wonderful: fakes.urls.wonderfulDirect } }),
  ]);
  log(`  server processes: nevermined ${nevermined.pid}, wonderful ${wonderful.pid}, hand-written ${neverminedHand.pid} ${wonderfulHand.pid}`);
  try {
    await probe(nevermined.url, GET(PATHS.nevermined)[0]!, (b) => isString(b['sessionToken']), 'the Nevermined router');
    await probe(fakes.urls.neverminedDirect, directNevermined()[0]!, (b) => isString(b['sessionToken']), 'the Nevermined fake');
    await probe(wonderful.url, { method: 'POST', path: PATHS.wonderful }, (b) => isString(b['token']), 'the Wonderful router');
    await probe(fakes.urls.wonderfulDirect, directWonderful()[0]!, (b) => isString(b['jwt']), 'the Wonderful fake');
    await probe(neverminedHand.url, GET(PATHS.nevermined)[0]!, (b) => isString(b['sessionToken']), 'the hand-written Nevermined handler');
    await probe(wonderfulHand.url, { method: 'POST', path: PATHS.wonderful }, (b) => isString(b['jwt']), 'the hand-written Wonderful handler');

    const newConnections: Record<'nevermined' | 'wonderful', number[]> = { nevermined: [], wonderful: [] };
    const series: Series[] = [
      { id: 'nevermined', route: 'Nevermined `GET /api/widget-session`', server: countingConnections(nevermined, fakes, 'nevermined', newConnections.nevermined), url: nevermined.url, requests: GET(PATHS.nevermined), slots: [] },
      { id: 'nevermined-direct', route: 'Nevermined fake, called directly', server: undefined, url: fakes.urls.neverminedDirect, requests: directNevermined(), slots: [] },
      { id: 'wonderful', route: 'Wonderful `POST /api/sdk-token`', server: countingConnections(wonderful, fakes, 'wonderful', newConnections.wonderful), url: wonderful.url, requests: [{ method: 'POST', path: PATHS.wonderful }], slots: [] },
      { id: 'wonderful-direct', route: 'Wonderful fake, called directly', server: undefined, url: fakes.urls.wonderfulDirect, requests: directWonderful(), slots: [] },
      { id: 'nevermined-hand', route: 'Nevermined, the vendor call hand-written in Express', server: neverminedHand, url: neverminedHand.url, requests: GET(PATHS.nevermined), slots: [] },
      { id: 'wonderful-hand', route: 'Wonderful, the vendor call hand-written in Express', server: wonderfulHand, url: wonderfulHand.url, requests: [{ method: 'POST', path: PATHS.wonderful }], slots: [] },
    ];
    const by = (id: string) => series.find((s) => s.id === id)!;
    // latency: each server against its fake called directly
    const latencyPairs: Pair[] = [
      { a: by('nevermined'), b: by('nevermined-direct'), rounds: [] },
      { a: by('wonderful'), b: by('wonderful-direct'), rounds: [] },
      { a: by('nevermined-hand'), b: by('nevermined-direct'), rounds: [] },
      { a: by('wonderful-hand'), b: by('wonderful-direct'), rounds: [] },
    ];
    // CPU per request against the same call written by hand: see vendorCpuPart
    const pairs = latencyPairs;
    await warmUp(series, plan.upstream);
    const before = await fakes.counts();
    newConnections.nevermined.length = 0;
    newConnections.wonderful.length = 0;
    await runPairs(latencyPairs, plan.upstream, log);
    const after = await fakes.counts();

    const rows: BenchRow[] = [];
    for (const fake of ['nevermined', 'wonderful'] as const) {
      const router = by(fake);
      const direct = by(`${fake}-direct`);
      const routerFigures = seriesFigures(router);
      const directFigures = seriesFigures(direct);
      const pair = pairs.find((p) => p.a === router && p.b === direct)!;
      const hand = by(`${fake}-hand`);
      const handPair = pairs.find((p) => p.a === hand)!;
      const addedP50 = addedLatency(pair, 'p50');
      const addedP99 = addedLatency(pair, 'p99');
      const connections = after.counts[fake].connections - before.counts[fake].connections;
      const calls = after.counts[fake].requests - before.counts[fake].requests;
      const mostInOneSlot = Math.max(0, ...newConnections[fake]);
      // reused: a slot of thousands of calls never needs more connections than calls in flight
      const reused = mostInOneSlot <= plan.upstream.connections && connections < calls;
      rows.push({
        id: fake,
        route: router.route,
        ...routerFigures,
        baseline: 'fake called directly',
        comparison:
          `+${format.ms(addedP50)} ms p50, +${format.ms(addedP99)} ms p99; ` +
          `${format.count(connections)} connection${connections === 1 ? '' : 's'} opened for ${format.count(calls)} vendor calls (at most ${mostInOneSlot} opened during one measured slot)`,
        target: `≤ ${TARGETS.addedP99Ms} ms added p99; connections reused`,
        pass: routerFigures.notes.length === 0 && directFigures.notes.length === 0 && addedP99 <= TARGETS.addedP99Ms && reused,
        notes: [...routerFigures.notes, ...directFigures.notes],
      });
      rows.push({ id: direct.id, route: direct.route, ...directFigures, baseline: '—', comparison: '', target: '—', pass: null });
      const handFigures = seriesFigures(hand);
      rows.push({
        id: hand.id,
        route: hand.route,
        ...handFigures,
        baseline: 'fake called directly',
        comparison: `+${format.ms(addedLatency(handPair, 'p50'))} ms p50, +${format.ms(addedLatency(handPair, 'p99'))} ms p99 (Express and the extra hop alone)`,
        target: '—',
        pass: null,
        notes: handFigures.notes,
      });
    }
    return rows;
  } finally {
    await Promise.all([nevermined.close(), wonderful.close(), neverminedHand.close(), wonderfulHand.close()]);
  }
}

/** The vendor-backed routers measured against their vendor call written by hand. */
const VENDOR_CPU_IDS = ['nevermined', 'wonderful', 'liveblocks', 'hubspot'] as const;

/**
 * CPU per request of each vendor-backed router against the same vendor call written by
 * hand in one Express handler, under the load of the other CPU comparisons (16
 * connections), each request from the next of the bench users: concurrent page loads
 * come from different users, and one user's concurrent calls beyond
 * `maxInFlightPerUser` wait for a slot (see bench/README.md). The rounds run in
 * `generations` sets of fresh processes, warmed up anew, so that no one process's luck
 * decides a ratio.
 */
async function vendorCpuPart(ctx: Context): Promise<BenchRow[]> {
  const { entry, fakes, plan, log } = ctx;
  const m = plan.vendorCpu;
  log(`Vendor-calling routes against their vendor call written by hand (CPU per request; ${m.connections} connections, each request from the next of ${BENCH_USERS.length} users)`);
  const liveblocksLoad: LoadRequest[] = [{ method: 'POST', path: PATHS.liveblocks, body: { room: LIVEBLOCKS_BENCH.room } }];
  const specs = [
    { id: 'nevermined', route: 'Nevermined `GET /api/widget-session`', router: { kind: 'nevermined', vendors: { nevermined: fakes.urls.nevermined } }, hand: { kind: 'nevermined-hand', vendors: { nevermined: fakes.urls.neverminedDirect } }, requests: GET(PATHS.nevermined), check: (b: Record<string, unknown>) => isString(b['sessionToken']) },
    { id: 'wonderful', route: 'Wonderful `POST /api/sdk-token`', router: { kind: 'wonderful', vendors: { wonderful: fakes.urls.wonderful } }, hand: { kind: 'wonderful-hand', vendors: { wonderful: fakes.urls.wonderfulDirect } }, requests: [{ method: 'POST', path: PATHS.wonderful }], check: (b: Record<string, unknown>) => isString(b['token']) || isString(b['jwt']) },
    { id: 'liveblocks', route: 'Liveblocks `POST /api/liveblocks-auth` (access token)', router: { kind: 'liveblocks', vendors: { liveblocks: fakes.urls.liveblocks } }, hand: { kind: 'liveblocks-hand', vendors: { liveblocks: fakes.urls.liveblocks } }, requests: liveblocksLoad, check: (b: Record<string, unknown>) => isString(b['token']) },
    { id: 'hubspot', route: 'HubSpot `GET /api/hubspot-visitor-token` (`cache: false`)', router: { kind: 'hubspot', vendors: { hubspot: fakes.urls.hubspot } }, hand: { kind: 'hubspot-hand', vendors: { hubspot: fakes.urls.hubspot } }, requests: GET(PATHS.hubspot), check: (b: Record<string, unknown>) => b['identificationEmail'] === BENCH_USER.email && isString(b['identificationToken']) },
  ] as const satisfies readonly { id: (typeof VENDOR_CPU_IDS)[number]; route: string; router: AppConfig; hand: AppConfig; requests: readonly LoadRequest[]; check: (b: Record<string, unknown>) => boolean }[];
  const series: Series[] = [];
  const pairs: Pair[] = [];
  for (const spec of specs) {
    const a: Series = { id: `${spec.id}-cpu`, route: `${spec.route}, ${m.connections} connections, ${BENCH_USERS.length} users`, server: undefined, url: '', requests: spec.requests, manyUsers: true, slots: [] };
    const b: Series = { id: `${spec.id}-hand-cpu`, route: `${spec.route.split(' ')[0]}, the vendor call hand-written in Express, the same load`, server: undefined, url: '', requests: spec.requests, manyUsers: true, slots: [] };
    series.push(a, b);
    pairs.push({ a, b, rounds: [] });
  }
  const perGeneration = Math.max(1, Math.round(m.rounds / m.generations));
  let pinnedThroughout = true;
  for (let generation = 0; generation < m.generations; generation++) {
    // fresh processes, the router's and the handler's started in turn first: a process's
    // own layout of memory and of the JIT's code moves its CPU per request by a few
    // percent for as long as it lives (two processes of one handler read 0.95x-1.00x of
    // each other over 48 rounds), so every series is measured in several processes
    const handFirst = generation % 2 === 1;
    // router, handler, router, handler…: each pair's two at the same places in every set
    const servers: BenchServer[] = [];
    let pinning: CpuPinning | undefined;
    try {
      for (const spec of specs) {
        const at = servers.length;
        for (const hand of handFirst ? [true, false] : [false, true]) {
          servers[at + (hand ? 1 : 0)] = hand ? await startServer(entry, `${spec.id}-hand-cpu`, spec.hand) : await startServer(entry, `${spec.id}-cpu`, spec.router);
        }
      }
      // the measured servers on one CPU, the load generator and the fakes on the others
      pinning = pinApart(servers.map((s) => s.pid), [process.pid, fakes.pid]);
      pinnedThroughout &&= pinning.pinned;
      log(`  processes ${generation + 1}/${m.generations} (pids ${servers.map((s) => s.pid).join(', ')})${handFirst ? ', each hand-written handler started first' : ''}: ${pinning.pinned ? 'servers on one CPU; the load generator and the fakes on the other CPUs' : `not pinned to CPUs (${pinning.reason}): the servers share CPUs with the load generator and the fakes`}`);
      for (const [i, spec] of specs.entries()) {
        const router = servers[2 * i]!;
        const hand = servers[2 * i + 1]!;
        await probe(router.url, spec.requests[0]!, spec.check, `the ${spec.id} router`);
        await probe(hand.url, spec.requests[0]!, spec.check, `the hand-written ${spec.id} handler`);
        Object.assign(pairs[i]!.a, { server: router, url: router.url });
        Object.assign(pairs[i]!.b, { server: hand, url: hand.url });
      }
      await warmUp(series, m);
      const firstRound = pairs[0]!.rounds.length;
      await runPairs(pairs, { ...m, rounds: perGeneration }, log);
      log(`  processes ${generation + 1}/${m.generations}, median of their rounds: ${pairs.map((p) => `${p.a.id} ${format.ratio(cpuRatio(p.rounds.slice(firstRound)))}`).join(', ')}`);
    } finally {
      pinning?.restore();
      // a set that failed to start closes the processes it had started
      await Promise.all(servers.filter(Boolean).map((s) => s.close()));
    }
  }
  const where = pinnedThroughout ? ', on a CPU of its own' : '';
  return pairs.flatMap((pair) => {
    const routerFigures = seriesFigures(pair.a);
    const handFigures = seriesFigures(pair.b);
    const vsHand = cpuRatio(pair.rounds);
    return [
      {
        id: pair.a.id,
        route: pair.a.route + where,
        ...routerFigures,
        baseline: 'hand-written handler',
        comparison: `${format.ratio(vsHand)} hand-written (${pair.rounds.length} rounds in ${m.generations} sets of fresh processes)`,
        target: `≤ ${format.ratio(TARGETS.vendorVsHand)} hand-written`,
        pass: routerFigures.notes.length === 0 && handFigures.notes.length === 0 && vsHand <= TARGETS.vendorVsHand,
        notes: [...routerFigures.notes, ...handFigures.notes],
      },
      { id: pair.b.id, route: pair.b.route + where, ...handFigures, baseline: '—', comparison: '', target: '—', pass: null },
    ];
  });
}

function split(total: number, parts: number): number[] {
  return Array.from({ length: parts }, (_, i) => Math.floor(total / parts) + (i < total % parts ? 1 : 0));
}

async function coldTrial(ctx: Context, id: string, route: string, shop: string, instances: number, redisPort: number | undefined): Promise<BenchRow> {
  const { entry, fakes, plan } = ctx;
  const config: AppConfig = { kind: 'neuroon', shopId: shop, vendors: { neuroon: fakes.urls.neuroon }, ...(redisPort !== undefined ? { redisPort } : {}) };
  const servers = await Promise.all(Array.from({ length: instances }, (_, i) => startServer(entry, `${id}-${i + 1}`, config)));
  try {
    await fakes.latency('neuroon', plan.cold.vendorLatencyMs, NEUROON_ISSUE_PATH(shop));
    const before = await fakes.counts();
    await Promise.all(servers.map((s) => s.start({ recordArrivals: true })));
    const shares = split(plan.cold.requests, instances);
    const started = performance.now();
    // every connection sends exactly one request: all of them are in flight at once
    const loads = await Promise.all(servers.map((s, i) => runLoad({ url: s.url, requests: GET(PATHS.neuroon), connections: shares[i]!, amount: shares[i]! })));
    const elapsedS = (performance.now() - started) / 1000;
    const windows = await Promise.all(servers.map((s) => s.stop()));
    const after = await fakes.counts();

    const calls = (after.neuroonIssues[shop] ?? 0) - (before.neuroonIssues[shop] ?? 0);
    const firstCall = after.neuroonIssueTimes[shop]?.[0];
    const arrivals = windows.flatMap((w) => w.arrivals);
    const inFlight = firstCall === undefined ? 0 : arrivals.filter((t) => t <= firstCall + plan.cold.vendorLatencyMs).length;
    const latencies = loads.flatMap((l) => l.latencies).sort((a, b) => a - b);
    const ok = loads.reduce((n, l) => n + l.ok, 0);
    const cpuUs = windows.reduce((n, w) => n + w.cpuUs, 0) / Math.max(1, windows.reduce((n, w) => n + w.requests, 0));
    const notes = problems(loads.map((load) => ({ load, window: undefined })));
    return {
      id,
      route,
      rps: ok / elapsedS,
      p50: percentile(latencies, 0.5),
      p99: percentile(latencies, 0.99),
      cpuUs,
      baseline: '—',
      comparison:
        `${calls} vendor call${calls === 1 ? '' : 's'} for ${format.count(plan.cold.requests)} concurrent requests ` +
        `(${format.count(inFlight)} arrived while the first call, slowed to ${plan.cold.vendorLatencyMs} ms, was in flight)`,
      target: 'exactly 1 vendor call',
      pass: notes.length === 0 && ok === plan.cold.requests && calls === 1,
      notes,
    };
  } finally {
    await Promise.all(servers.map((s) => s.close()));
  }
}

/**
 * The cached remote route on 3 instances sharing one Redis: a cold burst of concurrent
 * requests of one user (the vendor slowed, so they all arrive while the first call is in
 * flight), then as many again with the credential cached, all within its life. Exactly
 * one vendor call is the target.
 */
async function remoteSharedTrial(ctx: Context, redisPort: number): Promise<BenchRow> {
  const { entry, fakes, plan } = ctx;
  const instances = 3;
  const config: AppConfig = { kind: 'remote-cached', vendors: { wonderful: fakes.urls.wonderful }, redisPort, cachePrefix: `bench-${process.pid}-${Date.now()}:` };
  const servers = await Promise.all(Array.from({ length: instances }, (_, i) => startServer(entry, `remote-shared-${i + 1}`, config)));
  try {
    await fakes.latency('wonderful', plan.cold.vendorLatencyMs);
    const before = await fakes.counts();
    await Promise.all(servers.map((s) => s.start({})));
    const shares = split(plan.cold.requests, instances);
    const started = performance.now();
    const cold = await Promise.all(servers.map((s, i) => runLoad({ url: s.url, requests: GET(PATHS.remote), connections: shares[i]!, amount: shares[i]! })));
    const warm = await Promise.all(servers.map((s, i) => runLoad({ url: s.url, requests: GET(PATHS.remote), connections: 4, amount: shares[i]! })));
    const elapsedS = (performance.now() - started) / 1000;
    const windows = await Promise.all(servers.map((s) => s.stop()));
    const after = await fakes.counts();
    const loads = [...cold, ...warm];
    const calls = after.counts.wonderful.requests - before.counts.wonderful.requests;
    const latencies = loads.flatMap((l) => l.latencies).sort((a, b) => a - b);
    const ok = loads.reduce((n, l) => n + l.ok, 0);
    const notes = problems(loads.map((load) => ({ load, window: undefined })));
    const total = plan.cold.requests * 2;
    return {
      id: 'remote-shared-3',
      route: `Cached remote route, one user, 3 instances sharing Redis: ${format.count(plan.cold.requests)} concurrent cold requests, then ${format.count(plan.cold.requests)} more`,
      rps: ok / elapsedS,
      p50: percentile(latencies, 0.5),
      p99: percentile(latencies, 0.99),
      cpuUs: windows.reduce((n, w) => n + w.cpuUs, 0) / Math.max(1, windows.reduce((n, w) => n + w.requests, 0)),
      baseline: '—',
      comparison: `${calls} vendor call${calls === 1 ? '' : 's'} for ${format.count(total)} requests within the credential's life (the first call slowed to ${plan.cold.vendorLatencyMs} ms)`,
      target: '1 vendor call per user per credential lifetime',
      pass: notes.length === 0 && ok === total && calls === 1,
      notes,
    };
  } finally {
    await fakes.clearFaults();
    await Promise.all(servers.map((s) => s.close()));
  }
}

async function coldPart(ctx: Context): Promise<BenchRow[]> {
  const { log } = ctx;
  const n = format.count(ctx.plan.cold.requests);
  log(`Neuroon cold start: ${n} concurrent requests with nothing cached`);
  const rows = [await coldTrial(ctx, 'neuroon-cold-1', `Neuroon cold start, ${n} requests, 1 instance (memory store)`, NEUROON_COLD_SHOPS[0], 1, undefined)];
  if (ctx.redisBinary === undefined) {
    const reason = 'Neuroon cold start with Redis (1 and 3 instances) and the cached remote route on 3 instances: redis-server is not installed';
    ctx.skipped.push(reason);
    log(`  skipped: ${reason}`);
    return rows;
  }
  const redis = await startRedis(ctx.redisBinary);
  try {
    rows.push(await coldTrial(ctx, 'neuroon-cold-redis-1', `Neuroon cold start, ${n} requests, 1 instance (Redis store)`, NEUROON_COLD_SHOPS[1], 1, redis.port));
    rows.push(await coldTrial(ctx, 'neuroon-cold-redis-3', `Neuroon cold start, ${n} requests, 3 instances sharing Redis`, NEUROON_COLD_SHOPS[2], 3, redis.port));
    rows.push(await remoteSharedTrial(ctx, redis.port));
  } finally {
    await redis.close();
  }
  return rows;
}

async function memoryPart(ctx: Context): Promise<BenchRow[]> {
  const { entry, fakes, plan, log } = ctx;
  const m = plan.memory;
  log(`Resident memory over ${format.count(m.requests)} requests after ${format.count(m.warmup)} warm-up requests`);
  const server = await startServer(entry, 'memory', { kind: 'memory', shopId: NEUROON_WARM_SHOP, vendors: { neuroon: fakes.urls.neuroon } });
  try {
    const requests: LoadRequest[] = [...GET(PATHS.hissuno), ...NEUT_LOAD, ...GET(PATHS.neuroon)];
    await runLoad({ url: server.url, requests, connections: m.connections, amount: m.warmup });
    await server.start({ sampleRssMs: m.sampleMs });
    const load = await runLoad({ url: server.url, requests, connections: m.connections, amount: m.requests });
    const window = await server.stop();
    const rss = window.rss;
    // RSS saws up and down with each major GC: compare the typical level at the start and
    // at the end (medians of the first and last tenth), and the peaks of each half
    const tenth = Math.max(1, Math.floor(rss.length / 10));
    const start = median(rss.slice(0, tenth));
    const end = median(rss.slice(-tenth));
    const half = Math.ceil(rss.length / 2);
    const firstPeak = Math.max(...rss.slice(0, half));
    const secondPeak = Math.max(...rss.slice(half));
    const change = (end - start) / start;
    const peakChange = (secondPeak - firstPeak) / firstPeak;
    const notes = problems([{ load, window }]);
    log(`  RSS ${format.mb(start)} → ${format.mb(end)}, peaks ${format.mb(firstPeak)} → ${format.mb(secondPeak)} (${rss.length} samples)`);
    return [
      {
        id: 'memory',
        route: `Memory: Hissuno + Neut + Neuroon routes, ${format.count(m.requests)} requests`,
        rps: load.rps,
        p50: load.p50,
        p99: load.p99,
        cpuUs: window.cpuUs / Math.max(1, window.requests),
        baseline: 'RSS after warm-up',
        comparison:
          `RSS ${format.mb(start)} at the start, ${format.mb(end)} at the end (${format.pct(change)}); ` +
          `max ${format.mb(Math.max(firstPeak, secondPeak))}, peaks ${format.mb(firstPeak)} then ${format.mb(secondPeak)} (${format.pct(peakChange)})`,
        target: `level and peaks within ±${TARGETS.memoryChange * 100}%`,
        pass: notes.length === 0 && Math.abs(change) <= TARGETS.memoryChange && Math.abs(peakChange) <= TARGETS.memoryChange,
        notes,
      },
    ];
  } finally {
    await server.close();
  }
}

// ---- the run -------------------------------------------------------------------------

const ORDER = ['constant', 'hissuno', 'hissuno-naive', 'neut', 'neut-plain', 'neuroon', 'credential-hmac', 'credential-jwt', 'constant-form', 'pusher', 'remote-cached', 'nevermined', 'nevermined-direct', 'nevermined-hand', 'wonderful', 'wonderful-direct', 'wonderful-hand', ...VENDOR_CPU_IDS.flatMap((id) => [`${id}-cpu`, `${id}-hand-cpu`]), 'neuroon-cold-1', 'neuroon-cold-redis-1', 'neuroon-cold-redis-3', 'remote-shared-3', 'memory'];

/**
 * Run the benchmark and return its rows and markdown report (also written to
 * `bench/results.md` unless `write: false`).
 */
export async function runBench(options: BenchOptions = {}): Promise<BenchReport> {
  const plan = options.quick ? QUICK_PLAN : FULL_PLAN;
  const parts = new Set(options.only ?? ALL_PARTS);
  const log = options.log ?? ((line: string) => console.error(line));
  const started = performance.now();
  const loadBefore = loadavg();
  const skipped: string[] = [];
  const redisBinary = options.noRedis ? undefined : findRedisServer();

  const entry = await prepareEntrypoints();
  let fakes: BenchFakes | undefined;
  const rows: BenchRow[] = [];
  try {
    fakes = await startFakes(entry);
    const ctx: Context = { entry, fakes, plan, log, redisBinary, skipped };
    if (parts.has('cpu')) rows.push(...(await cpuPart(ctx)));
    if (parts.has('upstream')) rows.push(...(await upstreamPart(ctx)));
    if (parts.has('vendor-cpu')) rows.push(...(await vendorCpuPart(ctx)));
    if (parts.has('cold')) rows.push(...(await coldPart(ctx)));
    if (parts.has('memory')) rows.push(...(await memoryPart(ctx)));
  } finally {
    await fakes?.close();
    cleanUp();
    entry.dispose();
  }
  rows.sort((a, b) => ORDER.indexOf(a.id) - ORDER.indexOf(b.id));

  const cpu = cpus();
  const facts: RunFacts = {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    node: process.version,
    cpus: cpu.length,
    cpuModel: cpu[0]?.model.trim() ?? 'unknown CPU',
    platform: `${platform()} ${release()}`,
    loadBefore,
    loadAfter: loadavg(),
    durationS: (performance.now() - started) / 1000,
    mode: entry.mode,
    quick: options.quick ?? false,
    skipped,
  };
  const markdown = renderReport(rows, facts);
  if (options.write ?? true) writeFileSync(join(REPO_ROOT, 'bench', 'results.md'), markdown);
  return { rows, facts, markdown };
}

function parseArgs(argv: readonly string[]): BenchOptions {
  const options: BenchOptions = {};
  for (const arg of argv) {
    if (arg === '--quick') options.quick = true;
    else if (arg === '--no-write') options.write = false;
    else if (arg.startsWith('--only=')) {
      const only = arg.slice('--only='.length).split(',') as BenchPart[];
      const unknown = only.filter((p) => !ALL_PARTS.includes(p));
      if (unknown.length > 0) throw new Error(`unknown part(s) ${unknown.join(', ')}; parts are ${ALL_PARTS.join(', ')}`);
      options.only = only;
    } else throw new Error(`unknown option ${arg}; options are --quick, --no-write, --only=${ALL_PARTS.join(',')}`);
  }
  return options;
}

if (require.main === module) {
  const stop = (signal: NodeJS.Signals) => {
    cleanUp();
    process.kill(process.pid, signal);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  let options: BenchOptions;
  try {
    options = parseArgs(process.argv.slice(2));
  } catch (err) {
    console.error((err as Error).message);
    process.exit(2);
  }
  runBench(options).then(
    (report) => {
      console.log(report.markdown);
      if (options.write ?? true) console.error('written to bench/results.md');
    },
    (err: unknown) => {
      cleanUp();
      console.error(err instanceof Error ? (err.stack ?? err.message) : err);
      process.exitCode = 1;
    },
  );
}
