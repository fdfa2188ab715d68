/**
 * `kdlab bench teacher`: how long one epoch of the full-mode teacher takes (2×1200, dropout
 * 0.5 / 0.2, max-norm, 2-pixel jitter, Adam, batch 128, 55,000 images) on each compute path here.
 * It trains the real recipe through train() on a slice of the training set, paths interleaved,
 * and extrapolates to the full epoch. Prints numbers; it is not a test.
 */
import * as os from 'node:os';
import { chapterConfig, chapterData, createTeacher, initBackend, train } from 'kdlab';
import { describeBackend } from 'kdlab/compute-internals';
import { fusedSoftmaxLossAvailable, setBlasThreads, setFusedDropout, setFusedSoftmaxLoss, setNativeKernels } from 'kdlab/compute-internals';
import { ToolError } from '../errors';

const FULL_EPOCH_IMAGES = 55000;

function parse(argv: string[]): { images: number; runs: number } {
  const o = { images: 3840, runs: 3 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const n = Number(argv[i + 1]);
    if ((a === '--images' || a === '--runs') && Number.isInteger(n) && n > 0) {
      if (a === '--images') o.images = n;
      else o.runs = n;
      i++;
    } else if (a === '--help' || a === '-h') {
      process.stdout.write('usage: kdlab bench teacher [--images 3840] [--runs 3]\n');
      throw new ToolError('HELP', '');
    } else {
      throw new ToolError('BAD_ARGS', `kdlab bench teacher: unknown option or bad value ${a} (use --images N, --runs N).`);
    }
  }
  return o;
}

export async function run(argv: string[]): Promise<number> {
  let o: { images: number; runs: number };
  try {
    o = parse(argv);
  } catch (err) {
    if (err instanceof ToolError && err.code === 'HELP') return 0;
    throw err;
  }
  const info = await initBackend({ quiet: true });
  const cfg = chapterConfig('full');
  const t = cfg.teacher;
  const data = chapterData(cfg, o.images);
  const cores = os.availableParallelism?.() ?? os.cpus().length;
  // fused: dropout and the loss as single wasm kernels (what train() runs); off = tf.dropout and
  // the loss as tf ops, as before those kernels, to show what they buy.
  const fused = fusedSoftmaxLossAvailable();
  const paths: { label: string; native: boolean; fused: boolean }[] = [];
  if (info.tfjsBackend === 'wasm' && setNativeKernels(true)) {
    paths.push({ label: `native (OpenBLAS, ${cores} threads)`, native: true, fused });
    if (fused) paths.push({ label: `  same, tf.dropout and tf-ops loss`, native: true, fused: false });
  }
  if (info.tfjsBackend === 'wasm') paths.push({ label: 'wasm (SIMD, 1 thread)', native: false, fused });
  if (paths.length === 0) paths.push({ label: info.name, native: false, fused: false });
  const seconds = new Map<string, number[]>(paths.map((p) => [p.label, []]));
  for (let r = 0; r < o.runs + 1; r++) {
    for (const p of paths) {
      if (info.tfjsBackend === 'wasm') {
        setNativeKernels(p.native);
        if (p.native) setBlasThreads(cores);
        setFusedDropout(p.fused);
        setFusedSoftmaxLoss(p.fused);
      }
      const model = createTeacher({ hidden: t.hidden, dropout: t.dropout, inputDropout: t.inputDropout, maxNorm: t.maxNorm, seed: r });
      const t0 = performance.now();
      await train(model, {
        train: data.train,
        epochs: 1,
        batchSize: cfg.batchSize,
        optimizer: { name: 'adam', learningRate: t.learningRate },
        seed: r,
        jitter: t.jitter,
      });
      const s = (performance.now() - t0) / 1000;
      model.dispose();
      if (r > 0) seconds.get(p.label)?.push(s); // run 0 warms up
    }
  }
  setNativeKernels(info.name === 'native');
  setFusedDropout(true);
  setFusedSoftmaxLoss(true);
  console.log(describeBackend(info));
  console.log(
    `bench teacher: full-mode teacher ${[784, ...t.hidden, 10].join('-')}, dropout ${t.dropout} / ${t.inputDropout}, max-norm ${t.maxNorm}, ` +
      `jitter ${t.jitter} px, batch ${cfg.batchSize}, Adam; ${o.images} images per run, median of ${o.runs} interleaved runs`,
  );
  for (const p of paths) {
    const list = [...(seconds.get(p.label) ?? [])].sort((a, b) => a - b);
    const med = list[Math.floor(list.length / 2)];
    const perImage = med / o.images;
    const epoch = perImage * FULL_EPOCH_IMAGES;
    console.log(`  ${p.label.padEnd(36)} ${Math.round(o.images / med)} images/s; one epoch of ${FULL_EPOCH_IMAGES.toLocaleString('en-US')} ≈ ${epoch.toFixed(1)} s; ${t.epochs} epochs ≈ ${((epoch * t.epochs) / 60).toFixed(1)} min`);
  }
  console.log(`  machine: ${os.cpus().length} CPUs, 1-min load average ${os.loadavg()[0].toFixed(2)}`);
  return 0;
}
