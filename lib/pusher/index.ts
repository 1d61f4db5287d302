export {
  pusherAuthRouter,
  pusherConfigFromEnv,
  PUSHER_AUTH_PATH,
  PUSHER_USER_AUTH_PATH,
  PUSHER_MAX_CHANNEL_NAME,
  PUSHER_ENV,
  type PusherAuthRouterOptions,
  type PusherUserInfo,
} from './router';
