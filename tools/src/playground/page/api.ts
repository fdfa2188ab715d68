/**
 * What the playground page exposes on window for its tests (and a curious reader's console):
 * window.kdPlayground, set by main.ts. Types only.
 */
export interface Latency {
  id: string;
  label: string;
  medianMs: number;
  runs: number;
  weightBytes: number;
  quantization: string;
}

export interface TrainPoint {
  epoch: number;
  scratch: number;
  distilled: number;
  seconds: number;
}

export interface PlaygroundApi {
  ready: Promise<void>;
  /** performance.now() when the first test digit was classified: the first interaction is possible. */
  readyMs?: number;
  /** When the page script started (after assets.js parsed), when the models were decoded, when ready. */
  timings?: { scriptStartMs: number; modelsMs: number; readyMs: number };
  input: () => number[];
  logits: (id: string) => number[];
  temperature: () => number;
  studentId: () => string;
  latencies?: Latency[];
  latency: Promise<Latency[]>;
  training: { running: boolean; done: boolean; history: TrainPoint[]; error?: string };
}

declare global {
  interface Window {
    /** Set by playground/assets.js (the shape is main.ts's Assets). */
    KDLAB_PLAYGROUND_ASSETS?: unknown;
    kdPlayground: PlaygroundApi;
    Plotly?: {
      newPlot: (el: HTMLElement, data: object[], layout: object, config: object) => Promise<unknown>;
      extendTraces: (el: HTMLElement, update: object, indices: number[]) => Promise<unknown>;
      relayout: (el: HTMLElement, update: object) => Promise<unknown>;
    };
  }
}
