import { KdlabError } from '../errors';
import type { EpochRecord } from './types';

/**
 * Training's loss became NaN or infinite. It carries where (the epoch, counted from 1, and the
 * loss) and the epochs finished before it, so a search can keep a diverged setting as an outcome
 * (runAll's keepDiverged) rather than lose every other run to it.
 */
export class TrainingDiverged extends KdlabError<'TRAINING_DIVERGED'> {
  readonly epoch: number;
  readonly loss: number;
  /** The epochs that finished before the loss diverged (train() fills it in). */
  history: EpochRecord[] = [];
  /** Optimizer steps taken, the diverging ones included (train() fills it in). */
  steps = 0;
  constructor(epoch: number, loss: number) {
    super('TRAINING_DIVERGED', `training diverged in epoch ${epoch}: the mean loss is ${loss}. Lower the learning rate, or check the teacher logits.`);
    this.epoch = epoch;
    this.loss = loss;
  }
}
