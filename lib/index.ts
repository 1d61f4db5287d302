export * from './core/index';
export * from './hissuno/index';
