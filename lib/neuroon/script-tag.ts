import { closestName, isLoopbackHost } from '../core/config';
import { WidgetAuthConfigError } from '../core/errors';

/** Neuroon's widget script. */
export const NEUROON_WIDGET_SRC = 'https://cdn.neuroon.ai/widget.js';

/** Themes the Neuroon widget knows. */
export const NEUROON_THEMES = ['auto', 'light', 'dark'] as const;

/** Options of {@link renderNeuroonScriptTag}. */
export interface NeuroonScriptTagOptions {
  /** The widget token (from `res.locals.neuroonWidgetToken` or `provider.getToken()`). Required. */
  token: string;
  /** CSS selector of the element the widget renders into (`data-container`). Defaults to `"#neuroon-search"`. */
  container?: string;
  /** `data-theme`: `"auto"`, `"light"` or `"dark"`. Defaults to `"auto"`. */
  theme?: (typeof NEUROON_THEMES)[number];
  /** `data-locale`, e.g. `"es-ES"`. Defaults to none (the widget decides). */
  locale?: string;
  /** `data-position`, the widget's placement. Defaults to none (the widget decides). */
  position?: string;
  /** `data-api-url`, to point the widget at another Neuroon API. Defaults to none. */
  apiUrl?: string;
  /** Script URL. Defaults to `"https://cdn.neuroon.ai/widget.js"`. */
  src?: string;
  /** Subresource Integrity hash (`sha384-…`); adds `crossorigin="anonymous"`. Defaults to none. */
  integrity?: string;
  /** CSP nonce of the page (`nonce="…"`). Defaults to none. */
  nonce?: string;
}

const KNOWN = ['token', 'container', 'theme', 'locale', 'position', 'apiUrl', 'src', 'integrity', 'nonce'];
const SPECIAL = /[&<>"']/;
const SPECIAL_ALL = /[&<>"']/g;
const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const INTEGRITY = /^(?:sha(?:256|384|512)-[A-Za-z0-9+/]+={0,2})(?:\s+sha(?:256|384|512)-[A-Za-z0-9+/]+={0,2})*$/;

/** Escape a value for a double-quoted HTML attribute. */
export function escapeHtmlAttribute(value: string): string {
  return SPECIAL.test(value) ? value.replace(SPECIAL_ALL, (c) => ENTITIES[c]!) : value;
}

function checkUrl(name: string, value: unknown, problems: string[]): void {
  if (typeof value !== 'string') {
    problems.push(`${name}: must be a string`);
    return;
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    problems.push(`${name}: must be an absolute https: URL`);
    return;
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.hostname))) {
    problems.push(`${name}: must use https: (plain http: is allowed only for localhost, 127.0.0.0/8 and [::1])`);
  }
}

function checkText(name: string, value: unknown, problems: string[]): void {
  if (typeof value !== 'string') problems.push(`${name}: must be a string`);
  else if (value.length === 0) problems.push(`${name}: must not be empty`);
}

/**
 * The `<script>` tag that loads the Neuroon widget with its token. Every attribute
 * value is HTML-escaped, so a token or selector cannot break out of the tag. Throws a
 * `WidgetAuthConfigError` (listing every problem, never the token) for a missing token,
 * an unknown theme, a non-https `src` or `apiUrl`, or an unknown option. Put the
 * container element (`<div id="neuroon-search"></div>`) in the page yourself.
 *
 * @example
 * ```ts
 * res.send(`<div id="neuroon-search"></div>${renderNeuroonScriptTag({ token: res.locals.neuroonWidgetToken, theme: 'dark' })}`);
 * ```
 */
export function renderNeuroonScriptTag(options: NeuroonScriptTagOptions): string {
  if (options === null || typeof options !== 'object') {
    throw new WidgetAuthConfigError('renderNeuroonScriptTag', ['options: expected an options object with a token']);
  }
  const problems: string[] = [];
  for (const key of Object.keys(options)) {
    if (!KNOWN.includes(key)) {
      const hint = closestName(key, KNOWN);
      problems.push(`${key}: unknown option${hint ? ` (did you mean \`${hint}\`?)` : ''}`);
    }
  }
  const { token, container = '#neuroon-search', theme = 'auto', locale, position, apiUrl, src = NEUROON_WIDGET_SRC, integrity, nonce } = options;
  if (token === undefined) problems.push('token: is required');
  else checkText('token', token, problems);
  checkText('container', container, problems);
  if (!(NEUROON_THEMES as readonly unknown[]).includes(theme)) problems.push('theme: must be one of "auto", "light", "dark"');
  if (locale !== undefined) checkText('locale', locale, problems);
  if (position !== undefined) checkText('position', position, problems);
  if (apiUrl !== undefined) checkUrl('apiUrl', apiUrl, problems);
  if (src !== NEUROON_WIDGET_SRC) checkUrl('src', src, problems);
  if (integrity !== undefined && (typeof integrity !== 'string' || !INTEGRITY.test(integrity))) {
    problems.push('integrity: must be a Subresource Integrity value such as "sha384-<base64>"');
  }
  if (nonce !== undefined) checkText('nonce', nonce, problems);
  if (problems.length > 0) throw new WidgetAuthConfigError('renderNeuroonScriptTag', problems);

  let tag = `<script src="${escapeHtmlAttribute(src)}" data-token="${escapeHtmlAttribute(token)}" data-container="${escapeHtmlAttribute(container)}" data-theme="${theme}"`;
  if (locale !== undefined) tag += ` data-locale="${escapeHtmlAttribute(locale)}"`;
  if (position !== undefined) tag += ` data-position="${escapeHtmlAttribute(position)}"`;
  if (apiUrl !== undefined) tag += ` data-api-url="${escapeHtmlAttribute(apiUrl)}"`;
  if (integrity !== undefined) tag += ` integrity="${escapeHtmlAttribute(integrity)}" crossorigin="anonymous"`;
  if (nonce !== undefined) tag += ` nonce="${escapeHtmlAttribute(nonce)}"`;
  return `${tag}></script>`;
}
