/**
 * The query store's SQLite addon (better-sqlite3) inside the packaged binary: it travels as the SEA
 * asset `better_sqlite3.node` and is loaded on first use into `<dataDir>/native/` (the folder of the
 * store's file), then handed to better-sqlite3 as its `nativeBinding`. gateway/query/sqlite.ts
 * calls the loader registered here; run from source nothing is registered and better-sqlite3 loads
 * its own build from node_modules. Imported by sea-entry.ts, before the gateway.
 */
import { SQLITE_ADDON_PROBE } from '../gateway/query/sqlite';
import { loadEmbeddedAddon } from './embedded-addon';

export const SQLITE_ADDON_ASSET = 'better_sqlite3.node';

let loaded: object | undefined;

(globalThis as Record<symbol, unknown>)[SQLITE_ADDON_PROBE] = (nativeDir: string): object => {
  loaded ??= loadEmbeddedAddon<object>(SQLITE_ADDON_ASSET, nativeDir, 'better_sqlite3');
  return loaded;
};
