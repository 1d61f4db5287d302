import express from 'express';
import request from 'supertest';
import { WidgetAuthConfigError, neutConfigFromEnv, neutEmbedParamsRouter, verifyNeutBootstrap } from '../lib';
import { EXPRESS_MAJOR, buildApp, captureLogger, expectNoSecrets, testResolveUser } from './helpers/app';
import { BILL_BODY, BOOTSTRAP_PARAMS, NEUT, UUID, expectedAssertion, param, queryOf, referenceEmbedUrl } from './helpers/neut';

const PATH = '/api/widget-embed-params';

function configError(fn: () => unknown): WidgetAuthConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof WidgetAuthConfigError) return err;
    throw err;
  }
  throw new Error('expected a WidgetAuthConfigError');
}

describe(`Neut router (Express ${EXPRESS_MAJOR})`, () => {
  const logger = captureLogger();
  const minted: string[] = [];
  afterAll(() => {
    const text = logger.text();
    expect(logger.events.length).toBeGreaterThan(10);
    const assertions = minted.map((u) => param(u, 'bootstrap_assertion'));
    const nonces = minted.map((u) => param(u, 'bootstrap_nonce'));
    expectNoSecrets(text, [NEUT.mintSecret, ...assertions, ...nonces]);
    for (const url of minted) {
      expect(text).not.toContain(url);
      expect(text).not.toContain(new URL(url).search.slice(1, 60));
    }
    expect(text).not.toMatch(/bootstrap_|embed_url|instance_id/);
  });

  const app = buildApp(neutEmbedParamsRouter({ ...NEUT, logger }));
  const post = (body: unknown) => request(app).post(PATH).send(body as object);
  const mint = async (body: unknown): Promise<string> => {
    const res = await post(body);
    expect(res.status).toBe(200);
    minted.push(res.body.embed_url);
    return res.body.embed_url as string;
  };

  it("answers the guide's example request with { widget_id, embed_url } and no-store headers", async () => {
    const res = await post(BILL_BODY);
    expect(res.status).toBe(200);
    expect(Object.keys(res.body)).toEqual(['widget_id', 'embed_url']);
    expect(res.body.widget_id).toBe('bill-preview');
    minted.push(res.body.embed_url);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    const url = new URL(res.body.embed_url);
    expect(url.origin).toBe('https://widgets.neut.us');
    expect(url.pathname).toBe('/bill-preview-embed.html');
    expect(url.hash).toBe('');
  });

  it('puts the bootstrap parameters first, in the documented order, then the validated fields', async () => {
    const url = await mint({ ...BILL_BODY, article_id: 'article-123', temp_title: 'Draft' });
    const names = queryOf(url).map(([name]) => name);
    expect(names).toEqual([...BOOTSTRAP_PARAMS, 'instance_id', 'article_id', 'colorway', 'bill_type', 'bill_number', 'congress', 'temp_title']);
    expect(Object.fromEntries(queryOf(url))).toMatchObject({
      tenant_id: NEUT.tenantId,
      widget_id: 'bill-preview',
      customer_origin: NEUT.hostOrigin,
      bootstrap_key_id: NEUT.mintKeyId,
      instance_id: 'bill-preview-article-123-main',
      article_id: 'article-123',
      colorway: 'Default',
      bill_type: 'HR',
      bill_number: '1',
      congress: '119',
      temp_title: 'Draft',
    });
    expect(param(url, 'bootstrap_nonce')).toMatch(UUID);
    expect(param(url, 'bootstrap_timestamp')).toMatch(/^[1-9][0-9]{9}$/);
    expect(Math.abs(Number(param(url, 'bootstrap_timestamp')) - Date.now() / 1000)).toBeLessThan(5);
  });

  it('signs HMAC-SHA256 over tenant_id.widget_id.origin.timestamp.nonce.bootstrap as unpadded base64url', async () => {
    const url = await mint(BILL_BODY);
    const assertion = param(url, 'bootstrap_assertion');
    expect(assertion).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(assertion).toBe(
      expectedAssertion({
        tenant: NEUT.tenantId,
        widget: 'bill-preview',
        origin: NEUT.hostOrigin,
        timestamp: param(url, 'bootstrap_timestamp'),
        nonce: param(url, 'bootstrap_nonce'),
      }),
    );
    expect(verifyNeutBootstrap(url, { mintSecret: NEUT.mintSecret, tenantId: NEUT.tenantId, hostOrigin: NEUT.hostOrigin }).widgetId).toBe('bill-preview');
  });

  it.each([
    [
      'vote-breakdown',
      '/vote-breakdown-embed.html',
      { widget_id: 'vote-breakdown', instance_id: 'v-1', congress: '118', member_type: 'Representative', last_name: "O'Brien", state_code: 'ny', district: 3 },
      { instance_id: 'v-1', colorway: 'Default', congress: 118, page: 1, limit: 10, member_type: 'Representative', last_name: "O'Brien", state_code: 'NY', district: 3 },
    ],
    [
      'legislation-by-subject',
      '/legislation-by-subject-embed.html',
      { widget_id: 'legislation-by-subject', instance_id: 'l:1', subject: 'Human, Civil, & Immigration Rights', status_filter: 'With First Chamber', congress: 119, colorway: 'WashedSage', show_status_filter: false },
      { instance_id: 'l:1', colorway: 'WashedSage', congress: 119, page: 1, limit: 10, subject: 'Human, Civil, & Immigration Rights', status_filter: 'With First Chamber', show_subject_filter: true, show_status_filter: false },
    ],
    [
      'bill-preview',
      '/bill-preview-embed.html',
      { ...BILL_BODY, temp_text_url: 'https://example.com/bills/hr 1.txt?v=(2)&x=~*', temp_title: 'H.R. 1 — "For the People" 100% ✓' },
      { instance_id: BILL_BODY.instance_id, colorway: 'Default', bill_type: 'HR', bill_number: 1, congress: 119, temp_text_url: 'https://example.com/bills/hr 1.txt?v=(2)&x=~*', temp_title: 'H.R. 1 — "For the People" 100% ✓' },
    ],
  ])('builds the %s URL byte for byte as URL/URLSearchParams would', async (widgetId, path, body, fields) => {
    const url = await mint(body);
    const bootstrap = Object.fromEntries(BOOTSTRAP_PARAMS.map((name) => [name, param(url, name)])) as Record<(typeof BOOTSTRAP_PARAMS)[number], string>;
    expect(bootstrap.widget_id).toBe(widgetId);
    expect(url).toBe(referenceEmbedUrl(path, bootstrap, fields));
  });

  it('mints a fresh nonce and assertion on every call, even within one second', async () => {
    const urls = await Promise.all([1, 2, 3, 4, 5].map(() => mint(BILL_BODY)));
    expect(new Set(urls.map((u) => param(u, 'bootstrap_nonce'))).size).toBe(5);
    expect(new Set(urls.map((u) => param(u, 'bootstrap_assertion'))).size).toBe(5);
    const seen = new Set<string>();
    for (const url of urls) verifyNeutBootstrap(url, { mintSecret: NEUT.mintSecret, seenNonces: seen });
    expect(seen.size).toBe(5);
  });

  it('dates the assertion in whole seconds, flooring a fractional clock', async () => {
    const clocked = buildApp(neutEmbedParamsRouter({ ...NEUT, now: () => 1_700_000_123_999.75, randomUUID: () => '00000000-0000-4000-8000-000000000000' }));
    const res = await request(clocked).post(PATH).send(BILL_BODY);
    expect(res.status).toBe(200);
    const url = res.body.embed_url as string;
    expect(param(url, 'bootstrap_timestamp')).toBe('1700000123');
    expect(param(url, 'bootstrap_nonce')).toBe('00000000-0000-4000-8000-000000000000');
    expect(param(url, 'bootstrap_assertion')).toBe(
      expectedAssertion({ tenant: NEUT.tenantId, widget: 'bill-preview', origin: NEUT.hostOrigin, timestamp: '1700000123', nonce: '00000000-0000-4000-8000-000000000000' }),
    );
  });

  it('answers 405 with Allow: POST for GET', async () => {
    const res = await request(app).get(PATH);
    expect(res.status).toBe(405);
    expect(res.headers['allow']).toBe('POST');
    expect(res.body.error.code).toBe('METHOD_NOT_ALLOWED');
  });

  it('answers malformed JSON with 400 INVALID_WIDGET_REQUEST', async () => {
    const res = await request(app).post(PATH).set('Content-Type', 'application/json').send('{"widget_id":');
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: { code: 'INVALID_WIDGET_REQUEST', message: 'Request body is not valid JSON.' } });
  });

  it('answers a JSON scalar body with 400 INVALID_WIDGET_REQUEST', async () => {
    const res = await request(app).post(PATH).set('Content-Type', 'application/json').send('"bill-preview"');
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('INVALID_WIDGET_REQUEST');
  });

  it('answers a wrong content type with 415 in the Neut shape', async () => {
    const res = await request(app).post(PATH).set('Content-Type', 'application/x-www-form-urlencoded').send('widget_id=bill-preview');
    expect(res.status).toBe(415);
    expect(res.body).toEqual({ error: { code: 'UNSUPPORTED_MEDIA_TYPE', message: 'Request body must be application/json.' } });
  });

  it('answers an oversized body with 413 in the Neut shape', async () => {
    const res = await post({ ...BILL_BODY, temp_title: 'x'.repeat(9000) });
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe('PAYLOAD_TOO_LARGE');
    expect(res.body.error.message).toMatch(/larger than 8192 bytes/);
  });

  it('answers an empty POST with "widget_id is required."', async () => {
    const res = await request(app).post(PATH);
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: { code: 'INVALID_WIDGET_REQUEST', message: 'widget_id is required.' } });
  });

  it('works when the host app already parsed the body', async () => {
    const parsed = buildApp(neutEmbedParamsRouter({ ...NEUT }), (a) => a.use(express.json()));
    const res = await request(parsed).post(PATH).send(BILL_BODY);
    expect(res.status).toBe(200);
    expect(res.body.widget_id).toBe('bill-preview');
    minted.push(res.body.embed_url);
  });

  it('leaves prototype and other unknown keys out of the URL', async () => {
    const res = await request(app)
      .post(PATH)
      .set('Content-Type', 'application/json')
      .send('{"widget_id":"bill-preview","instance_id":"m","bill_type":"HR","bill_number":1,"congress":119,"__proto__":{"x":1},"constructor":{"prototype":{"y":2}},"next":"https://evil.example"}');
    expect(res.status).toBe(200);
    minted.push(res.body.embed_url);
    expect(queryOf(res.body.embed_url).map(([n]) => n)).toEqual([...BOOTSTRAP_PARAMS, 'instance_id', 'colorway', 'bill_type', 'bill_number', 'congress']);
  });

  it('serves the route on a custom path', async () => {
    const custom = buildApp(neutEmbedParamsRouter({ ...NEUT, path: '/widgets/neut' }));
    expect((await request(custom).post('/widgets/neut').send(BILL_BODY)).status).toBe(200);
    expect((await request(custom).post(PATH).send(BILL_BODY)).status).toBe(404);
  });
});

