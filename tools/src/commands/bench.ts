/**
 * `kdlab bench train`: samples per second of one training step on every compute path here, runs
 * interleaved with PyTorch's same step, median of several timed runs after a warm-up. `--model`
 * picks the step: `mlp` (default), the KD step of student 784-800-800-10 ReLU; `conv-student`,
 * the KD step of the 16/32-filter conv net; `conv-teacher`, the hard-label step of the 256/512
 * conv net. All: batch 128, Adam 1e-3; KD from cached teacher logits, T = 4, alpha = 0.5.
 * `--profile` adds where the time goes (./bench-profile). `kdlab bench matmul` lives in
 * ./bench-matmul, `kdlab bench teacher` in ./bench-teacher.
 */
import * as os from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { NUM_CLASSES, countParams, createModel, createStudent, initBackend, loadMnist } from 'kdlab';
import {
  PIXELS, describeBackend, makeRng, Optimizer, adamImplementation, createTrainStep, layerWidths, plainSgemmGflops, resolveObjective, setBlasThreads,
  setFusedSoftmaxLoss, setNativeKernels, trainableVariables, fusedSoftmaxLossAvailable, fusedSoftmaxLoss, type ObjectiveLoss,
} from 'kdlab/compute-internals';
import { ToolError } from '../errors';
import { largestProduct, layerProducts, stepFlopsPerSample } from './bench-flops';
import { formatProfile, profileStep, type BenchBatch, type StepProfile } from './bench-profile';
import { torchReference, type TorchReference } from './bench-torch';

const MODEL_NAMES = ['mlp', 'conv-student', 'conv-teacher'] as const;
type ModelName = (typeof MODEL_NAMES)[number];

/** The compute paths --paths can pick: a name or its prefix before '-' ('native' is all three native ones). */
const PATH_KEYS = ['native-1', 'native-ops', 'native-all', 'wasm'] as const;

/** What each --model times, and its defaults (a default run takes a few minutes at most). */
interface ModelCase {
  family: 'mlp' | 'conv';
  objective: 'kd' | 'hard';
  runs: number;
  steps: number;
  warmup: number;
  /** The step in the header: "one KD step, student", ... */
  title: string;
  build: (hidden: number[]) => tf.Sequential;
  /** result.model: what the model is. */
  describe: (model: tf.LayersModel) => string;
  /** PyTorch's same step (a script in tools/bench/), for these options. */
  torch: (o: BenchOptions) => TorchReference;
}

const paramsOf = (model: tf.LayersModel): string => `${countParams(model).toLocaleString('en-US')} params`;
const convCase = (role: 'student' | 'teacher', filters: [number, number], objective: 'kd' | 'hard', runs: number, steps: number, warmup: number): ModelCase => ({
  family: 'conv',
  objective,
  runs,
  steps,
  warmup,
  title: `${objective === 'kd' ? 'KD' : 'hard-label'} step, conv ${role}`,
  build: () => createModel({ kind: 'conv', filters }, 0),
  describe: (model) => `${filters.join('/')} filters (${paramsOf(model)})`,
  // Each PyTorch process times the teacher for as many steps as a run of ours, after one warm-up
  // step (three would add seconds per run); the student, 20 steps after three.
  torch: (o) =>
    torchReference('kd_conv_step_torch.py', role === 'teacher' ? [role, String(o.steps), '1'] : [role, '20', '3'],
      o.batch === 128 ? undefined : 'the reference script has the fixed batch 128'),
});

