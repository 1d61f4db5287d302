import http from 'node:http';
import type { Request } from 'express';
import { z } from 'zod';
import { WidgetAuthConfigError, WidgetAuthError, neverminedSessionRouter, wonderfulEntityIdFor, wonderfulTokenRouter, type WidgetUser } from '../lib';
import { createUpstreamClient } from '../lib/core/upstream';
import { startFakeNevermined, startFakeServer, type FakeNevermined, type FakeWonderful } from '../lib/testing';
import type { RouteContext } from '../lib/core/pipeline';
import { EXPRESS_MAJOR, buildApp, captureLogger, expectNoSecrets } from './helpers/app';
import { TEST_PATH, testApp } from './helpers/pipeline';
import { WONDERFUL_KEY, listen, startWonderful } from './helpers/wonderful';

/**
 * The vendor client's queue under abuse, over real HTTP: browsers that hang up while their
 * calls wait, calls that cannot get a connection before their deadline, and one user
 * sending many requests at once. Latencies are asserted relative to the fake vendor's
 * injected latency, never as absolute wall-clock numbers.
 */

jest.setTimeout(30_000);

const ORG = 'org-queue';
const SECRET = 'wk_queue_5f2c9a1e7b3d4c6f';
/** Injected vendor latency: long against loopback round trips, short for a test. */
const LATENCY_MS = 400;

/** Users named by the `x-user` header; each has an email for Nevermined. */
function resolveUser(req: Request): WidgetUser | null {
  const name = req.headers['x-user'];
  return typeof name === 'string' ? { id: `user-${name}`, email: `${name}@example.com` } : null;
}

interface Answer {
  status: number;
  text: string;
  code: string | undefined;
  /** Time from sending to the end of the answer. */
  ms: number;
}

/** A request on a connection of its own, so that hanging up closes only it. */
function send(base: string, path: string, user: string, method: 'GET' | 'POST' = 'POST', body?: unknown): { answer: Promise<Answer>; hangUp(): void } {
  const started = performance.now();
  const headers: Record<string, string> = { 'x-user': user };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const req = http.request(`${base}${path}`, { method, agent: false, headers });
  const answer = new Promise<Answer>((resolve, reject) => {
    req.on('error', reject);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let code: string | undefined;
        try {
          code = (JSON.parse(text) as { error?: { code?: string } }).error?.code;
        } catch {
          code = undefined;
        }
        resolve({ status: res.statusCode ?? 0, text, code, ms: performance.now() - started });
      });
    });
  });
  req.end(body === undefined ? undefined : JSON.stringify(body));
  return {
    answer,
    hangUp() {
      answer.catch(() => undefined);
      req.destroy();
    },
  };
}

async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** An app serving `router`, counting requests as they reach it. */
async function serve(router: ReturnType<typeof neverminedSessionRouter>) {
  const counter = { arrived: 0 };
  const app = buildApp(router, (a) =>
    a.use((_req, _res, next) => {
      counter.arrived++;
      next();
    }),
  );
  const server = await listen(app);
  return {
    url: server.url,
    counter,
    close: async () => {
      server.server.closeAllConnections();
      await server.close();
    },
  };
}

const isFrom = (name: string) => (r: { json?: unknown }) => (r.json as { email?: string } | undefined)?.email === `${name}@example.com`;
const emailsSeen = (fake: FakeNevermined, name: string) => fake.requests.filter(isFrom(name)).length;

/**
 * How many calls matching `before` reached the vendor ahead of the first call matching
 * `first`: an order, not a duration, so a loaded machine cannot make it pass or fail.
 */
function callsAhead<R>(requests: readonly R[], first: (r: R) => boolean, before: (r: R) => boolean): number {
  const at = requests.findIndex(first);
  if (at < 0) throw new Error('the call never reached the vendor');
  return requests.slice(0, at).filter(before).length;
}

