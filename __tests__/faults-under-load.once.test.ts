/**
 * Fault injection under load. Each vendor fake fails a fixed share of its requests
 * (FaultScope `rate`, spread evenly) with latency spikes beyond the timeout, connection
 * resets, 500/502/503/429, 401, malformed and wrongly shaped bodies, and for Wonderful
 * tokens for another entity, while a few thousand requests per router run with bounded
 * concurrency. The fault each vendor request got is recomputed from the fake's own
 * record (arrival order), so every single answer is checked against the code its last
 * attempt calls for. Around the whole run: no unhandled rejection, no process warning,
 * no socket, server, timer or listener left behind, and the heap back to its baseline.
 *
 * Set `HARDENING_REPORT=1` to print the figures of the run.
 */
import { createHmac } from 'node:crypto';
import jwt from 'jsonwebtoken';
import type { WidgetAuthLogger } from '../lib/core/logger';
import type { WidgetUser } from '../lib/core/types';
import { MAX_IN_FLIGHT } from '../lib/core/upstream';
import { hissunoTokenRouter } from '../lib/hissuno/index';
import { neuroonTokenRouter } from '../lib/neuroon/index';
import { neutEmbedParamsRouter, validateNeutWidgetRequest, verifyNeutBootstrap } from '../lib/neut/index';
import { neverminedSessionRouter } from '../lib/nevermined/index';
import { wonderfulEntityIdFor, wonderfulTokenRouter } from '../lib/wonderful/index';
import type { Fault } from '../lib/testing/fake-server';
import { verifyHissunoToken } from '../lib/testing/hissuno';
import { checkNeuroonWidgetToken, startFakeNeuroon } from '../lib/testing/neuroon';
import { startFakeNevermined } from '../lib/testing/nevermined';
import { startFakeWonderful } from '../lib/testing/wonderful';
import { buildApp } from './helpers/app';
import {
  WIRE,
  activeResources,
  answerText,
  eventually,
  expectShaped,
  faultSchedule,
  leakFinder,
  processListeners,
  runPool,
  serve,
  settledHeap,
  tally,
  userRegistry,
  watchProcess,
  type Answer,
  type InstalledFault,
  type ServedApp,
  type WireContract,
} from './helpers/hardening';
import { NEUT } from './helpers/neut';

const TIMEOUT_MS = 200;
const SPIKE_MS = 400;
const RETRIES = 1;
const CONCURRENCY = 16;
const REQUESTS = { nevermined: 2500, wonderful: 2500, neuroon: 2000, hissuno: 1000, neut: 1000 } as const;
/** Longest backoff between two attempts (the upstream client waits 50–150 ms). */
const MAX_BACKOFF_MS = 150;
/** Scheduling slack on a shared two-core machine. */
const SLACK_MS = 600;
/** Every attempt timing out, plus the backoffs between them, plus slack. */
const BUDGET_MS = (RETRIES + 1) * TIMEOUT_MS + RETRIES * MAX_BACKOFF_MS + SLACK_MS;
/** Connections beyond those faults closed that a run may open (keep-alive races at the edges). */
const CONNECTION_SLACK = 4;
/** Largest heap growth accepted after a run, once the fakes' records are dropped. */
const HEAP_TOLERANCE = 8 * 1024 * 1024;

const NEVERMINED_SECRET = 'wk_load_5f2c9a1e7b3d4c6f8a0b';
const WONDERFUL_KEY = 'wk_load_api_key_9b7d4c3e0a6f5f2c';
const NEUROON_KEY = 'nk_load_23ea6b1ad3085368ce85c9cc';
const HISSUNO_SECRET = 'sk_live_load_vM7AGCZmOXl1Hd2sMrPHcqJd8Ze';
const STRANGER = '0b7e8a52-3c1d-4f6e-9a2b-7c8d9e0f1a2b';

const REPORT = process.env['HARDENING_REPORT'] === '1';

// a few seconds per router normally; room for a loaded shared machine
jest.setTimeout(60_000);
const figures: Record<string, unknown> = {};

// ---------------------------------------------------------------------------
// Faults and what each calls for

type Outcome = 'ok' | 'timeout' | 'unavailable' | 'rate-limited' | 'invalid' | 'rejected';

interface LabelledFault extends InstalledFault {
  fault: Fault;
  /** Whether the upstream client tries again after it. */
  retried: boolean;
  outcome: Outcome;
}

