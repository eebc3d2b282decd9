/**
 * The attendance sheet's SQL: its cache in the query store's file (each worker's site-local days as
 * `gateway/reports/day-count.ts` counts them) and the reads of the punches the sheet and the cache's
 * fill make. The cache is a cache of the punches and nothing else: `gateway/reports/day-cache.ts`
 * fills it and says what it holds; this file only keeps the days, and how far they reach, in SQL.
 * Zone-agnostic: a day is a number the caller gives (days since 1970-01-01 of the site-local date).
 */
import type { SqliteDatabase, SqliteStatement } from './sqlite';

/**
 * A row per worker and calendar month (`month`: the day number of its 1st), its days packed in
 * `days`: two bytes a day from the 1st (little-endian), 0 for a day without a punch, else
 * 1 + (hours in tenths × 4 + anomaly bits: 1 missing in, 2 missing out). A sheet of 5,000 workers
 * reads 5,000 short rows a month, not 125,000 (≈ 1.2 µs each through better-sqlite3: 150 ms a month).
 * The first in and last out of a day are not kept: only the daily sheet shows them, and it counts its
 * day from the punches (one range by time is quicker than a lookup per worker).
 *
 * WITHOUT ROWID on (worker, month): a chunk of workers is a lookup each. The team filter is applied
 * to the roster before the query: no other index.
 */
const TABLE = `CREATE TABLE IF NOT EXISTS attendance_month (
  worker INTEGER NOT NULL,
  month INTEGER NOT NULL,
  days BLOB NOT NULL,
  PRIMARY KEY (worker, month)
) WITHOUT ROWID`;

/** Worker keys per summary read (one cached statement, padded like `punchesOfWorkers`). */
const READ_KEYS = 100;
/** `READ_KEYS` workers' rows over a range of months (the keys padded with -1). */
const MONTH_ROWS = `SELECT worker, month, days FROM attendance_month
  WHERE worker IN (${'?,'.repeat(READ_KEYS - 1)}?) AND month >= ? AND month <= ?`;
/** Worker keys per pruning transaction. */
const PRUNE_KEYS = 500;
/** Worker keys `punchesByTime` packs with a punch's time into one number (2²⁰). */
const PACKED_KEYS = 1_048_576;
/** Worker ids kept by key (a miss reloads from that key up: new workers come with new keys). */
const ID_CACHE_LIMIT = 100_000;
const DAY_MS = 86_400_000;
/**
 * Memory the months held after a read may take together (31 days × 2 bytes per worker key: 0.35 MB
 * a month at 5,000 workers, so every month of three years); the least recently read go first.
 */
const HELD_BYTES = 16 * 1024 * 1024;
/** Worker keys up to this are held (8 MB a month at most); a table with larger ones is read each time. */
const HELD_KEY_LIMIT = 131_072;
/** Held months are let go this long after the last read: an idle box holds none. */
const HELD_IDLE_MS = 120_000;

/**
 * The rows of a month read so far, held in memory: a sheet reads the same month's 5,000 rows for
 * each page, filter and document (≈ 20 ms of the loop each through SQLite under the web
 * benchmark, a tenth of its time); held, a read is a copy per worker. By worker key (they are the
 * worker table's rowids: dense from 1). Kept as the table is: `write` puts each row it commits,
 * `prune` and a change of rules let go of them all.
 */
class HeldMonth {
  /** 1 for a worker key whose row is held (all zeros when it has none). */
  private known = new Uint8Array(0);
  private days = new Uint16Array(0);

  get bytes(): number {
    return this.known.byteLength + this.days.byteLength;
  }

  has(key: number): boolean {
    return this.known[key] === 1;
  }

  /** The row's days (`decodeDays` values from the 1st), or undefined for a worker without one. */
  put(key: number, days: Uint16Array | undefined): void {
    if (key >= this.known.length) this.grow(key);
    this.known[key] = 1;
    this.days.fill(0, key * 31, key * 31 + 31);
    if (days) this.days.set(days.subarray(0, 31), key * 31);
  }

  /** Copies days [from, to) of the month (0 = the 1st) into `into` at `at`. */
  copy(key: number, from: number, to: number, into: Uint16Array, at: number): void {
    into.set(this.days.subarray(key * 31 + from, key * 31 + to), at);
  }

