import { inspect } from 'node:util';
import express from 'express';
import request from 'supertest';
import * as lib from '../lib';
import {
  cannySsoRouter,
  featurebaseJwtRouter,
  chatwootIdentityRouter,
  crispIdentityRouter,
  helpScoutBeaconRouter,
  frontChatIdentityRouter,
  plainChatIdentityRouter,
  hissunoTokenRouter,
  intercomIdentityRouter,
  liveblocksAuthRouter,
  hubspotVisitorTokenRouter,
  pusherAuthRouter,
  neuroonTokenRouter,
  neuroonWidgetToken,
  neutEmbedParamsRouter,
  neverminedSessionRouter,
  serveNeutEmbedScript,
  streamChatTokenRouter,
  WidgetAuthConfigError,
  widgetAuth,
  widgetCredentialRouter,
  wonderfulTokenRouter,
  zendeskMessagingRouter,
} from '../lib';
import { EXPRESS_MAJOR } from './helpers/app';

/**
 * A factory mounted without the call (`app.use(hissunoTokenRouter)`) used to break every
 * route of the app on the first request ("27 configuration problems" listing the
 * request's fields). It now fails at `app.use` with one line showing the right call, and
 * when mounted another way, on the first request with that line via `next(err)`.
 */

const DOCS = 'https://github.com/express-widget-auth/express-widget-auth/blob/main/docs/errors.md#a-factory-mounted-without-being-called';

type Factory = (...args: never[]) => unknown;
const FACTORIES: [string, Factory, string][] = [
  ['hissunoTokenRouter', hissunoTokenRouter, 'app.use(hissunoTokenRouter({ … }))'],
  ['neverminedSessionRouter', neverminedSessionRouter, 'app.use(neverminedSessionRouter({ … }))'],
  ['neuroonTokenRouter', neuroonTokenRouter, 'app.use(neuroonTokenRouter({ … }))'],
  ['neutEmbedParamsRouter', neutEmbedParamsRouter, 'app.use(neutEmbedParamsRouter({ … }))'],
  ['wonderfulTokenRouter', wonderfulTokenRouter, 'app.use(wonderfulTokenRouter({ … }))'],
  ['widgetAuth', widgetAuth, 'app.use(widgetAuth({ resolveUser }))'],
  ['widgetCredentialRouter', widgetCredentialRouter, 'app.use(widgetCredentialRouter({ … }))'],
  ['neuroonWidgetToken', neuroonWidgetToken, 'app.get(path, neuroonWidgetToken(provider), handler)'],
  ['serveNeutEmbedScript', serveNeutEmbedScript, "app.get('/neut-embed.js', serveNeutEmbedScript())"],
  ['intercomIdentityRouter', intercomIdentityRouter, 'app.use(intercomIdentityRouter({ … }))'],
  ['zendeskMessagingRouter', zendeskMessagingRouter, 'app.use(zendeskMessagingRouter({ … }))'],
  ['streamChatTokenRouter', streamChatTokenRouter, 'app.use(streamChatTokenRouter({ … }))'],
  ['cannySsoRouter', cannySsoRouter, 'app.use(cannySsoRouter({ … }))'],
  ['featurebaseJwtRouter', featurebaseJwtRouter, 'app.use(featurebaseJwtRouter({ … }))'],
  ['chatwootIdentityRouter', chatwootIdentityRouter, 'app.use(chatwootIdentityRouter({ … }))'],
  ['crispIdentityRouter', crispIdentityRouter, 'app.use(crispIdentityRouter({ … }))'],
  ['helpScoutBeaconRouter', helpScoutBeaconRouter, 'app.use(helpScoutBeaconRouter({ … }))'],
  ['frontChatIdentityRouter', frontChatIdentityRouter, 'app.use(frontChatIdentityRouter({ … }))'],
  ['plainChatIdentityRouter', plainChatIdentityRouter, 'app.use(plainChatIdentityRouter({ … }))'],
  ['liveblocksAuthRouter', liveblocksAuthRouter, 'app.use(liveblocksAuthRouter({ … }))'],
  ['hubspotVisitorTokenRouter', hubspotVisitorTokenRouter, 'app.use(hubspotVisitorTokenRouter({ … }))'],
  ['pusherAuthRouter', pusherAuthRouter, 'app.use(pusherAuthRouter({ … }))'],
];

const lineFor = (name: string, right: string) => `${name} was mounted without being called: write ${right}, not ${name} alone. See ${DOCS}`;

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('nothing was thrown');
}

