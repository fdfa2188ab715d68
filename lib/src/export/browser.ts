/**
 * 'kdlab/browser': what the playground page (tools/src/playground) takes from the library, bundled
 * for a browser: the same source modules the notebooks run (models.ts, losses/, softmax.ts and
 * export/), and nothing that needs Node. The page's bundler resolves 'kdlab/browser' to this file; a name the page
 * imports that is missing here fails the bundle (tests/playground/export.test.ts builds it).
 */
export * as tf from '@tensorflow/tfjs';
export { KdlabError, InputError } from '../errors';
export { NUM_CLASSES, PIXELS, IMAGE_SIZE } from '../data/dataset';
export { createMlp, createStudent, countParams } from '../models';
export { kdLoss, distillationLoss, studentLoss } from '../losses';
export { softmaxWithTemperature, logSoftmaxWithTemperature } from '../softmax';
export * from './index';
