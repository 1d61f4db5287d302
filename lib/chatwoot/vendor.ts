import { defineVendor, pathOption } from '../core/vendor';
import { CHATWOOT_ENV, CHATWOOT_IDENTITY_PATH, chatwootConfigFromEnv, chatwootIdentityRouter, type ChatwootIdentityRouterOptions } from './router';

/** Chatwoot for `widgetAuth`: one signed-in route answering the contact's identifier and its HMAC. */
export const chatwootVendor = defineVendor<'chatwoot', ChatwootIdentityRouterOptions, Partial<Omit<ChatwootIdentityRouterOptions, 'hmacToken'>>>({
  name: 'chatwoot',
  label: 'Chatwoot',
  factory: 'chatwootIdentityRouter',
  docs: 'docs/chatwoot.md',
  variables: CHATWOOT_ENV,
  fromEnv: chatwootConfigFromEnv,
  build: chatwootIdentityRouter,
  signedInOnly: true,
  secretOptions: ['hmacToken'],
  routes: (o) => [{ path: pathOption(o, 'path', CHATWOOT_IDENTITY_PATH), methods: ['GET', 'POST'] }],
});
