import request from 'supertest';
import { WidgetAuthError, neutEmbedParamsRouter, validateNeutWidgetRequest } from '../lib';
import { EXPRESS_MAJOR, buildApp } from './helpers/app';
import { NEUT, param } from './helpers/neut';

const BILL = { widget_id: 'bill-preview', instance_id: 'bill-preview-article-123-main', bill_type: 'HR', bill_number: 1, congress: 119 };
const VOTE = { widget_id: 'vote-breakdown', instance_id: 'votes-main', congress: 119 };
const LEG = { widget_id: 'legislation-by-subject', instance_id: 'leg-main', subject: 'STEM', congress: 119 };
const REP = { member_type: 'Representative', last_name: 'Smith', state_code: 'ca' };
const SEN = { member_type: 'Senator', last_name: 'Jones', state_code: 'NY' };

const INSTANCE_MESSAGE = 'instance_id must use only letters, numbers, dot, underscore, colon, or hyphen and be 128 characters or fewer.';
const MEMBER_MESSAGE = 'member_type, last_name, and state_code are required when targeting a single member.';
const HOUSE_ONLY = 'vote-breakdown currently supports House roll call votes only; member_type must be "Representative".';
const DISTRICT_MESSAGE = 'district is only allowed when member_type is "Representative".';
const VALID_IDS = 'Valid ids: bill-preview, vote-breakdown, legislation-by-subject.';

type Row = [name: string, body: unknown, message: string, field: string | undefined];

const NOT_INTEGERS: unknown[] = [0, -1, 1.5, '0', '-5', '+5', ' 5', '5 ', '1.0', '1e3', '0x10', '0b1', 'ten', '', 9007199254740992, '9007199254740992', '99999999999999999999', true, false, [5], {}];

