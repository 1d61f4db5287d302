/**
 * The suite-wide leak watch (`__tests__/setup/leak-watch.ts`) itself: it must see a
 * configured secret in an Express answer, a log event and the console, in the encodings
 * the redactor handles, and report it without its value. Each find made here on purpose
 * is taken back out of the watch's list, so this file passes only if each was made.
 */
import { randomBytes } from 'node:crypto';
import express from 'express';
import request from 'supertest';
import { hissunoTokenRouter } from '../lib';
import { EXPRESS_MAJOR, captureLogger } from './helpers/app';

interface Watch {
  finds: string[];
  seen: number;
  secrets: string[];
}
const watch = (globalThis as Record<symbol, Watch | undefined>)[Symbol.for('express-widget-auth.leak-watch')];

/** Run `leak`, and return (and remove) the finds it caused. */
async function findsOf(leak: () => unknown): Promise<string[]> {
  const before = watch!.finds.length;
  await leak();
  return watch!.finds.splice(before);
}

describe(`the suite-wide leak watch (Express ${EXPRESS_MAJOR})`, () => {
  const secret = randomBytes(24).toString('hex');
  const app = express();
  app.use(hissunoTokenRouter({ secretKey: secret, resolveUser: () => ({ id: 'ada' }), report: false }));
  app.get('/host/echo', (req, res) => {
    const how = String(req.query['how']);
    const text = how === 'base64' ? Buffer.from(`xy${secret}`).toString('base64') : how === 'HEX' ? Buffer.from(secret).toString('hex').toUpperCase() : how === 'header' ? 'ok' : secret;
    if (how === 'header') res.set('x-debug', encodeURIComponent(secret));
    res.json({ text });
  });

  it('runs in every test file and knows the secrets routers are configured with', () => {
    expect(watch).toBeDefined();
    expect(watch!.secrets).toContain(secret);
  });

  it('sees a router’s answers and finds nothing in them', async () => {
    const seen = watch!.seen;
    const finds = await findsOf(() => request(app).get('/api/hissuno-token').expect(200));
    expect(finds).toEqual([]);
    expect(watch!.seen).toBeGreaterThan(seen);
  });

  it.each(['plain', 'base64', 'HEX', 'header'])('finds the secret in an Express answer (%s), naming where without the value', async (how) => {
    const finds = await findsOf(() => request(app).get(`/host/echo?how=${how}`).expect(200));
    expect(finds).toHaveLength(1);
    expect(finds[0]).toMatch(/^secret #\d+ \(48 characters\) .* in the answer to GET \/host\/echo \(200\)/);
    expect(finds[0]).not.toContain(secret.slice(0, 8));
  });

  it('finds the secret in a log event and on stderr', async () => {
    const logger = captureLogger();
    expect(await findsOf(() => logger.warn({ detail: `key=${secret}` }, 'oops'))).toHaveLength(1);
    const stderr = await findsOf(() => process.stderr.write(`half of it: ${secret.slice(0, 24)}\n`));
    expect(stderr).toHaveLength(1);
    expect(stderr[0]).toMatch(/a piece of .* in stderr/);
  });
});
