/**
 * Wonderful's and Nevermined's answers are read by a quick check without zod, and by the
 * zod schema only when the quick check declines (the schema then says why a body is
 * refused). The quick check must never pass a body the schema refuses, and must give
 * what the schema gives: both are run on the same generated bodies, valid and invalid
 * (every field of the wrong type, empty, out of range, an impossible date, extra
 * members, the `{ data }` wrapper with and without a bare `jwt` beside it).
 */
import fc from 'fast-check';
import jwt from 'jsonwebtoken';
import type { z } from 'zod';
import { acceptSignAnswer, signAnswerSchema } from '../lib/wonderful/client';
import { acceptWidgetSession, widgetSessionSchema } from '../lib/nevermined/session';

const token = jwt.sign({ sub: '1b4e28ba-2fa1-11d2-883f-0016d3cca427' }, 'an-unrelated-test-key');

/** A member that is absent, or one of `values`, or any JSON value. */
const member = <T>(values: readonly T[]) => fc.option(fc.oneof(fc.constantFrom(...values), fc.jsonValue({ maxDepth: 1 })), { nil: undefined });
const withoutAbsent = (record: Record<string, unknown>) => Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined));

const signed = fc
  .record({
    jwt: member<unknown>([token, 'a.b.', 'a.b', '', 'a b.c.d', 42, null]),
    expiresAt: member<unknown>([1, 2_000_000_000, 0, -1, 1.5, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER + 2, '2000000000']),
    id: member<unknown>(['1b4e28ba-2fa1-11d2-883f-0016d3cca427', '', 'x', 7]),
    extra: member<unknown>(['kept']),
  })
  .map(withoutAbsent);
const signAnswer = fc.oneof(
  signed,
  fc.record({ data: fc.oneof(signed, fc.jsonValue({ maxDepth: 2 })), jwt: member<unknown>([token, 42, null]) }).map(withoutAbsent),
  fc.jsonValue({ maxDepth: 3 }),
);

const isoDates = ['2026-12-05T02:00:00Z', '2026-12-05T02:00:00.123+01:00', '2024-02-29T23:59:59-05:30', '2026-02-30T02:00:00Z', '2026-12-05T24:00:00Z', '2026-12-05T02:00:00+0100', '2026-12-05', '2026-12-05T02:00Z'];
const session = fc.oneof(
  fc
    .record({
      sessionToken: member<unknown>(['sess-1', '', 5]),
      userId: member<unknown>(['u1', '']),
      userWallet: member<unknown>(['0xabc', null]),
      apiKeyHash: member<unknown>(['h', '']),
      expiresAt: fc.oneof(member<unknown>(isoDates), fc.date({ noInvalidDate: true }).map((d) => d.toISOString())),
      extra: member<unknown>(['kept', { nested: [1] }]),
    })
    .map(withoutAbsent),
  fc.jsonValue({ maxDepth: 3 }),
);

/**
 * Run the quick check and the schema on the same generated bodies: whatever the quick
 * check passes, the schema passes and `same` finds read alike; and the quick check passes
 * every body the schema passes, so that it is the path of every valid answer.
 */
function expectAgreement<T>(bodies: fc.Arbitrary<unknown>, schema: z.ZodType<T>, accept: (body: unknown) => T | undefined, same: (accepted: T, parsed: T, body: unknown) => void): void {
  let quick = 0;
  let valid = 0;
  fc.assert(
    fc.property(bodies, (body) => {
      const parsed = schema.safeParse(body);
      const accepted = accept(body);
      if (parsed.success) valid++;
      if (accepted === undefined) return;
      quick++;
      expect(parsed.success).toBe(true);
      same(accepted, parsed.data as T, body);
    }),
    { numRuns: 3000 },
  );
  expect(quick).toBe(valid);
}

describe('quick answer checks agree with their schemas', () => {
  it('Wonderful: a body the quick check passes is one the schema passes, read the same', () => {
    const pick = (v: Record<string, unknown>) => ({ jwt: v['jwt'], expiresAt: v['expiresAt'], id: v['id'] });
    expectAgreement(signAnswer, signAnswerSchema, acceptSignAnswer, (accepted, parsed) => expect(pick(accepted)).toEqual(pick(parsed)));
  });

  it('Wonderful: a bare jwt that is invalid beside a valid { data } is refused by both', () => {
    const body = { jwt: 42, data: { jwt: token } };
    expect(acceptSignAnswer(body)).toBeUndefined();
    expect(signAnswerSchema.safeParse(body).success).toBe(false);
    expect(signAnswerSchema.parse({ data: { jwt: token } })).toEqual({ jwt: token });
  });

  it('Nevermined: a body the quick check passes is one the schema passes, the very object', () => {
    expectAgreement(session, widgetSessionSchema, acceptWidgetSession, (accepted, parsed, body) => {
      expect(accepted).toBe(body);
      expect(parsed).toBe(body);
    });
  });
});
