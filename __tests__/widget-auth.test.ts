import type { Store } from 'express-rate-limit';
import jwt from 'jsonwebtoken';
import request from 'supertest';
import {
  HISSUNO_ENV,
  NEUROON_ENV,
  NEUT_ENV,
  NEVERMINED_ENV,
  WIDGET_AUTH_VENDORS,
  WONDERFUL_ENV,
  WidgetAuthConfigError,
  detectWidgetAuthVendors,
  verifyNeutBootstrap,
  widgetAuth,
  wonderfulEntityIdFor,
  type WidgetAuthOptions,
} from '../lib';
import { verifyHissunoToken } from '../lib/testing';
import { EXPRESS_MAJOR, USERS, buildApp, captureLogger, expectNoSecrets, testResolveUser } from './helpers/app';
import { NEUT_BODY, NEUT_HOST_ORIGIN, SECRETS, only, startSandbox, thrownBy, without, type SandboxFakes } from './helpers/widget-auth';

const ALL_VARIABLES = [NEVERMINED_ENV, NEUROON_ENV, HISSUNO_ENV, NEUT_ENV, WONDERFUL_ENV].flat().map((v) => v.name);
const HISSUNO_ONLY = { HISSUNO_SECRET_KEY: SECRETS.hissuno };

/** A store that counts nothing but is accepted by express-rate-limit (for store-sharing rules). */
function countingStore(): Store & { hits: number } {
  const store = {
    hits: 0,
    localKeys: true,
    async increment() {
      store.hits++;
      return { totalHits: store.hits, resetTime: new Date(Date.now() + 60_000) };
    },
    async decrement() {},
    async resetKey() {},
  };
  return store;
}

