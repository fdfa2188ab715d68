/**
 * The playground's script, bundled with esbuild from the library's own sources: 'kdlab/browser'
 * resolves to lib/src/export/browser.ts (models.ts, losses/, softmax.ts, export/), '@tensorflow/tfjs' to
 * core + layers + the CPU backend (page/tfjs.ts). Node's built-in modules, which a few bundled
 * library files import for helpers the page never calls (the OpenBLAS addon loader, the MNIST file
 * reader), become a stub that throws if called: the bundle holds no Node code that could run.
 */
import * as fs from 'node:fs';
import { builtinModules } from 'node:module';
import * as path from 'node:path';
import { workbookRoot } from 'kdlab/internals';
import { ToolError } from '../errors';

export interface PageBundle {
  code: string;
  bytes: number;
  /** Workbook-relative source files of the library in the bundle (lib/src/…). */
  librarySources: string[];
  /** Node built-ins that bundled files import and the stub replaced. */
  stubbedNodeModules: string[];
}

const NODE_STUB = `module.exports = new Proxy({}, { get: function (_t, p) {
  if (p === '__esModule' || p === 'default' || typeof p === 'symbol' || p === 'then') return undefined;
  return function () { var e = new Error(String(p) + '() is Node-only: the playground page cannot call it'); e.name = 'KdlabError'; e.code = 'BACKEND_UNAVAILABLE'; throw e; };
} });`;

function libSource(): string {
  const lib = path.dirname(require.resolve('kdlab/package.json'));
  const entry = path.join(lib, 'src', 'export', 'browser.ts');
  if (!fs.existsSync(entry)) {
    throw new ToolError('PLAYGROUND_BUNDLE', `the playground bundles kdlab's TypeScript sources, but ${entry} is missing; build the page from a clone of the workbook.`);
  }
  return entry;
}

/** Bundles tools/src/playground/page/main.ts for the browser (minified IIFE, ES2020, Chrome 90+). */
export async function bundlePlaygroundScript(options: { minify?: boolean } = {}): Promise<PageBundle> {
  const esbuild = await import('esbuild');
  const root = workbookRoot();
  const pageDir = path.join(root, 'tools', 'src', 'playground', 'page');
  const entry = path.join(pageDir, 'main.ts');
  if (!fs.existsSync(entry)) {
    throw new ToolError('PLAYGROUND_BUNDLE', `the playground's page script ${path.relative(root, entry)} is missing; build it from a clone of the workbook.`);
  }
  const browserEntry = libSource();
  const nodeNames = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);
  const stubbed = new Set<string>();
  let result;
  try {
    result = await esbuild.build({
      entryPoints: [entry],
      absWorkingDir: root,
      bundle: true,
      write: false,
      format: 'iife',
      platform: 'browser',
      target: ['es2020', 'chrome90'],
      minify: options.minify ?? true,
      metafile: true,
      legalComments: 'none',
      logLevel: 'silent',
      define: { 'process.env.NODE_ENV': '"production"' },
      alias: { 'kdlab/browser': browserEntry, '@tensorflow/tfjs': path.join(pageDir, 'tfjs.ts') },
      plugins: [
        {
          name: 'node-builtins-stub',
          setup(build) {
            build.onResolve({ filter: /^[a-z:_/]+$/ }, (args) => {
              if (!nodeNames.has(args.path)) return undefined;
              stubbed.add(args.path.replace(/^node:/, ''));
              return { path: args.path, namespace: 'node-stub' };
            });
            build.onLoad({ filter: /.*/, namespace: 'node-stub' }, () => ({ contents: NODE_STUB, loader: 'js' }));
          },
        },
      ],
    });
  } catch (err) {
    const errors = (err as { errors?: { text: string; location?: { file: string; line: number } | null }[] }).errors ?? [];
    const detail = errors.map((e) => `${e.location ? `${e.location.file}:${e.location.line}: ` : ''}${e.text}`).join('; ');
    throw new ToolError('PLAYGROUND_BUNDLE', `the playground script did not bundle: ${detail || (err as Error).message}. A library module the page imports may have gained a Node-only dependency.`);
  }
  const code = result.outputFiles[0].text;
  const librarySources = Object.keys(result.metafile.inputs)
    .map((f) => path.relative(root, path.resolve(root, f)))
    .filter((f) => f.startsWith(`lib${path.sep}src${path.sep}`))
    .sort();
  return { code, bytes: Buffer.byteLength(code), librarySources, stubbedNodeModules: [...stubbed].sort() };
}