  private grow(key: number): void {
    // An eighth to spare, not double: 5,000 workers' months are 0.35 MB each, so 46 fit the budget.
    const size = Math.max(1024, Math.ceil(((key + 1) * 9) / 8 / 256) * 256);
    const known = new Uint8Array(size);
    known.set(this.known);
    const days = new Uint16Array(size * 31);
    days.set(this.days);
    this.known = known;
    this.days = days;
  }
}

/**
 * How far the cache reaches, kept in `meta` and moved in the same transaction as the rows:
 * every worker's days in [`from`, `to`) are summarized as of the punches up to journal seq `seen`
 * (later punches are not accounted for yet). `rules` fingerprints what the rows were counted with
 * (the zone, the night-shift window, the counting code); rows of other rules are thrown away.
 */
export interface DaySummaryState {
  readonly from: number;
  readonly to: number;
  readonly seen: number;
  readonly rules: number;
  /** The store's high-water seq now. */
  readonly highWater: number;
  /** The lowest day the cache may hold: its day before lies whole within retention. */
  readonly floor: number;
  /** Changes when the store's file is replaced (a rebuild): rows and state of another epoch are void. */
  readonly epoch: number;
}

/** A summarized day: [worker key, day, hours in tenths, anomaly bits]. */
export type DaySummaryRow = [worker: number, day: number, hoursTenths: number, anomaly: number];

/** One transaction: rows added or replaced, days emptied, and how far the cache now reaches. */
export interface DaySummaryWrite {
  readonly epoch: number;
  readonly rows?: readonly DaySummaryRow[];
  /** [worker key, day] pairs that no longer have a row (recounted as empty). */
  readonly clear?: ReadonlyArray<readonly [worker: number, day: number]>;
  readonly from?: number;
  readonly to?: number;
  readonly seen?: number;
}

type Reach = Omit<DaySummaryState, 'highWater' | 'floor' | 'epoch'>;

let epochs = 0;

/**
 * The lowest day whose day before lies whole after `keepFromMs` in any zone (UTC−12 … UTC+14): a
 * day's count reads the day before it, so a day next to retention's edge is always counted live.
 */
export function summaryFloor(keepFromMs: number): number {
  return Math.floor(keepFromMs / DAY_MS) + 3;
}

export class AttendanceDayTable {
  readonly epoch = ++epochs;
  private readonly statements = new Map<string, SqliteStatement>();
  private readonly ids = new Map<number, string>();
  /** Month (its 1st's day number) → its rows read so far; the least recently read first. */
  private readonly held = new Map<number, HeldMonth>();
  private lastRead = 0;
  private letGo: NodeJS.Timeout | undefined;
  private state: Reach;
  /** The reach written by the transaction under way, kept once it commits. */
  private saved: Reach | undefined;

  private constructor(
    private readonly db: SqliteDatabase,
    private readonly keyOf: (id: string) => number | undefined,
  ) {
    this.state = { from: 0, to: 0, seen: 0, rules: 0 };
  }

  /**
   * Creates the table if the file has none (a store from before the cache: it simply starts empty,
   * no rebuild) and reads how far it reaches.
   */
  static open(db: SqliteDatabase, keyOf: (id: string) => number | undefined): AttendanceDayTable {
    const table = new AttendanceDayTable(db, keyOf);
    db.exec(TABLE);
    const meta = new Map(
      (
        db.prepare(`SELECT name, value FROM meta WHERE name LIKE 'attendance.%'`).all() as Array<{
          name: string;
          value: number;
        }>
      ).map((r) => [r.name, r.value]),
    );
    table.state = {
      from: meta.get('attendance.from') ?? 0,
      to: meta.get('attendance.to') ?? 0,
      seen: meta.get('attendance.seen') ?? 0,
      rules: meta.get('attendance.rules') ?? 0,
    };
    return table;
  }

