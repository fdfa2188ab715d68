/**
 * `kdlab bench train --profile`: where one training step's time goes on the active path, as
 * wall-clock phases (inputs, forward + loss + backward, optimizer) and tf.profile's kernel times
 * grouped into categories that fit the model (matmul and transpose for the MLP; conv, pool and
 * matmul for the conv nets).
 */
import * as tf from '@tensorflow/tfjs';
import { Optimizer, trainableVariables, trainingForward, type ObjectiveLoss } from 'kdlab/compute-internals';

/** The step's input tensors; teacher only for objectives that learn from a teacher's logits. */
export interface BenchBatch {
  x: tf.Tensor2D;
  oneHot: tf.Tensor2D;
  labels: tf.Tensor1D;
  teacher?: tf.Tensor2D;
}

/** A kernel category: its key in the JSON, its label in the table, the kernel names it takes. */
interface Category {
  key: string;
  label: string;
  match: RegExp;
}

const ELEMENTWISE =
  /^(Add|AddN|Sub|Multiply|RealDiv|Relu|LeakyRelu|Prelu|Step|Exp|Log|Neg|Sqrt|Square|Maximum|Minimum|Cast|Equal|Greater|GreaterEqual|Less|LessEqual|Select|ZerosLike|OnesLike|Fill|Identity|Reshape|KdlabDenseGrad)$/;

/** The MLP's categories are today's (the JSON keeps its keys); the conv nets add conv and pool. */
const CATEGORIES: Record<'mlp' | 'conv', Category[]> = {
  mlp: [
    { key: 'matmul', label: 'matmul', match: /MatMul/ },
    { key: 'transpose', label: 'transpose', match: /^Transpose$/ },
    { key: 'elementwise', label: 'element-wise', match: ELEMENTWISE },
  ],
  conv: [
    { key: 'conv', label: 'conv', match: /Conv2D/ },
    { key: 'pool', label: 'pool', match: /Pool/ },
    { key: 'matmul', label: 'matmul', match: /MatMul/ },
    { key: 'elementwise', label: 'element-wise', match: ELEMENTWISE },
  ],
};

export interface StepProfile {
  /** Wall time of inputs + forward/backward in the profiled steps (same steps as the kernel times). */
  profiledWall: number;
  /** Wall time per step split into phases (ms, mean over timed steps). */
  phases: { inputs: number; forwardBackward: number; optimizer: number; total: number };
  /** Kernel time per step by category from tf.profile (ms): the family's categories, then other and total. */
  kernels: Record<string, number>;
  topKernels: { name: string; ms: number; calls: number }[];
  native: boolean;
}

export async function profileStep(
  model: tf.LayersModel,
  family: 'mlp' | 'conv',
  optimizer: Optimizer,
  makeBatch: () => BenchBatch,
  loss: ObjectiveLoss,
  steps: number,
  native: boolean,
): Promise<StepProfile> {
  const forward = trainingForward(model);
  const variables = trainableVariables(model);
  const phases = { inputs: 0, forwardBackward: 0, optimizer: 0, total: 0 };
  const timedStep = () => {
    const t0 = performance.now();
    const b = makeBatch();
    const t1 = performance.now();
    const { value, grads } = tf.variableGrads(() => loss(forward(b.x), b.teacher, b.oneHot), variables);
    const t2 = performance.now();
    optimizer.step(variables, variables.map((v) => grads[v.name]));
    const t3 = performance.now();
    tf.dispose([value, b.x, b.oneHot, b.labels, b.teacher]);
    tf.dispose(grads);
    return [t1 - t0, t2 - t1, t3 - t2, performance.now() - t0];
  };
  // Fewer extra steps when the step is long (the conv teacher's is seconds): the warm-up of the
  // timed runs has already compiled and sized everything.
  const warm = Math.min(3, steps);
  for (let i = 0; i < warm; i++) timedStep();
  for (let i = 0; i < steps; i++) {
    const [a, b, c, d] = timedStep();
    phases.inputs += a / steps;
    phases.forwardBackward += b / steps;
    phases.optimizer += c / steps;
    phases.total += d / steps;
  }
  const agg = new Map<string, { ms: number; calls: number }>();
  const reps = Math.min(5, steps);
  let profiledWall = 0;
  for (let r = 0; r < reps; r++) {
    const info = await tf.profile(() => {
      const [inputs, fb] = timedStep();
      profiledWall += (inputs + fb) / reps;
    });
    for (const k of info.kernels) {
      const a = agg.get(k.name) ?? { ms: 0, calls: 0 };
      a.ms += (typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0) / reps;
      a.calls += 1 / reps;
      agg.set(k.name, a);
    }
  }
  const categories = CATEGORIES[family];
  const kernels: Record<string, number> = Object.fromEntries([...categories.map((c) => [c.key, 0]), ['other', 0], ['total', 0]]);
  const backendName = tf.getBackend();
  for (const [name, a] of [...agg]) {
    // Composite entries (customGrad's "forward", "logSoftmax__op", ...) wrap kernels that are
    // listed on their own: counting both would count the time twice.
    if (!tf.getKernel(name, backendName)) {
      agg.delete(name);
      continue;
    }
    kernels[categories.find((c) => c.match.test(name))?.key ?? 'other'] += a.ms;
    kernels.total += a.ms;
  }
  const round = (x: number) => +x.toFixed(2);
  return {
    profiledWall: round(profiledWall),
    phases: { inputs: round(phases.inputs), forwardBackward: round(phases.forwardBackward), optimizer: round(phases.optimizer), total: round(phases.total) },
    kernels: Object.fromEntries(Object.entries(kernels).map(([k, v]) => [k, round(v)])),
    native,
    topKernels: [...agg.entries()]
      .sort((a, b) => b[1].ms - a[1].ms)
      .slice(0, 10)
      .map(([name, a]) => ({ name, ms: round(a.ms), calls: Math.round(a.calls) })),
  };
}

export function formatProfile(p: StepProfile, family: 'mlp' | 'conv'): string {
  const overhead = p.profiledWall - p.kernels.total;
  const parts = CATEGORIES[family].map((c) => {
    const note = c.key !== 'matmul' || family !== 'mlp' ? '' : p.native ? ' (OpenBLAS)' : ' (includes the explicit transposes of the matmul fix)';
    return `${c.label} ${p.kernels[c.key]}${note}`;
  });
  return [
    '  profile (ms per step, wall clock):',
    `    inputs (typed arrays -> tensors) ${p.phases.inputs}`,
    `    forward + loss + backward        ${p.phases.forwardBackward}`,
    `    optimizer (Adam)                 ${p.phases.optimizer}`,
    `    total                            ${p.phases.total}`,
    '  tfjs kernels per step (tf.profile):',
    `    ${parts.join(', ')}, reductions/softmax/other ${p.kernels.other}; sum ${p.kernels.total}`,
    `    framework overhead (wall − kernel time of inputs + forward/backward in the profiled steps) ≈ ${overhead.toFixed(2)}`,
    `    top: ${p.topKernels.map((k) => `${k.name} ${k.ms} (${k.calls}×)`).join(', ')}`,
  ].join('\n');
}
