/**
 * The one worker process of runAll (pool.ts): its own tfjs backend and one BLAS thread. It trains
 * each run it is sent, in arrival order, streams its epochs, and reports the outcome; the parent
 * commits it to the store. The parent going away (Ctrl-C, SIGKILL) ends the worker, so no orphan
 * keeps training in the background.
 */
import { initBackend } from '../backend';
import { trainRun } from './execute';
import type { WorkerReply, WorkerRequest } from './pool';

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
        const outcome = await trainRun(req.spec, { onEpoch: (record) => send({ type: 'epoch', key: req.key, record }) }, info.name);
        send({ type: 'done', key: req.key, outcome });
      } catch (err) {
        send({ type: 'failed', key: req.key, message: (err as Error)?.message ?? String(err) });
      }
    });
  });
  send({ type: 'ready' });
})();
