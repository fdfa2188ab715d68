/**
 * Every figure of the workbook: id, chapter section, title and the notebook that produces its data
 * (see shared/design/CHAPTER_MAP.md). Kept apart from the builders so that builders can read their
 * own title and the registry can list figures without a cycle between the two.
 */
export interface FigureInfo {
  id: string;
  /** Section of the chapter, without the "§": "4.1", "3.5", "1.2.3". */
  section: string;
  title: string;
  /** Notebook (under notebooks/) whose run saves this figure's data. */
  notebook: string;
}

export const FIGURE_IDS = [
  'soft-labels-vs-T',
  'entropy-vs-T',
  'dark-knowledge',
  'model-size-and-latency',
  'grad-scale-vs-T',
  'kl-vs-mse-high-T',
  'training-curves',
  'ablation-heatmap-T-alpha',
  'accuracy-vs-T-by-student-size',
  'confusion-matrix',
  'accuracy-vs-transfer-set-size',
  'omitted-digit-3',
  'hinton-table',
  'methods-comparison',
] as const;

export type FigureId = (typeof FIGURE_IDS)[number];

export const FIGURE_INFO: Readonly<Record<FigureId, FigureInfo>> = {
  'soft-labels-vs-T': {
    id: 'soft-labels-vs-T',
    section: '4.1',
    title: 'Soft labels of logits [2.0, 1.0, 0.5] at several temperatures',
    notebook: '01-soft-labels-and-temperature',
  },
  'entropy-vs-T': {
    id: 'entropy-vs-T',
    section: '2.4',
    title: 'Temperature flattens the distribution: entropy and top probability',
    notebook: '01-soft-labels-and-temperature',
  },
  'dark-knowledge': {
    id: 'dark-knowledge',
    section: '2.2',
    title: "Dark knowledge: the teacher's soft labels for real digits",
    notebook: '01-soft-labels-and-temperature',
  },
  'model-size-and-latency': {
    id: 'model-size-and-latency',
    section: '1.2',
    title: 'Teacher and students: parameters, size on disk, latency',
    notebook: '02-teacher-and-student',
  },
  'grad-scale-vs-T': {
    id: 'grad-scale-vs-T',
    section: '4.2',
    title: 'Soft-target gradients shrink as 1/T² unless the loss is scaled by T²',
    notebook: '03-distillation-loss',
  },
  'kl-vs-mse-high-T': {
    id: 'kl-vs-mse-high-T',
    section: '3.3',
    title: 'At high temperature, T²·KL approaches matching logits (MSE)',
    notebook: '03-distillation-loss',
  },
  'training-curves': {
    id: 'training-curves',
    section: '3.4',
    title: 'Accuracy per epoch: teacher, student from scratch, distilled student',
    notebook: '04-training-the-student',
  },
  'ablation-heatmap-T-alpha': {
    id: 'ablation-heatmap-T-alpha',
    section: '3.5',
    title: 'Validation accuracy over temperature T and alpha',
    notebook: '05-evaluation-and-tuning',
  },
  'accuracy-vs-T-by-student-size': {
    id: 'accuracy-vs-T-by-student-size',
    section: '3.5',
    title: 'Best temperature depends on the student size',
    notebook: '05-evaluation-and-tuning',
  },
  'confusion-matrix': {
    id: 'confusion-matrix',
    section: '3.5',
    title: 'Confusion matrix of the distilled student (test set)',
    notebook: '05-evaluation-and-tuning',
  },
  'accuracy-vs-transfer-set-size': {
    id: 'accuracy-vs-transfer-set-size',
    section: '1.2.3',
    title: 'Soft targets carry more per example: accuracy vs transfer-set size',
    notebook: '06-generalization',
  },
  'omitted-digit-3': {
    id: 'omitted-digit-3',
    section: '1.2.3',
    title: 'A student that never saw a 3: per-digit accuracy, with and without the bias fix',
    notebook: '06-generalization',
  },
  'hinton-table': {
    id: 'hinton-table',
    section: '5',
    title: 'Hinton et al. (2015) MNIST results beside ours',
    notebook: '07-reproducing-hinton-2015',
  },
  'methods-comparison': {
    id: 'methods-comparison',
    section: '8',
    title: 'Beyond logits: KD, MSE on logits, DKD and FitNets hints compared',
    notebook: '08-beyond-logits',
  },
};

export function isFigureId(id: string): id is FigureId {
  return (FIGURE_IDS as readonly string[]).includes(id);
}
