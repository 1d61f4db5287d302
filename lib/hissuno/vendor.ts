import { defineVendor, pathOption } from '../core/vendor';
import { HISSUNO_ENV, HISSUNO_TOKEN_PATH, hissunoConfigFromEnv, hissunoTokenRouter, type HissunoTokenRouterOptions } from './router';

/** Hissuno for `widgetAuth`: one signed-in route answering a locally signed JWT. */
export const hissunoVendor = defineVendor<'hissuno', HissunoTokenRouterOptions, Partial<Omit<HissunoTokenRouterOptions, 'secretKey'>>>({
  name: 'hissuno',
  label: 'Hissuno',
  factory: 'hissunoTokenRouter',
  docs: 'docs/hissuno.md',
  variables: HISSUNO_ENV,
  fromEnv: hissunoConfigFromEnv,
  build: hissunoTokenRouter,
  signedInOnly: true,
  secretOptions: ['secretKey'],
  routes: (o) => [{ path: pathOption(o, 'path', HISSUNO_TOKEN_PATH), methods: ['GET', 'POST'] }],
});
