export {
  WonderfulAuthClient,
  WONDERFUL_SIGN_PATH,
  WONDERFUL_MIN_EXPIRES_IN,
  WONDERFUL_MAX_EXPIRES_IN,
  WONDERFUL_DEFAULT_EXPIRES_IN,
  WONDERFUL_MAX_METADATA_BYTES,
  type SignRequest,
  type SignResponse,
  type WonderfulAuthClientOptions,
} from './client';
export { wonderfulTokenRouter, wonderfulConfigFromEnv, WONDERFUL_TOKEN_PATH, WONDERFUL_REFRESH_PATH, WONDERFUL_ENV, type WonderfulTokenRouterOptions, type WonderfulTokenRouter, type WonderfulTokenBody, type WonderfulEnvConfig } from './router';
export { wonderfulEntityIdFor, uuidV5, WONDERFUL_ENTITY_NAMESPACE } from './entity';
