/**
 * `kdlab bench train`: samples per second of one distillation step (student 784-800-800-10 ReLU,
 * batch 128, Adam 1e-3, cached teacher logits, T = 4, alpha = 0.5) on the active backend,
 * median of several timed runs after a warm-up. `--profile` adds where the time goes.
 * `kdlab bench matmul` lives in ./bench-matmul.
 */
import * as os from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { NUM_CLASSES, PIXELS, countParams, createStudent, describeBackend, initBackend, loadMnist, makeRng } from 'kdlab';
import {
  Optimizer, adamImplementation, createTrainStep, layerWidths, resolveObjective, trainableVariables, trainingForward, type ObjectiveLoss,
} from 'kdlab/compute-internals';
import { ToolError } from '../errors';

interface BenchOptions {
  batch: number;
  runs: number;
  steps: number;
  warmup: number;
  hidden: number[];
  profile: boolean;
  baseline: boolean;
  json: boolean;
}

function parseArgs(argv: string[]): BenchOptions {
  const o: BenchOptions = { batch: 128, runs: 7, steps: 20, warmup: 5, hidden: [800, 800], profile: false, baseline: false, json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new ToolError('BAD_ARGS', `kdlab bench train: ${a} needs a value.`);
      return v;
    };
    const int = (v: string): number => {
      const n = Number(v);
      if (!Number.isInteger(n) || n <= 0) throw new ToolError('BAD_ARGS', `kdlab bench train: ${a} needs a positive integer, got ${v}.`);
      return n;
    };
    if (a === '--batch') o.batch = int(next());
    else if (a === '--runs') o.runs = int(next());
    else if (a === '--steps') o.steps = int(next());
    else if (a === '--warmup') o.warmup = int(next());
    else if (a === '--hidden') o.hidden = next().split(',').map(int);
    else if (a === '--profile') o.profile = true;
    else if (a === '--baseline') o.baseline = true;
    else if (a === '--json') o.json = true;
    else if (a === '--help' || a === '-h') {
      process.stdout.write(
        'usage: kdlab bench train [--batch 128] [--runs 7] [--steps 20] [--warmup 5] [--hidden 800,800] [--profile] [--baseline] [--json]\n' +
          '       kdlab bench matmul ...\n',
      );
      throw new ToolError('HELP', '');
    } else throw new ToolError('BAD_ARGS', `kdlab bench train: unknown option ${a}.`);
  }
  return o;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Real MNIST pixels when available (the step's cost does not depend on them), else seeded noise. */
function benchInputs(n: number): { images: Float32Array; labels: Int32Array; source: string } {
  try {
    const { train } = loadMnist({ verify: false });
    const k = Math.min(n, train.size);
    return { images: train.images.slice(0, k * PIXELS), labels: Int32Array.from(train.labels.subarray(0, k)), source: 'MNIST' };
  } catch {
    const rng = makeRng('bench');
    const images = Float32Array.from({ length: n * PIXELS }, () => rng());
    const labels = Int32Array.from({ length: n }, () => Math.floor(rng() * NUM_CLASSES));
    return { images, labels, source: 'random pixels (MNIST not found)' };
  }
}

async function benchTrain(argv: string[]): Promise<number> {
  let o: BenchOptions;
  try {
    o = parseArgs(argv);
  } catch (err) {
    if (err instanceof ToolError && err.code === 'HELP') return 0;
    throw err;
  }
  const info = await initBackend({ quiet: true });
  const T = 4;
  const alpha = 0.5;
  const B = o.batch;
  const pool = 8; // distinct batches cycled through, like an epoch would
  const data = benchInputs(B * pool);
  const rows = data.labels.length;
  const rng = makeRng('bench-teacher');
  // Stand-in for cached teacher logits: what matters is that they come from a Float32Array.
  const teacherLogits = Float32Array.from({ length: rows * NUM_CLASSES }, () => (rng() - 0.5) * 10);

  const model = createStudent({ hidden: o.hidden, seed: 0 });
  const optimizer = new Optimizer({ name: 'adam', learningRate: 1e-3 });
  // The objective's loss is the very function train() and kdLoss run.
  const kd = resolveObjective({ objective: 'kd', temperature: T, alpha });
  const step = createTrainStep(model, optimizer, kd);
  const oneHotRows = new Float32Array(B * NUM_CLASSES);
  const teacherRows = new Float32Array(B * NUM_CLASSES);
  const xRows = new Float32Array(B * PIXELS);
  const labelRows = new Int32Array(B);

  let cursor = 0;
  /** Builds the step's input tensors from typed arrays exactly as the training loop does. */
  const makeBatch = () => {
    oneHotRows.fill(0);
    for (let r = 0; r < B; r++) {
      const i = (cursor + r) % rows;
      xRows.set(data.images.subarray(i * PIXELS, (i + 1) * PIXELS), r * PIXELS);
      teacherRows.set(teacherLogits.subarray(i * NUM_CLASSES, (i + 1) * NUM_CLASSES), r * NUM_CLASSES);
      labelRows[r] = data.labels[i];
      oneHotRows[r * NUM_CLASSES + data.labels[i]] = 1;
    }
    cursor = (cursor + B) % rows;
    return {
      x: tf.tensor2d(xRows, [B, PIXELS]),
      oneHot: tf.tensor2d(oneHotRows, [B, NUM_CLASSES]),
      labels: tf.tensor1d(labelRows, 'int32'),
      teacher: tf.tensor2d(teacherRows, [B, NUM_CLASSES]),
    };
  };
  let lastLoss = Number.NaN;
  const oneStep = (readLoss: boolean) => {
    const batch = makeBatch();
    const out = step(batch);
    // The training loop reads the loss only every few hundred ms; here every 10th step.
    if (readLoss) lastLoss = out.loss.dataSync()[0];
    tf.dispose([out.loss, out.correct, batch.x, batch.oneHot, batch.labels, batch.teacher]);
  };

  const baseline = tf.memory().numTensors;

  // Optional comparison: the same step written the obvious way (tf.layers forward, tfjs's own
  // Adam via minimize). Its runs are interleaved with ours so that a busy machine slows both alike.
  let plainStep: (() => void) | undefined;
  let disposePlain = () => {};
  if (o.baseline) {
    const plain = createStudent({ hidden: o.hidden, seed: 0 });
    const adam = tf.train.adam(1e-3);
    const vars = trainableVariables(plain);
    plainStep = () => {
      const b = makeBatch();
      const loss = adam.minimize(
        () => kd.loss(plain.apply(b.x, { training: true }) as tf.Tensor2D, b.teacher, b.oneHot),
        true,
        vars,
      );
      loss?.dispose();
      tf.dispose([b.x, b.oneHot, b.labels, b.teacher]);
    };
    disposePlain = () => {
      adam.dispose();
      plain.dispose();
    };
  }

  for (let i = 0; i < o.warmup; i++) {
    oneStep(i === o.warmup - 1);
    plainStep?.();
  }
  const rates: number[] = [];
  const cpuRates: number[] = [];
  const plainRates: number[] = [];
  for (let r = 0; r < o.runs; r++) {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    for (let s = 0; s < o.steps; s++) oneStep(s % 10 === 9);
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(c0);
    rates.push((o.steps * B * 1000) / ms);
    // Samples per CPU-second of this process: less sensitive to other processes on a shared machine.
    cpuRates.push((o.steps * B * 1e6) / (cpu.user + cpu.system));
    if (plainStep) {
      const p0 = performance.now();
      for (let s = 0; s < o.steps; s++) plainStep();
      plainRates.push((o.steps * B * 1000) / (performance.now() - p0));
    }
  }
  disposePlain();
  const med = median(rates);

  const result: Record<string, unknown> = {
    backend: info.name,
    backendLine: describeBackend(info),
    model: `${layerWidths(model).join('-')} (${countParams(model).toLocaleString('en-US')} params)`,
    batch: B,
    temperature: T,
    alpha,
    optimizer: `adam 1e-3 (${adamImplementation()})`,
    inputs: data.source,
    runs: o.runs,
    stepsPerRun: o.steps,
    samplesPerSecond: Math.round(med),
    samplesPerCpuSecond: Math.round(median(cpuRates)),
    msPerStep: +((B * 1000) / med).toFixed(2),
    minMax: [Math.round(Math.min(...rates)), Math.round(Math.max(...rates))],
    lastLoss,
    cpus: os.cpus().length,
    loadAverage: +os.loadavg()[0].toFixed(2),
  };

  if (o.profile) result.profile = await profileStep(model, optimizer, makeBatch, kd.loss, o.steps);
  if (o.baseline) result.baselineSamplesPerSecond = Math.round(median(plainRates));
  // Adam's moment tensors belong to the optimizer; anything else left over would be a leak.
  optimizer.dispose();
  const leaked = tf.memory().numTensors - baseline;
  result.leakedTensors = leaked;

  if (o.json) {
    process.stdout.write(`${JSON.stringify(result, null, 1)}\n`);
  } else {
    const lines = [
      describeBackend(info),
      `bench train: one KD step, student ${result.model}, batch ${B}, ${result.optimizer}, cached teacher logits, T = ${T}, alpha = ${alpha}`,
      `  ${result.samplesPerSecond} samples/s (median of ${o.runs} runs × ${o.steps} steps after ${o.warmup} warm-up; ` +
        `min ${(result.minMax as number[])[0]}, max ${(result.minMax as number[])[1]}), ${result.msPerStep} ms/step`,
      `  ${result.samplesPerCpuSecond} samples per CPU-second of this process (wall-clock numbers drop when other processes share the cores)`,
      `  inputs: ${data.source}; tensors leaked: ${leaked}; machine: ${result.cpus} CPUs, 1-min load average ${result.loadAverage}` +
        (os.loadavg()[0] > 1 ? ' (other processes compete for the CPU: expect lower, noisier numbers)' : ''),
    ];
    if (o.baseline) {
      const base = result.baselineSamplesPerSecond as number;
      lines.push(`  baseline (model.apply + tf.train.adam().minimize, same matmul fix, runs interleaved): ${base} samples/s; this step is ${(med / base).toFixed(2)}x faster`);
    }
    if (o.profile) lines.push(formatProfile(result.profile as StepProfile));
    process.stdout.write(`${lines.join('\n')}\n`);
  }
  model.dispose();
  return 0;
}

interface StepProfile {
  /** Wall time of inputs + forward/backward in the profiled steps (same steps as the kernel times). */
  profiledWall: number;
  /** Wall time per step split into phases (ms, mean over timed steps). */
  phases: { inputs: number; forwardBackward: number; optimizer: number; total: number };
  /** Kernel time per step by category from tf.profile (ms). */
  kernels: { matmul: number; transpose: number; elementwise: number; other: number; total: number };
  topKernels: { name: string; ms: number; calls: number }[];
}

async function profileStep(
  model: tf.LayersModel,
  optimizer: Optimizer,
  makeBatch: () => { x: tf.Tensor2D; oneHot: tf.Tensor2D; labels: tf.Tensor1D; teacher: tf.Tensor2D },
  loss: ObjectiveLoss,
  steps: number,
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
  for (let i = 0; i < 3; i++) timedStep();
  for (let i = 0; i < steps; i++) {
    const [a, b, c, d] = timedStep();
    phases.inputs += a / steps;
    phases.forwardBackward += b / steps;
    phases.optimizer += c / steps;
    phases.total += d / steps;
  }
  const agg = new Map<string, { ms: number; calls: number }>();
  const reps = 5;
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
  const kernels = { matmul: 0, transpose: 0, elementwise: 0, other: 0, total: 0 };
  const backendName = tf.getBackend();
  for (const [name, a] of [...agg]) {
    // Composite entries (customGrad's "forward", "logSoftmax__op", ...) wrap kernels that are
    // listed on their own: counting both would count the time twice.
    if (!tf.getKernel(name, backendName)) {
      agg.delete(name);
      continue;
    }
    if (/MatMul/.test(name)) kernels.matmul += a.ms;
    else if (name === 'Transpose') kernels.transpose += a.ms;
    else if (/^(Add|Sub|Multiply|RealDiv|Relu|Step|Exp|Log|Neg|Sqrt|Square|Maximum|Cast|Equal|ZerosLike|Fill|Identity|Reshape)$/.test(name))
      kernels.elementwise += a.ms;
    else kernels.other += a.ms;
    kernels.total += a.ms;
  }
  const round = (x: number) => +x.toFixed(2);
  return {
    profiledWall: round(profiledWall),
    phases: { inputs: round(phases.inputs), forwardBackward: round(phases.forwardBackward), optimizer: round(phases.optimizer), total: round(phases.total) },
    kernels: {
      matmul: round(kernels.matmul),
      transpose: round(kernels.transpose),
      elementwise: round(kernels.elementwise),
      other: round(kernels.other),
      total: round(kernels.total),
    },
    topKernels: [...agg.entries()]
      .sort((a, b) => b[1].ms - a[1].ms)
      .slice(0, 10)
      .map(([name, a]) => ({ name, ms: round(a.ms), calls: Math.round(a.calls) })),
  };
}

function formatProfile(p: StepProfile): string {
  const overhead = p.profiledWall - p.kernels.total;
  return [
    '  profile (ms per step, wall clock):',
    `    inputs (typed arrays -> tensors) ${p.phases.inputs}`,
    `    forward + loss + backward        ${p.phases.forwardBackward}`,
    `    optimizer (Adam)                 ${p.phases.optimizer}`,
    `    total                            ${p.phases.total}`,
    '  tfjs kernels per step (tf.profile):',
    `    matmul ${p.kernels.matmul} (includes the explicit transposes of the matmul fix), transpose ${p.kernels.transpose}, ` +
      `element-wise ${p.kernels.elementwise}, reductions/softmax/other ${p.kernels.other}; sum ${p.kernels.total}`,
    `    framework overhead (wall − kernel time of inputs + forward/backward in the profiled steps) ≈ ${overhead.toFixed(2)}`,
    `    top: ${p.topKernels.map((k) => `${k.name} ${k.ms} (${k.calls}×)`).join(', ')}`,
  ].join('\n');
}

export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'matmul') {
    // The matmul benchmark is a separate module (owned by the backend work).
    const mod = await import('./bench-matmul');
    return mod.run(rest);
  }
  if (sub === undefined || sub === 'train') return benchTrain(rest);
  if (sub.startsWith('-')) return benchTrain(argv);
  process.stderr.write(`kdlab bench: unknown benchmark "${sub}" (use train or matmul).\n`);
  return 2;
}
