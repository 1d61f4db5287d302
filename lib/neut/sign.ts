import { createHmac, createSecretKey, randomUUID as cryptoRandomUUID, type KeyObject } from 'node:crypto';
import { z } from 'zod';
import { parseOptions, type WeakSecretOption } from '../core/config';
import { WidgetAuthError } from '../core/errors';
import { neutMintShape, type NeutClock } from './options';
import { validateWithTable, type NeutWidgetParams } from './validate';
import { buildNeutWidgetTable, DEFAULT_NEUT_WIDGET_TABLE, type NeutWidgetsOption, type NeutWidgetTable } from './widgets';

/** The purpose string that ends every canonical bootstrap value. */
export const NEUT_BOOTSTRAP_PURPOSE = 'bootstrap';

/** Options of {@link createNeutEmbedParams}. */
export interface CreateNeutEmbedParamsOptions extends WeakSecretOption {
  /** Your Neut tenant id (env `WIDGET_TENANT_ID`). */
  tenantId: string;
  /** Origin of the pages embedding the widgets, `scheme://host[:port]` (env `HOST_ORIGIN`). */
  hostOrigin: string;
  /** The HMAC secret Neut issued for minting (env `NEUT_MINT_SECRET`), at least 16 characters. */
  mintSecret: string;
  /** Id of that secret, sent as `bootstrap_key_id` (env `NEUT_MINT_KEY_ID`). */
  mintKeyId: string;
  /** Origin serving the embed pages, e.g. `https://widgets.neut.us` (env `WIDGET_ORIGIN`). */
  widgetOrigin: string;
  /** Extra or changed widgets, merged over the built-in three. Defaults to the built-in three. */
  widgets?: NeutWidgetsOption;
  /** The time to sign. Defaults to `Date.now`. */
  now?: NeutClock;
  /** Source of the one-time nonce. Defaults to `crypto.randomUUID`. */
  randomUUID?: () => string;
}

/** What the endpoint answers: the widget id and the one-time iframe URL. */
export interface NeutEmbedParams {
  widget_id: string;
  embed_url: string;
}

/** The signed fields of a bootstrap assertion. */
export interface NeutBootstrapFields {
  tenantId: string;
  widgetId: string;
  /** The normalised host origin. */
  origin: string;
  /** Whole Unix seconds in base 10, exactly as placed in the URL. */
  timestamp: string;
  nonce: string;
}

/** The canonical value Neut verifies: `tenant_id.widget_id.origin.timestamp.nonce.bootstrap`. */
export function neutCanonicalString(fields: NeutBootstrapFields): string {
  return `${fields.tenantId}.${fields.widgetId}.${fields.origin}.${fields.timestamp}.${fields.nonce}.${NEUT_BOOTSTRAP_PURPOSE}`;
}

/** HMAC-SHA256 of `canonical` with the mint secret, as unpadded base64url. */
export function neutAssertion(canonical: string, mintSecret: string | KeyObject): string {
  const key = typeof mintSecret === 'string' ? createSecretKey(Buffer.from(mintSecret, 'utf8')) : mintSecret;
  return createHmac('sha256', key).update(canonical).digest('base64url');
}

