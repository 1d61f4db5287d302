import { createHmac, type KeyObject } from 'node:crypto';

/** The JWS algorithms a locally signed credential may use: HMAC with SHA-256, SHA-384 or SHA-512. */
export type HmacJwtAlgorithm = 'HS256' | 'HS384' | 'HS512';

/** The hash of each {@link HmacJwtAlgorithm}, as `node:crypto` names it. */
export const HMAC_JWT_HASHES: Readonly<Record<HmacJwtAlgorithm, string>> = Object.freeze({ HS256: 'sha256', HS384: 'sha384', HS512: 'sha512' });

/**
 * A signer of compact JWS tokens with a fixed key and header: given the payload as JSON
 * text, it returns `header.payload.signature`. The header is encoded once, here; each
 * token costs one base64url encoding of the payload and one HMAC (RFC 7515 §7.1,
 * RFC 7518 §3.2).
 */
export function hmacJwtSigner(algorithm: HmacJwtAlgorithm, key: KeyObject, header: Readonly<Record<string, unknown>>): (payloadJson: string) => string {
  const hash = HMAC_JWT_HASHES[algorithm];
  const head = `${Buffer.from(JSON.stringify(header), 'utf8').toString('base64url')}.`;
  return (payloadJson) => {
    const input = head + Buffer.from(payloadJson, 'utf8').toString('base64url');
    return `${input}.${createHmac(hash, key).update(input, 'utf8').digest('base64url')}`;
  };
}
