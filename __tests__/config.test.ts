import { z } from 'zod';
import { WidgetAuthConfigError, hissunoConfigFromEnv } from '../lib';
import {
  closestName,
  isLoopbackHost,
  milliseconds,
  optionsFromEnv,
  parseOptions,
  requiredString,
  secretString,
  vendorBaseUrl,
  type EnvVariable,
} from '../lib/core/config';
import { checkCommonOptions, commonOptionsShape } from '../lib/core/pipeline';

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

const schema = z
  .object({
    apiKey: secretString(16),
    baseUrl: vendorBaseUrl(),
    timeoutMs: milliseconds().default(5000),
    label: requiredString().optional(),
    ...commonOptionsShape,
  })
  .strict()
  .superRefine(checkCommonOptions);

const API_KEY = 'ak_7f8f9d0110bce542f5';
const valid = { apiKey: API_KEY, baseUrl: 'https://api.example.com' };

describe('WidgetAuthConfigError', () => {
  it('ends its message with a link to the configuration errors in docs/errors.md, also for an unset variable', () => {
    const { message, problems } = configError(() => hissunoConfigFromEnv({}));
    expect(problems).toEqual(['HISSUNO_SECRET_KEY: is not set']);
    expect(message).toBe('hissunoConfigFromEnv: 1 configuration problem:\n  - HISSUNO_SECRET_KEY: is not set\nSee https://github.com/express-widget-auth/express-widget-auth/blob/main/docs/errors.md#configuration-errors');
  });
});

describe('parseOptions', () => {
  it('returns the resolved configuration with defaults filled in', () => {
    const config = parseOptions('demoRouter', schema, valid);
    expect(config).toMatchObject({ apiKey: API_KEY, baseUrl: 'https://api.example.com', timeoutMs: 5000, requireOrigin: false, cors: false, bodyLimit: '8kb' });
  });

  it('reports every problem at once, each naming its option and rule', () => {
    const err = configError(() =>
      parseOptions('demoRouter', schema, {
        apiKey: 'short',
        baseUrl: 'http://api.example.com',
        timeoutMs: 1.5,
        cors: true,
        rateLimit: { windowMs: 0, limit: 10, limt: 3 },
        alowedOrigins: ['https://app.example.com'],
      }),
    );
    expect(err.problems).toEqual(
      expect.arrayContaining([
        'apiKey: must be at least 16 characters long',
        expect.stringMatching(/^baseUrl: must use https:/),
        'timeoutMs: must be a whole number of milliseconds',
        'rateLimit.windowMs: must be positive',
        'rateLimit.limt: unknown option (did you mean `limit`?)',
        'alowedOrigins: unknown option (did you mean `allowedOrigins`?)',
      ]),
    );
    expect(err.problems).toHaveLength(6);
    expect(err.message).toMatch(/^demoRouter: 6 configuration problems:\n {2}- /);
    expect(err.code).toBe('INVALID_CONFIG');
    expect(err.name).toBe('WidgetAuthConfigError');
  });

  it('reports cross-field rules once the fields themselves are valid', () => {
    const err = configError(() => parseOptions('demoRouter', schema, { ...valid, cors: true }));
    expect(err.problems).toEqual(['cors: needs allowedOrigins: CORS is only answered for listed origins']);
  });

  it('names the nearest option for a typo and stays silent for a stranger', () => {
    const err = configError(() => parseOptions('demoRouter', schema, { ...valid, apikey: 'x', basUrl: 'y', flavour: 'z' }));
    expect(err.problems).toEqual([
      'apikey: unknown option (did you mean `apiKey`?)',
      'basUrl: unknown option (did you mean `baseUrl`?)',
      'flavour: unknown option',
    ]);
    expect(err.message).toMatch(/^demoRouter: 3 configuration problems/);
  });

  it('treats undefined as omitted (the default applies and required options are still required)', () => {
    expect(parseOptions('demoRouter', schema, { ...valid, timeoutMs: undefined, label: undefined }).timeoutMs).toBe(5000);
    const err = configError(() => parseOptions('demoRouter', schema, { ...valid, apiKey: undefined }));
    expect(err.problems).toEqual(['apiKey: is required']);
  });

  it('never mutates the caller\'s options, even when it fills in defaults', () => {
    const rateLimit = Object.freeze({ windowMs: 1000, limit: 5 });
    const options = Object.freeze({ ...valid, label: '  Shop  ', rateLimit, allowedOrigins: Object.freeze(['https://app.example.com']) as string[] });
    const before = JSON.stringify(options);
    const config = parseOptions('demoRouter', schema, options);
    expect(config.label).toBe('Shop');
    expect(config).not.toBe(options);
    expect(JSON.stringify(options)).toBe(before);
  });

  it('catches a factory passed where its options belong', () => {
    function demoRouter() {
      return undefined;
    }
    const err = configError(() => parseOptions('demoRouter', schema, demoRouter));
    expect(err.problems).toEqual([
      'options: a function was passed where an options object was expected (did you write `app.use(demoRouter)` instead of `app.use(demoRouter({ … }))`?)',
    ]);
  });

  it('tells what a function given as options most likely was: resolveUser alone, or a …ConfigFromEnv not called', () => {
    const withUser = z.object({ resolveUser: z.function() });
    const resolveUser = () => null;
    expect(configError(() => parseOptions('demoRouter', withUser, resolveUser)).problems).toEqual([
      'options: a function (resolveUser) was passed where an options object was expected; resolveUser goes inside the options: demoRouter({ …, resolveUser })',
    ]);
    function demoConfigFromEnv() {
      return {};
    }
    expect(configError(() => parseOptions('demoRouter', withUser, demoConfigFromEnv)).problems).toEqual([
      'options: demoConfigFromEnv was passed without being called; write demoRouter({ ...demoConfigFromEnv(), … })',
    ]);
    // another factory of the package is no resolveUser; a name that cannot be read is no name
    function hissunoTokenRouter() {
      return undefined;
    }
    expect(configError(() => parseOptions('demoRouter', withUser, hissunoTokenRouter)).problems).toEqual([
      'options: hissunoTokenRouter (a factory of its own) was passed where an options object was expected: demoRouter({ … })',
    ]);
    const unnamed = Object.defineProperty(() => null, 'name', {
      get() {
        throw new Error('no name');
      },
    });
    expect(configError(() => parseOptions('demoRouter', withUser, unnamed)).problems).toEqual([
      'options: a function was passed where an options object was expected; resolveUser goes inside the options: demoRouter({ …, resolveUser })',
    ]);
    // a factory without resolveUser (a credential strategy) says only what it takes
    expect(configError(() => parseOptions('demoCredential', schema, () => 1)).problems).toEqual(['options: a function was passed where an options object was expected: demoCredential({ … })']);
  });

  it.each([[undefined], [null], ['options'], [[valid]], [42]])('refuses %p as options', (input) => {
    const err = configError(() => parseOptions('demoRouter', schema, input));
    expect(err.problems).toEqual(['options: expected an options object']);
  });

  it('checks the common options every router takes', () => {
    const err = configError(() =>
      parseOptions('demoRouter', schema, {
        ...valid,
        path: 'api/x?y',
        requireOrigin: 'yes',
        bodyLimit: '8 gigabytes',
        logger: console.log,
        rateLimit: { windowMs: 1000, limit: 1, store: {} },
      }),
    );
    expect(err.problems).toEqual(
      expect.arrayContaining([
        'path: must start with "/" and hold no query or fragment',
        'requireOrigin: expected boolean, received string',
        expect.stringMatching(/^bodyLimit: /),
        'logger: must be a logger with info, warn and error methods (pino-compatible)',
        'rateLimit.store: must be an express-rate-limit store (with an increment method)',
      ]),
    );
    expect(err.problems).toHaveLength(5);
  });
});

