import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import type { Request } from 'express';
import request, { type Response, type Test } from 'supertest';
import { parse } from 'yaml';
import {
  hissunoConfigFromEnv,
  plainChatIdentityRouter,
  pusherAuthRouter,
  frontChatIdentityRouter,
  helpScoutBeaconRouter,
  crispIdentityRouter,
  chatwootIdentityRouter,
  hissunoTokenRouter,
  featurebaseJwtRouter,
  cannySsoRouter,
  streamChatTokenRouter,
  zendeskMessagingRouter,
  intercomIdentityRouter,
  liveblocksAuthRouter,
  hubspotVisitorTokenRouter,
  neuroonConfigFromEnv,
  neuroonTokenRouter,
  neutConfigFromEnv,
  neutEmbedParamsRouter,
  neverminedConfigFromEnv,
  neverminedSessionRouter,
  wonderfulConfigFromEnv,
  wonderfulEntityIdFor,
  wonderfulTokenRouter,
  type CommonRouterOptions,
  type WidgetUser,
} from '../lib';
import { startFakeHubSpot, startFakeLiveblocks, type FakeHubSpot, type FakeLiveblocks } from '../lib/testing';
import { EXPRESS_MAJOR, USERS, buildApp, expectNoSecrets, testResolveUser } from './helpers/app';
import { NEUT_BODY, SECRETS, startSandbox, type SandboxFakes } from './helpers/widget-auth';

const ROOT = join(__dirname, '..');
const DOC_PATH = join(ROOT, 'docs', 'openapi.yaml');
const METHODS = ['get', 'post', 'put', 'patch', 'delete', 'options'] as const;
type Method = (typeof METHODS)[number];

const ALLOWED = 'https://app.example.com';
const EVIL = 'https://evil.example.net';
const STRANGER_ENTITY = '0b7e8a52-3c1d-4f6e-9a2b-7c8d9e0f1a2b';

type Json = Record<string, unknown>;

/** The document, with every `#/components/schemas/…` pointing into one registered ajv schema. */
const raw = readFileSync(DOC_PATH, 'utf8');
const doc = parse(JSON.stringify(parse(raw)).replaceAll('"#/components/schemas/', '"openapi.json#/$defs/')) as {
  paths: Record<string, Record<string, Json>>;
  components: Record<string, Record<string, Json>>;
};

const ajv = new Ajv2020({ strict: true, allowUnionTypes: true, allErrors: true });
addFormats(ajv);
ajv.addSchema({ $id: 'openapi.json', $defs: doc.components['schemas'] });
const validators = new Map<unknown, ValidateFunction>();
function validatorFor(schema: object): ValidateFunction {
  let v = validators.get(schema);
  if (!v) {
    v = ajv.compile(schema);
    validators.set(schema, v);
  }
  return v;
}

/** Follow a local `$ref` (`#/components/responses/…`, `#/components/headers/…`). */
function deref<T extends Json>(node: T | undefined): T | undefined {
  const ref = node?.['$ref'];
  if (typeof ref !== 'string') return node;
  const [, , kind, name] = ref.split('/');
  return doc.components[kind!]?.[name!] as T | undefined;
}

/** Documented `METHOD path status` triples, and those a real router produced. */
const documented = new Set<string>();
for (const [path, item] of Object.entries(doc.paths)) {
  for (const method of METHODS) {
    const op = item[method] as { responses?: Json } | undefined;
    for (const status of Object.keys(op?.responses ?? {})) documented.add(`${method.toUpperCase()} ${path} ${status}`);
  }
}
const exercised = new Set<string>();
const answers: string[] = [];

function codeOf(body: unknown): unknown {
  const error = (body as { error?: unknown } | undefined)?.error;
  return typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : error;
}

/**
 * Check a real answer against the document: its status is listed for the operation, every
 * required header is present (with its documented value), and the body validates
 * against the schema for that status.
 */
function conforms(res: Response, method: Method, path: string): void {
  const op = doc.paths[path]?.[method] as { responses: Record<string, Json> } | undefined;
  if (!op) throw new Error(`${method.toUpperCase()} ${path} is not in docs/openapi.yaml`);
  const response = deref(op.responses[String(res.status)]) as { headers?: Record<string, Json>; content?: Record<string, { schema: object }> } | undefined;
  if (!response) throw new Error(`${method.toUpperCase()} ${path} answered ${res.status}, which docs/openapi.yaml does not list for it (body ${res.text})`);
  for (const [name, ref] of Object.entries(response.headers ?? {})) {
    const header = deref(ref) as { required?: boolean; schema: { const?: string; pattern?: string } };
    const value = res.headers[name.toLowerCase()] as string | undefined;
    if (header.required && value === undefined) throw new Error(`${method.toUpperCase()} ${path} ${res.status}: required header ${name} is missing`);
    if (value !== undefined && header.schema.const !== undefined) expect([name, value]).toEqual([name, header.schema.const]);
    if (value !== undefined && header.schema.pattern !== undefined) expect(value).toMatch(new RegExp(header.schema.pattern));
  }
  const media = response.content?.['application/json'];
  if (media) {
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    const validate = validatorFor(media.schema);
    if (!validate(res.body)) {
      throw new Error(`${method.toUpperCase()} ${path} ${res.status}: body ${res.text} does not match the schema: ${ajv.errorsText(validate.errors)}`);
    }
  } else {
    expect(res.text).toBe('');
  }
  exercised.add(`${method.toUpperCase()} ${path} ${res.status}`);
}

