import { WidgetAuthConfigError, WidgetAuthError, createNeutEmbedParams, NeutBootstrapError, validateNeutWidgetRequest, verifyNeutBootstrap, type NeutBootstrapErrorCode, type VerifyNeutBootstrapOptions } from '../lib';
import { BILL_BODY, BOOTSTRAP_PARAMS, NEUT, UUID, expectedAssertion, param, queryOf, resigned, withParam } from './helpers/neut';

const T0 = 1_750_000_000_000; // ms
const NONCE = '3b241101-e2bb-4255-8caf-4136c566a962';

function mintAt(now: number, nonce = NONCE, body: object = BILL_BODY): string {
  return createNeutEmbedParams(validateNeutWidgetRequest(body), { ...NEUT, now, randomUUID: () => nonce }).embed_url;
}

function refusal(url: string, options: Partial<VerifyNeutBootstrapOptions> = {}): NeutBootstrapErrorCode {
  try {
    verifyNeutBootstrap(url, { mintSecret: NEUT.mintSecret, now: T0, ...options });
  } catch (err) {
    if (err instanceof NeutBootstrapError) return err.code;
    throw err;
  }
  throw new Error('the URL was accepted');
}

describe('createNeutEmbedParams', () => {
  it('returns { widget_id, embed_url } signed over the canonical value', () => {
    const result = createNeutEmbedParams(validateNeutWidgetRequest(BILL_BODY), { ...NEUT, now: T0 + 999.9, randomUUID: () => NONCE });
    expect(Object.keys(result)).toEqual(['widget_id', 'embed_url']);
    expect(result.widget_id).toBe('bill-preview');
    const url = result.embed_url;
    expect(param(url, 'bootstrap_timestamp')).toBe('1750000000');
    expect(param(url, 'bootstrap_assertion')).toBe(
      expectedAssertion({ tenant: NEUT.tenantId, widget: 'bill-preview', origin: NEUT.hostOrigin, timestamp: '1750000000', nonce: NONCE }),
    );
    expect(url).toBe(
      'https://widgets.neut.us/bill-preview-embed.html?tenant_id=tenant-acme&widget_id=bill-preview&customer_origin=https%3A%2F%2Fwww.example.com' +
        `&bootstrap_timestamp=1750000000&bootstrap_nonce=${NONCE}&bootstrap_key_id=mint-key-2025-01&bootstrap_assertion=${param(url, 'bootstrap_assertion')}` +
        '&instance_id=bill-preview-article-123-main&colorway=Default&bill_type=HR&bill_number=1&congress=119',
    );
  });

  it('uses crypto.randomUUID and a new nonce per call by default', () => {
    const a = createNeutEmbedParams(validateNeutWidgetRequest(BILL_BODY), { ...NEUT });
    const b = createNeutEmbedParams(validateNeutWidgetRequest(BILL_BODY), { ...NEUT });
    expect(param(a.embed_url, 'bootstrap_nonce')).toMatch(UUID);
    expect(param(a.embed_url, 'bootstrap_nonce')).not.toBe(param(b.embed_url, 'bootstrap_nonce'));
  });

  it('takes a Date or a clock function as now', () => {
    expect(param(createNeutEmbedParams(validateNeutWidgetRequest(BILL_BODY), { ...NEUT, now: new Date(T0 + 1500) }).embed_url, 'bootstrap_timestamp')).toBe('1750000001');
    expect(param(createNeutEmbedParams(validateNeutWidgetRequest(BILL_BODY), { ...NEUT, now: () => T0 - 0.5 }).embed_url, 'bootstrap_timestamp')).toBe('1749999999');
  });

  it('validates params again, so raw input never reaches the URL', () => {
    expect(() => createNeutEmbedParams({ ...BILL_BODY, tenant_id: 'other' } as never, { ...NEUT })).toThrow('tenant_id is set by the server and must not be sent by the browser.');
    expect(() => createNeutEmbedParams({ widget_id: 'nope', instance_id: 'x', colorway: 'Default' }, { ...NEUT })).toThrow(WidgetAuthError);
    const url = createNeutEmbedParams({ ...BILL_BODY, extra: 'dropped' } as never, { ...NEUT }).embed_url;
    expect(queryOf(url).map(([n]) => n)).toEqual([...BOOTSTRAP_PARAMS, 'instance_id', 'colorway', 'bill_type', 'bill_number', 'congress']);
  });

  it('throws a configuration error for bad options, never echoing the secret', () => {
    let error: unknown;
    try {
      createNeutEmbedParams(validateNeutWidgetRequest(BILL_BODY), { ...NEUT, mintSecret: 'tiny-secret', hostOrigin: 'https://x.example/path', now: 'soon' as never });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(WidgetAuthConfigError);
    expect((error as WidgetAuthConfigError).problems).toEqual([
      'hostOrigin: must be scheme://host[:port] with no path, query or fragment',
      'mintSecret: must be at least 16 characters long',
      'now: must be milliseconds since the epoch, a Date, or a function returning milliseconds',
    ]);
    expect((error as Error).message).not.toContain('tiny-secret');
  });

  it('answers INTERNAL_ERROR for a clock or nonce source that misbehaves', () => {
    expect(() => createNeutEmbedParams(validateNeutWidgetRequest(BILL_BODY), { ...NEUT, now: () => Number.NaN })).toThrow(expect.objectContaining({ code: 'INTERNAL_ERROR' }));
    expect(() => createNeutEmbedParams(validateNeutWidgetRequest(BILL_BODY), { ...NEUT, randomUUID: () => '' })).toThrow(expect.objectContaining({ code: 'INTERNAL_ERROR' }));
  });
});

describe('verifyNeutBootstrap', () => {
  const url = mintAt(T0);

  it('accepts a fresh URL and returns its signed and display fields', () => {
    const seen = new Set<string>();
    const verified = verifyNeutBootstrap(url, { mintSecret: NEUT.mintSecret, tenantId: NEUT.tenantId, hostOrigin: NEUT.hostOrigin, mintKeyId: NEUT.mintKeyId, seenNonces: seen, now: T0 });
    expect(verified).toEqual({
      tenantId: NEUT.tenantId,
      widgetId: 'bill-preview',
      customerOrigin: NEUT.hostOrigin,
      timestamp: T0 / 1000,
      nonce: NONCE,
      keyId: NEUT.mintKeyId,
      path: '/bill-preview-embed.html',
      params: { instance_id: BILL_BODY.instance_id, colorway: 'Default', bill_type: 'HR', bill_number: '1', congress: '119' },
    });
    expect(seen.has(NONCE)).toBe(true);
  });

  it('checks against the real clock by default', () => {
    const fresh = createNeutEmbedParams(validateNeutWidgetRequest(BILL_BODY), { ...NEUT }).embed_url;
    expect(verifyNeutBootstrap(fresh, { mintSecret: NEUT.mintSecret }).widgetId).toBe('bill-preview');
  });

  it.each([
    ['tenant_id', 'tenant-evil'],
    ['widget_id', 'vote-breakdown'],
    ['customer_origin', 'https://evil.example'],
    ['bootstrap_timestamp', String(T0 / 1000 + 1)],
    ['bootstrap_nonce', '3b241101-e2bb-4255-8caf-4136c566a963'],
    ['bootstrap_assertion', 'A'.repeat(43)],
  ])('refuses a URL whose %s was changed', (name, value) => {
    expect(refusal(withParam(url, name, value))).toBe('BAD_ASSERTION');
  });

  it('refuses an assertion with a flipped last character, padding, or the wrong length', () => {
    const assertion = param(url, 'bootstrap_assertion');
    const last = assertion.at(-1)!;
    // base64url decoding ignores the low bits of the 43rd character: the text itself must match
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const sibling = alphabet[alphabet.indexOf(last) ^ 1]!;
    expect(Buffer.from(assertion.slice(0, -1) + sibling, 'base64url')).toEqual(Buffer.from(assertion, 'base64url'));
    expect(refusal(withParam(url, 'bootstrap_assertion', assertion.slice(0, -1) + sibling))).toBe('BAD_ASSERTION');
    expect(refusal(withParam(url, 'bootstrap_assertion', `${assertion}=`))).toBe('BAD_ASSERTION');
    expect(refusal(withParam(url, 'bootstrap_assertion', assertion.slice(0, -1)))).toBe('BAD_ASSERTION');
  });

  it('refuses a URL signed with another secret', () => {
    expect(refusal(url, { mintSecret: 'mint_e271b9e04c0320a1cbee2e33' })).toBe('BAD_ASSERTION');
  });

  it('does not cover display fields with the assertion (they are not part of the authorisation boundary)', () => {
    expect(verifyNeutBootstrap(withParam(url, 'bill_number', '2'), { mintSecret: NEUT.mintSecret, now: T0 }).params['bill_number']).toBe('2');
  });

  it('accepts up to maxSkewSeconds either way and refuses beyond', () => {
    expect(verifyNeutBootstrap(url, { mintSecret: NEUT.mintSecret, now: T0 + 300_999 }).widgetId).toBe('bill-preview');
    expect(refusal(url, { now: T0 + 301_000 })).toBe('EXPIRED');
    expect(verifyNeutBootstrap(url, { mintSecret: NEUT.mintSecret, now: T0 - 300_000 }).widgetId).toBe('bill-preview');
    expect(refusal(url, { now: T0 - 301_000 })).toBe('NOT_YET_VALID');
    expect(refusal(url, { now: T0 + 61_000, maxSkewSeconds: 60 })).toBe('EXPIRED');
    expect(refusal(url, { now: () => T0 - 61_000, maxSkewSeconds: 60 })).toBe('NOT_YET_VALID');
  });

  it.each(['01750000000', '+1750000000', '1750000000.0', '1750000000.5', '1.75e9', ' 1750000000', '1750000000 ', '0x684EE180', '-1750000000', '１７５００００００００', '99999999999999999'])(
    'refuses the non-canonical timestamp %p even when signed',
    (timestamp) => {
      expect(refusal(resigned(url, { bootstrap_timestamp: timestamp }))).toBe('INVALID_TIMESTAMP');
    },
  );

  it('accepts a timestamp re-signed in canonical form (the resigning helper is sound)', () => {
    expect(verifyNeutBootstrap(resigned(url, { bootstrap_timestamp: String(T0 / 1000 + 10) }), { mintSecret: NEUT.mintSecret, now: T0 }).timestamp).toBe(T0 / 1000 + 10);
  });

  it('refuses a replayed nonce and records a nonce only once everything passed', () => {
    const seen = new Set<string>();
    const other = mintAt(T0, 'd9428888-122b-41b4-a3b8-3a9c0c6f2a11');
    expect(refusal(withParam(other, 'tenant_id', 'x'), { seenNonces: seen })).toBe('BAD_ASSERTION');
    expect(refusal(other, { seenNonces: seen, now: T0 + 999_000 })).toBe('EXPIRED');
    expect(seen.size).toBe(0);
    verifyNeutBootstrap(other, { mintSecret: NEUT.mintSecret, seenNonces: seen, now: T0 });
    expect(refusal(other, { seenNonces: seen })).toBe('REPLAYED');
  });

  it('takes any store with has and add for nonces', () => {
    const used: string[] = [];
    const store = { has: (n: string) => used.includes(n), add: (n: string) => used.push(n) };
    verifyNeutBootstrap(url, { mintSecret: NEUT.mintSecret, seenNonces: store, now: T0 });
    expect(used).toEqual([NONCE]);
    expect(refusal(url, { seenNonces: store })).toBe('REPLAYED');
  });

  it('refuses the wrong tenant, origin or key id when they are given', () => {
    const forOther = resigned(url, { tenant_id: 'tenant-other', customer_origin: 'https://other.example' });
    expect(verifyNeutBootstrap(forOther, { mintSecret: NEUT.mintSecret, now: T0 }).tenantId).toBe('tenant-other');
    expect(refusal(forOther, { tenantId: NEUT.tenantId })).toBe('TENANT_MISMATCH');
    expect(refusal(forOther, { hostOrigin: 'https://WWW.EXAMPLE.com/' })).toBe('ORIGIN_MISMATCH');
    expect(refusal(url, { mintKeyId: 'mint-key-2024-12' })).toBe('KEY_ID_MISMATCH');
  });

  it.each(BOOTSTRAP_PARAMS.map((name) => [name]))('refuses a URL without %s', (name) => {
    const u = new URL(url);
    u.searchParams.delete(name);
    expect(refusal(u.href)).toBe('INVALID_EMBED_URL');
  });

  it('refuses a URL carrying a bootstrap parameter twice', () => {
    expect(refusal(`${url}&tenant_id=tenant-evil`)).toBe('INVALID_EMBED_URL');
    expect(refusal(`${url}&bootstrap_nonce=${NONCE}`)).toBe('INVALID_EMBED_URL');
  });

  it('refuses something that is not a URL', () => {
    expect(refusal('/bill-preview-embed.html?tenant_id=x')).toBe('INVALID_EMBED_URL');
  });

  it('checks its options once per call with a configuration error', () => {
    expect(() => verifyNeutBootstrap(url, { mintSecret: NEUT.mintSecret, maxSkewSeconds: -1 })).toThrow(WidgetAuthConfigError);
    expect(() => verifyNeutBootstrap(url, { mintSecret: NEUT.mintSecret, seenNonces: [] as never })).toThrow(/seenNonces: must have has\(nonce\) and add\(nonce\)/);
  });

  it('throws NeutBootstrapError with a name and a message that hold no secret', () => {
    let error: unknown;
    try {
      verifyNeutBootstrap(withParam(url, 'bootstrap_nonce', 'x'), { mintSecret: NEUT.mintSecret, now: T0 });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(NeutBootstrapError);
    expect((error as Error).name).toBe('NeutBootstrapError');
    expect((error as Error).message).toBe('bootstrap_assertion does not match the signed fields');
  });
});