describe(`Neut router with resolveUser (Express ${EXPRESS_MAJOR})`, () => {
  const app = buildApp(neutEmbedParamsRouter({ ...NEUT, resolveUser: testResolveUser }));

  it('answers 401 in the Neut shape when nobody is signed in', async () => {
    const res = await request(app).post(PATH).send(BILL_BODY);
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ error: { code: 'UNAUTHORIZED', message: expect.any(String) } });
  });

  it('mints for a signed-in user', async () => {
    const res = await request(app).post(PATH).set('x-test-user', 'ada').send(BILL_BODY);
    expect(res.status).toBe(200);
    expect(res.body.widget_id).toBe('bill-preview');
  });

  it('answers 500 INTERNAL_ERROR when resolveUser throws, leaking nothing', async () => {
    const log = captureLogger();
    const failing = buildApp(
      neutEmbedParamsRouter({
        ...NEUT,
        logger: log,
        resolveUser: () => {
          throw new Error(`session store down ${NEUT.mintSecret}`);
        },
      }),
    );
    const res = await request(failing).post(PATH).send(BILL_BODY);
    expect(res.status).toBe(500);
    expect(res.body).toEqual({ error: { code: 'INTERNAL_ERROR', message: 'Internal error.' } });
    expectNoSecrets(res.text + log.text(), [NEUT.mintSecret]);
  });
});

