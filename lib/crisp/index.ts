export { crispIdentityRouter, crispConfigFromEnv, CRISP_IDENTITY_PATH, CRISP_ENV, type CrispIdentityRouterOptions } from './router';
