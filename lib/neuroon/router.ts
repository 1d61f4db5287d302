import type { Router } from 'express';
import { z } from 'zod';
import { optionsFromEnv, parseOptions, requiredString, secretString, vendorBaseUrl, type EnvVariable, type WeakSecretOption } from '../core/config';
import { guardFactory } from '../core/misuse';
import { checkCommonOptions, commonOptionsShape, createWidgetRouter, resolveUserSchema, type CommonRouterOptions } from '../core/pipeline';
import type { ResolveUser } from '../core/types';
import { neuroonContract } from './contract';
import { isNeuroonTokenProvider } from './middleware';
import { NEUROON_API_URL, NEUROON_ISSUE_ROUTE, NeuroonTokenProvider, checkRotation, neuroonProviderFields, neuroonProviderSecrets, type NeuroonTokenProviderOptions } from './provider';

/** Default route of {@link neuroonTokenRouter}. */
export const NEUROON_TOKEN_PATH = '/api/neuroon-widget-token';

/** Options of {@link neuroonTokenRouter}. */
export interface NeuroonTokenRouterOptions extends CommonRouterOptions, Partial<Omit<NeuroonTokenProviderOptions, 'logger'>> {
  /**
   * A provider to serve from (share it with {@link neuroonWidgetToken}). Give either
   * `provider` or `shopId` + `apiKey` (with any other provider option), not both.
   */
  provider?: NeuroonTokenProvider;
  /**
   * Maps the request to the signed-in user. When given, the route answers 401 to
   * anonymous requests. Defaults to none: the token is shop-wide, anyone may fetch it.
   */
  resolveUser?: ResolveUser;
}

const PROVIDER_KEYS = Object.keys(neuroonProviderFields) as (keyof typeof neuroonProviderFields)[];

const optionsSchema = z
  .object({
    ...neuroonProviderFields,
    shopId: neuroonProviderFields.shopId.optional(),
    apiKey: neuroonProviderFields.apiKey.optional(),
    provider: z.custom<NeuroonTokenProvider>(isNeuroonTokenProvider, { message: 'must be a NeuroonTokenProvider' }).optional(),
    resolveUser: resolveUserSchema.optional(),
    ...commonOptionsShape,
  })
  .strict()
  .superRefine((options, ctx) => {
    checkCommonOptions(options, ctx);
    if (options.provider !== undefined) {
      for (const key of PROVIDER_KEYS) {
        if (options[key] !== undefined) ctx.addIssue({ code: 'custom', path: [key], message: 'cannot be combined with provider (configure the provider instead)' });
      }
      return;
    }
    if (options.shopId === undefined) ctx.addIssue({ code: 'custom', path: ['shopId'], message: 'is required (or pass a provider)' });
    if (options.apiKey === undefined) ctx.addIssue({ code: 'custom', path: ['apiKey'], message: 'is required (or pass a provider)' });
    checkRotation(options, ctx);
  });

/**
 * Router answering `GET /api/neuroon-widget-token` with exactly `{ "token": "…" }`, for
 * single-page apps that fetch the widget token before loading the widget. Tokens come
 * from a {@link NeuroonTokenProvider} (cached, rotated at 23 h, one vendor call at a
 * time); vendor failures answer 502/503/504 in the `{"error":{"code","message"}}` shape.
 *
 * @example
 * ```ts
 * app.use(neuroonTokenRouter({ ...neuroonConfigFromEnv(), allowedOrigins: ['https://shop.example.com'] }));
 * ```
 */
export function neuroonTokenRouter(options: NeuroonTokenRouterOptions): Router {
  const config = parseOptions('neuroonTokenRouter', optionsSchema, options);
  let provider = config.provider;
  if (provider === undefined) {
    // the secret passed the router's check (or its opt-out): the provider checks it the same way
    const providerOptions: Record<string, unknown> = { logger: config.logger, allowWeakSecrets: options.allowWeakSecrets };
    for (const key of PROVIDER_KEYS) providerOptions[key] = config[key];
    provider = new NeuroonTokenProvider(providerOptions as unknown as NeuroonTokenProviderOptions);
  }
  const source = provider;
  return createWidgetRouter(neuroonContract, config, {
    // the provider's key, also when the provider was passed in
    secrets: neuroonProviderSecrets(source),
    relaysVendor: true,
    routes: [
      {
        path: config.path ?? NEUROON_TOKEN_PATH,
        methods: ['GET'],
        requireUser: config.resolveUser !== undefined,
        handle({ upstream }) {
          const cached = source.currentToken();
          if (cached !== undefined) return { token: cached };
          const started = performance.now();
          return source.getToken().then((token) => {
            upstream(performance.now() - started);
            return { token };
          });
        },
      },
    ],
  });
}

guardFactory(neuroonTokenRouter, 'neuroonTokenRouter');

/** Environment variables read by {@link neuroonConfigFromEnv}. */
export const NEUROON_ENV: readonly EnvVariable[] = [
  { name: 'NEUROON_SHOP_ID', option: 'shopId', required: true },
  { name: 'NEUROON_API_KEY', option: 'apiKey', required: true },
  { name: 'NEUROON_API_URL', option: 'apiBaseUrl', required: false },
];

const envSchema = z.object({
  shopId: requiredString(),
  apiKey: secretString(8),
  apiBaseUrl: vendorBaseUrl(NEUROON_ISSUE_ROUTE).default(NEUROON_API_URL),
});

/**
 * Neuroon options from the environment: `NEUROON_SHOP_ID`, `NEUROON_API_KEY` and the
 * optional `NEUROON_API_URL` (default `https://api.neuroon.ai`). Throws a
 * `WidgetAuthConfigError` naming every missing or invalid variable, never a value.
 *
 * @example
 * ```ts
 * const neuroon = new NeuroonTokenProvider({ ...neuroonConfigFromEnv(), store: new RedisTokenStore(redis) });
 * ```
 */
export function neuroonConfigFromEnv(env: Record<string, string | undefined> = process.env, options?: WeakSecretOption): { shopId: string; apiKey: string; apiBaseUrl: string } & WeakSecretOption {
  return optionsFromEnv('neuroonConfigFromEnv', env, NEUROON_ENV, envSchema, options);
}
