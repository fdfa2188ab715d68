/**
 * Distillation small enough to run in a browser tab: the library's own student (createStudent)
 * and loss (kdLoss, alpha = 0 for the scratch student), Adam from tfjs, minibatches shuffled by
 * the library's seeded RNG. Browser-safe (no Node module, no wasm kernels): the playground page
 * bundles this file, and tests run the same code in Node.
 */
import * as tf from '@tensorflow/tfjs';
import { NUM_CLASSES, PIXELS } from '../data/dataset';
import { makeRng, shuffledIndices } from '../data/random';
import { InputError } from '../errors';
import { kdLoss } from '../losses';
import { createStudent } from '../models';

/** Images (784 floats each, in [0, 1]), labels, and the teacher's logits for the same images. */
export interface LiveSet {
  images: Float32Array;
  labels: Uint8Array;
  teacherLogits: Float32Array;
}

export interface LiveStudentOptions {
  hidden: number[];
  /** Weight of the distillation term: 0 = scratch (hard labels only). */
  alpha: number;
  temperature: number;
  learningRate?: number;
  batchSize?: number;
  seed?: number;
}

export interface LiveEpoch {
  epoch: number;
  loss: number;
  seconds: number;
}

function checkSet(set: LiveSet, where: string): number {
  const n = set.labels.length;
  if (set.images.length !== n * PIXELS || set.teacherLogits.length !== n * NUM_CLASSES) {
    throw new InputError(
      'SHAPE_MISMATCH',
      `${where}: ${set.images.length} pixels and ${set.teacherLogits.length} teacher logits for ${n} labels; need ${PIXELS} pixels and ${NUM_CLASSES} logits per image.`,
    );
  }
  return n;
}

/** One student and its optimizer; `trainEpoch` yields between batches through `pause`. */
export class LiveStudent {
  readonly model: tf.Sequential;
  readonly options: Required<LiveStudentOptions>;
  private readonly optimizer: tf.AdamOptimizer;
  private readonly rng: () => number;
  epochs = 0;

  constructor(options: LiveStudentOptions) {
    this.options = { learningRate: 1e-3, batchSize: 64, seed: 0, ...options };
    if (!(this.options.alpha >= 0 && this.options.alpha <= 1)) {
      throw new InputError('BAD_ALPHA', `LiveStudent: alpha must be in [0, 1], got ${String(options.alpha)}.`);
    }
    this.model = createStudent({ hidden: this.options.hidden, seed: this.options.seed });
    this.optimizer = tf.train.adam(this.options.learningRate);
    this.rng = makeRng(`live-${this.options.seed}`);
  }

  /** One pass over `set` in shuffled minibatches; `pause` runs between batches (e.g. to let a page redraw). */
  async trainEpoch(set: LiveSet, pause?: () => Promise<void>): Promise<LiveEpoch> {
    const n = checkSet(set, 'LiveStudent.trainEpoch');
    const start = Date.now();
    const order = shuffledIndices(n, this.rng);
    const { batchSize, temperature, alpha } = this.options;
    const vars = this.model.trainableWeights.map((w) => w.read() as tf.Variable);
    let lossSum = 0;
    let batches = 0;
    for (let b = 0; b < n; b += batchSize) {
      const rows = Math.min(batchSize, n - b);
      const x = new Float32Array(rows * PIXELS);
      const t = new Float32Array(rows * NUM_CLASSES);
      const y = new Int32Array(rows);
      for (let r = 0; r < rows; r++) {
        const i = order[b + r];
        x.set(set.images.subarray(i * PIXELS, (i + 1) * PIXELS), r * PIXELS);
        t.set(set.teacherLogits.subarray(i * NUM_CLASSES, (i + 1) * NUM_CLASSES), r * NUM_CLASSES);
        y[r] = set.labels[i];
      }
      const loss = tf.tidy(() => {
        const xs = tf.tensor2d(x, [rows, PIXELS]);
        const ts = tf.tensor2d(t, [rows, NUM_CLASSES]);
        const ys = tf.tensor1d(y, 'int32');
        const { value, grads } = tf.variableGrads(
          () => kdLoss(this.model.apply(xs, { training: true }) as tf.Tensor2D, ts, ys, { temperature, alpha }),
          vars,
        );
        this.optimizer.applyGradients(Object.keys(grads).map((name) => ({ name, tensor: grads[name] })));
        return value.dataSync()[0];
      });
      lossSum += loss;
      batches++;
      if (pause) await pause();
    }
    this.epochs++;
    return { epoch: this.epochs, loss: lossSum / Math.max(1, batches), seconds: (Date.now() - start) / 1000 };
  }

  /** Logits of `images` in inference mode. */
  logits(images: Float32Array): Float32Array {
    const n = images.length / PIXELS;
    return tf.tidy(() => (this.model.apply(tf.tensor2d(images, [n, PIXELS]), { training: false }) as tf.Tensor).dataSync() as Float32Array);
  }

  /** Fraction of `labels` the student gets right. */
  accuracy(images: Float32Array, labels: Uint8Array): number {
    return accuracyOf(this.logits(images), labels);
  }

  dispose(): void {
    this.model.dispose();
    this.optimizer.dispose();
  }
}

/** Fraction of rows whose largest logit is the label. */
export function accuracyOf(logits: Float32Array, labels: ArrayLike<number>): number {
  let correct = 0;
  for (let i = 0; i < labels.length; i++) {
    let best = 0;
    for (let c = 1; c < NUM_CLASSES; c++) if (logits[i * NUM_CLASSES + c] > logits[i * NUM_CLASSES + best]) best = c;
    if (best === labels[i]) correct++;
  }
  return labels.length > 0 ? correct / labels.length : 0;
}
