/**
 * The wasm Adam kernel is assembled from readable WebAssembly text (lib/src/kernels/adam.wat) at
 * build time. It must compute exactly what the hand-assembled bytes it replaced computed: both
 * run on the same random inputs in one memory and their outputs are compared bit for bit.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeRng } from '../../lib/src/data';

const BUILT = path.resolve(__dirname, '..', '..', 'lib', 'dist', 'kernels', 'adam.wasm');

/** The kernel as it was before adam.wat: hand-assembled bytes (kept here as the reference). */
function legacyAdamBytes(): Uint8Array {
  const simd = (op: number) => (op < 0x80 ? [0xfd, op] : [0xfd, (op & 0x7f) | 0x80, op >> 7]);
  const get = (i: number) => [0x20, i];
  const set = (i: number) => [0x21, i];
  const load = (base: number) => [...get(base), ...get(14), 0x6a, ...simd(0x00), 0x00, 0x00];
  const F32X4 = { splat: 0x13, sqrt: 0xe3, add: 0xe4, sub: 0xe5, mul: 0xe6, div: 0xe7 };
  const store = [...simd(0x0b), 0x00, 0x00];
  const body = [
    // locals: 14 i, 15 end (i32); 16 g, 17 m, 18 v, 19..24 splats (v128)
    0x02, 0x02, 0x7f, 0x09, 0x7b,
    ...get(7), 0x41, 0x02, 0x74, ...set(15),
    ...[8, 9, 10, 11, 12, 13].flatMap((p, k) => [...get(p), ...simd(F32X4.splat), ...set(19 + k)]),
    0x02, 0x40,
    ...get(14), ...get(15), 0x4f, 0x0d, 0x00,
    0x03, 0x40,
    ...load(1), ...set(16),
    ...get(19), ...load(2), ...simd(F32X4.mul), ...get(20), ...get(16), ...simd(F32X4.mul), ...simd(F32X4.add), ...set(17),
    ...get(21), ...load(3), ...simd(F32X4.mul), ...get(22), ...get(16), ...simd(F32X4.mul), ...get(16), ...simd(F32X4.mul),
    ...simd(F32X4.add), ...set(18),
    ...get(5), ...get(14), 0x6a, ...get(17), ...store,
    ...get(6), ...get(14), 0x6a, ...get(18), ...store,
    ...get(4), ...get(14), 0x6a,
    ...load(0), ...get(23), ...get(17), ...simd(F32X4.mul), ...get(18), ...simd(F32X4.sqrt), ...get(24), ...simd(F32X4.add),
    ...simd(F32X4.div), ...simd(F32X4.sub), ...store,
    ...get(14), 0x41, 0x10, 0x6a, 0x22, 14, ...get(15), 0x49, 0x0d, 0x00,
    0x0b, 0x0b, 0x0b,
  ];
  const section = (id: number, content: number[]) => [id, ...leb(content.length), ...content];
  const leb = (n: number) => {
    const out: number[] = [];
    do {
      let byte = n & 0x7f;
      n >>>= 7;
      if (n !== 0) byte |= 0x80;
      out.push(byte);
    } while (n !== 0);
    return out;
  };
  const name = (s: string) => [s.length, ...Array.from(s, (c) => c.charCodeAt(0))];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [0x01, 0x60, 14, ...new Array(8).fill(0x7f), ...new Array(6).fill(0x7d), 0x00]),
    ...section(2, [0x01, ...name('env'), ...name('memory'), 0x02, 0x00, 0x01]),
    ...section(3, [0x01, 0x00]),
    ...section(7, [0x01, ...name('adam'), 0x00, 0x00]),
    ...section(10, [0x01, ...leb(body.length), ...body]),
  ]);
}

type Adam = (...args: number[]) => void;

function instantiate(bytes: Uint8Array, memory: WebAssembly.Memory): Adam {
  const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
  return instance.exports.adam as Adam;
}

test('adam.wat assembles to a kernel that gives bit-identical results to the hand-assembled bytes', { skip: fs.existsSync(BUILT) ? false : 'lib/dist not built' }, () => {
  const n = 4 * 1037; // a multiple of 4, not of a power of two
  const memory = new WebAssembly.Memory({ initial: 4 }) // 10 arrays of n floats: 166 kB;
  const rng = makeRng('adam-kernel');
  // w, g, m, v inputs, then two sets of w2, m2, v2 outputs; 4-byte aligned but not 16-byte aligned.
  const base = 4;
  const at = (k: number) => base + k * n * 4;
  const f32 = new Float32Array(memory.buffer);
  for (let k = 0; k < 4; k++) {
    for (let i = 0; i < n; i++) f32[at(k) / 4 + i] = k === 3 ? rng() * 1e-3 : (rng() - 0.5) * (k === 1 ? 10 : 1);
  }
  const scalars = [0.9, 0.1, 0.999, 1 - 0.999, 0.0123, 1e-7 * Math.sqrt(1 - 0.999 ** 7)];
  instantiate(new Uint8Array(fs.readFileSync(BUILT)), memory)(at(0), at(1), at(2), at(3), at(4), at(5), at(6), n, ...scalars);
  instantiate(legacyAdamBytes(), memory)(at(0), at(1), at(2), at(3), at(7), at(8), at(9), n, ...scalars);
  const bits = new Uint32Array(memory.buffer);
  for (let k = 0; k < 3; k++) {
    const ours = bits.subarray(at(4 + k) / 4, at(4 + k) / 4 + n);
    const theirs = bits.subarray(at(7 + k) / 4, at(7 + k) / 4 + n);
    assert.deepEqual(ours, theirs, `output ${['w2', 'm2', 'v2'][k]} differs`);
  }
  // And the update did something: w2 differs from w.
  assert.notDeepEqual(bits.subarray(at(4) / 4, at(4) / 4 + n), bits.subarray(at(0) / 4, at(0) / 4 + n));
});
