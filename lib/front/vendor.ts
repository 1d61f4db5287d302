import { defineVendor, pathOption } from '../core/vendor';
import { FRONT_CHAT_ENV, FRONT_CHAT_IDENTITY_PATH, frontChatConfigFromEnv, frontChatIdentityRouter, type FrontChatIdentityRouterOptions } from './router';

/** Front Chat for `widgetAuth`: one signed-in route answering the user hash of the user's email or id. */
export const frontVendor = defineVendor<'front', FrontChatIdentityRouterOptions, Partial<Omit<FrontChatIdentityRouterOptions, 'secret'>>>({
  name: 'front',
  label: 'Front Chat',
  factory: 'frontChatIdentityRouter',
  docs: 'docs/front.md',
  variables: FRONT_CHAT_ENV,
  fromEnv: frontChatConfigFromEnv,
  build: frontChatIdentityRouter,
  signedInOnly: true,
  secretOptions: ['secret'],
  routes: (o) => [{ path: pathOption(o, 'path', FRONT_CHAT_IDENTITY_PATH), methods: ['GET', 'POST'] }],
});