  /**
   * How far the cache reaches. Rows counted with other `rules` are dropped first, and an empty cache
   * has seen everything the store holds (there is nothing a later punch could make stale).
   */
  current(rules: number, highWater: number, keepFromMs: number): DaySummaryState {
    if (this.state.rules !== rules) {
      this.statements.clear();
      this.held.clear();
      this.transaction(() => {
        this.db.exec('DROP TABLE IF EXISTS attendance_month');
        this.db.exec(TABLE);
        this.save({ from: 0, to: 0, seen: highWater, rules });
      });
    } else if (this.state.from === this.state.to && this.state.seen !== highWater) {
      this.transaction(() => this.save({ ...this.state, seen: highWater }));
    }
    return { ...this.state, highWater, floor: summaryFloor(keepFromMs), epoch: this.epoch };
  }

  write(change: DaySummaryWrite): boolean {
    if (change.epoch !== this.epoch) return false;
    // Each worker's months as read (or new), changed in memory, then written back once.
    const months = new Map<string, { worker: number; month: number; days: Uint16Array }>();
    const monthOf = (worker: number, day: number) => {
      const month = monthStart(day);
      const key = `${worker}|${month}`;
      let found = months.get(key);
      if (!found) {
        const blob = this.stmt('SELECT days FROM attendance_month WHERE worker = ? AND month = ?')
          .pluck()
          .get(worker, month) as Buffer | undefined;
        const days = new Uint16Array(31);
        if (blob) days.set(decodeDays(blob));
        found = { worker, month, days };
        months.set(key, found);
      }
      return found;
    };
    for (const [worker, day] of change.clear ?? []) monthOf(worker, day).days[day - monthStart(day)] = 0;
    for (const [worker, day, tenths, anomaly] of change.rows ?? []) {
      monthOf(worker, day).days[day - monthStart(day)] = dayValue(tenths, anomaly);
    }
    const put = this.stmt('INSERT OR REPLACE INTO attendance_month VALUES (?, ?, ?)');
    this.transaction(() => {
      for (const { worker, month, days } of months.values()) put.run(worker, month, encodeDays(days));
      this.save({
        from: change.from ?? this.state.from,
        to: change.to ?? this.state.to,
        seen: change.seen ?? this.state.seen,
        rules: this.state.rules,
      });
    });
    // Committed: the months held in memory take the same rows.
    for (const { worker, month, days } of months.values()) {
      // A key beyond what is held is never read from memory (and would make a month of 8 MB and more).
      if (worker < HELD_KEY_LIMIT) this.held.get(month)?.put(worker, days);
    }
    return true;
  }

  /**
   * These workers' days [fromDay, toDay) as packed values (`dayValue`: 0 for a day without a punch),
   * by worker id; undefined when the cache no longer reaches over those days (retention moved `from`
   * meanwhile). A worker with no row has only zeros.
   */
  rows(ids: readonly string[], fromDay: number, toDay: number): Map<string, Uint16Array> | undefined {
    if (fromDay < this.state.from || toDay > this.state.to) return undefined;
    const out = new Map<string, Uint16Array>();
    const keyed: Array<[key: number, values: Uint16Array]> = [];
    let maxKey = 0;
    for (const id of ids) {
      const values = new Uint16Array(toDay - fromDay);
      out.set(id, values);
      const key = this.keyOf(id);
      if (key === undefined) continue;
      keyed.push([key, values]);
      if (key > maxKey) maxKey = key;
    }
    if (maxKey >= HELD_KEY_LIMIT) {
      this.readDirect(new Map(keyed), fromDay, toDay);
      return out;
    }
    const months: Array<[month: number, held: HeldMonth]> = [];
    for (let month = monthStart(fromDay); month < toDay; month = nextMonth(month)) {
      months.push([month, this.holding(month)]);
    }
    const missing = keyed.filter(([key]) => months.some(([, held]) => !held.has(key))).map(([key]) => key);
    this.readInto(months, missing);
    this.trimHeld();
    for (const [key, values] of keyed) {
      for (const [month, held] of months) {
        const from = Math.max(fromDay, month);
        const to = Math.min(toDay, nextMonth(month));
        if (to > from) held.copy(key, from - month, to - month, values, from - fromDay);
      }
    }
    this.keepFor(HELD_IDLE_MS);
    return out;
  }

