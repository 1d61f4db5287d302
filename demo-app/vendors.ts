import { randomBytes } from 'node:crypto';
import type { Router } from 'express';
import {
  detectWidgetAuthVendors,
  hissunoConfigFromEnv,
  hissunoTokenRouter,
  neuroonConfigFromEnv,
  NeuroonTokenProvider,
  neuroonTokenRouter,
  neutConfigFromEnv,
  neutEmbedParamsRouter,
  neverminedSessionRouter,
  widgetAuth,
  WidgetAuthConfigError,
  wonderfulTokenRouter,
  type ResolveUser,
  type WidgetAuthLogger,
  type WidgetAuthVendor,
  type WidgetAuthVendors,
} from '../lib';
import {
  startFakeNeuroon,
  startFakeNeutWidgetHost,
  startFakeNevermined,
  startFakeWonderful,
  type FakeNeuroon,
  type FakeNeutWidgetHost,
  type FakeNevermined,
  type FakeWonderful,
} from '../lib/testing';

/** A vendor of the demo, in the order its cards appear: the vendors it has cards and fakes for. */
export type DemoVendor = Extract<WidgetAuthVendor, 'nevermined' | 'neuroon' | 'hissuno' | 'neut' | 'wonderful'>;

/** The vendors the demo shows, in card order. */
export const DEMO_VENDORS: readonly DemoVendor[] = ['nevermined', 'neuroon', 'hissuno', 'neut', 'wonderful'];

/** Whether a vendor runs against its in-process fake or the real service. */
export type DemoMode = 'sandbox' | 'live';

/** The in-process fakes of the vendors that run in sandbox mode. */
export interface DemoSandbox {
  nevermined?: FakeNevermined;
  neuroon?: FakeNeuroon;
  neutHost?: FakeNeutWidgetHost;
  wonderful?: FakeWonderful;
}

/** Everything the demo app needs to know about its vendors. */
export interface DemoVendors {
  modes: Record<DemoVendor, DemoMode>;
  /** Vendor routers to mount, in order. */
  routers: Router[];
  /** Shared by the JSON route and the server-rendered page, so both use one cached token. */
  neuroonProvider: NeuroonTokenProvider;
  /** `src` of the Neuroon script tag: a stand-in served by the demo in sandbox mode. */
  neuroonScriptSrc?: string;
  /** Origin of Neuroon's API, which the live widget calls from the browser. */
  neuroonApiOrigin?: string;
  /** The Hissuno secret, to check tokens the way Hissuno's server does (server-side only). */
  hissunoSecretKey: string;
  neutWidgetOrigin: string;
  /** The Neut shop-facing origin, as signed into every embed URL. */
  neutHostOrigin: string;
  sandbox: DemoSandbox;
  /** Every secret value the demo holds, for redaction checks. Never sent to the browser. */
  secrets: string[];
  /** Sandbox vendors described for the start-up banner. */
  describe(vendor: DemoVendor): string;
  close(): Promise<void>;
}

/** Options of {@link setUpVendors}. */
export interface SetUpVendorsOptions {
  env: Record<string, string | undefined>;
  /** The demo's own origin (`http://localhost:3000`). */
  origin: string;
  /** Other origins the page may be opened on (`http://127.0.0.1:3000`). */
  alternateOrigins: string[];
  resolveUser: ResolveUser;
  logger?: WidgetAuthLogger;
  neutSessionLifeMs: number;
}

const secret = (prefix: string, bytes = 24): string => `${prefix}${randomBytes(bytes).toString('base64url')}`;

/**
 * Start each vendor in sandbox mode (its fake on loopback, credentials generated now)
 * unless the environment configures it, and build the routers. Live vendors other than
 * Neuroon are mounted with `widgetAuth`; Neuroon is mounted on its own so the page and
 * the JSON route share one token provider.
 */
