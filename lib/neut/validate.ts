import { WidgetAuthError } from '../core/errors';
import { neutWidgetTableFor, unsupportedWidgetMessage, type NeutWidget, type NeutWidgetTable, type NeutWidgetsOption } from './widgets';

/** Fields every validated request has. */
export interface NeutCommonParams {
  widget_id: string;
  instance_id: string;
  article_id?: string;
  colorway: string;
}

/** Optional single-member filter (all of `member_type`, `last_name`, `state_code`, or none). */
export interface NeutMemberFilter {
  member_type?: 'Representative' | 'Senator';
  last_name?: string;
  /** Two upper-case letters. */
  state_code?: string;
  /** Representatives only. */
  district?: number;
}

/** Validated `bill-preview` request. */
export interface NeutBillPreviewParams extends NeutCommonParams {
  bill_type: string;
  bill_number: number;
  congress: number;
  temp_text_url?: string;
  temp_title?: string;
}

/** Validated `vote-breakdown` request (member filters: Representatives only). */
export interface NeutVoteBreakdownParams extends NeutCommonParams, NeutMemberFilter {
  congress: number;
  page?: number;
  limit?: number;
}

/** Validated `legislation-by-subject` request. */
export interface NeutLegislationBySubjectParams extends NeutCommonParams, NeutMemberFilter {
  congress: number;
  page?: number;
  limit?: number;
  subject: string;
  status_filter: string;
  show_subject_filter: boolean;
  show_status_filter: boolean;
}

/**
 * A validated, normalised widget request: only the fields the widget's rules define,
 * in the order they are validated, with no `undefined` values. This order is the order
 * of the display parameters in the embed URL.
 */
export type NeutWidgetParams = NeutCommonParams & { readonly [field: string]: string | number | boolean | undefined };

type Input = Record<string, unknown>;
type Output = Record<string, string | number | boolean>;

const INSTANCE_ID = /^[A-Za-z0-9._:-]+$/;
const DIGITS = /^[0-9]+$/;
const STATE_CODE = /^[A-Z]{2}$/;
const MEMBER_INCOMPLETE = 'member_type, last_name, and state_code are required when targeting a single member.';

function invalid(message: string, field?: string): never {
  throw new WidgetAuthError('INVALID_WIDGET_REQUEST', message, field === undefined ? {} : { field });
}

// Own properties only: an inherited or polluted prototype property is never a field.
function own(input: Input, key: string): unknown {
  return Object.hasOwn(input, key) ? input[key] : undefined;
}

const LONE_SURROGATES = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/**
 * Trimmed text with each lone surrogate (only a `\ud800`-style JSON escape yields one)
 * replaced by U+FFFD, as the embed URL's UTF-8 encoding writes it: the validated value
 * is then exactly the value the widget receives.
 */
function cleanText(value: string): string {
  return value.trim().replace(LONE_SURROGATES, '\ufffd');
}

function isBlank(value: unknown): boolean {
  return value === undefined || value === null || value === '';
}

function requiredText(input: Input, key: string): string {
  const value = own(input, key);
  if (typeof value === 'string') {
    const text = cleanText(value);
    if (text) return text;
  }
  return invalid(`${key} is required.`, key);
}

function optionalText(input: Input, key: string): string | undefined {
  const value = own(input, key);
  if (isBlank(value)) return undefined;
  if (typeof value === 'string') {
    const text = cleanText(value);
    if (text) return text;
  }
  return invalid(`${key} must be a string.`, key);
}

/** A JSON integer or a string of decimal digits, positive and at most `Number.MAX_SAFE_INTEGER`. */
function positiveInteger(raw: unknown, key: string): number {
  if (typeof raw === 'number') {
    if (Number.isSafeInteger(raw) && raw > 0) return raw;
  } else if (typeof raw === 'string' && raw.length <= 16 && DIGITS.test(raw)) {
    const value = Number(raw);
    if (value > 0 && value <= Number.MAX_SAFE_INTEGER) return value;
  }
  return invalid(`${key} must be a positive integer.`, key);
}

