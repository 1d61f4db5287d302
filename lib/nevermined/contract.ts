import { jsonErrorContract, type VendorContract } from '../core/contract';

/**
 * Nevermined routes answer errors as `{"error":{"code":…,"message":…,"correlationId"?}}`;
 * vendor failures carry a generic message plus the vendor's correlation id.
 */
export const neverminedContract: VendorContract = jsonErrorContract('nevermined');
