import type { Direction, Punch } from '../model';
import { AttendanceDayTable } from './attendance-days';
import {
  COUNT_LIMIT,
  decodeRow,
  filterSql,
  flagBitsOf,
  type KeyLookup,
  kindOf,
  type OnSitePage,
  type PagePosition,
  type PunchCursor,
  type PunchFilter,
  type PunchPage,
  type Seek,
  type StoredPunch,
} from './punch-query';
import { openSqlite, type SqliteDatabase, type SqliteStatement } from './sqlite';

/** Bumped when the tables change: a store of another version is rebuilt from the journal. */
export const SCHEMA_VERSION = 1;

/** Punches: integers only but the PIN; ids live once in `terminal` and `worker`. */
const TABLES = `
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS terminal (key INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS worker (
  key INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  pin TEXT, name_lower TEXT, id_card TEXT, sichuan TEXT, deli TEXT,
  last_at INTEGER, last_out INTEGER
);
CREATE TABLE IF NOT EXISTS punch (
  seq INTEGER PRIMARY KEY,
  at_ms INTEGER NOT NULL,
  received_ms INTEGER NOT NULL,
  terminal INTEGER NOT NULL,
  pin TEXT NOT NULL,
  worker INTEGER,
  kind INTEGER NOT NULL,
  flags INTEGER NOT NULL
);`;

/**
 * The secondary indexes. Each ends, as every SQLite index does, with the rowid (here the journal
 * seq), so "newest first" (at_ms DESC, seq DESC) is a walk along an index, also within one worker
 * or one terminal. A rebuild creates them after the bulk load (a sort, ~10× faster than keeping
 * them up to date row by row).
 */
const INDEXES = [
  'CREATE INDEX IF NOT EXISTS punch_at ON punch(at_ms)',
  'CREATE INDEX IF NOT EXISTS punch_worker ON punch(worker, at_ms)',
  'CREATE INDEX IF NOT EXISTS punch_terminal ON punch(terminal, at_ms)',
  'CREATE INDEX IF NOT EXISTS worker_pin ON worker(pin)',
  'CREATE INDEX IF NOT EXISTS worker_id_card ON worker(id_card)',
  'CREATE INDEX IF NOT EXISTS worker_sichuan ON worker(sichuan)',
  'CREATE INDEX IF NOT EXISTS worker_deli ON worker(deli)',
];

/**
 * Inside now (the muster rule, `insideSince`): the worker's last punch by time is an entry no
 * older than the bound argument. `last_at`/`last_out` are kept by every write, so this is one pass
 * over the worker table, never over punches.
 */
const ON_SITE = 'w.last_out = 0 AND w.last_at >= ?';
const ROW_COLUMNS = `p.seq, p.at_ms, p.received_ms, t.id, p.pin, w.id, p.kind, p.flags`;
/** LEFT JOINs keep `punch` the outer table, so the planner walks a punch index in order. */
const ROW_FROM = `punch p LEFT JOIN terminal t ON t.key = p.terminal LEFT JOIN worker w ON w.key = p.worker`;
/**
 * The same, with SQLite kept off every index but the rowid: for a delivery filter whose seq range
 * is short (`SEQ_RANGE_LIMIT`), walking that range and sorting it beats walking the time index in
 * search of its few rows (all of them, when there are none: 0.4 s at 10 M punches).
 */
const ROW_FROM_BY_SEQ = `punch p NOT INDEXED LEFT JOIN terminal t ON t.key = p.terminal LEFT JOIN worker w ON w.key = p.worker`;
const SEQ_RANGE_LIMIT = 20_000;
/** Rows per query of `each` (an export): ~1 ms each, so its reader can yield between them. */
const EACH_CHUNK = 500;
/** Worker keys per report query (`punchesOfWorkers`). */
const REPORT_KEYS = 100;
const KEY_CACHE_LIMIT = 50_000;
const STATEMENT_CACHE_LIMIT = 64;

/** What the store keeps of a roster worker, for search. */
export interface WorkerRecord {
  readonly id: string;
  readonly pin: string;
  readonly name: string;
  readonly identities: {
    readonly sichuanUserId?: string;
    readonly deliUserId?: string;
    readonly idCardNo?: string;
  };
}

/** The store's file is not one we can use (foreign, damaged, or another schema version). */
export class StoreUnusableError extends Error {}