const COMMON_FAULTS: LabelledFault[] = [
  { label: 'latency', fault: { kind: 'latency', ms: SPIKE_MS }, rate: 0.04, retried: false, outcome: 'timeout' },
  { label: 'reset', fault: { kind: 'reset' }, rate: 0.05, retried: true, outcome: 'unavailable' },
  { label: '500', fault: { kind: 'status', status: 500, body: { code: 'INTERNAL', message: 'boom' } }, rate: 0.04, retried: false, outcome: 'unavailable' },
  { label: '502', fault: { kind: 'status', status: 502, body: '<html>bad gateway</html>' }, rate: 0.04, retried: true, outcome: 'unavailable' },
  { label: '503', fault: { kind: 'status', status: 503, body: { code: 'MAINTENANCE' } }, rate: 0.04, retried: true, outcome: 'unavailable' },
  { label: '429', fault: { kind: 'status', status: 429, body: { code: 'SLOW_DOWN' } }, rate: 0.03, retried: false, outcome: 'rate-limited' },
  { label: '401', fault: { kind: 'status', status: 401, body: { code: 'BCK.WIDGET_SESSION.0001', correlationId: 'corr-load' } }, rate: 0.02, retried: false, outcome: 'rejected' },
  { label: 'malformed', fault: { kind: 'malformed' }, rate: 0.04, retried: false, outcome: 'invalid' },
  { label: 'wrong-shape', fault: { kind: 'wrong-shape' }, rate: 0.04, retried: false, outcome: 'invalid' },
];

/** The wire code and status(es) each outcome has for a contract. */
function wireOutcome(contract: WireContract, outcome: Exclude<Outcome, 'ok'>): { code: string; status: number; retryAfter?: string } {
  const wonderful = contract.vendor === 'wonderful';
  switch (outcome) {
    case 'timeout':
      return { code: wonderful ? 'NETWORK_ERROR' : 'UPSTREAM_TIMEOUT', status: 504 };
    case 'unavailable':
      return { code: wonderful ? 'NETWORK_ERROR' : 'UPSTREAM_UNAVAILABLE', status: 502 };
    case 'rate-limited':
      return { code: wonderful ? 'NETWORK_ERROR' : 'UPSTREAM_UNAVAILABLE', status: 503, retryAfter: '30' };
    case 'invalid':
      return { code: 'UPSTREAM_INVALID_RESPONSE', status: 502 };
    case 'rejected':
      return { code: 'UPSTREAM_REJECTED', status: 502 };
  }
}

/** The attempts one call makes given the faults of its attempts, and its outcome. */
function callOutcome(labels: readonly (string | undefined)[], faults: readonly LabelledFault[]): { attempts: number; outcome: Outcome } {
  const byLabel = new Map(faults.map((f) => [f.label, f]));
  const first = labels[0] === undefined ? undefined : byLabel.get(labels[0]);
  const attempts = first?.retried ? RETRIES + 1 : 1;
  const last = labels[attempts - 1];
  return { attempts, outcome: last === undefined ? 'ok' : byLabel.get(last)!.outcome };
}

// ---------------------------------------------------------------------------
// Process health around the whole file

const watcher = watchProcess();
let baseline: { resources: Record<string, number>; listeners: Record<string, number> };
const logged = leakFinder();
for (const secret of [NEVERMINED_SECRET, WONDERFUL_KEY, NEUROON_KEY, HISSUNO_SECRET, NEUT.mintSecret]) logged.add('a configured secret', secret);
/** Scans every log event for a secret as it is written, keeping only counts (so the heap check sees no log growth). */
const scanned = { events: 0, leaks: [] as string[] };
const logger: WidgetAuthLogger = Object.fromEntries(
  (['info', 'warn', 'error'] as const).map((level) => [
    level,
    (obj: object, msg?: string) => {
      scanned.events++;
      const leak = logged.find(`${JSON.stringify(obj)} ${msg ?? ''}`);
      if (leak) scanned.leaks.push(`${level}: ${leak}`);
    },
  ]),
) as unknown as WidgetAuthLogger;

beforeAll(() => {
  baseline = { resources: activeResources(), listeners: processListeners() };
});