  /** Rows straight into `values` by worker key, nothing held. */
  private readDirect(values: ReadonlyMap<number, Uint16Array>, fromDay: number, toDay: number): void {
    const keys = [...values.keys()];
    for (let i = 0; i < keys.length; i += READ_KEYS) {
      const slice = keys.slice(i, i + READ_KEYS);
      while (slice.length < READ_KEYS) slice.push(-1);
      const found = this.stmt(MONTH_ROWS)
        .raw()
        .all(...slice, monthStart(fromDay), monthStart(toDay - 1)) as Array<[number, number, Buffer]>;
      for (const [worker, month, blob] of found) {
        const into = values.get(worker)!;
        const from = Math.max(fromDay, month);
        const to = Math.min(toDay, month + (blob.length >> 1));
        for (let day = from; day < to; day++)
          into[day - fromDay] = blob[2 * (day - month)]! | (blob[2 * (day - month) + 1]! << 8);
      }
    }
  }

  /** The month held in memory, made the most recently read. */
  private holding(month: number): HeldMonth {
    let held = this.held.get(month);
    if (held) this.held.delete(month);
    else held = new HeldMonth();
    this.held.set(month, held);
    return held;
  }

  /** The least recently read months go while the held ones take more than `HELD_BYTES` (the last read stays). */
  private trimHeld(): void {
    let bytes = 0;
    for (const held of this.held.values()) bytes += held.bytes;
    for (const [month, held] of this.held) {
      if (bytes <= HELD_BYTES || this.held.size <= 1) break;
      this.held.delete(month);
      bytes -= held.bytes;
    }
  }

  /** These workers' rows of these months, from the table into memory (a worker without one: zeros). */
  private readInto(months: ReadonlyArray<readonly [number, HeldMonth]>, keys: readonly number[]): void {
    if (keys.length === 0) return;
    const byMonth = new Map(months);
    for (let i = 0; i < keys.length; i += READ_KEYS) {
      const slice = keys.slice(i, i + READ_KEYS);
      // Held as rows of zeros first: a worker the query does not give has no row that month.
      for (const key of slice) for (const [, held] of months) held.put(key, undefined);
      while (slice.length < READ_KEYS) slice.push(-1);
      const rows = this.stmt(MONTH_ROWS)
        .raw()
        .all(...slice, months[0]![0], months.at(-1)![0]) as Array<[number, number, Buffer]>;
      for (const [worker, month, blob] of rows) byMonth.get(month)?.put(worker, decodeDays(blob));
    }
  }

  /** Lets go of the held months once no sheet has read them for `idleMs` (unref'd: it keeps no process up). */
  private keepFor(idleMs: number): void {
    this.lastRead = Date.now();
    if (this.letGo) return;
    const check = () => {
      const left = this.lastRead + idleMs - Date.now();
      if (left > 0) {
        this.letGo = setTimeout(check, left).unref();
        return;
      }
      this.letGo = undefined;
      this.held.clear();
    };
    this.letGo = setTimeout(check, idleMs).unref();
  }

  /**
   * Every worker's punches in [fromMs, toMs) as [worker key, at_ms, 1 for out], by time then journal
   * order: one range of `punch_at`, whose rows lie close together in seq order (a range of
   * `punch_worker` per worker costs ≈ 6× more). Each row comes back as one number, (at_ms − fromMs)
   * × 2²¹ + key × 2 + out: better-sqlite3 makes an array per row of several columns, which was
   * three quarters of the time (30,000 rows: ≈ 28 ms, packed ≈ 8). Exact below 2⁵³, so for spans
   * under 49 days and keys under 2²⁰; anything else is read column by column.
   */
  punchesByTime(fromMs: number, toMs: number): Array<[number, number, number]> {
    const rows: Array<[number, number, number]> = [];
    this.eachPunchByTime(fromMs, toMs, (key, atMs, out) => rows.push([key, atMs, out]));
    return rows;
  }

