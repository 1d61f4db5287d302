import { tracingChannel } from 'node:diagnostics_channel';
import type { ErrorRequestHandler, NextFunction, Request, RequestHandler, Response, Router } from 'express';
import parseUrl from 'parseurl';

/**
 * A path Express matches as plain text: segments of letters, digits and `._~-` only, so
 * no parameter (`:id`), wildcard, group or optional part, and no trailing slash.
 */
const LITERAL_PATH = /^(?:\/[A-Za-z0-9._~-]+)+$/;

/** How Express's router matches a literal path: the whole pathname, case-insensitively, one trailing slash allowed. */
function literalMatcher(path: string): RegExp {
  return new RegExp(`^${path.replace(/[./]/g, '\\$&')}\\/?$`, 'i');
}

/** A route of a router dispatched by {@link dispatchDirectly}: its path and the handler `router.all(path, …)` was given. */
export interface DirectRoute {
  path: string;
  handle: RequestHandler;
}

type Handle = (req: Request, res: Response, next: NextFunction) => void;

/** The channel Express 5's router reports each layer it runs on (APM tools subscribe to it). */
const routerTracing = typeof tracingChannel === 'function' ? tracingChannel('express.router.request') : undefined;

/** Whether anything listens to Express's router: then Express dispatches, so that it sees each layer. */
function traced(): boolean {
  const channel = routerTracing;
  return channel !== undefined && (channel.start.hasSubscribers || channel.end.hasSubscribers || channel.asyncStart.hasSubscribers || channel.asyncEnd.hasSubscribers || channel.error.hasSubscribers);
}

/** A check that `router`'s stack still holds the layers, and the handlers, it holds now. */
function stackKeeper(router: Router): () => boolean {
  const layers = [...router.stack];
  const handles = layers.map((layer) => layer.handle);
  return () => {
    const stack = router.stack;
    if (stack.length !== layers.length) return false;
    for (let i = 0; i < layers.length; i++) if (stack[i] !== layers[i] || layers[i]!.handle !== handles[i]) return false;
    return true;
  };
}

/** Express's own `handle` of a router (its type does not declare it). */
function expressHandle(router: Router): Handle {
  const handle = (router as unknown as { handle: Handle }).handle;
  return (req, res, next) => handle.call(router, req, res, next);
}

/**
 * Make `direct` the `handle` of `router`, Express's own `handle` (given to `direct` as
 * `full`) whenever the router's stack changed since now or Express's router is traced.
 */
function takeOver(router: Router, direct: (full: Handle) => Handle): void {
  const full = expressHandle(router);
  const intact = stackKeeper(router);
  const own = direct(full);
  const handle: Handle = (req, res, next) => {
    if (intact() && !traced()) own(req, res, next);
    else full(req, res, next);
  };
  Object.defineProperty(router, 'handle', { value: handle, writable: true, configurable: true });
}

/**
 * Let `router` answer its own literal routes without Express's router machinery: the
 * router keeps its stack (`router.all(path, handle)` for each route, then `onError`),
 * and its `handle`, which Express calls for every request reaching the router, runs the
 * same steps directly: the route whose path matches as Express would match it (the
 * pathname, case-insensitively, one trailing slash allowed), its errors to `onError`,
 * any other request straight on.
 *
 * Express's `Router.handle` costs a request more than a route's own work: it stores
 * `baseUrl`, `originalUrl`, `next` and `params` on the request and reads them back, and
 * Express gives each request an object of its own shape (`Object.setPrototypeOf`), so V8
 * looks each of those properties up afresh, every request. Every request of the app
 * that passes the router pays that, not only the router's own.
 *
 * Express's own dispatch is kept, and used, when a path is not literal, when the
 * router's stack changed after it was built (a layer added, replaced or its handler
 * wrapped), and while something listens to Express's `express.router.request` tracing
 * channel.
 */
export function dispatchDirectly(router: Router, routes: readonly DirectRoute[], onError: ErrorRequestHandler): void {
  if (!routes.every((route) => LITERAL_PATH.test(route.path))) return;
  const matchers = routes.map((route) => literalMatcher(route.path));
  const handlers = routes.map((route) => route.handle);
  // Express's Route of each, which it sets as `req.route` for the request it serves
  const expressRoutes = routes.map((route) => router.stack.find((layer) => layer.route?.path === route.path)?.route);
  // a request for the path as written, with no query: most requests, matched without parsing the URL
  const exact = new Map(routes.map((route, i) => [route.path, i]));

  takeOver(router, (full) => (req, res, next) => {
    let index = exact.get(req.url) ?? -1;
    if (index === -1) {
      // the pathname as Express's router reads it (not `req.path`, which another framework may have decoded)
      const path = parseUrl(req)?.pathname;
      if (typeof path !== 'string') {
        full(req, res, next);
        return;
      }
      for (let i = 0; i < matchers.length; i++) {
        if (matchers[i]!.test(path)) {
          index = i;
          break;
        }
      }
    }
    if (index === -1) {
      next();
      return;
    }
    const route = expressRoutes[index];
    if (route !== undefined) req.route = route;
    // a route's own parameters, none: Express does not merge the mount path's into a router's
    req.params = {};
    const failed = (err?: unknown): void => {
      // as Express: an error goes to the router's error handler, nothing else on
      if (err === undefined || err === null) {
        next();
        return;
      }
      try {
        onError(err, req, res, next);
      } catch (thrown) {
        next(thrown);
      }
    };
    try {
      handlers[index]!(req, res, failed);
    } catch (thrown) {
      failed(thrown ?? new Error(`${String(thrown)} was thrown`));
    }
  });
}

/**
 * Let `router`, whose stack is `middleware` mounted with `router.use(…)` in order, run
 * them directly, as Express would: each in turn while they call `next()`, an error past
 * all of them (none is an error handler). Express's own dispatch is used once the
 * router's stack changes, and while Express's router is traced.
 */
export function chainDirectly(router: Router, middleware: readonly Handle[]): void {
  takeOver(router, () => (req, res, next) => {
    let index = 0;
    const step = (err?: unknown): void => {
      if (err !== undefined && err !== null && err !== 'router') {
        next(err);
        return;
      }
      if (err === 'router' || index === middleware.length) {
        next();
        return;
      }
      const fn = middleware[index++]!;
      try {
        fn(req, res, step);
      } catch (thrown) {
        next(thrown ?? new Error(`${String(thrown)} was thrown`));
      }
    };
    step();
  });
}