afterAll(async () => {
  watcher.stop();
  if (REPORT) console.log(JSON.stringify(figures, null, 2));
  expect(watcher.rejections).toEqual([]);
  expect(watcher.warnings.filter((w) => w.name !== 'DeprecationWarning' && w.name !== 'ExperimentalWarning').map((w) => `${w.name}: ${w.message}`)).toEqual([]);
  // everything this file opened is closed again: sockets, servers, pending timers (the
  // baseline may still hold servers and sockets an earlier file in this worker was
  // closing, so fewer than at the start is fine; more is a leak)
  const settled = await eventually(() => noMoreNetwork(activeResources(), baseline.resources) && timers(activeResources()) <= timers(baseline.resources));
  const now = activeResources();
  expect({ settled, sockets: now['TCPSocketWrap'] ?? 0, servers: now['TCPServerWrap'] ?? 0, timers: timers(now) <= timers(baseline.resources) }).toEqual({
    settled: true,
    sockets: Math.min(now['TCPSocketWrap'] ?? 0, baseline.resources['TCPSocketWrap'] ?? 0),
    servers: Math.min(now['TCPServerWrap'] ?? 0, baseline.resources['TCPServerWrap'] ?? 0),
    timers: true,
  });
  const listeners = processListeners();
  listeners['unhandledRejection'] = (listeners['unhandledRejection'] ?? 0) + 1; // ours, removed above
  listeners['warning'] = (listeners['warning'] ?? 0) + 1;
  for (const key of Object.keys(listeners)) if (listeners[key] === 0) delete listeners[key];
  expect(listeners).toEqual(baseline.listeners);
  expect(scanned.leaks).toEqual([]);
  expect(scanned.events).toBeGreaterThanOrEqual(Object.values(REQUESTS).reduce((a, b) => a + b, 0));
});

function noMoreNetwork(now: Record<string, number>, then: Record<string, number>): boolean {
  return ['TCPSocketWrap', 'TCPServerWrap'].every((k) => (now[k] ?? 0) <= (then[k] ?? 0));
}

/** Pending timers (Jest's own come and go, so only growth counts). */
const timers = (resources: Record<string, number>) => resources['Timeout'] ?? 0;

/** A failed answer in the vendor's shape, with the status, code and Retry-After its outcome calls for. */
function expectShapedFailure(contract: WireContract, outcome: Exclude<Outcome, 'ok'>, answer: { status: number; text: string; headers: Record<string, unknown> }, i: number): void {
  const want = wireOutcome(contract, outcome);
  expect({ i, status: answer.status, code: (JSON.parse(answer.text) as { error: { code: string } }).error.code }).toEqual({ i, status: want.status, code: want.code });
  if (want.retryAfter) expect(answer.headers['retry-after']).toBe(want.retryAfter);
}

/**
 * Connections are reused: new ones only replace those a reset or a timeout closed, and
 * no sockets pile up. Returns the connections opened.
 */
function expectConnectionsReused(opened: number, schedule: readonly (string | undefined)[]): number {
  const closedByFaults = schedule.filter((l) => l === 'reset' || l === 'latency').length;
  expect(opened).toBeLessThanOrEqual(MAX_IN_FLIGHT + closedByFaults + CONNECTION_SLACK);
  expect(extraSockets()).toBeLessThanOrEqual(2 * CONCURRENCY + 2 * MAX_IN_FLIGHT);
  return opened;
}

/** The heap is back near where it was before the run (recorded in the figures). */
async function expectHeapBack(name: string, heapBefore: number): Promise<void> {
  const heapAfter = await settledHeap();
  (figures[name] as Record<string, unknown>)['heapDeltaKiB'] = Math.round((heapAfter - heapBefore) / 1024);
  expect(heapAfter - heapBefore).toBeLessThan(HEAP_TOLERANCE);
}

/** Sockets open now beyond the file's baseline. */
function extraSockets(): number {
  return (activeResources()['TCPSocketWrap'] ?? 0) - (baseline.resources['TCPSocketWrap'] ?? 0);
}

/** Servers of the running test, closed after it whatever its outcome (newest first). */
const open: { close(): Promise<void> }[] = [];
function track<T extends { close(): Promise<void> }>(server: T): T {
  open.unshift(server);
  return server;
}
afterEach(async () => {
  for (const server of open.splice(0)) await server.close();
});

/** One request of a load run. */
interface LoadRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
}

