import { jsonErrorContract, type VendorContract } from '../core/contract';

/**
 * Neuroon's token route answers errors as `{"error":{"code","message"}}` with the
 * library's canonical codes (`UNAUTHORIZED`, `UPSTREAM_UNAVAILABLE`, …).
 */
export const neuroonContract: VendorContract = jsonErrorContract('neuroon');
