/**
 * A vendor stand-in for the remoteCredential tests: a real HTTP server on 127.0.0.1 that
 * mints `tok-<n>-<user id>` for the `user_id` in the body when called with the bearer key,
 * counts its calls, and can be made slow, down, refusing, hanging or answer without a token.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { z } from 'zod';

export const API_KEY = 'acme_sk_Jq7Vd2Lx9Pw4Tn6Rb3Ks8Hf5';
export const T0 = Date.parse('2026-03-01T08:00:00Z');
export const LIFE = 600; // seconds

export type Mode = 'ok' | 'down' | 'hang' | 'refuse401' | 'refuse403' | 'expired' | 'echo-key' | 'no-token';

/** The vendor stand-in: mints `tok-<n>` for the user in the body, with the bearer key only. */
export interface Vendor {
  url: string;
  calls: { user: string; auth: string | undefined }[];
  mode: Mode;
  latencyMs: number;
  close(): Promise<void>;
}

export async function startVendor(now: () => number): Promise<Vendor> {
  const vendor: Vendor = { url: '', calls: [], mode: 'ok', latencyMs: 0, close: async () => undefined };
  const sockets = new Set<Socket>();
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let text = '';
    req.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
    req.on('end', () => {
      const body = JSON.parse(text || '{}') as { user_id?: string };
      vendor.calls.push({ user: body.user_id ?? '', auth: req.headers.authorization });
      const answer = (status: number, json: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json', 'x-request-id': `req-${vendor.calls.length}` });
        res.end(JSON.stringify(json));
      };
      const reply = () => {
        if (vendor.mode === 'hang') return; // never answers
        if (vendor.mode === 'down') return answer(503, { code: 'maintenance' });
        if (req.headers.authorization !== `Bearer ${API_KEY}` || vendor.mode === 'refuse401') return answer(401, { code: 'invalid_api_key' });
        if (vendor.mode === 'refuse403') return answer(403, { code: `forbidden for key ${API_KEY}` });
        const exp = Math.floor(now() / 1000) + (vendor.mode === 'expired' ? -5 : LIFE);
        if (vendor.mode === 'no-token') return answer(200, { expires_at: exp, note: `user ${body.user_id}` });
        const token = vendor.mode === 'echo-key' ? `tok-${API_KEY}` : `tok-${vendor.calls.length}-${body.user_id}`;
        answer(200, { token, expires_at: exp });
      };
      if (vendor.latencyMs > 0) setTimeout(reply, vendor.latencyMs);
      else reply();
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  vendor.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/widget-tokens`;
  vendor.close = () =>
    new Promise((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    });
  return vendor;
}

/** The stand-in's answer. */
export const Token = z.object({ token: z.string(), expires_at: z.number() });
