import { FAKE_NEVERMINED_CODES, startFakeNevermined, type FakeNevermined } from '../lib/testing';

const SECRET = 'wk_test_fake_secret_0001';
const OTHER_SECRET = 'wk_test_fake_secret_0002';
const NOW = Date.parse('2030-05-01T12:00:00.000Z');

describe('startFakeNevermined', () => {
  let fake: FakeNevermined;

  beforeAll(async () => {
    fake = await startFakeNevermined({
      orgs: {
        'org-a': { secret: SECRET, allowedOrigins: ['https://app.example.com'] },
        'org-b': { secret: OTHER_SECRET },
      },
      now: () => NOW,
    });
  });
  afterAll(() => fake.close());

  async function post(body: unknown, headers: Record<string, string> = {}, path = '/api/v1/widgets/session') {
    const res = await fetch(`${fake.url}${path}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    return { status: res.status, correlation: res.headers.get('x-correlation-id'), body: (await res.json()) as Record<string, unknown> };
  }

  it('issues a session with a random token, a stable user per email and expiresAt one hour ahead', async () => {
    const first = await post({ orgId: 'org-a', email: 'ada@example.com', rawSecret: SECRET });
    const second = await post({ orgId: 'org-a', email: 'ada@example.com', rawSecret: SECRET });
    const other = await post({ orgId: 'org-a', email: 'bob@example.com', rawSecret: SECRET });
    expect(first.status).toBe(200);
    expect(Object.keys(first.body)).toEqual(['sessionToken', 'userId', 'userWallet', 'apiKeyHash', 'expiresAt']);
    expect(first.body['sessionToken']).toMatch(/^nvm_ws_[A-Za-z0-9_-]{43}$/);
    expect(first.body['userWallet']).toMatch(/^0x[0-9a-f]{40}$/);
    expect(first.body['apiKeyHash']).toMatch(/^[0-9a-f]{64}$/);
    expect(first.body['expiresAt']).toBe('2030-05-01T13:00:00.000Z');
    expect(second.body['sessionToken']).not.toBe(first.body['sessionToken']);
    expect(second.body['userId']).toBe(first.body['userId']);
    expect(second.body['userWallet']).toBe(first.body['userWallet']);
    expect(other.body['userId']).not.toBe(first.body['userId']);
    expect(first.correlation).toMatch(/^[0-9a-f-]{36}$/);
    expect(fake.sessions.at(-3)).toEqual({ orgId: 'org-a', email: 'ada@example.com', session: first.body, correlationId: first.correlation });
  });

  it('answers 400 BCK.WIDGET_SESSION.0013 when the email is missing, blank or the body is not JSON', async () => {
    for (const body of [{ orgId: 'org-a', rawSecret: SECRET }, { orgId: 'org-a', rawSecret: SECRET, email: '  ' }, 'email=ada@example.com']) {
      const res = await post(body);
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ code: FAKE_NEVERMINED_CODES.emailMissing, message: expect.any(String), correlationId: res.correlation });
    }
    const form = await fetch(`${fake.url}/api/v1/widgets/session`, { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: JSON.stringify({ orgId: 'org-a', email: 'a@b.c', rawSecret: SECRET }) });
    expect(form.status).toBe(400);
    expect(((await form.json()) as { code: string }).code).toBe('BCK.WIDGET_SESSION.0013');
  });

  it.each([
    ['a wrong secret', { orgId: 'org-a', email: 'ada@example.com', rawSecret: OTHER_SECRET }],
    ['an unknown org', { orgId: 'org-zzz', email: 'ada@example.com', rawSecret: SECRET }],
    ['a missing secret', { orgId: 'org-a', email: 'ada@example.com' }],
    ['a missing org', { email: 'ada@example.com', rawSecret: SECRET }],
  ])('answers 401 BCK.WIDGET_SESSION.0001 for %s', async (_name, body) => {
    const res = await post(body);
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ code: FAKE_NEVERMINED_CODES.invalidCredentials, message: expect.any(String), correlationId: res.correlation });
    expect(fake.errors.at(-1)).toEqual({ status: 401, code: 'BCK.WIDGET_SESSION.0001', correlationId: res.correlation });
    expect(JSON.stringify(res.body)).not.toContain(SECRET);
  });

  it('answers 403 BCK.WIDGET_SESSION.0012 for an Origin outside the org list, and accepts listed or absent origins', async () => {
    const body = { orgId: 'org-a', email: 'ada@example.com', rawSecret: SECRET };
    const refused = await post(body, { Origin: 'https://evil.example.com' });
    expect(refused.status).toBe(403);
    expect(refused.body).toEqual({ code: FAKE_NEVERMINED_CODES.originNotAllowed, message: expect.any(String), correlationId: refused.correlation });
    expect((await post(body, { Origin: 'https://app.example.com' })).status).toBe(200);
    expect((await post(body)).status).toBe(200);
    const anyOrigin = await post({ orgId: 'org-b', email: 'ada@example.com', rawSecret: OTHER_SECRET }, { Origin: 'https://evil.example.com' });
    expect(anyOrigin.status).toBe(200);
  });

  it('answers other paths and methods with a vendor-shaped error and a correlation id', async () => {
    const missing = await post({}, {}, '/api/v1/other');
    expect(missing.status).toBe(404);
    expect(missing.body['correlationId']).toBe(missing.correlation);
    const get = await fetch(`${fake.url}/api/v1/widgets/session`);
    expect(get.status).toBe(405);
    expect(get.headers.get('x-correlation-id')).toBeTruthy();
    expect(((await get.json()) as { code: string }).code).toBe('BCK.METHOD_NOT_ALLOWED');
  });

  it('still records requests and applies injected faults', async () => {
    fake.requests.length = 0;
    fake.fault({ kind: 'status', status: 503, body: { code: 'BCK.DOWN' } }, { times: 1 });
    const body = { orgId: 'org-b', email: 'ada@example.com', rawSecret: OTHER_SECRET };
    expect((await post(body)).status).toBe(503);
    expect((await post(body)).status).toBe(200);
    expect(fake.requests).toHaveLength(2);
    expect(fake.connections).toBeGreaterThan(0);
  });
});