describe(`Neut widgets option (Express ${EXPRESS_MAJOR})`, () => {
  const app = buildApp(
    neutEmbedParamsRouter({
      ...NEUT,
      widgets: {
        'civic-calendar': { path: '/civic-calendar-embed.html', colorways: ['Default', 'Holiday'] },
        'bill-preview': { path: '/v2/bill-preview.html' },
        'vote-breakdown': false,
        'subject-feed': { path: '/subject-feed.html', rules: 'legislation-by-subject', subjects: ['Science'] },
      },
    }),
  );

  it('serves an added widget on its own path, signed for its own id', async () => {
    const res = await request(app).post(PATH).send({ widget_id: 'civic-calendar', instance_id: 'cal-1', colorway: 'Holiday', congress: 119 });
    expect(res.status).toBe(200);
    const url = new URL(res.body.embed_url);
    expect(url.pathname).toBe('/civic-calendar-embed.html');
    expect(queryOf(res.body.embed_url).map(([n]) => n)).toEqual([...BOOTSTRAP_PARAMS, 'instance_id', 'colorway']);
    expect(verifyNeutBootstrap(res.body.embed_url, { mintSecret: NEUT.mintSecret }).widgetId).toBe('civic-calendar');
  });

  it('moves a built-in widget to a new path and keeps its rules', async () => {
    const res = await request(app).post(PATH).send(BILL_BODY);
    expect(new URL(res.body.embed_url).pathname).toBe('/v2/bill-preview.html');
    const bad = await request(app).post(PATH).send({ ...BILL_BODY, bill_number: undefined });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toBe('bill_number is required.');
  });

  it('refuses a removed widget as unsupported', async () => {
    const res = await request(app).post(PATH).send({ widget_id: 'vote-breakdown', instance_id: 'v', congress: 119 });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: { code: 'INVALID_WIDGET_REQUEST', message: 'Unsupported widget_id. Valid ids: bill-preview, legislation-by-subject, civic-calendar, subject-feed.' } });
  });

  it('applies the legislation rules with the widget’s own subjects', async () => {
    const ok = await request(app).post(PATH).send({ widget_id: 'subject-feed', instance_id: 's', subject: 'Science', congress: 119 });
    expect(ok.status).toBe(200);
    expect(param(ok.body.embed_url, 'status_filter')).toBe('All');
    const bad = await request(app).post(PATH).send({ widget_id: 'subject-feed', instance_id: 's', subject: 'STEM', congress: 119 });
    expect(bad.body.error.message).toBe('Unsupported subject.');
  });

  it('reports every problem of a bad widgets option', () => {
    const error = configError(() =>
      neutEmbedParamsRouter({
        ...NEUT,
        widgets: {
          'new-widget': {},
          'bad.id': { path: '/x.html' },
          'bill-preview': { path: 'relative.html', pth: '/x' } as never,
          'vote-breakdown': { subjects: ['STEM'] },
          'legislation-by-subject': { statusFilters: ['Introduced'], colorways: [] },
          ghost: false,
          odd: 'yes' as never,
        },
      }),
    );
    expect(error.problems).toEqual(
      expect.arrayContaining([
        'widgets.new-widget.path: is required for a new widget',
        expect.stringMatching(/^widgets\.bad\.id: widget ids use only letters/),
        expect.stringMatching(/^widgets\.bill-preview\.path: must be a path starting with "\/"/),
        'widgets.bill-preview.pth: unknown option (did you mean `path`?)',
        'widgets.vote-breakdown.subjects: applies only to widgets with rules "legislation-by-subject"',
        expect.stringMatching(/^widgets\.legislation-by-subject\.statusFilters: must include "All"/),
        'widgets.legislation-by-subject.colorways: must not be empty',
        expect.stringMatching(/^widgets\.ghost: `false` removes a built-in widget/),
        'widgets.odd: must be a widget definition object or false',
      ]),
    );
  });
});

