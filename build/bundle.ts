/**
 * Bundles the CLI into one CommonJS file, the form a Node 20 single executable can run (no
 * top-level await, no `import.meta` at run time).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type BuildOptions, build, type Plugin } from 'esbuild';
import { EXCEL_MODULES } from './excel-asset';
import { SHEET_WRITER_ASSET } from './sheet-writer-asset';

export interface BundleResult {
  readonly file: string;
  /** The sheet writer's thread, beside it (`SHEET_WRITER_ASSET`). */
  readonly sheetWriter: string;
  readonly warnings: readonly string[];
}

/** Swaps serialport's native-addon loader (node-gyp-build) for the SEA-asset loader. */
function serialAddonPlugin(buildDir: string): Plugin {
  return {
    name: 'serialport-sea-addon',
    setup(pluginBuild) {
      pluginBuild.onResolve({ filter: /^\.\/serialport-bindings$/ }, (args) =>
        args.importer.includes('@serialport/bindings-cpp')
          ? { path: join(buildDir, 'serial-addon.ts') }
          : undefined,
      );
    },
  };
}

/**
 * Optional packages a dependency tries to `require` inside try/catch (debug → supports-color,
 * ws → bufferutil and utf-8-validate) are absent; left as run-time requires they make the SEA print
 * a warning on every start.
 */
const ABSENT_OPTIONAL = /^(supports-color|bufferutil|utf-8-validate)$/;

function absentOptionalPlugin(): Plugin {
  return {
    name: 'absent-optional',
    setup(pluginBuild) {
      pluginBuild.onResolve({ filter: ABSENT_OPTIONAL }, (args) => ({
        path: args.path,
        namespace: 'absent',
      }));
      pluginBuild.onLoad({ filter: /.*/, namespace: 'absent' }, (args) => ({
        contents: `throw new Error(${JSON.stringify(`${args.path} is not in this build`)});`,
        loader: 'js',
      }));
    },
  };
}

/**
 * archiver-utils (under exceljs's writer) still calls `new Buffer(…)`. Node warns about that
 * (DEP0005) only for code outside node_modules, and in the bundle everything is outside it: the
 * first spreadsheet written printed the deprecation warning. The three calls are rewritten to what
 * they mean today; a call left in a changed file fails the build rather than warn again.
 */
export function legacyBufferPlugin(): Plugin {
  const CALLS: ReadonlyArray<readonly [string, string]> = [
    ['new Buffer(size)', 'Buffer.alloc(size)'],
    ['new Buffer(0)', 'Buffer.alloc(0)'],
    ['new Buffer(source)', 'Buffer.from(source)'],
  ];
  return {
    name: 'archiver-utils-buffer',
    setup(pluginBuild) {
      pluginBuild.onLoad({ filter: /[\\/]archiver-utils[\\/]index\.js$/ }, (args) => {
        let contents = readFileSync(args.path, 'utf8');
        // (A newer copy, under zip-stream, has none of them.)
        for (const [from, to] of CALLS) contents = contents.replaceAll(from, to);
        if (contents.includes('new Buffer(')) throw new Error(`${args.path}: a new Buffer( call left`);
        return { contents, loader: 'js' };
      });
    },
  };
}

/** How both bundles are built: one CommonJS file for Node 20 that a SEA can run. */
const SINGLE_FILE = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  // Identifiers are kept so the stacks in the logs stay readable (full minification measured no
  // smaller in resident memory).
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: 'none',
  logLevel: 'silent',
} as const satisfies BuildOptions;

export async function bundle(options: {
  root: string;
  outDir: string;
  version: string;
}): Promise<BundleResult> {
  const file = join(options.outDir, 'edge-gateway.cjs');
  const result = await build({
    entryPoints: [join(options.root, 'build', 'sea-entry.ts')],
    outfile: file,
    ...SINGLE_FILE,
    define: {
      EDGE_GATEWAY_VERSION: JSON.stringify(options.version),
      // Makes gateway/main.ts run its CLI whatever the binary is called.
      'process.env.EDGE_GATEWAY_SEA': '"1"',
    },
    plugins: [
      serialAddonPlugin(join(options.root, 'build')),
      excelAssetPlugin(join(options.root, 'build')),
      sheetWriterPlugin(join(options.root, 'build')),
      absentOptionalPlugin(),
    ],
  });
  writeFileSync(file, asciiOnly(readFileSync(file, 'utf8')));
  // Beside the bundle, where the bundle run by plain node starts its thread from.
  const sheetWriter = await bundleSheetWriter(options);
  return {
    file,
    sheetWriter,
    warnings: result.warnings.map((w) => `${w.location?.file ?? ''}: ${w.text}`),
  };
}

