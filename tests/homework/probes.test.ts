/**
 * The probes' feedback says which check failed and how far off, never the value the grader
 * expected: a later submission sees the same kind of probe again (fresh inputs, same question),
 * and for hw3/hw4 the same grading seed within a batch.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HOMEWORK_PROBES, offBy, referenceCrossEntropy, referenceDistillation, type ProbeChallenge } from '../../tools/src/homework/probes';
import { loadSource } from './helpers';
import { softmaxT } from '../../lib/src/softmax-plain';
import { rng as seeded } from '../kd/reference';

const context = { source: loadSource('hw1-temperature') };
const numbersIn = (code: string): number[] => (code.match(/-?\d+\.\d+/g) ?? []).map(Number);

/** No expected value, written the ways a message could write it, appears in the messages. */
function assertNoValues(messages: string[], wants: number[], inputs: string, what: string): void {
  const text = messages.join('\n');
  const given = new Set(numbersIn(inputs));
  for (const w of wants) {
    for (const form of [String(w), w.toFixed(6), w.toFixed(5), w.toFixed(4), String(Math.round(w * 1000) / 1000)]) {
      // Too short to tell, (near) zero, or one of the probe's inputs: not evidence.
      if (!/\d\.\d{3}/.test(form) || Math.abs(Number(form)) < 1e-3 || given.has(Number(form))) continue;
      const shown = new RegExp(`(?<![\\d.])${form.replace(/[.\-]/g, '\\$&')}(?!\\d)`).test(text);
      assert.ok(!shown, `${what}: the feedback shows ${form}, an expected value:\n${text}`);
    }
  }
}

async function challenge(id: string, seed: number): Promise<ProbeChallenge> {
  return HOMEWORK_PROBES[id].prepare(seeded(seed), context);
}

test('offBy says how far, not what', () => {
  assert.equal(offBy(0.5, 0.25), 'is off by 2.5e-1');
  assert.equal(offBy(Number.NaN, 1), 'is NaN');
  assert.equal(offBy(Number.POSITIVE_INFINITY, 1), 'is Infinity');
});

test('hw1 Q1: a wrong softmax learns where and by how much, not the reference', async () => {
  for (let seed = 1; seed <= 20; seed++) {
    const c = await challenge('hw1-q1-tests', seed);
    const X = JSON.parse(/tensor2d\((\[\[.*?\]\])\)/.exec(c.code)?.[1] ?? '[]') as number[][];
    const T = Number(/softmaxWithTemperature\(probeIn, ([\d.]+)\)/.exec(c.code)?.[1]);
    const want = X.flatMap((row) => softmaxT(row.map(Math.fround), T));
    const wrong = { shape: [X.length, X[0].length], values: want.map((v) => v * 0.9 + 0.01), vector: { shape: [1], values: [0.5] }, leaked: 2, threw: false };
    const msgs = c.verify(wrong);
    assert.ok(msgs.length >= 3, msgs.join('\n'));
    assert.match(msgs.join('\n'), /entry 0 is off by/);
    assert.match(msgs.join('\n'), /leaks tensors/);
    assertNoValues(msgs, want, c.code, `seed ${seed}`);
    // The honest answer passes.
    assert.deepEqual(c.verify({ shape: [X.length, X[0].length], values: want, vector: { shape: [numbersIn(/tensor1d\((\[.*?\])\)/.exec(c.code)?.[1] ?? '').length || 3], values: [] }, leaked: 0, threw: true }).filter((m) => !/vector/.test(m)), []);
  }
});

