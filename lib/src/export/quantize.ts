/**
 * Weight quantization in the format TensorFlow.js loads natively: a weight-manifest entry with
 * `quantization: { dtype: 'float16' }` (IEEE half floats) or `{ dtype: 'uint8', scale, min }`
 * (affine, value = q · scale + min), exactly what `tf.io.decodeWeights` undoes when a layers
 * model is loaded. Pure arrays, no tfjs state and no Node module: it runs in the page as well.
 */
import type * as tf from '@tensorflow/tfjs';
import { InputError } from '../errors';

/** How each float32 weight is stored: as is, as a half float, or as one byte per value. */
export type WeightQuantization = 'float32' | 'float16' | 'uint8';

export const WEIGHT_QUANTIZATIONS: readonly WeightQuantization[] = ['float32', 'float16', 'uint8'];

export function checkQuantization(q: string, where: string): WeightQuantization {
  if (!(WEIGHT_QUANTIZATIONS as readonly string[]).includes(q)) {
    throw new InputError('BAD_DTYPE', `${where}: quantization must be one of ${WEIGHT_QUANTIZATIONS.join(', ')}, got ${JSON.stringify(q)}.`);
  }
  return q as WeightQuantization;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The IEEE 754 half-float bits nearest to `value` (round to nearest even; overflow → ±Infinity). */
export function float16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0); // Inf / NaN
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // too large: Infinity
  if (e <= 0) {
    // Subnormal half (or zero): shift the mantissa with its implicit 1 into place, round to even.
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rest = mant & ((1 << shift) - 1);
    let m = mant >>> shift;
    if (rest > half || (rest === half && (m & 1) === 1)) m += 1;
    return sign | m;
  }
  const rest = mant & 0x1fff;
  let h = sign | (e << 10) | (mant >>> 13);
  if (rest > 0x1000 || (rest === 0x1000 && (h & 1) === 1)) h += 1; // may carry into the exponent: still correct
  return h;
}

/** The value a half float's bits stand for (what tfjs's float16 decoder returns). */
export function float16Value(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >>> 10) & 0x1f;
  const mant = bits & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/**
 * Affine uint8 range of `values` as the TensorFlow.js converter computes it: scale = (max − min) / 255,
 * with min nudged so that 0 is stored exactly (zero biases stay zero).
 */
export function uint8Range(values: Float32Array): { scale: number; min: number } {
  let lo = 0;
  let hi = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (hi === lo) return { scale: 1, min: lo };
  const scale = (hi - lo) / 255;
  const zeroPoint = Math.round(-lo / scale);
  return { scale, min: -zeroPoint * scale };
}

export interface QuantizedWeights {
  specs: tf.io.WeightsManifestEntry[];
  data: ArrayBuffer;
}

/**
 * Re-encodes float32 weights (as `model.save` writes them: `specs` in order, values packed in
 * `data`) with `quantization`. Only float32 entries are quantized; others are copied unchanged.
 */
export function quantizeWeights(specs: readonly tf.io.WeightsManifestEntry[], data: ArrayBuffer, quantization: WeightQuantization): QuantizedWeights {
  checkQuantization(quantization, 'quantizeWeights');
  const outSpecs: tf.io.WeightsManifestEntry[] = [];
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const spec of specs) {
    if (spec.quantization) {
      throw new InputError('BAD_DTYPE', `quantizeWeights: weight ${spec.name} is already quantized (${spec.quantization.dtype}); quantize the float32 weights once.`);
    }
    const size = spec.shape.reduce((a, b) => a * b, 1);
    const bytesPerValue = spec.dtype === 'float32' || spec.dtype === 'int32' ? 4 : spec.dtype === 'bool' ? 1 : 0;
    if (bytesPerValue === 0) {
      throw new InputError('BAD_DTYPE', `quantizeWeights: weight ${spec.name} has dtype ${spec.dtype}; only float32, int32 and bool weights can be stored.`);
    }
    if (offset + size * bytesPerValue > data.byteLength) {
      throw new InputError('SHAPE_MISMATCH', `quantizeWeights: the weight data ends before ${spec.name} (${data.byteLength} bytes); pass the specs and data of one model.save().`);
    }
    const raw = data.slice(offset, offset + size * bytesPerValue);
    offset += size * bytesPerValue;
    if (spec.dtype !== 'float32' || quantization === 'float32') {
      outSpecs.push({ ...spec });
      chunks.push(new Uint8Array(raw));
      continue;
    }
    const values = new Float32Array(raw);
    if (quantization === 'float16') {
      const half = new Uint16Array(size);
      for (let i = 0; i < size; i++) half[i] = float16Bits(values[i]);
      outSpecs.push({ ...spec, quantization: { dtype: 'float16' } });
      chunks.push(new Uint8Array(half.buffer));
    } else {
      const { scale, min } = uint8Range(values);
      const q = new Uint8Array(size);
      for (let i = 0; i < size; i++) q[i] = Math.min(255, Math.max(0, Math.round((values[i] - min) / scale)));
      outSpecs.push({ ...spec, quantization: { dtype: 'uint8', scale, min } });
      chunks.push(q);
    }
  }
  const total = chunks.reduce((n, c) => n + c.byteLength, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return { specs: outSpecs, data: out.buffer };
}
