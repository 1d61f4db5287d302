export { chatwootIdentityRouter, chatwootConfigFromEnv, CHATWOOT_IDENTITY_PATH, CHATWOOT_ENV, type ChatwootIdentityRouterOptions } from './router';
