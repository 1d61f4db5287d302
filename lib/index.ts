export * from './core/index';
export * from './hissuno/index';
export * from './nevermined/index';
export * from './wonderful/index';
export * from './neut/index';
export * from './neuroon/index';
