export * from './dist/compute-internals';
