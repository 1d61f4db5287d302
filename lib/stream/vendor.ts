import { defineVendor, pathOption } from '../core/vendor';
import { STREAM_ENV, STREAM_TOKEN_PATH, streamChatConfigFromEnv, streamChatTokenRouter, type StreamChatTokenRouterOptions } from './router';

/** Stream Chat for `widgetAuth`: one signed-in route answering a user token. */
export const streamVendor = defineVendor<'stream', StreamChatTokenRouterOptions, Partial<Omit<StreamChatTokenRouterOptions, 'apiSecret' | 'apiKey'>>>({
  name: 'stream',
  label: 'Stream Chat',
  factory: 'streamChatTokenRouter',
  docs: 'docs/stream.md',
  variables: STREAM_ENV,
  fromEnv: streamChatConfigFromEnv,
  build: streamChatTokenRouter,
  signedInOnly: true,
  secretOptions: ['apiSecret'],
  routes: (o) => [{ path: pathOption(o, 'path', STREAM_TOKEN_PATH), methods: ['GET', 'POST'] }],
});
