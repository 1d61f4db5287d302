import type { Request } from 'express';

/**
 * The signed-in user as the host application knows it. Each vendor takes what it needs:
 * Nevermined the `email`, Hissuno the `id` and `metadata`, Wonderful the `id`.
 *
 * Optional fields accept `undefined` (also under `exactOptionalPropertyTypes`), so a
 * user can be built straight from a record whose optional columns may be missing.
 */
export interface WidgetUser {
  /** Stable identifier of the user in the host application. */
  id: string;
  /** The user's email address (Nevermined's identity; Hissuno metadata by default). */
  email?: string | undefined;
  /** The user's display name (Hissuno metadata by default). */
  name?: string | undefined;
  /** Extra string facts a vendor may display (Hissuno's `userMetadata`). */
  metadata?: Record<string, string | undefined> | undefined;
}

/**
 * Maps a request to the signed-in user. Return `null` or `undefined` when nobody is
 * signed in (the router answers 401). A hook that throws or rejects gets a 500 in the
 * vendor's shape, with nothing of the thrown error in the response.
 *
 * TypeScript knows `req.user` only once your app declares it: passport's types add
 * `req.user` typed as `Express.User`, an empty interface that your app extends with the
 * fields its login puts there; without passport, declare `req.user` too (see the example).
 *
 * @example
 * ```ts
 * // what your login puts on req.user (with passport, which declares req.user, only User)
 * declare global {
 *   namespace Express {
 *     interface User { id: string; email: string }
 *     interface Request { user?: User | undefined }
 *   }
 * }
 * const resolveUser: ResolveUser = (req) => (req.user ? { id: req.user.id, email: req.user.email } : null);
 * ```
 */
export type ResolveUser<U extends WidgetUser = WidgetUser> = (
  req: Request,
) => U | null | undefined | Promise<U | null | undefined>;
