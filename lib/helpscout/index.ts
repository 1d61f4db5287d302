export { helpScoutBeaconRouter, helpScoutConfigFromEnv, HELPSCOUT_SIGNATURE_PATH, HELPSCOUT_ENV, type HelpScoutBeaconRouterOptions } from './router';