interface Sent {
  answer: Answer;
  method: string;
}

/** Send `count` requests with bounded concurrency; every one must answer within the budget. */
async function load(app: ServedApp, count: number, request: (i: number) => LoadRequest): Promise<Sent[]> {
  return runPool(count, CONCURRENCY, async (i) => {
    const req = request(i);
    const answer = await app.send({ ...req, ...(req.body !== undefined ? { body: Buffer.from(req.body) } : {}) }, BUDGET_MS + 2000);
    return { answer, method: req.method };
  });
}

function latencyFigures(sent: readonly Sent[]): { maxMs: number; p99Ms: number } {
  const ms = sent.map((s) => s.answer.ms).sort((a, b) => a - b);
  return { maxMs: Math.round(ms.at(-1)!), p99Ms: Math.round(ms[Math.floor(ms.length * 0.99)]!) };
}

/** Check what every vendor-backed run shares, and return the failures by wire code. */
function checkAnswers(contract: WireContract, sent: readonly Sent[], expectOne: (i: number, answer: Answer) => void): Record<string, number> {
  const codes: string[] = [];
  sent.forEach(({ answer, method }, i) => {
    expect(answer.ms).toBeLessThanOrEqual(BUDGET_MS);
    const error = expectShaped(contract, answer, method);
    const leak = logged.find(answerText(answer));
    if (leak) throw new Error(`answer ${i} carries ${leak}`);
    if (error) codes.push(`${error.status} ${error.code ?? JSON.stringify(error.message)}`);
    expectOne(i, answer);
  });
  return tally(codes);
}

// ---------------------------------------------------------------------------

