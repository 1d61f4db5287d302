import { defineVendor, pathOption } from '../core/vendor';
import { PLAIN_CHAT_ENV, PLAIN_CHAT_IDENTITY_PATH, plainChatConfigFromEnv, plainChatIdentityRouter, type PlainChatIdentityRouterOptions } from './router';

/** Plain for `widgetAuth`: one signed-in route answering the user's email and its hash. */
export const plainVendor = defineVendor<'plain', PlainChatIdentityRouterOptions, Partial<Omit<PlainChatIdentityRouterOptions, 'secret'>>>({
  name: 'plain',
  label: 'Plain',
  factory: 'plainChatIdentityRouter',
  docs: 'docs/plain.md',
  variables: PLAIN_CHAT_ENV,
  fromEnv: plainChatConfigFromEnv,
  build: plainChatIdentityRouter,
  signedInOnly: true,
  secretOptions: ['secret'],
  routes: (o) => [{ path: pathOption(o, 'path', PLAIN_CHAT_IDENTITY_PATH), methods: ['GET', 'POST'] }],
});