  /** `punchesByTime`'s rows one by one, packed into one number each where they fit (see there). */
  private eachPunchByTime(
    fromMs: number,
    toMs: number,
    visit: (key: number, atMs: number, out: number) => void,
  ): void {
    const maxKey = (this.stmt('SELECT max(key) FROM worker').pluck().get() as number | null) ?? 0;
    if (toMs - fromMs >= 2 ** 32 || maxKey >= PACKED_KEYS) {
      const rows = this.stmt(
        `SELECT worker, at_ms, kind & 1 FROM punch WHERE at_ms >= ? AND at_ms < ? AND worker IS NOT NULL
         ORDER BY at_ms, seq`,
      )
        .raw()
        .all(fromMs, toMs) as Array<[number, number, number]>;
      for (const [key, atMs, out] of rows) visit(key, atMs, out);
      return;
    }
    const packed = this.stmt(
      `SELECT (at_ms - ?) * ${PACKED_KEYS * 2} + worker * 2 + (kind & 1) FROM punch
       WHERE at_ms >= ? AND at_ms < ? AND worker IS NOT NULL ORDER BY at_ms, seq`,
    )
      .pluck()
      .all(fromMs, fromMs, toMs) as number[];
    for (const v of packed) {
      const at = Math.floor(v / (PACKED_KEYS * 2));
      const rest = v - at * PACKED_KEYS * 2;
      visit(rest >> 1, fromMs + at, rest & 1);
    }
  }

  /** Up to `limit` punches with a worker journaled after `afterSeq` (a range of the rowid): [seq, key, at_ms, id]. */
  punchesAfter(afterSeq: number, limit: number): Array<[number, number, number, string]> {
    return this.stmt(
      `SELECT p.seq, p.worker, p.at_ms, w.id FROM punch p JOIN worker w ON w.key = p.worker
       WHERE p.seq > ? ORDER BY p.seq LIMIT ?`,
    )
      .raw()
      .all(afterSeq, limit) as Array<[number, number, number, string]>;
  }

  /**
   * Every worker's punches in [fromMs, toMs) by worker id, each worker's as [at_ms, 1 for out, at_ms,
   * …] in time then journal order: one range of `punch_at` (a day's sheet: three days, ≈ 30,000
   * punches at 5,000 workers). Grouped as they are read, without an array per punch: as [id, at_ms,
   * out] rows, then objects by worker, a day's sheet took 40–60 ms of the loop to open under load.
   */
  punchesByWorkerOverTime(fromMs: number, toMs: number): Map<string, number[]> {
    // By key in an array, not a Map (keys are the worker table's rowids, dense from 1): a look-up per
    // punch, 30,000 of them, was a third of the grouping. Keys in the order they first punched.
    const byKey: number[][] = [];
    const order: number[] = [];
    this.eachPunchByTime(fromMs, toMs, (key, atMs, out) => {
      const list = byKey[key];
      if (list) list.push(atMs, out);
      else {
        byKey[key] = [atMs, out];
        order.push(key);
      }
    });
    // Ids from memory, not a join (a third of the query's time): a worker's key never changes.
    const byId = new Map<string, number[]>();
    for (const key of order) byId.set(this.idOf(key), byKey[key]!);
    return byId;
  }

  private idOf(key: number): string {
    let id = this.ids.get(key);
    if (id === undefined) {
      if (this.ids.size > ID_CACHE_LIMIT) this.ids.clear();
      for (const [k, i] of this.stmt('SELECT key, id FROM worker WHERE key >= ?').raw().all(key) as Array<
        [number, string]
      >) {
        this.ids.set(k, i);
      }
      id = this.ids.get(key)!;
    }
    return id;
  }

  /** Which of these workers have a punch in [fromMs, toMs): one probe of `punch_worker` each. */
  punchingAmong(ids: readonly string[], fromMs: number, toMs: number): string[] {
    const probe = this.stmt(
      'SELECT 1 FROM punch WHERE worker = ? AND at_ms >= ? AND at_ms < ? LIMIT 1',
    ).pluck();
    return ids.filter((id) => {
      const key = this.keyOf(id);
      return key !== undefined && probe.get(key, fromMs, toMs) !== undefined;
    });
  }

  /** Ids with punches that the roster does not list (the search columns of a roster worker are never all NULL). */
  unlisted(): string[] {
    return this.stmt('SELECT id FROM worker WHERE pin IS NULL').pluck().all() as string[];
  }

