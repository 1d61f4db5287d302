import { defineVendor, pathOption } from '../core/vendor';
import { FEATUREBASE_ENV, FEATUREBASE_TOKEN_PATH, featurebaseConfigFromEnv, featurebaseJwtRouter, type FeaturebaseJwtRouterOptions } from './router';

/** Featurebase for `widgetAuth`: one signed-in route answering the SDK's JWT. */
export const featurebaseVendor = defineVendor<'featurebase', FeaturebaseJwtRouterOptions, Partial<Omit<FeaturebaseJwtRouterOptions, 'jwtSecret'>>>({
  name: 'featurebase',
  label: 'Featurebase',
  factory: 'featurebaseJwtRouter',
  docs: 'docs/featurebase.md',
  variables: FEATUREBASE_ENV,
  fromEnv: featurebaseConfigFromEnv,
  build: featurebaseJwtRouter,
  signedInOnly: true,
  secretOptions: ['jwtSecret'],
  routes: (o) => [{ path: pathOption(o, 'path', FEATUREBASE_TOKEN_PATH), methods: ['GET', 'POST'] }],
});
