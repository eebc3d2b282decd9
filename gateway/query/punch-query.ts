import type { Direction, Punch, PunchFlag, VerifyMethod } from '../model';

export type DeliveryState = 'delivered' | 'pending';

export interface PunchFilter {
  /** Inclusive lower bound on punch time (UTC ms). */
  readonly fromMs?: number;
  /** Exclusive upper bound on punch time (UTC ms). */
  readonly toMs?: number;
  /** Exact worker ids to keep (a name search resolves to these first). */
  readonly workerIds?: readonly string[];
  /** Unmatched punches of this PIN (or any punch of it when workerIds is absent). */
  readonly pin?: string;
  readonly terminalId?: string;
  readonly direction?: Direction;
  /** Delivery state towards one upstream: delivered when seq ≤ that outbox's cursor. */
  readonly delivery?: { readonly cursor: number; readonly state: DeliveryState };
  readonly unmatchedOnly?: boolean;
}

/** One punch as the store gives it back to the page (the journal's punch less its dedup key). */
export interface StoredPunch {
  readonly seq: number;
  readonly atMs: number;
  readonly receivedMs: number;
  readonly terminalId: string;
  readonly pin: string;
  readonly workerId: string | null;
  readonly direction: Direction;
  readonly method: VerifyMethod;
  readonly source: Punch['source'];
  readonly flags: readonly PunchFlag[];
}

/** A worker inside now: when and where the entry that keeps them inside was made. */
export interface OnSiteEntry {
  readonly workerId: string;
  readonly atMs: number;
  readonly terminalId: string;
}

export interface OnSitePage {
  readonly entries: readonly OnSiteEntry[];
  readonly next?: number;
}

/**
 * The muster rule's window: an entry counts as inside only when it was made at most
 * `nightShiftHours` (`reports.nightShiftHours`) before now. A worker who walked out without
 * punching (or through a gate with no reader) drops off the list after one night shift, instead of
 * being "on site" for ever; the attendance sheet closes a night shift within the same window.
 */
export function insideSince(nowMs: number, nightShiftHours: number): number {
  return nowMs - nightShiftHours * 3_600_000;
}

/** A place in the list's order (punch time, then journal seq): where a keyset page starts. */
export interface PunchCursor {
  readonly atMs: number;
  readonly seq: number;
}

/** A page by keyset: the rows just older than `before`, or just newer than `after`. */
export interface PagePosition {
  readonly before?: PunchCursor;
  readonly after?: PunchCursor;
}

/**
 * Counting stops here: an exact count of a filter over millions of rows walks them all (a second
 * or more, holding the event loop), and "10,000+" says as much to a person as "5,085,275".
 */
export const COUNT_LIMIT = 10_000;

/**
 * Numbered pages reach this far into a list (an OFFSET walks every row it skips); past it, pages
 * go by keyset (`PagePosition`), which costs the same at any depth.
 */
export const MAX_OFFSET = 10_000;

export interface PunchPage {
  readonly rows: readonly StoredPunch[];
  /** Every match, or `COUNT_LIMIT` when `capped`. */
  readonly total: number;
  /** Counting stopped at `COUNT_LIMIT`: there are more matches than `total`. */
  readonly capped: boolean;
  readonly page: number;
  readonly pageSize: number;
  /** Where the next older page starts (`{ before: older }`); absent on the last page. */
  readonly older?: PunchCursor;
  /** Where the next newer page starts (`{ after: newer }`); absent on the first page. */
  readonly newer?: PunchCursor;
}

/**
 * What the page, the API and reports read punches through (the query store, `query-store.ts`).
 * Every call is a bounded, indexed query: nothing here walks all punches in memory.
 */