function requiredInteger(input: Input, key: string): number {
  const raw = own(input, key);
  if (isBlank(raw)) invalid(`${key} is required.`, key);
  return positiveInteger(raw, key);
}

function optionalInteger(input: Input, key: string, fallback?: number): number | undefined {
  // only a missing or null value takes the default; an empty string leaves the field unset
  const raw = own(input, key) ?? fallback;
  if (isBlank(raw)) return undefined;
  return positiveInteger(raw, key);
}

function optionalBoolean(input: Input, key: string, fallback: boolean): boolean {
  const raw = own(input, key);
  if (isBlank(raw)) return fallback;
  if (raw === true || raw === 'true') return true;
  if (raw === false || raw === 'false') return false;
  return invalid(`${key} must be true or false.`, key);
}

interface Member {
  member_type: string;
  last_name: string;
  state_code: string;
  district: number | undefined;
}

function memberFilter(input: Input): Member | undefined {
  const memberType = optionalText(input, 'member_type');
  const lastName = optionalText(input, 'last_name');
  const stateCode = optionalText(input, 'state_code');
  const district = optionalInteger(input, 'district');
  if (!memberType && !lastName && !stateCode && !district) return undefined;
  if (!memberType) invalid(MEMBER_INCOMPLETE, 'member_type');
  if (!lastName) invalid(MEMBER_INCOMPLETE, 'last_name');
  if (!stateCode) invalid(MEMBER_INCOMPLETE, 'state_code');
  if (memberType !== 'Representative' && memberType !== 'Senator') {
    invalid('member_type must be "Representative" or "Senator".', 'member_type');
  }
  const upper = stateCode.toUpperCase();
  if (!STATE_CODE.test(upper)) invalid('state_code must be a two-letter state code.', 'state_code');
  if (district && memberType !== 'Representative') {
    invalid('district is only allowed when member_type is "Representative".', 'district');
  }
  return { member_type: memberType, last_name: lastName, state_code: upper, district };
}

function appendMember(out: Output, member: Member | undefined): void {
  if (!member) return;
  out['member_type'] = member.member_type;
  out['last_name'] = member.last_name;
  out['state_code'] = member.state_code;
  if (member.district !== undefined) out['district'] = member.district;
}

function appendPaging(out: Output, input: Input): void {
  out['congress'] = requiredInteger(input, 'congress');
  const page = optionalInteger(input, 'page', 1);
  if (page !== undefined) out['page'] = page;
  const limit = optionalInteger(input, 'limit', 10);
  if (limit !== undefined) out['limit'] = limit;
}

function billPreview(out: Output, input: Input): void {
  const tempTextUrl = optionalText(input, 'temp_text_url');
  if (tempTextUrl) {
    let https = false;
    try {
      https = new URL(tempTextUrl).protocol === 'https:';
    } catch {
      // an unparseable URL answers the same rule as a non-https one
    }
    if (!https) invalid('temp_text_url must be an HTTPS URL.', 'temp_text_url');
  }
  out['bill_type'] = requiredText(input, 'bill_type');
  out['bill_number'] = requiredInteger(input, 'bill_number');
  out['congress'] = requiredInteger(input, 'congress');
  if (tempTextUrl !== undefined) out['temp_text_url'] = tempTextUrl;
  const tempTitle = optionalText(input, 'temp_title');
  if (tempTitle !== undefined) out['temp_title'] = tempTitle;
}

function voteBreakdown(out: Output, input: Input): void {
  const member = memberFilter(input);
  if (member && member.member_type !== 'Representative') {
    invalid('vote-breakdown currently supports House roll call votes only; member_type must be "Representative".', 'member_type');
  }
  appendPaging(out, input);
  appendMember(out, member);
}

function legislationBySubject(out: Output, input: Input, widget: NeutWidget): void {
  const subject = requiredText(input, 'subject');
  if (!widget.subjects.has(subject)) invalid('Unsupported subject.', 'subject');
  const statusFilter = optionalText(input, 'status_filter') || 'All';
  if (!widget.statusFilters.has(statusFilter)) invalid('Unsupported status_filter.', 'status_filter');
  appendPaging(out, input);
  appendMember(out, memberFilter(input));
  out['subject'] = subject;
  out['status_filter'] = statusFilter;
  out['show_subject_filter'] = optionalBoolean(input, 'show_subject_filter', true);
  out['show_status_filter'] = optionalBoolean(input, 'show_status_filter', true);
}

