import * as path from 'node:path';
import { findKernelSpec, jupyterVersion, localTslabPath } from '../kernelspec';
import { initBackend, loadMnist } from 'kdlab';
import { KdlabError, workbookRoot } from 'kdlab/internals';
import { describeBlasKernelFamily, nativeConvKernelNames } from 'kdlab/compute-internals';

type Status = 'ok' | 'warn' | 'fail';

function line(status: Status, label: string, text: string): void {
  const mark = status === 'ok' ? 'ok  ' : status === 'warn' ? 'note' : 'FAIL';
  console.log(`[${mark}] ${label.padEnd(8)} ${text}`);
}

/** `kdlab doctor`: everything a newcomer needs to know about this machine, each with its fix. */
export async function run(_argv: string[]): Promise<number> {
  let failed = false;
  const root = workbookRoot();
  console.log(`kdlab doctor — workbook at ${root}`);

  const major = Number(process.versions.node.split('.')[0]);
  line(major >= 20 ? 'ok' : 'fail', 'node', `${process.version}${major >= 20 ? '' : ' (Node 20 or newer is required: install it and run `npm ci` again)'}`);
  failed ||= major < 20;

  try {
    const info = await initBackend({ quiet: true });
    const threads = (n: number): string => `${n} thread${n === 1 ? '' : 's'}`;
    const detail =
      info.tfjsBackend === 'wasm' ? ` on tfjs wasm (SIMD ${info.simd ? 'on' : 'off'})` : '';
    line('ok', 'backend', `${info.name}${detail}`);
    line('ok', 'why', info.reason);
    line('ok', 'tfjs', info.tfjsVersion);
    if (info.blas) {
      const conv = nativeConvKernelNames();
      line('ok', 'kernels', `${info.nativeKernels.join(', ')} on OpenBLAS` +
        (conv.length > 0 ? `; ${conv.join(', ')} in the addon (convolutions as im2col + sgemm)` : '; conv gradients as im2col + that matmul') +
        '; Sum over leading axes, LeakyRelu and its gradient in the addon; every other op on tfjs wasm');
      // Not pinned is a note, not a failure: the digits then hold on this CPU model only.
      line(info.blas.family.pinned === 'none' ? 'warn' : 'ok', 'blas',
        `${describeBlasKernelFamily(info.blas.family)}; ${info.blas.library}, ${info.blas.threading}, ` +
        `${threads(info.blas.threads)} per process (run workers use 1)`);
      line('ok', 'addon', path.relative(root, info.blas.addonPath));
    } else if (info.tfjsBackend === 'wasm') {
      line('ok', 'kernels', `all on tfjs wasm (${threads(info.threads)}); BatchMatMul/_FusedMatMul with the transposed-operand fix, conv gradients as im2col + matmul`);
    }
    if (info.nativeHint) line('warn', 'native', `OpenBLAS kernels off: ${info.nativeHint}`);
    if (info.name === 'cpu') line('warn', 'speed', 'the pure-JS cpu backend is ~10x slower than wasm; unset KDLAB_BACKEND or run `npm ci` to restore wasm');
  } catch (err) {
    failed = true;
    line('fail', 'backend', err instanceof KdlabError ? err.message : String(err));
  }

  try {
    const data = loadMnist();
    const how =
      data.verification === 'sha256'
        ? 'SHA-256 verified against data/checksums.json'
        : data.verification === 'cached'
          ? 'SHA-256 verified earlier (size and mtime unchanged)'
          : 'no recorded checksum: structure checked only';
    line('ok', 'data', `${data.dataset} train ${data.train.size} / test ${data.test.size} images, ${how}`);
    line('ok', 'from', data.dir);
  } catch (err) {
    failed = true;
    line('fail', 'data', err instanceof KdlabError ? err.message : String(err));
  }

  const spec = findKernelSpec(root);
  const install = 'npx kdlab kernel install';
  if (!spec) {
    line('warn', 'kernel', `no "tslab" kernelspec registered with Jupyter. Register it: \`${install}\``);
  } else if (spec.ownsWorkbook) {
    line('ok', 'kernel', `"tslab" kernelspec in ${spec.dir} starts this workbook's tslab (${path.relative(root, localTslabPath(root))})`);
  } else {
    const argv0 = spec.spec?.argv?.[0] ?? '(unreadable kernel.json)';
    line(
      'warn',
      'kernel',
      `"tslab" kernelspec in ${spec.dir} runs \`${argv0}\`${spec.launcherFound ? '' : ', which does not exist on this PATH'}, not this workbook's tslab. Replace it: \`${install}\``,
    );
  }

  const jv = jupyterVersion();
  if (jv) line('ok', 'jupyter', jv.split('\n').find((l) => /^(jupyter_core|jupyterlab|nbclient|notebook)\b/.test(l.trim())) ?? jv.split('\n')[0]);
  else line('warn', 'jupyter', 'not found on PATH (optional: `npm start` runs the notebooks without it; for JupyterLab install it, or use VS Code\'s Jupyter extension)');

  console.log(failed ? 'Some checks failed: fix the lines marked FAIL.' : 'All required checks passed.');
  return failed ? 1 : 0;
}
