/**
 * The Node base binary a SEA is made from, per CPU architecture. It comes from the pinned npm
 * packages `node-linux-<arch>` (the same Node as development) because npm is the only network a
 * build box is sure to have; `npm pack` fetches the arm64 one on x64 too, where `npm install`
 * refuses it (EBADPLATFORM). Tarballs and the extracted, stripped binaries are cached in `.tmp/`.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';

export type Arch = 'x64' | 'arm64';

export const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

const STRIP: Record<Arch, readonly string[]> = {
  x64: process.arch === 'x64' ? ['strip', 'x86_64-linux-gnu-strip'] : ['x86_64-linux-gnu-strip'],
  arm64: process.arch === 'arm64' ? ['strip', 'aarch64-linux-gnu-strip'] : ['aarch64-linux-gnu-strip'],
};

/** The Debian package that has each strip tool, for the error that names what to install. */
const STRIP_PACKAGE: Record<string, string> = {
  strip: 'binutils',
  'aarch64-linux-gnu-strip': 'binutils-aarch64-linux-gnu',
  'x86_64-linux-gnu-strip': 'binutils-x86-64-linux-gnu',
};

/** A base binary that could not be stripped: the build stops, since unstripped it is over the size limit. */
export class StripError extends Error {}

export interface BaseBinary {
  readonly file: string;
}

export function baseBinary(options: { arch: Arch; nodeVersion: string; cacheDir: string }): BaseBinary {
  const { arch, nodeVersion, cacheDir } = options;
  mkdirSync(cacheDir, { recursive: true });
  const pkg = `node-linux-${arch}`;
  const tarball = join(cacheDir, `${pkg}-${nodeVersion}.tgz`);
  if (!existsSync(tarball)) {
    execFileSync('npm', ['pack', `${pkg}@${nodeVersion}`, '--silent', '--pack-destination', cacheDir], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
  }
  const stripped = join(cacheDir, `node-${nodeVersion}-${arch}.stripped`);
  if (existsSync(stripped)) return { file: stripped };
  const plain = join(cacheDir, `node-${nodeVersion}-${arch}`);
  if (!existsSync(plain)) {
    const partial = `${plain}.partial`;
    execFileSync('sh', [
      '-c',
      'tar -xzOf "$1" package/bin/node > "$2" && chmod 755 "$2"',
      'sh',
      tarball,
      partial,
    ]);
    if (!readFileSync(partial).includes(SEA_FUSE)) {
      throw new Error(
        `${pkg}@${nodeVersion} has no SEA fuse (${SEA_FUSE}): it cannot become a single executable`,
      );
    }
    renameSync(partial, plain);
  }
  stripBinary(arch, plain, stripped);
  return { file: stripped };
}

/**
 * Strips the debug symbols off a Node binary (≈ 96 MB → ≈ 80 MB for arm64), into `output` or not
 * at all: the unstripped binary would break the 90 MB budget, so a missing or failing tool is an
 * error that names the Debian package, never a warning and a larger file.
 */
export function stripBinary(arch: Arch, input: string, output: string): void {
  const tool = STRIP[arch].find(onPath);
  if (!tool) {
    const wanted = STRIP[arch][0]!;
    throw new StripError(
      `cannot strip the ${arch} Node binary: ${STRIP[arch].join(' or ')} is not on PATH ` +
        `(Debian: apt-get install ${STRIP_PACKAGE[wanted]}, or run scripts/prerequisites.sh); ` +
        'nothing was written, since unstripped it would exceed 90 MB',
    );
  }
  const partial = `${output}.partial`;
  try {
    execFileSync(tool, ['-o', partial, input], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (error) {
    rmSync(partial, { force: true });
    const stderr = String((error as { stderr?: Buffer }).stderr ?? '').trim();
    throw new StripError(
      `cannot strip the ${arch} Node binary: ${tool} failed (${stderr || (error as Error).message}); nothing was written`,
    );
  }
  renameSync(partial, output);
}

function onPath(command: string): boolean {
  try {
    execFileSync('sh', ['-c', 'command -v "$1"', 'sh', command], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
