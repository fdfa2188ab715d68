import * as tf from '@tensorflow/tfjs';
import { InputError, KdlabError } from '../errors';
import { fusedUpdate, wasmAdam, wasmMomentum } from '../kernels/optimizer-wasm';
import type { LearningRateSchedule, MomentumRamp, OptimizerName, OptimizerSpec, OptimizerState } from './types';

/**
 * Adam, SGD and momentum with state that can be saved and restored exactly (tfjs's Adam
 * rebuilds its beta powers with pow() on restore, which differs from the running product in the
 * last bit and breaks bit-exact resumes).
 */
/**
 * Optimizer state below these floors is stored as zero, as adam.wat and momentum.wat do (see there):
 * moments of weights that get no gradient decay through the subnormal floats, where x86 arithmetic
 * is ~30 times slower, and below the floors they cannot move a weight above 2^-60 anyway.
 */
const MOMENT_FLOOR = 2 ** -100;
const SQUARED_MOMENT_FLOOR = 2 ** -126;
/** x, or 0 when |x| is below `floor` (NaN stays NaN). */
const flushBelow = (x: number, floor: number): number => (Math.abs(x) < floor ? 0 : x);

export class Optimizer {
  readonly name: OptimizerName;
  readonly learningRate: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  readonly momentum: number;
  readonly schedule: LearningRateSchedule;
  readonly rampMomentum: MomentumRamp | null;
  readonly dampened: boolean;
  /** Number of updates applied so far (Adam's t). */
  iterations = 0;
  private slots: tf.Tensor[][] = [];

  constructor(spec: OptimizerSpec = {}) {
    const name = spec.name ?? 'adam';
    if (!['adam', 'sgd', 'momentum'].includes(name)) {
      throw new InputError('BAD_OPTIMIZER', `optimizer.name must be 'adam', 'sgd' or 'momentum', got ${String(name)}.`);
    }
    this.name = name;
    const lr = spec.learningRate ?? spec.lr ?? (name === 'adam' ? 1e-3 : 0.01);
    if (!(typeof lr === 'number' && lr > 0 && Number.isFinite(lr))) {
      throw new InputError('BAD_LEARNING_RATE', `learning rate must be a finite number > 0, got ${String(lr)}.`);
    }
    this.learningRate = lr;
    this.beta1 = spec.beta1 ?? 0.9;
    this.beta2 = spec.beta2 ?? 0.999;
    this.epsilon = spec.epsilon ?? 1e-7;
    this.momentum = spec.momentum ?? 0.9;
    for (const [k, v] of [
      ['beta1', this.beta1],
      ['beta2', this.beta2],
      ['momentum', this.momentum],
    ] as const) {
      if (!(v >= 0 && v < 1)) throw new InputError('BAD_OPTIMIZER', `optimizer.${k} must be in [0, 1), got ${v}.`);
    }
    this.schedule = checkSchedule(spec.schedule ?? { kind: 'constant' });
    this.rampMomentum = spec.rampMomentum === undefined ? null : checkRamp(spec.rampMomentum, name, this.momentum);
    if (spec.dampened !== undefined && (typeof spec.dampened !== 'boolean' || (spec.dampened && name !== 'momentum'))) {
      throw new InputError('BAD_OPTIMIZER', `optimizer.dampened must be a boolean and needs name: 'momentum', got ${String(spec.dampened)} with '${name}'.`);
    }
    this.dampened = spec.dampened === true;
  }

  /** The step size of update number k + 1 (k updates already taken), from the schedule. */
  learningRateAt(k: number): number {
    const s = this.schedule;
    if (s.kind === 'constant') return this.learningRate;
    const exponent = s.staircase ? Math.floor(k / s.decaySteps) : k / s.decaySteps;
    return Math.max(this.learningRate * Math.pow(s.decayRate, exponent), s.minLearningRate ?? 0);
  }

  /** The momentum coefficient of update number k + 1 (k updates already taken). */
  momentumAt(k: number): number {
    const r = this.rampMomentum;
    if (!r || k >= r.steps) return this.momentum;
    return r.from + ((this.momentum - r.from) * k) / r.steps;
  }

  private slotCount(): number {
    return this.name === 'adam' ? 2 : this.name === 'momentum' ? 1 : 0;
  }

