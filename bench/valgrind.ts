/**
 * Counting a server's instructions with valgrind (cachegrind, no cache simulation), shared by
 * bench/request and bench/serve: CPU time on this shared machine moves by 2-3x between runs, an
 * instruction count by 1-3% (V8 still times some of its work by the clock).
 */
import { spawnSync } from 'node:child_process';
import type { ForkOptions } from 'node:child_process';
import fs from 'node:fs';

export const haveValgrind = () => !spawnSync('valgrind', ['--version']).error;

/**
 * `fork()` options that run the child's node as valgrind's program, counting instructions into
 * `out`. --single-threaded keeps V8's compilers on the main thread, where valgrind counts; fixed
 * seeds give every process the same string hashes and random numbers. (V8's
 * --predictable-gc-schedule steadied the counts but raised them ~8% and the ratios with them: a
 * garbage collector scheduled unlike production's. Not used.)
 */
export function countedFork(out: string): ForkOptions {
  return {
    execPath: 'valgrind',
    execArgv: [
      '-q',
      '--tool=cachegrind',
      '--cache-sim=no',
      // V8 writes machine code at run time: valgrind must check for code it changed.
      '--smc-check=all-non-file',
      `--cachegrind-out-file=${out}`,
      process.execPath,
      '--single-threaded',
      '--hash-seed=1',
      '--random-seed=1',
      ...process.execArgv,
    ],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  };
}

/** The instructions a counted process executed, read from its output once it has exited. */
export function instructionsIn(out: string): number {
  return Number(/^summary: (\d+)/m.exec(fs.readFileSync(out, 'utf8'))?.[1]);
}