describe(`widgetAuth (Express ${EXPRESS_MAJOR})`, () => {
  let sandbox: SandboxFakes;
  const logger = captureLogger();
  const answers: string[] = [];
  const secrets = Object.values(SECRETS);

  const mount = (options: Partial<WidgetAuthOptions> = {}) => widgetAuth({ resolveUser: testResolveUser, env: sandbox.env, logger, ...options });

  beforeAll(async () => {
    sandbox = await startSandbox();
  });
  afterEach(() => sandbox.reset());
  afterAll(async () => {
    await sandbox.close();
    expect(logger.events.length).toBeGreaterThan(5);
    expectNoSecrets(logger.text(), secrets);
    for (const text of answers) expectNoSecrets(text, secrets);
  });

  describe('mounting from the environment', () => {
    it('mounts all five vendors when all their variables are set, and lists them and their routes', () => {
      const router = mount();
      expect(router.mounted).toEqual(['nevermined', 'neuroon', 'hissuno', 'neut', 'wonderful']);
      expect(router.routes).toEqual([
        { vendor: 'nevermined', path: '/api/widget-session', methods: ['GET', 'POST'] },
        { vendor: 'neuroon', path: '/api/neuroon-widget-token', methods: ['GET'] },
        { vendor: 'hissuno', path: '/api/hissuno-token', methods: ['GET', 'POST'] },
        { vendor: 'neut', path: '/api/widget-embed-params', methods: ['POST'] },
        { vendor: 'wonderful', path: '/api/sdk-token', methods: ['POST'] },
        { vendor: 'wonderful', path: '/api/refresh-sdk-token', methods: ['POST'] },
      ]);
      expect(Object.isFrozen(router.mounted)).toBe(true);
    });

    it('serves every vendor through the one router, each credential passing its vendor’s own check', async () => {
      const app = buildApp(mount());

      const session = await request(app).get('/api/widget-session').set('x-test-user', 'ada');
      expect(session.status).toBe(200);
      expect(sandbox.nevermined.sessions.map((s) => s.session.sessionToken)).toContain(session.body.sessionToken);

      const neuroon = await request(app).get('/api/neuroon-widget-token');
      expect(neuroon.status).toBe(200);
      expect(sandbox.neuroon.issued.map((i) => i.token)).toContain(neuroon.body.token);

      const hissuno = await request(app).get('/api/hissuno-token').set('x-test-user', 'ada');
      expect(hissuno.status).toBe(200);
      expect(verifyHissunoToken(hissuno.body.token, SECRETS.hissuno).userId).toBe(USERS['ada']!.id);

      const neut = await request(app).post('/api/widget-embed-params').send(NEUT_BODY);
      expect(neut.status).toBe(200);
      expect(verifyNeutBootstrap(neut.body.embed_url, { mintSecret: SECRETS.neut, hostOrigin: NEUT_HOST_ORIGIN }).widgetId).toBe('bill-preview');

      const sdk = await request(app).post('/api/sdk-token').set('x-test-user', 'bob');
      expect(sdk.status).toBe(200);
      expect(sandbox.wonderful.verify(sdk.body.token).sub).toBe(wonderfulEntityIdFor(USERS['bob']!));
      expect(sdk.body.id).not.toBe(USERS['bob']!.id);
      const refreshed = await request(app).post('/api/refresh-sdk-token').set('x-test-user', 'bob').send({ entityId: sdk.body.id });
      expect(refreshed.status).toBe(200);
      expect(refreshed.body.id).toBe(sdk.body.id);

      // the sandbox environment configures the five vendors above
      expect(new Set(logger.events.map((e) => (e.obj as { vendor: string }).vendor))).toEqual(new Set(['nevermined', 'neuroon', 'hissuno', 'neut', 'wonderful']));
    });

    it('mounts only the vendors whose variables are present; other paths fall through to the host app', async () => {
      const router = mount({ env: HISSUNO_ONLY });
      expect(router.mounted).toEqual(['hissuno']);
      const app = buildApp(router, (a) => a.get('/api/widget-session', (_req, res) => void res.json({ host: true })));
      const hissuno = await request(app).get('/api/hissuno-token').set('x-test-user', 'ada');
      expect(hissuno.status).toBe(200);
      const host = await request(app).get('/api/widget-session');
      expect(host.status).toBe(200);
      expect(host.body).toEqual({ host: true });
      expect((await request(app).post('/api/sdk-token')).status).toBe(404);
    });

    it('gives the top-level resolveUser to Nevermined, Hissuno and Wonderful, and leaves Neut and Neuroon public', async () => {
      const app = buildApp(mount());
      for (const [method, path] of [['get', '/api/widget-session'], ['post', '/api/hissuno-token'], ['post', '/api/sdk-token']] as const) {
        const res = await request(app)[method](path);
        answers.push(res.text);
        expect(res.status).toBe(401);
      }
      expect((await request(app).get('/api/neuroon-widget-token')).status).toBe(200);
      expect((await request(app).post('/api/widget-embed-params').send(NEUT_BODY)).status).toBe(200);
    });

    it('requires a sign-in on Neut when vendors gives it a resolveUser', async () => {
      const app = buildApp(mount({ vendors: { neut: { resolveUser: testResolveUser }, hissuno: true } }));
      const anonymous = await request(app).post('/api/widget-embed-params').send(NEUT_BODY);
      answers.push(anonymous.text);
      expect(anonymous.status).toBe(401);
      expect(anonymous.body).toEqual({ error: { code: 'UNAUTHORIZED', message: expect.any(String) } });
      expect((await request(app).post('/api/widget-embed-params').set('x-test-user', 'ada').send(NEUT_BODY)).status).toBe(200);
    });

    it('treats blank variables (a copied .env.example) as unset', () => {
      const blank = Object.fromEntries(ALL_VARIABLES.map((name) => [name, '']));
      const router = mount({ env: { ...blank, HISSUNO_SECRET_KEY: SECRETS.hissuno, NVM_ORG_ID: '   ' } });
      expect(router.mounted).toEqual(['hissuno']);
    });

    it('never mutates the caller’s options', () => {
      const options = Object.freeze({
        resolveUser: testResolveUser,
        env: Object.freeze({ ...sandbox.env }),
        vendors: Object.freeze({ hissuno: Object.freeze({ expiresIn: 600 }), wonderful: true as const }),
        rateLimit: Object.freeze({ windowMs: 60_000, limit: 5 }),
      });
      const before = JSON.stringify(options);
      expect(widgetAuth(options).mounted).toEqual(['hissuno', 'wonderful']);
      expect(JSON.stringify(options)).toBe(before);
    });
  });

  describe('configuration errors', () => {
    it('names every missing variable of every partly configured vendor at once', () => {
      const env = { ...HISSUNO_ONLY, NVM_ORG_ID: 'org-1', WIDGET_TENANT_ID: 't', HOST_ORIGIN: 'https://www.example.com' };
      const err = thrownBy(() => mount({ env }));
      expect(err).toBeInstanceOf(WidgetAuthConfigError);
      expect(err.problems).toEqual([
        'NVM_WIDGET_KEY_SECRET: is not set (Nevermined is partly configured: NVM_ORG_ID is set)',
        'NVM_API_BASE_URL: is not set (Nevermined is partly configured: NVM_ORG_ID is set)',
        'NEUT_MINT_SECRET: is not set (Neut is partly configured: WIDGET_TENANT_ID, HOST_ORIGIN are set)',
        'NEUT_MINT_KEY_ID: is not set (Neut is partly configured: WIDGET_TENANT_ID, HOST_ORIGIN are set)',
        'WIDGET_ORIGIN: is not set (Neut is partly configured: WIDGET_TENANT_ID, HOST_ORIGIN are set)',
      ]);
    });

    it('counts an optional variable set alone as a partly configured vendor', () => {
      const err = thrownBy(() => mount({ env: { ...HISSUNO_ONLY, WONDERFUL_TENANT_ID: 'tenant-1' } }));
      expect(err.problems).toEqual([
        'WONDERFUL_API_URL: is not set (Wonderful is partly configured: WONDERFUL_TENANT_ID is set)',
        'WONDERFUL_API_KEY: is not set (Wonderful is partly configured: WONDERFUL_TENANT_ID is set)',
      ]);
    });

    it('lists every vendor’s variables when no vendor is configured at all', () => {
      const err = thrownBy(() => mount({ env: { PATH: '/usr/bin' } }));
      expect(err).toBeInstanceOf(WidgetAuthConfigError);
      expect(err.problems).toHaveLength(WIDGET_AUTH_VENDORS.length);
      expect(err.problems).toContain('no vendor is configured: for Intercom set one of INTERCOM_MESSENGER_SECRET, INTERCOM_IDENTITY_SECRET');
      expect(err.problems![0]).toBe('no vendor is configured: for Nevermined set NVM_ORG_ID, NVM_WIDGET_KEY_SECRET, NVM_API_BASE_URL');
      expect(err.problems![1]).toBe('no vendor is configured: for Neuroon set NEUROON_SHOP_ID, NEUROON_API_KEY (optionally NEUROON_API_URL)');
      for (const name of ALL_VARIABLES) expect(err.message).toContain(name);
      // one problem told per vendor, not 18 problems
      expect(err.message.split('\n')[0]).toBe('widgetAuth: no vendor is configured; set the variables of at least one of these vendors:');
      // with another problem beside it, the count is back
      const both = thrownBy(() => mount({ env: { PATH: '/usr/bin' }, requireOrigin: 'yes' as never }));
      expect(both.message.split('\n')[0]).toBe(`widgetAuth: ${both.problems!.length} configuration problems:`);
    });

    it('reports invalid values together with missing ones, naming the variable and never its value', () => {
      const shortSecret = 'sk_short_value_42';
      const env = { HISSUNO_SECRET_KEY: shortSecret, NVM_ORG_ID: 'org-1', NVM_WIDGET_KEY_SECRET: SECRETS.nevermined, NVM_API_BASE_URL: 'http://api.example.com' };
      const err = thrownBy(() => mount({ env }));
      expect(err.problems).toEqual([
        expect.stringMatching(/^NVM_API_BASE_URL: must use https:/),
        'HISSUNO_SECRET_KEY: must be at least 32 characters long',
      ]);
      expectNoSecrets(err.message, [shortSecret, SECRETS.nevermined]);
    });

    it('reports option problems and environment problems in the same error', () => {
      const err = thrownBy(() => mount({ env: { NVM_ORG_ID: 'org-1' }, alowedOrigins: ['https://a.example.com'] } as Partial<WidgetAuthOptions>));
      expect(err.problems).toEqual([
        'alowedOrigins: unknown option (did you mean `allowedOrigins`?)',
        'NVM_WIDGET_KEY_SECRET: is not set (Nevermined is partly configured: NVM_ORG_ID is set)',
        'NVM_API_BASE_URL: is not set (Nevermined is partly configured: NVM_ORG_ID is set)',
      ]);
    });

    it('catches widgetAuth passed without being called, and a missing resolveUser', () => {
      const err = thrownBy(() => widgetAuth(widgetAuth as unknown as WidgetAuthOptions));
      expect(err).toBeInstanceOf(WidgetAuthConfigError);
      expect(err.message).toContain('app.use(widgetAuth({ … }))');
      const missing = thrownBy(() => widgetAuth({ env: HISSUNO_ONLY } as unknown as WidgetAuthOptions));
      expect(missing.problems).toEqual(['resolveUser: must be a function (req) => user | null']);
    });

    it('reports an env that is not an object without guessing another', () => {
      const err = thrownBy(() => mount({ env: 'HISSUNO_SECRET_KEY=x' as never }));
      expect(err.problems).toEqual(['env: must be an object of variables, such as process.env']);
    });

    it('checks the common options once, not once per vendor', () => {
      const err = thrownBy(() => mount({ cors: true }));
      expect(err.problems).toEqual(['cors: needs allowedOrigins: CORS is only answered for listed origins']);
    });
  });

  describe('vendors', () => {
    it('mounts exactly the vendors named, ignoring the others even when configured', async () => {
      const router = mount({ vendors: { hissuno: true, neut: true } });
      expect(router.mounted).toEqual(['hissuno', 'neut']);
      const app = buildApp(router);
      expect((await request(app).get('/api/widget-session').set('x-test-user', 'ada')).status).toBe(404);
      expect((await request(app).post('/api/widget-embed-params').send(NEUT_BODY)).status).toBe(200);
    });

    it('ignores a partly configured vendor that is not named', () => {
      const router = mount({ env: { ...HISSUNO_ONLY, NVM_ORG_ID: 'org-1' }, vendors: { hissuno: true } });
      expect(router.mounted).toEqual(['hissuno']);
    });

    it('requires every named vendor to be fully configured', () => {
      const err = thrownBy(() => mount({ env: { ...only(sandbox.env, ['WONDERFUL_API_URL']), ...HISSUNO_ONLY }, vendors: { wonderful: true, neut: true } }));
      expect(err.problems).toEqual([
        'WIDGET_TENANT_ID: is not set (Neut is named in vendors)',
        'HOST_ORIGIN: is not set (Neut is named in vendors)',
        'NEUT_MINT_SECRET: is not set (Neut is named in vendors)',
        'NEUT_MINT_KEY_ID: is not set (Neut is named in vendors)',
        'WIDGET_ORIGIN: is not set (Neut is named in vendors)',
        'WONDERFUL_API_KEY: is not set (Wonderful is named in vendors)',
      ]);
    });

    it('passes per-vendor options to that vendor’s router only', async () => {
      const entityId = '9f0e8d7c-6b5a-4c3d-8e2f-1a0b9c8d7e6f';
      const router = mount({
        vendors: {
          hissuno: { expiresIn: 600 },
          wonderful: { entityIdFor: () => entityId, expiresIn: 120 },
          nevermined: { path: '/api/nvm-session' },
        },
      });
      expect(router.routes.find((r) => r.vendor === 'nevermined')!.path).toBe('/api/nvm-session');
      const app = buildApp(router);
      const hissuno = await request(app).post('/api/hissuno-token').set('x-test-user', 'ada');
      const claims = jwt.decode(hissuno.body.token) as jwt.JwtPayload;
      expect(claims.exp! - claims.iat!).toBe(600);
      const sdk = await request(app).post('/api/sdk-token').set('x-test-user', 'ada');
      expect(sdk.body.id).toBe(entityId);
      expect(sdk.body.expiresAt - (jwt.decode(sdk.body.token) as jwt.JwtPayload).iat!).toBe(120);
      expect((await request(app).get('/api/nvm-session').set('x-test-user', 'ada')).status).toBe(200);
      expect((await request(app).get('/api/widget-session').set('x-test-user', 'ada')).status).toBe(404);
    });

    it('refuses options that come from the environment, naming the variable and not the value', () => {
      const err = thrownBy(() => mount({ vendors: { hissuno: { secretKey: 'sk_other_0123456789abcdef0123456789' } as never, neuroon: { provider: {} } as never } }));
      expect(err.problems).toEqual([
        'vendors.neuroon.provider: is not taken by widgetAuth; to share a provider, mount neuroonTokenRouter({ provider }) yourself',
        'vendors.hissuno.secretKey: comes from HISSUNO_SECRET_KEY; set it in the environment instead',
      ]);
      expect(err.message).not.toContain('sk_other');
    });

    it('suggests the vendor name meant, and refuses an empty selection', () => {
      expect(thrownBy(() => mount({ vendors: { nevermind: true } as never })).problems).toEqual(['vendors.nevermind: unknown option (did you mean `nevermined`?)']);
      expect(thrownBy(() => mount({ vendors: {} })).problems).toEqual(['vendors: must name at least one vendor']);
      expect(thrownBy(() => mount({ vendors: { hissuno: false } as never })).problems).toEqual(['vendors.hissuno: must be true or an options object for that vendor']);
    });

    it('reports a bad per-vendor option under the factory that refused it', () => {
      const err = thrownBy(() => mount({ vendors: { hissuno: { expiresIn: '48h' }, wonderful: { expiresln: 60 } as never } }));
      expect(err.problems).toEqual([
        'hissunoTokenRouter: expiresIn: must be between 60 seconds and 24 hours',
        'wonderfulTokenRouter: expiresln: unknown option (did you mean `expiresIn`?)',
      ]);
    });

    it('refuses two vendors on one path', () => {
      const err = thrownBy(() => mount({ vendors: { hissuno: { path: '/api/token' }, neut: { path: '/api/token' } } }));
      expect(err.problems).toEqual(['neut: path /api/token is already served by hissuno; give one of them another path in vendors']);
    });
  });

  describe('common options reach every mounted router', () => {
    it('applies allowedOrigins and cors to each vendor, in each vendor’s error shape', async () => {
      const app = buildApp(mount({ allowedOrigins: ['https://app.example.com'], cors: true }));
      const nvm = await request(app).get('/api/widget-session').set('x-test-user', 'ada').set('Origin', 'https://evil.example.net');
      const hissuno = await request(app).get('/api/hissuno-token').set('x-test-user', 'ada').set('Origin', 'https://evil.example.net');
      answers.push(nvm.text, hissuno.text);
      expect(nvm.status).toBe(403);
      expect(nvm.body.error.code).toBe('FORBIDDEN_ORIGIN');
      expect(hissuno.status).toBe(403);
      expect(hissuno.body).toEqual({ error: 'Origin is not allowed.' });
      for (const path of ['/api/widget-session', '/api/neuroon-widget-token', '/api/hissuno-token', '/api/widget-embed-params', '/api/sdk-token', '/api/refresh-sdk-token']) {
        const preflight = await request(app).options(path).set('Origin', 'https://app.example.com').set('Access-Control-Request-Method', 'POST');
        expect([path, preflight.status, preflight.headers['access-control-allow-origin']]).toEqual([path, 204, 'https://app.example.com']);
      }
    });

    it('applies bodyLimit to each vendor', async () => {
      const app = buildApp(mount({ bodyLimit: 64 }));
      const big = { ...NEUT_BODY, instance_id: 'x'.repeat(100) };
      const neut = await request(app).post('/api/widget-embed-params').send(big);
      const sdk = await request(app).post('/api/refresh-sdk-token').set('x-test-user', 'ada').send({ entityId: 'y'.repeat(100) });
      answers.push(neut.text, sdk.text);
      expect([neut.status, neut.body.error.code]).toEqual([413, 'PAYLOAD_TOO_LARGE']);
      expect([sdk.status, sdk.body.error.code]).toEqual([413, 'PAYLOAD_TOO_LARGE']);
    });

    it('gives each vendor its own rate-limit budget, answering 429 with Retry-After in the vendor’s shape', async () => {
      const app = buildApp(mount({ rateLimit: { windowMs: 60_000, limit: 1 } }));
      expect((await request(app).get('/api/hissuno-token').set('x-test-user', 'ada')).status).toBe(200);
      const limited = await request(app).get('/api/hissuno-token').set('x-test-user', 'ada');
      answers.push(limited.text);
      expect(limited.status).toBe(429);
      expect(limited.body).toEqual({ error: 'Too many requests; try again later.' });
      expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
      // another vendor's budget is untouched
      expect((await request(app).post('/api/sdk-token').set('x-test-user', 'ada')).status).toBe(200);
      const second = await request(app).post('/api/refresh-sdk-token').set('x-test-user', 'ada').send({});
      expect([second.status, second.body.error.code]).toEqual([429, 'RATE_LIMITED']);
    });

    it('builds one store per vendor from a store function', async () => {
      const made: [string, Store & { hits: number }][] = [];
      const router = mount({
        vendors: { hissuno: true, neut: true },
        rateLimit: {
          windowMs: 60_000,
          limit: 10,
          store: (vendor) => {
            const store = countingStore();
            made.push([vendor, store]);
            return store;
          },
        },
      });
      expect(made.map(([vendor]) => vendor)).toEqual(['hissuno', 'neut']);
      const app = buildApp(router);
      await request(app).get('/api/hissuno-token').set('x-test-user', 'ada');
      await request(app).get('/api/hissuno-token').set('x-test-user', 'ada');
      await request(app).post('/api/widget-embed-params').send(NEUT_BODY);
      expect(made.map(([, store]) => store.hits)).toEqual([2, 1]);
    });

    it('refuses one store instance for several vendors, and accepts it for one', () => {
      const store = countingStore();
      const err = thrownBy(() => mount({ vendors: { hissuno: true, neut: true, wonderful: true }, rateLimit: { windowMs: 60_000, limit: 10, store } }));
      expect(err.problems).toEqual([
        'rateLimit.store: one store instance cannot count for both hissuno and neut (express-rate-limit refuses a shared store); pass a function (vendor) => store returning a new store, each with its own prefix',
        'rateLimit.store: one store instance cannot count for both hissuno and wonderful (express-rate-limit refuses a shared store); pass a function (vendor) => store returning a new store, each with its own prefix',
      ]);
      expect(mount({ vendors: { hissuno: true }, rateLimit: { windowMs: 60_000, limit: 10, store: countingStore() } }).mounted).toEqual(['hissuno']);
    });

    it('lets one vendor override the common rate limit', async () => {
      const app = buildApp(mount({ vendors: { hissuno: { rateLimit: { windowMs: 60_000, limit: 5 } }, neut: true }, rateLimit: { windowMs: 60_000, limit: 1 } }));
      const statuses = [];
      for (let i = 0; i < 3; i++) statuses.push((await request(app).get('/api/hissuno-token').set('x-test-user', 'ada')).status);
      for (let i = 0; i < 2; i++) statuses.push((await request(app).post('/api/widget-embed-params').send(NEUT_BODY)).status);
      expect(statuses).toEqual([200, 200, 200, 200, 429]);
    });

    it('passes the host app’s own errors through untouched', async () => {
      const app = buildApp(mount({ env: HISSUNO_ONLY }), (a) =>
        a.get('/boom', () => {
          throw new Error('host failure');
        }),
      );
      const res = await request(app).get('/boom');
      expect(res.status).toBe(599);
      expect(res.body).toEqual({ hostHandled: true, message: 'host failure' });
    });
  });

  describe('detectWidgetAuthVendors', () => {
    it('tells configured, partial and absent vendors apart without reading values further', () => {
      const statuses = detectWidgetAuthVendors({ ...without(sandbox.env, 'NEUT_MINT_SECRET', ...NEUROON_ENV.map((v) => v.name)), WONDERFUL_API_KEY: '  ' });
      expect(statuses.map((s) => [s.vendor, s.state, s.missing])).toEqual([
        ['nevermined', 'configured', []],
        ['neuroon', 'absent', ['NEUROON_SHOP_ID', 'NEUROON_API_KEY']],
        ['hissuno', 'configured', []],
        ['neut', 'partial', ['NEUT_MINT_SECRET']],
        ['wonderful', 'partial', ['WONDERFUL_API_KEY']],
        ['intercom', 'absent', []],
        ['zendesk', 'absent', ['ZENDESK_MESSAGING_KEY_ID', 'ZENDESK_MESSAGING_SECRET']],
        ['stream', 'absent', ['STREAM_API_SECRET']],
        ['canny', 'absent', ['CANNY_SSO_KEY']],
        ['featurebase', 'absent', ['FEATUREBASE_JWT_SECRET']],
        ['chatwoot', 'absent', ['CHATWOOT_HMAC_TOKEN']],
        ['crisp', 'absent', ['CRISP_VERIFY_SECRET']],
        ['helpscout', 'absent', ['HELPSCOUT_BEACON_SECRET']],
        ['front', 'absent', ['FRONT_CHAT_SECRET']],
        ['plain', 'absent', ['PLAIN_CHAT_SECRET']],
        ['pusher', 'absent', ['PUSHER_APP_ID', 'PUSHER_KEY', 'PUSHER_SECRET']],
        ['liveblocks', 'absent', ['LIVEBLOCKS_SECRET_KEY']],
        ['hubspot', 'absent', ['HUBSPOT_ACCESS_TOKEN']],
      ]);
      expect(statuses[4]!.set).toEqual(['WONDERFUL_API_URL']);
      expect(statuses[0]!.variables).toBe(NEVERMINED_ENV);
    });
  });
});
