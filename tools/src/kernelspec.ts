import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { workbookRoot, writeFileAtomic } from 'kdlab/internals';
import { ToolError } from './errors';

/** The kernelspec name every notebook of the workbook declares (metadata.kernelspec.name). */
export const KERNEL_NAME = 'tslab';

export interface KernelSpecJson {
  argv: string[];
  display_name: string;
  language: string;
  interrupt_mode?: 'signal' | 'message';
  metadata?: Record<string, unknown>;
}

/** This workbook's own tslab launcher (node_modules/.bin/tslab), by absolute path. */
export function localTslabPath(root = workbookRoot()): string {
  return path.join(root, 'node_modules', '.bin', 'tslab');
}

/**
 * A kernelspec that starts the workbook's own tslab by absolute path. A spec that says just
 * `tslab` (what `tslab install` writes) only starts where tslab is installed globally, and
 * Jupyter then fails with "No such file or directory: 'tslab'".
 */
export function workbookKernelSpec(root = workbookRoot()): KernelSpecJson {
  return {
    argv: [localTslabPath(root), 'kernel', '--config-path', '{connection_file}'],
    display_name: 'TypeScript (tslab)',
    language: 'typescript',
    interrupt_mode: 'signal',
    metadata: { kdlab: { workbook: root } },
  };
}

/** Jupyter's per-user data dir (JUPYTER_DATA_DIR, else XDG / ~/.local/share/jupyter on Linux). */
export function userDataDir(): string {
  if (process.env.JUPYTER_DATA_DIR) return process.env.JUPYTER_DATA_DIR;
  if (process.platform === 'darwin') return path.join(os.homedir(), 'Library', 'Jupyter');
  if (process.platform === 'win32') return path.join(process.env.APPDATA ?? os.homedir(), 'jupyter');
  const xdg = process.env.XDG_DATA_HOME ?? path.join(os.homedir(), '.local', 'share');
  return path.join(xdg, 'jupyter');
}

/** The folders Jupyter searches for kernelspecs, in its order of precedence. */
export function kernelSearchDirs(): string[] {
  const fromEnv = (process.env.JUPYTER_PATH ?? '').split(path.delimiter).filter(Boolean);
  const dirs = [...fromEnv, userDataDir(), '/usr/local/share/jupyter', '/usr/share/jupyter'];
  return [...new Set(dirs.map((d) => path.join(d, 'kernels')))];
}

export interface FoundKernelSpec {
  dir: string;
  spec: KernelSpecJson | null;
  /** True when the spec starts this workbook's own tslab. */
  ownsWorkbook: boolean;
  /** True when the command in argv[0] exists (a bare `tslab` is looked up on PATH). */
  launcherFound: boolean;
}

function commandExists(cmd: string): boolean {
  if (path.isAbsolute(cmd)) return fs.existsSync(cmd);
  const dirs = (process.env.PATH ?? '').split(path.delimiter);
  return dirs.some((d) => d && fs.existsSync(path.join(d, cmd)));
}

/** The tslab kernelspec Jupyter would pick, if any. */
export function findKernelSpec(root = workbookRoot()): FoundKernelSpec | null {
  for (const kernels of kernelSearchDirs()) {
    const dir = path.join(kernels, KERNEL_NAME);
    const file = path.join(dir, 'kernel.json');
    if (!fs.existsSync(file)) continue;
    let spec: KernelSpecJson | null = null;
    try {
      spec = JSON.parse(fs.readFileSync(file, 'utf8')) as KernelSpecJson;
    } catch {
      spec = null;
    }
    const launcher = spec?.argv?.[0] ?? '';
    return {
      dir,
      spec,
      ownsWorkbook: launcher === localTslabPath(root),
      launcherFound: launcher !== '' && commandExists(launcher),
    };
  }
  return null;
}

export interface InstallTarget {
  user?: boolean;
  prefix?: string;
}

export function kernelDirFor(target: InstallTarget): string {
  const base = target.prefix ? path.join(path.resolve(target.prefix), 'share', 'jupyter') : userDataDir();
  return path.join(base, 'kernels', KERNEL_NAME);
}

export interface InstallResult {
  dir: string;
  replaced: KernelSpecJson | null;
  viaJupyter: boolean;
}

/**
 * Writes the workbook's kernelspec. Jupyter's own `jupyter kernelspec install` is not needed:
 * a kernelspec is a folder with kernel.json, so this works without Python's Jupyter installed.
 */
export function installKernelSpec(target: InstallTarget = {}, root = workbookRoot()): InstallResult {
  const launcher = localTslabPath(root);
  if (!fs.existsSync(launcher)) {
    throw new ToolError('TSLAB_MISSING', `${launcher} does not exist: tslab is not installed in this workbook. Run \`npm ci\` first.`);
  }
  const dir = kernelDirFor(target);
  const file = path.join(dir, 'kernel.json');
  let replaced: KernelSpecJson | null = null;
  if (fs.existsSync(file)) {
    try {
      replaced = JSON.parse(fs.readFileSync(file, 'utf8')) as KernelSpecJson;
    } catch {
      replaced = { argv: ['(unreadable kernel.json)'], display_name: '', language: '' };
    }
  }
  writeFileAtomic(file, JSON.stringify(workbookKernelSpec(root), null, 2) + '\n');
  return { dir, replaced, viaJupyter: false };
}

export function uninstallKernelSpec(target: InstallTarget = {}): string | null {
  const dir = kernelDirFor(target);
  if (!fs.existsSync(path.join(dir, 'kernel.json'))) return null;
  fs.rmSync(dir, { recursive: true, force: true });
  return dir;
}

/** `jupyter --version`'s first lines, or null when Jupyter is not on PATH. */
export function jupyterVersion(): string | null {
  const r = spawnSync('jupyter', ['--version'], { encoding: 'utf8', timeout: 20000 });
  if (r.error || r.status !== 0) return null;
  return r.stdout.trim();
}
