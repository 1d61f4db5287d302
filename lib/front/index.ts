export { frontChatIdentityRouter, frontChatConfigFromEnv, FRONT_CHAT_IDENTITY_PATH, FRONT_CHAT_ENV, type FrontChatIdentityRouterOptions } from './router';