const FORM_SAFE = /^[A-Za-z0-9*._-]*$/;
const FORM_EXTRA = /[!'()~]/g;

/**
 * Encode a query value exactly as `URLSearchParams` serialises it
 * (application/x-www-form-urlencoded: space as `+`, only `*-._` and alphanumerics bare).
 */
export function formEncode(value: string): string {
  if (FORM_SAFE.test(value)) return value;
  let encoded: string;
  try {
    encoded = encodeURIComponent(value);
  } catch {
    // lone surrogates: URLSearchParams writes them as U+FFFD
    return new URLSearchParams([['', value]]).toString().slice(1);
  }
  return encoded.replace(/%20/g, '+').replace(FORM_EXTRA, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** Resolved signing configuration (the output of the option schema). */
export interface NeutMintConfig {
  tenantId: string;
  hostOrigin: string;
  mintSecret: string;
  mintKeyId: string;
  widgetOrigin: string;
  now?: (() => number) | undefined;
  randomUUID?: (() => string) | undefined;
}

interface PreparedWidget {
  canonicalPrefix: string;
  urlPrefix: string;
}

/** Signs validated params into `{ widget_id, embed_url }`. */
export type NeutMinter = (params: NeutWidgetParams) => NeutEmbedParams;

/**
 * Prepare everything that does not change between requests — the HMAC key, each
 * widget's canonical prefix and URL prefix — and return the per-request signer.
 */
export function compileNeutMinter(config: NeutMintConfig, table: NeutWidgetTable): NeutMinter {
  const key = createSecretKey(Buffer.from(config.mintSecret, 'utf8'));
  const now = config.now ?? Date.now;
  const uuid = config.randomUUID ?? cryptoRandomUUID;
  const keyPart = `&bootstrap_key_id=${formEncode(config.mintKeyId)}&bootstrap_assertion=`;
  const prepared = new Map<string, PreparedWidget>();
  for (const widget of table.values()) {
    const base = new URL(widget.path, config.widgetOrigin).href;
    prepared.set(widget.id, {
      canonicalPrefix: `${config.tenantId}.${widget.id}.${config.hostOrigin}.`,
      urlPrefix:
        `${base}?tenant_id=${formEncode(config.tenantId)}&widget_id=${formEncode(widget.id)}` +
        `&customer_origin=${formEncode(config.hostOrigin)}&bootstrap_timestamp=`,
    });
  }

  return (params) => {
    const widgetId = params.widget_id;
    const widget = prepared.get(widgetId);
    if (!widget) throw new WidgetAuthError('INVALID_WIDGET_REQUEST', 'Unsupported widget_id.', { field: 'widget_id' });
    const seconds = Math.floor(now() / 1000);
    if (!Number.isSafeInteger(seconds) || seconds < 0) throw new WidgetAuthError('INTERNAL_ERROR', 'the clock returned an invalid time');
    const timestamp = String(seconds);
    const nonce = uuid();
    if (typeof nonce !== 'string' || nonce.length === 0) throw new WidgetAuthError('INTERNAL_ERROR', 'randomUUID returned no nonce');
    const assertion = createHmac('sha256', key)
      .update(`${widget.canonicalPrefix}${timestamp}.${nonce}.${NEUT_BOOTSTRAP_PURPOSE}`)
      .digest('base64url');
    let url = `${widget.urlPrefix}${timestamp}&bootstrap_nonce=${formEncode(nonce)}${keyPart}${assertion}`;
    for (const field in params) {
      if (field === 'widget_id' || !Object.hasOwn(params, field)) continue;
      const value = params[field];
      if (value === undefined || value === null) continue;
      url += `&${formEncode(field)}=${formEncode(String(value))}`;
    }
    return { widget_id: widgetId, embed_url: url };
  };
}

const optionsSchema = z.object(neutMintShape).strict();

/**
 * Sign a fresh bootstrap assertion and build the one-time iframe URL for validated
 * params: the widget's page on `widgetOrigin` with `tenant_id`, `widget_id`,
 * `customer_origin`, `bootstrap_timestamp`, `bootstrap_nonce`, `bootstrap_key_id`,
 * `bootstrap_assertion`, then every other field of `params` in order. Each call uses a
 * new nonce; never reuse the URL.
 *
 * `params` are validated again (the rules are idempotent on validated params), so raw
 * input can never reach the URL. Throws {@link WidgetAuthConfigError} for bad options
 * and {@link WidgetAuthError} `INVALID_WIDGET_REQUEST` for bad params. The router does
 * the option work once; use it (or `neutEmbedParamsRouter`) on hot paths.
 *
 * @example
 * ```ts
 * const { embed_url } = createNeutEmbedParams(validateNeutWidgetRequest(req.body), neutConfigFromEnv());
 * ```
 */
export function createNeutEmbedParams(params: NeutWidgetParams, options: CreateNeutEmbedParamsOptions): NeutEmbedParams {
  const config = parseOptions('createNeutEmbedParams', optionsSchema, options);
  const table = config.widgets ? buildNeutWidgetTable(config.widgets) : DEFAULT_NEUT_WIDGET_TABLE;
  return compileNeutMinter(config, table)(validateWithTable(params, table));
}
