export * from './dist/export/browser';
