/**
 * Run as its own process by upstream-tls.once.test.ts, with NODE_EXTRA_CA_CERTS naming
 * the loopback test certificate (Node reads it only at start-up): calls the https URL
 * given as argument three times through a vendor client and prints what came back, and,
 * when the process exits, how long it stayed up after the last call (its pooled
 * connection and the pool's sweep must not keep it running).
 */
import { z } from 'zod';
import { createUpstreamClient } from '../../lib/core/upstream';

let out: Record<string, unknown> = {};
let doneAt = 0;
process.on('exit', () => process.stdout.write(JSON.stringify({ ...out, lingerMs: Math.round(performance.now() - doneAt) })));

async function main(): Promise<void> {
  const url = process.argv[2];
  if (!url) throw new Error('usage: tls-client <https url>');
  const client = createUpstreamClient('Vendor', { timeoutMs: 2000, retries: 0 });
  const values: string[] = [];
  for (let i = 0; i < 3; i++) {
    const { data } = await client.call({ url, method: 'POST', body: { i }, schema: z.object({ value: z.string() }) });
    values.push(data.value);
    await new Promise((resolve) => setImmediate(resolve));
  }
  out = { values };
}

main()
  .catch((err: unknown) => {
    out = { error: (err as Error).message, cause: ((err as Error).cause as Error | undefined)?.message };
  })
  .finally(() => (doneAt = performance.now()));
