/**
 * Run as its own process by upstream-tls.once.test.ts, with NODE_EXTRA_CA_CERTS naming
 * the loopback test certificate (Node reads it only at start-up): calls the https URL
 * given as argument three times through a vendor client and prints what came back.
 */
import { z } from 'zod';
import { createUpstreamClient } from '../../lib/core/upstream';

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
  process.stdout.write(JSON.stringify({ values }));
}

main().catch((err: unknown) => {
  process.stdout.write(JSON.stringify({ error: (err as Error).message, cause: ((err as Error).cause as Error | undefined)?.message }));
});
