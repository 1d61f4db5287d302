import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { hissunoTokenRouter } from '../lib';
import { EXPRESS_MAJOR, buildApp, captureLogger } from './helpers/app';
import { TEST_PATH, expectErrorBody, testApp } from './helpers/pipeline';

/**
 * Values a route step may throw that are not errors: `null` and `undefined` (which
 * `next()` would read as "nothing failed", letting the request fall through to the host's
 * next route), a revoked Proxy and a Proxy whose `getPrototypeOf` trap throws (which make
 * `instanceof` throw: in the report of the failure, that was an unhandled rejection that
 * ended the process). Each must answer 500 `INTERNAL_ERROR` in the vendor's JSON shape.
 */

function revokedProxy(): object {
  const { proxy, revoke } = Proxy.revocable({}, {});
  revoke();
  return proxy;
}

const trapProxy = (): object =>
  new Proxy(
    {},
    {
      getPrototypeOf() {
        throw new Error('trap');
      },
    },
  );

const THROWN: [string, () => unknown][] = [
  ['null', () => null],
  ['undefined', () => undefined],
  ['a revoked Proxy', revokedProxy],
  ['a Proxy whose getPrototypeOf trap throws', trapProxy],
];

describe(`values thrown by a route step that are not errors (Express ${EXPRESS_MAJOR})`, () => {
  let rejections: unknown[];
  const onRejection = (reason: unknown) => rejections.push(reason);
  beforeEach(() => {
    rejections = [];
    process.on('unhandledRejection', onRejection);
  });
  afterEach(() => {
    process.off('unhandledRejection', onRejection);
  });

  it.each(THROWN)('a handler throwing %s answers 500 INTERNAL_ERROR, never the host’s next route, with the report on (the default)', async (_what, make) => {
    const logger = captureLogger();
    const app = testApp({
      logger,
      handle: () => {
        throw make();
      },
    });
    // a host route after the router: a request that falls through would reach it
    app.get(TEST_PATH, (_req, res) => void res.status(200).send('<html>host page</html>'));
    const res = await request(app).get(TEST_PATH).set('x-test-user', 'ada');
    expectErrorBody(res, 500, 'INTERNAL_ERROR');
    await new Promise((resolve) => setImmediate(resolve));
    expect(rejections).toEqual([]);
    const event = logger.events.find((e) => (e.obj as { status?: number }).status === 500);
    expect(event).toBeDefined();
  });

  it.each(THROWN)('Hissuno: a userMetadata hook throwing %s answers 500 in Hissuno’s shape', async (_what, make) => {
    const app = buildApp(
      hissunoTokenRouter({
        secretKey: randomBytes(32).toString('hex'),
        resolveUser: () => ({ id: 'ada' }),
        userMetadata: () => {
          throw make();
        },
      }),
    );
    const res = await request(app).get('/api/hissuno-token');
    expect(res.status).toBe(500);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.body).toEqual({ error: 'Internal error' });
    await new Promise((resolve) => setImmediate(resolve));
    expect(rejections).toEqual([]);
  });
});
