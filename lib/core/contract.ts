import type { WidgetAuthError, WidgetAuthErrorCode } from './errors';

/** Status and JSON body of an error answer. */
export interface ErrorAnswer {
  status: number;
  body: unknown;
}

/**
 * How one vendor's endpoints answer errors: a function from a {@link WidgetAuthError}
 * to the status and JSON body that vendor's browser SDK expects.
 */
export interface VendorContract {
  /** Vendor name used in log events (`"hissuno"`, `"neut"`, …). */
  vendor: string;
  shape(err: WidgetAuthError): ErrorAnswer;
}

/**
 * What a vendor correlation id must look like to be sent to the browser: 1 to 64
 * letters, digits, `.`, `_`, `:` or `-` (UUIDs, ULIDs, hex and prefixed ids, W3C trace
 * ids). Anything else a vendor calls a correlation id (longer text, spaces, markup,
 * base64 with `+/=`) stays in the log only.
 */
export const SAFE_CORRELATION_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/** Whether a vendor correlation id may go to the browser (see {@link SAFE_CORRELATION_ID}). */
export function isSafeCorrelationId(id: string): boolean {
  return SAFE_CORRELATION_ID.test(id);
}

/** Message sent for errors whose own message must not reach the browser. */
export const GENERIC_MESSAGES: Partial<Record<WidgetAuthErrorCode, string>> = {
  INTERNAL_ERROR: 'Internal error.',
  UPSTREAM_REJECTED: 'The widget vendor refused the request.',
  UPSTREAM_UNAVAILABLE: 'The widget vendor is unavailable; try again shortly.',
  UPSTREAM_TIMEOUT: 'The widget vendor did not answer in time; try again shortly.',
  UPSTREAM_INVALID_RESPONSE: 'The widget vendor sent an unexpected answer.',
  UPSTREAM_ERROR: 'The widget vendor answered with an error.',
  UPSTREAM_FEATURE_UNAVAILABLE: "The widget vendor does not offer this feature to this site's account.",
  NETWORK_ERROR: 'The widget vendor could not be reached; try again shortly.',
};

/**
 * The `{"error":{"code":…,"message":…}}` contract shared by every vendor but Hissuno.
 * `codes` renames canonical codes on the wire (Neut: `INVALID_REQUEST` →
 * `INVALID_WIDGET_REQUEST`). Vendor failures carry a generic message plus the vendor's
 * correlation id when it has the form of an id ({@link SAFE_CORRELATION_ID}); unexpected
 * errors never show their own message.
 */
export function jsonErrorContract(
  vendor: string,
  codes: Partial<Record<WidgetAuthErrorCode, string>> = {},
): VendorContract {
  return {
    vendor,
    shape(err) {
      const code = codes[err.code] ?? err.code;
      const message = GENERIC_MESSAGES[err.code] ?? err.message;
      const error: Record<string, string> = { code, message };
      if (err.correlationId !== undefined && isSafeCorrelationId(err.correlationId)) error['correlationId'] = err.correlationId;
      return { status: err.status, body: { error } };
    },
  };
}
