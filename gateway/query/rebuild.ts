import { chmod, open, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { Logger, Punch } from '../model';
import { syncDirectory } from '../store/durable-file';
import type { PunchJournal } from '../store/journal';
import { JournalReader } from '../store/journal-reader';
import { flagBitsOf, kindOf } from './punch-query';
import { createTables, INDEX_STATEMENTS, SCHEMA_VERSION, type WorkerRecord } from './punch-store';
import { openSqlite, type SqliteDatabase, type SqliteStatement } from './sqlite';

/** Rows per INSERT statement (one call into SQLite per 100 punches instead of one per punch). */
const ROWS_PER_INSERT = 100;
/** Punches read from the journal per round; the loop yields to the event loop after each. */
const READ_BATCH = 4000;

export interface RebuildOptions {
  /** An opened journal: the source of truth. */
  readonly journal: PunchJournal;
  /** The store's file; replaced only once the new one is complete. */
  readonly file: string;
  /** Punches older than this (UTC ms) are not kept (retention). */
  readonly keepFromMs: number;
  /** The roster's workers, so worker search works at once. */
  readonly workers?: () => readonly WorkerRecord[];
  readonly logger: Logger;
  /** Checked between rounds: a stopping gateway ends a rebuild early (the old file, if any, stays). */
  readonly signal?: AbortSignal;
}

export interface RebuildResult {
  /** Rows stored (punches within retention). */
  readonly punches: number;
  /** The journal sequence the new store holds up to. */
  readonly highWater: number;
  readonly ms: number;
  readonly bytes: number;
}

/** Where a rebuild writes before the rename; any such file left by a crash is deleted on the next open. */
export function rebuildFileOf(file: string): string {
  return join(dirname(file), `${basename(file)}.rebuild`);
}

/**
 * Builds the query store from the journal into a new file and renames it over `file`: a crash at
 * any point leaves either the old store or none (never half a store), and the next start simply
 * rebuilds again. Fast in bulk: rows go in without secondary indexes and without a rollback
 * journal (the file is not live until the rename), in multi-row INSERTs; the indexes are sorted in
 * at the end. Used at start-up when the store is missing or damaged, and by `seed-history` after
 * it has filled a journal.
 */
export async function rebuildPunchStore(options: RebuildOptions): Promise<RebuildResult> {
  const started = performance.now();
  const temp = rebuildFileOf(options.file);
  await removeDatabaseFiles(temp);
  const db = openSqlite(temp);
  let highWater = 0;
  let punches = 0;
  try {
    db.pragma('journal_mode = OFF');
    db.pragma('synchronous = OFF');
    db.pragma('cache_size = -16384');
    db.pragma('temp_store = FILE');
    createTables(db);
    const loader = new BulkLoader(db);
    const reader = new JournalReader(options.journal, 0);
    for (;;) {
      if (options.signal?.aborted) throw new Error('rebuild stopped');
      const batch = await reader.peek(READ_BATCH);
      if (batch.length === 0) break;
      punches += loader.add(batch, options.keepFromMs);
      highWater = batch.at(-1)!.seq;
      reader.advance(highWater);
      await yieldToLoop();
    }
    loader.finish();
    for (const sql of INDEX_STATEMENTS) {
      if (options.signal?.aborted) throw new Error('rebuild stopped');
      db.exec(sql);
      await yieldToLoop();
    }
    const workers = options.workers?.() ?? [];
    const upsert = db.prepare(
      `INSERT INTO worker (id, pin, name_lower, id_card, sichuan, deli) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT(id) DO UPDATE SET pin = excluded.pin, name_lower = excluded.name_lower,
         id_card = excluded.id_card, sichuan = excluded.sichuan, deli = excluded.deli`,
    );
    db.transaction(() => {
      for (const w of workers) {
        upsert.run(
          w.id,
          w.pin,
          w.name.toLowerCase(),
          w.identities.idCardNo?.toUpperCase() ?? null,
          w.identities.sichuanUserId ?? null,
          w.identities.deliUserId ?? null,
        );
      }
    })();
    // The planner's statistics, so its first choices on a big store are the indexed ones.
    db.exec('ANALYZE');
    db.prepare(
      `INSERT INTO meta VALUES ('schema', ?), ('highWater', ?), ('punches', ?), ('complete', 1)`,
    ).run(SCHEMA_VERSION, highWater, punches);
    db.close();
  } catch (error) {
    if (db.open) db.close();
    await removeDatabaseFiles(temp);
    throw error;
  }
  // Durable before it takes the store's name: with synchronous OFF nothing has synced it yet.
  await syncFile(temp);
  // Owner-only like every data file, whoever created the temporary file and whatever the umask.
  await chmod(temp, 0o600);
  await removeDatabaseFiles(options.file);
  await rename(temp, options.file);
  await syncDirectory(dirname(options.file));
  const { size } = await stat(options.file);
  const ms = Math.round(performance.now() - started);
  options.logger.info({ punches, highWater, ms, bytes: size }, 'query store rebuilt from the journal');
  return { punches, highWater, ms, bytes: size };
}

/** Deletes a database file and the WAL and shared-memory files SQLite keeps beside it. */
export async function removeDatabaseFiles(file: string): Promise<void> {
  for (const suffix of ['', '-wal', '-shm', '-journal']) await rm(`${file}${suffix}`, { force: true });
}

async function syncFile(file: string): Promise<void> {
  const handle = await open(file, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Multi-row inserts with ids interned in memory for the length of one rebuild. */
class BulkLoader {
  private readonly insertMany: SqliteStatement;
  private readonly insertOne: SqliteStatement;
  private readonly addTerminal: SqliteStatement;
  private readonly addWorker: SqliteStatement;
  private readonly terminals = new Map<string, number>();
  private readonly workers = new Map<string, number>();
  /** Per worker key: the last punch by time ([atMs, out]). */
  private readonly last = new Map<number, [number, number]>();
  private readonly args: unknown[] = new Array(ROWS_PER_INSERT * 8);
  private pending = 0;

  constructor(private readonly db: SqliteDatabase) {
    const row = '(?, ?, ?, ?, ?, ?, ?, ?)';
    this.insertMany = db.prepare(
      `INSERT OR IGNORE INTO punch VALUES ${new Array(ROWS_PER_INSERT).fill(row).join(', ')}`,
    );
    this.insertOne = db.prepare(`INSERT OR IGNORE INTO punch VALUES ${row}`);
    this.addTerminal = db.prepare('INSERT INTO terminal (id) VALUES (?)');
    this.addWorker = db.prepare('INSERT INTO worker (id) VALUES (?)');
  }

  /** Returns how many punches were kept. */
  add(punches: readonly Punch[], keepFromMs: number): number {
    let kept = 0;
    this.db.transaction(() => {
      for (const punch of punches) {
        if (punch.atMs < keepFromMs) continue;
        kept++;
        const worker = punch.workerId === null ? null : this.workerKey(punch.workerId);
        const out = punch.direction === 'out' ? 1 : 0;
        if (worker !== null) {
          const last = this.last.get(worker);
          if (!last || punch.atMs >= last[0]) this.last.set(worker, [punch.atMs, out]);
        }
        const at = this.pending * 8;
        const args = this.args;
        args[at] = punch.seq;
        args[at + 1] = punch.atMs;
        args[at + 2] = punch.receivedMs;
        args[at + 3] = this.terminalKey(punch.terminalId);
        args[at + 4] = punch.pin;
        args[at + 5] = worker;
        args[at + 6] = kindOf(punch);
        args[at + 7] = flagBitsOf(punch.flags);
        if (++this.pending === ROWS_PER_INSERT) {
          this.insertMany.run(args);
          this.pending = 0;
        }
      }
    })();
    return kept;
  }

  /** The rows short of a full INSERT, and each worker's last punch. */
  finish(): void {
    const setLast = this.db.prepare('UPDATE worker SET last_at = ?, last_out = ? WHERE key = ?');
    this.db.transaction(() => {
      for (let i = 0; i < this.pending; i++) this.insertOne.run(this.args.slice(i * 8, i * 8 + 8));
      this.pending = 0;
      for (const [worker, [atMs, out]] of this.last) setLast.run(atMs, out, worker);
    })();
  }

  private terminalKey(id: string): number {
    let key = this.terminals.get(id);
    if (key === undefined) {
      key = Number(this.addTerminal.run(id).lastInsertRowid);
      this.terminals.set(id, key);
    }
    return key;
  }

  private workerKey(id: string): number {
    let key = this.workers.get(id);
    if (key === undefined) {
      key = Number(this.addWorker.run(id).lastInsertRowid);
      this.workers.set(id, key);
    }
    return key;
  }
}
