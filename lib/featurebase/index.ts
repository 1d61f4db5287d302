export { featurebaseJwtRouter, featurebaseConfigFromEnv, FEATUREBASE_TOKEN_PATH, FEATUREBASE_TOKEN_EXPIRES_IN, FEATUREBASE_ENV, type FeaturebaseJwtRouterOptions } from './router';
