import { defineVendor, pathOption } from '../core/vendor';
import { LIVEBLOCKS_AUTH_PATH, LIVEBLOCKS_ENV, liveblocksAuthRouter, liveblocksConfigFromEnv, type LiveblocksAuthRouterOptions } from './router';

/** Liveblocks for `widgetAuth`: the `authEndpoint` of @liveblocks/client for signed-in users; `permissions` is required in the default access-token mode. */
export const liveblocksVendor = defineVendor<'liveblocks', LiveblocksAuthRouterOptions, Partial<Omit<LiveblocksAuthRouterOptions, 'secretKey' | 'apiBaseUrl'>>>({
  name: 'liveblocks',
  label: 'Liveblocks',
  factory: 'liveblocksAuthRouter',
  docs: 'docs/liveblocks.md',
  variables: LIVEBLOCKS_ENV,
  fromEnv: liveblocksConfigFromEnv,
  build: liveblocksAuthRouter,
  signedInOnly: true,
  secretOptions: ['secretKey'],
  // in the default access-token mode
  requiredHooks: ['permissions'],
  routes: (o) => [{ path: pathOption(o, 'path', LIVEBLOCKS_AUTH_PATH), methods: ['POST'] }],
});
