/**
 * Loads a native addon that travels inside the packaged binary as a SEA asset. A SEA cannot
 * `require` a `.node` file, so the bytes are written into `dir` (a folder of the gateway's data
 * directory, never /tmp: other users can write there) under a name carrying their digest, and
 * loaded with `process.dlopen`. A file already there is used only if its bytes are the binary's.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';

export function loadEmbeddedAddon<T extends object>(asset: string, dir: string, prefix: string): T {
  let file = '(not extracted)';
  try {
    // `node:sea` exists only inside a single executable; required here, not imported, so the
    // bundle does not fail to load when run on plain node for debugging.
    const sea = require('node:sea') as typeof import('node:sea');
    const bytes = Buffer.from(sea.getAsset(asset));
    const digest = createHash('sha256').update(bytes).digest('hex').slice(0, 16);
    file = join(dir, `${prefix}-${process.arch}-${digest}.node`);
    if (!existsSync(file)) {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const partial = `${file}.${process.pid}.tmp`;
      writeFileSync(partial, bytes, { mode: 0o500 });
      renameSync(partial, file);
    } else if (!readFileSync(file).equals(bytes)) {
      throw new Error(`${file} does not match the addon inside this binary`);
    }
    const module = { exports: {} as T };
    process.dlopen(module, file, constants.dlopen.RTLD_NOW);
    return module.exports;
  } catch (err) {
    throw new Error(`the ${prefix} native addon could not be loaded from ${file}: ${(err as Error).message}`);
  }
}
