import { defineVendor, pathOption } from '../core/vendor';
import { NEUROON_ENV, NEUROON_TOKEN_PATH, neuroonConfigFromEnv, neuroonTokenRouter, type NeuroonTokenRouterOptions } from './router';

/** Neuroon for `widgetAuth`: the cached shop token, for anonymous visitors unless given a `resolveUser`. */
export const neuroonVendor = defineVendor<'neuroon', NeuroonTokenRouterOptions, Omit<NeuroonTokenRouterOptions, 'shopId' | 'apiKey' | 'apiBaseUrl' | 'provider'>>({
  name: 'neuroon',
  label: 'Neuroon',
  factory: 'neuroonTokenRouter',
  docs: 'docs/neuroon.md',
  variables: NEUROON_ENV,
  fromEnv: neuroonConfigFromEnv,
  build: neuroonTokenRouter,
  signedInOnly: false,
  reserved: { provider: 'is not taken by widgetAuth; to share a provider, mount neuroonTokenRouter({ provider }) yourself' },
  secretOptions: ['apiKey'],
  routes: (o) => [{ path: pathOption(o, 'path', NEUROON_TOKEN_PATH), methods: ['GET'] }],
});