test('hw1 Q2 and Q3: wrong answers on drawn logits, no reference in the feedback; a constant agreesWithPrinted fails', async () => {
  for (let seed = 1; seed <= 20; seed++) {
    const c2 = await challenge('hw1-q2-tests', seed);
    const z = JSON.parse(/workedExample\((\[.*?\])\)/.exec(c2.code)?.[1] ?? '[]') as number[];
    const want = [...softmaxT(z, 1), ...softmaxT(z, 2)].map((v) => Math.round(v * 1000) / 1000);
    for (const constant of [true, false]) {
      const msgs = c2.verify({ ex: { t1: z.map(() => 0.333), t2: z.map(() => 0.2) }, agrees: [constant, constant, constant, constant] });
      assert.match(msgs.join('\n'), /agreesWithPrinted gave the wrong answer/, `a constant ${constant} is caught`);
      assertNoValues(msgs, want, c2.code, `Q2 seed ${seed}`);
    }
    const c3 = await challenge('hw1-q3-tests', seed);
    const z3 = JSON.parse(/limitsOfT\((\[.*?\]),/.exec(c3.code)?.[1] ?? '[]') as number[];
    const q100 = softmaxT(z3, 100);
    const msgs3 = c3.verify({ maxProbAtT01: 0.5, maxProbAtT100: 0.5, entropyAtT100: 0.5, maxEntropy: 0.5, firstNearUniformT: -1 });
    assert.ok(msgs3.length >= 4, msgs3.join('\n'));
    assertNoValues(msgs3, [Math.max(...softmaxT(z3, 0.1)), Math.max(...q100), -q100.reduce((h, p) => h + p * Math.log(p), 0), Math.log(z3.length)], c3.code, `Q3 seed ${seed}`);
  }
});

test('hw2 Q1: a wrong loss learns how far off, not the reference loss', async () => {
  for (let seed = 1; seed <= 20; seed++) {
    const c = await challenge('hw2-q1-tests', seed);
    const mats = [...c.code.matchAll(/tensor2d\((\[\[.*?\]\])\)/g)].map((m) => JSON.parse(m[1]) as number[][]);
    const Y = JSON.parse(/tensor1d\((\[.*?\])/.exec(c.code)?.[1] ?? '[]') as number[];
    const T = Number(/distillationLoss\(s, t, ([\d.]+)\)/.exec(c.code)?.[1]);
    const kd = referenceDistillation(mats[0], mats[1], T);
    const ce = referenceCrossEntropy(mats[0], Y);
    const msgs = c.verify({ shape: [], distill: kd * 1.5 + 0.1, combined: ce + 1, leaked: 0, big: 1 });
    assert.equal(msgs.length, 2, msgs.join('\n'));
    assertNoValues(msgs, [kd, ce], c.code, `seed ${seed}`);
  }
});

test('hw4 Q2: the probe\'s tie case catches "the last maximum wins" and passes the first-maximum rule', async () => {
  type Errors = (logits: Float32Array, labels: number[], digit: number, shift: number) => { errors: number; errorsOnDigit: number };
  const rule = (lastWins: boolean): Errors => (logits, labels, digit, shift) => {
    let errors = 0;
    let errorsOnDigit = 0;
    labels.forEach((y, r) => {
      let best = 0;
      for (let c = 1; c < 10; c++) {
        const v = logits[r * 10 + c] + (c === digit ? shift : 0);
        const b = logits[r * 10 + best] + (best === digit ? shift : 0);
        if (lastWins ? v >= b : v > b) best = c;
      }
      if (best !== y) {
        errors++;
        if (y === digit) errorsOnDigit++;
      }
    });
    return { errors, errorsOnDigit };
  };
  let caught = 0;
  for (let seed = 1; seed <= 20; seed++) {
    const c = await challenge('hw4-q2-tests', seed);
    const run = (f: Errors) => new Function('errorsWithShift', c.code)(f) as unknown;
    assert.deepEqual(c.verify(run(rule(false))), [], `seed ${seed}: the first-maximum rule passes`);
    const msgs = c.verify(run(rule(true)));
    if (msgs.some((m) => /on a tie, the first class/.test(m))) caught++;
  }
  assert.equal(caught, 20, `the tie case caught the last-maximum rule in ${caught} of 20 draws`);
});
