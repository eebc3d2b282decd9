/**
 * The page's files, from the manifest the page keeps (gateway/web/assets.ts), each to be embedded
 * as a SEA asset under the key the page asks `node:sea` for. A file that is missing fails the build:
 * a binary without its page is broken.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ASSET_MANIFEST } from '../gateway/web/assets';

/** SEA asset key → absolute file path. */
export type AssetMap = Record<string, string>;

export function webAssets(root: string): AssetMap {
  const assets: AssetMap = {};
  for (const [key, entry] of Object.entries(ASSET_MANIFEST)) {
    const path = join(root, entry.file);
    if (!existsSync(path)) throw new Error(`web asset "${key}" names ${entry.file}, which does not exist`);
    assets[key] = path;
  }
  return assets;
}
