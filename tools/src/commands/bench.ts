/**
 * `kdlab bench train`: samples per second of one distillation step (student 784-800-800-10 ReLU,
 * batch 128, Adam 1e-3, cached teacher logits, T = 4, alpha = 0.5) on the active backend,
 * median of several timed runs after a warm-up. `--profile` adds where the time goes.
 * `kdlab bench matmul` lives in ./bench-matmul.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import * as tf from '@tensorflow/tfjs';
import { NUM_CLASSES, countParams, createStudent, initBackend, loadMnist } from 'kdlab';
import {
  PIXELS, describeBackend, makeRng, Optimizer, adamImplementation, createTrainStep, layerWidths, plainSgemmGflops, resolveObjective, setBlasThreads,
  setFusedSoftmaxLoss, setNativeKernels, trainableVariables, trainingForward, fusedSoftmaxLossAvailable, fusedSoftmaxLoss, type ObjectiveLoss,
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
  /** Also time PyTorch's step (tools/bench/kd_step_torch.py) where python3 has torch. */
  torch: boolean;
}

function parseArgs(argv: string[]): BenchOptions {
  const o: BenchOptions = { batch: 128, runs: 7, steps: 20, warmup: 5, hidden: [800, 800], profile: false, baseline: false, json: false, torch: true };
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
    else if (a === '--no-torch') o.torch = false;
    else if (a === '--help' || a === '-h') {
      process.stdout.write(
        'usage: kdlab bench train [--batch 128] [--runs 7] [--steps 20] [--warmup 5] [--hidden 800,800] [--profile] [--baseline] [--no-torch] [--json]\n' +
          '  Times the KD step on every compute path here (native OpenBLAS with 1 thread and with all cores, pure wasm),\n' +
          '  and PyTorch\'s step on one thread where python3 has torch, runs interleaved; --profile splits the active path.\n' +
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
  // Two steps on the same model and optimizer: the loss as one fused kernel (what train() runs
  // on wasm and native) and as tf ops (the objective table's function), to show what fusing buys.
  const fusedLoss = fusedSoftmaxLossAvailable();
  const stepFused = createTrainStep(model, optimizer, kd);
  setFusedSoftmaxLoss(false);
  const stepOps = createTrainStep(model, optimizer, kd);
  setFusedSoftmaxLoss(true);
  let step = stepFused;
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

  // Every compute path this machine has, timed on the same model in interleaved runs so that a
  // busy machine slows them alike. The paths share the wasm backend (and so the model's
  // tensors): switching one is switching kernel registrations and the BLAS thread count.
  const cores = os.availableParallelism?.() ?? os.cpus().length;
  const paths: BenchPath[] = [];
  if (info.tfjsBackend === 'wasm' && setNativeKernels(true)) {
    paths.push({ label: 'native (OpenBLAS)', native: true, threads: 1, fused: fusedLoss });
    if (fusedLoss) paths.push({ label: 'native (OpenBLAS), loss as tf ops', native: true, threads: 1, fused: false });
    if (cores > 1) paths.push({ label: 'native (OpenBLAS)', native: true, threads: cores, fused: fusedLoss });
  }
  if (info.tfjsBackend === 'wasm') paths.push({ label: 'wasm (SIMD)', native: false, threads: 1, fused: fusedLoss });
  if (paths.length === 0) paths.push({ label: info.name, native: false, threads: info.threads, fused: false });
  const usePath = (p: BenchPath): void => {
    step = p.fused ? stepFused : stepOps;
    if (info.tfjsBackend !== 'wasm') return;
    setNativeKernels(p.native);
    if (p.native) setBlasThreads(p.threads);
  };
  const torch = o.torch ? torchReference(o.hidden, B) : undefined;

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
  const flopsPerSample = stepFlopsPerSample(layerWidths(model));
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
  // The practical ceiling: plain cblas_sgemm on the step's biggest product, no tfjs around it.
  const ceiling = paths.some((p) => p.native)
    ? [...new Set(paths.filter((p) => p.native).map((p) => p.threads))].map((threads) => {
        setBlasThreads(threads);
        return { threads, shape: `${B}x${o.hidden[0]}x${o.hidden[0]}`, gflops: +(plainSgemmGflops(B, o.hidden[0], o.hidden[0], false, false, 40) ?? 0).toFixed(1) };
      })
    : [];
  usePath(active);

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
      : { unavailable: torch.why };
  }

  const profiledLoss: ObjectiveLoss = fusedLoss
    ? (student, teacher, oneHot) => fusedSoftmaxLoss(student, oneHot, teacher, { temperature: T, alpha }).loss
    : kd.loss;
  if (o.profile) result.profile = await profileStep(model, optimizer, makeBatch, profiledLoss, o.steps, info.name === 'native');
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
      `bench train: one KD step, student ${result.model}, batch ${B}, ${result.optimizer}, cached teacher logits, T = ${T}, alpha = ${alpha}`,
      `  ${result.gflopPerStep} GFLOP per step (forward, weight gradients, input gradients of layers 2+); median of ${o.runs} interleaved runs × ${o.steps} steps after ${o.warmup} warm-up`,
      ...table.map((row) => `  ${row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ')}`),
    ];
    if (torch && !torchRate) lines.push(`  PyTorch reference not run: ${torch.why}`);
    for (const c of ceiling) lines.push(`  ceiling: plain cblas_sgemm ${c.shape} on ${c.threads} thread${c.threads === 1 ? '' : 's'}: ${c.gflops} GFLOP/s`);
    lines.push(
      `  active path (${active.label}, ${active.threads} thread${active.threads === 1 ? '' : 's'}): ${result.samplesPerCpuSecond} samples per CPU-second of this process`,
      `  inputs: ${data.source}; tensors leaked: ${leaked}; machine: ${result.cpus} CPUs, 1-min load average ${result.loadAverage}` +
        (os.loadavg()[0] > 1 ? ' (other processes compete for the CPU: expect lower, noisier numbers)' : ''),
    );
    if (o.baseline) {
      const base = result.baselineSamplesPerSecond as number;
      lines.push(`  baseline (model.apply + tf.train.adam().minimize, same kernels, runs interleaved): ${base} samples/s; this step is ${(med / base).toFixed(2)}x faster`);
    }
    if (o.profile) lines.push(formatProfile(result.profile as StepProfile));
    process.stdout.write(`${lines.join('\n')}\n`);
  }
  model.dispose();
  return 0;
}