describe('Vendors failing under load', () => {
  it(`Nevermined: ${REQUESTS.nevermined} sessions, each answer what its last vendor attempt calls for`, async () => {
    const fake = track(await startFakeNevermined({ orgs: { 'org-load': { secret: NEVERMINED_SECRET } } }));
    const registry = userRegistry();
    const app = track(await serve(
      buildApp(neverminedSessionRouter({ orgId: 'org-load', rawSecret: NEVERMINED_SECRET, apiBaseUrl: fake.url, resolveUser: registry.resolveUser, timeoutMs: TIMEOUT_MS, retries: RETRIES, logger })),
      { maxSockets: CONCURRENCY },
    ));
    const emailOf = (i: number) => `load-${i}@example.com`;
    for (let i = 0; i < REQUESTS.nevermined; i++) registry.set(`n${i}`, { id: `n${i}`, email: ` Load-${i}@Example.com ` });

    await load(app, 50, (i) => ({ method: 'GET', path: '/api/widget-session', headers: { 'x-fuzz-user': `n${i}` } }));
    fake.requests.length = 0;
    fake.sessions.length = 0;
    const heapBefore = await settledHeap();
    const connectionsBefore = fake.connections;

    for (const f of COMMON_FAULTS) fake.fault(f.fault, { rate: f.rate });
    const sent = await load(app, REQUESTS.nevermined, (i) => ({ method: i % 2 ? 'GET' : 'POST', path: '/api/widget-session', headers: { 'x-fuzz-user': `n${i}` } }));
    fake.clearFaults();

    const schedule = faultSchedule(COMMON_FAULTS, fake.requests.length);
    const attempts = new Map<string, (string | undefined)[]>();
    fake.requests.forEach((r, k) => {
      const email = (r.json as { email: string }).email;
      attempts.set(email, [...(attempts.get(email) ?? []), schedule[k]]);
    });
    const issuedTo = new Map(fake.sessions.map((s) => [s.session.sessionToken, s.email]));
    const codes = checkAnswers(WIRE.nevermined, sent, (i, answer) => {
      const labels = attempts.get(emailOf(i));
      expect(labels).toBeDefined();
      const { attempts: made, outcome } = callOutcome(labels!, COMMON_FAULTS);
      expect({ i, attempts: labels!.length }).toEqual({ i, attempts: made });
      if (outcome === 'ok') {
        expect(answer.status).toBe(200);
        // the session of this very user, never another request's
        expect(issuedTo.get((JSON.parse(answer.text) as { sessionToken: string }).sessionToken)).toBe(emailOf(i));
        return;
      }
      expectShapedFailure(WIRE.nevermined, outcome, answer, i);
    });

    // connections are reused: new ones only replace those a reset or a timeout closed
    const opened = expectConnectionsReused(fake.connections - connectionsBefore, schedule);

    figures['nevermined'] = { requests: sent.length, vendorAttempts: fake.requests.length, faults: tally(schedule.filter((l): l is string => l !== undefined)), failures: codes, ...latencyFigures(sent), connectionsOpened: opened };
    fake.requests.length = 0;
    fake.sessions.length = 0;
    fake.errors.length = 0;
    attempts.clear();
    issuedTo.clear();
    registry.clear();
    sent.length = 0;
    await expectHeapBack('nevermined', heapBefore);
  });

  it(`Wonderful: ${REQUESTS.wonderful} tokens and refreshes, never a token for another entity`, async () => {
    const fake = track(await startFakeWonderful({ apiKey: WONDERFUL_KEY }));
    const registry = userRegistry();
    const app = track(await serve(buildApp(wonderfulTokenRouter({ baseUrl: fake.url, apiKey: WONDERFUL_KEY, resolveUser: registry.resolveUser, timeoutMs: TIMEOUT_MS, retries: RETRIES, logger })), { maxSockets: CONCURRENCY }));
    const users: WidgetUser[] = Array.from({ length: REQUESTS.wonderful }, (_, i) => ({ id: `w-user-${i}` }));
    users.forEach((u, i) => registry.set(`w${i}`, u));
    const entities = users.map((u) => wonderfulEntityIdFor(u));
    const strangerToken = jwt.sign({ sub: STRANGER }, 'not-the-vendor-key', { algorithm: 'HS256', expiresIn: 3600 });
    const faults: LabelledFault[] = [
      ...COMMON_FAULTS,
      { label: 'stranger-id', fault: { kind: 'status', status: 200, body: { jwt: strangerToken, expiresAt: 2_000_000_000, id: STRANGER } }, rate: 0.02, retried: false, outcome: 'invalid' },
      { label: 'stranger-sub', fault: { kind: 'status', status: 200, body: { data: { jwt: strangerToken } } }, rate: 0.02, retried: false, outcome: 'invalid' },
    ];
    logged.add('a token for another entity', strangerToken);
    const request = (i: number): LoadRequest =>
      i % 2
        ? { method: 'POST', path: '/api/refresh-sdk-token', headers: { 'x-fuzz-user': `w${i}`, 'content-type': 'application/json' }, body: JSON.stringify({ entityId: entities[i]!.toUpperCase() }) }
        : { method: 'POST', path: '/api/sdk-token', headers: { 'x-fuzz-user': `w${i}` } };

    await load(app, 50, request);
    fake.requests.length = 0;
    fake.issued.length = 0;
    const heapBefore = await settledHeap();
    const connectionsBefore = fake.connections;

    for (const f of faults) fake.fault(f.fault, { rate: f.rate });
    const sent = await load(app, REQUESTS.wonderful, request);
    fake.clearFaults();

    const schedule = faultSchedule(faults, fake.requests.length);
    const attempts = new Map<string, (string | undefined)[]>();
    fake.requests.forEach((r, k) => {
      const entity = (r.json as { entityId: string }).entityId;
      attempts.set(entity, [...(attempts.get(entity) ?? []), schedule[k]]);
    });
    const codes = checkAnswers(WIRE.wonderful, sent, (i, answer) => {
      const labels = attempts.get(entities[i]!);
      expect(labels).toBeDefined();
      const { attempts: made, outcome } = callOutcome(labels!, faults);
      expect({ i, attempts: labels!.length }).toEqual({ i, attempts: made });
      if (outcome === 'ok') {
        expect(answer.status).toBe(200);
        const body = JSON.parse(answer.text) as { token: string; id: string };
        expect(body.id).toBe(entities[i]);
        expect(fake.verify(body.token).sub).toBe(entities[i]);
        return;
      }
      expectShapedFailure(WIRE.wonderful, outcome, answer, i);
    });

    const opened = expectConnectionsReused(fake.connections - connectionsBefore, schedule);

    figures['wonderful'] = { requests: sent.length, vendorAttempts: fake.requests.length, faults: tally(schedule.filter((l): l is string => l !== undefined)), failures: codes, ...latencyFigures(sent), connectionsOpened: opened };
    fake.requests.length = 0;
    fake.issued.length = 0;
    attempts.clear();
    registry.clear();
    sent.length = 0;
    await expectHeapBack('wonderful', heapBefore);
  });

  it(`Neuroon: ${REQUESTS.neuroon} token requests through single-flight issues, every failed issue reaching its callers`, async () => {
    const fake = track(await startFakeNeuroon({ shops: { shop_load: { apiKey: NEUROON_KEY } } }));
    // every reading of the clock is a second later: no token is ever fresh or usable
    // again, so each request joins the issue in flight or starts the next one
    let virtual = Date.parse('2025-06-01T00:00:00Z');
    const clock = () => (virtual += 1000);
    const app = track(await serve(
      buildApp(
        neuroonTokenRouter({ shopId: 'shop_load', apiKey: NEUROON_KEY, apiBaseUrl: fake.url, clock, rotateAfterMs: 1, ttlMs: 2, safetyMarginMs: 0, timeoutMs: TIMEOUT_MS, retries: RETRIES, logger }),
      ),
      { maxSockets: CONCURRENCY },
    ));
    // issues are shared by every request waiting on them, so far fewer reach Neuroon:
    // fail a larger share of them, and keep Retry-After short so the block lifts within the run
    const faults: LabelledFault[] = COMMON_FAULTS.map((f) => ({
      ...f,
      rate: f.rate * 2.5,
      ...(f.label === '429' ? { fault: { kind: 'status', status: 429, body: {}, headers: { 'Retry-After': '3' } } as Fault } : {}),
    }));
    const request = () => ({ method: 'GET', path: '/api/neuroon-widget-token', headers: {} });

    await load(app, 50, request);
    fake.requests.length = 0;
    fake.issued.length = 0;
    const heapBefore = await settledHeap();

    for (const f of faults) fake.fault(f.fault, { rate: f.rate });
    const sent = await load(app, REQUESTS.neuroon, request);
    fake.clearFaults();

    // issues never overlap, so the fake's record splits into issues by the retry rule
    const schedule = faultSchedule(faults, fake.requests.length);
    const issues: Outcome[] = [];
    for (let k = 0; k < schedule.length; ) {
      const { attempts, outcome } = callOutcome(schedule.slice(k, k + RETRIES + 1), faults);
      issues.push(outcome);
      k += attempts;
    }
    const byCode = { ok: 0, timeout: 0, unavailable: 0, 'rate-limited': 0, invalid: 0, rejected: 0 } satisfies Record<Outcome, number>;
    const codes = checkAnswers(WIRE.neuroon, sent, (_i, answer) => {
      if (answer.status === 200) {
        const { token } = JSON.parse(answer.text) as { token: string };
        expect(checkNeuroonWidgetToken(token, { shop_load: { apiKey: NEUROON_KEY } })).toMatchObject({ ok: true, shopId: 'shop_load' });
        byCode.ok++;
        return;
      }
      const { code } = (JSON.parse(answer.text) as { error: { code: string } }).error;
      const outcome = (['timeout', 'unavailable', 'rate-limited', 'invalid', 'rejected'] as const).find((o) => {
        const want = wireOutcome(WIRE.neuroon, o);
        return want.code === code && want.status === answer.status;
      });
      expect({ status: answer.status, code, outcome }).toEqual({ status: answer.status, code, outcome: expect.any(String) });
      byCode[outcome!]++;
    });
    // each issue answers at least the request that started it, with the issue's outcome;
    // 503s beyond the 429 issues are requests refused while Neuroon's Retry-After runs
    const perIssue = tally(issues);
    for (const outcome of Object.keys(byCode) as Outcome[]) {
      expect({ outcome, answers: byCode[outcome] >= (perIssue[outcome] ?? 0) }).toEqual({ outcome, answers: true });
      if (outcome !== 'rate-limited') expect({ outcome, issued: (perIssue[outcome] ?? 0) > 0 || byCode[outcome] === 0 }).toEqual({ outcome, issued: true });
    }
    expect(byCode['rate-limited'] === 0 || (perIssue['rate-limited'] ?? 0) > 0).toBe(true);
    expect(issues.length).toBeLessThanOrEqual(sent.length);
    expect(extraSockets()).toBeLessThanOrEqual(2 * CONCURRENCY + 2 * MAX_IN_FLIGHT);

    figures['neuroon'] = { requests: sent.length, vendorAttempts: fake.requests.length, issues: issues.length, issueOutcomes: perIssue, faults: tally(schedule.filter((l): l is string => l !== undefined)), failures: codes, ...latencyFigures(sent) };
    fake.requests.length = 0;
    fake.issued.length = 0;
    sent.length = 0;
    await expectHeapBack('neuroon', heapBefore);
  });
});

