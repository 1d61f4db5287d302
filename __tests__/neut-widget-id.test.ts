/**
 * A `widget_id` the router does not serve: the answer keeps Neut's documented
 * `Unsupported widget_id.` and adds what the page author needs to fix it — the closest
 * valid id when the value looks like a typo of one, and the valid ids (public widget
 * names) — without ever repeating the value sent.
 */
import request from 'supertest';
import { neutEmbedParamsRouter, validateNeutWidgetRequest, WidgetAuthError, type NeutWidgetsOption } from '../lib';
import { EXPRESS_MAJOR, buildApp, expectNoSecrets } from './helpers/app';
import { BILL_BODY, NEUT } from './helpers/neut';

const PATH = '/api/widget-embed-params';
const BUILT_IN = 'Valid ids: bill-preview, vote-breakdown, legislation-by-subject.';

describe(`Neut unknown widget_id (Express ${EXPRESS_MAJOR})`, () => {
  const app = buildApp(neutEmbedParamsRouter({ ...NEUT }));
  const send = (widgetId: unknown, target = app) => request(target).post(PATH).send({ ...BILL_BODY, widget_id: widgetId });

  it.each([
    ['bill-previw', 'bill-preview'],
    ['Bill-Preview', 'bill-preview'],
    ['vote_breakdown', 'vote-breakdown'],
    ['votebreakdown', 'vote-breakdown'],
    ['legislation-by-subjects', 'legislation-by-subject'],
  ])('suggests the id %p was probably meant to be (%p) and lists the valid ids', async (typo, meant) => {
    const res = await send(typo);
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: { code: 'INVALID_WIDGET_REQUEST', message: `Unsupported widget_id. Did you mean "${meant}"? ${BUILT_IN}` } });
  });

  it.each(['stock-ticker', 'constructor', '__proto__', 'x', '<script>alert(1)</script>'])('lists the valid ids for %p, suggesting nothing and never repeating the value', async (value) => {
    const res = await send(value);
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: { code: 'INVALID_WIDGET_REQUEST', message: `Unsupported widget_id. ${BUILT_IN}` } });
    expect(res.text).not.toContain(value);
    expectNoSecrets(res.text, [NEUT.mintSecret]);
  });

  it('answers a huge widget_id at once, without measuring its distance to every id', async () => {
    const value = 'b'.repeat(7000);
    const started = performance.now();
    const res = await send(value);
    expect(res.status).toBe(400);
    expect(res.body.error.message).toBe(`Unsupported widget_id. ${BUILT_IN}`);
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('lists the ids of the configured table: added widgets, without removed ones', async () => {
    const widgets: NeutWidgetsOption = { 'civic-calendar': { path: '/civic-calendar.html' }, 'vote-breakdown': false };
    const custom = buildApp(neutEmbedParamsRouter({ ...NEUT, widgets }));
    const res = await send('civic-calender', custom);
    expect(res.body.error.message).toBe('Unsupported widget_id. Did you mean "civic-calendar"? Valid ids: bill-preview, legislation-by-subject, civic-calendar.');
    const removed = await send('vote-breakdown', custom);
    expect(removed.body.error.message).toBe('Unsupported widget_id. Valid ids: bill-preview, legislation-by-subject, civic-calendar.');
  });

  it('caps the list of a large table, saying how many more there are', async () => {
    const widgets: NeutWidgetsOption = Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`district-map-${String(i).padStart(2, '0')}`, { path: `/maps/${i}.html` }]));
    const many = buildApp(neutEmbedParamsRouter({ ...NEUT, widgets }));
    const res = await send('weather', many);
    const message: string = res.body.error.message;
    expect(message).toMatch(/^Unsupported widget_id\. Valid ids: bill-preview, vote-breakdown, legislation-by-subject, district-map-00, .* and \d+ more\.$/);
    expect(message.length).toBeLessThan(300);
    const shown = message.slice('Unsupported widget_id. Valid ids: '.length).split(' and ')[0]!.split(', ');
    const more = Number(/and (\d+) more\.$/.exec(message)![1]);
    expect(shown.length + more).toBe(63);
  });

  it('says the same in validateNeutWidgetRequest', () => {
    let error: unknown;
    try {
      validateNeutWidgetRequest({ ...BILL_BODY, widget_id: 'bill-previews' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(WidgetAuthError);
    expect(error).toMatchObject({ code: 'INVALID_WIDGET_REQUEST', field: 'widget_id', message: `Unsupported widget_id. Did you mean "bill-preview"? ${BUILT_IN}` });
  });
});