describe('Nevermined: requests whose browser hung up', () => {
  let fake: FakeNevermined;
  beforeEach(async () => {
    fake = await startFakeNevermined({ orgs: { [ORG]: { secret: SECRET } } });
    fake.fault({ kind: 'latency', ms: LATENCY_MS });
  });
  afterEach(() => fake.close());

  it('calls the vendor only for calls already in flight when 64 requests of one user hang up, and serves another user ahead of every queued call', async () => {
    const app = await serve(neverminedSessionRouter({ orgId: ORG, rawSecret: SECRET, apiBaseUrl: fake.url, resolveUser }));
    try {
      const flood = Array.from({ length: 64 }, () => send(app.url, '/api/widget-session', 'mallory'));
      await until(() => app.counter.arrived === 64 && fake.requests.length >= 4, 'the 64 requests to arrive and 4 to reach the vendor');
      // let every request reach the vendor client and queue there
      await sleep(50);
      for (const r of flood) r.hangUp();

      const other = await send(app.url, '/api/widget-session', 'ada').answer;
      expect(other.status).toBe(200);
      // ada's call went out at once: behind the 4 calls already in flight, none of the 60 queued
      expect(callsAhead(fake.requests, isFrom('ada'), isFrom('mallory'))).toBe(4);

      // long enough for every queued call to have reached the vendor, had it not been dropped
      await sleep(3 * LATENCY_MS);
      // only the calls in flight when the browsers left: the default bound of 4 for one user
      expect(emailsSeen(fake, 'mallory')).toBe(4);
      expect(emailsSeen(fake, 'ada')).toBe(1);
    } finally {
      await app.close();
    }
  });

  it('drops queued calls of requests that hung up while all 16 connections were busy', async () => {
    // one user may take every connection here, so the 48 others wait in the shared queue
    const app = await serve(neverminedSessionRouter({ orgId: ORG, rawSecret: SECRET, apiBaseUrl: fake.url, resolveUser, maxInFlightPerUser: 16 }));
    try {
      const flood = Array.from({ length: 64 }, () => send(app.url, '/api/widget-session', 'mallory'));
      await until(() => app.counter.arrived === 64 && fake.requests.length === 16, 'the 64 requests to arrive and 16 to reach the vendor');
      await sleep(50);
      for (const r of flood) r.hangUp();

      // it waits only for the 16 calls already sent, not for the 48 that were queued
      const other = await send(app.url, '/api/widget-session', 'ada').answer;
      expect(other.status).toBe(200);
      expect(callsAhead(fake.requests, isFrom('ada'), isFrom('mallory'))).toBe(16);

      await sleep(3 * LATENCY_MS);
      expect(emailsSeen(fake, 'mallory')).toBe(16);
      expect(fake.connections).toBeLessThanOrEqual(16);
    } finally {
      await app.close();
    }
  });
});

describe('Nevermined: the deadline of a queued call', () => {
  it('answers 504 UPSTREAM_TIMEOUT without calling the vendor when no connection comes free within half of timeoutMs', async () => {
    const timeoutMs = 2000;
    const fake = await startFakeNevermined({ orgs: { [ORG]: { secret: SECRET } } });
    // the first 16 calls hang until their own timeout; any later call would be answered at once
    fake.fault({ kind: 'latency', ms: 10_000 }, { times: 16 });
    const logger = captureLogger();
    const app = await serve(neverminedSessionRouter({ orgId: ORG, rawSecret: SECRET, apiBaseUrl: fake.url, resolveUser, timeoutMs, logger }));
    try {
      const blockers = Array.from({ length: 16 }, (_, i) => send(app.url, '/api/widget-session', `blocker${i}`).answer);
      await until(() => fake.requests.length === 16, 'every connection to be busy');

      const queued = await send(app.url, '/api/widget-session', 'late').answer;
      expect(queued.status).toBe(504);
      expect(queued.code).toBe('UPSTREAM_TIMEOUT');
      expect(JSON.parse(queued.text)).toEqual({ error: { code: 'UPSTREAM_TIMEOUT', message: 'The widget vendor did not answer in time; try again shortly.' } });
      // it gave up at its queue deadline, before any connection came free
      expect(queued.ms).toBeGreaterThanOrEqual(timeoutMs / 2 - 20);
      expect(queued.ms).toBeLessThan(timeoutMs);

      const blocked = await Promise.all(blockers);
      expect(blocked.map((a) => a.status)).toEqual(Array.from({ length: 16 }, () => 504));
      await sleep(100);
      expect(emailsSeen(fake, 'late')).toBe(0);
      expect(fake.requests).toHaveLength(16);

      const events = logger.events.map((e) => e.obj as { status?: number; code?: string });
      expect(events.filter((e) => e.status === 504 && e.code === 'UPSTREAM_TIMEOUT')).toHaveLength(17);
      // the user's id is a key of the queue, never part of a message or a log line
      expect(logger.text()).not.toContain('user-late');
      expectNoSecrets(`${logger.text()}\n${queued.text}`, [SECRET]);
    } finally {
      await app.close();
      await fake.close();
    }
  });
});

