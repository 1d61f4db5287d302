/**
 * The secret search runs over every answer a router sends, every vendor credential and
 * every vendor error text: text a vendor (or, where an answer echoes a request field, a
 * visitor) chooses. A pattern that scans a run again from each position is quadratic in
 * it, and one answer of a few hundred kilobytes then holds the event loop for seconds,
 * stalling every other request of the app. These inputs took 5–15 s each on the patterns
 * they are named after; in one pass they take milliseconds, so each is held to a bound
 * far above that and far below the old cost, while still finding a secret where one is.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { createSecretMatcher } from '../lib/core/logger';
import { hubspotVisitorTokenRouter, neverminedSessionRouter, wonderfulTokenRouter } from '../lib';
import { startFakeHubSpot, startFakeNevermined, startFakeWonderful } from '../lib/testing';
import { EXPRESS_MAJOR, buildApp } from './helpers/app';

const SECRET = `sk_live_${randomBytes(18).toString('base64url')}`;
/** Far above a linear search of these inputs (milliseconds), far below the quadratic one (seconds). */
const BOUND_MS = 2000;

/** How long `fn` takes, in milliseconds. */
function timed(fn: () => unknown): { ms: number; value: unknown } {
  const started = performance.now();
  const value = fn();
  return { ms: performance.now() - started, value };
}

const base64url = (text: string) => Buffer.from(text).toString('base64url');

describe('the secret search is one pass over hostile text', () => {
  const matcher = createSecretMatcher([SECRET]);
  const hostile: [string, string][] = [
    ['a run of "eyJ" (JWT-shaped starts) with no dot', 'eyJ'.repeat(100_000)],
    ['a run of "eyJ" ending in two dots', `${'eyJ'.repeat(100_000)}.a.b`],
    ['"eyJ" runs cut by single dots', `${'eyJ'.repeat(1000)}.`.repeat(100)],
    ['a run of backslashes', '\\'.repeat(300_000)],
    ['backslashes before a u', `${'\\'.repeat(300_000)}u`],
    ['a run of percent escapes', '%41'.repeat(100_000)],
  ];

  it.each(hostile)('contains() and redact() answer at once for %s', (_what, text) => {
    const found = timed(() => matcher.contains(text));
    expect(found.value).toBe(false);
    expect(found.ms).toBeLessThan(BOUND_MS);
    const redacted = timed(() => matcher.redact(text));
    // nothing to redact (a text over 64 KiB is cut, so compare the start)
    expect(String(redacted.value).includes('[redacted]')).toBe(false);
    expect(text.startsWith(String(redacted.value))).toBe(true);
    expect(redacted.ms).toBeLessThan(BOUND_MS);
  });

  it('still finds a secret in the claims of a token inside such text, wherever the token starts', () => {
    // the secret JSON-escaped inside the claims: its base64 differs from the secret's own
    const escaped = `\\u00${SECRET.charCodeAt(0).toString(16)}${SECRET.slice(1)}`;
    const token = `${base64url('{"alg":"none"}')}.${base64url(`{"note":"${escaped}"}`)}.`;
    for (const text of [token, `x${token}`, `${'eyJ'.repeat(50_000)}${token}`, `${'eyJ'.repeat(50_000)}.${token}`, `{"token":"${token}","pad":"${'eyJ'.repeat(50_000)}"}`]) {
      const found = timed(() => matcher.contains(text));
      expect(found.value).toBe(true);
      expect(found.ms).toBeLessThan(BOUND_MS);
    }
    // and the same token without the secret is clean
    expect(matcher.contains(`${base64url('{"alg":"none"}')}.${base64url('{"note":"nothing"}')}.`)).toBe(false);
  });

  it('finds a secret behind nested JSON escapes of up to eight backslashes, and redacts it', () => {
    for (const slashes of [1, 2, 4, 8]) {
      const text = `${'\\'.repeat(slashes)}u00${SECRET.charCodeAt(0).toString(16)}${SECRET.slice(1)}`;
      expect([slashes, matcher.redact(text)]).toEqual([slashes, '[redacted]']);
    }
  });
});

describe(`a hostile vendor answer does not stall the app (Express ${EXPRESS_MAJOR})`, () => {
  /** Runs `fn` while watching the event loop; resolves to its result and the longest block, in ms. */
  async function watched<T>(fn: () => Promise<T>): Promise<{ value: T; blockedMs: number }> {
    const histogram = monitorEventLoopDelay({ resolution: 10 });
    histogram.enable();
    try {
      const value = await fn();
      return { value, blockedMs: histogram.max / 1e6 };
    } finally {
      histogram.disable();
    }
  }

  it('a 120 KB HubSpot token or Wonderful jwt of "eyJ" runs, and a Nevermined error of backslashes', async () => {
    const accessToken = `pat-na1-${randomBytes(18).toString('hex')}`;
    const apiKey = `wk_test_${randomBytes(12).toString('hex')}`;
    const rawSecret = `wk_${randomBytes(12).toString('hex')}`;
    const [hub, won, nvm] = await Promise.all([startFakeHubSpot({ accessToken }), startFakeWonderful({ apiKey }), startFakeNevermined({ orgs: { org: { secret: rawSecret } } })]);
    try {
      const resolveUser = () => ({ id: 'user-ada', email: 'ada@example.com' });
      const app = buildApp(hubspotVisitorTokenRouter({ accessToken, apiBaseUrl: hub.url, resolveUser, cache: false, report: false, retries: 0 }), (a) => {
        a.use(wonderfulTokenRouter({ baseUrl: won.url, apiKey, resolveUser, report: false, retries: 0 }));
        a.use(neverminedSessionRouter({ orgId: 'org', rawSecret, apiBaseUrl: nvm.url, resolveUser, report: false, retries: 0 }));
      });

      hub.fault({ kind: 'status', status: 200, body: { token: 'eyJ'.repeat(40_000) } }, { times: 1 });
      const hubspot = await watched(() => request(app).get('/api/hubspot-visitor-token'));
      expect(hubspot.value.status).toBe(200);
      expect(hubspot.blockedMs).toBeLessThan(BOUND_MS);

      won.fault({ kind: 'status', status: 200, body: { jwt: `${'eyJ'.repeat(40_000)}.a.b` } }, { times: 1 });
      const wonderful = await watched(() => request(app).post('/api/sdk-token'));
      expect(wonderful.value.status).toBe(502);
      expect(wonderful.blockedMs).toBeLessThan(BOUND_MS);

      nvm.fault({ kind: 'status', status: 500, body: { code: '\\'.repeat(7000) }, headers: { 'x-correlation-id': '\\'.repeat(14_000) } }, { times: 1 });
      const nevermined = await watched(() => request(app).get('/api/widget-session'));
      expect(nevermined.value.status).toBe(502);
      expect(nevermined.blockedMs).toBeLessThan(BOUND_MS);
    } finally {
      await Promise.all([hub.close(), won.close(), nvm.close()]);
    }
  });
});
