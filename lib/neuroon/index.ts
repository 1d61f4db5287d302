export {
  NeuroonTokenProvider,
  NEUROON_API_URL,
  NEUROON_TOKEN_LIFETIME_MS,
  NEUROON_ROTATE_AFTER_MS,
  type NeuroonTokenProviderOptions,
} from './provider';
export {
  MemoryTokenStore,
  RedisTokenStore,
  neuroonCacheKey,
  type NeuroonTokenStore,
  type NeuroonCachedToken,
  type NeuroonLockRelease,
  type NeuroonRedisClient,
  type MemoryTokenStoreOptions,
  type RedisTokenStoreOptions,
} from './stores';
export { neuroonWidgetToken, type NeuroonWidgetTokenOptions } from './middleware';
export { renderNeuroonScriptTag, NEUROON_WIDGET_SRC, NEUROON_THEMES, type NeuroonScriptTagOptions } from './script-tag';
export { neuroonTokenRouter, neuroonConfigFromEnv, NEUROON_TOKEN_PATH, NEUROON_ENV, type NeuroonTokenRouterOptions } from './router';
export { neuroonContract } from './contract';
