export { WidgetAuthError, WidgetAuthConfigError, type WidgetAuthErrorCode, type WidgetAuthErrorDetails } from './errors';
export type { WidgetUser, ResolveUser } from './types';
export type { WidgetAuthLogger, RequestLogEvent } from './logger';
export type { WidgetAuthReport } from './report';
export type { CommonRouterOptions } from './pipeline';
export type { AllowedOrigins, AllowedOriginEntry, AllowedOriginFunction } from './origin';
export type { VendorContract, ErrorAnswer } from './contract';
export type { UpstreamOptions } from './upstream';
