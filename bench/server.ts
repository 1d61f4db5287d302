/**
 * Entry point of one benchmark server process. Serves the app named by the
 * `BENCH_APP` environment variable (JSON {@link AppConfig}) on 127.0.0.1 and, on the
 * orchestrator's `start`/`stop` messages, reports the process's CPU time
 * (`process.cpuUsage()`), the requests received in between and, when asked, RSS samples
 * and arrival times.
 */
import type { AddressInfo } from 'node:net';
import { buildBenchApp, type AppConfig } from './apps';
import type { ServerCommand, ServerReply } from './protocol';

function send(reply: ServerReply, then?: () => void): void {
  if (process.send) process.send(reply, undefined, {}, () => then?.());
  else then?.();
}

function main(): void {
  const config = JSON.parse(process.env['BENCH_APP'] ?? '{}') as AppConfig;
  const app = buildBenchApp(config);

  let requests = 0;
  let arrivals: number[] | undefined;
  let rss: number[] = [];
  let sampler: NodeJS.Timeout | undefined;
  let cpuAtStart = process.cpuUsage();

  // a deep backlog: the cold-start trial opens 1,000 connections at once
  const server = app.listen(0, '127.0.0.1', 2048, () => send({ type: 'ready', port: (server.address() as AddressInfo).port }));
  server.keepAliveTimeout = 30_000;
  server.on('request', () => {
    requests++;
    arrivals?.push(Date.now());
  });
  server.on('error', (err) => send({ type: 'failed', message: err.message }, () => process.exit(1)));

  process.on('message', (message: ServerCommand) => {
    switch (message.cmd) {
      case 'start':
        requests = 0;
        rss = [];
        arrivals = message.recordArrivals ? [] : undefined;
        if (message.sampleRssMs) {
          rss.push(process.memoryUsage.rss());
          sampler = setInterval(() => rss.push(process.memoryUsage.rss()), message.sampleRssMs);
        }
        cpuAtStart = process.cpuUsage();
        send({ id: message.id, type: 'started' });
        break;
      case 'stop': {
        const cpu = process.cpuUsage(cpuAtStart);
        if (sampler) {
          clearInterval(sampler);
          sampler = undefined;
          rss.push(process.memoryUsage.rss());
        }
        send({ id: message.id, type: 'stopped', window: { cpuUs: cpu.user + cpu.system, cpuSystemUs: cpu.system, requests, rss, arrivals: arrivals ?? [] } });
        arrivals = undefined;
        break;
      }
      case 'rss':
        send({ id: message.id, type: 'rss', rss: process.memoryUsage.rss() });
        break;
    }
  });
  // the orchestrator going away ends the process; exiting (rather than dying of the
  // signal) lets `--cpu-prof` write its profile
  process.on('disconnect', () => process.exit(0));
  process.on('SIGTERM', () => process.exit(0));
}

try {
  main();
} catch (err) {
  send({ type: 'failed', message: err instanceof Error ? err.message : String(err) }, () => process.exit(1));
}
