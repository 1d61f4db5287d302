import { startFakeNeuroon, startFakeNevermined, startFakeWonderful, type FakeNeuroon, type FakeNevermined, type FakeWonderful } from '../../lib/testing';

/** Secrets of the sandbox vendors; none may ever reach a response (other than as a minted token) or a log. */
export const SECRETS = {
  nevermined: 'wk_test_4d1f8a2c6e0b9375',
  neuroon: 'nk_test_9b3e5f7a1c2d4e6f8a0b',
  hissuno: 'sk_test_0f1e2d3c4b5a69788796a5b4c3d2e1f0',
  neut: 'neut-mint-secret-7a6b5c4d3e2f1a0b',
  wonderful: 'wk_test_1a2b3c4d5e6f7a8b9c0d',
} as const;

export const NVM_ORG = 'org-widget-auth';
export const NEUROON_SHOP = 'shop_widget_auth';
export const NEUT_HOST_ORIGIN = 'https://www.example.com';

/** The three vendors that are called over HTTP, played by the fakes on loopback. */
export interface SandboxFakes {
  nevermined: FakeNevermined;
  neuroon: FakeNeuroon;
  wonderful: FakeWonderful;
  /** An environment configuring all five vendors against the fakes. */
  env: Record<string, string>;
  /** Forget recorded requests and injected faults. */
  reset(): void;
  close(): Promise<void>;
}

/** Start the Nevermined, Neuroon and Wonderful fakes and build an environment configuring every vendor. */
export async function startSandbox(): Promise<SandboxFakes> {
  const [nevermined, neuroon, wonderful] = await Promise.all([
    startFakeNevermined({ orgs: { [NVM_ORG]: { secret: SECRETS.nevermined } } }),
    startFakeNeuroon({ shops: { [NEUROON_SHOP]: { apiKey: SECRETS.neuroon } } }),
    startFakeWonderful({ apiKey: SECRETS.wonderful }),
  ]);
  const env = {
    NVM_ORG_ID: NVM_ORG,
    NVM_WIDGET_KEY_SECRET: SECRETS.nevermined,
    NVM_API_BASE_URL: nevermined.url,
    NEUROON_SHOP_ID: NEUROON_SHOP,
    NEUROON_API_KEY: SECRETS.neuroon,
    NEUROON_API_URL: neuroon.url,
    HISSUNO_SECRET_KEY: SECRETS.hissuno,
    WIDGET_TENANT_ID: 'tenant-widget-auth',
    HOST_ORIGIN: NEUT_HOST_ORIGIN,
    NEUT_MINT_SECRET: SECRETS.neut,
    NEUT_MINT_KEY_ID: 'mint-key-1',
    WIDGET_ORIGIN: 'https://widgets.neut.us',
    WONDERFUL_API_URL: wonderful.url,
    WONDERFUL_API_KEY: SECRETS.wonderful,
  };
  const fakes = [nevermined, neuroon, wonderful];
  return {
    nevermined,
    neuroon,
    wonderful,
    env,
    reset() {
      for (const fake of fakes) {
        fake.clearFaults();
        fake.requests.length = 0;
      }
    },
    async close() {
      await Promise.all(fakes.map((f) => f.close()));
    },
  };
}

/** `env` without the named variables. */
export function without(env: Record<string, string>, ...names: string[]): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter(([name]) => !names.includes(name)));
}

/** Only the named variables of `env`. */
export function only(env: Record<string, string>, prefixOrNames: readonly string[]): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter(([name]) => prefixOrNames.includes(name)));
}

/** The body of a valid Neut request (the vendor guide's bill preview). */
export const NEUT_BODY = {
  widget_id: 'bill-preview',
  instance_id: 'bill-preview-article-1-main',
  bill_type: 'HR',
  bill_number: 1,
  congress: 119,
} as const;

/** Run `fn` and return the `WidgetAuthConfigError` (or other error) it throws; fail if it throws nothing. */
export function thrownBy(fn: () => unknown): Error & { problems?: readonly string[] } {
  try {
    fn();
  } catch (err) {
    return err as Error & { problems?: readonly string[] };
  }
  throw new Error('expected a throw, nothing was thrown');
}
