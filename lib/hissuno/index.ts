export { signHissunoToken, type HissunoClaims, type SignHissunoTokenOptions } from './sign';
export { hissunoTokenRouter, hissunoConfigFromEnv, HISSUNO_TOKEN_PATH, HISSUNO_ENV, type HissunoTokenRouterOptions } from './router';
