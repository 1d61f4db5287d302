import { createHmac } from 'node:crypto';

/** A complete, valid Neut configuration for tests. */
export const NEUT = {
  tenantId: 'tenant-acme',
  hostOrigin: 'https://www.example.com',
  mintSecret: 'neut-mint-secret-0f1e2d3c4b5a6978',
  mintKeyId: 'mint-key-2025-01',
  widgetOrigin: 'https://widgets.neut.us',
} as const;

/** The seven bootstrap parameters, in the order the embed URL must carry them. */
export const BOOTSTRAP_PARAMS = [
  'tenant_id',
  'widget_id',
  'customer_origin',
  'bootstrap_timestamp',
  'bootstrap_nonce',
  'bootstrap_key_id',
  'bootstrap_assertion',
] as const;

/** The request body of the vendor guide's own example. */
export const BILL_BODY = {
  widget_id: 'bill-preview',
  instance_id: 'bill-preview-article-123-main',
  bill_type: 'HR',
  bill_number: 1,
  congress: 119,
  colorway: 'Default',
} as const;

/** The HMAC a widget host expects, computed here from the spec (not with the library). */
export function expectedAssertion(fields: { tenant: string; widget: string; origin: string; timestamp: string; nonce: string }, secret: string = NEUT.mintSecret): string {
  const canonical = [fields.tenant, fields.widget, fields.origin, fields.timestamp, fields.nonce, 'bootstrap'].join('.');
  return createHmac('sha256', secret).update(canonical, 'utf8').digest('base64url');
}

/** Query parameters of a URL as ordered [name, value] pairs. */
export function queryOf(url: string): [string, string][] {
  return [...new URL(url).searchParams];
}

/** One query parameter's value (the first, if repeated). */
export function param(url: string, name: string): string {
  const value = new URL(url).searchParams.get(name);
  if (value === null) throw new Error(`${name} is not in the URL`);
  return value;
}

/** The URL with one parameter's value replaced, keeping the order. */
export function withParam(url: string, name: string, value: string): string {
  const u = new URL(url);
  u.searchParams.set(name, value);
  return u.href;
}

/** The URL with some bootstrap parameters replaced and the assertion signed again over them. */
export function resigned(url: string, changes: Partial<Record<'tenant_id' | 'widget_id' | 'customer_origin' | 'bootstrap_timestamp' | 'bootstrap_nonce', string>>, secret: string = NEUT.mintSecret): string {
  const u = new URL(url);
  for (const [name, value] of Object.entries(changes)) u.searchParams.set(name, value!);
  const get = (n: string) => u.searchParams.get(n)!;
  u.searchParams.set(
    'bootstrap_assertion',
    expectedAssertion({ tenant: get('tenant_id'), widget: get('widget_id'), origin: get('customer_origin'), timestamp: get('bootstrap_timestamp'), nonce: get('bootstrap_nonce') }, secret),
  );
  return u.href;
}

/**
 * The embed URL the guide's example would build for these bootstrap values and display
 * fields, built with WHATWG `URL`/`URLSearchParams` as the example does.
 */
export function referenceEmbedUrl(path: string, bootstrap: Record<(typeof BOOTSTRAP_PARAMS)[number], string>, fields: Record<string, string | number | boolean>): string {
  const u = new URL(path, NEUT.widgetOrigin);
  for (const name of BOOTSTRAP_PARAMS) u.searchParams.set(name, bootstrap[name]);
  for (const [name, value] of Object.entries(fields)) u.searchParams.set(name, String(value));
  return u.toString();
}

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
