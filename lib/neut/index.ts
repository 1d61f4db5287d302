export {
  NEUT_COLORWAYS,
  NEUT_DEFAULT_WIDGETS,
  NEUT_STATUS_FILTERS,
  NEUT_SUBJECTS,
  type NeutWidgetDefinition,
  type NeutWidgetRules,
  type NeutWidgetsOption,
} from './widgets';
export {
  validateNeutWidgetRequest,
  type NeutBillPreviewParams,
  type NeutCommonParams,
  type NeutLegislationBySubjectParams,
  type NeutMemberFilter,
  type NeutVoteBreakdownParams,
  type NeutWidgetParams,
} from './validate';
export { NEUT_MIN_SECRET_LENGTH, type NeutClock } from './options';
export {
  createNeutEmbedParams,
  neutAssertion,
  neutCanonicalString,
  NEUT_BOOTSTRAP_PURPOSE,
  type CreateNeutEmbedParamsOptions,
  type NeutBootstrapFields,
  type NeutEmbedParams,
} from './sign';
export {
  verifyNeutBootstrap,
  NeutBootstrapError,
  type NeutBootstrapErrorCode,
  type NeutNonceStore,
  type VerifiedNeutBootstrap,
  type VerifyNeutBootstrapOptions,
} from './verify';
export { neutContract } from './contract';
export { neutEmbedParamsRouter, neutConfigFromEnv, NEUT_EMBED_PARAMS_PATH, NEUT_ENV, type NeutEmbedParamsRouterOptions, type NeutEnvConfig } from './router';
