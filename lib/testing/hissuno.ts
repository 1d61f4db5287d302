import jwt from 'jsonwebtoken';

/** The claims of a token that passed {@link verifyHissunoToken}. */
export interface VerifiedHissunoToken {
  userId: string;
  userMetadata?: Record<string, string>;
  iat: number;
  exp: number;
}

/**
 * Check a token the way Hissuno's server does: HS256 only, a required string `userId`
 * claim, `userMetadata` (if present) a record of strings, and 60 seconds of clock
 * tolerance. Throws an `Error` describing the first rule broken.
 *
 * @example
 * ```ts
 * const claims = verifyHissunoToken(res.body.token, secretKey);
 * expect(claims.userId).toBe('u_42');
 * ```
 */
export function verifyHissunoToken(token: string, secretKey: string, options: { now?: number | Date } = {}): VerifiedHissunoToken {
  const now = options.now === undefined ? undefined : Math.floor(new Date(options.now).getTime() / 1000);
  const payload = jwt.verify(token, secretKey, {
    algorithms: ['HS256'],
    clockTolerance: 60,
    ...(now !== undefined ? { clockTimestamp: now } : {}),
  });
  if (typeof payload !== 'object' || payload === null) throw new Error('token payload is not an object');
  const { userId, userMetadata, iat, exp } = payload as Record<string, unknown>;
  if (typeof userId !== 'string' || userId.length === 0) throw new Error('token has no string userId claim');
  if (typeof exp !== 'number' || typeof iat !== 'number') throw new Error('token must carry iat and exp');
  if (userMetadata !== undefined) {
    if (typeof userMetadata !== 'object' || userMetadata === null || Array.isArray(userMetadata)) throw new Error('userMetadata must be an object');
    for (const value of Object.values(userMetadata)) if (typeof value !== 'string') throw new Error('userMetadata values must be strings');
  }
  return { userId, iat, exp, ...(userMetadata ? { userMetadata: userMetadata as Record<string, string> } : {}) };
}
