import { initBackend } from '../backend';

/**
 * The message loop of a worker process (grid runs, notebook 08's method runs): initialise the
 * backend, answer 'ready', then run each request in arrival order, one at a time, reporting a
 * failure as a message instead of dying. The parent going away (Ctrl-C, SIGKILL) ends the worker,
 * so no orphan keeps training in the background.
 */
export function serveRuns<Req extends { key: string }>(runOne: (req: Req, backend: string) => Promise<void>): void {
  void (async () => {
    const info = await initBackend({ quiet: true });
    process.on('disconnect', () => process.exit(0));
    let chain = Promise.resolve();
    process.on('message', (req: Req) => {
      chain = chain.then(() =>
        runOne(req, info.name).catch((err: unknown) => sendReply({ type: 'failed', key: req.key, message: (err as Error)?.message ?? String(err) })),
      );
    });
    sendReply({ type: 'ready' });
  })();
}

/** Sends one reply to the parent process. */
export function sendReply(msg: object): void {
  process.send?.(msg);
}
