import { createHash } from 'node:crypto';
import request from 'supertest';
import { neutEmbedParamsRouter, WidgetAuthConfigError, type NeutEmbedParamsRouterOptions } from '../lib';
import { startFakeNeutWidgetHost, type FakeNeutWidgetHost } from '../lib/testing';
import { buildApp } from './helpers/app';
import { BILL_BODY, NEUT, withParam } from './helpers/neut';

let host: FakeNeutWidgetHost;

beforeEach(async () => {
  host = await startFakeNeutWidgetHost({
    tenants: {
      [NEUT.tenantId]: { mintSecret: NEUT.mintSecret, mintKeyId: NEUT.mintKeyId, customerOrigins: [NEUT.hostOrigin, 'https://shop.example.com'] },
    },
    sessionLifeMs: 8000,
  });
});

afterEach(async () => {
  await host.close();
});

/** An embed URL minted by the router, pointing at the fake host. */
async function mint(overrides: Partial<NeutEmbedParamsRouterOptions> = {}, body: Record<string, unknown> = BILL_BODY): Promise<string> {
  const app = buildApp(neutEmbedParamsRouter({ ...NEUT, widgetOrigin: host.url, ...overrides }));
  const res = await request(app).post('/api/widget-embed-params').send(body);
  expect(res.status).toBe(200);
  return res.body.embed_url as string;
}

async function load(url: string): Promise<{ status: number; html: string; csp: string; verdict: string | undefined; reason: string | undefined }> {
  const res = await fetch(url);
  const html = await res.text();
  return {
    status: res.status,
    html,
    csp: res.headers.get('content-security-policy') ?? '',
    verdict: /data-verdict="([^"]*)"/.exec(html)?.[1],
    reason: /data-reason="([^"]*)"/.exec(html)?.[1],
  };
}

