import * as tf from '@tensorflow/tfjs';
import { initBackend, createModel } from 'kdlab';
import { Optimizer, createTrainStep, resolveObjective, setBlasThreads } from 'kdlab/compute-internals';
async function main() {
  await initBackend({ quiet: true });
  setBlasThreads(1);
  const B = 128;
  const model = createModel({ kind: 'conv', filters: [16, 32] }, 0);
  const opt = new Optimizer({ name: 'adam', learningRate: 1e-3 });
  const step = createTrainStep(model, opt, resolveObjective({ objective: 'kd', temperature: 4, alpha: 0.5 }));
  const xs = tf.randomUniform([B, 784]) as tf.Tensor2D;
  const labels = tf.tensor1d(Array.from({ length: B }, (_, i) => i % 10), 'int32');
  const oneHot = tf.oneHot(labels, 10).toFloat() as tf.Tensor2D;
  const teacher = tf.randomNormal([B, 10]) as tf.Tensor2D;
  const run = (n: number) => { for (let i = 0; i < n; i++) { const o = step({ x: xs, oneHot, labels, teacher }); if (i % 10 === 9) o.loss.dataSync(); tf.dispose([o.loss, o.correct]); } };
  run(10);
  const t0 = performance.now(); const c0 = process.cpuUsage();
  run(300);
  const c = process.cpuUsage(c0); const ms = performance.now() - t0;
  console.log('wall ms/step', (ms / 300).toFixed(2), 'cpu ms/step', ((c.user + c.system) / 1000 / 300).toFixed(2));
}
main();
