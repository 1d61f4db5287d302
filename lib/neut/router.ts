import type { Router } from 'express';
import { z } from 'zod';
import { optionsFromEnv, parseOptions, requiredString, type EnvVariable, type WeakSecretOption } from '../core/config';
import { guardFactory } from '../core/misuse';
import { checkCommonOptions, commonOptionsShape, createWidgetRouter, resolveUserSchema, type CommonRouterOptions } from '../core/pipeline';
import type { ResolveUser } from '../core/types';
import { neutContract } from './contract';
import { neutHostOrigin, neutMintSecret, neutMintShape, neutWidgetOrigin, type NeutClock } from './options';
import { compileNeutMinter } from './sign';
import { validateWithTable } from './validate';
import { buildNeutWidgetTable, DEFAULT_NEUT_WIDGET_TABLE, type NeutWidgetsOption } from './widgets';

/** Default route of {@link neutEmbedParamsRouter}. */
export const NEUT_EMBED_PARAMS_PATH = '/api/widget-embed-params';

/** Options of {@link neutEmbedParamsRouter}. */
export interface NeutEmbedParamsRouterOptions extends CommonRouterOptions, WeakSecretOption {
  /** Your Neut tenant id (env `WIDGET_TENANT_ID`). */
  tenantId: string;
  /** Origin of the pages embedding the widgets, `scheme://host[:port]` with no path, query or hash (env `HOST_ORIGIN`). */
  hostOrigin: string;
  /** The HMAC secret Neut issued for minting (env `NEUT_MINT_SECRET`), at least 16 characters. */
  mintSecret: string;
  /** Id of the mint secret, sent as `bootstrap_key_id` (env `NEUT_MINT_KEY_ID`). */
  mintKeyId: string;
  /** Origin serving the embed pages: https, or http on loopback (env `WIDGET_ORIGIN`). */
  widgetOrigin: string;
  /** Maps the request to the signed-in user; when given, nobody signed in gets 401. Defaults to no sign-in check (the widgets show public data). */
  resolveUser?: ResolveUser;
  /** Extra or changed widgets, merged over the built-in three. Defaults to the built-in three. */
  widgets?: NeutWidgetsOption;
  /** The clock that dates assertions. Defaults to `Date.now`. */
  now?: NeutClock;
  /** Source of the one-time nonces. Defaults to `crypto.randomUUID`. */
  randomUUID?: () => string;
}

const optionsSchema = z
  .object({
    ...neutMintShape,
    resolveUser: resolveUserSchema.optional(),
    ...commonOptionsShape,
  })
  .strict()
  .superRefine(checkCommonOptions);

/**
 * Router answering `POST /api/widget-embed-params` with `{ widget_id, embed_url }`: the
 * body is validated by Neut's rules, then a fresh bootstrap assertion is signed and the
 * one-time iframe URL built. Invalid requests get 400
 * `{"error":{"code":"INVALID_WIDGET_REQUEST","message":…}}`. Configuration is checked
 * here, once; problems throw {@link WidgetAuthConfigError} listing each of them.
 *
 * @example
 * ```ts
 * app.use(neutEmbedParamsRouter({ ...neutConfigFromEnv(), resolveUser: (req) => req.user }));
 * ```
 */
export function neutEmbedParamsRouter(options: NeutEmbedParamsRouterOptions): Router {
  const config = parseOptions('neutEmbedParamsRouter', optionsSchema, options);
  const table = config.widgets ? buildNeutWidgetTable(config.widgets) : DEFAULT_NEUT_WIDGET_TABLE;
  const mint = compileNeutMinter(config, table);
  return createWidgetRouter(neutContract, config, {
    secrets: [config.mintSecret],
    routes: [
      {
        path: config.path ?? NEUT_EMBED_PARAMS_PATH,
        methods: ['POST'],
        requireUser: config.resolveUser !== undefined,
        handle: ({ body }) => mint(validateWithTable(body, table)),
      },
    ],
  });
}

guardFactory(neutEmbedParamsRouter, 'neutEmbedParamsRouter');

/** Options read by {@link neutConfigFromEnv}. */
export interface NeutEnvConfig extends WeakSecretOption {
  /** From `WIDGET_TENANT_ID`. */
  tenantId: string;
  /** From `HOST_ORIGIN`, normalised to `scheme://host[:port]`. */
  hostOrigin: string;
  /** From `NEUT_MINT_SECRET`. */
  mintSecret: string;
  /** From `NEUT_MINT_KEY_ID`. */
  mintKeyId: string;
  /** From `WIDGET_ORIGIN`, normalised to `scheme://host[:port]`. */
  widgetOrigin: string;
}

/** Environment variables read by {@link neutConfigFromEnv}. */
export const NEUT_ENV: readonly EnvVariable[] = [
  { name: 'WIDGET_TENANT_ID', option: 'tenantId', required: true },
  { name: 'HOST_ORIGIN', option: 'hostOrigin', required: true },
  { name: 'NEUT_MINT_SECRET', option: 'mintSecret', required: true },
  { name: 'NEUT_MINT_KEY_ID', option: 'mintKeyId', required: true },
  { name: 'WIDGET_ORIGIN', option: 'widgetOrigin', required: true },
];

const envSchema = z.object({
  tenantId: requiredString(),
  hostOrigin: neutHostOrigin,
  mintSecret: neutMintSecret,
  mintKeyId: requiredString(),
  widgetOrigin: neutWidgetOrigin,
});

/**
 * Neut options from `WIDGET_TENANT_ID`, `HOST_ORIGIN`, `NEUT_MINT_SECRET`,
 * `NEUT_MINT_KEY_ID` and `WIDGET_ORIGIN`. Throws one {@link WidgetAuthConfigError}
 * naming every missing or invalid variable (never a secret's value).
 *
 * @example
 * ```ts
 * app.use(neutEmbedParamsRouter(neutConfigFromEnv()));
 * ```
 */
export function neutConfigFromEnv(env: Record<string, string | undefined> = process.env, options?: WeakSecretOption): NeutEnvConfig {
  return optionsFromEnv('neutConfigFromEnv', env, NEUT_ENV, envSchema, options);
}
