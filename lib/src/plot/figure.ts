import type { NoInfer } from '../type-utils';
import type { Figure } from './types';

/**
 * What the registry, the saved data files and the exported pages know of a figure
 * (see shared/design/CHAPTER_MAP.md).
 */
export interface FigureInfo {
  id: string;
  /**
   * Section of the chapter, without the "§": "4.1", "3.5", "1.2.3"; null for a figure beyond the
   * chapter's text (it breaks off in §4.1), so no title points at a section a reader cannot find.
   */
  section: string | null;
  title: string;
  /** Stem of the notebook (under notebooks/) whose run saves this figure's data. */
  notebook: string;
}

/** A figure of the workbook: its place in the chapter and the builder that draws it from `Input`. */
export interface FigureDefinition<Id extends string = string, Input = never> extends FigureInfo {
  readonly id: Id;
  /** Input -> Plotly spec; checks every field it reads (saved data comes back as unknown JSON). */
  build(data: Input): Figure;
  /** Turns the input into plain JSON for saving (e.g. a DataFrame into rows); default: as is. */
  toJson?(data: Input): unknown;
}

/**
 * Declares a figure in its own file under figures/; list it once in registry.ts. The id is kept
 * as a string literal type and the input is the builder's parameter type (toJson may accept
 * more, e.g. unknown), so the registry derives FigureId and FigureInputs from the list.
 */
export function defineFigure<Id extends string, Input>(
  definition: FigureInfo & { id: Id; build(data: Input): Figure; toJson?(data: NoInfer<Input>): unknown },
): FigureDefinition<Id, Input> {
  const { id, section, title, notebook, build, toJson } = definition;
  return { id, section, title, notebook, build, toJson };
}
