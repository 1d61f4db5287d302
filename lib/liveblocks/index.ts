export {
  liveblocksAuthRouter,
  liveblocksConfigFromEnv,
  LIVEBLOCKS_AUTH_PATH,
  LIVEBLOCKS_API_URL,
  LIVEBLOCKS_MAX_ROOM_ID,
  LIVEBLOCKS_ENV,
  type LiveblocksAuthRouterOptions,
  type LiveblocksPermissions,
  type LiveblocksTokenMode,
} from './router';
