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
} from '../lib';
import { constantFormRoute, constantRoute, handWrittenVendorRoute, naiveHissunoRoute, plainNeutRoute } from './baselines';
import { benchResolveUser, CREDENTIAL_SECRET, HISSUNO_SECRET, NEUROON_API_KEY, NEUT_ENV, NEVERMINED_ORG, PATHS, PUSHER_BENCH, WONDERFUL_API_KEY } from './fixtures';

/** Which app a server process runs. */
export type AppKind =
  | 'constant'
  | 'constant-form'
  | 'hissuno'
  | 'hissuno-naive'
  | 'credential-hmac'
  | 'credential-jwt'
  | 'pusher'
  | 'neut'
  | 'neut-plain'
  | 'neuroon'
  | 'nevermined'
  | 'wonderful'
  | 'nevermined-hand'
  | 'wonderful-hand'
  | 'memory';

/** Everything a server process needs to know besides its kind. */
export interface AppConfig {
  kind: AppKind;
  /** Base URLs of the fake vendors (from the fakes process). */
  vendors?: { nevermined?: string; wonderful?: string; neuroon?: string };
  /** Neuroon shop the process serves. */
  shopId?: string;
  /** Port of the Redis server shared by Neuroon instances; memory store when absent. */
  redisPort?: number;
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
    case 'memory':
      app.use(hissunoTokenRouter({ secretKey: HISSUNO_SECRET, resolveUser }));
      app.use(neutEmbedParamsRouter({ ...neutOptions, resolveUser }));
      app.use(neuroonRouter(config));
      break;
  }
  return app;
}
