export {
  zendeskMessagingRouter,
  zendeskConfigFromEnv,
  ZENDESK_TOKEN_PATH,
  ZENDESK_JWT_EXPIRES_IN,
  ZENDESK_MAX_EXTERNAL_ID,
  ZENDESK_ENV,
  type ZendeskMessagingRouterOptions,
} from './router';