export async function setUpVendors(options: SetUpVendorsOptions): Promise<DemoVendors> {
  const { env, origin, resolveUser, logger } = options;
  const allowedOrigins = [origin, ...options.alternateOrigins];
  const common = { resolveUser, allowedOrigins, ...(logger ? { logger } : {}) };
  // the vendors the demo has a card and a sandbox for; the others are not mounted here
  const statuses = detectWidgetAuthVendors(env).filter((s): s is typeof s & { vendor: DemoVendor } => (DEMO_VENDORS as readonly string[]).includes(s.vendor));
  const partial = statuses.filter((s) => s.state === 'partial');
  if (partial.length > 0) {
    throw new WidgetAuthConfigError(
      'demo',
      partial.flatMap((s) =>
        s.missing.map((name) => `${name}: is not set (${s.label} is partly configured: set all of ${s.variables.filter((v) => v.required).map((v) => v.name).join(', ')} for live mode, or none of them for the sandbox)`),
      ),
    );
  }
  const modes = Object.fromEntries(statuses.map((s) => [s.vendor, s.state === 'absent' ? 'sandbox' : 'live'])) as Record<DemoVendor, DemoMode>;
  const sandbox: DemoSandbox = {};
  const secrets: string[] = [];
  const routers: Router[] = [];
  const closers: (() => Promise<void>)[] = [];
  const descriptions = new Map<DemoVendor, string>();

  try {
    // Live vendors through the one-call mounting function (it reports every missing or invalid variable at once).
    const live: WidgetAuthVendors = {};
    if (modes.nevermined === 'live') live.nevermined = true;
    if (modes.hissuno === 'live') live.hissuno = true;
    if (modes.neut === 'live') live.neut = { resolveUser };
    if (modes.wonderful === 'live') live.wonderful = true;
    if (Object.keys(live).length > 0) {
      routers.push(widgetAuth({ resolveUser, env, vendors: live, allowedOrigins, ...(logger ? { logger } : {}) }));
    }

    if (modes.nevermined === 'sandbox') {
      const rawSecret = secret('wk_demo_');
      const fake = await startFakeNevermined({ orgs: { 'demo-org': { secret: rawSecret } } });
      closers.push(() => fake.close());
      sandbox.nevermined = fake;
      secrets.push(rawSecret);
      routers.push(neverminedSessionRouter({ ...common, orgId: 'demo-org', rawSecret, apiBaseUrl: fake.url }));
      descriptions.set('nevermined', `fake Nevermined API on ${fake.url}`);
    }

    let neuroonProvider: NeuroonTokenProvider;
    let neuroonScriptSrc: string | undefined;
    let neuroonApiOrigin: string | undefined;
    if (modes.neuroon === 'sandbox') {
      const apiKey = secret('nk_demo_');
      const fake = await startFakeNeuroon({ shops: { 'demo-shop': { apiKey } } });
      closers.push(() => fake.close());
      sandbox.neuroon = fake;
      secrets.push(apiKey);
      neuroonProvider = new NeuroonTokenProvider({ shopId: 'demo-shop', apiKey, apiBaseUrl: fake.url });
      neuroonScriptSrc = `${origin}/demo/neuroon-widget.js`;
      descriptions.set('neuroon', `fake Neuroon API on ${fake.url}`);
    } else {
      const config = neuroonConfigFromEnv(env);
      secrets.push(config.apiKey);
      neuroonProvider = new NeuroonTokenProvider({ ...config, ...(logger ? { logger } : {}) });
      neuroonApiOrigin = new URL(config.apiBaseUrl).origin;
    }
    routers.push(neuroonTokenRouter({ ...common, provider: neuroonProvider }));

    let hissunoSecretKey: string;
    if (modes.hissuno === 'sandbox') {
      hissunoSecretKey = secret('sk_test_', 32);
      routers.push(hissunoTokenRouter({ ...common, secretKey: hissunoSecretKey }));
      descriptions.set('hissuno', 'secret key generated at start; tokens checked by Hissuno\u2019s rules');
    } else {
      hissunoSecretKey = hissunoConfigFromEnv(env).secretKey;
    }
    secrets.push(hissunoSecretKey);

    let neutWidgetOrigin: string;
    let neutHostOrigin: string;
    if (modes.neut === 'sandbox') {
      const mintSecret = secret('', 32);
      const mintKeyId = 'demo-key-1';
      const host = await startFakeNeutWidgetHost({
        tenants: { 'demo-tenant': { mintSecret, mintKeyId, customerOrigins: allowedOrigins } },
        sessionLifeMs: options.neutSessionLifeMs,
      });
      closers.push(() => host.close());
      sandbox.neutHost = host;
      secrets.push(mintSecret);
      neutWidgetOrigin = host.url;
      neutHostOrigin = origin;
      routers.push(neutEmbedParamsRouter({ ...common, tenantId: 'demo-tenant', hostOrigin: origin, mintSecret, mintKeyId, widgetOrigin: host.url }));
      descriptions.set('neut', `fake widget host on ${host.url}`);
    } else {
      const config = neutConfigFromEnv(env);
      secrets.push(config.mintSecret);
      neutWidgetOrigin = config.widgetOrigin;
      neutHostOrigin = config.hostOrigin;
    }

    if (modes.wonderful === 'sandbox') {
      const apiKey = secret('wk_demo_');
      const fake = await startFakeWonderful({ apiKey });
      closers.push(() => fake.close());
      sandbox.wonderful = fake;
      secrets.push(apiKey);
      routers.push(wonderfulTokenRouter({ ...common, baseUrl: fake.url, apiKey }));
      descriptions.set('wonderful', `fake Wonderful API on ${fake.url}`);
    }

    if (modes.nevermined === 'live') secrets.push(env['NVM_WIDGET_KEY_SECRET']!);
    if (modes.wonderful === 'live') secrets.push(env['WONDERFUL_API_KEY']!);

    return {
      modes,
      routers,
      neuroonProvider,
      ...(neuroonScriptSrc ? { neuroonScriptSrc } : {}),
      ...(neuroonApiOrigin ? { neuroonApiOrigin } : {}),
      hissunoSecretKey,
      neutWidgetOrigin,
      neutHostOrigin,
      sandbox,
      secrets,
      describe: (vendor) => descriptions.get(vendor) ?? 'variables from the environment',
      close: async () => {
        await Promise.all(closers.map((close) => close()));
      },
    };
  } catch (err) {
    await Promise.all(closers.map((close) => close()));
    throw err;
  }
}
