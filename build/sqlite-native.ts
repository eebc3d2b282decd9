/**
 * The query store's SQLite addon (better-sqlite3) for each CPU the build packs. npm builds it from
 * source for this machine when it installs (the registry's prebuilt download is unreachable), so
 * the x64 addon is node_modules' own; the arm64 one is cross-built here from the same sources with
 * Debian's g++-aarch64-linux-gnu, against the headers of the Node that runs the build, and cached
 * in `.tmp/sqlite-addon/` by version. Each is stripped like the Node base binary.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Arch } from './node-base';

const GNU_PREFIX: Record<Arch, string> = { x64: 'x86_64-linux-gnu-', arm64: 'aarch64-linux-gnu-' };
/** The CPU this Node runs on, in the build's names. */
const HOST: Arch | undefined = process.arch === 'x64' || process.arch === 'arm64' ? process.arch : undefined;

export interface SqliteAddonOptions {
  readonly root: string;
  readonly arch: Arch;
  /** Where built addons are kept (default `<root>/.tmp/sqlite-addon`). */
  readonly cacheDir?: string;
  readonly log?: (line: string) => void;
}

/** The stripped addon for `arch`, built (and cached) if needed; throws naming what is missing. */
export function sqliteAddonFor(options: SqliteAddonOptions): string {
  const { root, arch } = options;
  const pkgDir = join(root, 'node_modules', 'better-sqlite3');
  const version = (JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { version: string })
    .version;
  const cacheDir = options.cacheDir ?? join(root, '.tmp', 'sqlite-addon');
  const stripped = join(cacheDir, `better_sqlite3-${version}-node${process.versions.modules}-${arch}.node`);
  if (existsSync(stripped)) return stripped;
  mkdirSync(cacheDir, { recursive: true });
  const built =
    arch === HOST ? join(pkgDir, 'build', 'Release', 'better_sqlite3.node') : crossBuild(options, pkgDir);
  if (!existsSync(built)) {
    throw new Error(`better-sqlite3 has no ${arch} build at ${built} (run npm ci: it builds it from source)`);
  }
  const partial = `${stripped}.${process.pid}.tmp`;
  copyFileSync(built, partial);
  const strip = arch === HOST ? 'strip' : `${GNU_PREFIX[arch]}strip`;
  try {
    execFileSync(strip, ['--strip-unneeded', partial], { stdio: 'pipe' });
  } catch (error) {
    rmSync(partial, { force: true });
    throw new Error(`cannot strip the ${arch} SQLite addon with ${strip}: ${(error as Error).message}`);
  }
  execFileSync('mv', [partial, stripped]);
  if (arch !== HOST) rmSync(join(cacheDir, `src-${arch}`), { recursive: true, force: true });
  return stripped;
}

/** node-gyp from the npm that ships with this Node (the one npm itself runs for `install` scripts). */
function nodeGyp(): string {
  const fromNpm = process.env.npm_config_node_gyp;
  if (fromNpm && existsSync(fromNpm)) return fromNpm;
  const beside = join(
    dirname(process.execPath),
    '..',
    'lib',
    'node_modules',
    'npm',
    'node_modules',
    'node-gyp',
    'bin',
    'node-gyp.js',
  );
  if (existsSync(beside)) return beside;
  throw new Error('cannot find node-gyp (it comes with npm): set npm_config_node_gyp');
}

/** The Node headers node-gyp builds against: npm's `nodedir` setting, else the running Node's prefix. */
function nodeHeaders(): string {
  const candidates = [process.env.npm_config_nodedir, join(dirname(process.execPath), '..')];
  for (const dir of candidates) {
    if (dir && existsSync(join(dir, 'include', 'node', 'node_api.h'))) return dir;
  }
  throw new Error('cannot find the Node headers (include/node/node_api.h) for the cross build');
}

function crossBuild(options: SqliteAddonOptions, pkgDir: string): string {
  const { arch, root } = options;
  const prefix = GNU_PREFIX[arch];
  try {
    execFileSync(`${prefix}g++`, ['--version'], { stdio: 'ignore' });
  } catch {
    throw new Error(
      `cannot cross-build the SQLite addon for ${arch}: ${prefix}g++ is missing (Debian package g++-${prefix.slice(0, -1)})`,
    );
  }
  const work = join(options.cacheDir ?? join(root, '.tmp', 'sqlite-addon'), `src-${arch}`);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  for (const part of ['binding.gyp', 'deps', 'src', 'package.json'])
    cpSync(join(pkgDir, part), join(work, part), { recursive: true });
  options.log?.(`cross-building better-sqlite3 for ${arch} (a few minutes, once per version)`);
  execFileSync(
    process.execPath,
    [nodeGyp(), 'rebuild', '--release', `--arch=${arch}`, `--nodedir=${nodeHeaders()}`, '--jobs=2'],
    {
      cwd: work,
      stdio: 'pipe',
      env: {
        ...process.env,
        CC: `${prefix}gcc`,
        CXX: `${prefix}g++`,
        LINK: `${prefix}g++`,
        AR: `${prefix}ar`,
      },
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  return join(work, 'build', 'Release', 'better_sqlite3.node');
}
