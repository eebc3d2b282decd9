/**
 * The page's files, read from the manifest the web part keeps in gateway/web/assets.ts, so that
 * each one goes into the binary as a SEA asset under the key the page asks `node:sea` for.
 * A manifest that exists but cannot be read fails the build: a binary without its page is broken.
 */
import { existsSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** SEA asset key → absolute file path. */
export type AssetMap = Record<string, string>;

const MANIFEST_EXPORTS = ['WEB_ASSETS', 'ASSET_MANIFEST', 'ASSETS', 'MANIFEST', 'assetManifest', 'webAssets'];

export async function webAssets(root: string): Promise<AssetMap> {
  const webDir = join(root, 'gateway', 'web');
  const module = join(webDir, 'assets.ts');
  if (!existsSync(module)) return {};
  const exports = (await import(pathToFileURL(module).href)) as Record<string, unknown>;
  const name = MANIFEST_EXPORTS.find((n) => exports[n] !== undefined);
  if (!name) {
    throw new Error(
      `${module} exports none of ${MANIFEST_EXPORTS.join(', ')}: cannot find the web asset manifest`,
    );
  }
  const assets: AssetMap = {};
  for (const [key, file] of entriesOf(exports[name])) {
    const path = [file, join(webDir, file), join(root, file)].find((p) => isAbsolute(p) && existsSync(p));
    if (!path) throw new Error(`web asset "${key}" names ${file}, which does not exist`);
    assets[key] = path;
  }
  return assets;
}

/** Accepts `{ key: file }`, `[{ key|name|asset, file|path|source }]`, or `[file]` (key = file). */
function entriesOf(manifest: unknown): Array<[string, string]> {
  if (Array.isArray(manifest)) {
    return manifest.map((entry) => {
      if (typeof entry === 'string') return [entry, entry];
      const record = entry as Record<string, unknown>;
      const key = record.key ?? record.name ?? record.asset;
      const file = record.file ?? record.path ?? record.source ?? key;
      if (typeof key !== 'string' || typeof file !== 'string') {
        throw new Error(`web asset manifest entry ${JSON.stringify(entry)} has no key and file`);
      }
      return [key, file];
    });
  }
  if (manifest && typeof manifest === 'object') {
    return Object.entries(manifest as Record<string, unknown>).map(([key, value]) => {
      const file = typeof value === 'string' ? value : (value as Record<string, unknown>)?.file;
      if (typeof file !== 'string') throw new Error(`web asset "${key}" has no file`);
      return [key, file];
    });
  }
  throw new Error('the web asset manifest is neither an object nor an array');
}