/**
 * The query store's database: one SQLite file, a projection of the journal. Every write is one
 * transaction that also moves the high-water seq, so after any crash the file says exactly which
 * punches it holds and the feed continues from there. Synchronous (better-sqlite3): callers keep
 * each call small (a batch, a page).
 */
export class PunchStore implements KeyLookup {
  private readonly workerKeys = new Map<string, number>();
  private readonly terminalKeys = new Map<string, number>();
  private readonly statements = new Map<string, SqliteStatement>();
  private highWaterSeq = 0;
  private punchCount = 0;
  /** The last `countPerSlot` answer and the high water it covers. */
  private slotMemo:
    | { bounds: readonly number[]; high: number; entries: readonly number[]; exits: readonly number[] }
    | undefined;
  private insertPunch!: SqliteStatement;
  private touchWorker!: SqliteStatement;
  private setMeta!: SqliteStatement;
  private dayTable: AttendanceDayTable | undefined;

  private constructor(readonly db: SqliteDatabase) {}

  /**
   * Opens an existing store (checking it is ours and whole) or creates an empty one. A file that
   * is not a complete store of this version throws `StoreUnusableError`.
   */
  static open(file: string, options: { readonly create: boolean }): PunchStore {
    const db = openSqlite(file, { mustExist: !options.create });
    try {
      const store = new PunchStore(db);
      store.init(options.create);
      return store;
    } catch (error) {
      db.close();
      if (error instanceof StoreUnusableError) throw error;
      throw new StoreUnusableError(`${file}: ${(error as Error).message}`);
    }
  }

  /** Pragmas and statements; `create` makes the tables and indexes of an empty file. */
  private init(create: boolean): void {
    const db = this.db;
    // WAL: a crash never leaves a half transaction; NORMAL syncs at checkpoints, and `durableSeq`
    // checkpoints before it tells housekeeping what may go from the journal.
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    // A small page cache: the box's memory budget matters more than the last millisecond of a query.
    // 1 MB, not SQLite's 2 or the 4 it had: a 10 M-punch box idled 3 MB lower, and the page's reads
    // come from the system's file cache at about the same speed (docs/history.md).
    db.pragma('cache_size = -1024');
    db.pragma('temp_store = FILE');
    // The store shares the disk with the journal, and the journal comes first: checkpoint every
    // ~400 KB and cut the WAL back to 512 KB after each, so the store's log cannot grow into the
    // room a full disk leaves for punches.
    db.pragma('wal_autocheckpoint = 100');
    db.pragma('journal_size_limit = 524288');
    const hasMeta = db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'`).get();
    if (!hasMeta) {
      if (!create) throw new StoreUnusableError('not a query store (no meta table)');
      db.exec(TABLES);
      for (const sql of INDEXES) db.exec(sql);
      db.prepare(
        `INSERT INTO meta VALUES ('schema', ?), ('highWater', 0), ('punches', 0), ('complete', 1)`,
      ).run(SCHEMA_VERSION);
    }
    const meta = new Map(
      (db.prepare('SELECT name, value FROM meta').all() as Array<{ name: string; value: number }>).map(
        (r) => [r.name, r.value],
      ),
    );
    if (meta.get('schema') !== SCHEMA_VERSION) {
      throw new StoreUnusableError(
        `schema version ${meta.get('schema')} (this gateway uses ${SCHEMA_VERSION})`,
      );
    }
    if (meta.get('complete') !== 1) throw new StoreUnusableError('an unfinished rebuild');
    this.highWaterSeq = meta.get('highWater') ?? 0;
    this.punchCount = meta.get('punches') ?? 0;
    this.prepareWrites();
  }

