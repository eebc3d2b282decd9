/**
 * Bundles the CLI into one CommonJS file, the form a Node 20 single executable can run (no
 * top-level await, no `import.meta` at run time).
 */
import { join } from 'node:path';
import { build, type Plugin } from 'esbuild';

export interface BundleResult {
  readonly file: string;
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

export async function bundle(options: {
  root: string;
  outDir: string;
  version: string;
}): Promise<BundleResult> {
  const file = join(options.outDir, 'edge-gateway.cjs');
  const result = await build({
    entryPoints: [join(options.root, 'build', 'sea-entry.ts')],
    outfile: file,
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
    define: {
      EDGE_GATEWAY_VERSION: JSON.stringify(options.version),
      // Makes gateway/main.ts run its CLI whatever the binary is called.
      'process.env.EDGE_GATEWAY_SEA': '"1"',
    },
    plugins: [serialAddonPlugin(join(options.root, 'build')), absentOptionalPlugin()],
  });
  return { file, warnings: result.warnings.map((w) => `${w.location?.file ?? ''}: ${w.text}`) };
}
