import { WidgetAuthConfigError } from './errors';
import { docsLink, emitReport, REPORT_ANCHORS } from './report';

/** The right way to call each guarded factory, by name. */
const RIGHT_CALLS = new Map<string, string>();

/** True for Node's `IncomingMessage` (an Express request) or anything shaped like one. */
function isRequestLike(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v['method'] === 'string' && typeof v['url'] === 'string' && typeof v['headers'] === 'object' && v['headers'] !== null && typeof v['on'] === 'function';
}

/**
 * The one-line error for a factory mounted without being called. It is a
 * {@link WidgetAuthConfigError} (`code: 'INVALID_CONFIG'`) with that line as its only
 * problem and as its whole message.
 */
function misuseError(name: string): WidgetAuthConfigError {
  const right = RIGHT_CALLS.get(name) ?? `app.use(${name}({ … }))`;
  const line = `${name} was mounted without being called: write ${right}, not ${name} alone. See ${docsLink(REPORT_ANCHORS.misuse)}`;
  const err = new WidgetAuthConfigError(name, [line]);
  // one line rather than the usual list: the stack (formatted on first read) starts with it
  err.message = line;
  return err;
}

/**
 * Throw when a factory receives a request instead of its options: it was mounted
 * without being called (`router.use(hissunoTokenRouter)`, `app.get(path, factory)`), so
 * Express calls it with `(req, res, next)` on every request. Express passes the throw on
 * to `next(err)`, where the host's error handler gets the one-line message; it is also
 * written to stderr, once per factory.
 */
export function rejectMisuse(name: string, input: unknown): void {
  if (!isRequestLike(input)) return;
  const err = misuseError(name);
  emitReport({ code: err.code, cause: 'factory.misuse', message: err.message.slice(0, err.message.lastIndexOf(' See ')), docs: docsLink(REPORT_ANCHORS.misuse) }, `misuse|${name}`, undefined, 'error');
  throw err;
}

/**
 * Make `app.use(factory)` without the call fail at once, at start-up. Express's
 * `app.use(fn)` (4 and 5) reads `fn.handle` to tell a sub-app from middleware; on a
 * guarded factory that read throws the one-line error, so the app stops on the line that
 * mounts it. The property is non-enumerable and read by nothing else (spreading,
 * `Object.keys`, `util.inspect` and jest's mocks skip it). `router.use(factory)` and
 * `app.get(path, factory)` read no such property: those are caught on the first
 * request, by {@link rejectMisuse}.
 *
 * `rightCall` is the correct call shown in the message; defaults to `app.use(name({ … }))`.
 */
export function guardFactory(factory: (...args: never[]) => unknown, name: string, rightCall?: string): void {
  if (rightCall !== undefined) RIGHT_CALLS.set(name, rightCall);
  Object.defineProperty(factory, 'handle', {
    configurable: true,
    enumerable: false,
    get() {
      throw misuseError(name);
    },
  });
}
