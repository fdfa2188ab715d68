/**
 * Small, hand-written inputs for every figure (not real training results): enough to check each
 * builder's output against values computed here, and to export and render every figure.
 */
import type { FigureInputs } from '../../lib/src/plot/registry';

export const SAMPLE_INPUTS: FigureInputs = {
  'soft-labels-vs-T': {
    logits: [2, 1, 0.5],
    temperatures: [1, 2, 5],
    reference: { name: 'printed in the chapter (T = 1)', probabilities: [0.57, 0.28, 0.15] },
  },
  'entropy-vs-T': { logits: [2, 1, 0.5], temperatures: [0.5, 1, 2, 4, 8, 16] },
  'dark-knowledge': {
    examples: [
      { label: 2, index: 1, logits: [1, 2, 12, 5, -3, -2, 0, 4, 3, -4] },
      { label: 7, index: 0, logits: [0, 1, 2, 3, -1, 0, -5, 11, 1, 4] },
    ],
    temperatures: [1, 4],
  },
  'model-size-and-latency': {
    models: [
      { name: 'teacher', params: 2_395_210, sizeBytes: 9_580_840, latencyMs: 12.5 },
      { name: 'student 2x800', params: 1_276_810, sizeBytes: 5_107_240, latencyMs: 6.1 },
      { name: 'student 2x30', params: 24_790, sizeBytes: 99_160, latencyMs: 0.4 },
    ],
    latencyNote: 'batch of 256',
  },
  'grad-scale-vs-T': {
    temperatures: [1, 2, 4, 8],
    withT2: [0.02, 0.021, 0.0205, 0.0204],
    withoutT2: [0.02, 0.00525, 0.00128, 0.000319],
    hardLossGradient: 0.03,
  },
  'kl-vs-mse-high-T': { temperatures: [1, 2, 5, 10, 20], klTimesT2: [0.9, 0.7, 0.61, 0.6, 0.598], mseLimit: 0.597 },
  'training-curves': {
    series: [
      { name: 'teacher', accuracy: [0.95, 0.97, 0.98] },
      { name: 'scratch', accuracy: [0.9, 0.93, 0.94] },
      { name: 'distilled', accuracy: [0.92, 0.95, 0.96] },
    ],
  },
  'ablation-heatmap-T-alpha': [
    { temperature: 1, alpha: 0.1, valAccuracy: 0.95 },
    { temperature: 1, alpha: 0.5, valAccuracy: 0.955 },
    { temperature: 4, alpha: 0.1, valAccuracy: 0.96 },
    { temperature: 4, alpha: 0.5, valAccuracy: 0.97 },
    { temperature: 4, alpha: 0.5, valAccuracy: 0.974 },
    { temperature: 20, alpha: 0.1, valAccuracy: 0.958 },
  ],
  'accuracy-vs-T-by-student-size': {
    students: [
      { name: '2x30 student', temperatures: [1, 2.5, 4, 8], accuracy: [0.9, 0.93, 0.92, 0.91] },
      { name: '2x800 student', temperatures: [1, 2.5, 4, 8, 20], accuracy: [0.97, 0.975, 0.98, 0.982, 0.981] },
    ],
  },
  'confusion-matrix': {
    matrix: [
      [50, 1, 0],
      [2, 45, 3],
      [0, 4, 40],
    ],
    classNames: ['0', '1', '2'],
  },
  'accuracy-vs-transfer-set-size': {
    sizes: [100, 1000, 10000],
    hardTargets: [0.6, 0.85, 0.95],
    softTargets: [0.75, 0.9, 0.96],
    teacherAccuracy: 0.98,
  },
  'omitted-digit-3': {
    models: [
      { name: 'distilled, no 3s', perClassAccuracy: [0.99, 0.99, 0.98, 0.87, 0.98, 0.98, 0.99, 0.98, 0.97, 0.97] },
      { name: 'with bias fix', perClassAccuracy: [0.99, 0.99, 0.98, 0.986, 0.98, 0.98, 0.99, 0.98, 0.97, 0.97] },
    ],
  },
  'errors-vs-bias-shift': {
    studies: [
      {
        name: 'no 3 in the transfer set',
        classes: [3],
        shifts: [0, 1, 2, 3],
        seeds: [
          { seed: 0, chosenShift: 2, testErrors: [900, 700, 650, 680] },
          { seed: 1, chosenShift: 3, testErrors: [880, 720, 640, 630] },
        ],
      },
      {
        name: 'only 7s and 8s',
        classes: [7, 8],
        shifts: [-2, -1, 0],
        seeds: [
          { seed: 0, chosenShift: -2, testErrors: [2400, 3000, 6000] },
          { seed: 1, chosenShift: -1, testErrors: [2600, 2500, 6200] },
        ],
      },
    ],
  },
  'hinton-table': {
    rows: [
      { system: 'teacher 2x1200, dropout', paperErrors: 67, ourErrors: 120 },
      { system: 'student 2x800, hard labels', paperErrors: 146, ourErrors: 180 },
      { system: 'student 2x800, distilled T = 20', paperErrors: 74, ourErrors: null, note: 'not run in quick mode' },
    ],
    mode: 'quick',
  },
  'small-student-temperature-curve': {
    temperatures: [1, 2, 4, 8],
    meanErrors: [700, 650, 640, 660],
    sdErrors: [10, 20, 15, 5],
    seeds: 3,
    scratchErrors: 720,
    paperBest: [2.5, 4],
  },
  'methods-comparison': {
    methods: [
      { name: 'KD (Hinton)', accuracy: 0.975, accuracyStd: 0.001 },
      { name: 'MSE on logits', accuracy: 0.973 },
      { name: 'DKD', accuracy: 0.977 },
    ],
    teacherAccuracy: 0.982,
  },
};

/** Traces each sample figure must draw (counted independently of the builders). */
export const EXPECTED_TRACES: Record<keyof FigureInputs, number> = {
  'soft-labels-vs-T': 4, // 3 temperatures + the reference markers
  'entropy-vs-T': 2,
  'dark-knowledge': 4, // 2 examples x 2 temperatures
  'model-size-and-latency': 3,
  'grad-scale-vs-T': 2,
  'kl-vs-mse-high-T': 2,
  'training-curves': 3,
  'ablation-heatmap-T-alpha': 1,
  'accuracy-vs-T-by-student-size': 2,
  'confusion-matrix': 1,
  'accuracy-vs-transfer-set-size': 3,
  'omitted-digit-3': 2,
  'errors-vs-bias-shift': 8, // per panel: 2 seeds, the mean, the chosen shifts
  'hinton-table': 1,
  'small-student-temperature-curve': 3, // the curve, the hard-label line, the paper's band
  'methods-comparison': 1,
};
