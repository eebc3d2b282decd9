/**
 * Loads a native addon that travels inside the packaged binary as a SEA asset. A SEA cannot
 * `require` a `.node` file, so the bytes are written into `dir` (a folder of the gateway's data
 * directory, never /tmp: other users can write there) under a name carrying their digest, and
 * loaded with `process.dlopen`. A file already there is used only if its bytes are the binary's.
 *
 * The build puts the addon's sha256 beside it (`<asset>.sha256`, `digestAssetOf`), so a start
 * with the file already extracted checks the file against that digest, reading it 64 kB at a
 * time, and never copies the 2 MB asset out of the binary: that copy, its hash and a whole-file
 * read cost 6 MB of transient memory at every start, and left the asset's pages of the binary
 * resident (docs/history.md).
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readSync, renameSync, writeFileSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';

/** The asset holding an addon's sha256 (64 hex characters), written by build.ts. */
export function digestAssetOf(asset: string): string {
  return `${asset}.sha256`;
}

export function loadEmbeddedAddon<T extends object>(asset: string, dir: string, prefix: string): T {
  let file = '(not extracted)';
  try {
    // `node:sea` exists only inside a single executable; required here, not imported, so the
    // bundle does not fail to load when run on plain node for debugging.
    const sea = require('node:sea') as typeof import('node:sea');
    const digest = (sea.getAsset(digestAssetOf(asset), 'utf8') as string).trim();
    if (!/^[0-9a-f]{64}$/.test(digest)) throw new Error(`the binary's digest of ${asset} is not a sha256`);
    file = join(dir, `${prefix}-${process.arch}-${digest.slice(0, 16)}.node`);
    if (!existsSync(file)) {
      const bytes = Buffer.from(sea.getAsset(asset));
      if (createHash('sha256').update(bytes).digest('hex') !== digest)
        throw new Error(`${asset} inside this binary does not match its digest`);
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const partial = `${file}.${process.pid}.tmp`;
      writeFileSync(partial, bytes, { mode: 0o500 });
      renameSync(partial, file);
    } else if (fileDigest(file) !== digest) {
      throw new Error(`${file} does not match the addon inside this binary`);
    }
    const module = { exports: {} as T };
    process.dlopen(module, file, constants.dlopen.RTLD_NOW);
    return module.exports;
  } catch (err) {
    throw new Error(`the ${prefix} native addon could not be loaded from ${file}: ${(err as Error).message}`);
  }
}

/** Whether this process is the single executable (and so has its assets). */
export function insideSea(): boolean {
  try {
    return (require('node:sea') as typeof import('node:sea')).isSea();
  } catch {
    return false;
  }
}

/** sha256 of a file, read in small pieces. */
function fileDigest(file: string): string {
  const hash = createHash('sha256');
  const chunk = Buffer.allocUnsafe(64 * 1024);
  const fd = openSync(file, 'r');
  try {
    for (let read = readSync(fd, chunk); read > 0; read = readSync(fd, chunk))
      hash.update(chunk.subarray(0, read));
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}
