import * as tf from '@tensorflow/tfjs';

/** Runs `f` on tfjs's cpu backend (the reference kernels) and switches back to the backend before. */
export async function onCpu<T>(f: () => T): Promise<T> {
  const back = tf.getBackend();
  await tf.setBackend('cpu');
  try {
    return f();
  } finally {
    await tf.setBackend(back);
  }
}
