import { defineVendor, pathOption } from '../core/vendor';
import { WONDERFUL_ENV, WONDERFUL_REFRESH_PATH, WONDERFUL_TOKEN_PATH, wonderfulConfigFromEnv, wonderfulTokenRouter, type WonderfulTokenRouterOptions } from './router';

/** Wonderful for `widgetAuth`: the signed-in user's SDK token and its refresh. */
export const wonderfulVendor = defineVendor<'wonderful', WonderfulTokenRouterOptions, Partial<Omit<WonderfulTokenRouterOptions, 'baseUrl' | 'apiKey' | 'tenantId'>>>({
  name: 'wonderful',
  label: 'Wonderful',
  factory: 'wonderfulTokenRouter',
  docs: 'docs/wonderful.md',
  variables: WONDERFUL_ENV,
  fromEnv: wonderfulConfigFromEnv,
  build: wonderfulTokenRouter,
  signedInOnly: true,
  secretOptions: ['apiKey'],
  routes: (o) => [
    { path: pathOption(o, 'path', WONDERFUL_TOKEN_PATH), methods: ['POST'] },
    { path: pathOption(o, 'refreshPath', WONDERFUL_REFRESH_PATH), methods: ['POST'] },
  ],
});