  /** Applies one update to `variables` given their gradients (same order). Disposes nothing it was given. */
  step(variables: tf.Variable[], gradients: tf.Tensor[]): void {
    if (variables.length !== gradients.length) {
      throw new KdlabError('OPTIMIZER_STATE', `optimizer.step: ${variables.length} variables but ${gradients.length} gradients.`);
    }
    const k = this.slotCount();
    if (this.slots.length === 0 && k > 0) {
      this.slots = variables.map((v) => Array.from({ length: k }, () => tf.keep(tf.zerosLike(v))));
    }
    const lr = this.learningRateAt(this.iterations);
    const mu = this.momentumAt(this.iterations);
    this.iterations++;
    const t = this.iterations;
    variables.forEach((variable, i) => {
      const g = gradients[i];
      if (!g) throw new KdlabError('OPTIMIZER_STATE', `optimizer.step: no gradient for ${variable.name}.`);
      let outs: tf.Tensor[];
      if (this.name === 'adam') {
        const [m0, v0] = this.slots[i];
        const b1 = this.beta1;
        const b2 = this.beta2;
        const eps = this.epsilon;
        const c1 = 1 - b1 ** t;
        const c2 = 1 - b2 ** t;
        // Textbook Adam rearranged so that the bias corrections fold into two scalars.
        const a = (lr * Math.sqrt(c2)) / c1;
        const epsHat = eps * Math.sqrt(c2);
        const kernel = wasmAdam();
        outs = fusedUpdate(
          [variable, g, m0, v0],
          3,
          ([W, G, M, V], [W2, M2, V2], start, n) => {
            for (let j = start; j < n; j++) {
              const gj = G[j];
              const m = flushBelow(b1 * M[j] + (1 - b1) * gj, MOMENT_FLOOR);
              const v = flushBelow(b2 * V[j] + (1 - b2) * gj * gj, SQUARED_MOMENT_FLOOR);
              M2[j] = m;
              V2[j] = v;
              W2[j] = W[j] - (a * m) / (Math.sqrt(v) + epsHat);
            }
          },
          kernel ? ([w, gp, m, v], [w2, m2, v2], n4) => kernel(w, gp, m, v, w2, m2, v2, n4, b1, 1 - b1, b2, 1 - b2, a, epsHat) : undefined,
          [0, 2, 3],
        );
        this.replaceSlots(i, outs.slice(1));
      } else if (this.name === 'momentum') {
        // In float32, every product and sum rounded once (fround), as the SIMD kernel computes it:
        // the kernel's bulk and this loop's tail (or another backend) give the same bits.
        const f = Math.fround;
        const [mu32, d32, lr32] = [f(mu), f(this.dampened ? 1 - mu : 1), f(lr)];
        const kernel = wasmMomentum();
        outs = fusedUpdate(
          [variable, g, this.slots[i][0]],
          2,
          ([W, G, A], [W2, A2], start, n) => {
            for (let j = start; j < n; j++) {
              const a = flushBelow(f(f(mu32 * A[j]) + f(d32 * G[j])), MOMENT_FLOOR);
              A2[j] = a;
              W2[j] = W[j] - f(lr32 * a);
            }
          },
          kernel ? ([w, gp, a], [w2, a2], n4) => kernel(w, gp, a, w2, a2, n4, mu32, d32, lr32) : undefined,
          [0, 2],
        );
        this.replaceSlots(i, outs.slice(1));
      } else {
        outs = fusedUpdate([variable, g], 1, ([W, G], [W2], start, n) => {
          for (let j = start; j < n; j++) W2[j] = W[j] - lr * G[j];
        }, undefined, [0]);
      }
      // Updated in place (fusedUpdate returned the variable itself) or a new tensor to point to.
      if (outs[0] !== variable) {
        variable.assign(outs[0]);
        outs[0].dispose();
      }
    });
  }

  /** Variable i's new state tensors; a slot updated in place is the same tensor and stays. */
  private replaceSlots(i: number, next: tf.Tensor[]): void {
    this.slots[i] = this.slots[i].map((old, k) => {
      if (next[k] === old) return old;
      old.dispose();
      return tf.keep(next[k]);
    });
  }

