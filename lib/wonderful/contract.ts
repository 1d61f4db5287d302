import { jsonErrorContract, type VendorContract } from '../core/contract';

/**
 * Wonderful's routes answer `{"error":{"code","message"}}`. The SDK's own names replace
 * the canonical codes on the wire: an invalid request is `VALIDATION_ERROR`, and an
 * unreachable, failing or slow vendor is `NETWORK_ERROR` (502, or 504 on a timeout).
 * A vendor refusing this server's credentials stays `UPSTREAM_REJECTED` (502), never
 * 401: the browser's own session is fine.
 */
export const wonderfulContract: VendorContract = jsonErrorContract('wonderful', {
  INVALID_REQUEST: 'VALIDATION_ERROR',
  UPSTREAM_UNAVAILABLE: 'NETWORK_ERROR',
  UPSTREAM_TIMEOUT: 'NETWORK_ERROR',
});
