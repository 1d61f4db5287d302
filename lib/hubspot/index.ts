export {
  hubspotVisitorTokenRouter,
  hubspotConfigFromEnv,
  HUBSPOT_VISITOR_TOKEN_PATH,
  HUBSPOT_API_BASE_URL,
  HUBSPOT_VISITOR_TOKEN_SCOPE,
  HUBSPOT_VISITOR_TOKEN_LIFETIME,
  HUBSPOT_ENV,
  type HubSpotVisitorTokenRouterOptions,
  type HubSpotVisitorTokenRouter,
  type HubSpotTokenCacheOptions,
  type HubSpotVisitorNames,
  type HubSpotVisitorToken,
} from './router';
