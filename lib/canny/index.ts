export { cannySsoRouter, cannyConfigFromEnv, CANNY_TOKEN_PATH, CANNY_TOKEN_EXPIRES_IN, CANNY_ENV, type CannySsoRouterOptions } from './router';
