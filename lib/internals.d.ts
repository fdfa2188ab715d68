export * from './dist/internals';
