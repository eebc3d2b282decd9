import { existsSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import Database from 'better-sqlite3';

export type SqliteDatabase = Database.Database;
export type SqliteStatement = Database.Statement;

/**
 * Where the packaged binary hands over SQLite's native addon: a SEA cannot `require` a `.node`
 * file, so build/sqlite-addon.ts registers a loader under this symbol that writes the embedded
 * addon into the given folder and `dlopen`s it. Run from source the symbol is absent and
 * better-sqlite3 finds its own build in node_modules.
 */
export const SQLITE_ADDON_PROBE = Symbol.for('edge-gateway.sqlite.addon');

/**
 * The addon the packaged binary provides, if any (an object better-sqlite3 takes as
 * `nativeBinding`), extracted into `native/` beside the database: the data folder, never /tmp.
 */
function embeddedAddon(file: string): object | undefined {
  const probe = (globalThis as Record<symbol, unknown>)[SQLITE_ADDON_PROBE];
  if (typeof probe !== 'function') return undefined;
  return (probe as (nativeDir: string) => object)(join(dirname(resolve(file)), 'native'));
}

/** The error codes that mean the file is not (or no longer) a database we can trust. */
export function isCorruption(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^SQLITE_(CORRUPT|NOTADB)/.test(code);
}

/** Opens (or creates) a database file through the addon this process has. */
export function openSqlite(file: string, options: { readonly mustExist?: boolean } = {}): SqliteDatabase {
  // Created owner-only, like every data file: SQLite gives its -wal and -shm files the same mode.
  if (file !== ':memory:' && !options.mustExist && !existsSync(file)) {
    writeFileSync(file, '', { mode: 0o600, flag: 'wx' });
  }
  const nativeBinding = embeddedAddon(file);
  return new Database(file, {
    fileMustExist: options.mustExist ?? false,
    // @types/better-sqlite3 lags the library: since 8.x it takes the loaded addon object too
    // (lib/database.js), which is what a SEA has; a path would have to be `require`d.
    ...(nativeBinding ? { nativeBinding: nativeBinding as unknown as string } : {}),
  });
}
