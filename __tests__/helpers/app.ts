import express, { type Request, type RequestHandler } from 'express';
import type { WidgetAuthLogger, WidgetUser } from '../../lib';
import { encodedForms } from '../../lib/core/logger';

/** Users the tests sign in as with the `x-test-user` header. */
export const USERS: Record<string, WidgetUser> = {
  ada: { id: 'user-ada', email: '  Ada@Example.COM ', name: 'Ada Lovelace', metadata: { plan: 'pro' } },
  bob: { id: '6f1c1d3e-2b4a-4c5d-9e8f-0a1b2c3d4e5f', email: 'bob@example.com', name: 'Bob' },
};

/** resolveUser for tests: the user named by the `x-test-user` header, else nobody. */
export function testResolveUser(req: Request): WidgetUser | null {
  const name = req.headers['x-test-user'];
  return typeof name === 'string' && Object.hasOwn(USERS, name) ? USERS[name]! : null;
}

/** An Express app (4 or 5, whichever `express` resolves to) with `router` mounted, plus a host error handler. */
export function buildApp(router: RequestHandler, setup?: (app: express.Express) => void): express.Express {
  const app = express();
  setup?.(app);
  app.use(router);
  app.use(((err, _req, res, _next) => {
    res.status(599).json({ hostHandled: true, message: (err as Error).message });
  }) as express.ErrorRequestHandler);
  return app;
}

/** A pino-compatible logger that keeps every event and message it receives. */
export function captureLogger(): WidgetAuthLogger & { events: { level: string; obj: object; msg?: string }[]; text(): string } {
  const events: { level: string; obj: object; msg?: string }[] = [];
  const push = (level: string) => (obj: object, msg?: string) => {
    const event = { level, obj, ...(msg !== undefined ? { msg } : {}) };
    events.push(event);
    leakWatch()?.inspect('a log event', JSON.stringify(event));
  };
  return {
    events,
    info: push('info'),
    warn: push('warn'),
    error: push('error'),
    text: () => events.map((e) => JSON.stringify(e)).join('\n'),
  };
}

/** The suite-wide leak watch (`__tests__/setup/leak-watch.ts`), when it runs. */
function leakWatch(): { inspect(where: string, text: string): void } | undefined {
  return (globalThis as Record<symbol, { inspect(where: string, text: string): void } | undefined>)[Symbol.for('express-widget-auth.leak-watch')];
}

/** Fail if any of `secrets`, or any encoded form of one, occurs in `text`. */
export function expectNoSecrets(text: string, secrets: readonly string[]): void {
  for (const secret of secrets) {
    for (const form of encodedForms(secret)) {
      if (text.includes(form)) throw new Error(`a secret (or its encoded form, ${form.length} chars) appears in the output`);
    }
  }
}

/** Express major under test, for test names. */
/**
 * `text` with each long base64url run (a JWT segment, an opaque token, a signature) replaced
 * by what it decodes to, so a check for a short hostile value reads a token's claims and is
 * not tripped by a random signature that happens to spell it.
 */
export function withTokensDecoded(text: string): string {
  return text.replace(/[A-Za-z0-9_-]{32,}/g, (run) => Buffer.from(run, 'base64url').toString('latin1'));
}

export const EXPRESS_MAJOR: string = (() => {
  // express 5 exposes `express.urlencoded` without the legacy `express.query`
  return typeof (express as unknown as { query?: unknown }).query === 'function' ? '4' : '5';
})();
