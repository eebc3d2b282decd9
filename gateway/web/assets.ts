import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface AssetEntry {
  /** Path from the repository root (a file of ours or one in node_modules). */
  readonly file: string;
  readonly type: string;
}

/**
 * Every file the page loads. The single-file build embeds exactly these (SEA asset key = name);
 * from source they are read from the repository. Nothing is ever fetched from the internet.
 */
export const ASSET_MANIFEST: Readonly<Record<string, AssetEntry>> = {
  'uPlot.iife.min.js': {
    file: 'node_modules/uplot/dist/uPlot.iife.min.js',
    type: 'text/javascript; charset=utf-8',
  },
  'uPlot.min.css': { file: 'node_modules/uplot/dist/uPlot.min.css', type: 'text/css; charset=utf-8' },
  'app.js': { file: 'gateway/web/static/app.js', type: 'text/javascript; charset=utf-8' },
  'app.css': { file: 'gateway/web/static/app.css', type: 'text/css; charset=utf-8' },
  'favicon.svg': { file: 'gateway/web/static/favicon.svg', type: 'image/svg+xml' },
  'muster.js': { file: 'gateway/web/static/muster.js', type: 'text/javascript; charset=utf-8' },
  'muster.css': { file: 'gateway/web/static/muster.css', type: 'text/css; charset=utf-8' },
  'reports.css': { file: 'gateway/web/static/reports.css', type: 'text/css; charset=utf-8' },
  'reports-print.css': { file: 'gateway/web/static/reports-print.css', type: 'text/css; charset=utf-8' },
  'reports.js': { file: 'gateway/web/static/reports.js', type: 'text/javascript; charset=utf-8' },
};

export interface LoadedAsset {
  readonly body: Uint8Array;
  readonly type: string;
  readonly etag: string;
}

const loaded = new Map<string, LoadedAsset>();

/** The repository root when running from source; undefined in a bundle without import.meta. */
function repoRoot(): string {
  if (process.env.EDGE_GATEWAY_ASSET_ROOT) return resolve(process.env.EDGE_GATEWAY_ASSET_ROOT);
  const here = typeof import.meta.url === 'string' && import.meta.url ? import.meta.url : undefined;
  return here ? fileURLToPath(new URL('../../', here)) : process.cwd();
}

type SeaModule = { isSea(): boolean; getAsset(key: string): ArrayBuffer };

/** node:sea exists on Node ≥ 20.12; read lazily so a plain run never depends on it. */
function seaModule(): SeaModule | undefined {
  try {
    const sea = process.getBuiltinModule?.('node:sea') as SeaModule | undefined;
    return sea?.isSea() ? sea : undefined;
  } catch {
    return undefined;
  }
}

export function readAsset(name: string): LoadedAsset | undefined {
  const cached = loaded.get(name);
  if (cached) return cached;
  if (!Object.hasOwn(ASSET_MANIFEST, name)) return undefined;
  const entry = ASSET_MANIFEST[name]!;
  const sea = seaModule();
  const body = sea ? new Uint8Array(sea.getAsset(name)) : readFileSync(join(repoRoot(), entry.file));
  const asset: LoadedAsset = {
    body,
    type: entry.type,
    etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 16)}"`,
  };
  loaded.set(name, asset);
  return asset;
}

/** URL of an asset with its content hash, so browsers may cache it for good. */
export function assetUrl(name: string): string {
  const asset = readAsset(name);
  return `/assets/${name}?v=${asset ? asset.etag.slice(1, 9) : '0'}`;
}