describe('Nevermined: calls of one user in progress at once', () => {
  it('sends at most 4 calls of one user to the vendor at a time, answers them all, and serves other users meanwhile', async () => {
    const fake = await startFakeNevermined({ orgs: { [ORG]: { secret: SECRET } } });
    fake.fault({ kind: 'latency', ms: LATENCY_MS });
    const app = await serve(neverminedSessionRouter({ orgId: ORG, rawSecret: SECRET, apiBaseUrl: fake.url, resolveUser }));
    try {
      const burst = Array.from({ length: 12 }, (_, i) => send(app.url, '/api/widget-session', 'eager', i % 2 ? 'GET' : 'POST').answer);
      await until(() => app.counter.arrived === 12, 'the burst to arrive');
      const other = await send(app.url, '/api/widget-session', 'ada').answer;
      expect(other.status).toBe(200);
      // ada's call went out behind the 4 of eager's in flight, ahead of eager's 8 waiting
      expect(callsAhead(fake.requests, isFrom('ada'), isFrom('eager'))).toBe(4);

      const answers = await Promise.all(burst);
      expect(answers.map((a) => a.status)).toEqual(Array.from({ length: 12 }, () => 200));
      // the 5th call of the user starts only once one of the first 4 has been answered
      const starts = fake.requests.filter((r) => (r.json as { email: string }).email === 'eager@example.com').map((r) => r.receivedAt).sort((a, b) => a - b);
      expect(starts).toHaveLength(12);
      for (let k = 0; k + 4 < starts.length; k++) expect(starts[k + 4]! - starts[k]!).toBeGreaterThanOrEqual(LATENCY_MS - 5);
    } finally {
      await app.close();
      await fake.close();
    }
  });

  it('takes maxInFlightPerUser from the options and refuses values outside 1–16 at start-up', async () => {
    const fake = await startFakeNevermined({ orgs: { [ORG]: { secret: SECRET } } });
    fake.fault({ kind: 'latency', ms: LATENCY_MS });
    const app = await serve(neverminedSessionRouter({ orgId: ORG, rawSecret: SECRET, apiBaseUrl: fake.url, resolveUser, maxInFlightPerUser: 1 }));
    try {
      const answers = await Promise.all(Array.from({ length: 3 }, () => send(app.url, '/api/widget-session', 'solo').answer));
      expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
      const starts = fake.requests.map((r) => r.receivedAt).sort((a, b) => a - b);
      expect(starts[1]! - starts[0]!).toBeGreaterThanOrEqual(LATENCY_MS - 5);
      expect(starts[2]! - starts[1]!).toBeGreaterThanOrEqual(LATENCY_MS - 5);
    } finally {
      await app.close();
      await fake.close();
    }
    for (const bad of [0, 17, 2.5]) {
      const make = () => neverminedSessionRouter({ orgId: ORG, rawSecret: SECRET, apiBaseUrl: 'https://api.example.com', resolveUser, maxInFlightPerUser: bad });
      expect(make).toThrow(WidgetAuthConfigError);
      expect(make).toThrow(/maxInFlightPerUser/);
    }
  });
});

