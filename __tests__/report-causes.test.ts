/**
 * Which vendor-call failures a router reports as the host's to fix, and with what advice:
 * the connection failures that point at this server's base URL (a host that does not
 * resolve, a port nothing listens on, TLS), and a redirect; never a reset or a timeout,
 * which are the vendor's passing trouble. The errors are the upstream client's own, made
 * by calling it against real loopback servers where one can be made to fail that way.
 */
import { createUpstreamClient } from '../lib/core/upstream';
import { createReporter } from '../lib/core/report';
import { WidgetAuthError } from '../lib';
import { startFakeServer } from '../lib/testing';
import { captureLogger } from './helpers/app';
import { z } from 'zod';

const DOCS = 'https://github.com/express-widget-auth/express-widget-auth/blob/main/docs/errors.md#';

/** The error the upstream client gives for a connection failure with this system code (as its transport records it). */
function connectionFailure(code: string): WidgetAuthError {
  const cause = new Error(code);
  cause.name = 'ConnectionError';
  return new WidgetAuthError('UPSTREAM_UNAVAILABLE', 'Wonderful could not be reached.', { cause });
}

describe('reports of vendor-call failures', () => {
  const reporter = createReporter({ vendor: 'wonderful', logger: captureLogger(), enabled: true, redact: (text) => text });
  const report = (err: unknown) => reporter.failure(err, '/api/sdk-token');

  it('reports a refused connection, from the upstream client against a closed port, with the base URL to check', async () => {
    const closed = await startFakeServer(() => ({ status: 200, body: {} }));
    await closed.close();
    const err = await createUpstreamClient('Wonderful', { timeoutMs: 2000, retries: 0 })
      .call({ url: `${closed.url}/api/v1/jwt/sign`, body: {}, schema: z.object({}) })
      .then(() => undefined, (e: unknown) => e);
    expect(report(err)).toEqual({
      code: 'UPSTREAM_UNAVAILABLE',
      cause: 'upstream.unreachable',
      vendor: 'wonderful',
      route: '/api/sdk-token',
      message: expect.stringMatching(/^The Wonderful API could not be reached \(ECONNREFUSED: nothing accepts connections at its address\); every visitor gets 502 while it lasts\. Check the host and port of the base URL/),
      docs: `${DOCS}the-vendor-cannot-be-reached`,
    });
  });

  it.each([
    ['ENOTFOUND', /its host name does not resolve\).*Check the host of the base URL/],
    ['ERR_TLS_CERT_ALTNAME_INVALID', /the TLS connection failed\).*a certificate issued for another name/],
    ['DEPTH_ZERO_SELF_SIGNED_CERT', /the TLS connection failed\).*NODE_EXTRA_CA_CERTS/],
    ['ERR_SSL_WRONG_VERSION_NUMBER', /the TLS connection failed\).*https to a plain-http port/],
  ])('reports %s with what to check', (code, advice) => {
    const found = report(connectionFailure(code));
    expect(found?.message).toMatch(new RegExp(`could not be reached \\(${code}: `));
    expect(found?.message).toMatch(advice);
    expect(found?.docs).toBe(`${DOCS}the-vendor-cannot-be-reached`);
  });

  it.each(['ECONNRESET', 'ETIMEDOUT', 'ECONNECTION', 'EPIPE'])('leaves %s unreported: the vendor’s passing trouble', (code) => {
    expect(report(connectionFailure(code))).toBeUndefined();
  });

  it('leaves a vendor 5xx unreported, and reports a redirect with where to point the base URL', async () => {
    expect(report(new WidgetAuthError('UPSTREAM_UNAVAILABLE', 'Wonderful failed (HTTP 500).', { upstreamStatus: 500 }))).toBeUndefined();
    const moved = await startFakeServer(() => ({ status: 301, body: {}, headers: { location: 'https://api.wonderful.example/api/v1/jwt/sign' } }));
    try {
      const err = await createUpstreamClient('Wonderful', { timeoutMs: 2000, retries: 1 })
        .call({ url: `${moved.url}/api/v1/jwt/sign`, body: {}, schema: z.object({}) })
        .then(() => undefined, (e: unknown) => e);
      const found = report(err);
      expect(found?.code).toBe('UPSTREAM_REJECTED');
      expect(found?.message).toMatch(/\(HTTP 301\).*Set the base URL to the address the vendor's API answers at itself/);
      // a console without a logger shows where it pointed
      expect(found?.message).toMatch(/^The Wonderful API redirected this server's request \(HTTP 301\); .* It points to https:\/\/api\.wonderful\.example\/api\/v1\/jwt\/sign\. Set the base URL/);
      expect(found?.docs).toBe(`${DOCS}the-vendor-refused-this-server`);
      expect(moved.requests).toHaveLength(1);
    } finally {
      await moved.close();
    }
  });
});

describe('reports of a hook’s failure', () => {
  const reporter = createReporter({ vendor: 'hissuno', logger: captureLogger(), enabled: true, redact: (text) => text });

  it('ends the library’s own sentence with one full stop, with or without a cause', () => {
    const answerHeldSecret = new WidgetAuthError('INTERNAL_ERROR', 'The answer held this router’s own secret (in some encoding), from the user record or a hook; nothing of it was sent to the browser.');
    expect(reporter.failure(answerHeldSecret, '/api/hissuno-token')?.message).toBe(
      'The answer held this router’s own secret (in some encoding), from the user record or a hook; nothing of it was sent to the browser.',
    );
    const threw = new WidgetAuthError('INTERNAL_ERROR', 'entityIdFor threw', { cause: new TypeError('no id') });
    expect(reporter.failure(threw, '/api/hissuno-token')?.message).toBe('entityIdFor threw (TypeError: no id).');
  });
});
