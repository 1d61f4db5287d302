/**
 * Entry point of the fake-vendor process: the fakes of `lib/testing` on 127.0.0.1,
 * kept out of the server processes so that their work never counts as server CPU time.
 * Nevermined and Wonderful each get two fakes — one behind the router under test (so
 * that its connection count is the router's alone) and one for the direct load;
 * Liveblocks and HubSpot one each, for their routers and hand-written handlers alike.
 *
 * The fakes record every request; the records are dropped once counted, so that a long
 * run does not grow this process without bound.
 */
import { startFakeHubSpot, startFakeLiveblocks, startFakeNeuroon, startFakeNevermined, startFakeWonderful, type FakeServer } from '../lib/testing';
import { HUBSPOT_ACCESS_TOKEN, LIVEBLOCKS_BENCH, NEUROON_API_KEY, NEUROON_COLD_SHOPS, NEUROON_WARM_SHOP, NEVERMINED_ORG, WONDERFUL_API_KEY } from './fixtures';
import type { FakeCounts, FakeName, FakesCommand, FakesReply } from './protocol';

const ISSUE_PATH = /^\/api\/shops\/([^/]+)\/widget-token$/;

function send(reply: FakesReply, then?: () => void): void {
  if (process.send) process.send(reply, undefined, {}, () => then?.());
  else then?.();
}

/** Records that must not pile up, besides `requests`. */
type Drainable = FakeServer & { sessions?: unknown[]; errors?: unknown[]; issued?: unknown[] };

async function main(): Promise<void> {
  const orgs = { [NEVERMINED_ORG.orgId]: { secret: NEVERMINED_ORG.rawSecret } };
  const shops = Object.fromEntries([NEUROON_WARM_SHOP, ...NEUROON_COLD_SHOPS].map((id) => [id, { apiKey: NEUROON_API_KEY }]));
  const fakes: Record<FakeName, Drainable> = {
    nevermined: await startFakeNevermined({ orgs }),
    neverminedDirect: await startFakeNevermined({ orgs }),
    wonderful: await startFakeWonderful({ apiKey: WONDERFUL_API_KEY }),
    wonderfulDirect: await startFakeWonderful({ apiKey: WONDERFUL_API_KEY }),
    neuroon: await startFakeNeuroon({ shops }),
    liveblocks: await startFakeLiveblocks({ secret: LIVEBLOCKS_BENCH.secretKey }),
    hubspot: await startFakeHubSpot({ accessToken: HUBSPOT_ACCESS_TOKEN }),
  };
  const names = Object.keys(fakes) as FakeName[];
  const seen = Object.fromEntries(names.map((n) => [n, 0])) as Record<FakeName, number>;
  const neuroonIssues: Record<string, number> = {};
  const neuroonIssueTimes: Record<string, number[]> = {};

  const drain = (): void => {
    for (const name of names) {
      const fake = fakes[name];
      if (name === 'neuroon') {
        for (const req of fake.requests) {
          const raw = ISSUE_PATH.exec(req.path)?.[1];
          if (raw === undefined) continue;
          const shop = decodeURIComponent(raw);
          neuroonIssues[shop] = (neuroonIssues[shop] ?? 0) + 1;
          const times = (neuroonIssueTimes[shop] ??= []);
          if (times.length < 100) times.push(req.receivedAt);
        }
      }
      seen[name] += fake.requests.length;
      // same array objects: the fakes keep pushing into them
      fake.requests.length = 0;
      if (fake.sessions) fake.sessions.length = 0;
      if (fake.errors) fake.errors.length = 0;
      if (fake.issued) fake.issued.length = 0;
    }
  };
  setInterval(drain, 1000).unref();

  process.on('message', (message: FakesCommand) => {
    switch (message.cmd) {
      case 'counts': {
        drain();
        const counts = Object.fromEntries(names.map((n) => [n, { connections: fakes[n].connections, requests: seen[n] } satisfies FakeCounts])) as Record<FakeName, FakeCounts>;
        send({ id: message.id, type: 'counts', counts, neuroonIssues: { ...neuroonIssues }, neuroonIssueTimes: { ...neuroonIssueTimes } });
        break;
      }
      case 'latency':
        fakes[message.fake].fault({ kind: 'latency', ms: message.ms }, message.path === undefined ? {} : { path: message.path });
        send({ id: message.id, type: 'ok' });
        break;
      case 'clear-faults':
        for (const name of names) fakes[name].clearFaults();
        send({ id: message.id, type: 'ok' });
        break;
    }
  });
  process.on('disconnect', () => process.exit(0));
  send({ type: 'ready', urls: Object.fromEntries(names.map((n) => [n, fakes[n].url])) as Record<FakeName, string> });
}

main().catch((err: unknown) => send({ type: 'failed', message: err instanceof Error ? err.message : String(err) }, () => process.exit(1)));
