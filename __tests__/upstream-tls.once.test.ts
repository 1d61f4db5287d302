/**
 * The vendor client over TLS, as it runs against every real vendor. Node takes extra
 * trusted certificates only at start-up, so the client runs in a child process told to
 * trust the loopback test certificate; the server runs here.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

const CERT = join(__dirname, 'fixtures', 'loopback-tls.crt');
const TSX = join(__dirname, '..', 'node_modules', '.bin', 'tsx');

function runClient(url: string, env: NodeJS.ProcessEnv): Promise<{ values?: string[]; error?: string; cause?: string; lingerMs: number }> {
  return new Promise((resolve, reject) => {
    execFile(TSX, [join(__dirname, 'helpers', 'tls-client.ts'), url], { env, timeout: 30_000 }, (err, stdout) => {
      if (err) reject(err);
      else resolve(JSON.parse(stdout) as { values?: string[]; error?: string; cause?: string; lingerMs: number });
    });
  });
}

describe('the vendor client over https', () => {
  let server: https.Server;
  let url: string;
  let connections = 0;

  beforeAll(async () => {
    server = https.createServer({ key: readFileSync(join(__dirname, 'fixtures', 'loopback-tls.key')), cert: readFileSync(CERT) }, (req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => (body += chunk));
      req.on('end', () => {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ value: `${req.method} ${req.url} ${body}` }));
      });
    });
    server.on('secureConnection', () => connections++);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/v1/things`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  beforeEach(() => {
    connections = 0;
  });

  it('calls a trusted https vendor, sends the body, reuses one connection, and lets the process exit', async () => {
    const { lingerMs, ...out } = await runClient(url, { ...process.env, NODE_EXTRA_CA_CERTS: CERT });
    expect(out).toEqual({ values: ['POST /v1/things {"i":0}', 'POST /v1/things {"i":1}', 'POST /v1/things {"i":2}'] });
    expect(connections).toBe(1);
    // the pooled connection is still open, and neither it nor the sweep that closes it
    // after 4 s idle keeps the process up: it exits as soon as its work is done
    expect(lingerMs).toBeLessThan(1000);
  });

  it('refuses the same vendor when its certificate is not trusted', async () => {
    const env = { ...process.env };
    delete env['NODE_EXTRA_CA_CERTS'];
    delete env['NODE_TLS_REJECT_UNAUTHORIZED'];
    const { lingerMs, ...out } = await runClient(url, env);
    expect(out).toEqual({ error: 'Vendor could not be reached.', cause: 'DEPTH_ZERO_SELF_SIGNED_CERT' });
    expect(lingerMs).toBeLessThan(1000);
  });
});
