/**
 * The fast tier's one chapter notebook end to end: 03 executed in quick mode through the runner
 * (it loads or trains the quick teacher), with its numbers checked against closed forms.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readJson, resultsFile } from '../chapters/helpers';
import { execute, near } from '../chapters/execute';

test('03-distillation-loss: code equals formula, T^2 keeps the gradient scale, Hinton identities', async () => {
  await execute('03-distillation-loss');
  const r = readJson<{
    hand: { maxDifference: number };
    grad: { temperatures: number[]; withT2: number[]; withoutT2: number[] };
    klVsMse: { ratioAtMaxT: number };
    identity1: Array<{ relativeError: number }>;
    identity2: Array<{ T: number; relativeError: number }>;
    pitfalls: { meanOverElementsRatio: number; missingT2Factor: number; temperature: number };
    klWeightOverCe: number;
    mseComparison: Array<{ T: number; 'T²·KL': number; 'MSE on soft labels': number }>;
  }>(resultsFile('03-distillation-loss'));
  // Issue 14 point 1: alpha·T²/(1 − alpha) at the quick setting, T 20 and alpha 0.9, is 3,600.
  near(r.klWeightOverCe, (0.9 * 20 * 20) / (1 - 0.9), 1e-6, 'weight on the raw KL over the weight on CE');
  // MSE on soft labels has much smaller gradients than T²·KL, and they shrink as T grows.
  for (const m of r.mseComparison) assert.ok(m['MSE on soft labels'] < m['T²·KL'] / 10, `T = ${m.T}`);
  const msep = r.mseComparison.map((m) => m['MSE on soft labels']);
  for (let i = 1; i < msep.length; i++) assert.ok(msep[i] < msep[i - 1], 'MSE on soft labels: gradient falls with T');
  assert.ok(r.hand.maxDifference < 1e-5);
  const spread = (xs: number[]): number => Math.max(...xs) / Math.min(...xs);
  assert.ok(spread(r.grad.withT2) < 10, `with T^2 the gradient stays within a small factor (${spread(r.grad.withT2)})`);
  assert.ok(spread(r.grad.withoutT2) > 100, `without T^2 it collapses (${spread(r.grad.withoutT2)})`);
  near(r.klVsMse.ratioAtMaxT, 1, 0.05, 'T^2 KL / MSE limit at the highest T');
  for (const e of r.identity1) assert.ok(e.relativeError < 1e-4);
  const high = r.identity2.filter((e) => e.T >= 20).map((e) => e.relativeError);
  for (let i = 1; i < high.length; i++) assert.ok(high[i] < high[i - 1], 'the high-T approximation improves as T grows');
  near(r.pitfalls.meanOverElementsRatio, 10, 1e-3, "'mean' over all elements divides by the class count");
  near(r.pitfalls.missingT2Factor, r.pitfalls.temperature ** 2, 1e-2 * r.pitfalls.temperature ** 2, 'missing T^2 weakens the gradient by T^2');
});
