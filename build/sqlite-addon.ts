/**
 * The query store's SQLite addon (better-sqlite3) inside the packaged binary: it travels as the SEA
 * asset `better_sqlite3.node` and is loaded on first use into `<dataDir>/native/` (the folder of the
 * store's file), then handed to better-sqlite3 as its `nativeBinding`. gateway/query/sqlite.ts
 * calls the loader registered here; run from source nothing is registered and better-sqlite3 loads
 * its own build from node_modules. Imported by sea-entry.ts, before the gateway.
 *
 * The same bundle run by plain node (the fleet tests start fifty of them, and it is how one debugs a
 * build) has no SEA assets: it takes the addon of the checkout it is started in.
 */
import { createRequire } from 'node:module';
import { constants } from 'node:os';
import { join } from 'node:path';
import { SQLITE_ADDON_PROBE } from '../gateway/query/sqlite';
import { insideSea, loadEmbeddedAddon } from './embedded-addon';

export const SQLITE_ADDON_ASSET = 'better_sqlite3.node';

let loaded: object | undefined;

(globalThis as Record<symbol, unknown>)[SQLITE_ADDON_PROBE] = (nativeDir: string): object => {
  loaded ??= insideSea()
    ? loadEmbeddedAddon<object>(SQLITE_ADDON_ASSET, nativeDir, 'better_sqlite3')
    : checkoutAddon();
  return loaded;
};

function checkoutAddon(): object {
  const where = join(process.cwd(), 'package.json');
  let file: string;
  try {
    file = createRequire(where).resolve('better-sqlite3/build/Release/better_sqlite3.node');
  } catch {
    throw new Error(
      `this bundle runs outside its binary and finds no better-sqlite3 build from ${process.cwd()}: start it in the checkout (after npm ci)`,
    );
  }
  const module = { exports: {} };
  process.dlopen(module, file, constants.dlopen.RTLD_NOW);
  return module.exports;
}
