import { cannyVendor } from './canny/vendor';
import { chatwootVendor } from './chatwoot/vendor';
import type { VendorDescriptor } from './core/vendor';
import { crispVendor } from './crisp/vendor';
import { featurebaseVendor } from './featurebase/vendor';
import { frontVendor } from './front/vendor';
import { helpscoutVendor } from './helpscout/vendor';
import { hissunoVendor } from './hissuno/vendor';
import { hubspotVendor } from './hubspot/vendor';
import { intercomVendor } from './intercom/vendor';
import { liveblocksVendor } from './liveblocks/vendor';
import { neuroonVendor } from './neuroon/vendor';
import { neutVendor } from './neut/vendor';
import { neverminedVendor } from './nevermined/vendor';
import { plainVendor } from './plain/vendor';
import { pusherVendor } from './pusher/vendor';
import { streamVendor } from './stream/vendor';
import { wonderfulVendor } from './wonderful/vendor';
import { zendeskVendor } from './zendesk/vendor';

/**
 * Every vendor `widgetAuth` can mount, in mounting order: one line per vendor. The
 * `vendors` option, `detectWidgetAuthVendors`, `.env.example`, the OpenAPI document and
 * the README's list of vendor pages are driven from this list or checked against it.
 */
export const VENDOR_REGISTRY = [neverminedVendor, neuroonVendor, hissunoVendor, neutVendor, wonderfulVendor, intercomVendor, zendeskVendor, streamVendor, cannyVendor, featurebaseVendor, chatwootVendor, crispVendor, helpscoutVendor, frontVendor, plainVendor, pusherVendor, liveblocksVendor, hubspotVendor] as const;

/** A descriptor of the registry. */
export type RegisteredVendor = (typeof VENDOR_REGISTRY)[number];

/** The registry by vendor name. */
export const VENDORS_BY_NAME = Object.fromEntries(VENDOR_REGISTRY.map((d) => [d.name, d])) as { [D in RegisteredVendor as D['name']]: VendorDescriptor<D['name']> };