describe('Neut configuration', () => {
  it('reports every problem at once, naming each option, never the secret', () => {
    const secret = 'short-secret';
    const error = configError(() =>
      neutEmbedParamsRouter({
        tenantId: '  ',
        hostOrigin: 'https://www.example.com/embed?x=1',
        mintSecret: secret,
        widgetOrigin: 'http://widgets.neut.us',
        resolveUser: 'req.user' as never,
        widgtes: {},
      } as never),
    );
    expect(error.problems).toEqual(
      expect.arrayContaining([
        'tenantId: must not be empty',
        'hostOrigin: must be scheme://host[:port] with no path, query or fragment',
        'mintSecret: must be at least 16 characters long',
        'mintKeyId: is required',
        'widgetOrigin: must use https: (plain http: is allowed only for localhost, 127.0.0.0/8 and [::1])',
        expect.stringMatching(/^resolveUser: must be a function/),
        'widgtes: unknown option (did you mean `widgets`?)',
      ]),
    );
    expect(error.problems).toHaveLength(7);
    expect(error.message).not.toContain(secret);
  });

  it.each([
    ['a path', 'https://www.example.com/app'],
    ['a query', 'https://www.example.com?x=1'],
    ['a hash', 'https://www.example.com#top'],
    ['credentials', 'https://user:pw@www.example.com'],
    ['another scheme', 'ftp://www.example.com'],
    ['no scheme', 'www.example.com'],
  ])('refuses a hostOrigin with %s', (_name, hostOrigin) => {
    const error = configError(() => neutEmbedParamsRouter({ ...NEUT, hostOrigin }));
    expect(error.problems).toEqual([expect.stringMatching(/^hostOrigin: /)]);
  });

  it('normalises the host origin it signs (trailing slash, case, default port)', async () => {
    const app = buildApp(neutEmbedParamsRouter({ ...NEUT, hostOrigin: 'HTTPS://WWW.Example.com:443/', widgetOrigin: 'http://127.0.0.1:4010/' }));
    const res = await request(app).post(PATH).send(BILL_BODY);
    expect(res.status).toBe(200);
    expect(param(res.body.embed_url, 'customer_origin')).toBe('https://www.example.com');
    expect(res.body.embed_url.startsWith('http://127.0.0.1:4010/bill-preview-embed.html?tenant_id=')).toBe(true);
    expect(verifyNeutBootstrap(res.body.embed_url, { mintSecret: NEUT.mintSecret, hostOrigin: 'https://www.example.com' }).customerOrigin).toBe('https://www.example.com');
  });

  it('refuses a widgetOrigin with a path', () => {
    expect(configError(() => neutEmbedParamsRouter({ ...NEUT, widgetOrigin: 'https://widgets.neut.us/embed' })).problems).toEqual([
      'widgetOrigin: must be scheme://host[:port] with no path, query or fragment',
    ]);
  });

  it('refuses a placeholder secret and cors without allowedOrigins', () => {
    const error = configError(() => neutEmbedParamsRouter({ ...NEUT, mintSecret: 'your-neut-mint-secret', cors: true }));
    expect(error.problems).toEqual(['mintSecret: looks like a placeholder, not a real secret', 'cors: needs allowedOrigins: CORS is only answered for listed origins']);
  });

  it('tells a function given as its options apart: neutEmbedParamsRouter itself (mounted uncalled), or resolveUser alone', () => {
    expect(() => neutEmbedParamsRouter(neutEmbedParamsRouter as never)).toThrow(/did you write `app.use\(neutEmbedParamsRouter\)`/);
    expect(() => neutEmbedParamsRouter((() => undefined) as never)).toThrow(/resolveUser goes inside the options: neutEmbedParamsRouter\(\{ …, resolveUser \}\)/);
  });

  it('does not mutate the caller’s options', () => {
    const options = { ...NEUT, hostOrigin: 'https://WWW.example.com/', widgets: { x: { path: '/x.html' } } };
    const copy = JSON.parse(JSON.stringify(options));
    neutEmbedParamsRouter(options);
    expect(options).toEqual(copy);
  });
});

