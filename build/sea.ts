/**
 * Turns the bundle into a Node single executable: a SEA blob (the bundle plus its assets) made by
 * the running node, injected into a copy of the base binary with postject.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inject } from 'postject';
import { type Arch, SEA_FUSE } from './node-base';

export async function makeExecutable(options: {
  arch: Arch;
  bundleFile: string;
  baseBinary: string;
  nodeVersion: string;
  assets: Record<string, string>;
  workDir: string;
  outFile: string;
}): Promise<void> {
  const { arch, workDir } = options;
  const configFile = join(workDir, `sea-config-${arch}.json`);
  const blobFile = join(workDir, `sea-${arch}.blob`);
  writeFileSync(
    configFile,
    `${JSON.stringify(
      {
        main: options.bundleFile,
        output: blobFile,
        disableExperimentalSEAWarning: true,
        // Both are tied to the V8 build and CPU of the node making the blob. The code cache is
        // made for the binary of the build machine's CPU: it spares compiling the 4.3 MB bundle at
        // every start (≈ 130 ms of the 1 s start-up goal, docs/history.md) for 0.7 MB of binary.
        // V8 would refuse it in another CPU's binary. With it, the bundle must not use a native
        // `import()` (Node 20 cannot run one from a cached SEA script); esbuild inlines ours.
        useSnapshot: false,
        useCodeCache: arch === process.arch,
        assets: options.assets,
      },
      null,
      2,
    )}\n`,
  );
  if (process.versions.node !== options.nodeVersion) {
    throw new Error(
      `the SEA blob must be made by Node ${options.nodeVersion} (the base binary's), not ${process.versions.node}`,
    );
  }
  // Piped: node's "Wrote single executable preparation blob" is noise; on failure it is in the error.
  execFileSync(process.execPath, ['--experimental-sea-config', configFile], { stdio: 'pipe' });
  const partial = `${options.outFile}.partial`;
  copyFileSync(options.baseBinary, partial);
  chmodSync(partial, 0o755);
  await quietly(() => inject(partial, 'NODE_SEA_BLOB', readFileSync(blobFile), { sentinelFuse: SEA_FUSE }));
  renameSync(partial, options.outFile);
}

/**
 * postject's LIEF prints "Can't find string offset for section name '.note…'" for every stripped
 * binary: the section-name table was stripped, the injection is unaffected (the smoke tests run the
 * result). Those lines are dropped; anything else postject says is passed on.
 */
async function quietly(run: () => Promise<void>): Promise<void> {
  const { log, warn } = console;
  const filter =
    (print: (...args: unknown[]) => void) =>
    (...args: unknown[]) => {
      if (!/Can't find string offset for section name/.test(String(args[0]))) print(...args);
    };
  console.log = filter(log);
  console.warn = filter(warn);
  try {
    await run();
  } finally {
    console.log = log;
    console.warn = warn;
  }
}
