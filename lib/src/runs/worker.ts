/**
 * The one worker process of runAll (pool.ts): its own tfjs backend and one BLAS thread. It does
 * each job it is sent (schedule.ts), in arrival order: trains a run, streaming its epochs, and
 * reports the outcome, which the parent commits to the store; or fills a teacher's cache. The parent going away (Ctrl-C, SIGKILL) ends the worker, so no orphan
 * keeps training in the background.
 */
import { initBackend } from '../backend';
import { trainRun } from './execute';
import type { WorkerReply, WorkerRequest } from './pool';
import { prepareTeacherTargets } from './prepare';

const send = (msg: WorkerReply): void => {
  process.send?.(msg);
};

void (async () => {
  const info = await initBackend({ quiet: true });
  process.on('disconnect', () => process.exit(0));
  let chain = Promise.resolve();
  process.on('message', (req: WorkerRequest) => {
    chain = chain.then(async () => {
      try {
        if (req.type === 'prepare') {
          await prepareTeacherTargets(req.specs);
          send({ type: 'prepared', key: req.key });
          return;
        }
        const outcome = await trainRun(req.spec, { onEpoch: (record) => send({ type: 'epoch', key: req.key, record }) }, info.name);
        send({ type: 'done', key: req.key, outcome });
      } catch (err) {
        send({ type: 'failed', key: req.key, message: (err as Error)?.message ?? String(err) });
      }
    });
  });
  send({ type: 'ready' });
})();
