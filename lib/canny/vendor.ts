import { defineVendor, pathOption } from '../core/vendor';
import { CANNY_ENV, CANNY_TOKEN_PATH, cannyConfigFromEnv, cannySsoRouter, type CannySsoRouterOptions } from './router';

/** Canny for `widgetAuth`: one signed-in route answering the widget's SSO token. */
export const cannyVendor = defineVendor<'canny', CannySsoRouterOptions, Partial<Omit<CannySsoRouterOptions, 'privateKey'>>>({
  name: 'canny',
  label: 'Canny',
  factory: 'cannySsoRouter',
  docs: 'docs/canny.md',
  variables: CANNY_ENV,
  fromEnv: cannyConfigFromEnv,
  build: cannySsoRouter,
  signedInOnly: true,
  secretOptions: ['privateKey'],
  routes: (o) => [{ path: pathOption(o, 'path', CANNY_TOKEN_PATH), methods: ['GET', 'POST'] }],
});
