/**
 * One worker process of notebook 07's students (hinton.ts, runStudents with inWorkers): its own
 * tfjs backend; it rebuilds the students' data from the split settings, reads the teacher's logits
 * from their cache file, and trains with runStudent, which writes the run's score file itself.
 */
import { InputError } from '../errors';
import { runKey, runStudent, type StudentRequest, type StudentRunSpec } from '../hinton';
import { sendReply, serveRuns } from './serve';
import { splitDataOf, teacherLogitsFromFile } from './split-data';

async function runOne(req: StudentRequest): Promise<void> {
  const data = splitDataOf(req.split);
  const loss: StudentRunSpec['loss'] = req.loss === 'hard' ? 'hard'
    : { ...req.loss, teacherLogits: teacherLogitsFromFile(req.teacherLogitsFile, req.teacherKey, data) };
  const spec: StudentRunSpec = { recipe: req.recipe, seed: req.seed, loss };
  const key = runKey(data, spec);
  if (key !== req.key) {
    throw new InputError('BAD_INPUT', `hinton worker: the split settings ${JSON.stringify(req.split)} do not rebuild the notebook's data (run key ${key}, expected ${req.key}); pass the settings that built data.`);
  }
  const score = await runStudent(data, spec, { checkpoint: req.checkpoint, dir: req.dir });
  sendReply({ type: 'done', key: req.key, row: { seconds: score.seconds } });
}

serveRuns<StudentRequest>(runOne);
