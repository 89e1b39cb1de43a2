import { Worker } from 'node:worker_threads';

/**
 * Beasties' options: reduce each inline `<style>` to the rules the document uses, keeping the
 * `@font-face` and `@keyframes` those rules use; read no linked stylesheet, preload nothing
 * (the tags preload the fonts), print nothing.
 */
const OPTIONS = {
  external: false,
  mergeStylesheets: false,
  reduceInlineStyles: true,
  inlineFonts: true,
  preloadFonts: false,
  keyframes: 'critical',
  compress: true,
  pruneSource: false,
  logLevel: 'silent',
};

/**
 * The worker's program, plain JavaScript run with `eval`, so that it runs the same from the
 * TypeScript sources under a test runner and from `dist/`: it answers each document with
 * beasties' output, or the error's text.
 */
const PROGRAM = `
const { parentPort, workerData } = require('node:worker_threads');
const Beasties = require(workerData.beasties);
const beasties = new Beasties(workerData.options);
parentPort.on('message', ({ id, html }) => {
  beasties.process(html).then(
    (output) => parentPort.postMessage({ id, output }),
    (error) => parentPort.postMessage({ id, error: String((error && error.message) || error) }),
  );
});
`;

interface Job {
  resolve(output: string): void;
  reject(error: Error): void;
}

/** The worker and the pages it holds. */
interface Running {
  worker: Worker;
  jobs: Map<number, Job>;
  /** Ends the worker once it has had no page for {@link IDLE_MS}. */
  idle?: NodeJS.Timeout;
}

/**
 * How long a worker with no page is kept for the next one: a page shape's few computations come
 * within that, and then it ends, so that an idle isolate (its heap, its GCs) costs nothing.
 */
const IDLE_MS = 5_000;

let running: Running | undefined;
let lastId = 0;

/**
 * Runs beasties over `html` in a worker thread, off every request's path: it takes 40-250 ms a
 * page. One worker serves the process, started when a page needs it and ended after
 * {@link IDLE_MS} without one, never keeping the process alive; a worker that dies fails the
 * pages it held, and the next page starts another.
 */
export function processHtml(html: string): Promise<string> {
  const started = (running ??= startWorker());
  const { worker, jobs } = started;
  clearTimeout(started.idle);
  const id = ++lastId;
  const done = new Promise<string>((resolve, reject) => jobs.set(id, { resolve, reject }));
  worker.postMessage({ id, html });
  return done;
}

function startWorker(): Running {
  const worker = new Worker(PROGRAM, {
    eval: true,
    workerData: { beasties: require.resolve('beasties'), options: OPTIONS },
  });
  const started: Running = { worker, jobs: new Map() };
  worker.on('message', ({ id, output, error }: { id: number; output?: string; error?: string }) => {
    const job = started.jobs.get(id);
    started.jobs.delete(id);
    if (error === undefined) job?.resolve(output ?? '');
    else job?.reject(new Error(error));
    if (!started.jobs.size) {
      started.idle = setTimeout(() => {
        if (running === started) running = undefined;
        void worker.terminate();
      }, IDLE_MS).unref();
    }
  });
  const fail = (error: Error) => {
    if (running === started) running = undefined;
    for (const job of started.jobs.values()) job.reject(error);
    started.jobs.clear();
  };
  worker.on('error', fail);
  worker.on('exit', (code) =>
    fail(new Error(`The critical CSS worker stopped (exit code ${code})`)),
  );
  worker.unref(); // after the listeners: adding a 'message' listener refs the worker again
  return started;
}