describe('secretString', () => {
  const secretSchema = z.object({ secret: secretString(8) }).strict();
  const problemsFor = (secret: unknown) => configError(() => parseOptions('signer', secretSchema, { secret }));

  it('takes a real secret as it is', () => {
    expect(parseOptions('signer', secretSchema, { secret: 'Kx9!pQ2#vL' }).secret).toBe('Kx9!pQ2#vL');
  });

  it.each(['changeme', 'CHANGE_ME', 'change-me', 'your-secret-key', 'your_api_key', 'xxxxxxxx', '<your secret>', 'TODO', 'replace-me', 'sk_live_...', 'wk_...'])(
    'refuses the placeholder %p without echoing it',
    (secret) => {
      const err = problemsFor(secret);
      expect(err.problems).toEqual(expect.arrayContaining(['secret: looks like a placeholder, not a real secret']));
      expect(err.message).not.toContain(secret);
    },
  );

  it.each([' s3cr3t-value', 's3cr3t-value ', 's3cr3t-value\n', '\ts3cr3t-value'])('refuses white space around %p', (secret) => {
    const err = problemsFor(secret);
    expect(err.problems).toEqual(['secret: must not start or end with white space']);
    expect(err.message).not.toContain(secret.trim());
  });

  it.each([
    ['', 'secret: must not be empty'],
    ['abc123', 'secret: must be at least 8 characters long'],
    [12345678, 'secret: must be a string'],
    [undefined, 'secret: is required'],
  ])('refuses %p', (secret, problem) => {
    const err = problemsFor(secret);
    expect(err.problems).toEqual([problem]);
    if (typeof secret === 'string' && secret) expect(err.message).not.toContain(secret);
  });
});