/** The sheet writer's thread starts from its own bundle (build/sheet-writer-asset.ts), not with tsx. */
function sheetWriterPlugin(buildDir: string): Plugin {
  return {
    name: 'sheet-writer-source',
    setup(pluginBuild) {
      pluginBuild.onResolve({ filter: /[\\/]sheet-writer-source$/ }, () => ({
        path: join(buildDir, 'sheet-writer-asset.ts'),
      }));
    },
  };
}

/**
 * The sheet writer's thread (gateway/web/sheet-writer-thread.ts) as a bundle of its own, the SEA
 * asset `sheet-writer.cjs`; exceljs in it comes from the exceljs asset, as in the gateway's bundle.
 */
export async function bundleSheetWriter(options: { root: string; outDir: string }): Promise<string> {
  const file = join(options.outDir, SHEET_WRITER_ASSET);
  await build({
    entryPoints: [join(options.root, 'gateway', 'web', 'sheet-writer-thread.ts')],
    outfile: file,
    ...SINGLE_FILE,
    plugins: [excelAssetPlugin(join(options.root, 'build')), absentOptionalPlugin()],
  });
  writeFileSync(file, asciiOnly(readFileSync(file, 'utf8')));
  return file;
}

/** exceljs's modules the gateway imports (`EXCEL_MODULES`). */
const EXCELJS = /^exceljs(\/lib\/.*)?$/;

/**
 * In the main bundle, exceljs is a stub that takes it from the binary's own asset on first use
 * (build/excel-asset.ts): its 1.7 MB of source is then not in the script V8 holds all along.
 */
function excelAssetPlugin(buildDir: string): Plugin {
  return {
    name: 'exceljs-asset',
    setup(pluginBuild) {
      pluginBuild.onResolve({ filter: EXCELJS }, (args) => ({ path: args.path, namespace: 'exceljs-asset' }));
      pluginBuild.onLoad({ filter: /.*/, namespace: 'exceljs-asset' }, (args) => {
        const name = (EXCEL_MODULES as Record<string, string>)[args.path];
        if (!name)
          throw new Error(`${args.path}: not among the exceljs modules the asset has (EXCEL_MODULES)`);
        return {
          contents: `module.exports = require(${JSON.stringify(join(buildDir, 'excel-asset.ts'))}).excelFromAsset().${name};`,
          loader: 'js',
          resolveDir: buildDir,
        };
      });
    },
  };
}

/**
 * exceljs as a bundle of its own (the SEA asset `exceljs.cjs`): `module.exports` has the package's
 * main module and its streaming writer, each set up on first use. It needs nothing but node's
 * built-in modules.
 */
export async function bundleExcel(options: { root: string; outDir: string }): Promise<string> {
  const file = join(options.outDir, 'exceljs.cjs');
  await build({
    stdin: {
      contents: `module.exports = {${Object.entries(EXCEL_MODULES)
        .map(([path, name]) => `get ${name}() { return require(${JSON.stringify(path)}); }`)
        .join(',')}};`,
      resolveDir: options.root,
      loader: 'js',
    },
    outfile: file,
    ...SINGLE_FILE,
    plugins: [absentOptionalPlugin(), legacyBufferPlugin()],
  });
  writeFileSync(file, asciiOnly(readFileSync(file, 'utf8')));
  return file;
}

/**
 * Every character outside ASCII as a `\uXXXX` escape. esbuild escapes strings and identifiers but
 * leaves regular expression literals as written (`/^\d{8}-(\d{8}|长期)$/`), and three such
 * characters made V8 hold the whole 2.4 MB bundle source as a two-byte string: 4.6 MB of heap for
 * the life of the process instead of 2.3 MB. In a regular expression, with or without the `u` flag,
 * the escape means the same character (a surrogate pair written as two escapes is one code point
 * under `u`). The one place it would not is the raw text of a tagged template (`String.raw`), which
 * esbuild also leaves as written: the bundle has none with such characters.
 */
export function asciiOnly(code: string): string {
  return code.replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