const ROWS: Row[] = [
  ['a JSON array body', [], 'Request body must be a JSON object.', undefined],
  ['an empty object', {}, 'widget_id is required.', 'widget_id'],
  ['a blank widget_id', { ...BILL, widget_id: '   ' }, 'widget_id is required.', 'widget_id'],
  ['a numeric widget_id', { ...BILL, widget_id: 5 }, 'widget_id is required.', 'widget_id'],
  ['an unknown widget_id', { ...BILL, widget_id: 'stock-ticker' }, `Unsupported widget_id. ${VALID_IDS}`, 'widget_id'],
  ['widget_id "constructor"', { ...BILL, widget_id: 'constructor' }, `Unsupported widget_id. ${VALID_IDS}`, 'widget_id'],
  ['widget_id "__proto__"', { ...BILL, widget_id: '__proto__' }, `Unsupported widget_id. ${VALID_IDS}`, 'widget_id'],
  ['widget_id "toString"', { ...BILL, widget_id: 'toString' }, `Unsupported widget_id. ${VALID_IDS}`, 'widget_id'],
  ['a differently cased widget_id', { ...BILL, widget_id: 'Bill-Preview' }, `Unsupported widget_id. Did you mean "bill-preview"? ${VALID_IDS}`, 'widget_id'],
  ['a missing instance_id', { ...BILL, instance_id: undefined }, 'instance_id is required.', 'instance_id'],
  ['a null instance_id', { ...BILL, instance_id: null }, 'instance_id is required.', 'instance_id'],
  ['an instance_id with a space', { ...BILL, instance_id: 'main slot' }, INSTANCE_MESSAGE, 'instance_id'],
  ['an instance_id with a slash', { ...BILL, instance_id: 'a/b' }, INSTANCE_MESSAGE, 'instance_id'],
  ['a non-ASCII instance_id', { ...BILL, instance_id: 'ünïcode' }, INSTANCE_MESSAGE, 'instance_id'],
  ['an instance_id of 129 characters', { ...BILL, instance_id: 'x'.repeat(129) }, INSTANCE_MESSAGE, 'instance_id'],
  ['an unknown colorway', { ...BILL, colorway: 'Neon' }, 'Unsupported colorway.', 'colorway'],
  ['a differently cased colorway', { ...BILL, colorway: 'dark' }, 'Unsupported colorway.', 'colorway'],
  ['a blank colorway', { ...BILL, colorway: '   ' }, 'colorway must be a string.', 'colorway'],
  ['a numeric colorway', { ...BILL, colorway: 3 }, 'colorway must be a string.', 'colorway'],
  ['a numeric article_id', { ...BILL, article_id: 42 }, 'article_id must be a string.', 'article_id'],
  ['a boolean article_id', { ...BILL, article_id: false }, 'article_id must be a string.', 'article_id'],
  ['colorway checked before article_id', { ...BILL, colorway: 'Neon', article_id: 42 }, 'Unsupported colorway.', 'colorway'],
  // bill-preview
  ['a missing bill_type', { ...BILL, bill_type: undefined }, 'bill_type is required.', 'bill_type'],
  ['a blank bill_type', { ...BILL, bill_type: ' ' }, 'bill_type is required.', 'bill_type'],
  ['a missing bill_number', { ...BILL, bill_number: undefined }, 'bill_number is required.', 'bill_number'],
  ['a null bill_number', { ...BILL, bill_number: null }, 'bill_number is required.', 'bill_number'],
  ['an empty bill_number', { ...BILL, bill_number: '' }, 'bill_number is required.', 'bill_number'],
  ['a missing bill-preview congress', { ...BILL, congress: undefined }, 'congress is required.', 'congress'],
  ['an http temp_text_url', { ...BILL, temp_text_url: 'http://example.com/bill.txt' }, 'temp_text_url must be an HTTPS URL.', 'temp_text_url'],
  ['a javascript: temp_text_url', { ...BILL, temp_text_url: 'javascript:alert(1)' }, 'temp_text_url must be an HTTPS URL.', 'temp_text_url'],
  ['a temp_text_url that does not parse', { ...BILL, temp_text_url: 'not a url' }, 'temp_text_url must be an HTTPS URL.', 'temp_text_url'],
  ['a relative temp_text_url', { ...BILL, temp_text_url: '/bill.txt' }, 'temp_text_url must be an HTTPS URL.', 'temp_text_url'],
  ['a numeric temp_text_url', { ...BILL, temp_text_url: 7 }, 'temp_text_url must be a string.', 'temp_text_url'],
  ['temp_text_url checked before bill_type', { ...BILL, bill_type: undefined, temp_text_url: 'ftp://x' }, 'temp_text_url must be an HTTPS URL.', 'temp_text_url'],
  ['a blank temp_title', { ...BILL, temp_title: '  ' }, 'temp_title must be a string.', 'temp_title'],
  // vote-breakdown
  ['a missing vote-breakdown congress', { ...VOTE, congress: undefined }, 'congress is required.', 'congress'],
  ['a zero page', { ...VOTE, page: 0 }, 'page must be a positive integer.', 'page'],
  ['a fractional limit', { ...VOTE, limit: 2.5 }, 'limit must be a positive integer.', 'limit'],
  ['only last_name of the member filter', { ...VOTE, last_name: 'Smith' }, MEMBER_MESSAGE, 'member_type'],
  ['only district of the member filter', { ...VOTE, district: 5 }, MEMBER_MESSAGE, 'member_type'],
  ['a member filter without state_code', { ...VOTE, member_type: 'Representative', last_name: 'Smith' }, MEMBER_MESSAGE, 'state_code'],
  ['a member filter without last_name', { ...VOTE, member_type: 'Representative', state_code: 'CA' }, MEMBER_MESSAGE, 'last_name'],
  ['an unknown member_type', { ...VOTE, ...REP, member_type: 'Governor' }, 'member_type must be "Representative" or "Senator".', 'member_type'],
  ['a lower-case member_type', { ...VOTE, ...REP, member_type: 'representative' }, 'member_type must be "Representative" or "Senator".', 'member_type'],
  ['a Senator on vote-breakdown', { ...VOTE, ...SEN }, HOUSE_ONLY, 'member_type'],
  ['a Senator with a district on vote-breakdown', { ...VOTE, ...SEN, district: 3 }, DISTRICT_MESSAGE, 'district'],
  ['a long state_code', { ...VOTE, ...REP, state_code: 'California' }, 'state_code must be a two-letter state code.', 'state_code'],
  ['a state_code with a digit', { ...VOTE, ...REP, state_code: 'C1' }, 'state_code must be a two-letter state code.', 'state_code'],
  ['a numeric state_code', { ...VOTE, ...REP, state_code: 12 }, 'state_code must be a string.', 'state_code'],
  ['a zero district', { ...VOTE, ...REP, district: 0 }, 'district must be a positive integer.', 'district'],
  ['member filters checked before congress', { ...VOTE, congress: undefined, last_name: 'Smith' }, MEMBER_MESSAGE, 'member_type'],
  // legislation-by-subject
  ['a missing subject', { ...LEG, subject: undefined }, 'subject is required.', 'subject'],
  ['an unknown subject', { ...LEG, subject: 'Sports' }, 'Unsupported subject.', 'subject'],
  ['a differently cased subject', { ...LEG, subject: 'stem' }, 'Unsupported subject.', 'subject'],
  ['an unknown status_filter', { ...LEG, status_filter: 'Pending' }, 'Unsupported status_filter.', 'status_filter'],
  ['a numeric status_filter', { ...LEG, status_filter: 1 }, 'status_filter must be a string.', 'status_filter'],
  ['subject checked before congress', { ...LEG, congress: undefined, subject: 'Sports' }, 'Unsupported subject.', 'subject'],
  ['a missing legislation congress', { ...LEG, congress: undefined }, 'congress is required.', 'congress'],
  ['a show_subject_filter of "yes"', { ...LEG, show_subject_filter: 'yes' }, 'show_subject_filter must be true or false.', 'show_subject_filter'],
  ['a show_status_filter of 1', { ...LEG, show_status_filter: 1 }, 'show_status_filter must be true or false.', 'show_status_filter'],
  ['a show_status_filter of "TRUE"', { ...LEG, show_status_filter: 'TRUE' }, 'show_status_filter must be true or false.', 'show_status_filter'],
  ['a partial member filter on legislation', { ...LEG, state_code: 'TX' }, MEMBER_MESSAGE, 'member_type'],
  ['a Senator with a district on legislation', { ...LEG, ...SEN, district: 4 }, DISTRICT_MESSAGE, 'district'],
  ['paging checked before member filters on legislation', { ...LEG, page: 'x', state_code: 'TX' }, 'page must be a positive integer.', 'page'],
  // integers: JSON integers and decimal-digit strings only
  ...NOT_INTEGERS.filter((v) => v !== '').map((v): Row => [`bill_number ${JSON.stringify(v)}`, { ...BILL, bill_number: v }, 'bill_number must be a positive integer.', 'bill_number']),
  ...NOT_INTEGERS.filter((v) => v !== '').map((v): Row => [`congress ${JSON.stringify(v)}`, { ...VOTE, congress: v }, 'congress must be a positive integer.', 'congress']),
  ...NOT_INTEGERS.filter((v) => v !== '').map((v): Row => [`limit ${JSON.stringify(v)}`, { ...LEG, limit: v }, 'limit must be a positive integer.', 'limit']),
  ...NOT_INTEGERS.filter((v) => v !== '').map((v): Row => [`district ${JSON.stringify(v)}`, { ...VOTE, ...REP, district: v }, 'district must be a positive integer.', 'district']),
];

