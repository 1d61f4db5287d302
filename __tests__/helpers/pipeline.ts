import type express from 'express';
import type { Response } from 'supertest';
import { z } from 'zod';
import type { ResolveUser } from '../../lib';
import { parseOptions } from '../../lib/core/config';
import { jsonErrorContract } from '../../lib/core/contract';
import {
  checkCommonOptions,
  commonOptionsShape,
  createWidgetRouter,
  resolveUserSchema,
  type CommonRouterOptions,
  type RouteSpec,
} from '../../lib/core/pipeline';
import { buildApp, testResolveUser } from './app';

/** Route of the test router unless `path` says otherwise. */
export const TEST_PATH = '/api/test';

/** The secret the test router declares; it must never reach a response or a log. */
export const PIPELINE_SECRET = 'pipeline-secret-0123456789abcdef';

/** Options of {@link testRouter}: the common router options plus the route's behaviour. */
export interface TestRouterOptions extends CommonRouterOptions {
  /** Defaults to {@link testResolveUser}; `null` means the router takes no resolveUser at all. */
  resolveUser?: ResolveUser | null;
  /** Defaults to `false`. */
  requireUser?: boolean;
  /** Defaults to `['GET', 'POST']`. */
  methods?: RouteSpec['methods'];
  /** Defaults to echoing `{ user, body }`. */
  handle?: RouteSpec['handle'];
}

const testOptionsSchema = z
  .object({ ...commonOptionsShape, resolveUser: resolveUserSchema.optional() })
  .strict()
  .superRefine(checkCommonOptions);

const echo: RouteSpec['handle'] = ({ user, body }) => ({ user: user?.id ?? null, body });

/**
 * A router on the shared pipeline with the `{"error":{"code","message"}}` contract of
 * vendor `"test"`, its options checked by the same schema every vendor spreads in.
 */
export function testRouter(options: TestRouterOptions = {}): express.Router {
  const { requireUser = false, methods = ['GET', 'POST'], handle = echo, resolveUser, ...common } = options;
  const config = parseOptions('testRouter', testOptionsSchema, {
    ...common,
    resolveUser: resolveUser === null ? undefined : (resolveUser ?? testResolveUser),
  });
  return createWidgetRouter(jsonErrorContract('test'), config, {
    secrets: [PIPELINE_SECRET],
    routes: [{ path: config.path ?? TEST_PATH, methods, requireUser, handle }],
  });
}

/** {@link buildApp} around {@link testRouter}. */
export function testApp(options: TestRouterOptions = {}, setup?: (app: express.Express) => void): express.Express {
  return buildApp(testRouter(options), setup);
}

/** Assert the headers every answer of the library's routes carries. */
export function expectWidgetHeaders(res: Response): void {
  expect(res.headers['cache-control']).toBe('no-store');
  expect(res.headers['x-content-type-options']).toBe('nosniff');
  expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
}

/** Assert a `{"error":{"code","message"}}` answer with nothing else in it. */
export function expectErrorBody(res: Response, status: number, code: string): void {
  expect({ status: res.status, code: res.body?.error?.code }).toEqual({ status, code });
  expect(Object.keys(res.body.error).sort()).toEqual(expect.arrayContaining(['code', 'message']));
  expect(typeof res.body.error.message).toBe('string');
  expect(res.text).not.toMatch(/\n\s+at /); // no stack trace
}

/**
 * Wait until `events` holds at least `count` entries. The log event is written on the
 * response's `finish`, which may land just after the client has read the answer.
 */
export async function waitForEvents(events: readonly unknown[], count: number): Promise<void> {
  for (let i = 0; i < 50 && events.length < count; i++) await new Promise((resolve) => setTimeout(resolve, 2));
}
