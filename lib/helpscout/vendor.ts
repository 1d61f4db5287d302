import { defineVendor, pathOption } from '../core/vendor';
import { HELPSCOUT_ENV, HELPSCOUT_SIGNATURE_PATH, helpScoutConfigFromEnv, helpScoutBeaconRouter, type HelpScoutBeaconRouterOptions } from './router';

/** Help Scout Beacon for `widgetAuth`: one signed-in route answering the secure mode signature of the user's email. */
export const helpscoutVendor = defineVendor<'helpscout', HelpScoutBeaconRouterOptions, Partial<Omit<HelpScoutBeaconRouterOptions, 'secret'>>>({
  name: 'helpscout',
  label: 'Help Scout Beacon',
  factory: 'helpScoutBeaconRouter',
  docs: 'docs/helpscout.md',
  variables: HELPSCOUT_ENV,
  fromEnv: helpScoutConfigFromEnv,
  build: helpScoutBeaconRouter,
  signedInOnly: true,
  secretOptions: ['secret'],
  routes: (o) => [{ path: pathOption(o, 'path', HELPSCOUT_SIGNATURE_PATH), methods: ['GET', 'POST'] }],
});