  private prepareWrites(): void {
    this.insertPunch = this.db.prepare('INSERT OR IGNORE INTO punch VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
    this.touchWorker = this.db.prepare(
      'UPDATE worker SET last_at = ?, last_out = ? WHERE key = ? AND (last_at IS NULL OR last_at <= ?)',
    );
    this.setMeta = this.db.prepare('INSERT OR REPLACE INTO meta VALUES (?, ?)');
  }

  get highWater(): number {
    return this.highWaterSeq;
  }

  get size(): number {
    return this.punchCount;
  }

  /**
   * Adds punches in one transaction with the new high-water seq. Punches at or below the high
   * water are replays and skipped; punches older than `keepFromMs` are counted as held but not
   * stored (retention). Returns how many rows were added.
   */
  append(punches: readonly Punch[], keepFromMs: number): number {
    let added = 0;
    let high = this.highWaterSeq;
    this.db.transaction(() => {
      for (const punch of punches) {
        if (punch.seq <= high) continue;
        high = punch.seq;
        if (punch.atMs < keepFromMs) continue;
        const worker = punch.workerId === null ? null : this.internWorker(punch.workerId);
        const out = punch.direction === 'out' ? 1 : 0;
        added += this.insertPunch.run(
          punch.seq,
          punch.atMs,
          punch.receivedMs,
          this.internTerminal(punch.terminalId),
          punch.pin,
          worker,
          kindOf(punch),
          flagBitsOf(punch.flags),
        ).changes;
        if (worker !== null) this.touchWorker.run(punch.atMs, out, worker, punch.atMs);
      }
      this.setMeta.run('highWater', high);
      this.setMeta.run('punches', this.punchCount + added);
    })();
    this.highWaterSeq = high;
    this.punchCount += added;
    return added;
  }

  /**
   * Deletes up to `limit` punches older than `beforeMs` (oldest first); returns how many went.
   * Called in rounds so a large first prune never holds the event loop for long.
   */
  prune(beforeMs: number, limit: number): number {
    let removed = 0;
    this.db.transaction(() => {
      removed = this.stmt(
        'DELETE FROM punch WHERE seq IN (SELECT seq FROM punch WHERE at_ms < ? ORDER BY at_ms LIMIT ?)',
      ).run(beforeMs, limit).changes;
      if (removed > 0) this.setMeta.run('punches', this.punchCount - removed);
      // A last punch that fell out of retention no longer says anyone is on site.
      this.stmt('UPDATE worker SET last_at = NULL, last_out = NULL WHERE last_at < ?').run(beforeMs);
    })();
    this.punchCount -= removed;
    // Counts kept for slots may have held some of these rows.
    if (removed > 0) this.slotMemo = undefined;
    return removed;
  }

  /**
   * Makes everything committed durable (a WAL checkpoint fsyncs the database file) and returns
   * the high water it covers: what housekeeping may let the journal forget.
   */
  durableSeq(): number {
    const seq = this.highWaterSeq;
    const [result] = this.db.pragma('wal_checkpoint(TRUNCATE)') as Array<{ busy: number }>;
    return result?.busy === 0 ? seq : 0;
  }

  /** Replaces the search columns of every worker with the roster's (ids the roster lost keep their punches). */
  syncWorkers(workers: readonly WorkerRecord[], all: boolean): void {
    const upsert = this.stmt(
      `INSERT INTO worker (id, pin, name_lower, id_card, sichuan, deli) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT(id) DO UPDATE SET pin = excluded.pin, name_lower = excluded.name_lower,
         id_card = excluded.id_card, sichuan = excluded.sichuan, deli = excluded.deli`,
    );
    this.db.transaction(() => {
      if (all) {
        this.db.exec(
          'UPDATE worker SET pin = NULL, name_lower = NULL, id_card = NULL, sichuan = NULL, deli = NULL',
        );
      }
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
  }

  /** Forgets the search columns of workers the roster no longer has. */
  forgetWorkers(ids: readonly string[]): void {
    const clear = this.stmt(
      'UPDATE worker SET pin = NULL, name_lower = NULL, id_card = NULL, sichuan = NULL, deli = NULL WHERE id = ?',
    );
    this.db.transaction(() => {
      for (const id of ids) clear.run(id);
    })();
  }

  /** Exact identities through their indexes; the name as a substring (a pass over the worker table, one row a worker). */
  searchWorkers(q: string): string[] {
    const rows = this.stmt(
      `SELECT id FROM worker WHERE pin = @q
       UNION SELECT id FROM worker WHERE id = @q AND pin IS NOT NULL
       UNION SELECT id FROM worker WHERE sichuan = @q
       UNION SELECT id FROM worker WHERE deli = @q
       UNION SELECT id FROM worker WHERE id_card = @upper
       UNION SELECT id FROM worker WHERE instr(name_lower, @lower) > 0`,
    )
      .pluck()
      .all({ q, upper: q.toUpperCase(), lower: q.toLowerCase() }) as string[];
    return rows;
  }

  /**
   * A page newest first: at `page` (an OFFSET, which callers keep within `MAX_OFFSET`) or at a
   * keyset `position`. One page-sized statement and one bounded count, at any depth of the list.
   */
  query(filter: PunchFilter, page: number, pageSize: number, position: PagePosition = {}): PunchPage {
    const base = filterSql(filter, this);
    if (!base) return { rows: [], total: 0, capped: false, page, pageSize };
    const { total, capped } = this.countUpTo(filter, base);
    const from = this.seqRangeIsShort(filter) ? ROW_FROM_BY_SEQ : ROW_FROM;
    // One row more than the page, to know whether another page follows in that direction.
    const take = (seek: Seek | undefined, offset: number): StoredPunch[] => {
      const { where, args } = seek ? filterSql(filter, this, seek)! : base;
      const order = seek?.toward === 'newer' ? 'ASC' : 'DESC';
      const rows = this.stmt(
        `SELECT ${ROW_COLUMNS} FROM ${from} ${where} ORDER BY p.at_ms ${order}, p.seq ${order} LIMIT ? OFFSET ?`,
      )
        .raw()
        .all(...args, pageSize + 1, offset) as unknown[][];
      return rows.map(decodeRow);
    };
    const at = (p: StoredPunch): PunchCursor => ({ atMs: p.atMs, seq: p.seq });
    if (position.after) {
      const newer = take({ from: position.after, toward: 'newer' }, 0);
      // Less than a page newer than the cursor: the newer page is the first one.
      if (newer.length > pageSize) {
        const rows = newer.slice(0, pageSize).reverse();
        return { rows, total, capped, page: 1, pageSize, newer: at(rows[0]!), older: at(rows.at(-1)!) };
      }
      return this.query(filter, 1, pageSize);
    }
    const seek: Seek | undefined = position.before && { from: position.before, toward: 'older' };
    const found = take(seek, seek ? 0 : (page - 1) * pageSize);
    const rows = found.slice(0, pageSize);
    const first = rows[0];
    return {
      rows,
      total,
      capped,
      page: seek ? 1 : page,
      pageSize,
      // A keyset page was reached from a newer one; past the end, that is where the cursor was.
      newer: seek ? (first ? at(first) : position.before) : page > 1 && first ? at(first) : undefined,
      older: found.length > pageSize ? at(rows.at(-1)!) : undefined,
    };
  }

  /**
   * Matches up to `COUNT_LIMIT`, each statement walking at most that many rows. The unfiltered
   * total is kept in `meta`; a delivery state alone is a seq range on either side of the cursor, so
   * counting the shorter side gives both exactly whenever one is short.
   */
  private countUpTo(
    filter: PunchFilter,
    base: { where: string; args: unknown[] },
  ): { total: number; capped: boolean } {
    if (base.where === '') return { total: this.punchCount, capped: false };
    const upTo = (where: string, args: readonly unknown[], from: string) =>
      this.stmt(`SELECT count(*) FROM (SELECT 1 FROM ${from} ${where} LIMIT ${COUNT_LIMIT + 1})`)
        .pluck()
        .get(...args) as number;
    const { delivery, ...rest } = filter;
    if (delivery && filterSql(rest, this)?.where === '') {
      const pending = upTo('WHERE p.seq > ?', [delivery.cursor], 'punch p');
      let exact: { pending: number; delivered: number } | undefined;
      if (pending <= COUNT_LIMIT) exact = { pending, delivered: this.punchCount - pending };
      else {
        const delivered = upTo('WHERE p.seq <= ?', [delivery.cursor], 'punch p');
        if (delivered <= COUNT_LIMIT) exact = { delivered, pending: this.punchCount - delivered };
      }
      return exact ? { total: exact[delivery.state], capped: false } : { total: COUNT_LIMIT, capped: true };
    }
    const { where, args } = filterSql(filter, this, undefined, true) ?? base;
    const n = upTo(where, args, this.seqRangeIsShort(filter) ? 'punch p NOT INDEXED' : 'punch p');
    return n > COUNT_LIMIT ? { total: COUNT_LIMIT, capped: true } : { total: n, capped: false };
  }

  /** A delivery filter whose side of the cursor spans few seqs (see `ROW_FROM_BY_SEQ`). */
  private seqRangeIsShort(filter: PunchFilter): boolean {
    const delivery = filter.delivery;
    if (!delivery) return false;
    if (delivery.state === 'pending') return this.highWaterSeq - delivery.cursor <= SEQ_RANGE_LIMIT;
    const lowest = (this.stmt('SELECT min(seq) FROM punch').pluck().get() as number | null) ?? 0;
    return delivery.cursor - lowest < SEQ_RANGE_LIMIT;
  }

  /** Oldest first, one short query per chunk from the last row sent (keyset paging): no statement stays open. */
  *each(filter: PunchFilter): Generator<StoredPunch> {
    let from: PunchCursor = { atMs: Number.MIN_SAFE_INTEGER, seq: 0 };
    for (;;) {
      const compiled = filterSql(filter, this, { from, toward: 'newer' });
      if (!compiled) return;
      const rows = this.stmt(
        `SELECT ${ROW_COLUMNS} FROM ${this.seqRangeIsShort(filter) ? ROW_FROM_BY_SEQ : ROW_FROM} ${compiled.where}
         ORDER BY p.at_ms, p.seq LIMIT ${EACH_CHUNK}`,
      )
        .raw()
        .all(...compiled.args) as unknown[][];
      for (const row of rows) yield decodeRow(row);
      if (rows.length < EACH_CHUNK) return;
      const last = rows.at(-1)!;
      from = { atMs: last[1] as number, seq: last[0] as number };
    }
  }

  /**
   * Entries and exits per slot. The dashboard asks for today's hours on every refresh of every
   * client, so the answer is kept with the high water it covers, and the next call for the same
   * slots adds only the punches journaled since (a short rowid range), not the whole day again.
   */
  countPerSlot(bounds: readonly number[]): { entries: number[]; exits: number[] } {
    const slots = bounds.length - 1;
    const memo = this.slotMemo;
    const known =
      memo && memo.bounds.length === bounds.length && memo.bounds.every((b, i) => b === bounds[i]);
    const entries = known ? [...memo.entries] : new Array<number>(slots).fill(0);
    const exits = known ? [...memo.exits] : new Array<number>(slots).fill(0);
    const rows = (
      known
        ? this.stmt(
            'SELECT at_ms, kind & 1 FROM punch NOT INDEXED WHERE seq > ? AND at_ms >= ? AND at_ms < ?',
          )
            .raw()
            .iterate(memo.high, bounds[0]!, bounds[slots]!)
        : this.stmt('SELECT at_ms, kind & 1 FROM punch WHERE at_ms >= ? AND at_ms < ?')
            .raw()
            .iterate(bounds[0]!, bounds[slots]!)
    ) as IterableIterator<[number, number]>;
    for (const [at, out] of rows) {
      let lo = 0;
      let hi = slots - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (at >= bounds[mid]!) lo = mid;
        else hi = mid - 1;
      }
      if (out) exits[lo]!++;
      else entries[lo]!++;
    }
    this.slotMemo = {
      bounds: [...bounds],
      high: this.highWaterSeq,
      entries: [...entries],
      exits: [...exits],
    };
    return { entries, exits };
  }

  unmatchedSince(fromMs: number): Map<string, number> {
    const rows = this.stmt(
      'SELECT pin, count(*) FROM punch WHERE worker IS NULL AND at_ms >= ? GROUP BY pin ORDER BY 2 DESC, pin',
    )
      .raw()
      .all(fromMs) as Array<[string, number]>;
    return new Map(rows);
  }

  onSite(sinceMs: number): string[] {
    return this.stmt(`SELECT id FROM worker w WHERE ${ON_SITE} ORDER BY key`)
      .pluck()
      .all(sinceMs) as string[];
  }

  /**
   * The gate is the terminal of the worker's last punch, found through the (worker, time) index:
   * one short lookup per worker, and a page of workers per call.
   */
  onSitePage(sinceMs: number, after: number, limit: number): OnSitePage {
    const rows = this.stmt(
      `SELECT w.key, w.id, w.last_at,
         (SELECT t.id FROM punch p JOIN terminal t ON t.key = p.terminal
          WHERE p.worker = w.key AND p.at_ms = w.last_at AND p.kind & 1 = 0 ORDER BY p.seq DESC LIMIT 1)
       FROM worker w WHERE ${ON_SITE} AND w.key > ? ORDER BY w.key LIMIT ?`,
    )
      .raw()
      .all(sinceMs, after, limit) as Array<[number, string, number, string | null]>;
    const entries = rows.map(([, workerId, atMs, terminalId]) => ({
      workerId,
      atMs,
      terminalId: terminalId ?? '',
    }));
    return rows.length < limit ? { entries } : { entries, next: rows.at(-1)![0] };
  }

  lastPunchOf(workerId: string): { atMs: number; direction: Direction } | undefined {
    const row = this.stmt('SELECT last_at, last_out FROM worker WHERE id = ? AND last_at IS NOT NULL')
      .raw()
      .get(workerId) as [number, number] | undefined;
    return row ? { atMs: row[0], direction: row[1] ? 'out' : 'in' } : undefined;
  }

  latest(): StoredPunch | undefined {
    const row = this.stmt(`SELECT ${ROW_COLUMNS} FROM ${ROW_FROM} ORDER BY p.seq DESC LIMIT 1`).raw().get() as
      | unknown[]
      | undefined;
    return row ? decodeRow(row) : undefined;
  }

  terminalIds(): string[] {
    return this.stmt('SELECT id FROM terminal ORDER BY key').pluck().all() as string[];
  }

  /**
   * Reports: these workers' punches in [fromMs, toMs) as [worker id, at_ms, 1 for out], by worker,
   * then time and journal order: a range of `punch_worker` per worker (measured faster than a
   * covering index would make it, as a month's rows lie close together in seq order).
   */
  punchesOfWorkers(ids: readonly string[], fromMs: number, toMs: number): Array<[string, number, number]> {
    const idOf = new Map<number, string>();
    for (const id of ids) {
      const key = this.workerKey(id);
      if (key !== undefined) idOf.set(key, id);
    }
    const keys = [...idOf.keys()];
    // A fixed number of placeholders (padded with a key no worker has): one cached statement.
    const sql = `SELECT worker, at_ms, kind & 1 FROM punch WHERE worker IN (${'?,'.repeat(REPORT_KEYS - 1)}?)
      AND at_ms >= ? AND at_ms < ? ORDER BY worker, at_ms, seq`;
    const rows: Array<[string, number, number]> = [];
    for (let i = 0; i < keys.length; i += REPORT_KEYS) {
      const slice = keys.slice(i, i + REPORT_KEYS);
      while (slice.length < REPORT_KEYS) slice.push(-1);
      const found = this.stmt(sql)
        .raw()
        .all(...slice, fromMs, toMs) as Array<[number, number, number]>;
      for (const row of found) rows.push([idOf.get(row[0])!, row[1], row[2]]);
    }
    return rows;
  }

  workerKey(id: string): number | undefined {
    const known = this.workerKeys.get(id);
    if (known !== undefined) return known;
    const key = this.stmt('SELECT key FROM worker WHERE id = ?').pluck().get(id) as number | undefined;
    if (key !== undefined) this.remember(this.workerKeys, id, key);
    return key;
  }

  terminalKey(id: string): number | undefined {
    const known = this.terminalKeys.get(id);
    if (known !== undefined) return known;
    const key = this.stmt('SELECT key FROM terminal WHERE id = ?').pluck().get(id) as number | undefined;
    if (key !== undefined) this.remember(this.terminalKeys, id, key);
    return key;
  }

  /** The attendance sheet's per-worker-day cache (attendance-days.ts), its table created on first use. */
  get days(): AttendanceDayTable {
    this.dayTable ??= AttendanceDayTable.open(this.db, (id) => this.workerKey(id));
    return this.dayTable;
  }

  close(): void {
    this.statements.clear();
    if (this.db.open) this.db.close();
  }

  private internWorker(id: string): number {
    const key = this.workerKey(id);
    if (key !== undefined) return key;
    const added = Number(this.stmt('INSERT INTO worker (id) VALUES (?)').run(id).lastInsertRowid);
    this.remember(this.workerKeys, id, added);
    return added;
  }

  private internTerminal(id: string): number {
    const key = this.terminalKey(id);
    if (key !== undefined) return key;
    const added = Number(this.stmt('INSERT INTO terminal (id) VALUES (?)').run(id).lastInsertRowid);
    this.remember(this.terminalKeys, id, added);
    return added;
  }

  /** Bounded: years of worker churn must not grow memory (a miss costs one indexed lookup). */
  private remember(cache: Map<string, number>, id: string, key: number): void {
    if (cache.size >= KEY_CACHE_LIMIT) cache.clear();
    cache.set(id, key);
  }

  private stmt(sql: string): SqliteStatement {
    let statement = this.statements.get(sql);
    if (!statement) {
      if (this.statements.size >= STATEMENT_CACHE_LIMIT) this.statements.clear();
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }
}

/** The tables of an empty store, without the indexes (a rebuild adds them after the bulk load). */
export function createTables(db: SqliteDatabase): void {
  db.exec(TABLES);
}

/** The secondary indexes, one statement each so a rebuild can yield between them. */
export const INDEX_STATEMENTS: readonly string[] = INDEXES;
