/**
 * PyTorch's version of the step `kdlab bench train` times (a script in tools/bench/), on one
 * thread: the yardstick for the native path. Present where a python3 with torch is installed.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { loadMnist } from 'kdlab';
import { withoutBlasPin } from 'kdlab/compute-internals';

/** PyTorch's samples/s (wall clock) and samples per CPU-second of its process, one run. */
export interface TorchRun {
  wall: number;
  cpu: number;
}

export interface TorchReference {
  /** One process that times the script's steps after its own warm-up; undefined when it failed. */
  run: () => TorchRun | undefined;
  version: string;
  /** Why there is no reference ('' when there is one). */
  why: string;
}

/**
 * `script` (a file in tools/bench/) run as `python3 script IDX_IMAGES ...args`; it prints
 * "samples/s samples-per-CPU-second" on its last line. `unsupported` says why the script's fixed
 * shapes do not match what is benchmarked (then there is no reference).
 */
export function torchReference(script: string, args: string[], unsupported?: string): TorchReference {
  const file = path.resolve(__dirname, '..', '..', 'bench', script);
  const python = process.env.KDLAB_TORCH_PYTHON ?? (fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');
  const none = (why: string): TorchReference => ({ run: () => undefined, version: '', why });
  if (unsupported) return none(unsupported);
  let images: string;
  try {
    images = path.join(loadMnist({ verify: false }).dir, 'train-images-idx3-ubyte');
  } catch {
    return none('MNIST not found');
  }
  // PyTorch's OpenBLAS runs its own pick for this CPU, as its users get it, not the workbook's pin.
  const env = { ...withoutBlasPin(process.env), OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1' };
  const probe = spawnSync(python, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8', env });
  if (probe.status !== 0) return none(`${python} has no torch (Debian: apt-get install python3-torch libopenblas0-pthread)`);
  return {
    version: probe.stdout.trim(),
    why: '',
    run: () => {
      const r = spawnSync(python, [file, images, ...args], { encoding: 'utf8', env });
      const [wall, cpu] = (r.stdout.trim().split('\n').pop() ?? '').split(' ').map(Number);
      return r.status === 0 && Number.isFinite(wall) && Number.isFinite(cpu) ? { wall, cpu } : undefined;
    },
  };
}
