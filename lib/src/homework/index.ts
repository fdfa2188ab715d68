/** Homework: release student versions of the assignments and grade submissions. */
export {
  BEGIN_HIDDEN_TESTS,
  BEGIN_SOLUTION,
  CODE_STUB,
  END_HIDDEN_TESTS,
  END_SOLUTION,
  assignmentName,
  nbgraderMeta,
  replaceRegions,
  stripHiddenTests,
  stripSolutions,
  type NbgraderCellMeta,
} from './markers';
export { listHomework, releaseHomework, releaseNotebook, type ReleasedHomework } from './release';
export {
  buildGradingPlan,
  findSourceNotebook,
  gradeSubmission,
  type GradeOptions,
  type GradeOutcome,
  type GradeReport,
  type PlanStep,
  type QuestionScore,
} from './grade';
export { HOMEWORK_PROBES, type Probe, type ProbeChallenge, type ProbeContext } from './probes';
export { hw3Parameters, hw3ReferenceGrid, notebookParameters, type Hw3Parameters, type Hw3Row } from './hw3';
export { feedbackMarkdown, reportNames, summaryCsv, writeGradeReports, type WrittenReports } from './report';
