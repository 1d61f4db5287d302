import { createHash } from 'node:crypto';
import type { RequestHandler } from 'express';
import { guardFactory, rejectMisuse } from '../core/misuse';

/**
 * Source of the browser script that mounts Neut widgets: a small, dependency-free script
 * for current browsers that defines `window.mountNeutWidget(options)`. Serve it from
 * your own origin (see {@link serveNeutEmbedScript}) and load it with a plain
 * `<script src>`; it needs no inline script, so a strict Content-Security-Policy holds.
 *
 * `mountNeutWidget({ container, params, widgetOrigin, endpoint?, fetchInit?, title?, onEmbedUrl?, onError? })`:
 * - `container`: the element (or a CSS selector of it) the iframe is appended to;
 * - `params`: the widget's request body, e.g. `{ widget_id: 'bill-preview', instance_id: 'main', bill_type: 'HR', bill_number: 1 }`;
 * - `widgetOrigin`: the Neut widget origin, e.g. `https://widgets.neut.us`;
 * - `endpoint`: your backend route. Defaults to `/api/widget-embed-params`;
 * - `fetchInit`: extra `fetch` options (headers are merged, e.g. a CSRF header). Defaults to none;
 * - `title`: the iframe's accessible title. Defaults to `"Neut widget"`;
 * - `onEmbedUrl(url, { refreshes })`, `onError(error)`: optional callbacks.
 *
 * It POSTs `params` as JSON to `endpoint` (same origin, cookies included), checks that
 * the returned `embed_url` is on `widgetOrigin`, and sets it as the iframe's `src`. When
 * a `message` event arrives whose `origin` is `widgetOrigin`, whose `source` is that
 * very iframe's window, and whose data is `{ type: 'neut-widget-refresh-request' }` (or
 * that string), it asks the backend for a fresh URL (one request at a time) and replaces
 * the `src`. Every other message is ignored. Returns
 * `{ iframe, ready, refresh(), destroy() }`; `ready` resolves to the first URL. A failed
 * request rejects with an `Error` carrying `status` and the backend's error `code`.
 *
 * @example
 * ```ts
 * import { NEUT_EMBED_SCRIPT } from 'express-widget-auth';
 * app.get('/neut-embed.js', (_req, res) => {
 *   res.type('text/javascript').set('Cache-Control', 'public, max-age=3600').send(NEUT_EMBED_SCRIPT);
 * });
 * // in the page (from your own script file):
 * // mountNeutWidget({ container: '#bill', widgetOrigin: 'https://widgets.neut.us',
 * //   params: { widget_id: 'bill-preview', instance_id: 'bill-main', bill_type: 'HR', bill_number: 1, congress: 119 } });
 * ```
 */
