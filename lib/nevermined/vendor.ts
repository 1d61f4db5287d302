import { defineVendor, pathOption } from '../core/vendor';
import { NEVERMINED_ENV, NEVERMINED_SESSION_PATH, neverminedConfigFromEnv, neverminedSessionRouter, type NeverminedSessionRouterOptions } from './router';

/** Nevermined for `widgetAuth`: one signed-in route minting widget sessions. */
export const neverminedVendor = defineVendor<'nevermined', NeverminedSessionRouterOptions, Partial<Omit<NeverminedSessionRouterOptions, 'orgId' | 'rawSecret' | 'apiBaseUrl'>>>({
  name: 'nevermined',
  label: 'Nevermined',
  factory: 'neverminedSessionRouter',
  docs: 'docs/nevermined.md',
  variables: NEVERMINED_ENV,
  fromEnv: neverminedConfigFromEnv,
  build: neverminedSessionRouter,
  signedInOnly: true,
  secretOptions: ['rawSecret'],
  routes: (o) => [{ path: pathOption(o, 'path', NEVERMINED_SESSION_PATH), methods: ['GET', 'POST'] }],
});