export interface PunchReader {
  /** Caught up with the journal at least once since start (pages say "indexing" until then). */
  readonly isReady: boolean;
  /** The highest journal sequence number the store holds. */
  readonly lastSeq: number;
  /**
   * Newest first by punch time (then by journal order): page `page` (at most `MAX_OFFSET` rows
   * deep), or the keyset page at `position`. `total` counts matches up to `COUNT_LIMIT`.
   */
  query(filter: PunchFilter, page: number, pageSize: number, position?: PagePosition): PunchPage;
  /** Every match, oldest first, read a chunk at a time (CSV export). */
  each(filter: PunchFilter): Iterator<StoredPunch>;
  /** Entries and exits per slot between boundaries (`bounds[i]` ≤ t < `bounds[i+1]`). */
  countPerSlot(bounds: readonly number[]): { entries: number[]; exits: number[] };
  /** Unmatched punches (PIN on no roster entry) since `fromMs`, by PIN. */
  unmatchedSince(fromMs: number): Map<string, number>;
  /**
   * Worker ids inside now by the muster rule: their last punch (by punch time) is an entry made at
   * or after `sinceMs` (`insideSince`: now less the night-shift window). The dashboard's figure,
   * the workers list and the muster list all ask this, so they agree.
   */
  onSite(sinceMs: number): string[];
  /**
   * The same workers with the entry's time and gate, a page at a time in the store's worker order:
   * `after` is the `next` of the page before (0 for the first); `next` is absent on the last page.
   */
  onSitePage(sinceMs: number, after: number, limit: number): OnSitePage;
  lastPunchOf(workerId: string): { atMs: number; direction: Direction } | undefined;
  /** The punch journaled last. */
  latest(): StoredPunch | undefined;
  /** Every terminal that has punches in the store. */
  terminalIds(): string[];
  /**
   * Worker ids whose PIN, gateway id, platform id or ID number equals `q`, or whose name contains
   * it; undefined while the store cannot answer (the caller then searches the roster itself).
   */
  searchWorkers(q: string): string[] | undefined;
}

export const METHODS: readonly VerifyMethod[] = ['fp', 'fa', 'card', 'pwd'];
export const SOURCES: readonly Punch['source'][] = ['realtime', 'poll', 'push'];
export const FLAGS: readonly PunchFlag[] = ['unmatched', 'removed_worker', 'unknown_verify', 'clock_suspect'];
const METHOD_BITS = new Map<string, number>(METHODS.map((m, i) => [m, i]));
const SOURCE_BITS = new Map<string, number>(SOURCES.map((s, i) => [s, i]));
const FLAG_BITS = new Map<string, number>(FLAGS.map((f, i) => [f, 1 << i]));

/** bit 0: out; bits 1–2: method; bits 3–4: source (one small integer column instead of three texts). */
export function kindOf(punch: Punch): number {
  return (
    (punch.direction === 'out' ? 1 : 0) |
    ((METHOD_BITS.get(punch.method) ?? 0) << 1) |
    ((SOURCE_BITS.get(punch.source) ?? 0) << 3)
  );
}

export function flagBitsOf(flags: readonly string[]): number {
  let bits = 0;
  for (let i = 0; i < flags.length; i++) bits |= FLAG_BITS.get(flags[i] as string) ?? 0;
  return bits;
}

/** A stored row back into the page's shape. */
export function decodeRow(row: readonly unknown[]): StoredPunch {
  const [seq, atMs, receivedMs, terminalId, pin, workerId, kind, flagBits] = row as [
    number,
    number,
    number,
    string,
    string,
    string | null,
    number,
    number,
  ];
  return {
    seq,
    atMs,
    receivedMs,
    terminalId,
    pin,
    workerId,
    direction: kind & 1 ? 'out' : 'in',
    method: METHODS[(kind >> 1) & 3]!,
    source: SOURCES[(kind >> 3) & 3] ?? 'poll',
    flags: FLAGS.filter((_, bit) => flagBits & (1 << bit)),
  };
}

/** The keys the store gave worker and terminal ids; undefined for an id it has never seen. */
export interface KeyLookup {
  workerKey(id: string): number | undefined;
  terminalKey(id: string): number | undefined;
}

