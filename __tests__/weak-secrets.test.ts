/**
 * Secrets that are placeholders or have too little variety (`'a'.repeat(32)`,
 * `secretsecret…`, `abcdef…`, the example values the documentation used to show) are
 * refused at start-up by every factory and `…ConfigFromEnv` function, with a hint and
 * never the value; real vendor formats pass; `allowWeakSecrets: true` is the explicit
 * opt-out for tests, and it travels from a `…ConfigFromEnv` function (or `widgetAuth`)
 * to the router.
 */
import { createSecretKey } from 'node:crypto';
import fc from 'fast-check';
import request from 'supertest';
import {
  NeuroonTokenProvider,
  WidgetAuthConfigError,
  WonderfulAuthClient,
  createNeutEmbedParams,
  createWidgetSession,
  hissunoConfigFromEnv,
  hissunoTokenRouter,
  neuroonConfigFromEnv,
  neuroonTokenRouter,
  neutConfigFromEnv,
  neutEmbedParamsRouter,
  neverminedConfigFromEnv,
  neverminedSessionRouter,
  signHissunoToken,
  validateNeutWidgetRequest,
  widgetAuth,
  wonderfulConfigFromEnv,
  wonderfulTokenRouter,
} from '../lib';
import { verifyHissunoToken } from '../lib/testing';
import { EXPRESS_MAJOR, buildApp, expectNoSecrets, testResolveUser } from './helpers/app';
import { checkProperty } from './helpers/hardening';
import { BILL_BODY, NEUT } from './helpers/neut';

/** Run `fn`, expecting a WidgetAuthConfigError; return it. */
function configError(fn: () => unknown): WidgetAuthConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(WidgetAuthConfigError);
    return err as WidgetAuthConfigError;
  }
  throw new Error('expected a WidgetAuthConfigError, but nothing was thrown');
}

