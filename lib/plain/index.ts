export { plainChatIdentityRouter, plainChatConfigFromEnv, PLAIN_CHAT_IDENTITY_PATH, PLAIN_CHAT_ENV, type PlainChatIdentityRouterOptions } from './router';