const SERVER_SET = ['tenant_id', 'customer_origin', 'bootstrap_timestamp', 'bootstrap_nonce', 'bootstrap_key_id', 'bootstrap_assertion', 'bootstrap_anything', 'token', 'access_token'];

describe(`Neut request validation over HTTP (Express ${EXPRESS_MAJOR})`, () => {
  const app = buildApp(neutEmbedParamsRouter({ ...NEUT }));

  it.each(ROWS)('answers 400 for %s', async (_name, body, message) => {
    const res = await request(app).post('/api/widget-embed-params').set('Content-Type', 'application/json').send(JSON.stringify(body));
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: { code: 'INVALID_WIDGET_REQUEST', message } });
  });

  it.each(SERVER_SET)('refuses the server-set key %s, naming it', async (key) => {
    const res = await request(app).post('/api/widget-embed-params').send({ ...BILL, [key]: 'from-the-browser' });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: { code: 'INVALID_WIDGET_REQUEST', message: `${key} is set by the server and must not be sent by the browser.` } });
  });

  it('refuses a server-set key even when its value is null', async () => {
    const res = await request(app).post('/api/widget-embed-params').send({ ...BILL, tenant_id: null });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toBe('tenant_id is set by the server and must not be sent by the browser.');
  });
});

describe('validateNeutWidgetRequest', () => {
  it.each(ROWS)('throws INVALID_WIDGET_REQUEST naming the field for %s', (_name, body, message, field) => {
    let error: unknown;
    try {
      validateNeutWidgetRequest(body);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(WidgetAuthError);
    expect(error).toMatchObject({ code: 'INVALID_WIDGET_REQUEST', status: 400, message });
    expect((error as WidgetAuthError).field).toBe(field);
  });

  it.each([null, undefined, 'text', 5, true])('refuses the non-object body %p', (body) => {
    expect(() => validateNeutWidgetRequest(body)).toThrow('Request body must be a JSON object.');
  });

  it('fills the bill-preview defaults and keeps the validated order', () => {
    const params = validateNeutWidgetRequest({ ...BILL, colorway: undefined });
    expect(params).toEqual({ widget_id: 'bill-preview', instance_id: 'bill-preview-article-123-main', colorway: 'Default', bill_type: 'HR', bill_number: 1, congress: 119 });
    expect(Object.keys(params)).toEqual(['widget_id', 'instance_id', 'colorway', 'bill_type', 'bill_number', 'congress']);
  });

  it('trims text fields and keeps optional bill-preview fields in order', () => {
    const params = validateNeutWidgetRequest({
      ...BILL,
      widget_id: ' bill-preview ',
      instance_id: '  a.b_c:d-1  ',
      article_id: ' article-9 ',
      colorway: ' Dark ',
      bill_type: ' S ',
      temp_title: '  Draft title  ',
      temp_text_url: ' https://example.com/text.txt ',
    });
    expect(params).toEqual({
      widget_id: 'bill-preview',
      instance_id: 'a.b_c:d-1',
      article_id: 'article-9',
      colorway: 'Dark',
      bill_type: 'S',
      bill_number: 1,
      congress: 119,
      temp_text_url: 'https://example.com/text.txt',
      temp_title: 'Draft title',
    });
    expect(Object.keys(params)).toEqual(['widget_id', 'instance_id', 'article_id', 'colorway', 'bill_type', 'bill_number', 'congress', 'temp_text_url', 'temp_title']);
  });

  it('accepts an instance_id of exactly 128 characters', () => {
    expect(validateNeutWidgetRequest({ ...BILL, instance_id: 'x'.repeat(128) }).instance_id).toHaveLength(128);
  });

  it.each([
    ['""', ''],
    ['null', null],
  ])('treats an optional text field of %s as absent', (_name, value) => {
    const params = validateNeutWidgetRequest({ ...BILL, article_id: value, colorway: value, temp_title: value, temp_text_url: value });
    expect(params).toEqual({ widget_id: 'bill-preview', instance_id: BILL.instance_id, colorway: 'Default', bill_type: 'HR', bill_number: 1, congress: 119 });
  });

  it.each([
    ['a JSON integer', 12, 12],
    ['a digit string', '12', 12],
    ['a digit string with leading zeros', '007', 7],
    ['the largest safe integer', Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
    ['the largest safe integer as digits', String(Number.MAX_SAFE_INTEGER), Number.MAX_SAFE_INTEGER],
  ])('accepts %s as an integer', (_name, value, expected) => {
    expect(validateNeutWidgetRequest({ ...BILL, bill_number: value }).bill_number).toBe(expected);
  });

  it('fills the vote-breakdown defaults page 1 and limit 10', () => {
    const params = validateNeutWidgetRequest(VOTE);
    expect(params).toEqual({ widget_id: 'vote-breakdown', instance_id: 'votes-main', colorway: 'Default', congress: 119, page: 1, limit: 10 });
    expect(Object.keys(params)).toEqual(['widget_id', 'instance_id', 'colorway', 'congress', 'page', 'limit']);
  });

  it('uses the default for a null page but leaves an empty-string page unset, as the guide does', () => {
    expect(validateNeutWidgetRequest({ ...VOTE, page: null, limit: null })).toMatchObject({ page: 1, limit: 10 });
    const params = validateNeutWidgetRequest({ ...VOTE, page: '', limit: '' });
    expect(params).not.toHaveProperty('page');
    expect(params).not.toHaveProperty('limit');
  });

  it('takes page and limit as digit strings', () => {
    expect(validateNeutWidgetRequest({ ...VOTE, page: '3', limit: '25' })).toMatchObject({ page: 3, limit: 25 });
  });

  it('normalises a Representative filter on vote-breakdown, upper-casing state_code', () => {
    const params = validateNeutWidgetRequest({ ...VOTE, member_type: ' Representative ', last_name: ' Smith ', state_code: ' ca ', district: '12' });
    expect(params).toEqual({
      widget_id: 'vote-breakdown',
      instance_id: 'votes-main',
      colorway: 'Default',
      congress: 119,
      page: 1,
      limit: 10,
      member_type: 'Representative',
      last_name: 'Smith',
      state_code: 'CA',
      district: 12,
    });
    expect(Object.keys(params)).toEqual(['widget_id', 'instance_id', 'colorway', 'congress', 'page', 'limit', 'member_type', 'last_name', 'state_code', 'district']);
  });

  it('treats empty member fields as no member filter', () => {
    const params = validateNeutWidgetRequest({ ...VOTE, member_type: '', last_name: null, state_code: '', district: '' });
    expect(Object.keys(params)).toEqual(['widget_id', 'instance_id', 'colorway', 'congress', 'page', 'limit']);
  });

  it('fills the legislation-by-subject defaults and keeps the validated order', () => {
    const params = validateNeutWidgetRequest(LEG);
    expect(params).toEqual({
      widget_id: 'legislation-by-subject',
      instance_id: 'leg-main',
      colorway: 'Default',
      congress: 119,
      page: 1,
      limit: 10,
      subject: 'STEM',
      status_filter: 'All',
      show_subject_filter: true,
      show_status_filter: true,
    });
    expect(Object.keys(params)).toEqual(['widget_id', 'instance_id', 'colorway', 'congress', 'page', 'limit', 'subject', 'status_filter', 'show_subject_filter', 'show_status_filter']);
  });

  it('accepts a Senator filter on legislation-by-subject, after paging and before subject', () => {
    const params = validateNeutWidgetRequest({ ...LEG, ...SEN, subject: ' Human, Civil, & Immigration Rights ', status_filter: 'Became Law' });
    expect(Object.keys(params)).toEqual([
      'widget_id', 'instance_id', 'colorway', 'congress', 'page', 'limit',
      'member_type', 'last_name', 'state_code', 'subject', 'status_filter', 'show_subject_filter', 'show_status_filter',
    ]);
    expect(params).toMatchObject({ member_type: 'Senator', last_name: 'Jones', state_code: 'NY', subject: 'Human, Civil, & Immigration Rights', status_filter: 'Became Law' });
  });

  it.each([
    [true, true],
    ['true', true],
    [false, false],
    ['false', false],
    ['', true],
    [null, true],
  ])('reads the show_…_filter value %p as %p', (value, expected) => {
    const params = validateNeutWidgetRequest({ ...LEG, show_subject_filter: value, show_status_filter: value });
    expect(params.show_subject_filter).toBe(expected);
    expect(params.show_status_filter).toBe(expected);
  });

  it('treats an empty status_filter as All', () => {
    expect(validateNeutWidgetRequest({ ...LEG, status_filter: '' }).status_filter).toBe('All');
  });

  it('accepts every documented subject, status filter and colorway', () => {
    const subjects = ['Animals & Agriculture', 'Business & Trade', 'Crime', 'Culture and Society', 'Education', 'Energy & Conservation', 'Finance & Taxes', 'Geopolitics', 'Government Operations', 'Health & Social Welfare', 'Human, Civil, & Immigration Rights', 'Infrastructure & Housing', 'Labor & Employment', 'National Security & International Affairs', 'STEM'];
    const statuses = ['All', 'Introduced', 'With First Chamber', 'With Second Chamber', 'Presented to President', 'Became Law', 'Vetoed by President', 'Passed Resolutions'];
    const colorways = ['Default', 'Dark', 'Paper', 'WashedSage', 'Slate', 'MonoLight'];
    for (const subject of subjects) expect(validateNeutWidgetRequest({ ...LEG, subject }).subject).toBe(subject);
    for (const status_filter of statuses) expect(validateNeutWidgetRequest({ ...LEG, status_filter }).status_filter).toBe(status_filter);
    for (const colorway of colorways) expect(validateNeutWidgetRequest({ ...BILL, colorway }).colorway).toBe(colorway);
  });

  it('drops unknown keys, prototype keys included', () => {
    const body = JSON.parse(`{"widget_id":"bill-preview","instance_id":"m","bill_type":"HR","bill_number":1,"congress":119,
      "__proto__":{"temp_title":"injected","page":5},"constructor":"x","prototype":"y","callback":"evil","subject":"STEM"}`);
    const params = validateNeutWidgetRequest(body);
    expect(Object.keys(params)).toEqual(['widget_id', 'instance_id', 'colorway', 'bill_type', 'bill_number', 'congress']);
  });

  it('never reads a field from the prototype chain', () => {
    const proto = Object.prototype as Record<string, unknown>;
    Object.defineProperty(proto, 'congress', { value: 7, configurable: true, writable: true, enumerable: false });
    Object.defineProperty(proto, 'temp_title', { value: 'polluted', configurable: true, writable: true, enumerable: false });
    try {
      expect(() => validateNeutWidgetRequest({ ...VOTE, congress: undefined })).toThrow('congress is required.');
      expect(Object.keys(validateNeutWidgetRequest(BILL))).not.toContain('temp_title');
      const inherited = Object.create({ widget_id: 'bill-preview' }) as Record<string, unknown>;
      expect(() => validateNeutWidgetRequest(inherited)).toThrow('widget_id is required.');
    } finally {
      delete proto['congress'];
      delete proto['temp_title'];
    }
  });

  it('reads objects without a prototype (e.g. parsed query strings)', () => {
    const body = Object.assign(Object.create(null) as Record<string, unknown>, { ...BILL, bill_number: '3' });
    expect(validateNeutWidgetRequest(body)).toMatchObject({ widget_id: 'bill-preview', bill_number: 3 });
  });

  it('validates an extra widget with the common rules only', () => {
    const widgets = { 'civic-calendar': { path: '/civic-calendar-embed.html' } };
    expect(validateNeutWidgetRequest({ widget_id: 'civic-calendar', instance_id: 'cal', congress: 'ignored', colorway: 'Slate' }, widgets)).toEqual({
      widget_id: 'civic-calendar',
      instance_id: 'cal',
      colorway: 'Slate',
    });
  });

  it('applies per-widget lists from the widgets option', () => {
    const widgets = {
      'legislation-by-subject': { subjects: ['STEM', ' Science '], statusFilters: ['All', 'Tabled'], colorways: ['Default', 'Neon'] },
    };
    expect(validateNeutWidgetRequest({ ...LEG, subject: 'Science', status_filter: 'Tabled', colorway: 'Neon' }, widgets)).toMatchObject({ subject: 'Science', status_filter: 'Tabled', colorway: 'Neon' });
    expect(() => validateNeutWidgetRequest({ ...LEG, subject: 'Crime' }, widgets)).toThrow('Unsupported subject.');
    expect(() => validateNeutWidgetRequest({ ...BILL, colorway: 'Neon' }, widgets)).toThrow('Unsupported colorway.');
  });

  it('refuses a widget removed with false', () => {
    expect(() => validateNeutWidgetRequest(VOTE, { 'vote-breakdown': false })).toThrow('Unsupported widget_id.');
    expect(validateNeutWidgetRequest(BILL, { 'vote-breakdown': false }).widget_id).toBe('bill-preview');
  });
});

describe(`Neut display fields in the embed URL (Express ${EXPRESS_MAJOR})`, () => {
  const app = buildApp(neutEmbedParamsRouter({ ...NEUT }));

  it('forwards booleans and integers as text and leaves unknown keys out', async () => {
    const res = await request(app)
      .post('/api/widget-embed-params')
      .send({ ...LEG, show_subject_filter: 'false', page: '2', callback: 'evil', redirect_uri: 'https://evil.example' });
    expect(res.status).toBe(200);
    expect(param(res.body.embed_url, 'show_subject_filter')).toBe('false');
    expect(param(res.body.embed_url, 'show_status_filter')).toBe('true');
    expect(param(res.body.embed_url, 'page')).toBe('2');
    expect(res.body.embed_url).not.toMatch(/callback|redirect_uri|evil/);
  });
});
