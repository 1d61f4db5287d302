import { defineVendor, pathOption } from '../core/vendor';
import { INTERCOM_ENV, INTERCOM_IDENTITY_PATH, intercomConfigFromEnv, intercomIdentityRouter, type IntercomIdentityRouterOptions } from './router';

/** Intercom for `widgetAuth`: one signed-in route answering a Messenger JWT or an identity-verification hash. */
export const intercomVendor = defineVendor<'intercom', IntercomIdentityRouterOptions, Partial<Omit<IntercomIdentityRouterOptions, 'messengerSecret' | 'identitySecret'>>>({
  name: 'intercom',
  label: 'Intercom',
  factory: 'intercomIdentityRouter',
  docs: 'docs/intercom.md',
  variables: INTERCOM_ENV,
  fromEnv: intercomConfigFromEnv,
  build: intercomIdentityRouter,
  signedInOnly: true,
  secretOptions: ['messengerSecret', 'identitySecret'],
  routes: (o) => [{ path: pathOption(o, 'path', INTERCOM_IDENTITY_PATH), methods: ['GET', 'POST'] }],
});