  /** A plain-data copy of the optimizer's state (for checkpoints). */
  getState(): OptimizerState {
    const names = this.slotCount() === 2 ? ['m', 'v'] : this.slotCount() === 1 ? ['velocity'] : [];
    const slots: OptimizerState['slots'] = [];
    this.slots.forEach((perVar, i) =>
      perVar.forEach((t, k) => slots.push({ name: `${i}/${names[k]}`, shape: t.shape.slice(), data: t.dataSync() as Float32Array })),
    );
    return {
      name: this.name,
      config: {
        learningRate: this.learningRate,
        beta1: this.beta1,
        beta2: this.beta2,
        epsilon: this.epsilon,
        momentum: this.momentum,
        ...scheduleConfig(this.schedule, this.rampMomentum, this.dampened),
      },
      iterations: this.iterations,
      slots,
    };
  }

  /** Restores state saved by getState (same optimizer kind, same variables in the same order). */
  setState(state: OptimizerState): void {
    if (state.name !== this.name) {
      throw new InputError('CHECKPOINT_MISMATCH', `checkpoint optimizer is ${state.name}, this run uses ${this.name}.`);
    }
    const k = this.slotCount();
    if (k > 0 && state.slots.length % k !== 0) {
      throw new InputError('CHECKPOINT_MISMATCH', `checkpoint has ${state.slots.length} optimizer slots, not a multiple of ${k}.`);
    }
    this.disposeSlots();
    const perVar: tf.Tensor[][] = [];
    for (let i = 0; i < state.slots.length; i += k) {
      perVar.push(state.slots.slice(i, i + k).map((s) => tf.keep(tf.tensor(s.data, s.shape, 'float32'))));
    }
    this.slots = perVar;
    this.iterations = state.iterations;
  }

  private disposeSlots(): void {
    for (const perVar of this.slots) for (const t of perVar) t.dispose();
    this.slots = [];
  }

  dispose(): void {
    this.disposeSlots();
  }
}

const badSchedule = (why: string) =>
  new InputError(
    'BAD_SCHEDULE',
    `optimizer.schedule: ${why}. Use { kind: 'constant' } or { kind: 'exponential', decayRate: 0.998, decaySteps: <batches per epoch> }.`,
  );

function checkSchedule(s: LearningRateSchedule): LearningRateSchedule {
  if (s === null || typeof s !== 'object') throw badSchedule(`expected an object, got ${String(s)}`);
  if (s.kind === 'constant') return { kind: 'constant' };
  if (s.kind !== 'exponential') throw badSchedule(`unknown kind ${JSON.stringify((s as { kind: unknown }).kind)}`);
  if (!(s.decayRate > 0 && s.decayRate <= 1)) throw badSchedule(`decayRate must be in (0, 1], got ${s.decayRate}`);
  if (!(Number.isInteger(s.decaySteps) && s.decaySteps > 0)) throw badSchedule(`decaySteps must be a positive integer, got ${s.decaySteps}`);
  const min = s.minLearningRate ?? 0;
  if (!(min >= 0 && Number.isFinite(min))) throw badSchedule(`minLearningRate must be a finite number >= 0, got ${min}`);
  return { kind: 'exponential', decayRate: s.decayRate, decaySteps: s.decaySteps, staircase: s.staircase === true, minLearningRate: min };
}

function checkRamp(r: MomentumRamp, name: OptimizerName, final: number): MomentumRamp {
  if (name !== 'momentum') {
    throw new InputError('BAD_SCHEDULE', `optimizer.rampMomentum needs name: 'momentum', got '${name}'. Remove rampMomentum or switch to momentum SGD.`);
  }
  if (r === null || typeof r !== 'object' || !(r.from >= 0 && r.from < 1) || !(Number.isInteger(r.steps) && r.steps > 0)) {
    throw new InputError(
      'BAD_SCHEDULE',
      `optimizer.rampMomentum must be { from: a number in [0, 1), steps: a positive integer }, got ${JSON.stringify(r)} (final momentum ${final}).`,
    );
  }
  return { from: r.from, steps: r.steps };
}

/** The schedule's numbers for OptimizerState.config (a checkpoint records what it was trained with). */
function scheduleConfig(s: LearningRateSchedule, r: MomentumRamp | null, dampened: boolean): Record<string, number> {
  const out: Record<string, number> = {};
  if (s.kind === 'exponential') {
    out.decayRate = s.decayRate;
    out.decaySteps = s.decaySteps;
    out.staircase = s.staircase ? 1 : 0;
    out.minLearningRate = s.minLearningRate ?? 0;
  }
  if (dampened) out.dampened = 1;
  if (r) {
    out.momentumFrom = r.from;
    out.momentumRampSteps = r.steps;
  }
  return out;
}
