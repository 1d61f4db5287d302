import { randomUUID } from 'node:crypto';
import { FAKE_HUBSPOT_CATEGORIES, startFakeHubSpot, type FakeHubSpot } from '../lib/testing';
import { loadJose } from './helpers/jose';

const ACCESS_TOKEN = `pat-na1-${randomUUID()}`;
const NOW = Date.parse('2030-05-01T12:00:00.000Z');
const PATH = '/visitor-identification/v3/tokens/create';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('startFakeHubSpot', () => {
  let fake: FakeHubSpot;
  let clock = NOW;

  beforeAll(async () => {
    fake = await startFakeHubSpot({ accessToken: ACCESS_TOKEN, now: () => clock });
  });
  afterEach(() => {
    fake.clearFaults();
    fake.setVisitorIdentification(true);
    clock = NOW;
  });
  afterAll(() => fake.close());

  async function post(body: unknown, headers: Record<string, string> = { authorization: `Bearer ${ACCESS_TOKEN}` }, path = PATH) {
    const res = await fetch(`${fake.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    return { status: res.status, correlation: res.headers.get('x-hubspot-correlation-id'), body: (await res.json()) as Record<string, unknown> };
  }

  it('answers { token } for the visitor, a token that lasts 12 hours and names the email and names given', async () => {
    const res = await post({ email: 'ada@example.com', firstName: 'Ada', lastName: 'Lovelace' });
    expect(res.status).toBe(200);
    expect(Object.keys(res.body)).toEqual(['token']);
    const token = res.body['token'] as string;
    expect(fake.verify(token)).toEqual({ email: 'ada@example.com', firstName: 'Ada', lastName: 'Lovelace', iat: NOW / 1000, exp: NOW / 1000 + 12 * 3600 });

    const { importSPKI, jwtVerify } = loadJose();
    const verified = await jwtVerify(token, await importSPKI(fake.publicKey, 'RS256'), { currentDate: new Date(NOW) });
    expect(verified.payload['email']).toBe('ada@example.com');

    expect(res.correlation).toMatch(UUID);
    expect(fake.issued.at(-1)).toEqual({ email: 'ada@example.com', firstName: 'Ada', lastName: 'Lovelace', token, expiresAt: NOW / 1000 + 12 * 3600, path: PATH, correlationId: res.correlation });
    const recorded = fake.requests.at(-1)!;
    expect([recorded.method, recorded.path, recorded.headers['authorization'], recorded.json]).toEqual(['POST', PATH, `Bearer ${ACCESS_TOKEN}`, { email: 'ada@example.com', firstName: 'Ada', lastName: 'Lovelace' }]);
  });

  it.each(['/visitor-identification/2026-03/tokens/create', '/conversations/v3/visitor-identification/tokens/create'])('serves the same route as %s', async (path) => {
    const res = await post({ email: 'grace@example.com' }, undefined, path);
    expect(res.status).toBe(200);
    expect(fake.verify(res.body['token'] as string)).toMatchObject({ email: 'grace@example.com' });
    expect(fake.issued.at(-1)!.path).toBe(path);
  });

  it('answers 404 to any other path', async () => {
    expect((await post({ email: 'ada@example.com' }, undefined, '/visitor-identification/v2/tokens/create')).status).toBe(404);
  });

  it('answers 403 in HubSpot’s error shape while the plan lacks visitor identification, and tokens again once switched back', async () => {
    fake.setVisitorIdentification(false);
    const issued = fake.issued.length;
    const refused = await post({ email: 'ada@example.com' });
    expect(refused.status).toBe(403);
    expect(refused.body).toEqual({ status: 'error', message: expect.stringMatching(/Professional or Enterprise/), correlationId: refused.correlation, category: FAKE_HUBSPOT_CATEGORIES.featureNotInPlan });
    expect(fake.errors.at(-1)).toEqual({ status: 403, category: 'FORBIDDEN', correlationId: refused.correlation });
    expect(fake.issued).toHaveLength(issued);

    fake.setVisitorIdentification(true);
    expect((await post({ email: 'ada@example.com' })).status).toBe(200);
  });

  it('starts on a plan without the feature when visitorIdentification is false', async () => {
    const starter = await startFakeHubSpot({ accessToken: ACCESS_TOKEN, visitorIdentification: false });
    try {
      const res = await fetch(`${starter.url}${PATH}`, { method: 'POST', headers: { authorization: `Bearer ${ACCESS_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ email: 'ada@example.com' }) });
      expect(res.status).toBe(403);
      expect(((await res.json()) as { category: string }).category).toBe('FORBIDDEN');
    } finally {
      await starter.close();
    }
  });

  it('answers 403 MISSING_SCOPES when the private app lacks the token scope', async () => {
    const unscoped = await startFakeHubSpot({ accessToken: ACCESS_TOKEN, scopes: ['crm.objects.contacts.read'] });
    try {
      const res = await fetch(`${unscoped.url}${PATH}`, { method: 'POST', headers: { authorization: `Bearer ${ACCESS_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ email: 'ada@example.com' }) });
      const body = (await res.json()) as { category: string; errors: { context: { requiredGranularScopes: string[] } }[] };
      expect([res.status, body.category]).toEqual([403, FAKE_HUBSPOT_CATEGORIES.missingScopes]);
      expect(body.errors[0]!.context.requiredGranularScopes).toEqual(['conversations.visitor_identification.tokens.create']);
    } finally {
      await unscoped.close();
    }
  });

  it.each([
    ['no Authorization header', {}],
    ['another access token', { authorization: `Bearer pat-na1-${randomUUID()}` }],
    ['a Basic header', { authorization: `Basic ${Buffer.from(`x:${ACCESS_TOKEN}`).toString('base64')}` }],
  ])('answers 401 INVALID_AUTHENTICATION for %s, without echoing the credential', async (_name, headers: Record<string, string>) => {
    const res = await post({ email: 'ada@example.com' }, headers);
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ status: 'error', message: expect.any(String), correlationId: res.correlation, category: FAKE_HUBSPOT_CATEGORIES.invalidAuthentication });
    expect(JSON.stringify(res.body)).not.toContain(ACCESS_TOKEN);
    if (headers['authorization']) expect(JSON.stringify(res.body)).not.toContain(headers['authorization'].slice(7));
  });

  it.each([
    ['no email', { firstName: 'Ada' }],
    ['an email that is not one', { email: 'ada' }],
    ['a first name that is not a string', { email: 'ada@example.com', firstName: 7 }],
    ['a body that is not JSON', 'email=ada@example.com'],
  ])('answers 400 VALIDATION_ERROR for %s', async (_name, body) => {
    const res = await post(body);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ status: 'error', category: FAKE_HUBSPOT_CATEGORIES.validation, correlationId: res.correlation });
  });

  it('answers 405 to another method', async () => {
    const res = await fetch(`${fake.url}${PATH}`, { headers: { authorization: `Bearer ${ACCESS_TOKEN}` } });
    expect([res.status, res.headers.get('allow')]).toEqual([405, 'POST']);
  });

  it('checks tokens by its clock: expired after 12 hours, refused when tampered with', async () => {
    const token = (await post({ email: 'ada@example.com' })).body['token'] as string;
    clock = NOW + 12 * 3600_000 + 1000;
    expect(() => fake.verify(token)).toThrow(/expired/);
    clock = NOW;
    const [head, , signature] = token.split('.');
    const forged = `${head}.${Buffer.from(JSON.stringify({ email: 'eve@example.com', iat: NOW / 1000, exp: NOW / 1000 + 60 })).toString('base64url')}.${signature}`;
    expect(() => fake.verify(forged)).toThrow(/signature/);
  });

  it('applies injected faults like the other fakes: a 429 with Retry-After, then normal service', async () => {
    fake.fault({ kind: 'status', status: 429, headers: { 'Retry-After': '10' }, body: { status: 'error', category: 'RATE_LIMITS' } }, { times: 1 });
    const limited = await fetch(`${fake.url}${PATH}`, { method: 'POST', headers: { authorization: `Bearer ${ACCESS_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ email: 'ada@example.com' }) });
    expect([limited.status, limited.headers.get('retry-after')]).toEqual([429, '10']);
    expect((await post({ email: 'ada@example.com' })).status).toBe(200);

    fake.fault({ kind: 'reset' }, { times: 1 });
    await expect(fetch(`${fake.url}${PATH}`, { method: 'POST', headers: { authorization: `Bearer ${ACCESS_TOKEN}`, 'content-type': 'application/json' }, body: '{"email":"ada@example.com"}' })).rejects.toThrow();
  });

  it('refuses to start without an access token', async () => {
    await expect(startFakeHubSpot({ accessToken: '' })).rejects.toThrow(/accessToken is required/);
  });
});
