import { GENERIC_MESSAGES, type VendorContract } from '../core/contract';

/**
 * Hissuno's widget reads `{"error": "<message>"}`: 401 is exactly
 * `{"error":"Unauthorized"}` and unexpected failures `{"error":"Internal error"}`.
 */
export const hissunoContract: VendorContract = {
  vendor: 'hissuno',
  shape(err) {
    if (err.code === 'UNAUTHORIZED') return { status: 401, body: { error: 'Unauthorized' } };
    if (err.code === 'INTERNAL_ERROR') return { status: 500, body: { error: 'Internal error' } };
    return { status: err.status, body: { error: GENERIC_MESSAGES[err.code] ?? err.message } };
  },
};