  /** One worker's punches in [fromMs, toMs) as [at_ms, 1 for out], by time then journal order. */
  punchesOfKey(key: number, fromMs: number, toMs: number): Array<[number, number]> {
    return this.stmt(
      'SELECT at_ms, kind & 1 FROM punch WHERE worker = ? AND at_ms >= ? AND at_ms < ? ORDER BY at_ms, seq',
    )
      .raw()
      .all(key, fromMs, toMs) as Array<[number, number]>;
  }

  /**
   * Retention: the cache no longer reaches below `floor`, then the days below it go (the months
   * before it, and those days of its month), a few hundred workers per call. Returns the key to
   * continue after, or undefined when done (at once when the cache does not reach below `floor`).
   */
  prune(floor: number, afterKey: number): number | undefined {
    if (afterKey === 0) {
      // Days below `from` only ever come from work cut short (a kill): the next day's pass takes them.
      if (this.state.from >= floor) return undefined;
      this.transaction(() => this.save({ ...this.state, from: floor, to: Math.max(this.state.to, floor) }));
    }
    const keys = this.stmt('SELECT key FROM worker WHERE key > ? ORDER BY key LIMIT ?')
      .pluck()
      .all(afterKey, PRUNE_KEYS) as number[];
    // Rare (a day's retention): the held months are simply read again.
    this.held.clear();
    const month = monthStart(floor);
    const drop = this.stmt('DELETE FROM attendance_month WHERE worker = ? AND month < ?');
    const get = this.stmt('SELECT days FROM attendance_month WHERE worker = ? AND month = ?').pluck();
    const put = this.stmt('UPDATE attendance_month SET days = ? WHERE worker = ? AND month = ?');
    this.transaction(() => {
      for (const key of keys) {
        drop.run(key, month);
        const blob = get.get(key, month) as Buffer | undefined;
        if (!blob || floor === month) continue;
        const days = decodeDays(blob);
        days.fill(0, 0, floor - month);
        put.run(encodeDays(days), key, month);
      }
    });
    return keys.length < PRUNE_KEYS ? undefined : keys.at(-1);
  }

  private transaction(work: () => void): void {
    this.saved = undefined;
    try {
      this.db.transaction(work)();
      if (this.saved) this.state = this.saved;
    } finally {
      this.saved = undefined;
    }
  }

  /** Inside `transaction`: the new reach is kept in memory only once the transaction commits. */
  private save(state: Reach): void {
    const set = this.stmt('INSERT OR REPLACE INTO meta VALUES (?, ?)');
    set.run('attendance.from', state.from);
    set.run('attendance.to', state.to);
    set.run('attendance.seen', state.seen);
    set.run('attendance.rules', state.rules);
    this.saved = state;
  }

  private stmt(sql: string): SqliteStatement {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }
}

/** A counted day as the cache packs it: never 0 (a day without a punch). */
export function dayValue(hoursTenths: number, anomaly: number): number {
  return 1 + hoursTenths * 4 + anomaly;
}

/** Hours in tenths and the anomaly bits (1 missing in, 2 missing out) of a packed day. */
export function unpackDay(value: number): [hoursTenths: number, anomaly: number] {
  return [(value - 1) >> 2, (value - 1) & 3];
}

/** The day number of the 1st of the calendar month of day number `day`. */
function monthStart(day: number): number {
  const date = new Date(day * DAY_MS);
  return Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1) / DAY_MS;
}

/** The day number of the 1st of the next calendar month. */
function nextMonth(first: number): number {
  const date = new Date(first * DAY_MS);
  return Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 1) / DAY_MS;
}

function decodeDays(blob: Uint8Array): Uint16Array {
  const days = new Uint16Array(blob.length >> 1);
  for (let i = 0; i < days.length; i++) days[i] = blob[2 * i]! | (blob[2 * i + 1]! << 8);
  return days;
}

/** Little-endian whatever the machine, and no longer than the month's last day with a value. */
function encodeDays(days: Uint16Array): Buffer {
  let n = days.length;
  while (n > 0 && days[n - 1] === 0) n--;
  const blob = Buffer.alloc(2 * n);
  for (let i = 0; i < n; i++) blob.writeUInt16LE(days[i]!, 2 * i);
  return blob;
}