const MODELS: Record<ModelName, ModelCase> = {
  mlp: {
    family: 'mlp',
    objective: 'kd',
    runs: 7,
    steps: 20,
    warmup: 5,
    title: 'KD step, student',
    build: (hidden) => createStudent({ hidden, seed: 0 }),
    describe: (model) => `${layerWidths(model).join('-')} (${paramsOf(model)})`,
    torch: (o) =>
      torchReference('kd_step_torch.py', ['60'],
        o.hidden.join(',') !== '800,800' || o.batch !== 128 ? 'the reference script has the fixed shape 784-800-800-10, batch 128' : undefined),
  },
  // About 0.1 s a student step and 1.5 s (native) to 2.5 s (wasm) a teacher step on this 2-core
  // machine: either default run takes one to two minutes with PyTorch interleaved.
  'conv-student': convCase('student', [16, 32], 'kd', 7, 10, 3),
  'conv-teacher': convCase('teacher', [256, 512], 'hard', 5, 2, 1),
};

interface BenchOptions {
  model: ModelName;
  batch: number;
  runs: number;
  steps: number;
  warmup: number;
  hidden: number[];
  /** --paths: the keys of PATH_KEYS (or prefixes) to time; undefined = every path here. */
  paths: string[] | undefined;
  profile: boolean;
  baseline: boolean;
  json: boolean;
  /** Also time PyTorch's step (tools/bench/) where python3 has torch. */
  torch: boolean;
}

const USAGE =
  'usage: kdlab bench train [--model mlp|conv-student|conv-teacher] [--batch 128] [--runs N] [--steps N] [--warmup N]\n' +
  '                         [--hidden 800,800] [--paths native,wasm] [--profile] [--baseline] [--no-torch] [--json]\n' +
  '  Times one training step on every compute path here (native OpenBLAS with 1 thread and with all cores, pure wasm),\n' +
  '  and PyTorch\'s same step on one thread where python3 has torch, runs interleaved; --profile splits the active path.\n' +
  '  --model mlp           KD step of student 784-800-800-10 (default; --hidden sets its hidden layers); 7 runs × 20 steps, 5 warm-up\n' +
  '  --model conv-student  KD step of the 16/32-filter conv net; 7 runs × 10 steps, 3 warm-up\n' +
  '  --model conv-teacher  hard-label step of the 256/512-filter conv net; 5 runs × 2 steps, 1 warm-up (about 1.5 min;\n' +
  '                        --paths native skips pure wasm, the slowest)\n' +
  '  All: batch 128, Adam 1e-3; KD from cached teacher logits, T = 4, alpha = 0.5. PyTorch: tools/bench/kd_step_torch.py,\n' +
  '  tools/bench/kd_conv_step_torch.py. --paths picks paths: native (all native), native-1, native-all, native-ops (mlp), wasm.\n' +
  '       kdlab bench matmul ...   kdlab bench teacher ...\n';

function parseArgs(argv: string[]): BenchOptions {
  const given: Partial<Pick<BenchOptions, 'runs' | 'steps' | 'warmup' | 'hidden'>> = {};
  let model: string = 'mlp';
  const o = { batch: 128, paths: undefined as string[] | undefined, profile: false, baseline: false, json: false, torch: true };
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
    if (a === '--model') model = next();
    else if (a === '--batch') o.batch = int(next());
    else if (a === '--runs') given.runs = int(next());
    else if (a === '--steps') given.steps = int(next());
    else if (a === '--warmup') given.warmup = int(next());
    else if (a === '--hidden') given.hidden = next().split(',').map(int);
    else if (a === '--paths') o.paths = next().split(',');
    else if (a === '--profile') o.profile = true;
    else if (a === '--baseline') o.baseline = true;
    else if (a === '--json') o.json = true;
    else if (a === '--no-torch') o.torch = false;
    else if (a === '--help' || a === '-h') {
      process.stdout.write(USAGE);
      throw new ToolError('HELP', '');
    } else throw new ToolError('BAD_ARGS', `kdlab bench train: unknown option ${a}.`);
  }
  if (!isModelName(model)) {
    throw new ToolError('BAD_ARGS', `kdlab bench train: unknown model "${model}"; use --model ${MODEL_NAMES.join(', ')}.`);
  }
  const m = MODELS[model];
  if (given.hidden && m.family !== 'mlp') {
    throw new ToolError('BAD_ARGS', `kdlab bench train: --hidden sets the MLP's hidden layers, and --model ${model} is a conv net with fixed filters; drop --hidden, or use --model mlp.`);
  }
  const unknown = o.paths?.find((p) => !PATH_KEYS.some((k) => k === p || k.startsWith(`${p}-`)));
  if (unknown !== undefined) {
    throw new ToolError('BAD_ARGS', `kdlab bench train: unknown path "${unknown}" in --paths; use a comma list of native, ${PATH_KEYS.join(', ')}.`);
  }
  return { ...o, model, runs: given.runs ?? m.runs, steps: given.steps ?? m.steps, warmup: given.warmup ?? m.warmup, hidden: given.hidden ?? [800, 800] };
}

