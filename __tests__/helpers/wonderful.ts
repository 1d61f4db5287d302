import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type express from 'express';
import { wonderfulTokenRouter, type WonderfulTokenRouterOptions } from '../../lib';
import { startFakeWonderful, type FakeWonderful, type FakeWonderfulOptions } from '../../lib/testing';
import { buildApp, testResolveUser } from './app';

/** The API key the fake Wonderful accepts; it must never reach a response or a log. */
export const WONDERFUL_KEY = 'wk_test_5f2c8e1a9b7d4c3e0a6f';

/** A UUID no test user owns. */
export const STRANGER_ENTITY = '0b7e8a52-3c1d-4f6e-9a2b-7c8d9e0f1a2b';

/** Start a fake Wonderful accepting {@link WONDERFUL_KEY}. */
export function startWonderful(options: Partial<FakeWonderfulOptions> = {}): Promise<FakeWonderful> {
  return startFakeWonderful({ apiKey: WONDERFUL_KEY, ...options });
}

/** An app serving `wonderfulTokenRouter` against `fake`, signing in with the `x-test-user` header. */
export function wonderfulApp(fake: FakeWonderful, options: Partial<WonderfulTokenRouterOptions> = {}): express.Express {
  return buildApp(wonderfulTokenRouter({ baseUrl: fake.url, apiKey: WONDERFUL_KEY, resolveUser: testResolveUser, ...options }));
}

/** Listen on an ephemeral loopback port (for many concurrent requests to one server). */
export async function listen(app: express.Express): Promise<{ server: Server; url: string; close(): Promise<void> }> {
  const server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    server,
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
