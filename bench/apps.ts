/**
 * The Express app each benchmark server process runs: one route per process (or, for
 * the memory run, the routes that need no vendor round trip), with the same
 * `resolveUser` everywhere.
 */
import express, { type Express } from 'express';
import Redis from 'ioredis';
import {
  hissunoTokenRouter,
  hmacCredential,
  jwtCredential,
  widgetCredentialRouter,
  neuroonTokenRouter,
  NeuroonTokenProvider,
  RedisTokenStore,
  neutEmbedParamsRouter,
  neverminedSessionRouter,
  wonderfulTokenRouter,
  wonderfulEntityIdFor,
  NEVERMINED_SESSION_API_PATH,
  pusherAuthRouter,
  memoryCredentialStore,
  redisCredentialStore,
  remoteCredential,
  liveblocksAuthRouter,
  hubspotVisitorTokenRouter,
} from '../lib';
import { constantFormRoute, constantRoute, handWrittenVendorRoute, naiveHissunoRoute, plainNeutRoute } from './baselines';
import { benchResolveUser, CREDENTIAL_SECRET, HISSUNO_SECRET, HUBSPOT_ACCESS_TOKEN, LIVEBLOCKS_BENCH, NEUROON_API_KEY, NEUT_ENV, NEVERMINED_ORG, PATHS, PUSHER_BENCH, REMOTE_CACHE_KEY, WONDERFUL_API_KEY } from './fixtures';

/** Which app a server process runs. */
export type AppKind =
  | 'constant'
  | 'constant-form'
  | 'hissuno'
  | 'hissuno-naive'
  | 'credential-hmac'
  | 'credential-jwt'
  | 'pusher'
  | 'remote-cached'
  | 'neut'
  | 'neut-plain'
  | 'neuroon'
  | 'nevermined'
  | 'wonderful'
  | 'nevermined-hand'
  | 'wonderful-hand'
  | 'liveblocks'
  | 'liveblocks-hand'
  | 'hubspot'
  | 'hubspot-hand'
  | 'memory';

/** Everything a server process needs to know besides its kind. */
export interface AppConfig {
  kind: AppKind;
  /** Base URLs of the fake vendors (from the fakes process). */
  vendors?: { nevermined?: string; wonderful?: string; neuroon?: string; liveblocks?: string; hubspot?: string };
  /** Neuroon shop the process serves. */
  shopId?: string;
  /** Port of the Redis server shared by Neuroon instances (and by the cached remote route); memory store when absent. */
  redisPort?: number;
  /** Key prefix of the cached remote route's Redis store: one per trial, so no trial finds another's credential. */
  cachePrefix?: string;
}

const neutOptions = {
  tenantId: NEUT_ENV.WIDGET_TENANT_ID,
  hostOrigin: NEUT_ENV.HOST_ORIGIN,
  mintSecret: NEUT_ENV.NEUT_MINT_SECRET,
  mintKeyId: NEUT_ENV.NEUT_MINT_KEY_ID,
  widgetOrigin: NEUT_ENV.WIDGET_ORIGIN,
};

function need(value: string | undefined, what: string): string {
  if (!value) throw new Error(`bench server: ${what} is required for this app`);
  return value;
}

function neuroonRouter(config: AppConfig): express.Router {
  const shopId = need(config.shopId, 'shopId');
  const apiBaseUrl = need(config.vendors?.neuroon, 'the Neuroon fake URL');
  if (config.redisPort === undefined) {
    return neuroonTokenRouter({ shopId, apiKey: NEUROON_API_KEY, apiBaseUrl, resolveUser: benchResolveUser });
  }
  // fail-fast settings, as docs/scaling.md recommends
  const redis = new Redis({ host: '127.0.0.1', port: config.redisPort, enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: 250, connectTimeout: 500 });
  const provider = new NeuroonTokenProvider({ shopId, apiKey: NEUROON_API_KEY, apiBaseUrl, store: new RedisTokenStore(redis) });
  return neuroonTokenRouter({ provider, resolveUser: benchResolveUser });
}