describe('vendorBaseUrl', () => {
  const urlSchema = z.object({ baseUrl: vendorBaseUrl() }).strict();
  const parse = (baseUrl: unknown) => parseOptions('client', urlSchema, { baseUrl }).baseUrl;
  const problems = (baseUrl: unknown) => configError(() => parse(baseUrl)).problems;

  it.each([
    ['https://api.example.com', 'https://api.example.com'],
    ['https://api.example.com/', 'https://api.example.com'],
    ['https://api.example.com/v1//', 'https://api.example.com/v1'],
    ['https://api.example.com:8443/base', 'https://api.example.com:8443/base'],
    ['http://localhost:4010', 'http://localhost:4010'],
    ['http://127.0.0.1:4010/', 'http://127.0.0.1:4010'],
    ['http://127.45.6.7', 'http://127.45.6.7'],
    ['http://[::1]:4010', 'http://[::1]:4010'],
  ])('takes %p as %p', (input, expected) => {
    expect(parse(input)).toBe(expected);
  });

  it.each([
    ['http://api.example.com', /^baseUrl: must use https: \(plain http: is allowed only for localhost/],
    ['http://localhost.example.com', /must use https:/],
    ['http://10.0.0.1:8080', /must use https:/],
    ['http://128.0.0.1', /must use https:/],
    ['ftp://api.example.com', /^baseUrl: must use https:$/],
    ['https://user:pass@api.example.com', /^baseUrl: must not contain credentials$/],
    ['https://api.example.com/?key=1', /^baseUrl: must not contain a query or fragment$/],
    ['https://api.example.com/#frag', /^baseUrl: must not contain a query or fragment$/],
    ['api.example.com', /^baseUrl: must be an absolute URL/],
    [42, /^baseUrl: must be a string$/],
  ])('refuses %p', (input, problem) => {
    expect(problems(input)).toEqual([expect.stringMatching(problem)]);
  });

  it('never echoes credentials found in the URL', () => {
    expect(configError(() => parse('https://user:hunter2-pass@api.example.com')).message).not.toContain('hunter2');
  });

  it.each([
    ['localhost', true],
    ['127.0.0.1', true],
    ['127.255.0.9', true],
    ['[::1]', true],
    ['LOCALHOST', true],
    ['localhost.evil.com', false],
    ['127.0.0.1.nip.io', false],
    ['0.0.0.0', false],
    ['[::2]', false],
  ])('isLoopbackHost(%p) is %p', (host, expected) => {
    expect(isLoopbackHost(host)).toBe(expected);
  });
});

describe('optionsFromEnv', () => {
  const envSchema = z.object({ apiKey: secretString(16), baseUrl: vendorBaseUrl(), tenant: requiredString().optional() });
  const variables: EnvVariable[] = [
    { name: 'DEMO_API_KEY', option: 'apiKey', required: true },
    { name: 'DEMO_API_URL', option: 'baseUrl', required: true },
    { name: 'DEMO_TENANT', option: 'tenant', required: false },
  ];
  const fromEnv = (env: Record<string, string | undefined>) => optionsFromEnv('demoConfigFromEnv', env, variables, envSchema);

  it('maps variables to options and leaves optional ones out when unset', () => {
    expect(fromEnv({ DEMO_API_KEY: API_KEY, DEMO_API_URL: 'https://api.example.com/' })).toEqual({ apiKey: API_KEY, baseUrl: 'https://api.example.com' });
    expect(fromEnv({ DEMO_API_KEY: API_KEY, DEMO_API_URL: 'https://api.example.com', DEMO_TENANT: 't-1' }).tenant).toBe('t-1');
  });

  it('lists missing and invalid variables together, by name, without their values', () => {
    const err = configError(() => fromEnv({ DEMO_API_URL: 'http://api.example.com', DEMO_TENANT: '   ', OTHER: 'x' }));
    expect(err.problems).toEqual(['DEMO_API_KEY: is not set', expect.stringMatching(/^DEMO_API_URL: must use https:/)]);
    expect(err.message).toMatch(/^demoConfigFromEnv: 2 configuration problems/);

    const invalid = configError(() => fromEnv({ DEMO_API_KEY: 'changeme', DEMO_API_URL: 'nonsense' }));
    expect(invalid.problems).toEqual([
      'DEMO_API_KEY: must be at least 16 characters long',
      'DEMO_API_KEY: looks like a placeholder, not a real secret',
      'DEMO_API_URL: must be an absolute URL such as https://api.example.com',
    ]);
    expect(invalid.message).not.toContain('changeme');
  });

  it('counts empty and blank values as not set', () => {
    const err = configError(() => fromEnv({ DEMO_API_KEY: '', DEMO_API_URL: ' \t' }));
    expect(err.problems).toEqual(['DEMO_API_KEY: is not set', 'DEMO_API_URL: is not set']);
  });
});

describe('closestName', () => {
  it.each([
    ['secretkey', 'secretKey'],
    ['expiresin', 'expiresIn'],
    ['alowedOrigins', 'allowedOrigins'],
    ['ratelimit', 'rateLimit'],
    ['zzz', undefined],
  ])('suggests %p → %p', (typo, expected) => {
    expect(closestName(typo, ['secretKey', 'expiresIn', 'allowedOrigins', 'rateLimit'])).toBe(expected);
  });
});
