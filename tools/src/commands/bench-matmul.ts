import * as tf from '@tensorflow/tfjs';
import { initBackend } from 'kdlab';
import { describeBackend } from 'kdlab/compute-internals';
import { setNativeKernels, stockWasmMatMul } from 'kdlab/compute-internals';

interface Case {
  label: string;
  m: number;
  k: number;
  n: number;
}

const CASES: Case[] = [
  { label: '1024x1024 · 1024x1024', m: 1024, k: 1024, n: 1024 },
  { label: '128x784 · 784x800', m: 128, k: 784, n: 800 },
];

const VARIANTS: Array<{ name: string; ta: boolean; tb: boolean }> = [
  { name: 'A·B', ta: false, tb: false },
  { name: 'Aᵀ·B', ta: true, tb: false },
  { name: 'A·Bᵀ', ta: false, tb: true },
];

/** Median seconds of `fn` over `reps` runs after one warm-up; dataSync forces completion. */
function timeIt(fn: () => tf.Tensor, reps: number): number {
  fn().dispose();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    const out = fn();
    out.dataSync();
    times.push((performance.now() - t0) / 1000);
    out.dispose();
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

/**
 * `kdlab bench matmul`: GFLOP/s of plain and transposed products: stock wasm kernel, the
 * workbook's wasm kernel (transposed-operand fix) and, where built, the OpenBLAS kernel.
 */
export async function run(_argv: string[]): Promise<number> {
  const info = await initBackend({ quiet: true });
  console.log(describeBackend(info));
  const wasm = info.tfjsBackend === 'wasm';
  const native = wasm && setNativeKernels(true);
  const rows: string[][] = [['shape', 'product', wasm ? 'stock wasm' : '', 'kdlab wasm', native ? 'OpenBLAS' : '', wasm ? 'best vs stock' : '']];
  for (const c of CASES) {
    for (const v of VARIANTS) {
      const a = tf.randomNormal(v.ta ? [c.k, c.m] : [c.m, c.k], 0, 1, 'float32', 1);
      const b = tf.randomNormal(v.tb ? [c.n, c.k] : [c.k, c.n], 0, 1, 'float32', 2);
      const flops = 2 * c.m * c.k * c.n;
      const reps = c.m >= 1024 ? 3 : 15;
      const blas = native ? flops / timeIt(() => tf.matMul(a, b, v.ta, v.tb), reps) / 1e9 : 0;
      if (native) setNativeKernels(false);
      const fixed = flops / timeIt(() => tf.matMul(a, b, v.ta, v.tb), reps) / 1e9;
      if (native) setNativeKernels(true);
      let stockCell = '';
      let speedup = '';
      if (wasm) {
        // The stock transposed kernel is so slow at 1024² that one run is plenty.
        const stock = flops / timeIt(() => stockWasmMatMul(a, b, v.ta, v.tb), v.ta || v.tb ? 1 : reps) / 1e9;
        stockCell = stock.toFixed(2);
        speedup = `${(Math.max(fixed, blas) / stock).toFixed(1)}x`;
      }
      rows.push([c.label, v.name, stockCell, fixed.toFixed(2), native ? blas.toFixed(2) : '', speedup]);
      a.dispose();
      b.dispose();
    }
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  for (const r of rows) console.log(r.map((cell, i) => cell.padStart(widths[i])).join('  '));
  return 0;
}
