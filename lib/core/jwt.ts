import { createHmac, type KeyObject } from 'node:crypto';
import { hasDuplicateMember } from './json';

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

/**
 * The claims of a compact JWT, read without verifying its signature: for a token a vendor
 * minted, to check that it is for whom it was asked before a browser gets it. `undefined`
 * unless the token has three parts and its payload is a JSON object that names no member
 * twice: `JSON.parse` keeps the last of repeated names and another reader may keep the
 * first, so a token that says two things about its owner is refused rather than read one
 * way here and the other way by the widget.
 */
export function unverifiedJwtClaims(token: string): Record<string, unknown> | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  try {
    const text = Buffer.from(parts[1]!, 'base64url').toString('utf8');
    const claims: unknown = JSON.parse(text);
    if (typeof claims !== 'object' || claims === null || Array.isArray(claims)) return undefined;
    return hasDuplicateMember(text) ? undefined : (claims as Record<string, unknown>);
  } catch {
    return undefined;
  }
}