interface BenchPath {
  label: string;
  native: boolean;
  threads: number;
  /** The loss as the fused wasm kernel (else the objective table's tf ops). */
  fused: boolean;
}

/** FLOPs of one training step per sample: forward, weight gradients, input gradients of layers 2+. */
function stepFlopsPerSample(widths: number[]): number {
  let forward = 0;
  let inputGrads = 0;
  for (let l = 1; l < widths.length; l++) {
    forward += 2 * widths[l - 1] * widths[l];
    if (l > 1) inputGrads += 2 * widths[l - 1] * widths[l];
  }
  return 2 * forward + inputGrads;
}

/**
 * PyTorch's version of the same step (tools/bench/kd_step_torch.py) on one thread, the yardstick
 * for the native path. Present where a python3 with torch is installed; each run() is one
 * process that times 60 steps after its own warm-up.
 */
/** PyTorch's samples/s (wall clock) and samples per CPU-second of its process, one run. */
interface TorchRun {
  wall: number;
  cpu: number;
}

function torchReference(hidden: number[], batch: number): { run: () => TorchRun | undefined; version: string; why: string } {
  const script = path.resolve(__dirname, '..', '..', 'bench', 'kd_step_torch.py');
  const python = process.env.KDLAB_TORCH_PYTHON ?? (fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');
  const none = (why: string) => ({ run: () => undefined, version: '', why });
  if (hidden.join(',') !== '800,800' || batch !== 128) return none('the reference script has the fixed shape 784-800-800-10, batch 128');
  let images: string;
  try {
    images = path.join(loadMnist({ verify: false }).dir, 'train-images-idx3-ubyte');
  } catch {
    return none('MNIST not found');
  }
  const env = { ...process.env, OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1' };
  const probe = spawnSync(python, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8', env });
  if (probe.status !== 0) return none(`${python} has no torch (Debian: apt-get install python3-torch libopenblas0-pthread)`);
  return {
    version: probe.stdout.trim(),
    why: '',
    run: () => {
      const r = spawnSync(python, [script, images, '60'], { encoding: 'utf8', env });
      const [wall, cpu] = (r.stdout.trim().split('\n').pop() ?? '').split(' ').map(Number);
      return r.status === 0 && Number.isFinite(wall) && Number.isFinite(cpu) ? { wall, cpu } : undefined;
    },
  };
}

interface StepProfile {
  /** Wall time of inputs + forward/backward in the profiled steps (same steps as the kernel times). */
  profiledWall: number;
  /** Wall time per step split into phases (ms, mean over timed steps). */
  phases: { inputs: number; forwardBackward: number; optimizer: number; total: number };
  /** Kernel time per step by category from tf.profile (ms). */
  kernels: { matmul: number; transpose: number; elementwise: number; other: number; total: number };
  topKernels: { name: string; ms: number; calls: number }[];
  native: boolean;
}

async function profileStep(
  model: tf.LayersModel,
  optimizer: Optimizer,
  makeBatch: () => { x: tf.Tensor2D; oneHot: tf.Tensor2D; labels: tf.Tensor1D; teacher: tf.Tensor2D },
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
    else if (/^(Add|Sub|Multiply|RealDiv|Relu|Step|Exp|Log|Neg|Sqrt|Square|Maximum|Cast|Equal|ZerosLike|Fill|Identity|Reshape|KdlabDenseGrad)$/.test(name))
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
    native,
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
    `    matmul ${p.kernels.matmul}${p.native ? ' (OpenBLAS)' : ' (includes the explicit transposes of the matmul fix)'}, transpose ${p.kernels.transpose}, ` +
      `element-wise ${p.kernels.elementwise}, reductions/softmax/other ${p.kernels.other}; sum ${p.kernels.total}`,
    `    framework overhead (wall − kernel time of inputs + forward/backward in the profiled steps) ≈ ${overhead.toFixed(2)}`,
    `    top: ${p.topKernels.map((k) => `${k.name} ${k.ms} (${k.calls}×)`).join(', ')}`,
  ].join('\n');
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
