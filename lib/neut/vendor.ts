import { defineVendor, pathOption } from '../core/vendor';
import { NEUT_EMBED_PARAMS_PATH, NEUT_ENV, neutConfigFromEnv, neutEmbedParamsRouter, type NeutEmbedParamsRouterOptions } from './router';

/** Neut for `widgetAuth`: one-time embed URLs, for anonymous visitors unless given a `resolveUser`. */
export const neutVendor = defineVendor<'neut', NeutEmbedParamsRouterOptions, Omit<NeutEmbedParamsRouterOptions, 'tenantId' | 'hostOrigin' | 'mintSecret' | 'mintKeyId' | 'widgetOrigin'>>({
  name: 'neut',
  label: 'Neut',
  factory: 'neutEmbedParamsRouter',
  docs: 'docs/neut.md',
  variables: NEUT_ENV,
  fromEnv: neutConfigFromEnv,
  build: neutEmbedParamsRouter,
  signedInOnly: false,
  secretOptions: ['mintSecret'],
  routes: (o) => [{ path: pathOption(o, 'path', NEUT_EMBED_PARAMS_PATH), methods: ['POST'] }],
});
