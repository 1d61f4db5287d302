import { NEUT_EMBED_SCRIPT_INTEGRITY } from '../lib';
import type { DemoUser } from './users';
import type { DemoMode, DemoVendor } from './vendors';

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escape text for HTML content and double-quoted attributes. */
export function esc(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}

/** First 12 characters and an ellipsis: enough to recognise a token, not to use it. */
export function shorten(value: string): string {
  return value.length > 12 ? `${value.slice(0, 12)}\u2026` : value;
}

function layout(title: string, bodyAttributes: string, content: string, scripts: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/static/demo.css">
${scripts}
</head>
<body ${bodyAttributes}>
${content}
</body>
</html>
`;
}

const LABELS: Record<DemoVendor, { name: string; kind: string }> = {
  nevermined: { name: 'Nevermined', kind: 'UI widgets \u00b7 session minted with the widget key' },
  neuroon: { name: 'Neuroon', kind: 'Search widget \u00b7 shop token in a server-rendered script tag' },
  hissuno: { name: 'Hissuno', kind: 'Support widget \u00b7 HS256 JWT signed locally' },
  neut: { name: 'Neut', kind: 'Civic-data widgets \u00b7 signed one-time iframe URL' },
  wonderful: { name: 'Wonderful', kind: 'Contact-center SDK \u00b7 JWT from the sign API' },
};

function modeTag(mode: DemoMode): string {
  return `<span class="mode mode-${mode}" title="${mode === 'sandbox' ? 'in-process fake on loopback' : 'real vendor, from your environment'}">${mode}</span>`;
}

/** The sign-in page: pick a demo user. */
export function renderLogin(users: readonly DemoUser[], modes: Record<DemoVendor, DemoMode>): string {
  const options = users
    .map(
      (u, i) => `<label class="user-option">
  <input type="radio" name="user" value="${esc(u.id)}"${i === 0 ? ' checked' : ''}>
  <span class="avatar" aria-hidden="true">${esc(initials(u.name))}</span>
  <span class="who"><b>${esc(u.name)}</b><small>${esc(u.email)} \u00b7 ${esc(u.blurb)}</small></span>
</label>`,
    )
    .join('\n');
  const vendorList = (Object.keys(LABELS) as DemoVendor[])
    .map((v) => `<li><span>${esc(LABELS[v].name)}</span>${modeTag(modes[v])}</li>`)
    .join('');
  const content = `<main class="login">
<section class="panel">
  <p class="eyebrow">express-widget-auth demo</p>
  <h1>Sign in as a demo user</h1>
  <p class="lede">Five embeddable widgets, each authenticated by one Express router, and ten vendors\u2019 local-signing presets. Pick a user: the pages then ask every router for that user\u2019s credential and have it checked independently.</p>
  <form method="post" action="/login" class="users">
    <fieldset>
      <legend>Demo users</legend>
      ${options}
    </fieldset>
    <button type="submit" class="primary">Sign in</button>
  </form>
  <ul class="vendors" aria-label="Vendors">${vendorList}</ul>
</section>
</main>`;
  return layout('Sign in \u00b7 express-widget-auth demo', 'class="page-login"', content, '');
}

function initials(name: string): string {
  return name
    .split(/\s+/)
    .map((part) => part[0] ?? '')
    .join('')
    .slice(0, 2)
    .toUpperCase();
}

interface CardSpec {
  vendor: DemoVendor;
  mode: DemoMode;
  method: string;
  path: string;
  /** Extra blocks between the call and the verdict. */
  body: string;
  /** Server-side facts rendered straight into the card (Neuroon). */
  call?: string;
  state?: 'pending' | 'success' | 'error';
}

function card(spec: CardSpec): string {
  const { name, kind } = LABELS[spec.vendor];
  const state = spec.state ?? 'pending';
  return `<section class="card" id="card-${spec.vendor}" data-vendor="${spec.vendor}" data-mode="${spec.mode}" data-state="${state}" aria-labelledby="title-${spec.vendor}">
  <header class="card-head">
    <h2 id="title-${spec.vendor}">${esc(name)}</h2>
    <div class="tags">${modeTag(spec.mode)}<span class="state" data-role="state" role="status">${state === 'pending' ? 'Pending' : state === 'success' ? 'Verified' : 'Error'}</span></div>
    <p class="kind">${esc(kind)}</p>
  </header>
  <div class="step">
    <h3>Backend call</h3>
    <p class="call" data-role="call"><span class="method">${esc(spec.method)}</span><code>${esc(spec.path)}</code>${spec.call ?? '<span class="http" data-role="http">\u2026</span>'}</p>
  </div>
  ${spec.body}
  <div class="step verdict" data-role="verdict"><span class="dot" aria-hidden="true"></span><span data-role="verdict-text">Waiting for the ${spec.mode === 'sandbox' ? 'sandbox' : 'vendor'}\u2026</span></div>
</section>`;
}

const responseBlock = '<div class="step"><h3>Response <small>(tokens shortened)</small></h3><pre data-role="response">\u2026</pre></div>';
const claimsBlock =
  '<div class="step" data-role="claims-step" hidden><h3>Decoded JWT claims</h3><dl class="facts" data-role="claims"></dl><p class="expiry">Expires in <b data-role="expiry">\u2014</b></p></div>';

/** What the page shows of the server-side Neuroon step. */
export interface NeuroonRender {
  /** The rendered `<script>` tag (in the page as is). */
  scriptTag?: string;
  /** The same tag with the token shortened, shown as text. */
  shownTag?: string;
  token?: string;
  /** Error code when no token could be had. */
  error?: string;
}

/** The pages of the signed-in demo, in the order of its navigation. */
const NAV = [
  { href: '/', label: 'Five vendors' },
  { href: '/presets', label: 'Local-signing presets' },
] as const;

/** The header of the signed-in pages: brand, navigation, account. */
function topBar(user: DemoUser, subtitle: string, current: (typeof NAV)[number]['href']): string {
  const links = NAV.map((item) => `<a href="${item.href}"${item.href === current ? ' aria-current="page"' : ''}>${esc(item.label)}</a>`).join('');
  return `<header class="top">
  <div class="brand"><span class="logo" aria-hidden="true">ewa</span><div><h1>express-widget-auth</h1><p>${esc(subtitle)}</p></div></div>
  <nav class="nav" aria-label="Demo pages">${links}</nav>
  <div class="account">
    <span class="avatar" aria-hidden="true">${esc(initials(user.name))}</span>
    <span class="who"><b>${esc(user.name)}</b><small>${esc(user.email)}</small></span>
    <form method="post" action="/logout"><button type="submit" class="ghost">Sign out</button></form>
  </div>
</header>`;
}

/** The signed-in page: one card per vendor. */
export function renderDashboard(options: {
  user: DemoUser;
  modes: Record<DemoVendor, DemoMode>;
  neutWidgetOrigin: string;
  neuroon: NeuroonRender;
}): string {
  const { user, modes, neuroon } = options;
  const neuroonOk = neuroon.token !== undefined;
  const cards = [
    card({
      vendor: 'nevermined',
      mode: modes.nevermined,
      method: 'POST',
      path: '/api/widget-session',
      body: `${responseBlock}<div class="step" data-role="session-step" hidden><h3>Session</h3><dl class="facts" data-role="session"></dl><p class="expiry">Expires in <b data-role="expiry">\u2014</b></p></div>`,
    }),
    card({
      vendor: 'neuroon',
      mode: modes.neuroon,
      method: 'GET',
      path: '/ (this page)',
      state: neuroonOk ? 'pending' : 'error',
      call: neuroonOk
        ? '<span class="http ok">rendered</span><span class="note">neuroonWidgetToken middleware \u2192 res.locals</span>'
        : `<span class="http bad">${esc(neuroon.error ?? 'ERROR')}</span>`,
      body: neuroonOk
        ? `<div class="step"><h3>Token <small>(cached, rotated at 23 h)</small></h3><pre>${esc(JSON.stringify({ token: shorten(neuroon.token!) }, null, 2))}</pre></div>
  <div class="step"><h3>Script tag <small>(renderNeuroonScriptTag, escaped)</small></h3><pre class="tag">${esc(neuroon.shownTag ?? '')}</pre></div>
  <div class="step"><h3>Widget</h3><div id="neuroon-search" class="widget-box"></div>${neuroon.scriptTag ?? ''}</div>`
        : '<div class="step"><p class="problem">The token could not be fetched; the page rendered without the widget.</p></div>',
    }),
    card({ vendor: 'hissuno', mode: modes.hissuno, method: 'POST', path: '/api/hissuno-token', body: `${responseBlock}${claimsBlock}` }),
    card({
      vendor: 'neut',
      mode: modes.neut,
      method: 'POST',
      path: '/api/widget-embed-params',
      body: `${responseBlock}
  <div class="step"><h3>Widget iframe <small>refreshes: <b data-role="refreshes">0</b></small></h3><div class="frame" data-role="frame"></div></div>`,
    }),
    card({
      vendor: 'wonderful',
      mode: modes.wonderful,
      method: 'POST',
      path: '/api/sdk-token',
      body: `${responseBlock}${claimsBlock}
  <div class="step actions"><button type="button" data-role="refresh" disabled>Refresh token</button><span class="note">POST /api/refresh-sdk-token \u00b7 refreshes: <b data-role="refreshes">0</b></span></div>`,
    }),
  ].join('\n');

  const content = `${topBar(user, 'Demo: five widgets, one request pipeline', '/')}
<main class="grid">
${cards}
</main>
<footer class="foot"><p>Tokens are shortened on screen; no secret or API key ever leaves the server. Sandbox vendors run in-process on loopback with credentials generated at start.</p></footer>`;

  const scripts = `<script src="/neut-embed.js" integrity="${NEUT_EMBED_SCRIPT_INTEGRITY}" defer></script>
<script src="/static/demo.js" defer></script>`;
  return layout(`${user.name} \u00b7 express-widget-auth demo`, `class="page-dash" data-neut-origin="${esc(options.neutWidgetOrigin)}"`, content, scripts);
}

/** What the presets page shows of one preset, before the page's script calls it. */
export interface PresetRow {
  id: string;
  name: string;
  kind: string;
  method: string;
  path: string;
  /** Fields the call posts form-encoded, if any. */
  form?: Record<string, string>;
  /** Fields of the answer holding the credential: shown shortened. */
  credentialFields: readonly string[];
}

/**
 * The presets page: one row per preset. The page's script calls each route as the
 * vendor's browser snippet does, shows the credential shortened, and asks
 * `POST /demo/verify/:id` for the verdict.
 */
export function renderPresets(options: { user: DemoUser; presets: readonly PresetRow[] }): string {
  const rows = options.presets
    .map(
      (p) => `<li class="preset" id="preset-${esc(p.id)}" data-preset="${esc(p.id)}" data-method="${esc(p.method)}" data-path="${esc(p.path)}" data-credential-fields="${esc(JSON.stringify(p.credentialFields))}"${p.form ? ` data-form="${esc(JSON.stringify(p.form))}"` : ''} data-state="pending">
  <div class="preset-head"><h2>${esc(p.name)}</h2>${modeTag('sandbox')}<p class="kind">${esc(p.kind)}</p></div>
  <p class="call" data-role="call"><span class="method">${esc(p.method)}</span><code>${esc(p.path)}</code><span class="http" data-role="http">\u2026</span></p>
  <dl class="facts" data-role="fields"><dt>answer</dt><dd>\u2026</dd></dl>
  <div class="verdict" data-role="verdict"><span class="dot" aria-hidden="true"></span><span data-role="verdict-text">Waiting for the call\u2026</span></div>
</li>`,
    )
    .join('\n');
  const content = `${topBar(options.user, 'Demo: local-signing presets, checked by independent code', '/presets')}
<main class="presets-page">
<p class="intro">Each preset signs the credential in this process with a sandbox secret generated when the demo started. This page calls every route as the vendor\u2019s browser snippet does, shows what it got (credentials shortened), and asks the demo for a verdict: jose, node:crypto and Stream\u2019s own SDK check it with the vendor\u2019s rules, not with this package\u2019s code.</p>
<ol class="presets" aria-label="Presets">
${rows}
</ol>
</main>
<footer class="foot"><p>Credentials are shortened on screen; the sandbox secrets never leave the server.</p></footer>`;
  return layout(`Presets \u00b7 ${options.user.name} \u00b7 express-widget-auth demo`, 'class="page-presets"', content, '<script src="/static/presets.js" defer></script>');
}

/** A plain error page. */
export function renderProblem(status: number, message: string): string {
  return layout(`${status} \u00b7 express-widget-auth demo`, 'class="page-login"', `<main class="login"><section class="panel"><h1>${status}</h1><p class="lede">${esc(message)}</p><p><a href="/">Back to the demo</a></p></section></main>`, '');
}
