export * from './core/index';
export * from './hissuno/index';
export * from './nevermined/index';
export * from './wonderful/index';
export * from './neut/index';
export * from './neuroon/index';
export * from './intercom/index';
export * from './widget-auth';
export { NEUT_EMBED_SCRIPT, NEUT_EMBED_SCRIPT_INTEGRITY, serveNeutEmbedScript } from './browser/neut-embed';