describe('Local signing under load', () => {
  it(`Hissuno: ${REQUESTS.hissuno} concurrent users, each token for its own user`, async () => {
    const registry = userRegistry();
    const app = track(await serve(buildApp(hissunoTokenRouter({ secretKey: HISSUNO_SECRET, resolveUser: registry.resolveUser, logger })), { maxSockets: CONCURRENCY }));
    for (let i = 0; i < REQUESTS.hissuno; i++) registry.set(`h${i}`, { id: `h-user-${i}`, metadata: { n: String(i) } });
    const heapBefore = await settledHeap();
    const sent = await load(app, REQUESTS.hissuno, (i) => ({ method: i % 3 ? 'GET' : 'POST', path: '/api/hissuno-token', headers: i % 10 === 9 ? ({} as Record<string, string>) : { 'x-fuzz-user': `h${i}` } }));
    const codes = checkAnswers(WIRE.hissuno, sent, (i, answer) => {
      if (i % 10 === 9) {
        expect(answer.status).toBe(401);
        return;
      }
      expect(answer.status).toBe(200);
      const claims = verifyHissunoToken((JSON.parse(answer.text) as { token: string }).token, HISSUNO_SECRET);
      expect(claims).toMatchObject({ userId: `h-user-${i}`, userMetadata: { n: String(i) } });
    });
    figures['hissuno'] = { requests: sent.length, failures: codes, ...latencyFigures(sent) };
    registry.clear();
    sent.length = 0;
    await expectHeapBack('hissuno', heapBefore);
  });

  it(`Neut: ${REQUESTS.neut} concurrent requests, each URL signed for its own body`, async () => {
    const app = track(await serve(buildApp(neutEmbedParamsRouter({ ...NEUT, logger })), { maxSockets: CONCURRENCY }));
    const seenNonces = new Set<string>();
    const body = (i: number) =>
      i % 5 === 4
        ? { widget_id: 'vote-breakdown', instance_id: `v-${i}`, congress: 119, member_type: 'Senator', last_name: 'X', state_code: 'CA' }
        : { widget_id: 'bill-preview', instance_id: `bill-${i}`, bill_type: 'HR', bill_number: i + 1, congress: 119, temp_title: `Title ${i}` };
    const heapBefore = await settledHeap();
    const sent = await load(app, REQUESTS.neut, (i) => ({ method: 'POST', path: '/api/widget-embed-params', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body(i)) }));
    const codes = checkAnswers(WIRE.neut, sent, (i, answer) => {
      let validated: Record<string, unknown> | undefined;
      try {
        validated = validateNeutWidgetRequest(body(i)) as Record<string, unknown>;
      } catch {
        validated = undefined;
      }
      if (!validated) {
        expect(answer.status).toBe(400);
        return;
      }
      expect(answer.status).toBe(200);
      const { embed_url: url } = JSON.parse(answer.text) as { embed_url: string };
      const verified = verifyNeutBootstrap(url, { mintSecret: NEUT.mintSecret, tenantId: NEUT.tenantId, hostOrigin: NEUT.hostOrigin, seenNonces });
      const expected = Object.entries(validated)
        .filter(([k]) => k !== 'widget_id')
        .map(([k, v]) => [k, String(v)]);
      expect(Object.entries(verified.params)).toEqual(expected);
      // an independent recomputation of the assertion, from the URL's own fields
      const u = new URL(url).searchParams;
      const canonical = ['tenant_id', 'widget_id', 'customer_origin', 'bootstrap_timestamp', 'bootstrap_nonce'].map((n) => u.get(n)).join('.') + '.bootstrap';
      expect(u.get('bootstrap_assertion')).toBe(createHmac('sha256', NEUT.mintSecret).update(canonical).digest('base64url'));
    });
    expect(seenNonces.size).toBe(sent.filter((s) => s.answer.status === 200).length);
    figures['neut'] = { requests: sent.length, failures: codes, ...latencyFigures(sent) };
    sent.length = 0;
    await expectHeapBack('neut', heapBefore);
  });
});
