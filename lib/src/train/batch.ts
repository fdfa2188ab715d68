import * as tf from '@tensorflow/tfjs';
import { jitterImages, NUM_CLASSES, PIXELS, type Batch, type Rng } from '../data';
import type { StepBatch } from './step';
import { batchTeacherFeatures, batchTeacherLogits, type TeacherTargets } from './teacher-targets';

/**
 * Turns a data batch into the step's input tensors: pixels (jittered when asked), one-hot and
 * integer labels, and the teacher's logits for those rows. Reuses its typed-array buffers.
 */
export class BatchAssembler {
  private readonly oneHotRows: Float32Array;
  private readonly teacherRows: Float32Array;
  private readonly featureRows = { buffer: new Float32Array(0) };

  constructor(
    batchSize: number,
    private readonly targets: TeacherTargets,
    private readonly jitter: number,
  ) {
    this.oneHotRows = new Float32Array(batchSize * NUM_CLASSES);
    this.teacherRows = new Float32Array(batchSize * NUM_CLASSES);
  }

  /** The step's tensors for `batch` (release them with disposeBatch). */
  assemble(batch: Batch, jitterRng: Rng | undefined): StepBatch {
    const rows = batch.indices.length;
    const pixels = jitterRng ? jitterImages(batch.images, this.jitter, jitterRng) : batch.images;
    this.oneHotRows.fill(0);
    for (let r = 0; r < rows; r++) this.oneHotRows[r * NUM_CLASSES + batch.labels[r]] = 1;
    const x = tf.tensor2d(pixels, [rows, PIXELS]);
    const oneHot = tf.tensor2d(this.oneHotRows.subarray(0, rows * NUM_CLASSES), [rows, NUM_CLASSES]);
    const labels = tf.tensor1d(batch.labels, 'int32');
    const teacher = batchTeacherLogits(this.targets, batch.indices, x, this.teacherRows);
    const teacherHidden = batchTeacherFeatures(this.targets, batch.indices, this.featureRows);
    return { x, oneHot, labels, teacher, teacherHidden };
  }
}

export function disposeBatch(b: StepBatch): void {
  tf.dispose([b.x, b.oneHot, b.labels]);
  b.teacher?.dispose();
  b.teacherHidden?.dispose();
}