/** Send, then assert status and wire code, then check the answer against the document. */
async function expectAnswer(send: Test, method: Method, path: string, status: number, code?: unknown): Promise<Response> {
  const res = await send;
  answers.push(res.text);
  expect({ status: res.status, code: codeOf(res.body) }).toEqual({ status, code });
  conforms(res, method, path);
  return res;
}

/** `resolveUser` for these tests: `x-test-user: boom` makes the hook throw. */
function resolveUser(req: Request): WidgetUser | null {
  if (req.headers['x-test-user'] === 'boom') throw new Error('session store is down');
  return testResolveUser(req);
}

const common = (extra: Partial<CommonRouterOptions> = {}) => ({ allowedOrigins: [ALLOWED], cors: true, bodyLimit: 256, ...extra });
const limited = { rateLimit: { windowMs: 60_000, limit: 1 } };
const upstream = { retries: 0, timeoutMs: 150 };
const BIG = { padding: 'x'.repeat(400) };
/** Secrets of the vendor presets, which sign locally. */
const PRESET_SECRETS = {
  intercom: 'ic_V5nQ8tL2wR7kZ3xM9pB4cJ6hD1fG0sY',
  zendesk: 'zd_Q2wN7kR4tV9xL3mB8cP5jH1fD6gS0aY',
  stream: 'st_M4xQ9vK2pL7wR3nB8tC5jH1yD6fG0sZ',
  canny: 'cn_4e8a2c6f-1b3d-47a9-8c5e-0f2d6b9a3c71',
  featurebase: 'fb_T6yK1qN8wR3vL9mB4xC7jH2pD5fG0sZ',
  chatwoot: 'cw_vQ3kT8mZ2xWc7nR4pL9sJ6',
  crisp: 'cr_7Fk2Wq9Lz4Xm1Rb8Tn5Vc3Hj6Pd0Ys',
  helpscout: 'hs_2Gm8Vx4Qk7Zr1Nw5Tb9Lc3Jf6Pd0Ya',
  front: 'fr_9Dq3Hw7Lk1Xv5Rm2Tz8Bc4Nj6Pf0Ys',
  plain: 'pl_4Tn8Kq2Wx6Zm9Rb1Vc5Hj3Lf7Pd0Ys',
  pusher: '7ad3773142a6692b25b8',
  pusherMaster: 'q2VhN9yT4mK7pX1wR8zL3cB6jD0fG5sAeU2iO9nH4tQ=',
};