/** A host app with a route of its own and an error handler that shows what it received. */
function hostApp(mount: (app: express.Express) => void): express.Express {
  const app = express();
  mount(app);
  app.get('/health', (_req, res) => {
    res.json({ ok: true });
  });
  app.use(((err, _req, res, _next) => {
    res.status(500).json({ name: (err as Error).name, code: (err as { code?: unknown }).code, message: (err as Error).message, problems: (err as { problems?: unknown }).problems });
  }) as express.ErrorRequestHandler);
  return app;
}

describe(`a factory mounted without being called (Express ${EXPRESS_MAJOR})`, () => {
  it('covers every exported router and middleware factory', () => {
    const routers = Object.entries(lib)
      .filter(([name, value]) => typeof value === 'function' && /Router$/.test(name) && !/^[A-Z]/.test(name))
      .map(([name]) => name);
    expect(routers.length).toBeGreaterThanOrEqual(5);
    expect(routers.filter((name) => !FACTORIES.some(([listed]) => listed === name))).toEqual([]);
  });

  it.each(FACTORIES)('app.use(%s) throws at start-up, in one line that shows the right call', (name, factory, right) => {
    const err = thrown(() => express().use(factory as unknown as express.RequestHandler));
    expect(err).toBeInstanceOf(WidgetAuthConfigError);
    expect((err as WidgetAuthConfigError).code).toBe('INVALID_CONFIG');
    expect((err as Error).message).toBe(lineFor(name, right));
    expect((err as Error).message).not.toContain('\n');
    expect((err as WidgetAuthConfigError).problems).toEqual([lineFor(name, right)]);
    // the stack starts with the same single line
    expect((err as Error).stack!.split('\n')[0]).toBe(`WidgetAuthConfigError: ${lineFor(name, right)}`);
    // also with a path, or in an array
    expect(() => express().use('/widgets', factory as unknown as express.RequestHandler)).toThrow(lineFor(name, right));
    expect(() => express().use([factory as unknown as express.RequestHandler])).toThrow(lineFor(name, right));
  });

  it.each(FACTORIES)('router.use(%s) passes the one-line error to the host on the first request, and reports it once on stderr', async (name, factory, right) => {
    const writes = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      // express.Router().use reads nothing Express could trip on: the factory gets (req, res, next)
      const app = hostApp((host) => host.use(express.Router().use(factory as unknown as express.RequestHandler)));
      for (let i = 0; i < 3; i++) {
        const res = await request(app).get('/health');
        expect(res.status).toBe(500);
        expect(res.body).toEqual({ name: 'WidgetAuthConfigError', code: 'INVALID_CONFIG', message: lineFor(name, right), problems: [lineFor(name, right)] });
      }
      const reported = writes.mock.calls.map(([chunk]) => String(chunk)).filter((text) => text.includes(`${name} was mounted without being called`));
      // each test file has its own module registry: this is the first time this factory is seen here
      expect(reported).toEqual([`express-widget-auth: INVALID_CONFIG: ${lineFor(name, right).replace(` See ${DOCS}`, '')} See ${DOCS}\n`]);
    } finally {
      writes.mockRestore();
    }
  });

  it('reports a factory once, however it is mounted again', async () => {
    const writes = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      // a route handler, the other way to mount a factory without calling it; router.use above reported it already
      const app = hostApp((host) => host.get('/neut-embed.js', serveNeutEmbedScript as unknown as express.RequestHandler));
      const first = await request(app).get('/neut-embed.js');
      await request(app).get('/neut-embed.js');
      expect(first.status).toBe(500);
      expect(first.body.message).toBe(lineFor('serveNeutEmbedScript', "app.get('/neut-embed.js', serveNeutEmbedScript())"));
      expect(writes.mock.calls.map(([chunk]) => String(chunk)).filter((text) => text.includes('serveNeutEmbedScript was mounted'))).toEqual([]);
    } finally {
      writes.mockRestore();
    }
  });

  it('leaves correct calls and ordinary reads of the factory alone', async () => {
    for (const [, factory] of FACTORIES) {
      expect(Object.keys(factory)).toEqual([]);
      expect({ ...factory }).toEqual({});
      expect(() => inspect(factory, { showHidden: true, getters: false })).not.toThrow();
      expect(typeof factory).toBe('function');
    }
    const app = express();
    app.get('/neut-embed.js', serveNeutEmbedScript());
    const res = await request(app).get('/neut-embed.js');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/javascript/);
  });

  it('still lists every problem of a wrong options object', () => {
    const err = thrown(() => hissunoTokenRouter({ secretKey: 'short', resolveUser: 'no' } as never));
    expect(err).toBeInstanceOf(WidgetAuthConfigError);
    expect((err as WidgetAuthConfigError).problems).toEqual(['secretKey: must be at least 32 characters long', 'resolveUser: must be a function (req) => user | null']);
  });
});
