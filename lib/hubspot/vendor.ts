import { defineVendor, pathOption } from '../core/vendor';
import { HUBSPOT_ENV, HUBSPOT_VISITOR_TOKEN_PATH, hubspotConfigFromEnv, hubspotVisitorTokenRouter, type HubSpotVisitorTokenRouterOptions } from './router';

/** HubSpot for `widgetAuth`: one signed-in route answering a visitor identification token from HubSpot's API. */
export const hubspotVendor = defineVendor<'hubspot', HubSpotVisitorTokenRouterOptions, Partial<Omit<HubSpotVisitorTokenRouterOptions, 'accessToken'>>>({
  name: 'hubspot',
  label: 'HubSpot',
  factory: 'hubspotVisitorTokenRouter',
  docs: 'docs/hubspot.md',
  variables: HUBSPOT_ENV,
  fromEnv: hubspotConfigFromEnv,
  build: hubspotVisitorTokenRouter,
  signedInOnly: true,
  secretOptions: ['accessToken'],
  routes: (o) => [{ path: pathOption(o, 'path', HUBSPOT_VISITOR_TOKEN_PATH), methods: ['GET', 'POST'] }],
});
