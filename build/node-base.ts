/**
 * The Node base binary a SEA is made from, per CPU architecture. It comes from the pinned npm
 * packages `node-linux-<arch>` (the same Node as development) because npm is the only network a
 * build box is sure to have; `npm pack` fetches the arm64 one on x64 too, where `npm install`
 * refuses it (EBADPLATFORM). Tarballs and the extracted, stripped binaries are cached in `.tmp/`.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';

export type Arch = 'x64' | 'arm64';

export const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

const STRIP: Record<Arch, readonly string[]> = {
  x64: process.arch === 'x64' ? ['strip', 'x86_64-linux-gnu-strip'] : ['x86_64-linux-gnu-strip'],
  arm64: process.arch === 'arm64' ? ['strip', 'aarch64-linux-gnu-strip'] : ['aarch64-linux-gnu-strip'],
};

export interface BaseBinary {
  readonly file: string;
  readonly stripped: boolean;
}

export function baseBinary(options: {
  arch: Arch;
  nodeVersion: string;
  cacheDir: string;
  warn: (message: string) => void;
}): BaseBinary {
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
  if (existsSync(stripped)) return { file: stripped, stripped: true };
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
  const tool = STRIP[arch].find(onPath);
  if (!tool) {
    options.warn(
      `no strip tool for ${arch} (${STRIP[arch].join(' or ')}; Debian: binutils-aarch64-linux-gnu): ` +
        'the binary is left unstripped and larger',
    );
    return { file: plain, stripped: false };
  }
  const partial = `${stripped}.partial`;
  execFileSync(tool, ['-o', partial, plain]);
  renameSync(partial, stripped);
  return { file: stripped, stripped: true };
}

function onPath(command: string): boolean {
  try {
    execFileSync('sh', ['-c', 'command -v "$1"', 'sh', command], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
