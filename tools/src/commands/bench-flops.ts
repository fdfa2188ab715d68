/**
 * The arithmetic of one training step, read from a model's layers, for `kdlab bench train`:
 * every Dense and Conv2D layer as the matrix product it is (a convolution as im2col), the step's
 * FLOPs and its largest product (the shape the plain-sgemm ceiling is measured on).
 */
import type * as tf from '@tensorflow/tfjs';

/**
 * One layer as a matrix product per sample: `rows` × `k` times `k` × `n`. Dense: rows 1, k inputs,
 * n units. Conv2D as im2col: rows = output positions (oh·ow), k = kh·kw·in-channels, n = filters;
 * the window counts in full at the borders ('same' padding's zeros included), as im2col computes it.
 */
export interface LayerProduct {
  /** "dense 2", "conv 1": the layer's kind and its place among the layers of that kind. */
  layer: string;
  rows: number;
  k: number;
  n: number;
}

/**
 * The products of `model`'s Dense and Conv2D layers in order. Other layers (reshape, activations,
 * pooling, flatten, dropout) do no multiply-adds worth counting, as the MLP's count leaves out
 * ReLU and bias.
 */
export function layerProducts(model: tf.LayersModel): LayerProduct[] {
  const out: LayerProduct[] = [];
  const seen = { Dense: 0, Conv2D: 0 };
  for (const layer of model.layers) {
    const cls = layer.getClassName();
    if (cls !== 'Dense' && cls !== 'Conv2D') continue;
    const kernel = layer.getWeights()[0].shape.map((d) => d ?? 0);
    // "conv 2", "dense 1": tf.layers' own names carry a global counter that differs run to run.
    const name = `${cls === 'Dense' ? 'dense' : 'conv'} ${++seen[cls]}`;
    if (cls === 'Dense') {
      out.push({ layer: name, rows: 1, k: kernel[0], n: kernel[1] });
    } else {
      // outputShape is [batch, oh, ow, filters] (channels last, as createConvNet builds it).
      const [, oh, ow] = layer.outputShape as (number | null)[];
      out.push({ layer: name, rows: (oh ?? 0) * (ow ?? 0), k: kernel[0] * kernel[1] * kernel[2], n: kernel[3] });
    }
  }
  return out;
}

/**
 * FLOPs of one training step per sample: forward, weight gradients (the same count again) and
 * input gradients of layers 2+ (the first layer's input is data, nobody needs its gradient).
 */
export function stepFlopsPerSample(products: LayerProduct[]): number {
  let forward = 0;
  let inputGrads = 0;
  products.forEach((p, l) => {
    const flops = 2 * p.rows * p.k * p.n;
    forward += flops;
    if (l > 0) inputGrads += flops;
  });
  return 2 * forward + inputGrads;
}

/** The step's largest product for a batch, as sgemm's m × k × n (m = batch · rows). */
export function largestProduct(products: LayerProduct[], batch: number): { layer: string; m: number; k: number; n: number } {
  const p = products.reduce((a, b) => (b.rows * b.k * b.n > a.rows * a.k * a.n ? b : a));
  return { layer: p.layer, m: batch * p.rows, k: p.k, n: p.n };
}
