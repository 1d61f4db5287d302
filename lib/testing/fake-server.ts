import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** A request a fake vendor received, as recorded in `requests`. */
export interface RecordedRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  query: URLSearchParams;
  /** Lower-cased header names. */
  headers: Record<string, string | string[] | undefined>;
  /** The raw body ('' when none). */
  body: string;
  /** The body parsed as JSON, or `undefined` when it is not JSON. */
  json: unknown;
  receivedAt: number;
}

/** What a fake's route answers. */
export interface FakeAnswer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/** A fake's routing function: `undefined` means 404. */
export type FakeHandler = (req: RecordedRequest) => FakeAnswer | undefined | Promise<FakeAnswer | undefined>;

/**
 * A fault to inject:
 * - `latency`: wait `ms` before answering normally;
 * - `status`: answer `status` with `body` (default `{}`) and `headers`;
 * - `reset`: destroy the connection without answering;
 * - `malformed`: answer 200 with a body that is not JSON;
 * - `wrong-shape`: answer 200 with JSON of the wrong shape.
 */
export type Fault =
  | { kind: 'latency'; ms: number }
  | { kind: 'status'; status: number; body?: unknown; headers?: Record<string, string> }
  | { kind: 'reset' }
  | { kind: 'malformed' }
  | { kind: 'wrong-shape' };

/** Which requests a fault applies to. */
export interface FaultScope {
  /** Apply to the next `times` matching requests only. Defaults to every matching request. */
  times?: number;
  /** Apply to this fraction (0–1) of matching requests, spread evenly. Defaults to 1. */
  rate?: number;
  /** Apply only to requests whose path starts with this. Defaults to every path. */
  path?: string;
}

/** A running fake vendor. */
export interface FakeServer {
  /** Base URL, `http://127.0.0.1:<port>`. */
  url: string;
  /** Every request received, oldest first. */
  requests: RecordedRequest[];
  /** Number of TCP connections accepted so far. */
  readonly connections: number;
  /** Inject a fault; returns a function removing it. Several faults are tried in order. */
  fault(fault: Fault, scope?: FaultScope): () => void;
  /** Remove every injected fault. */
  clearFaults(): void;
  /** Stop the server, closing kept-alive connections. */
  close(): Promise<void>;
}

interface ActiveFault {
  fault: Fault;
  scope: FaultScope;
  seen: number;
  applied: number;
}

function sendJson(res: ServerResponse, answer: FakeAnswer): void {
  const body = answer.body === undefined ? '' : typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body);
  res.writeHead(answer.status, {
    ...(answer.body !== undefined && typeof answer.body !== 'string' ? { 'Content-Type': 'application/json' } : {}),
    'Content-Length': Buffer.byteLength(body),
    ...answer.headers,
  });
  res.end(body);
}

/**
 * Start an HTTP server on 127.0.0.1 (ephemeral port) that records requests, applies
 * injected faults and otherwise answers with `handler`. The building block of every
 * fake vendor in this module.
 */
export async function startFakeServer(handler: FakeHandler): Promise<FakeServer> {
  const requests: RecordedRequest[] = [];
  let faults: ActiveFault[] = [];
  let connections = 0;
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const delay = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        resolve();
      }, ms);
      timers.add(timer);
    });

  const pickFault = (path: string): Fault | undefined => {
    for (const f of faults) {
      if (f.scope.path !== undefined && !path.startsWith(f.scope.path)) continue;
      if (f.scope.times !== undefined && f.applied >= f.scope.times) continue;
      const n = f.seen++;
      const rate = f.scope.rate ?? 1;
      // even spread: request n is hit when the running count of hits ticks over
      if (Math.floor((n + 1) * rate) > Math.floor(n * rate)) {
        f.applied++;
        return f.fault;
      }
    }
    return undefined;
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const url = new URL(req.url ?? '/', 'http://127.0.0.1');
        const body = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = body ? JSON.parse(body) : undefined;
        } catch {
          json = undefined;
        }
        const recorded: RecordedRequest = { method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, headers: { ...req.headers }, body, json, receivedAt: Date.now() };
        requests.push(recorded);
        const fault = pickFault(url.pathname);
        if (fault?.kind === 'latency') await delay(fault.ms);
        if (res.destroyed) return;
        if (fault?.kind === 'reset') return void req.socket.destroy();
        if (fault?.kind === 'status') return sendJson(res, { status: fault.status, body: fault.body ?? {}, ...(fault.headers ? { headers: fault.headers } : {}) });
        if (fault?.kind === 'malformed') return sendJson(res, { status: 200, body: '{"token": "trunc', headers: { 'Content-Type': 'application/json' } });
        if (fault?.kind === 'wrong-shape') return sendJson(res, { status: 200, body: { unexpected: true, items: [1, 2, 3] } });
        try {
          const answer = await handler(recorded);
          sendJson(res, answer ?? { status: 404, body: { code: 'NOT_FOUND', message: 'No such route.' } });
        } catch {
          sendJson(res, { status: 500, body: { code: 'INTERNAL', message: 'Fake vendor failed.' } });
        }
      })();
    });
  });
  server.keepAliveTimeout = 5000;
  server.on('connection', (socket: Socket) => {
    connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    get connections() {
      return connections;
    },
    fault(fault, scope = {}) {
      const active: ActiveFault = { fault, scope, seen: 0, applied: 0 };
      faults.push(active);
      return () => {
        faults = faults.filter((f) => f !== active);
      };
    },
    clearFaults() {
      faults = [];
    },
    close() {
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
        // pending latency faults would otherwise keep the process alive
        for (const t of timers) clearTimeout(t);
        timers.clear();
      });
    },
  };
}
