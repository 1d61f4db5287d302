export {
  createWidgetSession,
  NEVERMINED_SESSION_API_PATH,
  type CreateWidgetSessionOptions,
  type WidgetSession,
} from './session';
export {
  neverminedSessionRouter,
  neverminedConfigFromEnv,
  NEVERMINED_SESSION_PATH,
  NEVERMINED_ENV,
  type NeverminedSessionRouterOptions,
  type NeverminedSessionRouter,
  type NeverminedConfig,
} from './router';
export { neverminedContract } from './contract';
