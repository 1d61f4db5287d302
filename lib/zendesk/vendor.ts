import { defineVendor, pathOption } from '../core/vendor';
import { ZENDESK_ENV, ZENDESK_TOKEN_PATH, zendeskConfigFromEnv, zendeskMessagingRouter, type ZendeskMessagingRouterOptions } from './router';

/** Zendesk messaging for `widgetAuth`: one signed-in route answering the Web Widget's JWT. */
export const zendeskVendor = defineVendor<'zendesk', ZendeskMessagingRouterOptions, Partial<Omit<ZendeskMessagingRouterOptions, 'keyId' | 'secret'>>>({
  name: 'zendesk',
  label: 'Zendesk messaging',
  factory: 'zendeskMessagingRouter',
  docs: 'docs/zendesk.md',
  variables: ZENDESK_ENV,
  fromEnv: zendeskConfigFromEnv,
  build: zendeskMessagingRouter,
  signedInOnly: true,
  secretOptions: ['secret'],
  routes: (o) => [{ path: pathOption(o, 'path', ZENDESK_TOKEN_PATH), methods: ['GET', 'POST'] }],
});
