/**
 * Cases the presets that sign the user's email share (Crisp, Help Scout, Front, Plain):
 * the email signed and answered is the one resolveUser gave, trimmed; a user without one
 * is answered 401, an email that is not a string 500. The vendor's test file checks the
 * digest with the vendor's own comparison.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Router } from 'express';
import request from 'supertest';
import { USERS, buildApp } from './app';

/** The comparison these vendors document: HMAC-SHA256(secret, text) as lower-case hex, compared as strings. */
export function hexHmacMatches(secret: string, text: unknown, given: unknown): boolean {
  if (typeof text !== 'string' || typeof given !== 'string') return false;
  const expected = Buffer.from(createHmac('sha256', secret).update(text, 'utf8').digest('hex'), 'utf8');
  const actual = Buffer.from(given, 'utf8');
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

/** The test user whose trimmed email is `email`, by id (for presetCommonCases' userIdOf). */
export function userIdByEmail(email: unknown): string {
  const user = Object.values(USERS).find((u) => u.email?.trim() === email);
  if (!user) throw new Error('no test user has this email');
  return user.id;
}

/** Registers the email cases of one preset in the current describe block. */
export function emailPresetCases(c: { factory: (options: never) => Router; options: Record<string, unknown>; path: string }): void {
  const build = (email: unknown) => buildApp((c.factory as (o: Record<string, unknown>) => Router)({ ...c.options, resolveUser: () => ({ id: 'user-x', email }) }));

  it.each([undefined, null, '', '   '])('answers 401 UNAUTHORIZED to a signed-in user whose email is %p, like Nevermined', async (email) => {
    for (const method of ['get', 'post'] as const) {
      const res = await request(build(email))[method](c.path);
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('UNAUTHORIZED');
      expect(res.body.error.message).toBe('Sign in with an account that has an email address to use this widget.');
    }
  });

  it('answers 500 INTERNAL_ERROR when resolveUser gives an email that is not a string', async () => {
    const res = await request(build(['ada@example.com'])).get(c.path);
    expect(res.status).toBe(500);
    expect(res.body.error.code).toBe('INTERNAL_ERROR');
  });

  it('never signs two addresses as one: only ASCII white space around the email is trimmed, any other white space is refused (500)', async () => {
    const signed = async (email: string) => {
      const res = await request(build(email)).get(c.path);
      return { status: res.status, code: res.body.error?.code as string | undefined, text: res.text };
    };
    // ASCII white space around it is a padded column: trimmed, not refused
    const own = await signed(' kelly@example.com\t');
    expect(own.code).not.toBe('INTERNAL_ERROR');
    // String.trim strips these too: each would have been signed as kelly's very address
    for (const lookalike of ['kelly@example.com\u3000', '\ufeffkelly@example.com', '\u00a0kelly@example.com', 'kelly@example.com\u2028', 'kelly @example.com\u00a0', '\u00a0']) {
      const got = await signed(lookalike);
      expect([JSON.stringify(lookalike), got.status, got.code]).toEqual([JSON.stringify(lookalike), 500, 'INTERNAL_ERROR']);
    }
  });
}
