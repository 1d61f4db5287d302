/**
 * The suite-wide leak watch, run in every test file (jest `setupFilesAfterEnv`).
 *
 * It records every secret a router (or a vendor client, or a token provider) of the
 * library is configured with, as the library builds its redactor for it, and searches
 * for each of them, in every encoding the redactor handles and pieces of it
 * (`secretTraceFinder`, written without the library's code):
 *
 * - every answer an Express app sends in this process (status line, headers and body):
 *   the routers' answers and the host apps' around them; the vendor fakes, which are
 *   not Express apps and receive secrets by design, are left out;
 * - every event given to a `captureLogger()` logger;
 * - everything written to `process.stdout`, `process.stderr` and `console`.
 *
 * A find fails the file in `afterAll`, naming the secret by number and length and where
 * it was seen, never its value. A test that writes a secret on purpose (to check the
 * search itself) wraps that code in `allowSecretsWhile`.
 */
import { ServerResponse } from 'node:http';
import * as logger from '../../lib/core/logger';
import { secretTraceFinder } from '../helpers/secret-trace';

interface Watch {
  inspect(where: string, text: string): void;
  secrets: string[];
  finder?: ((text: string) => string | undefined) | undefined;
  finds: string[];
  paused: number;
  seen: number;
}

const WATCH = Symbol.for('express-widget-auth.leak-watch');
type WatchedGlobal = typeof globalThis & { [WATCH]?: Watch };

const watch: Watch = { inspect, secrets: [], finds: [], paused: 0, seen: 0 };
(globalThis as WatchedGlobal)[WATCH] = watch;

/** Secrets shorter than this are toy values of unit tests of the redactor, not configuration. */
const MIN_SECRET = 8;

function remember(values: readonly unknown[]): void {
  for (const value of values) {
    if (typeof value !== 'string' || value.length < MIN_SECRET || watch.secrets.includes(value)) continue;
    watch.secrets.push(value);
    watch.finder = undefined;
  }
}

/** Search `text` (seen at `where`) for every secret configured so far. */
function inspect(where: string, text: string): void {
  if (watch.paused > 0 || watch.secrets.length === 0 || text.length === 0) return;
  watch.seen++;
  watch.finder ??= secretTraceFinder(Object.fromEntries(watch.secrets.map((s, i) => [`secret #${i + 1} (${s.length} characters)`, s])));
  const found = watch.finder(text);
  if (found !== undefined && watch.finds.length < 20) watch.finds.push(`${found} in ${where} (test: ${expect.getState().currentTestName ?? 'outside a test'})`);
}

/** Run `work` without the watch: for tests that print a secret on purpose. */
export async function allowSecretsWhile<T>(work: () => T | Promise<T>): Promise<T> {
  watch.paused++;
  try {
    return await work();
  } finally {
    watch.paused--;
  }
}

/**
 * What this file replaced, put back after it: `ServerResponse.prototype` and the
 * process's streams outlive the file in its jest worker, and a wrapper left behind would
 * search every later file's answers and console output for this file's secrets, ever
 * more wrappers deep.
 */
const restore: (() => void)[] = [];

// --- what the library is configured with -------------------------------------------
const original = logger.createSecretMatcher;
(logger as { createSecretMatcher: typeof original }).createSecretMatcher = (secrets) => {
  remember(secrets);
  return original(secrets);
};

// --- what Express apps answer ---------------------------------------------------------
type Recorded = ServerResponse & { [WATCH]?: Buffer[] };
const isExpress = (res: ServerResponse): boolean => 'app' in res && typeof (res as { app?: unknown }).app === 'function';
const chunk = (data: unknown, encoding: unknown): Buffer | undefined =>
  typeof data === 'string' ? Buffer.from(data, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8') : data instanceof Uint8Array ? Buffer.from(data) : undefined;

const { write, end } = ServerResponse.prototype;
restore.push(() => {
  ServerResponse.prototype.write = write;
  ServerResponse.prototype.end = end;
});
ServerResponse.prototype.write = function (this: Recorded, data: unknown, ...rest: unknown[]) {
  if (isExpress(this)) {
    const bytes = chunk(data, rest[0]);
    if (bytes) (this[WATCH] ??= []).push(bytes);
  }
  return (write as (...args: unknown[]) => boolean).call(this, data, ...rest);
} as typeof write;
ServerResponse.prototype.end = function (this: Recorded, ...args: unknown[]) {
  if (isExpress(this)) {
    const bytes = typeof args[0] === 'function' ? undefined : chunk(args[0], args[1]);
    const body = Buffer.concat([...(this[WATCH] ?? []), ...(bytes ? [bytes] : [])]).toString('utf8');
    delete this[WATCH];
    const headers = Object.entries(this.getHeaders()).map(([name, value]) => `${name}: ${String(value)}`).join('\n');
    const req = this.req as { method?: string; originalUrl?: string; url?: string } | undefined;
    inspect(`the answer to ${req?.method ?? '?'} ${(req?.originalUrl ?? req?.url ?? '?').split('?')[0]} (${this.statusCode})`, `${this.statusCode} ${this.statusMessage ?? ''}\n${headers}\n\n${body}`);
  }
  return (end as (...args: unknown[]) => ServerResponse).apply(this, args);
} as typeof end;

// --- what reaches the console -----------------------------------------------------------
for (const stream of [process.stdout, process.stderr]) {
  const streamWrite = stream.write;
  restore.push(() => {
    stream.write = streamWrite;
  });
  stream.write = function (this: NodeJS.WriteStream, data: unknown, ...rest: unknown[]) {
    const bytes = chunk(data, rest[0]);
    if (bytes) inspect(stream === process.stdout ? 'stdout' : 'stderr', bytes.toString('utf8'));
    return (streamWrite as (...args: unknown[]) => boolean).call(this, data, ...rest);
  } as typeof streamWrite;
}
for (const level of ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const) {
  const method = console[level];
  restore.push(() => {
    console[level] = method;
  });
  console[level] = (...args: unknown[]) => {
    inspect(`console.${level}`, args.map((a) => (typeof a === 'string' ? a : safeJson(a))).join(' '));
    method.apply(console, args);
  };
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

afterAll(() => {
  // last in, first out: each put back as it was found
  for (const put of restore.reverse()) put();
  if (watch.finds.length > 0) {
    throw new Error(`A configured secret was found where it must never be:\n- ${watch.finds.join('\n- ')}`);
  }
});