describe('Wonderful: the same queue rules', () => {
  let fake: FakeWonderful;
  beforeEach(async () => {
    fake = await startWonderful();
    fake.fault({ kind: 'latency', ms: LATENCY_MS });
  });
  afterEach(() => fake.close());

  const entityCalls = (name: string) => {
    const entity = wonderfulEntityIdFor({ id: `user-${name}` });
    return fake.requests.filter((r) => (r.json as { entityId?: string } | undefined)?.entityId === entity);
  };

  it('drops the queued calls of 64 requests that hung up and serves another user ahead of every queued call', async () => {
    const app = await serve(wonderfulTokenRouter({ baseUrl: fake.url, apiKey: WONDERFUL_KEY, resolveUser }));
    try {
      const flood = Array.from({ length: 64 }, () => send(app.url, '/api/sdk-token', 'mallory'));
      await until(() => app.counter.arrived === 64 && fake.requests.length >= 4, 'the 64 requests to arrive and 4 to reach the vendor');
      await sleep(50);
      for (const r of flood) r.hangUp();

      const other = await send(app.url, '/api/sdk-token', 'ada').answer;
      expect(other.status).toBe(200);
      const ada = wonderfulEntityIdFor({ id: 'user-ada' });
      const mallory = wonderfulEntityIdFor({ id: 'user-mallory' });
      const entity = (id: string) => (r: { json?: unknown }) => (r.json as { entityId?: string } | undefined)?.entityId === id;
      expect(callsAhead(fake.requests, entity(ada), entity(mallory))).toBe(4);

      await sleep(3 * LATENCY_MS);
      expect(entityCalls('mallory')).toHaveLength(4);
      expectNoSecrets(other.text, [WONDERFUL_KEY]);
    } finally {
      await app.close();
    }
  });

  it('sends at most 4 calls of one user at a time through both routes together', async () => {
    const app = await serve(wonderfulTokenRouter({ baseUrl: fake.url, apiKey: WONDERFUL_KEY, resolveUser }));
    try {
      const own = wonderfulEntityIdFor({ id: 'user-eager' });
      const burst = Array.from({ length: 8 }, (_, i) => (i % 2 ? send(app.url, '/api/refresh-sdk-token', 'eager', 'POST', { entityId: own }) : send(app.url, '/api/sdk-token', 'eager')).answer);
      const answers = await Promise.all(burst);
      expect(answers.map((a) => a.status)).toEqual(Array.from({ length: 8 }, () => 200));
      const starts = entityCalls('eager').map((r) => r.receivedAt).sort((a, b) => a - b);
      expect(starts).toHaveLength(8);
      for (let k = 0; k + 4 < starts.length; k++) expect(starts[k + 4]! - starts[k]!).toBeGreaterThanOrEqual(LATENCY_MS - 5);
    } finally {
      await app.close();
    }
  });
});

describe('createUpstreamClient: signal and userKey', () => {
  const schema = z.object({ value: z.string() });

  it('never calls the vendor for a signal that has already aborted, nor for one that aborts while the call waits', async () => {
    const fake = await startFakeServer(() => ({ status: 200, body: { value: 'ok' } }));
    fake.fault({ kind: 'latency', ms: LATENCY_MS });
    try {
      const client = createUpstreamClient('acme', { timeoutMs: 5000, retries: 0, maxInFlightPerUser: 1 });
      const url = `${fake.url}/v1/things`;
      const gone = new AbortController();
      gone.abort();
      await expect(client.call({ url, schema, signal: gone.signal })).rejects.toBeInstanceOf(WidgetAuthError);
      expect(fake.requests).toHaveLength(0);

      const first = client.call({ url, schema, userKey: 'u1' });
      const waiting = new AbortController();
      const second = client.call({ url, schema, userKey: 'u1', signal: waiting.signal });
      await until(() => fake.requests.length === 1, 'the first call');
      const abortedAt = performance.now();
      waiting.abort();
      const err = await second.then(
        () => undefined,
        (e: unknown) => e,
      );
      // it left the queue at once rather than when the first call ended
      expect(performance.now() - abortedAt).toBeLessThan(LATENCY_MS / 2);
      expect(err).toBeInstanceOf(WidgetAuthError);
      expect((await first).data.value).toBe('ok');
      await sleep(50);
      expect(fake.requests).toHaveLength(1);
    } finally {
      await fake.close();
    }
  });

  it('reads a lazy AbortSource signal only for a call that has to wait, and honours its aborted flag before calling', async () => {
    const fake = await startFakeServer(() => ({ status: 200, body: { value: 'ok' } }));
    try {
      const client = createUpstreamClient('acme', { timeoutMs: 5000, retries: 0 });
      const url = `${fake.url}/v1/things`;
      let made = 0;
      const controller = new AbortController();
      const source = {
        aborted: false,
        get signal() {
          made++;
          return controller.signal;
        },
      };
      for (let i = 0; i < 5; i++) await client.call({ url, schema, signal: source, userKey: 'u1' });
      expect(made).toBe(0);
      expect(fake.requests).toHaveLength(5);

      source.aborted = true;
      await expect(client.call({ url, schema, signal: source })).rejects.toMatchObject({ code: 'UPSTREAM_UNAVAILABLE' });
      expect(fake.requests).toHaveLength(5);
      expect(made).toBe(0);
    } finally {
      await fake.close();
    }
  });

  it('lets calls of other keys, and calls without a key, past a key that has used its bound', async () => {
    const fake = await startFakeServer(() => ({ status: 200, body: { value: 'ok' } }));
    fake.fault({ kind: 'latency', ms: LATENCY_MS });
    try {
      const client = createUpstreamClient('acme', { timeoutMs: 5000, retries: 0, maxInFlightPerUser: 2 });
      const url = `${fake.url}/v1/things`;
      const busy = Array.from({ length: 4 }, () => client.call({ url, schema, userKey: 'busy' }));
      const started = performance.now();
      await Promise.all([client.call({ url, schema, userKey: 'calm' }), client.call({ url, schema })]);
      expect(performance.now() - started).toBeLessThan(2 * LATENCY_MS);
      await Promise.all(busy);
      expect(fake.requests).toHaveLength(6);
    } finally {
      await fake.close();
    }
  });
});

