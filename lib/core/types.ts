import type { Request } from 'express';

/**
 * The signed-in user as the host application knows it. Each vendor takes what it needs:
 * Nevermined the `email`, Hissuno the `id` and `metadata`, Wonderful the `id`.
 */
export interface WidgetUser {
  /** Stable identifier of the user in the host application. */
  id: string;
  email?: string;
  name?: string;
  /** Extra string facts a vendor may display (Hissuno's `userMetadata`). */
  metadata?: Record<string, string | undefined>;
}

/**
 * Maps a request to the signed-in user. Return `null` or `undefined` when nobody is
 * signed in (the router answers 401). A hook that throws or rejects gets a 500 in the
 * vendor's shape, with nothing of the thrown error in the response.
 *
 * @example
 * ```ts
 * const resolveUser: ResolveUser = (req) => req.user ?? null; // passport
 * ```
 */
export type ResolveUser<U extends WidgetUser = WidgetUser> = (
  req: Request,
) => U | null | undefined | Promise<U | null | undefined>;
