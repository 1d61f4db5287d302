import type { Request } from 'express';
import type { WidgetUser } from '../lib';

/** A demo user, as the host app's own login would know it. */
export interface DemoUser extends WidgetUser {
  email: string;
  name: string;
  /** Short description shown on the sign-in page. */
  blurb: string;
}

/** The users one can sign in as. Bob's id is a UUID; like the others, Wonderful gets a v5 UUID derived from it, never the id itself. */
export const DEMO_USERS: readonly DemoUser[] = Object.freeze([
  { id: 'ada', name: 'Ada Lovelace', email: 'ada@example.com', metadata: { plan: 'pro', team: 'Analytics' }, blurb: 'Pro plan, analytics team' },
  { id: 'grace', name: 'Grace Hopper', email: 'grace@example.com', metadata: { plan: 'free' }, blurb: 'Free plan' },
  { id: '6f1c1d3e-2b4a-4c5d-9e8f-0a1b2c3d4e5f', name: 'Bob Kahn', email: 'bob@example.com', blurb: 'Id is already a UUID' },
]);

/** Name of the signed session cookie. */
export const SESSION_COOKIE = 'demo_user';

/** The demo user with this id, if any. */
export function findUser(id: unknown): DemoUser | undefined {
  return typeof id === 'string' ? DEMO_USERS.find((u) => u.id === id) : undefined;
}

/** `resolveUser` of every router: the user named by the signed cookie (cookie-parser verified its signature). */
export function resolveDemoUser(req: Request): DemoUser | null {
  const signed = (req as Request & { signedCookies?: Record<string, unknown> }).signedCookies;
  return findUser(signed?.[SESSION_COOKIE]) ?? null;
}