export const NEUT_EMBED_SCRIPT = `/*! express-widget-auth: mountNeutWidget */
(function () {
  'use strict';
  var REFRESH = 'neut-widget-refresh-request';

  function fail(message, status, code) {
    var error = new Error(message);
    if (status !== undefined) error.status = status;
    if (code !== undefined) error.code = code;
    return error;
  }

  function mountNeutWidget(options) {
    if (!options || typeof options !== 'object') throw new TypeError('mountNeutWidget: options are required');
    var container = typeof options.container === 'string' ? document.querySelector(options.container) : options.container;
    if (!container || typeof container.appendChild !== 'function') throw new TypeError('mountNeutWidget: container not found');
    var params = options.params;
    if (!params || typeof params !== 'object' || typeof params.widget_id !== 'string') {
      throw new TypeError('mountNeutWidget: params.widget_id is required');
    }
    var widgetOrigin;
    try {
      widgetOrigin = new URL(options.widgetOrigin).origin;
    } catch (e) {
      throw new TypeError('mountNeutWidget: widgetOrigin must be an origin such as https://widgets.neut.us');
    }
    if (widgetOrigin === 'null') throw new TypeError('mountNeutWidget: widgetOrigin must be an http(s) origin');
    var endpoint = options.endpoint || '/api/widget-embed-params';
    var extra = options.fetchInit || {};
    var body = JSON.stringify(params);

    var iframe = document.createElement('iframe');
    iframe.title = options.title || 'Neut widget';
    iframe.setAttribute('data-neut-widget', params.widget_id);
    container.appendChild(iframe);

    var refreshes = 0;
    var pending = null;
    var destroyed = false;

    function request() {
      var headers = new Headers(extra.headers || {});
      headers.set('Content-Type', 'application/json');
      headers.set('Accept', 'application/json');
      var init = Object.assign({ credentials: 'same-origin' }, extra, { method: 'POST', headers: headers, body: body });
      return fetch(endpoint, init).then(function (res) {
        return res.json().then(
          function (json) { return json; },
          function () { return null; }
        ).then(function (json) {
          if (!res.ok) {
            var err = json && json.error && typeof json.error === 'object' ? json.error : {};
            throw fail(err.message || 'The widget could not be set up (HTTP ' + res.status + ').', res.status, err.code);
          }
          var url = json && json.embed_url;
          var parsed;
          try {
            parsed = new URL(url);
          } catch (e) {
            throw fail('The backend answered without a usable embed_url.', res.status, 'INVALID_EMBED_URL');
          }
          // never point the frame anywhere but the widget origin (no javascript:, no look-alikes)
          if (parsed.origin !== widgetOrigin) throw fail('The embed_url is not on the widget origin.', res.status, 'INVALID_EMBED_URL');
          return parsed.href;
        });
      });
    }

    function load(isRefresh) {
      if (pending) return pending;
      pending = request().then(
        function (url) {
          pending = null;
          if (destroyed) return url;
          if (isRefresh) refreshes += 1;
          iframe.src = url;
          if (typeof options.onEmbedUrl === 'function') options.onEmbedUrl(url, { refreshes: refreshes });
          return url;
        },
        function (error) {
          pending = null;
          if (!destroyed && typeof options.onError === 'function') options.onError(error);
          throw error;
        }
      );
      return pending;
    }

    function onMessage(event) {
      if (event.origin !== widgetOrigin || event.source !== iframe.contentWindow || event.source === null) return;
      var data = event.data;
      var type = typeof data === 'string' ? data : data && typeof data === 'object' ? data.type : undefined;
      if (type !== REFRESH) return;
      load(true).catch(function () {});
    }

    window.addEventListener('message', onMessage);
    var ready = load(false);
    ready.catch(function () {});

    return {
      iframe: iframe,
      ready: ready,
      refresh: function () { return load(true); },
      destroy: function () {
        destroyed = true;
        window.removeEventListener('message', onMessage);
        if (iframe.parentNode) iframe.parentNode.removeChild(iframe);
      }
    };
  }

  window.mountNeutWidget = mountNeutWidget;
})();
`;

/** Subresource Integrity value (`sha384-…`) of {@link NEUT_EMBED_SCRIPT}, for `<script integrity>`. */
export const NEUT_EMBED_SCRIPT_INTEGRITY = `sha384-${createHash('sha384').update(NEUT_EMBED_SCRIPT, 'utf8').digest('base64')}`;

/**
 * Express handler that serves {@link NEUT_EMBED_SCRIPT} as `text/javascript` with an
 * ETag and `Cache-Control: public, max-age=3600`, answering 304 to a matching
 * `If-None-Match`.
 *
 * @example
 * ```ts
 * app.get('/neut-embed.js', serveNeutEmbedScript());
 * // <script src="/neut-embed.js" integrity="${NEUT_EMBED_SCRIPT_INTEGRITY}"></script>
 * ```
 */
export function serveNeutEmbedScript(): RequestHandler {
  // `app.get(path, serveNeutEmbedScript)` calls it with the request: without this the request would hang
  // eslint-disable-next-line prefer-rest-params -- the declared signature takes nothing
  rejectMisuse('serveNeutEmbedScript', arguments[0]);
  const etag = `"${createHash('sha256').update(NEUT_EMBED_SCRIPT, 'utf8').digest('base64url').slice(0, 27)}"`;
  const body = Buffer.from(NEUT_EMBED_SCRIPT, 'utf8');
  return (req, res) => {
    res.setHeader('Content-Type', 'text/javascript; charset=utf-8');
    res.setHeader('Cache-Control', 'public, max-age=3600');
    res.setHeader('ETag', etag);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    if (req.headers['if-none-match'] === etag) {
      res.statusCode = 304;
      res.end();
      return;
    }
    res.setHeader('Content-Length', String(body.length));
    res.end(req.method === 'HEAD' ? undefined : body);
  };
}

guardFactory(serveNeutEmbedScript, 'serveNeutEmbedScript', "app.get('/neut-embed.js', serveNeutEmbedScript())");