describe('neutConfigFromEnv', () => {
  const ENV = {
    WIDGET_TENANT_ID: NEUT.tenantId,
    HOST_ORIGIN: 'https://www.example.com/',
    NEUT_MINT_SECRET: NEUT.mintSecret,
    NEUT_MINT_KEY_ID: NEUT.mintKeyId,
    WIDGET_ORIGIN: NEUT.widgetOrigin,
  };

  it('reads the five documented variables', () => {
    expect(neutConfigFromEnv(ENV)).toEqual({ ...NEUT });
  });

  it('lists every missing variable at once', () => {
    const error = configError(() => neutConfigFromEnv({ NEUT_MINT_KEY_ID: 'k', WIDGET_TENANT_ID: ' ' }));
    expect(error.problems).toEqual(['WIDGET_TENANT_ID: is not set', 'HOST_ORIGIN: is not set', 'NEUT_MINT_SECRET: is not set', 'WIDGET_ORIGIN: is not set']);
  });

  it('lists every invalid variable at once without echoing the secret', () => {
    const secret = 'tooshort-secret';
    const error = configError(() => neutConfigFromEnv({ ...ENV, HOST_ORIGIN: 'https://www.example.com/page', NEUT_MINT_SECRET: secret, WIDGET_ORIGIN: 'http://widgets.neut.us' }));
    expect(error.problems).toEqual([
      'HOST_ORIGIN: must be scheme://host[:port] with no path, query or fragment',
      'NEUT_MINT_SECRET: must be at least 16 characters long',
      'WIDGET_ORIGIN: must use https: (plain http: is allowed only for localhost, 127.0.0.0/8 and [::1])',
    ]);
    expect(error.message).not.toContain(secret);
  });

  it('feeds the router directly', async () => {
    const app = buildApp(neutEmbedParamsRouter(neutConfigFromEnv(ENV)));
    const res = await request(app).post(PATH).send(BILL_BODY);
    expect(res.status).toBe(200);
    expect(param(res.body.embed_url, 'tenant_id')).toBe(NEUT.tenantId);
  });
});