describe(`docs/openapi.yaml (Express ${EXPRESS_MAJOR})`, () => {
  let sandbox: SandboxFakes;

  beforeAll(async () => {
    sandbox = await startSandbox();
  });
  afterEach(() => sandbox.reset());
  afterAll(async () => {
    await sandbox.close();
    for (const text of answers.filter((a) => !a.includes('"token"') && !a.includes('"sessionToken"') && !a.includes('"embed_url"'))) {
      expectNoSecrets(text, Object.values(SECRETS));
    }
  });

  it('is a valid OpenAPI 3.1 document (@seriousme/openapi-schema-validator)', () => {
    const script = [
      "import { Validator } from '@seriousme/openapi-schema-validator';",
      "import { parse } from 'yaml';",
      "import { readFileSync } from 'node:fs';",
      'const validator = new Validator();',
      "const result = await validator.validate(parse(readFileSync(process.argv[1], 'utf8')));",
      'process.stdout.write(JSON.stringify({ ...result, version: validator.version }));',
    ].join('\n');
    // the validator is ESM-only; jest runs CommonJS, so it runs in its own node process
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script, DOC_PATH], { cwd: ROOT, encoding: 'utf8' });
    expect(child.stderr).toBe('');
    expect(JSON.parse(child.stdout)).toEqual({ valid: true, version: '3.1' });
  });

  it('documents exactly the routes the routers serve', () => {
    expect(Object.keys(doc.paths).sort()).toEqual(
      ['/api/hissuno-token', '/api/intercom-identity', '/api/neuroon-widget-token', '/api/refresh-sdk-token', '/api/sdk-token', '/api/widget-embed-params', '/api/widget-session', '/api/zendesk-token', '/api/stream-token', '/api/canny-token', '/api/featurebase-token', '/api/chatwoot-identity', '/api/crisp-identity', '/api/helpscout-signature', '/api/front-identity', '/api/plain-identity', '/api/liveblocks-auth', '/api/hubspot-visitor-token', '/api/pusher/auth', '/api/pusher/user-auth'].sort(),
    );
  });

  it('describes request bodies that accept what the browser sends and refuse server-set keys', () => {
    const neut = validatorFor((doc.paths['/api/widget-embed-params']!['post'] as { requestBody: { content: Record<string, { schema: object }> } }).requestBody.content['application/json']!.schema);
    expect(neut(NEUT_BODY)).toBe(true);
    expect(neut({ ...NEUT_BODY, bill_number: '7', show_status_filter: 'false' })).toBe(true);
    expect(neut({ ...NEUT_BODY, tenant_id: 'other' })).toBe(false);
    expect(neut({ ...NEUT_BODY, bootstrap_nonce: 'x' })).toBe(false);
    expect(neut({ ...NEUT_BODY, bill_number: '0x10' })).toBe(false);
    const refresh = validatorFor((doc.paths['/api/refresh-sdk-token']!['post'] as { requestBody: { content: Record<string, { schema: object }> } }).requestBody.content['application/json']!.schema);
    expect(refresh({ entityId: STRANGER_ENTITY })).toBe(true);
    expect(refresh({ entityId: 'user-42' })).toBe(false);
  });

  /** The parts every route shares: origin, CORS preflight, unserved methods, body, rate limit. */
  async function sharedCases(app: Parameters<typeof request>[0], rateApp: Parameters<typeof request>[0], path: string, served: Method[], hissuno: boolean) {
    const wire = (code: string, message: string) => (hissuno ? message : code);
    for (const method of served) {
      await expectAnswer(request(app)[method](path).set('x-test-user', 'ada').set('Origin', EVIL), method, path, 403, wire('FORBIDDEN_ORIGIN', 'Origin is not allowed.'));
      await expectAnswer(request(app)[method](path).set('x-test-user', 'boom'), method, path, 500, hissuno ? 'Internal error' : 'INTERNAL_ERROR');
      if (method === 'post') {
        await expectAnswer(request(app).post(path).set('x-test-user', 'ada').set('Content-Type', 'text/plain').send('hello'), method, path, 415, wire('UNSUPPORTED_MEDIA_TYPE', 'Request body must be application/json.'));
        await expectAnswer(request(app).post(path).set('x-test-user', 'ada').send(BIG), method, path, 413, wire('PAYLOAD_TOO_LARGE', 'Request body is larger than 256 bytes.'));
      }
      // the limit is per user: a user of its own for each method
      const rateUser = method === 'get' ? 'ada' : 'bob';
      const first = await request(rateApp)[method](path).set('x-test-user', rateUser).send(path.includes('refresh') ? {} : path.includes('embed') ? NEUT_BODY : undefined);
      expect(first.status).not.toBe(429);
      const res = await expectAnswer(request(rateApp)[method](path).set('x-test-user', rateUser), method, path, 429, wire('RATE_LIMITED', 'Too many requests; try again later.'));
      expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    }
    const allow = served.map((m) => m.toUpperCase()).join(', ');
    const preflight = await expectAnswer(request(app).options(path).set('Origin', ALLOWED).set('Access-Control-Request-Method', 'POST'), 'options', path, 204, undefined);
    expect(preflight.headers['access-control-allow-origin']).toBe(ALLOWED);
    expect(preflight.headers['access-control-allow-methods']).toBe(allow);
    await expectAnswer(request(app).options(path).set('Origin', EVIL).set('Access-Control-Request-Method', 'POST'), 'options', path, 403, wire('FORBIDDEN_ORIGIN', 'Origin is not allowed.'));
    const plainOptions = await expectAnswer(request(app).options(path), 'options', path, 405, wire('METHOD_NOT_ALLOWED', `Method OPTIONS is not allowed; use ${allow}.`));
    expect(plainOptions.headers['allow']).toBe(allow);
    for (const method of METHODS.filter((m) => m !== 'options' && !served.includes(m))) {
      const res = await expectAnswer(request(app)[method](path).set('x-test-user', 'ada'), method, path, 405, wire('METHOD_NOT_ALLOWED', `Method ${method.toUpperCase()} is not allowed; use ${allow}.`));
      expect(res.headers['allow']).toBe(allow);
    }
  }

  describe('/api/widget-session (Nevermined)', () => {
    const path = '/api/widget-session';
    const app = (extra: object = {}) =>
      buildApp(neverminedSessionRouter({ ...neverminedConfigFromEnv(sandbox.env), resolveUser, ...upstream, ...common(), ...extra }));

    it('answers GET and POST with a WidgetSession, and the shared errors, as documented', async () => {
      const a = app();
      await expectAnswer(request(a).get(path).set('x-test-user', 'ada'), 'get', path, 200);
      await expectAnswer(request(a).post(path).set('x-test-user', 'ada').send({ ignored: true }), 'post', path, 200);
      await expectAnswer(request(a).post(path).set('x-test-user', 'ada').set('Origin', ALLOWED), 'post', path, 200);
      for (const method of ['get', 'post'] as const) await expectAnswer(request(a)[method](path), method, path, 401, 'UNAUTHORIZED');
      await expectAnswer(request(a).post(path).set('x-test-user', 'ada').set('Content-Type', 'application/json').send('{"bad'), 'post', path, 400, 'INVALID_REQUEST');
      await sharedCases(a, app(limited), path, ['get', 'post'], false);
    });

    it('answers every vendor failure in a documented shape', async () => {
      const a = app();
      for (const method of ['get', 'post'] as const) {
        const rejected = await expectAnswer(request(app({ rawSecret: 'wk_wrong_secret_0000' }))[method](path).set('x-test-user', 'ada'), method, path, 502, 'UPSTREAM_REJECTED');
        expect(rejected.body.error.correlationId).toBe(sandbox.nevermined.errors.at(-1)!.correlationId);
        sandbox.nevermined.fault({ kind: 'status', status: 500 }, { times: 1 });
        await expectAnswer(request(a)[method](path).set('x-test-user', 'ada'), method, path, 502, 'UPSTREAM_UNAVAILABLE');
        sandbox.nevermined.fault({ kind: 'reset' }, { times: 1 });
        await expectAnswer(request(a)[method](path).set('x-test-user', 'ada'), method, path, 502, 'UPSTREAM_UNAVAILABLE');
        sandbox.nevermined.fault({ kind: 'malformed' }, { times: 1 });
        await expectAnswer(request(a)[method](path).set('x-test-user', 'ada'), method, path, 502, 'UPSTREAM_INVALID_RESPONSE');
        sandbox.nevermined.fault({ kind: 'wrong-shape' }, { times: 1 });
        await expectAnswer(request(a)[method](path).set('x-test-user', 'ada'), method, path, 502, 'UPSTREAM_INVALID_RESPONSE');
        sandbox.nevermined.fault({ kind: 'status', status: 429, headers: { 'Retry-After': '7' } }, { times: 1 });
        const busy = await expectAnswer(request(a)[method](path).set('x-test-user', 'ada'), method, path, 503, 'UPSTREAM_UNAVAILABLE');
        expect(busy.headers['retry-after']).toBe('7');
        sandbox.nevermined.fault({ kind: 'latency', ms: 1000 }, { times: 1 });
        await expectAnswer(request(a)[method](path).set('x-test-user', 'ada'), method, path, 504, 'UPSTREAM_TIMEOUT');
      }
    });
  });

  describe('/api/neuroon-widget-token (Neuroon)', () => {
    const path = '/api/neuroon-widget-token';
    // a new router per case: each has its own provider, so no cached token hides a fault
    const app = (extra: object = {}) => buildApp(neuroonTokenRouter({ ...neuroonConfigFromEnv(sandbox.env), resolveUser, ...upstream, ...common(), ...extra }));

    it('answers GET with { token }, and the shared errors, as documented', async () => {
      await expectAnswer(request(app()).get(path).set('x-test-user', 'ada'), 'get', path, 200);
      await expectAnswer(request(app()).get(path), 'get', path, 401, 'UNAUTHORIZED');
      await sharedCases(app(), app(limited), path, ['get'], false);
    });

    it('answers every vendor failure in a documented shape', async () => {
      const get = (a = app()) => request(a).get(path).set('x-test-user', 'ada');
      await expectAnswer(get(app({ apiKey: 'nk_wrong_key_0000' })), 'get', path, 502, 'UPSTREAM_REJECTED');
      for (const fault of [{ kind: 'status', status: 500 }, { kind: 'reset' }] as const) {
        sandbox.neuroon.fault(fault, { times: 1 });
        await expectAnswer(get(), 'get', path, 502, 'UPSTREAM_UNAVAILABLE');
      }
      for (const fault of [{ kind: 'malformed' }, { kind: 'wrong-shape' }] as const) {
        sandbox.neuroon.fault(fault, { times: 1 });
        await expectAnswer(get(), 'get', path, 502, 'UPSTREAM_INVALID_RESPONSE');
      }
      sandbox.neuroon.fault({ kind: 'status', status: 429, headers: { 'Retry-After': '9' } }, { times: 1 });
      const busy = await expectAnswer(get(), 'get', path, 503, 'UPSTREAM_UNAVAILABLE');
      expect(busy.headers['retry-after']).toBe('9');
      sandbox.neuroon.fault({ kind: 'latency', ms: 1000 }, { times: 1 });
      await expectAnswer(get(), 'get', path, 504, 'UPSTREAM_TIMEOUT');
    });
  });

  describe('/api/hissuno-token (Hissuno)', () => {
    const path = '/api/hissuno-token';
    const app = (extra: object = {}) => buildApp(hissunoTokenRouter({ ...hissunoConfigFromEnv(sandbox.env), resolveUser, ...common(), ...extra }));

    it('answers GET and POST with { token }, and every error in Hissuno’s shape, as documented', async () => {
      const a = app();
      await expectAnswer(request(a).get(path).set('x-test-user', 'ada'), 'get', path, 200);
      await expectAnswer(request(a).post(path).set('x-test-user', 'ada').send({}), 'post', path, 200);
      for (const method of ['get', 'post'] as const) await expectAnswer(request(a)[method](path), method, path, 401, 'Unauthorized');
      await expectAnswer(request(a).post(path).set('x-test-user', 'ada').set('Content-Type', 'application/json').send('{"bad'), 'post', path, 400, 'Request body is not valid JSON.');
      await sharedCases(a, app(limited), path, ['get', 'post'], true);
    });
  });

  describe('/api/widget-embed-params (Neut)', () => {
    const path = '/api/widget-embed-params';
    const app = (extra: object = {}) => buildApp(neutEmbedParamsRouter({ ...neutConfigFromEnv(sandbox.env), resolveUser, ...common(), ...extra }));

    it('answers POST with { widget_id, embed_url }, and every error, as documented', async () => {
      const a = app();
      await expectAnswer(request(a).post(path).set('x-test-user', 'ada').send(NEUT_BODY), 'post', path, 200);
      await expectAnswer(request(a).post(path).send(NEUT_BODY), 'post', path, 401, 'UNAUTHORIZED');
      await expectAnswer(request(a).post(path).set('x-test-user', 'ada').send({ ...NEUT_BODY, widget_id: 'nope' }), 'post', path, 400, 'INVALID_WIDGET_REQUEST');
      await expectAnswer(request(a).post(path).set('x-test-user', 'ada').send({ ...NEUT_BODY, tenant_id: 'other' }), 'post', path, 400, 'INVALID_WIDGET_REQUEST');
      await expectAnswer(request(a).post(path).set('x-test-user', 'ada').set('Content-Type', 'application/json').send('{"bad'), 'post', path, 400, 'INVALID_WIDGET_REQUEST');
      await sharedCases(a, app(limited), path, ['post'], false);
    });
  });

  describe('Wonderful routes', () => {
    const token = '/api/sdk-token';
    const refresh = '/api/refresh-sdk-token';
    const app = (extra: object = {}) => buildApp(wonderfulTokenRouter({ ...wonderfulConfigFromEnv(sandbox.env), resolveUser, ...upstream, ...common(), ...extra }));

    it('answers /api/sdk-token and /api/refresh-sdk-token, and the shared errors, as documented', async () => {
      const a = app();
      const issued = await expectAnswer(request(a).post(token).set('x-test-user', 'bob'), 'post', token, 200);
      await expectAnswer(request(a).post(refresh).set('x-test-user', 'bob').send({ entityId: issued.body.id }), 'post', refresh, 200);
      for (const path of [token, refresh]) {
        await expectAnswer(request(a).post(path), 'post', path, 401, 'UNAUTHORIZED');
        await expectAnswer(request(a).post(path).set('x-test-user', 'bob').set('Content-Type', 'application/json').send('{"bad'), 'post', path, 400, 'VALIDATION_ERROR');
        await sharedCases(a, app(limited), path, ['post'], false);
      }
      await expectAnswer(request(a).post(refresh).set('x-test-user', 'bob').send({}), 'post', refresh, 400, 'VALIDATION_ERROR');
      await expectAnswer(request(a).post(refresh).set('x-test-user', 'bob').send({ entityId: 'user-42' }), 'post', refresh, 400, 'VALIDATION_ERROR');
      await expectAnswer(request(a).post(refresh).set('x-test-user', 'bob').send({ entityId: STRANGER_ENTITY }), 'post', refresh, 403, 'FORBIDDEN');
    });

    it('answers every vendor failure in a documented shape', async () => {
      const a = app();
      for (const path of [token, refresh]) {
        const send = (target = a) => request(target).post(path).set('x-test-user', 'bob').send(path === refresh ? { entityId: wonderfulEntityIdFor(USERS['bob']!) } : {});
        await expectAnswer(send(app({ apiKey: 'wk_8b497c6202d8487f293b' })), 'post', path, 502, 'UPSTREAM_REJECTED');
        for (const fault of [{ kind: 'status', status: 500 }, { kind: 'reset' }] as const) {
          sandbox.wonderful.fault(fault, { times: 1 });
          await expectAnswer(send(), 'post', path, 502, 'NETWORK_ERROR');
        }
        for (const fault of [{ kind: 'malformed' }, { kind: 'wrong-shape' }] as const) {
          sandbox.wonderful.fault(fault, { times: 1 });
          await expectAnswer(send(), 'post', path, 502, 'UPSTREAM_INVALID_RESPONSE');
        }
        sandbox.wonderful.fault({ kind: 'status', status: 429, headers: { 'Retry-After': '5' } }, { times: 1 });
        const busy = await expectAnswer(send(), 'post', path, 503, 'NETWORK_ERROR');
        expect(busy.headers['retry-after']).toBe('5');
        sandbox.wonderful.fault({ kind: 'latency', ms: 1000 }, { times: 1 });
        await expectAnswer(send(), 'post', path, 504, 'NETWORK_ERROR');
      }
    });
  });

  /** A vendor preset on widgetCredentialRouter: GET and POST, the library's error shape. */
  function presetRoute(label: string, path: string, app: (extra?: object) => Parameters<typeof request>[0]) {
    describe(`${path} (${label})`, () => {
      it('answers GET and POST with the credential, and every error, as documented', async () => {
        const a = app();
        await expectAnswer(request(a).get(path).set('x-test-user', 'ada'), 'get', path, 200);
        await expectAnswer(request(a).post(path).set('x-test-user', 'ada').send({}), 'post', path, 200);
        for (const method of ['get', 'post'] as const) await expectAnswer(request(a)[method](path), method, path, 401, 'UNAUTHORIZED');
        await expectAnswer(request(a).post(path).set('x-test-user', 'ada').set('Content-Type', 'application/json').send('{"bad'), 'post', path, 400, 'INVALID_REQUEST');
        await sharedCases(a, app(limited), path, ['get', 'post'], false);
      });
    });
  }

  presetRoute('Intercom, JWT', '/api/intercom-identity', (extra = {}) =>
    buildApp(intercomIdentityRouter({ messengerSecret: PRESET_SECRETS.intercom, resolveUser, ...common(), ...extra })),
  );
  presetRoute('Intercom, HMAC', '/api/intercom-identity', (extra = {}) =>
    buildApp(intercomIdentityRouter({ identitySecret: PRESET_SECRETS.intercom, resolveUser, ...common(), ...extra })),
  );
  presetRoute('Zendesk messaging', '/api/zendesk-token', (extra = {}) =>
    buildApp(zendeskMessagingRouter({ keyId: 'app_64f1c2d3e4b5a697', secret: PRESET_SECRETS.zendesk, resolveUser, ...common(), ...extra })),
  );
  presetRoute('Stream Chat', '/api/stream-token', (extra = {}) =>
    buildApp(streamChatTokenRouter({ apiSecret: PRESET_SECRETS.stream, apiKey: 'k7q2m9x4z8wd', resolveUser, ...common(), ...extra })),
  );
  presetRoute('Canny', '/api/canny-token', (extra = {}) => buildApp(cannySsoRouter({ privateKey: PRESET_SECRETS.canny, resolveUser, ...common(), ...extra })));
  presetRoute('Featurebase', '/api/featurebase-token', (extra = {}) => buildApp(featurebaseJwtRouter({ jwtSecret: PRESET_SECRETS.featurebase, resolveUser, ...common(), ...extra })));

  presetRoute('Chatwoot', '/api/chatwoot-identity', (extra = {}) => buildApp(chatwootIdentityRouter({ hmacToken: PRESET_SECRETS.chatwoot, resolveUser, ...common(), ...extra })));
  presetRoute('Crisp', '/api/crisp-identity', (extra = {}) => buildApp(crispIdentityRouter({ secret: PRESET_SECRETS.crisp, resolveUser, ...common(), ...extra })));
  presetRoute('Help Scout Beacon', '/api/helpscout-signature', (extra = {}) => buildApp(helpScoutBeaconRouter({ secret: PRESET_SECRETS.helpscout, resolveUser, ...common(), ...extra })));
  presetRoute('Front Chat', '/api/front-identity', (extra = {}) => buildApp(frontChatIdentityRouter({ secret: PRESET_SECRETS.front, resolveUser, ...common(), ...extra })));
  presetRoute('Plain', '/api/plain-identity', (extra = {}) => buildApp(plainChatIdentityRouter({ secret: PRESET_SECRETS.plain, resolveUser, ...common(), ...extra })));
  describe('/api/pusher/auth and /api/pusher/user-auth (Pusher)', () => {
    const app = (extra: object = {}) =>
      buildApp(
        pusherAuthRouter({
          appId: '123456',
          key: '278d425bdf160c739803',
          secret: PRESET_SECRETS.pusher,
          encryptionMasterKeyBase64: PRESET_SECRETS.pusherMaster,
          resolveUser,
          canJoin: (user, channel) => !channel.includes('admins'),
          userInfo: (user) => ({ name: user.name }),
          ...common(),
          ...extra,
        }),
      );
    const auth = '/api/pusher/auth';
    const signin = '/api/pusher/user-auth';

    it('answers both routes, from forms and JSON, and every error, as documented', async () => {
      const a = app();
      for (const channel of ['private-team', 'presence-team', 'private-encrypted-team']) {
        await expectAnswer(request(a).post(auth).set('x-test-user', 'ada').type('form').send({ socket_id: '1.2', channel_name: channel }), 'post', auth, 200);
      }
      await expectAnswer(request(a).post(auth).set('x-test-user', 'ada').send({ socket_id: '1.2', channel_name: 'presence-team' }), 'post', auth, 200);
      await expectAnswer(request(a).post(signin).set('x-test-user', 'ada').type('form').send({ socket_id: '1.2' }), 'post', signin, 200);
      await expectAnswer(request(a).post(auth).set('x-test-user', 'ada').type('form').send({ socket_id: '1.2', channel_name: 'private-admins' }), 'post', auth, 403, 'FORBIDDEN');
      const unencrypted = app({ encryptionMasterKeyBase64: undefined });
      await expectAnswer(request(unencrypted).post(auth).set('x-test-user', 'ada').type('form').send({ socket_id: '1.2', channel_name: 'private-encrypted-team' }), 'post', auth, 403, 'FORBIDDEN');
      for (const path of [auth, signin]) {
        await expectAnswer(request(a).post(path).type('form').send({ socket_id: '1.2', channel_name: 'private-team' }), 'post', path, 401, 'UNAUTHORIZED');
        await expectAnswer(request(a).post(path).set('x-test-user', 'ada').type('form').send({ socket_id: 'x', channel_name: 'private-team' }), 'post', path, 400, 'INVALID_REQUEST');
        await expectAnswer(request(a).post(path).set('x-test-user', 'ada').set('Content-Type', 'application/json').send('{"bad'), 'post', path, 400, 'INVALID_REQUEST');
        await sharedCases(a, app(limited), path, ['post'], false);
      }
    });
  });

  describe('/api/liveblocks-auth (Liveblocks)', () => {
    const path = '/api/liveblocks-auth';
    const secretKey = 'sk_prod_Wq7Lz4Xm1Rb8Tn5Vc3Hj6Pd0YsK2Gm8V';
    let fake: FakeLiveblocks;
    beforeAll(async () => {
      fake = await startFakeLiveblocks({ secret: secretKey });
    });
    afterEach(() => fake.clearFaults());
    afterAll(async () => {
      await fake.close();
    });
    const app = (extra: object = {}) =>
      buildApp(liveblocksAuthRouter({ secretKey, apiBaseUrl: fake.url, resolveUser, permissions: (user, room) => (room.startsWith('team:') ? ['room:write'] : null), ...upstream, ...common(), ...extra }));
    const ada = (a: Parameters<typeof request>[0], body: object = { room: 'team:general' }) => request(a).post(path).set('x-test-user', 'ada').send(body);

    it('answers { token } for access and ID tokens, and every error, as documented', async () => {
      const a = app();
      await expectAnswer(ada(a), 'post', path, 200);
      await expectAnswer(ada(app({ mode: 'id', permissions: undefined }), {}), 'post', path, 200);
      await expectAnswer(ada(a, { room: 'private' }), 'post', path, 403, 'FORBIDDEN');
      await expectAnswer(request(a).post(path).send({ room: 'team:general' }), 'post', path, 401, 'UNAUTHORIZED');
      await expectAnswer(ada(a, {}), 'post', path, 400, 'INVALID_REQUEST');
      await expectAnswer(ada(a, { room: 'team:*' }), 'post', path, 400, 'INVALID_REQUEST');
      await expectAnswer(request(a).post(path).set('x-test-user', 'ada').set('Content-Type', 'application/json').send('{"bad'), 'post', path, 400, 'INVALID_REQUEST');
      await sharedCases(a, app(limited), path, ['post'], false);
    });

    it('answers every Liveblocks failure in a documented shape', async () => {
      const a = app();
      await expectAnswer(ada(app({ secretKey: 'sk_prod_Tn5Vc3Hj6Pd0YsK2Gm8VWq7Lz4Xm1Rb8' })), 'post', path, 502, 'UPSTREAM_REJECTED');
      fake.fault({ kind: 'status', status: 500 }, { times: 1 });
      await expectAnswer(ada(a), 'post', path, 502, 'UPSTREAM_UNAVAILABLE');
      fake.fault({ kind: 'wrong-shape' }, { times: 1 });
      await expectAnswer(ada(a), 'post', path, 502, 'UPSTREAM_INVALID_RESPONSE');
      fake.fault({ kind: 'status', status: 429, headers: { 'Retry-After': '7' } }, { times: 1 });
      const busy = await expectAnswer(ada(a), 'post', path, 503, 'UPSTREAM_UNAVAILABLE');
      expect(busy.headers['retry-after']).toBe('7');
      fake.fault({ kind: 'latency', ms: 1000 }, { times: 1 });
      await expectAnswer(ada(a), 'post', path, 504, 'UPSTREAM_TIMEOUT');
    });
  });

  describe('/api/hubspot-visitor-token (HubSpot)', () => {
    const path = '/api/hubspot-visitor-token';
    const accessToken = 'pat-na1-7c9e6679-7425-40de-944b-e07fc1f90ae7';
    let fake: FakeHubSpot;
    beforeAll(async () => {
      fake = await startFakeHubSpot({ accessToken });
    });
    afterEach(() => {
      fake.clearFaults();
      fake.setVisitorIdentification(true);
    });
    afterAll(async () => {
      await fake.close();
    });
    // no cache: every request reaches the fake, so each fault is answered
    const app = (extra: object = {}) => buildApp(hubspotVisitorTokenRouter({ accessToken, apiBaseUrl: fake.url, resolveUser, cache: false, ...upstream, ...common(), ...extra }));

    it('answers GET and POST with { identificationEmail, identificationToken }, and the shared errors, as documented', async () => {
      const a = app();
      await expectAnswer(request(a).get(path).set('x-test-user', 'ada'), 'get', path, 200);
      await expectAnswer(request(a).post(path).set('x-test-user', 'ada').send({ ignored: true }), 'post', path, 200);
      for (const method of ['get', 'post'] as const) await expectAnswer(request(a)[method](path), method, path, 401, 'UNAUTHORIZED');
      await expectAnswer(request(a).post(path).set('x-test-user', 'ada').set('Content-Type', 'application/json').send('{"bad'), 'post', path, 400, 'INVALID_REQUEST');
      await sharedCases(a, app(limited), path, ['get', 'post'], false);
    });

    it('answers every HubSpot failure in a documented shape', async () => {
      const a = app();
      for (const method of ['get', 'post'] as const) {
        await expectAnswer(request(app({ accessToken: 'pat-na1-0d9c6a52-7f0e-4c1b-9a8d-3e2f1b0c4d5e' }))[method](path).set('x-test-user', 'ada'), method, path, 502, 'UPSTREAM_REJECTED');
        fake.setVisitorIdentification(false);
        const plan = await expectAnswer(request(a)[method](path).set('x-test-user', 'ada'), method, path, 503, 'UPSTREAM_FEATURE_UNAVAILABLE');
        expect(plan.body.error.correlationId).toBe(fake.errors.at(-1)!.correlationId);
        fake.setVisitorIdentification(true);
        fake.fault({ kind: 'status', status: 500 }, { times: 1 });
        await expectAnswer(request(a)[method](path).set('x-test-user', 'ada'), method, path, 502, 'UPSTREAM_UNAVAILABLE');
        fake.fault({ kind: 'wrong-shape' }, { times: 1 });
        await expectAnswer(request(a)[method](path).set('x-test-user', 'ada'), method, path, 502, 'UPSTREAM_INVALID_RESPONSE');
        fake.fault({ kind: 'status', status: 429, headers: { 'Retry-After': '7' } }, { times: 1 });
        const busy = await expectAnswer(request(a)[method](path).set('x-test-user', 'ada'), method, path, 503, 'UPSTREAM_UNAVAILABLE');
        expect(busy.headers['retry-after']).toBe('7');
        fake.fault({ kind: 'latency', ms: 1000 }, { times: 1 });
        await expectAnswer(request(a)[method](path).set('x-test-user', 'ada'), method, path, 504, 'UPSTREAM_TIMEOUT');
      }
    });
  });

  it('lists no status that the routers never produced in these tests', () => {
    // runs last: every case above has recorded what it exercised
    expect([...documented].filter((key) => !exercised.has(key)).sort()).toEqual([]);
  });
});
