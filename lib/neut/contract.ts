import { jsonErrorContract, type VendorContract } from '../core/contract';

/**
 * Neut's browser quickstart reads `{"error":{"code","message"}}` and expects every
 * invalid request, malformed body included, as `INVALID_WIDGET_REQUEST`.
 */
export const neutContract: VendorContract = jsonErrorContract('neut', {
  INVALID_REQUEST: 'INVALID_WIDGET_REQUEST',
  VALIDATION_ERROR: 'INVALID_WIDGET_REQUEST',
});
