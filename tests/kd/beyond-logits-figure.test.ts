import { test } from 'node:test';
import assert from 'node:assert/strict';
import { methodsComparison } from '../../lib/src/plot/figures/methods-comparison';
import { METHOD_COLORS } from '../../lib/src/plot/theme';
import type { BarTrace } from '../../lib/src/plot';

/**
 * Notebook 08's figure: one panel per pair, each with its own teacher line, and one fixed colour
 * per method whatever the order of the rows (before, colours cycled by row, so two methods shared
 * one).
 */

const METHODS = ['scratch', 'kd', 'mse-logits', 'mse-prob', 'dkd', 'hint', 'cosine'];

test('08 methods-comparison: a colour per method, the same in both panels; a teacher line per panel at its error', () => {
  assert.equal(new Set(METHODS.map((m) => METHOD_COLORS[m])).size, METHODS.length, 'seven methods, seven colours');
  assert.ok(METHODS.every((m) => typeof METHOD_COLORS[m] === 'string'));
  // The CNN rows in another order than the MLP rows: colours follow the method, not the row.
  const rows = [
    ...METHODS.map((m, i) => ({ name: m, method: m, group: 'MLP', accuracy: 0.95 + i / 1000, accuracyStd: 0.001 })),
    ...[...METHODS].reverse().map((m, i) => ({ name: m, method: m, group: 'CNN', accuracy: 0.9 + i / 1000 })),
  ];
  const fig = methodsComparison({ methods: rows, teachers: { MLP: 0.9722, CNN: 0.975 } });
  assert.equal(fig.data.length, 2, 'one bar trace per pair');
  const [mlp, cnn] = fig.data as BarTrace[];
  assert.deepEqual(mlp.y, METHODS);
  assert.deepEqual(cnn.y, [...METHODS].reverse());
  const colourOf = (b: BarTrace) => new Map((b.y as string[]).map((m, i) => [m, (b.marker?.color as string[])[i]]));
  for (const m of METHODS) {
    assert.equal(colourOf(mlp).get(m), METHOD_COLORS[m], `MLP ${m}`);
    assert.equal(colourOf(cnn).get(m), METHOD_COLORS[m], `CNN ${m}`);
  }
  assert.equal(cnn.xaxis, 'x2');
  assert.equal(cnn.yaxis, 'y2');
  // Bars are errors; each panel's dashed line sits at its own teacher's error, on its own axis.
  assert.ok(Math.abs((mlp.x[0] as number) - 0.05) < 1e-12);
  const shapes = fig.layout.shapes ?? [];
  assert.equal(shapes.length, 2);
  assert.equal(shapes[0].xref, 'x');
  assert.ok(Math.abs((shapes[0].x0 as number) - 0.0278) < 1e-12);
  assert.equal(shapes[1].xref, 'x2');
  assert.ok(Math.abs((shapes[1].x0 as number) - 0.025) < 1e-12);
  const titles = (fig.layout.annotations ?? []).map((a) => a.text);
  assert.ok(titles.some((t) => t.startsWith('MLP') && t.includes('2.78%')), titles.join(' | '));
  assert.ok(titles.some((t) => t.startsWith('CNN') && t.includes('2.50%')), titles.join(' | '));
  // Without groups: one panel, as before (error bars and the single teacher line).
  const one = methodsComparison({ methods: [{ name: 'kd', accuracy: 0.97 }, { name: 'dkd', accuracy: 0.98 }], teacherAccuracy: 0.99 });
  assert.equal(one.data.length, 1);
  assert.deepEqual((one.data[0] as BarTrace).marker?.color, [METHOD_COLORS.kd, METHOD_COLORS.dkd]);
  assert.ok(Math.abs((one.layout.shapes?.[0].x0 as number) - 0.01) < 1e-12);
});
