import { spawn, type ChildProcess } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { freePort } from './helpers/redis';

/**
 * `npm run demo` opens its port before the app is built (the app needs its own origin,
 * which includes the port). A request that arrives in that window must be answered,
 * not accepted and left hanging.
 */

const ROOT = join(__dirname, '..');
const TSX = join(ROOT, 'node_modules', '.bin', 'tsx');
/** How long a request sent during start-up may wait for its answer. */
const ANSWER_WITHIN_MS = 20_000;

/** A connection to `port` made as soon as it opens: a new attempt 2 ms after each refusal. */
function connectWhenOpen(port: number, child: ChildProcess, timeoutMs: number): Promise<Socket> {
  const deadline = performance.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      if (child.exitCode !== null || child.signalCode !== null) return reject(new Error(`the demo exited (${child.exitCode ?? child.signalCode}) before its port opened`));
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.removeAllListeners('error');
        resolve(socket);
      });
      socket.once('error', () => {
        socket.destroy();
        if (performance.now() > deadline) reject(new Error(`port ${port} did not open within ${timeoutMs} ms`));
        else setTimeout(attempt, 2);
      });
    };
    attempt();
  });
}

/** Everything the server sends until it closes the connection, or `undefined` when nothing complete came within `ms`. */
function readAnswer(socket: Socket, ms: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(undefined);
    }, ms);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
    socket.once('error', () => undefined);
  });
}

describe('npm run demo, while it starts', () => {
  jest.setTimeout(90_000);

  let child: ChildProcess | undefined;
  afterEach(async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child!.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
  });

  it('answers a request sent the moment its port opens, once it is ready', async () => {
    const port = await freePort();
    child = spawn(TSX, [join('demo-app', 'server.ts')], {
      cwd: ROOT,
      env: { PATH: process.env['PATH'], PORT: String(port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const events: string[] = [];
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
      if (output.includes('demo running at') && !events.includes('ready')) events.push('ready');
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });

    const socket = await connectWhenOpen(port, child, 60_000);
    events.push('connected');
    const started = performance.now();
    socket.write(`GET / HTTP/1.1\r\nHost: localhost:${port}\r\nConnection: close\r\n\r\n`);
    const answer = await readAnswer(socket, ANSWER_WITHIN_MS);
    const waitedMs = Math.round(performance.now() - started);

    // the request went in before the demo said it was ready: the window this test is about
    expect(events[0]).toBe('connected');
    if (answer === undefined) throw new Error(`no answer within ${ANSWER_WITHIN_MS} ms to a request sent as the port opened; demo output:\n${output}`);
    expect(answer.split('\r\n')[0]).toBe('HTTP/1.1 200 OK');
    expect(answer).toContain('Sign in as a demo user');
    expect(waitedMs).toBeLessThan(ANSWER_WITHIN_MS);

    // and the demo serves as usual afterwards
    const again = connect(port, '127.0.0.1');
    again.write(`GET / HTTP/1.1\r\nHost: localhost:${port}\r\nConnection: close\r\n\r\n`);
    expect((await readAnswer(again, ANSWER_WITHIN_MS))?.split('\r\n')[0]).toBe('HTTP/1.1 200 OK');
    expect(events).toContain('ready');
  });
});