describe('startFakeNeutWidgetHost', () => {
  it('serves a verified page for a URL minted by neutEmbedParamsRouter', async () => {
    const url = await mint();
    const page = await load(url);
    expect(page.status).toBe(200);
    expect(page.verdict).toBe('verified');
    expect(host.verified).toHaveLength(1);
    expect(host.verified[0]).toMatchObject({
      tenantId: NEUT.tenantId,
      widgetId: 'bill-preview',
      customerOrigin: NEUT.hostOrigin,
      keyId: NEUT.mintKeyId,
      nonce: new URL(url).searchParams.get('bootstrap_nonce'),
      path: '/bill-preview-embed.html',
      params: { instance_id: BILL_BODY.instance_id, colorway: 'Default', bill_type: 'HR', bill_number: '1', congress: '119' },
    });
    expect(host.refused).toEqual([]);
    expect(page.html).toContain('data-session-life-ms="8000"');
    expect(page.html).toContain(`data-customer-origin="${NEUT.hostOrigin}"`);
  });

  it('answers with its own CSP: the inline script and style by hash, framing only by the tenant\u2019s origins', async () => {
    const page = await load(await mint());
    const script = /<script>([\s\S]*?)<\/script>/.exec(page.html)![1]!;
    const style = /<style>([\s\S]*?)<\/style>/.exec(page.html)![1]!;
    const hash = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;
    expect(page.csp).toContain(`script-src ${hash(script)}`);
    expect(page.csp).toContain(`style-src ${hash(style)}`);
    expect(page.csp).toContain(`frame-ancestors ${NEUT.hostOrigin} https://shop.example.com`);
    expect(page.csp).toContain("default-src 'none'");
    expect(script).toContain("window.parent.postMessage({ type: 'neut-widget-refresh-request' }, target)");
  });

  it('refuses a replayed URL with 401 REPLAYED', async () => {
    const url = await mint();
    expect((await load(url)).verdict).toBe('verified');
    const again = await load(url);
    expect(again.status).toBe(401);
    expect(again.verdict).toBe('refused');
    expect(again.reason).toBe('REPLAYED');
    expect(host.verified).toHaveLength(1);
    expect(host.refused).toEqual([expect.objectContaining({ status: 401, code: 'REPLAYED', tenantId: NEUT.tenantId })]);
  });

  it('refuses a tampered URL with 401 BAD_ASSERTION', async () => {
    const url = await mint();
    const timestamp = Number(new URL(url).searchParams.get('bootstrap_timestamp'));
    const page = await load(withParam(url, 'bootstrap_timestamp', String(timestamp - 1)));
    expect(page.status).toBe(401);
    expect(page.reason).toBe('BAD_ASSERTION');
    expect(host.verified).toEqual([]);
  });

  it('refuses a URL signed with another secret', async () => {
    const page = await load(await mint({ mintSecret: 'mint_626c473e5e48646cf5abb88b' }));
    expect(page.status).toBe(401);
    expect(page.reason).toBe('BAD_ASSERTION');
  });

  it('refuses a stale URL with 401 EXPIRED', async () => {
    const page = await load(await mint({ now: Date.now() - 10 * 60_000 }));
    expect(page.status).toBe(401);
    expect(page.reason).toBe('EXPIRED');
  });

  it('refuses a URL dated too far ahead with 401 NOT_YET_VALID', async () => {
    const page = await load(await mint({ now: Date.now() + 10 * 60_000 }));
    expect(page.status).toBe(401);
    expect(page.reason).toBe('NOT_YET_VALID');
  });

  it('refuses an unknown tenant with 403 UNKNOWN_TENANT and lets nobody frame the page', async () => {
    const page = await load(await mint({ tenantId: 'tenant-unknown' }));
    expect(page.status).toBe(403);
    expect(page.reason).toBe('UNKNOWN_TENANT');
    expect(page.csp).toContain("frame-ancestors 'none'");
    expect(page.csp).toContain("script-src 'none'");
  });

  it('refuses a customer origin the tenant does not have with 403 ORIGIN_MISMATCH', async () => {
    const page = await load(await mint({ hostOrigin: 'https://evil.example.net' }));
    expect(page.status).toBe(403);
    expect(page.reason).toBe('ORIGIN_MISMATCH');
    expect(host.refused[0]).toMatchObject({ status: 403, code: 'ORIGIN_MISMATCH' });
  });

  it('accepts every customer origin of the tenant', async () => {
    const page = await load(await mint({ hostOrigin: 'https://shop.example.com' }));
    expect(page.status).toBe(200);
    expect(host.verified[0]!.customerOrigin).toBe('https://shop.example.com');
  });

  it('refuses another key id with 401 KEY_ID_MISMATCH', async () => {
    const page = await load(await mint({ mintKeyId: 'mint-key-old' }));
    expect(page.status).toBe(401);
    expect(page.reason).toBe('KEY_ID_MISMATCH');
  });

  it('refuses a URL loaded on another widget\u2019s page without spending its nonce', async () => {
    const url = await mint();
    const elsewhere = new URL(url);
    elsewhere.pathname = '/vote-breakdown-embed.html';
    const wrong = await load(elsewhere.href);
    expect(wrong.status).toBe(401);
    expect(wrong.reason).toBe('WIDGET_MISMATCH');
    expect((await load(url)).verdict).toBe('verified');
  });

  it('escapes the widget\u2019s parameters in the page', async () => {
    const title = `<script>alert("x")</script> & 'quoted' <img src=x onerror=alert(1)>`;
    const page = await load(await mint({}, { ...BILL_BODY, temp_title: title }));
    expect(page.status).toBe(200);
    expect(page.html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;quoted&#39; &lt;img src=x onerror=alert(1)&gt;');
    expect(page.html).not.toContain('<img');
    expect(page.html.match(/<script/g)).toHaveLength(1);
    expect(host.verified[0]!.params['temp_title']).toBe(title);
  });

  it('never echoes the values of a refused URL into its page', async () => {
    const page = await load(`${host.url}/bill-preview-embed.html?tenant_id=${encodeURIComponent('<b>"x"</b>')}`);
    expect(page.status).toBe(403);
    expect(page.html).not.toContain('<b>');
    expect(page.html).not.toContain('&lt;b&gt;');
    expect(host.refused[0]).toMatchObject({ code: 'UNKNOWN_TENANT', tenantId: '<b>"x"</b>' });
  });

  it('answers 405 to other methods on an embed page and 404 elsewhere', async () => {
    const post = await fetch(`${host.url}/bill-preview-embed.html`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET');
    expect((await fetch(`${host.url}/unknown.html`)).status).toBe(404);
    expect(host.verified).toEqual([]);
    expect(host.refused).toEqual([]);
  });

  it('records every request and injects faults like every fake', async () => {
    host.fault({ kind: 'status', status: 503 }, { times: 1 });
    const url = await mint();
    expect((await fetch(url)).status).toBe(503);
    expect(host.requests).toHaveLength(1);
    expect(host.requests[0]!.path).toBe('/bill-preview-embed.html');
    expect((await load(url)).verdict).toBe('verified');
  });

  it('refuses bad options when it starts', async () => {
    await expect(startFakeNeutWidgetHost({ tenants: { t: { mintSecret: 'x'.repeat(20), customerOrigins: ['https://a.example/path'] } } })).rejects.toThrow(WidgetAuthConfigError);
    await expect(startFakeNeutWidgetHost({ tenants: { t: { mintSecret: 'x'.repeat(20), customerOrigins: [] } } })).rejects.toThrow(/customerOrigins: must list at least one origin/);
  });
});
