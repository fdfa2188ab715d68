import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JobGraph, type Job } from '../../lib/src/runs/schedule';
import { runKey, type RunSpec } from '../../lib/src/runs/spec';

/**
 * runAll's order (runs/schedule.ts): a teacher's students start once it has trained and its
 * cache is filled, not after a whole wave; preparations first, then the most work first; a
 * scratch run never waits; a cycle is found before anything starts.
 */

const data = { validationSize: 500, splitSeed: 3, pool: 1200 };
const spec = (label: string, model: RunSpec['model'], objective: RunSpec['objective'], teacher?: string, epochs = 1): RunSpec => ({
  label, data, model, objective, optimizer: { name: 'adam' }, budget: { epochs }, batchSize: 64, seed: 0,
  ...(teacher ? { teacher: { run: teacher } } : {}),
});
const hard = { objective: 'hard' } as const;
const kd = { objective: 'kd', temperature: 4, alpha: 0.9 } as const;
const mlp = (h: number): RunSpec['model'] => ({ kind: 'mlp', hidden: [h] });

function graphOf(specs: RunSpec[]): JobGraph {
  return new JobGraph(new Map(specs.map((s) => [runKey(s), s])));
}
const name = (j: Job | undefined): string => (j === undefined ? '-' : j.type === 'run' ? j.spec.label ?? '' : 'prepare');

test('a stored teacher: its cache is filled first, its students wait for it, scratch runs do not; then the most work first', () => {
  const teacher = 'stored-teacher-key';
  const g = graphOf([spec('kd small', mlp(8), kd, teacher), spec('kd big', mlp(256), kd, teacher), spec('scratch', mlp(16), hard)]);
  const first = g.take();
  assert.equal(name(first), 'prepare');
  assert.equal(first?.type === 'prepare' && first.specs.length, 2);
  assert.equal(name(g.take()), 'scratch', 'a scratch run starts beside the preparation');
  assert.equal(g.take(), undefined, 'the students wait for the cache');
  assert.equal(g.stuck(), false);
  g.finish(first as Job);
  assert.deepEqual([name(g.take()), name(g.take()), name(g.take())], ['kd big', 'kd small', '-']);
});

test('a pending teacher: it trains first, then its cache, then its students; a worker without a job waits', () => {
  const t = spec('teacher', mlp(64), hard, undefined, 2);
  const students = [spec('kd', mlp(8), kd, runKey(t)), spec('hint', mlp(8), { objective: 'hint', alpha: 0.5 }, runKey(t))];
  const g = graphOf([...students, t]);
  const job = g.take();
  assert.equal(name(job), 'teacher');
  assert.equal(g.take(), undefined);
  assert.equal(g.running, 1);
  g.finish(job as Job);
  const prep = g.take();
  assert.equal(name(prep), 'prepare');
  g.finish(prep as Job);
  const rest = [g.take(), g.take()].map(name).sort();
  assert.deepEqual(rest, ['hint', 'kd']);
  assert.equal(g.remaining, 2);
});

test('teachers that name each other: stuck before anything starts', () => {
  const a = spec('a', mlp(8), kd, 'b-key');
  const b = { ...spec('b', mlp(8), kd, runKey(a)) };
  const g = new JobGraph(new Map([[runKey(a), a], ['b-key', b]]));
  assert.equal(g.stuck(), true);
  assert.equal(g.take(), undefined);
});

test("a teacher still to train counts in its students' work: 08's CNN hint (the 256/512 teacher's forward per batch) goes before an MLP KD run", () => {
  const full = { validationSize: 5000, splitSeed: 0 };
  const conv = (filters: [number, number]): RunSpec['model'] => ({ kind: 'conv', filters });
  const teacher: RunSpec = { ...spec('conv teacher', conv([256, 512]), hard, undefined, 5), data: full };
  const hint: RunSpec = { ...spec('CNN hint', conv([16, 32]), { objective: 'hint', alpha: 0.25 }, runKey(teacher), 3), data: full };
  const mlpTeacher = 'stored-mlp-teacher';
  const kdRun: RunSpec = { ...spec('MLP kd', { kind: 'mlp', hidden: [800, 800] }, kd, mlpTeacher, 20), data: full, batchSize: 128 };
  const g = graphOf([kdRun, hint, teacher]);
  const order: string[] = [];
  for (let job = g.take(); job; job = g.take()) {
    order.push(name(job));
    if (job.type === 'prepare' || job.spec.label === 'conv teacher') g.finish(job);
  }
  // The MLP teacher's cache, the conv teacher (most work), its cache, then the hint before KD.
  assert.deepEqual(order, ['prepare', 'conv teacher', 'prepare', 'CNN hint', 'MLP kd']);
});
