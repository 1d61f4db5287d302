import { defineVendor, pathOption } from '../core/vendor';
import { CRISP_ENV, CRISP_IDENTITY_PATH, crispConfigFromEnv, crispIdentityRouter, type CrispIdentityRouterOptions } from './router';

/** Crisp for `widgetAuth`: one signed-in route answering the user's email and its signature. */
export const crispVendor = defineVendor<'crisp', CrispIdentityRouterOptions, Partial<Omit<CrispIdentityRouterOptions, 'secret'>>>({
  name: 'crisp',
  label: 'Crisp',
  factory: 'crispIdentityRouter',
  docs: 'docs/crisp.md',
  variables: CRISP_ENV,
  fromEnv: crispConfigFromEnv,
  build: crispIdentityRouter,
  signedInOnly: true,
  secretOptions: ['secret'],
  routes: (o) => [{ path: pathOption(o, 'path', CRISP_IDENTITY_PATH), methods: ['GET', 'POST'] }],
});
