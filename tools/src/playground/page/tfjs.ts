/**
 * TensorFlow.js for the playground bundle: what '@tensorflow/tfjs' sets up (every gradient, the
 * chained tensor methods) and re-exports, minus the graph-model converter and tf.data, with only
 * the CPU backend (plain JavaScript: no WebGL context and no .wasm file to fetch, which a page opened
 * from file:// could not do). The bundler maps '@tensorflow/tfjs' to this file for the library's
 * modules and the page alike.
 */
import '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops';
import { version_core } from '@tensorflow/tfjs-core';
import { version_layers } from '@tensorflow/tfjs-layers';
import { version_cpu } from '@tensorflow/tfjs-backend-cpu';

export * from '@tensorflow/tfjs-core';
export * from '@tensorflow/tfjs-layers';
export * from '@tensorflow/tfjs-backend-cpu';
export const version = { 'tfjs-core': version_core, 'tfjs-backend-cpu': version_cpu, 'tfjs-layers': version_layers };
