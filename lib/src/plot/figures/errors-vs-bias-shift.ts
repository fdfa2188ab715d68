import type { ShiftCurves } from '../../bias-shift';
import { defineFigure } from '../figure';
import { applyPanels } from '../panels';
import { OKABE_ITO, PALETTE, SIZES, axis, baseLayout } from '../theme';
import type { Figure, ScatterTrace } from '../types';
import { FigureInputError, array, num, numbers, record, str } from '../validate';

export const figure = defineFigure({
  id: 'errors-vs-bias-shift',
  section: '1.2.3',
  title: 'Test errors vs the bias shift: each seed, their mean, the shift chosen on validation',
  notebook: '06-generalization',
  build: errorsVsBiasShift,
});

export interface ErrorsVsBiasShiftInput {
  /** One panel per study (e.g. no 3s; only 7s and 8s), each over the same seeds or others. */
  studies: ShiftCurves[];
}

/**
 * One panel per study: each seed's test errors as a thin line, their mean (over the seeds, at each
 * shift) as a thick black line, and on each seed's line a marker at the shift its validation split
 * chose.
 */
export function errorsVsBiasShift(input: ErrorsVsBiasShiftInput): Figure {
  const where = figure.id;
  const r = record(input, where);
  const studies = array(r.studies, where, 'studies').map((value, i) => {
    const o = record(value, where, `studies[${i}]`);
    const name = str(o.name, where, `studies[${i}].name`);
    const classes = numbers(o.classes, where, `studies[${i}].classes`, { integer: true, min: 0 });
    const shifts = numbers(o.shifts, where, `studies[${i}].shifts`, {}, 2);
    if (shifts.some((x, k) => k > 0 && !(x > shifts[k - 1]))) throw new FigureInputError(where, `studies[${i}].shifts must be strictly ascending.`);
    const seeds = array(o.seeds, where, `studies[${i}].seeds`).map((sv, j) => {
      const at = `studies[${i}].seeds[${j}]`;
      const so = record(sv, where, at);
      const testErrors = numbers(so.testErrors, where, `${at}.testErrors`, { min: 0 }, 2);
      if (testErrors.length !== shifts.length) throw new FigureInputError(where, `${at}.testErrors has ${testErrors.length} values for ${shifts.length} shifts.`);
      const chosenShift = num(so.chosenShift, where, `${at}.chosenShift`);
      const k = shifts.findIndex((x) => Math.abs(x - chosenShift) < 1e-9);
      if (k < 0) throw new FigureInputError(where, `${at}.chosenShift ${chosenShift} is not one of the shifts drawn.`);
      return { seed: num(so.seed, where, `${at}.seed`, { integer: true, min: 0 }), chosenShift, chosenErrors: testErrors[k], testErrors };
    });
    const mean = shifts.map((_, k) => seeds.reduce((a, s) => a + s.testErrors[k], 0) / seeds.length);
    return { name, classes, shifts, seeds, mean };
  });
  const layout = baseLayout(figure.section, figure.title, {
    width: Math.max(SIZES.width, 420 * studies.length),
    margin: { l: 70, r: 30, t: 90, b: 110 },
    legend: { orientation: 'h', x: 0, y: -0.22, bgcolor: 'rgba(255,255,255,0.8)' },
  });
  const panels = applyPanels(
    layout,
    { count: studies.length, columns: studies.length, xGap: 0.1 },
    (k) => axis(`shift added to the logits of ${studies[k].classes.join(' and ')} (logit units)`, { zeroline: true }),
    (k) => axis(k === 0 ? 'test errors (images)' : ''),
    (k) => studies[k].name,
  );
  const data: ScatterTrace[] = [];
  studies.forEach((s, k) => {
    const on = { xaxis: panels[k].xref, yaxis: panels[k].yref };
    s.seeds.forEach((seed, j) => {
      data.push({
        type: 'scatter', mode: 'lines', name: `seed ${seed.seed}`, legendgroup: `seed ${seed.seed}`, showlegend: k === 0,
        x: s.shifts, y: seed.testErrors, line: { color: PALETTE[(j + 1) % PALETTE.length], width: 1.2 },
        hovertemplate: `seed ${seed.seed}<br>shift %{x}: %{y} test errors<extra></extra>`, ...on,
      });
    });
    data.push({
      type: 'scatter', mode: 'lines', name: `mean of ${s.seeds.length} seeds`, legendgroup: 'mean', showlegend: k === 0,
      x: s.shifts, y: s.mean, line: { color: OKABE_ITO.black, width: SIZES.line },
      hovertemplate: 'mean<br>shift %{x}: %{y:.1f} test errors<extra></extra>', ...on,
    });
    data.push({
      type: 'scatter', mode: 'markers', name: 'shift chosen on validation', legendgroup: 'chosen', showlegend: k === 0,
      x: s.seeds.map((x) => x.chosenShift), y: s.seeds.map((x) => x.chosenErrors),
      marker: { size: SIZES.marker + 3, symbol: 'diamond', color: s.seeds.map((_, j) => PALETTE[(j + 1) % PALETTE.length]), line: { color: OKABE_ITO.black, width: 1 } },
      text: s.seeds.map((x) => `seed ${x.seed}`),
      hovertemplate: '%{text}: validation chose %{x}<br>%{y} test errors there<extra></extra>', ...on,
    });
  });
  return { data, layout };
}