describe(`RouteContext.signal (Express ${EXPRESS_MAJOR})`, () => {
  /** A test route that holds each request `holdMs`, then reports what its context said. */
  async function observe(holdMs: number, readEarly: boolean) {
    const seen: { abortEvents: number; abortedAtEnd: boolean; contextAborted: boolean }[] = [];
    const started = { count: 0 };
    const handle = async (ctx: RouteContext) => {
      let abortEvents = 0;
      if (readEarly) ctx.signal.addEventListener('abort', () => abortEvents++);
      started.count++;
      await sleep(holdMs);
      const contextAborted = ctx.aborted;
      // read late: a signal made after the browser left is aborted from the start
      const abortedAtEnd = ctx.signal.aborted;
      seen.push({ abortEvents, abortedAtEnd, contextAborted });
      return { ok: true };
    };
    const server = await listen(testApp({ handle }));
    return { seen, started, server };
  }

  it('does not abort when the answer is sent, even after a POST body was read (the request closes early)', async () => {
    const { seen, server } = await observe(100, true);
    try {
      const answer = await new Promise<number>((resolve, reject) => {
        const req = http.request(`${server.url}${TEST_PATH}`, { method: 'POST', agent: false, headers: { 'content-type': 'application/json', 'x-test-user': 'ada' } });
        req.on('error', reject);
        req.on('response', (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.end(JSON.stringify({ a: 1 }));
      });
      expect(answer).toBe(200);
      await sleep(50);
      expect(seen).toEqual([{ abortEvents: 0, abortedAtEnd: false, contextAborted: false }]);
    } finally {
      server.server.closeAllConnections();
      await server.close();
    }
  });

  it('aborts when the browser hangs up before the answer, whether the signal was made before or after', async () => {
    for (const readEarly of [true, false]) {
      const { seen, started, server } = await observe(300, readEarly);
      try {
        const req = http.request(`${server.url}${TEST_PATH}`, { method: 'POST', agent: false, headers: { 'content-type': 'application/json', 'x-test-user': 'ada' } });
        req.on('error', () => undefined);
        req.end(JSON.stringify({ a: 1 }));
        await until(() => started.count === 1, 'the handler to start');
        req.destroy();
        await until(() => seen.length === 1, 'the handler to finish');
        expect(seen).toEqual([{ abortEvents: readEarly ? 1 : 0, abortedAtEnd: true, contextAborted: true }]);
      } finally {
        server.server.closeAllConnections();
        await server.close();
      }
    }
  });
});
