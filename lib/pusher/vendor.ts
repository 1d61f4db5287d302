import { defineVendor, pathOption } from '../core/vendor';
import { PUSHER_AUTH_PATH, PUSHER_ENV, PUSHER_USER_AUTH_PATH, pusherAuthRouter, pusherConfigFromEnv, type PusherAuthRouterOptions } from './router';

/** Pusher Channels for `widgetAuth`: channel authorization and user authentication for signed-in users; `canJoin` is required. */
export const pusherVendor = defineVendor<'pusher', PusherAuthRouterOptions, Partial<Omit<PusherAuthRouterOptions, 'appId' | 'key' | 'secret' | 'encryptionMasterKeyBase64'>> & Pick<PusherAuthRouterOptions, 'canJoin'>>({
  name: 'pusher',
  label: 'Pusher Channels',
  factory: 'pusherAuthRouter',
  docs: 'docs/pusher.md',
  variables: PUSHER_ENV,
  fromEnv: pusherConfigFromEnv,
  build: pusherAuthRouter,
  signedInOnly: true,
  secretOptions: ['secret', 'encryptionMasterKeyBase64'],
  requiredHooks: ['canJoin'],
  routes: (o) => [
    { path: pathOption(o, 'path', PUSHER_AUTH_PATH), methods: ['POST'] },
    { path: pathOption(o, 'userAuthPath', PUSHER_USER_AUTH_PATH), methods: ['POST'] },
  ],
});