/**
 * A vendor whose API mints the credential, on `remoteCredential` with a per-user cache:
 * the Wonderful fake's `/api/v1/jwt/sign` as the vendor, the JWT's `exp` as the expiry.
 * In memory, or in Redis shared by every instance given `redisPort`.
 */
function remoteCachedRouter(config: AppConfig): express.Router {
  const base = need(config.vendors?.wonderful, 'the Wonderful fake URL');
  const store =
    config.redisPort === undefined
      ? memoryCredentialStore({ max: 1000 })
      : redisCredentialStore({
          client: new Redis({ host: '127.0.0.1', port: config.redisPort, enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: 250, connectTimeout: 500 }),
          prefix: config.cachePrefix ?? 'bench:',
          encryptionKeys: [REMOTE_CACHE_KEY],
        });
  const credential = remoteCredential({
    vendor: 'bench-remote',
    secrets: [WONDERFUL_API_KEY],
    call: async ({ user, upstream }) => {
      const answer = await upstream<{ jwt: string }>({
        url: `${base}/api/v1/jwt/sign`,
        headers: { 'x-api-key': WONDERFUL_API_KEY },
        body: { entityId: wonderfulEntityIdFor(user), expiresIn: 3600 },
        parse: (body) => {
          const jwt = (body as { jwt?: unknown } | null)?.jwt;
          if (typeof jwt !== 'string') throw new Error('no jwt in the answer');
          return { jwt };
        },
      });
      return { token: answer.jwt };
    },
    expiresAt: (credential) => (JSON.parse(Buffer.from(String(credential['token']).split('.')[1]!, 'base64url').toString('utf8')) as { exp: number }).exp,
    cache: { store, refreshBefore: 60 },
  });
  return widgetCredentialRouter({ vendor: 'bench-remote', path: PATHS.remote, resolveUser: benchResolveUser, credential });
}

