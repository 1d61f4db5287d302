export {
  streamChatTokenRouter,
  streamChatConfigFromEnv,
  STREAM_TOKEN_PATH,
  STREAM_TOKEN_EXPIRES_IN,
  STREAM_CLOCK_SKEW,
  STREAM_ENV,
  type StreamChatTokenRouterOptions,
} from './router';
