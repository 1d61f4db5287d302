export { intercomIdentityRouter, intercomConfigFromEnv, INTERCOM_IDENTITY_PATH, INTERCOM_JWT_EXPIRES_IN, INTERCOM_ENV, type IntercomIdentityRouterOptions } from './router';
