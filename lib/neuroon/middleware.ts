import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { WidgetAuthConfigError } from '../core/errors';
import { guardFactory, rejectMisuse } from '../core/misuse';
import { NeuroonTokenProvider, type NeuroonTokenProviderOptions } from './provider';

/** What {@link neuroonWidgetToken} takes: a provider you share, or the options to build one. */
export type NeuroonWidgetTokenOptions = NeuroonTokenProvider | NeuroonTokenProviderOptions;

declare global {
  // Express's own declaration-merging point for `res.locals` (@types/express 4 and 5)
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Locals {
      /**
       * The Neuroon widget token, set by {@link neuroonWidgetToken}. Only on the routes that
       * use that middleware: in the handlers that follow it in the same route it is typed
       * `string`.
       */
      neuroonWidgetToken?: string | undefined;
    }
  }
}

/**
 * `res.locals` of the handlers that follow {@link neuroonWidgetToken} in a route:
 * Express's default (`Record<string, any>`) plus the token.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type LocalsWithNeuroonWidgetToken = Record<string, any> & { neuroonWidgetToken: string };

/**
 * What {@link neuroonWidgetToken} returns: a plain `RequestHandler`, whose second
 * signature lets Express's typings give the route's next handlers a `string` token.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type NeuroonWidgetTokenHandler = RequestHandler & RequestHandler<Request['params'], any, any, Request['query'], LocalsWithNeuroonWidgetToken>;

/** True for a provider instance, also one from another copy of this package. */
export function isNeuroonTokenProvider(value: unknown): value is NeuroonTokenProvider {
  return (
    value instanceof NeuroonTokenProvider ||
    (typeof value === 'object' &&
      value !== null &&
      typeof (value as NeuroonTokenProvider).getToken === 'function' &&
      typeof (value as NeuroonTokenProvider).currentToken === 'function')
  );
}

/**
 * Middleware for server-rendered pages: puts the shop's widget token on
 * `res.locals.neuroonWidgetToken`, then calls `next()`. A cached token is set without
 * any I/O. When no token can be served it calls `next(err)` with a
 * {@link WidgetAuthError} (`UPSTREAM_UNAVAILABLE`, `UPSTREAM_TIMEOUT`,
 * `UPSTREAM_REJECTED`, …): that error is the host page's to handle, for example by
 * rendering the page without the widget.
 *
 * Pass the same {@link NeuroonTokenProvider} you give {@link neuroonTokenRouter} so
 * that both share one cache.
 *
 * @example
 * ```ts
 * const neuroon = new NeuroonTokenProvider(neuroonConfigFromEnv());
 * app.get('/search', neuroonWidgetToken(neuroon), (req, res) => {
 *   res.send(`<div id="neuroon-search"></div>${renderNeuroonScriptTag({ token: res.locals.neuroonWidgetToken })}`);
 * });
 * ```
 */
export function neuroonWidgetToken(options: NeuroonWidgetTokenOptions): NeuroonWidgetTokenHandler {
  rejectMisuse('neuroonWidgetToken', options);
  if (typeof options === 'function') {
    throw new WidgetAuthConfigError('neuroonWidgetToken', [
      'options: a function was passed where a provider or options were expected (did you write `app.use(neuroonWidgetToken)` instead of `app.use(neuroonWidgetToken({ … }))`?)',
    ]);
  }
  const provider = isNeuroonTokenProvider(options) ? options : new NeuroonTokenProvider(options);
  return (_req: Request, res: Response, next: NextFunction) => {
    const token = provider.currentToken();
    if (token !== undefined) {
      res.locals['neuroonWidgetToken'] = token;
      next();
      return;
    }
    provider.getToken().then((fresh) => {
      res.locals['neuroonWidgetToken'] = fresh;
      next();
    }, next);
  };
}

guardFactory(neuroonWidgetToken, 'neuroonWidgetToken', 'app.get(path, neuroonWidgetToken(provider), handler)');