const HINT = /^looks like a placeholder or has too little variety \(it (?:has too few different characters|is mostly .+)\); set the key the vendor issued — in tests, a random value such as the output of `openssl rand -hex 32` \(see https:\/\/github\.com\/express-widget-auth\/express-widget-auth\/blob\/main\/docs\/errors\.md#weak-secrets\)$/;

/** Assert one problem for `name`, with the hint, and no trace of `secret` in the error. */
function expectWeak(err: WidgetAuthConfigError, name: string, secret: string): void {
  const mine = err.problems.filter((p) => p.startsWith(`${name}: `));
  expect(mine).toHaveLength(1);
  expect(mine[0]!.slice(name.length + 2)).toMatch(HINT);
  expectNoSecrets(`${err.message}\n${err.stack ?? ''}\n${JSON.stringify(err)}`, [secret]);
}

/** Weak values, each at least 32 characters long (every factory's minimum length passes). */
const WEAK: readonly [string, string][] = [
  ['one character repeated', 'a'.repeat(32)],
  ['a repeated word', 'secretsecretsecretsecretsecretse'],
  ['a repeated word and number', 'password1234password1234password'],
  ['the alphabet and digits in order', 'abcdefghijklmnopqrstuvwxyz012345'],
  ['digits in order, repeated', '0123456789'.repeat(4)],
  ['a vendor prefix and a filler', `sk_live_${'x'.repeat(32)}`],
  ['placeholder words', 'test-secret-key-for-local-development'],
  ['keyboard rows', 'qwertyuiopasdfghjklzxcvbnm123456'],
  ['a descending run', 'nk_live_fedcba9876543210fedcba98'],
];

/** The example secrets the documentation and its fakes showed before: refused everywhere. */
const FORMER_EXAMPLES = {
  hissuno: ['sk_test_0123456789abcdef0123456789abcdef', 'sk_live_0123456789abcdefghijklmnopqrstuv'],
  nevermined: ['wk_test_0123456789ab', 'wk_sandbox_0123456789abcdef', 'wk_test_0123456789abcdef'],
  neuroon: ['nk_test_0123456789', 'nk_test_0123456789abcdef0123456789'],
  neut: ['neut-test-secret-0123456789', 'neut_mint_bench_0123456789abcdef'],
  wonderful: ['wk_test_0123456789abcdef', 'wk_bench_api_key_0123456789abcdef'],
};

/** Keys in the formats vendors issue (random, made with `crypto.randomBytes` once). */
const REAL: readonly [string, string][] = [
  ['64 hex digits', '68b188956af8f52f0ca6294360747c417b5accb845df5f7af6dfd989b5c01c20'],
  ['base64 of 32 bytes', 'guhSl6OMIVqpxtDNoqXLrYa4auea2Vhcln+T3l71IT0='],
  ['base64url of 24 bytes', 'ms7QG_Cd3BTRWexhnEIacUqMD9O88_Bo'],
  ['a Nevermined wk_ key', 'wk_87cd04e9690780f74f5d4112f0adc482'],
  ['an sk_live_ key with a random tail', 'sk_live_pxzGrfTO4CocWE8uWcoaIaLmh5XlyKrv'],
  ['a 20-hex Pusher key', '894de20b77cb89fb70ca'],
  ['a 24-character Chatwoot token', 'Okr5O7GYZB3FCFHvxFDCogYN'],
  ['a UUID', '0b7e8a52-3c1d-4f6e-9a2b-7c8d9e0f1a2b'],
];

const BASE_URL = 'https://api.example.com';
const USER = testResolveUser;

/** Every factory that takes a secret, building it with `secret` (and `extra` options). */
const FACTORIES: readonly [name: string, option: string, min: number, build: (secret: string, extra?: object) => unknown][] = [
  ['hissunoTokenRouter', 'secretKey', 32, (secretKey, extra) => hissunoTokenRouter({ secretKey, resolveUser: USER, ...extra })],
  ['signHissunoToken', 'secretKey', 32, (secretKey, extra) => signHissunoToken({ userId: 'u-1' }, { secretKey, ...extra })],
  ['neverminedSessionRouter', 'rawSecret', 12, (rawSecret, extra) => neverminedSessionRouter({ orgId: 'org-1', rawSecret, apiBaseUrl: BASE_URL, resolveUser: USER, ...extra })],
  ['neuroonTokenRouter', 'apiKey', 8, (apiKey, extra) => neuroonTokenRouter({ shopId: 'shop_1', apiKey, apiBaseUrl: BASE_URL, ...extra })],
  ['NeuroonTokenProvider', 'apiKey', 8, (apiKey, extra) => new NeuroonTokenProvider({ shopId: 'shop_1', apiKey, apiBaseUrl: BASE_URL, ...extra })],
  ['neutEmbedParamsRouter', 'mintSecret', 16, (mintSecret, extra) => neutEmbedParamsRouter({ ...NEUT, mintSecret, ...extra })],
  ['createNeutEmbedParams', 'mintSecret', 16, (mintSecret, extra) => createNeutEmbedParams(validateNeutWidgetRequest(BILL_BODY), { ...NEUT, mintSecret, ...extra })],
  ['wonderfulTokenRouter', 'apiKey', 16, (apiKey, extra) => wonderfulTokenRouter({ baseUrl: BASE_URL, apiKey, resolveUser: USER, ...extra })],
  ['WonderfulAuthClient', 'apiKey', 16, (apiKey, extra) => new WonderfulAuthClient({ baseUrl: BASE_URL, apiKey, ...extra })],
];

/** Every `…ConfigFromEnv` function, the variable holding its secret, and a complete environment around `secret`. */
const FROM_ENV: readonly [name: string, variable: string, min: number, read: (env: Record<string, string>, options?: object) => Record<string, unknown>, env: (secret: string) => Record<string, string>][] = [
  ['hissunoConfigFromEnv', 'HISSUNO_SECRET_KEY', 32, (env, o) => ({ ...hissunoConfigFromEnv(env, o) }), (s) => ({ HISSUNO_SECRET_KEY: s })],
  ['neverminedConfigFromEnv', 'NVM_WIDGET_KEY_SECRET', 12, (env, o) => ({ ...neverminedConfigFromEnv(env, o) }), (s) => ({ NVM_ORG_ID: 'org-1', NVM_WIDGET_KEY_SECRET: s, NVM_API_BASE_URL: BASE_URL })],
  ['neuroonConfigFromEnv', 'NEUROON_API_KEY', 8, (env, o) => ({ ...neuroonConfigFromEnv(env, o) }), (s) => ({ NEUROON_SHOP_ID: 'shop_1', NEUROON_API_KEY: s })],
  [
    'neutConfigFromEnv',
    'NEUT_MINT_SECRET',
    16,
    (env, o) => ({ ...neutConfigFromEnv(env, o) }),
    (s) => ({ WIDGET_TENANT_ID: NEUT.tenantId, HOST_ORIGIN: NEUT.hostOrigin, NEUT_MINT_SECRET: s, NEUT_MINT_KEY_ID: NEUT.mintKeyId, WIDGET_ORIGIN: NEUT.widgetOrigin }),
  ],
  ['wonderfulConfigFromEnv', 'WONDERFUL_API_KEY', 16, (env, o) => ({ ...wonderfulConfigFromEnv(env, o) }), (s) => ({ WONDERFUL_API_URL: BASE_URL, WONDERFUL_API_KEY: s })],
];

describe(`weak secrets are refused at start-up (Express ${EXPRESS_MAJOR})`, () => {
  describe.each(FACTORIES)('%s', (name, option, min, build) => {
    it.each(WEAK)(`refuses ${option} made of %s, naming the option and never the value`, (_kind, secret) => {
      const err = configError(() => build(secret));
      expectWeak(err, option, secret);
      expect(err.message.startsWith(`${name}: `)).toBe(true);
    });

    it.each(REAL.filter(([, key]) => key.length >= min))(`takes ${option} as %s`, (_kind, key) => {
      expect(() => build(key)).not.toThrow();
    });

    it('takes a weak secret with allowWeakSecrets: true, and only a boolean there', () => {
      expect(() => build('a'.repeat(32), { allowWeakSecrets: true })).not.toThrow();
      expect(() => build('a'.repeat(32), { allowWeakSecrets: false })).toThrow(WidgetAuthConfigError);
      const err = configError(() => build(REAL[0]![1], { allowWeakSecrets: 'yes' }));
      expect(err.problems).toEqual(['allowWeakSecrets: must be true or false']);
    });

    it('still refuses a documentation placeholder with allowWeakSecrets: true', () => {
      const err = configError(() => build(`your-${option}-goes-here-${'0'.repeat(32)}`, { allowWeakSecrets: true }));
      expect(err.problems).toEqual([`${option}: looks like a placeholder, not a real secret`]);
    });

    it('reports a short weak secret once, by its length rule', () => {
      const err = configError(() => build('a'.repeat(min - 1)));
      expect(err.problems).toEqual([`${option}: must be at least ${min} characters long`]);
    });
  });

  it.each(Object.entries(FORMER_EXAMPLES).flatMap(([vendor, values]) => values.map((value) => [vendor, value] as const)))('refuses the former %s documentation example %p', (vendor, value) => {
    const [, option, , build] = FACTORIES.find(([name]) => name.toLowerCase().startsWith(vendor))!;
    expectWeak(configError(() => build(value)), option, value);
  });

  it('makes createWidgetSession reject a weak rawSecret before any call to Nevermined', async () => {
    const secret = 'wk_test_0123456789abcdef';
    let error: unknown;
    await createWidgetSession({ email: 'ada@example.com', orgId: 'org-1', rawSecret: secret, apiBaseUrl: 'http://127.0.0.1:9' }).catch((err: unknown) => {
      error = err;
    });
    expect(error).toBeInstanceOf(WidgetAuthConfigError);
    expectWeak(error as WidgetAuthConfigError, 'rawSecret', secret);
  });

  it('makes createWidgetSession refuse a weak rawSecret it took earlier with allowWeakSecrets, once the opt-out is gone', async () => {
    const secret = 'wk_test_0123456789abcdef';
    const options = { email: 'ada@example.com', orgId: 'org-1', rawSecret: secret, apiBaseUrl: 'http://127.0.0.1:9', timeoutMs: 200 };
    // taken with the opt-out: the call goes on to the (closed) port
    await expect(createWidgetSession({ ...options, allowWeakSecrets: true })).rejects.toMatchObject({ code: 'UPSTREAM_UNAVAILABLE' });
    let error: unknown;
    await createWidgetSession(options).catch((err: unknown) => {
      error = err;
    });
    expect(error).toBeInstanceOf(WidgetAuthConfigError);
    expectWeak(error as WidgetAuthConfigError, 'rawSecret', secret);
  });

  it('leaves a KeyObject secret to its owner: it cannot be read to be judged', () => {
    const token = signHissunoToken({ userId: 'u-1' }, { secretKey: createSecretKey(Buffer.alloc(32, 1)) });
    expect(verifyHissunoToken(token, Buffer.alloc(32, 1).toString('latin1')).userId).toBe('u-1');
  });

  it('takes keys in vendor formats, drawn at random', async () => {
    const hex = (bytes: number) => fc.uint8Array({ minLength: bytes, maxLength: bytes }).map((a) => Buffer.from(a).toString('hex'));
    const base64 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((a) => Buffer.from(a).toString('base64'));
    const alnum = (length: number) => fc.string({ unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'), minLength: length, maxLength: length });
    // without fast-check's bias towards edge cases (all zeros, one repeated letter): keys are drawn uniformly
    const keys = fc.noBias(fc.oneof(hex(32), hex(16), base64, alnum(32).map((t) => `sk_live_${t}`), hex(16).map((t) => `wk_${t}`), alnum(24)));
    await checkProperty(
      fc.property(keys, (key) => {
        wonderfulTokenRouter({ baseUrl: BASE_URL, apiKey: key, resolveUser: USER });
        if (key.length >= 32) hissunoTokenRouter({ secretKey: key, resolveUser: USER });
      }),
      300,
    );
  });
});

describe(`weak secrets in the environment (Express ${EXPRESS_MAJOR})`, () => {
  describe.each(FROM_ENV)('%s', (name, variable, min, read, envFor) => {
    it.each(WEAK)(`refuses ${variable} made of %s, naming the variable`, (_kind, secret) => {
      const err = configError(() => read(envFor(secret)));
      expectWeak(err, variable, secret);
      expect(err.message.startsWith(`${name}: `)).toBe(true);
    });

    it('returns allowWeakSecrets with the options when given it, and nothing extra otherwise', () => {
      expect(read(envFor('a'.repeat(min)), { allowWeakSecrets: true })['allowWeakSecrets']).toBe(true);
      expect(Object.keys(read(envFor(REAL[1]![1])))).not.toContain('allowWeakSecrets');
    });

    it('checks its options', () => {
      const err = configError(() => read(envFor(REAL[1]![1]), { allowWeakSecret: true }));
      expect(err.problems).toEqual(['allowWeakSecret: unknown option (did you mean `allowWeakSecrets`?)']);
    });
  });

  it('lets the opt-out of a …ConfigFromEnv function reach the router it is spread into', async () => {
    const secret = 'a'.repeat(32);
    const app = buildApp(hissunoTokenRouter({ ...hissunoConfigFromEnv({ HISSUNO_SECRET_KEY: secret }, { allowWeakSecrets: true }), resolveUser: USER }));
    const res = await request(app).get('/api/hissuno-token').set('x-test-user', 'ada');
    expect(res.status).toBe(200);
    expect(verifyHissunoToken(res.body.token, secret).userId).toBe('user-ada');
  });

  it('makes widgetAuth refuse a weak secret from the environment, naming the variable', () => {
    const secret = 'secretsecretsecretsecretsecretse';
    const err = configError(() => widgetAuth({ resolveUser: USER, env: { HISSUNO_SECRET_KEY: secret } }));
    expect(err.message.startsWith('widgetAuth: ')).toBe(true);
    expectWeak(err, 'HISSUNO_SECRET_KEY', secret);
  });

  it('serves with widgetAuth({ allowWeakSecrets: true }), for tests', async () => {
    const secret = 'secretsecretsecretsecretsecretse';
    const app = buildApp(widgetAuth({ resolveUser: USER, env: { HISSUNO_SECRET_KEY: secret, NEUROON_SHOP_ID: 'shop_1', NEUROON_API_KEY: 'nk_test_0123456789' }, allowWeakSecrets: true }));
    const res = await request(app).post('/api/hissuno-token').set('x-test-user', 'ada');
    expect(res.status).toBe(200);
    expect(verifyHissunoToken(res.body.token, secret).userId).toBe('user-ada');
  });

  it('takes allowWeakSecrets only at the top of widgetAuth', () => {
    const err = configError(() => widgetAuth({ resolveUser: USER, env: { HISSUNO_SECRET_KEY: REAL[0]![1] }, vendors: { hissuno: { allowWeakSecrets: true } } }));
    expect(err.problems).toEqual(['vendors.hissuno.allowWeakSecrets: give it to widgetAuth itself: it applies to the secrets read from the environment']);
    const typed = configError(() => widgetAuth({ resolveUser: USER, env: { HISSUNO_SECRET_KEY: REAL[0]![1] }, allowWeakSecrets: 1 as unknown as boolean }));
    expect(typed.problems).toEqual(['allowWeakSecrets: must be true or false']);
  });
});