/** Build the app of one benchmark server. */
export function buildBenchApp(config: AppConfig): Express {
  const app = express();
  const resolveUser = benchResolveUser;
  switch (config.kind) {
    case 'constant':
      constantRoute(app);
      break;
    case 'constant-form':
      constantFormRoute(app);
      break;
    case 'hissuno':
      app.use(hissunoTokenRouter({ secretKey: HISSUNO_SECRET, resolveUser }));
      break;
    case 'hissuno-naive':
      naiveHissunoRoute(app);
      break;
    case 'credential-hmac':
      // the shape of the HMAC identity presets (Chatwoot, Intercom's user_hash, …)
      app.use(
        widgetCredentialRouter({
          vendor: 'bench-hmac',
          path: PATHS.credentialHmac,
          resolveUser,
          credential: hmacCredential({ secret: CREDENTIAL_SECRET, message: (user) => user.id, answer: { identifier: (user) => user.id, identifier_hash: 'hash' } }),
        }),
      );
      break;
    case 'credential-jwt':
      // the shape of the JWT presets (Zendesk, Stream, …)
      app.use(
        widgetCredentialRouter({
          vendor: 'bench-jwt',
          path: PATHS.credentialJwt,
          resolveUser,
          credential: jwtCredential({ secret: CREDENTIAL_SECRET, header: { kid: 'bench' }, claims: (user) => ({ external_id: user.id, email: user.email, name: user.name }), expiresIn: 900 }),
        }),
      );
      break;
    case 'pusher':
      app.use(
        pusherAuthRouter({
          appId: PUSHER_BENCH.appId,
          key: PUSHER_BENCH.key,
          secret: PUSHER_BENCH.secret,
          resolveUser,
          canJoin: (user, channel) => channel === 'presence-bench' || channel === `private-user-${user.id}`,
          userInfo: (user) => ({ name: user.name }),
        }),
      );
      break;
    case 'remote-cached':
      app.use(remoteCachedRouter(config));
      break;
    case 'neut':
      app.use(neutEmbedParamsRouter({ ...neutOptions, resolveUser }));
      break;
    case 'neut-plain':
      Object.assign(process.env, NEUT_ENV);
      plainNeutRoute(app);
      break;
    case 'neuroon':
      app.use(neuroonRouter(config));
      break;
    case 'nevermined':
      app.use(neverminedSessionRouter({ ...NEVERMINED_ORG, apiBaseUrl: need(config.vendors?.nevermined, 'the Nevermined fake URL'), resolveUser }));
      break;
    case 'wonderful':
      app.use(wonderfulTokenRouter({ baseUrl: need(config.vendors?.wonderful, 'the Wonderful fake URL'), apiKey: WONDERFUL_API_KEY, resolveUser }));
      break;
    case 'nevermined-hand':
      handWrittenVendorRoute(app, 'get', PATHS.nevermined, {
        url: `${need(config.vendors?.nevermined, 'the Nevermined fake URL')}${NEVERMINED_SESSION_API_PATH}`,
        headers: { accept: 'application/json' },
        body: (user) => ({ orgId: NEVERMINED_ORG.orgId, email: user.email?.trim().toLowerCase(), rawSecret: NEVERMINED_ORG.rawSecret }),
      });
      break;
    case 'wonderful-hand':
      handWrittenVendorRoute(app, 'post', PATHS.wonderful, {
        url: `${need(config.vendors?.wonderful, 'the Wonderful fake URL')}/api/v1/jwt/sign`,
        headers: { accept: 'application/json', 'x-api-key': WONDERFUL_API_KEY },
        body: (user) => ({ entityId: wonderfulEntityIdFor(user), expiresIn: 3600 }),
      });
      break;
    case 'liveblocks':
      app.use(liveblocksAuthRouter({ secretKey: LIVEBLOCKS_BENCH.secretKey, apiBaseUrl: need(config.vendors?.liveblocks, 'the Liveblocks fake URL'), resolveUser, permissions: () => ['room:write'] }));
      break;
    case 'liveblocks-hand':
      handWrittenVendorRoute(app, 'post', PATHS.liveblocks, {
        url: `${need(config.vendors?.liveblocks, 'the Liveblocks fake URL')}/v2/authorize-user`,
        headers: { accept: 'application/json', authorization: `Bearer ${LIVEBLOCKS_BENCH.secretKey}` },
        readsBody: true,
        body: (user, request) => ({ userId: user.id, permissions: { [String(request['room'])]: ['room:write'] } }),
      });
      break;
    case 'hubspot':
      // every request a vendor call, as the hand-written handler makes (the router caches by default)
      app.use(hubspotVisitorTokenRouter({ accessToken: HUBSPOT_ACCESS_TOKEN, apiBaseUrl: need(config.vendors?.hubspot, 'the HubSpot fake URL'), resolveUser, cache: false }));
      break;
    case 'hubspot-hand':
      handWrittenVendorRoute(app, 'get', PATHS.hubspot, {
        url: `${need(config.vendors?.hubspot, 'the HubSpot fake URL')}/visitor-identification/v3/tokens/create`,
        headers: { accept: 'application/json', authorization: `Bearer ${HUBSPOT_ACCESS_TOKEN}` },
        body: (user) => {
          const [firstName, ...rest] = (user.name ?? '').split(' ');
          return { email: user.email, firstName, lastName: rest.join(' ') };
        },
        answer: (vendor, user) => ({ identificationEmail: user.email, identificationToken: vendor['token'] }),
      });
      break;
    case 'memory':
      app.use(hissunoTokenRouter({ secretKey: HISSUNO_SECRET, resolveUser }));
      app.use(neutEmbedParamsRouter({ ...neutOptions, resolveUser }));
      app.use(neuroonRouter(config));
      break;
  }
  return app;
}
