export { WidgetAuthError, WidgetAuthConfigError, type WidgetAuthErrorCode, type WidgetAuthErrorDetails } from './errors';
export type { WidgetUser, ResolveUser } from './types';
export type { WidgetAuthLogger, RequestLogEvent } from './logger';
export type { WidgetAuthReport } from './report';
export type { CommonRouterOptions } from './pipeline';
export type { PresetRouterOptions, PresetSecret } from './preset';
export type { AllowedOrigins, AllowedOriginEntry, AllowedOriginFunction } from './origin';
export type { VendorContract, ErrorAnswer } from './contract';
export type { UpstreamOptions } from './upstream';
export {
  widgetCredentialRouter,
  hmacCredential,
  jwtCredential,
  CREDENTIAL_MIN_SECRET_LENGTH,
  JWT_CREDENTIAL_DEFAULT_EXPIRES_IN,
  JWT_CREDENTIAL_MAX_EXPIRES_IN,
  type WidgetCredential,
  type WidgetCredentialRouterOptions,
  type CredentialRequest,
  type CredentialKeyOptions,
  type HmacCredentialOptions,
  type HmacEncoding,
  type JwtCredentialOptions,
  type JwtClaims,
  type AnswerSpec,
  type AnswerValue,
} from './credential';
export type { HmacJwtAlgorithm } from './jwt';
export {
  remoteCredential,
  type RemoteCredential,
  type RemoteCredentialOptions,
  type RemoteCredentialCacheOptions,
  type RemoteCredentialCall,
  type RemoteUpstream,
  type RemoteUpstreamRequest,
} from './remote';
export {
  memoryCredentialStore,
  redisCredentialStore,
  type CredentialStore,
  type CachedCredential,
  type CredentialLockRelease,
  type CredentialRedisClient,
  type MemoryCredentialStoreOptions,
  type RedisCredentialStoreOptions,
} from './remote-store';
