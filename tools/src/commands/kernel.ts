import { installKernelSpec, jupyterVersion, uninstallKernelSpec, type InstallTarget } from '../kernelspec';
import { ToolError } from '../errors';

const USAGE = 'usage: kdlab kernel install [--user | --prefix PATH]\n       kdlab kernel uninstall [--user | --prefix PATH]\n';

function parseTarget(args: string[]): InstallTarget {
  const target: InstallTarget = {};
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--user') target.user = true;
    else if (a === '--prefix') {
      const p = args[++i];
      if (!p) throw new ToolError('BAD_ARGS', `--prefix needs a folder.\n${USAGE}`);
      target.prefix = p;
    } else if (a.startsWith('--prefix=')) target.prefix = a.slice('--prefix='.length);
    else throw new ToolError('BAD_ARGS', `unknown option ${a}.\n${USAGE}`);
  }
  if (target.user && target.prefix) throw new ToolError('BAD_ARGS', `choose --user or --prefix, not both.\n${USAGE}`);
  return target;
}

export async function run(argv: string[]): Promise<number> {
  const [action, ...rest] = argv;
  if (action === 'install') {
    const result = installKernelSpec(parseTarget(rest));
    if (result.replaced) {
      console.log(`Replaced the existing tslab kernelspec in ${result.dir} (it ran: ${result.replaced.argv.join(' ')}).`);
      console.log('A global tslab still works: it hands over to this workbook\'s local tslab when started in the notebooks folder.');
    }
    console.log(`Installed kernelspec "tslab" in ${result.dir}`);
    console.log(`It starts this workbook's tslab by absolute path, so Jupyter needs no global tslab.`);
    const jv = jupyterVersion();
    console.log(
      jv
        ? 'Jupyter is installed: open the notebooks with `jupyter lab notebooks/` and pick "TypeScript (tslab)".'
        : 'Python\'s Jupyter is not installed here; the kernelspec is ready for when it is (or use VS Code\'s Jupyter extension).',
    );
    return 0;
  }
  if (action === 'uninstall') {
    const dir = uninstallKernelSpec(parseTarget(rest));
    console.log(dir ? `Removed the tslab kernelspec from ${dir}` : 'No tslab kernelspec was installed there; nothing to remove.');
    return 0;
  }
  process.stderr.write(USAGE);
  return 2;
}
