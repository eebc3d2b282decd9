/**
 * `npm run build [-- --arch x64,arm64]`: dist/edge-gateway-linux-<arch>, one self-contained file
 * per CPU architecture (see docs/packaging.md).
 */
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import packageJson from '../package.json' with { type: 'json' };
import { bundle, bundleExcel } from './bundle';
import { digestAssetOf } from './embedded-addon';
import { EXCEL_ASSET } from './excel-asset';
import { type Arch, baseBinary } from './node-base';
import { makeExecutable } from './sea';
import { SERIAL_ADDON_ASSET } from './serial-addon';
import { SHEET_WRITER_ASSET } from './sheet-writer-asset';
import { SQLITE_ADDON_ASSET } from './sqlite-addon';
import { sqliteAddonFor } from './sqlite-native';
import { webAssets } from './web-assets';

/** The repository: found from this file, also when a benchmark bundles it elsewhere (then from the working directory). */
export const ROOT = findRoot(resolve(import.meta.dirname, '..'));

function findRoot(guess: string): string {
  for (const candidate of [guess, process.cwd()]) {
    if (existsSync(join(candidate, 'build', 'sea-entry.ts'))) return candidate;
  }
  return guess;
}
export const ARCHES: readonly Arch[] = ['x64', 'arm64'];

/** serialport's glibc prebuild per architecture (the official Node binaries are glibc builds). */
const SERIAL_PREBUILDS: Record<Arch, string> = {
  x64: 'linux-x64/@serialport+bindings-cpp.glibc.node',
  arm64: 'linux-arm64/@serialport+bindings-cpp.armv8.glibc.node',
};

export interface BuildOptions {
  readonly arches?: readonly Arch[];
  readonly outDir?: string;
  /** Where the Node base binaries are cached (default `.tmp/node-bins`). */
  readonly cacheDir?: string;
  readonly log?: (line: string) => void;
}

export interface BuiltBinary {
  readonly arch: Arch;
  readonly file: string;
  readonly bytes: number;
}

export async function buildBinaries(options: BuildOptions = {}): Promise<BuiltBinary[]> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const nodeVersion = process.versions.node;
  const outDir = options.outDir ?? join(ROOT, 'dist');
  const workDir = join(ROOT, '.tmp', 'build');
  mkdirSync(outDir, { recursive: true });
  mkdirSync(workDir, { recursive: true });
  const arches = options.arches ?? ARCHES;
  // Base binaries first: a build that cannot strip one stops at once, before any binary is written.
  const cacheDir = options.cacheDir ?? join(ROOT, '.tmp', 'node-bins');
  const bases = new Map(arches.map((arch) => [arch, baseBinary({ arch, nodeVersion, cacheDir })]));
  // The query store's SQLite addon per CPU (arm64 is cross-built once per version and cached).
  const sqliteAddons = new Map(arches.map((arch) => [arch, sqliteAddonFor({ root: ROOT, arch, log })]));

  const bundled = await bundle({ root: ROOT, outDir: workDir, version: packageJson.version });
  for (const warning of bundled.warnings) log(`bundle warning: ${warning}`);
  const excel = await bundleExcel({ root: ROOT, outDir: workDir });
  const web = webAssets(ROOT);
  log(
    `bundle ${bundled.file} (${kb(statSync(bundled.file).size)}), sheet writer (${kb(statSync(bundled.sheetWriter).size)}), exceljs (${kb(statSync(excel).size)}), ${Object.keys(web).length} web asset(s)`,
  );

  const built: BuiltBinary[] = [];
  for (const arch of arches) {
    const base = bases.get(arch)!;
    const addon = join(
      ROOT,
      'node_modules',
      '@serialport',
      'bindings-cpp',
      'prebuilds',
      SERIAL_PREBUILDS[arch],
    );
    if (!existsSync(addon)) throw new Error(`serialport has no prebuild for linux-${arch}: ${addon}`);
    const file = join(outDir, `edge-gateway-linux-${arch}`);
    await makeExecutable({
      arch,
      bundleFile: bundled.file,
      baseBinary: base.file,
      nodeVersion,
      assets: {
        ...web,
        [EXCEL_ASSET]: excel,
        [SHEET_WRITER_ASSET]: bundled.sheetWriter,
        ...addonAssets(SERIAL_ADDON_ASSET, addon, workDir, arch),
        ...addonAssets(SQLITE_ADDON_ASSET, sqliteAddons.get(arch)!, workDir, arch),
      },
      workDir,
      outFile: file,
    });
    const bytes = statSync(file).size;
    log(`${file}: ${(bytes / 1048576).toFixed(1)} MB`);
    built.push({ arch, file, bytes });
  }
  // dist/ is the release folder: the binaries plus what install.sh needs beside them.
  copyFileSync(join(ROOT, 'build', 'install.sh'), join(outDir, 'install.sh'));
  copyFileSync(join(ROOT, 'build', 'update-guard.sh'), join(outDir, 'update-guard.sh'));
  copyFileSync(join(ROOT, 'build', 'edge-gateway.service'), join(outDir, 'edge-gateway.service'));
  copyFileSync(join(ROOT, 'config', 'example.json'), join(outDir, 'example.json'));
  return built;
}

/** An addon asset and its digest beside it (build/embedded-addon.ts checks the extracted file against it). */
function addonAssets(asset: string, file: string, workDir: string, arch: Arch): Record<string, string> {
  const digestFile = join(workDir, `${arch}-${digestAssetOf(asset)}`);
  writeFileSync(digestFile, createHash('sha256').update(readFileSync(file)).digest('hex'));
  return { [asset]: file, [digestAssetOf(asset)]: digestFile };
}

function kb(bytes: number): string {
  return `${Math.round(bytes / 1024)} kB`;
}

function parseArches(value: string | undefined): Arch[] {
  if (!value) return [...ARCHES];
  return value.split(',').map((a) => {
    if (!ARCHES.includes(a as Arch)) throw new Error(`unknown --arch ${a} (use ${ARCHES.join(', ')})`);
    return a as Arch;
  });
}

const invokedDirectly = process.argv[1] !== undefined && /build[/\\]build\.ts$/.test(process.argv[1]);
if (invokedDirectly) {
  const { values } = parseArgs({
    options: { arch: { type: 'string' }, out: { type: 'string' }, cache: { type: 'string' } },
    strict: true,
  });
  buildBinaries({ arches: parseArches(values.arch), outDir: values.out, cacheDir: values.cache }).then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`build failed: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    },
  );
}
