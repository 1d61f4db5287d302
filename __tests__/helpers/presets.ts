/**
 * Cases every vendor preset built on widgetCredentialRouter shares: who may call (401,
 * 405, a refused origin), identity from resolveUser only, start-up errors, and mounting
 * from the environment with widgetAuth. Each vendor's test file adds what its vendor
 * checks (the credential, verified by independent code).
 */
import type { Router } from 'express';
import request from 'supertest';
import { WidgetAuthConfigError, widgetAuth, type WidgetAuthVendor } from '../../lib';
import { buildApp, captureLogger, expectNoSecrets, testResolveUser, withTokensDecoded } from './app';

/** The problems of the WidgetAuthConfigError `make` throws. */
export function configProblems(make: () => unknown): string[] {
  try {
    make();
  } catch (err) {
    if (err instanceof WidgetAuthConfigError) return [...err.problems];
    throw err;
  }
  throw new Error('no configuration error was thrown');
}

export interface PresetCase {
  /** The factory, e.g. `intercomIdentityRouter`. */
  factory: (options: never) => Router;
  /** Its name, as it appears in messages. */
  name: string;
  /** Options with the secret(s), without resolveUser. */
  options: Record<string, unknown>;
  /** The option holding the secret. */
  secretOption: string;
  /** Its default path. */
  path: string;
  /** Every secret configured, for the leak checks. */
  secrets: string[];
  /** The vendor's name in widgetAuth. */
  vendor: WidgetAuthVendor;
  /** An environment configuring the vendor. */
  env: Record<string, string>;
  /** Reads the user id out of a 200 answer (decoding the credential, never verifying it). */
  userIdOf: (body: Record<string, unknown>) => string;
}

/** Registers the shared cases of one preset in the current describe block. */
export function presetCommonCases(c: PresetCase): void {
  const build = (extra: Record<string, unknown> = {}) => (c.factory as (o: Record<string, unknown>) => Router)({ ...c.options, resolveUser: testResolveUser, ...extra });

  it('takes the identity from resolveUser only: a user_id in the query or body is ignored', async () => {
    const app = buildApp(build());
    const get = await request(app).get(`${c.path}?user_id=evil&userId=evil&id=evil&external_id=evil`).set('x-test-user', 'ada');
    const post = await request(app).post(c.path).set('x-test-user', 'ada').send({ user_id: 'evil', userId: 'evil', id: 'evil', external_id: 'evil' });
    for (const res of [get, post]) {
      expect(res.status).toBe(200);
      expect(c.userIdOf(res.body)).toBe('user-ada');
      // read through the credential's decoding: its claims must not hold the value, and its signature may spell anything
      expect(withTokensDecoded(res.text)).not.toContain('evil');
    }
  });

  it('answers 401 UNAUTHORIZED to GET and POST when nobody is signed in', async () => {
    const app = buildApp(build());
    for (const method of ['get', 'post'] as const) {
      const res = await request(app)[method](c.path).send(method === 'post' ? { user_id: 'user-ada' } : undefined);
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('UNAUTHORIZED');
    }
  });

  it('answers 405 METHOD_NOT_ALLOWED with Allow: GET, POST to other methods', async () => {
    const res = await request(buildApp(build())).delete(c.path).set('x-test-user', 'ada');
    expect(res.status).toBe(405);
    expect(res.headers['allow']).toBe('GET, POST');
    expect(res.body.error.code).toBe('METHOD_NOT_ALLOWED');
  });

  it('refuses a call from another site with 403 FORBIDDEN_ORIGIN and serves the allowed one with CORS', async () => {
    const app = buildApp(build({ allowedOrigins: ['https://app.example.com'], cors: true }));
    const evil = await request(app).post(c.path).set('x-test-user', 'ada').set('Origin', 'https://evil.example.net');
    expect(evil.status).toBe(403);
    expect(evil.body.error.code).toBe('FORBIDDEN_ORIGIN');
    const good = await request(app).post(c.path).set('x-test-user', 'ada').set('Origin', 'https://app.example.com');
    expect(good.status).toBe(200);
    expect(good.headers['access-control-allow-origin']).toBe('https://app.example.com');
  });

  it('logs one event per request without the secret', async () => {
    const logger = captureLogger();
    const app = buildApp(build({ logger }));
    const res = await request(app).get(c.path).set('x-test-user', 'ada');
    expect(res.status).toBe(200);
    expect(logger.events).toHaveLength(1);
    expectNoSecrets(logger.text(), c.secrets);
    expectNoSecrets(JSON.stringify(res.headers), c.secrets);
  });

  it('refuses at start-up a missing, short or placeholder secret and an unknown option, naming the option, never the value', () => {
    const without = { ...c.options };
    delete without[c.secretOption];
    expect(configProblems(() => build({ [c.secretOption]: undefined, ...without })).join('\n')).toMatch(new RegExp(`\\b${c.secretOption}\\b.*required|required.*\\b${c.secretOption}\\b`));
    for (const bad of ['changeme', 'short-8X', 'your-secret-key-goes-here', 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa']) {
      const problems = configProblems(() => build({ [c.secretOption]: bad }));
      expect(problems).toEqual(expect.arrayContaining([expect.stringMatching(new RegExp(`^${c.secretOption}: `))]));
      expect(problems.join('\n')).not.toContain(bad);
    }
    expect(configProblems(() => build({ alowedOrigins: [] }))).toEqual(['alowedOrigins: unknown option (did you mean `allowedOrigins`?)']);
    expect(configProblems(() => build({ resolveUser: 'nobody' }))).toEqual(['resolveUser: must be a function (req) => user | null']);
  });

  it(`tells a function given as its options apart: ${c.name} itself (mounted uncalled), or resolveUser alone`, () => {
    expect(() => (c.factory as (o: unknown) => Router)(c.factory)).toThrow(new RegExp(`did you write \`app.use\\(${c.name}\\)\``));
    expect(() => (c.factory as (o: unknown) => Router)(() => undefined)).toThrow(new RegExp(`resolveUser goes inside the options: ${c.name}\\(\\{ …, resolveUser \\}\\)`));
  });

  it('is mounted by widgetAuth from its environment variables', async () => {
    const router = widgetAuth({ resolveUser: testResolveUser, env: c.env, vendors: { [c.vendor]: true } });
    expect(router.mounted).toEqual([c.vendor]);
    expect(router.routes).toEqual([{ vendor: c.vendor, path: c.path, methods: ['GET', 'POST'] }]);
    const res = await request(buildApp(router)).get(c.path).set('x-test-user', 'ada');
    expect(res.status).toBe(200);
    expect(c.userIdOf(res.body)).toBe('user-ada');
    // detected without being named
    expect(widgetAuth({ resolveUser: testResolveUser, env: c.env }).mounted).toEqual([c.vendor]);
  });
}