function isModelName(name: string): name is ModelName {
  return (MODEL_NAMES as readonly string[]).includes(name);
}

/**
 * Waits 200 ms. Setting OpenBLAS's thread count wakes its worker threads, which then spin for
 * about 100 ms (measured: after a switch from 2 threads to 1, or to 1 again after a child
 * process was spawned, as PyTorch's run is), so a timed run that starts at once is charged a
 * second core it does not use: the one-thread path's samples per CPU-second read 0.6x PyTorch's
 * instead of 1.2x.
 */
function settleBlasThreads(): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
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

interface BenchPath {
  /** Its --paths name (PATH_KEYS), or the backend's name off wasm. */
  key: string;
  label: string;
  native: boolean;
  threads: number;
  /** The loss as the fused wasm kernel (else the objective table's tf ops). */
  fused: boolean;
}

async function benchTrain(argv: string[]): Promise<number> {
  let o: BenchOptions;
  try {
    o = parseArgs(argv);
  } catch (err) {
    if (err instanceof ToolError && err.code === 'HELP') return 0;
    throw err;
  }
  const mc = MODELS[o.model];
  const info = await initBackend({ quiet: true });
  const T = 4;
  const alpha = 0.5;
  const kdStep = mc.objective === 'kd';
  const B = o.batch;
  const pool = 8; // distinct batches cycled through, like an epoch would
  const data = benchInputs(B * pool);
  const rows = data.labels.length;
  const rng = makeRng('bench-teacher');
  // Stand-in for cached teacher logits: what matters is that they come from a Float32Array.
  const teacherLogits = Float32Array.from({ length: rows * NUM_CLASSES }, () => (rng() - 0.5) * 10);

  const model = mc.build(o.hidden);
  const optimizer = new Optimizer({ name: 'adam', learningRate: 1e-3 });
  // The objective's loss is the very function train() and kdLoss run.
  const objective = resolveObjective(kdStep ? { objective: 'kd', temperature: T, alpha } : { objective: 'hard' });
  // Two steps on the same model and optimizer: the loss as one fused kernel (what train() runs
  // on wasm and native) and as tf ops (the objective table's function), to show what fusing buys.
  const fusedLoss = fusedSoftmaxLossAvailable();
  const stepFused = createTrainStep(model, optimizer, objective);
  setFusedSoftmaxLoss(false);
  const stepOps = createTrainStep(model, optimizer, objective);
  setFusedSoftmaxLoss(true);
  let step = stepFused;
  const oneHotRows = new Float32Array(B * NUM_CLASSES);
  const teacherRows = new Float32Array(B * NUM_CLASSES);
  const xRows = new Float32Array(B * PIXELS);
  const labelRows = new Int32Array(B);

  let cursor = 0;
  /** Builds the step's input tensors from typed arrays exactly as the training loop does. */
  const makeBatch = (): BenchBatch => {
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
      // The hard-label step has no teacher: the training loop makes no such tensor for it.
      teacher: kdStep ? tf.tensor2d(teacherRows, [B, NUM_CLASSES]) : undefined,
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
    const plain = mc.build(o.hidden);
    const adam = tf.train.adam(1e-3);
    const vars = trainableVariables(plain);
    plainStep = () => {
      const b = makeBatch();
      const loss = adam.minimize(
        () => objective.loss(plain.apply(b.x, { training: true }) as tf.Tensor2D, b.teacher, b.oneHot),
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

  // Every compute path this machine has, timed on the same model in interleaved runs so that a
  // busy machine slows them alike. The paths share the wasm backend (and so the model's
  // tensors): switching one is switching kernel registrations and the BLAS thread count.
  const cores = os.availableParallelism?.() ?? os.cpus().length;
  const here: BenchPath[] = [];
  if (info.tfjsBackend === 'wasm' && setNativeKernels(true)) {
    here.push({ key: 'native-1', label: 'native (OpenBLAS)', native: true, threads: 1, fused: fusedLoss });
    // The loss as tf ops is the MLP's question (what fusing bought); a conv step is not in its loss.
    if (fusedLoss && mc.family === 'mlp') here.push({ key: 'native-ops', label: 'native (OpenBLAS), loss as tf ops', native: true, threads: 1, fused: false });
    if (cores > 1) here.push({ key: 'native-all', label: 'native (OpenBLAS)', native: true, threads: cores, fused: fusedLoss });
  }
  if (info.tfjsBackend === 'wasm') here.push({ key: 'wasm', label: 'wasm (SIMD)', native: false, threads: 1, fused: fusedLoss });
  if (here.length === 0) here.push({ key: info.name, label: info.name, native: false, threads: info.threads, fused: false });
  const paths = o.paths ? here.filter((p) => o.paths?.some((k) => p.key === k || p.key.startsWith(`${k}-`))) : here;
  if (paths.length === 0) {
    throw new ToolError('BAD_ARGS', `kdlab bench train: no compute path here matches --paths ${o.paths?.join(',')} (here: ${here.map((p) => p.key).join(', ')}); pick from those.`);
  }
  const usePath = (p: BenchPath): void => {
    step = p.fused ? stepFused : stepOps;
    if (info.tfjsBackend !== 'wasm') return;
    setNativeKernels(p.native);
    if (p.native) {
      setBlasThreads(p.threads);
      settleBlasThreads();
    }
  };
  const torch = o.torch ? mc.torch(o) : undefined;

  for (const p of paths) {
    usePath(p);
    for (let i = 0; i < o.warmup; i++) oneStep(i === o.warmup - 1);
  }
  for (let i = 0; i < o.warmup; i++) plainStep?.();
  const rates = new Map<BenchPath, number[]>(paths.map((p) => [p, []]));
  const cpuRates = new Map<BenchPath, number[]>(paths.map((p) => [p, []]));
  const plainRates: number[] = [];
  const torchRates: number[] = [];
  const torchCpuRates: number[] = [];
  const active = paths.find((p) => p.native === (info.name === 'native') && p.fused === fusedLoss && (!p.native || p.threads === info.threads)) ?? paths[0];
  for (let r = 0; r < o.runs; r++) {
    for (const p of paths) {
      usePath(p);
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      for (let s = 0; s < o.steps; s++) oneStep(s % 10 === 9);
      const ms = performance.now() - t0;
      const cpu = process.cpuUsage(c0);
      rates.get(p)?.push((o.steps * B * 1000) / ms);
      // Samples per CPU-second of this process: less sensitive to other processes on a shared machine.
      cpuRates.get(p)?.push((o.steps * B * 1e6) / (cpu.user + cpu.system));
    }
    usePath(active);
    if (plainStep) {
      const p0 = performance.now();
      for (let s = 0; s < o.steps; s++) plainStep();
      plainRates.push((o.steps * B * 1000) / (performance.now() - p0));
    }
    const t = torch?.run();
    if (t !== undefined) {
      torchRates.push(t.wall);
      torchCpuRates.push(t.cpu);
    }
  }
  usePath(active);
  disposePlain();
  const med = median(rates.get(active) ?? []);
  const products = layerProducts(model);
  const flopsPerSample = stepFlopsPerSample(products);
  const pathResults = paths.map((p) => {
    const m = median(rates.get(p) ?? []);
    const list = rates.get(p) ?? [];
    return {
      path: p.label,
      threads: p.threads,
      samplesPerSecond: Math.round(m),
      minMax: [Math.round(Math.min(...list)), Math.round(Math.max(...list))],
      samplesPerCpuSecond: Math.round(median(cpuRates.get(p) ?? [])),
      msPerStep: +((B * 1000) / m).toFixed(2),
      gflops: +((m * flopsPerSample) / 1e9).toFixed(1),
    };
  });
  // The practical ceiling: plain cblas_sgemm on the step's biggest product, no tfjs around it
  // (a convolution as its im2col product). About 6.5 GFLOP of repetitions, at least 3.
  const big = largestProduct(products, B);
  const reps = Math.max(3, Math.min(40, Math.round(6.5e9 / (2 * big.m * big.k * big.n))));
  const ceiling = paths.some((p) => p.native)
    ? [...new Set(paths.filter((p) => p.native).map((p) => p.threads))].map((threads) => {
        setBlasThreads(threads);
        return { threads, shape: `${big.m}x${big.k}x${big.n}`, layer: big.layer, gflops: +(plainSgemmGflops(big.m, big.n, big.k, false, false, reps) ?? 0).toFixed(1) };
      })
    : [];
  usePath(active);

  const result: Record<string, unknown> = {
    backend: info.name,
    backendLine: describeBackend(info),
    modelKind: o.model,
    model: mc.describe(model),
    objective: mc.objective,
    batch: B,
    ...(kdStep ? { temperature: T, alpha } : {}),
    optimizer: `adam 1e-3 (${adamImplementation()})`,
    inputs: data.source,
    runs: o.runs,
    stepsPerRun: o.steps,
    samplesPerSecond: Math.round(med),
    samplesPerCpuSecond: Math.round(median(cpuRates.get(active) ?? [])),
    msPerStep: +((B * 1000) / med).toFixed(2),
    minMax: [Math.round(Math.min(...(rates.get(active) ?? []))), Math.round(Math.max(...(rates.get(active) ?? [])))],
    gflopPerStep: +((flopsPerSample * B) / 1e9).toFixed(3),
    paths: pathResults,
    sgemmCeiling: ceiling,
    lastLoss,
    cpus: os.cpus().length,
    loadAverage: +os.loadavg()[0].toFixed(2),
  };
  if (torch) {
    result.torch = torchRates.length > 0
      ? { samplesPerSecond: Math.round(median(torchRates)), samplesPerCpuSecond: Math.round(median(torchCpuRates)), minMax: [Math.round(Math.min(...torchRates)), Math.round(Math.max(...torchRates))], threads: 1, version: torch.version }
      : { unavailable: torch.why || 'the script failed' };
  }

  // The profile times the step's parts one by one with the loss the step runs (fused or tf ops).
  const fusedAttrs = kdStep ? { temperature: T, alpha } : { temperature: 1, alpha: 0 };
  const profiledLoss: ObjectiveLoss = fusedLoss
    ? (student, teacher, oneHot) => fusedSoftmaxLoss(student, oneHot, teacher, fusedAttrs).loss
    : objective.loss;
  if (o.profile) result.profile = await profileStep(model, mc.family, optimizer, makeBatch, profiledLoss, o.steps, info.name === 'native');
  if (o.baseline) result.baselineSamplesPerSecond = Math.round(median(plainRates));
  // Adam's moment tensors belong to the optimizer; anything else left over would be a leak.
  optimizer.dispose();
  const leaked = tf.memory().numTensors - baseline;
  result.leakedTensors = leaked;

  if (o.json) {
    process.stdout.write(`${JSON.stringify(result, null, 1)}\n`);
  } else {
    const torchRate = torchRates.length > 0 ? median(torchRates) : undefined;
    const torchCpu = torchCpuRates.length > 0 ? median(torchCpuRates) : undefined;
    // Two ratios: wall clock (what a reader waits for) and per CPU-second of each process (less
    // sensitive to other jobs on a shared machine).
    const table = [['path', 'threads', 'samples/s', 'min–max', 'per CPU-s', 'ms/step', 'GFLOP/s', ...(torchRate && torchCpu ? ['vs PyTorch', 'per CPU-s'] : [])]];
    for (const p of pathResults) {
      table.push([p.path, String(p.threads), String(p.samplesPerSecond), `${p.minMax[0]}–${p.minMax[1]}`, String(p.samplesPerCpuSecond), String(p.msPerStep), String(p.gflops),
        ...(torchRate && torchCpu ? [`${(p.samplesPerSecond / torchRate).toFixed(2)}x`, `${(p.samplesPerCpuSecond / torchCpu).toFixed(2)}x`] : [])]);
    }
    if (torchRate && torchCpu) {
      table.push([`PyTorch ${torch?.version} (reference)`, '1', String(Math.round(torchRate)),
        `${Math.round(Math.min(...torchRates))}–${Math.round(Math.max(...torchRates))}`, String(Math.round(median(torchCpuRates))), ((B * 1000) / torchRate).toFixed(2),
        ((torchRate * flopsPerSample) / 1e9).toFixed(1), '1.00x', '1.00x']);
    }
    const widths = table[0].map((_, c) => Math.max(...table.map((row) => row[c].length)));
    const lines = [
      describeBackend(info),
      `bench train: one ${mc.title} ${result.model}, batch ${B}, ${result.optimizer}` + (kdStep ? `, cached teacher logits, T = ${T}, alpha = ${alpha}` : ''),
      `  ${result.gflopPerStep} GFLOP per step (forward, weight gradients, input gradients of layers 2+${mc.family === 'conv' ? '; convolutions as im2col products' : ''}); ` +
        `median of ${o.runs} interleaved runs × ${o.steps} steps after ${o.warmup} warm-up`,
      ...table.map((row) => `  ${row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ')}`),
    ];
    if (torch && !torchRate) lines.push(`  PyTorch reference not run: ${torch.why || 'the script failed'}`);
    for (const c of ceiling) {
      lines.push(`  ceiling: plain cblas_sgemm ${c.shape}${mc.family === 'conv' ? ` (m×k×n of ${c.layer} as im2col)` : ''} on ${c.threads} thread${c.threads === 1 ? '' : 's'}: ${c.gflops} GFLOP/s`);
    }
    lines.push(
      `  active path (${active.label}, ${active.threads} thread${active.threads === 1 ? '' : 's'}): ${result.samplesPerCpuSecond} samples per CPU-second of this process`,
      `  inputs: ${data.source}; tensors leaked: ${leaked}; machine: ${result.cpus} CPUs, 1-min load average ${result.loadAverage}` +
        (os.loadavg()[0] > 1 ? ' (other processes compete for the CPU: expect lower, noisier numbers)' : ''),
    );
    if (o.baseline) {
      const base = result.baselineSamplesPerSecond as number;
      lines.push(`  baseline (model.apply + tf.train.adam().minimize, same kernels, runs interleaved): ${base} samples/s; this step is ${(med / base).toFixed(2)}x faster`);
    }
    if (o.profile) lines.push(formatProfile(result.profile as StepProfile, mc.family));
    process.stdout.write(`${lines.join('\n')}\n`);
  }
  model.dispose();
  return 0;
}

export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'teacher') {
    const mod = await import('./bench-teacher');
    return mod.run(rest);
  }
  if (sub === 'matmul') {
    // The matmul benchmark is a separate module (owned by the backend work).
    const mod = await import('./bench-matmul');
    return mod.run(rest);
  }
  if (sub === undefined || sub === 'train') return benchTrain(rest);
  if (sub.startsWith('-')) return benchTrain(argv);
  process.stderr.write(`kdlab bench: unknown benchmark "${sub}" (use train, teacher or matmul).\n`);
  return 2;
}
