// The kdlab library: everything the notebooks, the homework and the CLI import by name.
export * as tf from '@tensorflow/tfjs';
export * from './errors';
export * from './backend';
export * from './paths';
export * from './data';
export * from './softmax';
export * from './losses';
export * from './models';
export * from './train';
export * from './evaluate';
export * from './cache';
export * from './checkpoint';
export * from './plot';
export * from './notebook';
export * from './ablation';
export * from './homework';
export { danfo } from './danfo';
export * from './chapter';