/** The message for a key only the server may set, or `undefined` for any other key. */
function serverSetKey(key: string): string | undefined {
  if (key === 'tenant_id' || key === 'customer_origin' || key === 'token' || key === 'access_token' || key.startsWith('bootstrap_')) {
    const name = key.length > 64 ? `${key.slice(0, 64)}…` : key;
    return `${name} is set by the server and must not be sent by the browser.`;
  }
  return undefined;
}

/** Validate against an already resolved widget table (the router's per-request path). */
export function validateWithTable(body: unknown, table: NeutWidgetTable): NeutWidgetParams {
  if (!body || typeof body !== 'object' || Array.isArray(body)) invalid('Request body must be a JSON object.');
  const input = body as Input;
  for (const key of Object.keys(input)) {
    const message = serverSetKey(key);
    if (message) invalid(message, key);
  }

  const widgetId = requiredText(input, 'widget_id');
  const widget = table.get(widgetId);
  if (!widget) return invalid(unsupportedWidgetMessage(widgetId, table), 'widget_id');
  const instanceId = requiredText(input, 'instance_id');
  if (instanceId.length > 128 || !INSTANCE_ID.test(instanceId)) {
    invalid(
      'instance_id must use only letters, numbers, dot, underscore, colon, or hyphen and be 128 characters or fewer.',
      'instance_id',
    );
  }
  const colorway = optionalText(input, 'colorway') || 'Default';
  if (!widget.colorways.has(colorway)) invalid('Unsupported colorway.', 'colorway');
  const articleId = optionalText(input, 'article_id');

  const out: Output = { widget_id: widgetId, instance_id: instanceId };
  if (articleId !== undefined) out['article_id'] = articleId;
  out['colorway'] = colorway;

  switch (widget.rules) {
    case 'bill-preview':
      billPreview(out, input);
      break;
    case 'vote-breakdown':
      voteBreakdown(out, input);
      break;
    case 'legislation-by-subject':
      legislationBySubject(out, input, widget);
      break;
    case 'common':
      break;
  }
  return out as NeutWidgetParams;
}

/**
 * Validate and normalise a widget request body by the rules of Neut's backend guide:
 * text fields trimmed (and any lone surrogate written as U+FFFD, as the embed URL
 * carries it), `colorway` defaulting to `Default`, `page` to 1, `limit` to 10,
 * `status_filter` to `All`, the `show_…_filter` switches to `true`, `state_code`
 * upper-cased, member filters all or nothing, `vote-breakdown` for Representatives only,
 * `temp_text_url` https only. Keys the server sets (`tenant_id`, `customer_origin`,
 * `bootstrap_…`, `token`, `access_token`) are refused; other unknown keys are dropped.
 *
 * Throws {@link WidgetAuthError} `INVALID_WIDGET_REQUEST` with the guide's message and
 * `field` naming the offending field (an unknown `widget_id` gets `Unsupported widget_id.`
 * followed by the closest valid id, when it looks like a typo, and the valid ids), or {@link WidgetAuthConfigError} when `widgets`
 * is invalid (a given `widgets` object is checked once; later changes to it are not seen).
 *
 * @param body - the parsed JSON body.
 * @param widgets - extra or changed widgets, merged over the built-in three. Defaults to the built-in three.
 *
 * @example
 * ```ts
 * const params = validateNeutWidgetRequest({ widget_id: 'bill-preview', instance_id: 'main', bill_type: 'HR', bill_number: '1', congress: 119 });
 * // { widget_id: 'bill-preview', instance_id: 'main', colorway: 'Default', bill_type: 'HR', bill_number: 1, congress: 119 }
 * ```
 */
export function validateNeutWidgetRequest(body: unknown, widgets?: NeutWidgetsOption): NeutWidgetParams {
  return validateWithTable(body, neutWidgetTableFor('validateNeutWidgetRequest', widgets));
}