/**
 * A worker list this long is not looked up through the worker index (one range per worker, then
 * a sort of all their punches): the time index is walked newest first instead, and the first page
 * stops early because such a search matches most punches.
 */
const WORKER_INDEX_LIMIT = 32;

/** Rows strictly past `from` in the list's order: `older` (toward the past) or `newer`. */
export interface Seek {
  readonly from: PunchCursor;
  readonly toward: 'older' | 'newer';
}

/**
 * A filter as SQL over `punch p`: the WHERE clause and its arguments, or null when nothing can
 * match (an unknown terminal, workers with no punches). Worker and terminal keys are integers the
 * store assigned, so they are written into the text; everything else is bound.
 */
export function filterSql(
  filter: PunchFilter,
  keys: KeyLookup,
  seek?: Seek,
  /** For a count (no order): a long worker list may use the worker index, which alone answers it. */
  unordered = false,
): { where: string; args: unknown[] } | null {
  const terms: string[] = [];
  const args: unknown[] = [];
  // A seek past a date bound replaces it: SQLite walks an index from one lower (or upper) bound
  // only, and with both it would start at the date and skip every row up to the cursor, so each
  // chunk of an export would cost more than the one before.
  const after = seek?.toward === 'newer' ? seek.from : undefined;
  const before = seek?.toward === 'older' ? seek.from : undefined;
  if (filter.fromMs !== undefined && !(after && after.atMs >= filter.fromMs)) {
    terms.push('p.at_ms >= ?');
    args.push(filter.fromMs);
  }
  if (filter.toMs !== undefined && !(before && before.atMs < filter.toMs)) {
    terms.push('p.at_ms < ?');
    args.push(filter.toMs);
  }
  if (seek) {
    terms.push(`(p.at_ms, p.seq) ${seek.toward === 'newer' ? '>' : '<'} (?, ?)`);
    args.push(seek.from.atMs, seek.from.seq);
  }
  if (filter.terminalId !== undefined) {
    const key = keys.terminalKey(filter.terminalId);
    if (key === undefined) return null;
    terms.push(`p.terminal = ${key}`);
  }
  if (filter.direction !== undefined) terms.push(`p.kind & 1 = ${filter.direction === 'out' ? 1 : 0}`);
  if (filter.delivery) {
    terms.push(filter.delivery.state === 'delivered' ? 'p.seq <= ?' : 'p.seq > ?');
    args.push(filter.delivery.cursor);
  }
  if (filter.unmatchedOnly) terms.push('p.worker IS NULL');
  if (filter.workerIds || filter.pin !== undefined) {
    const either: string[] = [];
    if (filter.workerIds) {
      const found: number[] = [];
      for (const id of filter.workerIds) {
        const key = keys.workerKey(id);
        if (key !== undefined) found.push(key);
      }
      if (found.length > 0) {
        // Unary + keeps SQLite off the worker index for a long list (see WORKER_INDEX_LIMIT). A count
        // reads that index alone (the rowid, so the seq, is in it too) when no term needs the row;
        // a terminal or direction would cost a row read per match there, in no order: slower.
        const byIndex = unordered && filter.terminalId === undefined && filter.direction === undefined;
        const column = found.length > WORKER_INDEX_LIMIT && !byIndex ? '+p.worker' : 'p.worker';
        either.push(`${column} IN (${found.join(',')})`);
      }
    }
    if (filter.pin !== undefined) {
      either.push(filter.workerIds ? '(p.worker IS NULL AND p.pin = ?)' : 'p.pin = ?');
      args.push(filter.pin);
    }
    if (either.length === 0) return null;
    terms.push(either.length === 1 ? either[0]! : `(${either.join(' OR ')})`);
  }
  return { where: terms.length > 0 ? `WHERE ${terms.join(' AND ')}` : '', args };
}
