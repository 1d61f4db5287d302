/**
 * The fixed inputs every benchmark process shares: credentials of the fake vendors, the
 * one signed-in user, and the request bodies sent to each route. Nothing here is a real
 * secret; the values only need to pass the routers' configuration checks (which refuse
 * placeholder-looking ones such as `…0123456789abcdef`).
 */
import type { Request } from 'express';
import type { WidgetUser } from '../lib';

/** Hissuno project secret (at least 32 characters). */
export const HISSUNO_SECRET = 'sk_live_bench_tIx3Sz0zJG87hnwexdT3pjfBaMrjBLuX2SOFrCan';

/** Neut minting configuration, as the documented environment variables would hold it. */
export const NEUT_ENV = {
  WIDGET_TENANT_ID: 'tenant-bench',
  HOST_ORIGIN: 'https://news.example.com',
  NEUT_MINT_SECRET: 'neut_mint_bench_7e5a0c94d1b2f836',
  NEUT_MINT_KEY_ID: 'key-2025-01',
  WIDGET_ORIGIN: 'https://widgets.neut.us',
} as const;

/** Nevermined organization known to the fake. */
export const NEVERMINED_ORG = { orgId: 'org-bench', rawSecret: 'wk_bench_626c473e5e4864f5' } as const;

/** Wonderful API key known to the fake. */
export const WONDERFUL_API_KEY = 'wk_bench_api_key_a63b6e348b80a8ca';

/** Neuroon API key; every bench shop uses it. */
export const NEUROON_API_KEY = 'nk_bench_e024940bf0eb8cb7';

/** Shop served by the warm (cached) Neuroon route. */
export const NEUROON_WARM_SHOP = 'shop-bench-warm';

/** Shops of the cold-start trials: one per trial, so that each starts with nothing cached. */
export const NEUROON_COLD_SHOPS = ['shop-bench-cold-1', 'shop-bench-cold-2', 'shop-bench-cold-3', 'shop-bench-cold-4'] as const;

/** The signed-in user of every benchmark server. */
export const BENCH_USER: WidgetUser = Object.freeze({
  id: 'user-bench-42',
  email: 'ada@example.com',
  name: 'Ada Lovelace',
});

/** Header naming which of {@link BENCH_USERS} a request comes from (absent: {@link BENCH_USER}). */
export const BENCH_USER_HEADER = 'x-bench-user';

/**
 * The users of a load with many users (see `LoadOptions.users`): request `n` of such a
 * load comes from `BENCH_USERS[n % BENCH_USERS.length]`.
 */
export const BENCH_USERS: readonly WidgetUser[] = Array.from({ length: 64 }, (_, i) =>
  Object.freeze({ id: `user-bench-${i}`, email: `user${i}@example.com`, name: `Bench User ${i}` }),
);

/**
 * The `resolveUser` hook of every server, baselines included, so that the only
 * difference between two servers is the route itself: the user named by the
 * {@link BENCH_USER_HEADER} header, else {@link BENCH_USER}.
 */
export function benchResolveUser(req: Request): WidgetUser {
  const n = req.headers[BENCH_USER_HEADER];
  return n === undefined ? BENCH_USER : (BENCH_USERS[Number(n)] ?? BENCH_USER);
}

/** Route paths (each vendor's default). */
export const PATHS = {
  constant: '/api/constant',
  constantForm: '/api/constant-form',
  hissuno: '/api/hissuno-token',
  neut: '/api/widget-embed-params',
  neuroon: '/api/neuroon-widget-token',
  nevermined: '/api/widget-session',
  wonderful: '/api/sdk-token',
  credentialHmac: '/api/custom-identity',
  credentialJwt: '/api/custom-token',
  pusher: '/api/pusher/auth',
  remote: '/api/remote-token',
  liveblocks: '/api/liveblocks-auth',
  hubspot: '/api/hubspot-visitor-token',
} as const;

/** The Liveblocks project of the benchmark: the secret key the fake accepts, and the room the load enters. */
export const LIVEBLOCKS_BENCH = { secretKey: 'sk_bench_5tQ8wZ2mK7vR4xN9cL3pJ6hD', room: 'bench-room' } as const;

/** The HubSpot private app access token the fake accepts. */
export const HUBSPOT_ACCESS_TOKEN = 'pat-na1-bench-3f9c2a7e-6b14-4d58-9e0a-c81d2f5b7a46';

/** The Pusher app of the benchmark, and the presence channel its load joins. */
export const PUSHER_BENCH = {
  appId: '424242',
  key: '5b0e8d3c7a1f9e2d4c60',
  secret: 'e4a91c07b2d85f36a1c9',
  form: { socket_id: '1234.5678', channel_name: 'presence-bench' },
} as const;

/** Encryption key of the credential cache in Redis (base64 of 32 bytes). */
export const REMOTE_CACHE_KEY = 'pYc3mV8qT1xN6wK0zR4bL7sD2hF9jG5aE3uI8oW1yQ0=';

/** The signing secret of the custom vendor routes (widgetCredentialRouter). */
export const CREDENTIAL_SECRET = 'cred_bench_Qm4vT8xKp2LrW9zYc5NdHs7JfB3gUe6A';

/**
 * Neut request bodies, one per documented widget; the load cycles through them. They
 * exercise the common fields, paging defaults and the member filter.
 */
export const NEUT_BODIES: readonly object[] = [
  { widget_id: 'bill-preview', instance_id: 'bill-preview-article-123-main', bill_type: 'HR', bill_number: 1, congress: 119, colorway: 'Default' },
  { widget_id: 'vote-breakdown', instance_id: 'votes-sidebar', congress: '119', member_type: 'Representative', last_name: 'Smith', state_code: 'tx', district: 7 },
  { widget_id: 'legislation-by-subject', instance_id: 'topic:energy', congress: 119, subject: 'Energy & Conservation', status_filter: 'Became Law', page: 2, show_status_filter: 'false' },
];
