import * as tf from '@tensorflow/tfjs';

type Danfo = typeof import('danfojs-node');
let cached: Danfo | undefined;

const DUPLICATE_REGISTRATION = /is already registered|has already been set|was already registered/;

/**
 * danfojs-node, loaded the one safe way. danfojs-node 1.2 requires its own tfjs 3 (the workbook
 * overrides its tfjs-node with plain tfjs to avoid a second libtensorflow download). Both tfjs
 * copies share tfjs's global kernel registry, so loading danfo second makes tfjs 3 try to
 * re-register ~300 kernels, printing one warning each, and keeps ours. Loading it first would
 * do the opposite and run tfjs 3 kernels, so: our tfjs first (imported above), then danfo with
 * exactly those duplicate-registration warnings filtered out.
 */
export function danfo(): Danfo {
  if (cached) return cached;
  void tf.version;
  const warn = console.warn;
  console.warn = (...args: unknown[]): void => {
    if (args.length > 0 && DUPLICATE_REGISTRATION.test(String(args[0]))) return;
    warn(...args);
  };
  try {
    cached = require('danfojs-node') as Danfo;
  } finally {
    console.warn = warn;
  }
  return cached;
}
