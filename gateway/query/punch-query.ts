import type { Direction } from '../model';
import type { IndexedPunch, PunchIndex } from './punch-index';

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

export interface PunchPage {
  readonly rows: readonly IndexedPunch[];
  readonly total: number;
  readonly page: number;
  readonly pageSize: number;
}

/**
 * Compiles a filter into a row predicate over the index's columns. Everything the predicate
 * touches is a number, so a full pass over a million rows stays in the low milliseconds.
 */
export function compileFilter(index: PunchIndex, filter: PunchFilter): ((row: number) => boolean) | null {
  let workerMask: Uint8Array | undefined;
  if (filter.workerIds) {
    workerMask = new Uint8Array(index.workers.values.length + 1);
    let any = false;
    for (const id of filter.workerIds) {
      const w = index.workers.idOf(id);
      if (w !== undefined) {
        workerMask[w] = 1;
        any = true;
      }
    }
    if (!any && filter.pin === undefined) return null;
  }
  let pin = -1;
  if (filter.pin !== undefined) {
    const p = index.pins.idOf(filter.pin);
    if (p === undefined && !workerMask) return null;
    pin = p ?? -2;
  }
  let terminal = -1;
  if (filter.terminalId !== undefined) {
    const t = index.terminals.idOf(filter.terminalId);
    if (t === undefined) return null;
    terminal = t;
  }
  const from = filter.fromMs ?? Number.NEGATIVE_INFINITY;
  const to = filter.toMs ?? Number.POSITIVE_INFINITY;
  const out = filter.direction === undefined ? -1 : filter.direction === 'out' ? 1 : 0;
  const cursor = filter.delivery?.cursor ?? 0;
  const delivered = filter.delivery?.state === 'delivered';
  const checkDelivery = filter.delivery !== undefined;
  const unmatchedOnly = filter.unmatchedOnly === true;
  const { atMs, worker, terminal: terminals, pin: pins, kind, seq } = index;
  return (row) => {
    const at = atMs[row]!;
    if (at < from || at >= to) return false;
    if (terminal >= 0 && terminals[row] !== terminal) return false;
    if (out >= 0 && (kind[row]! & 1) !== out) return false;
    if (checkDelivery && seq[row]! <= cursor !== delivered) return false;
    if (unmatchedOnly && worker[row] !== -1) return false;
    if (workerMask || pin !== -1) {
      const w = worker[row]!;
      const byWorker = workerMask !== undefined && w >= 0 && workerMask[w] === 1;
      const byPin = pin !== -1 && pins[row] === pin && (workerMask === undefined || w === -1);
      if (!byWorker && !byPin) return false;
    }
    return true;
  };
}

/** Newest first (journal order reversed); `total` counts every match. */
export function queryPunches(
  index: PunchIndex,
  filter: PunchFilter,
  page: number,
  pageSize: number,
): PunchPage {
  const match = compileFilter(index, filter);
  if (!match) return { rows: [], total: 0, page, pageSize };
  const skip = (page - 1) * pageSize;
  const rows: IndexedPunch[] = [];
  let total = 0;
  for (let row = index.size - 1; row >= 0; row--) {
    if (!match(row)) continue;
    if (total >= skip && rows.length < pageSize) rows.push(index.row(row));
    total++;
  }
  return { rows, total, page, pageSize };
}

/** Every match, oldest first, for export. */
export function* eachPunch(index: PunchIndex, filter: PunchFilter): Generator<IndexedPunch> {
  const match = compileFilter(index, filter);
  if (!match) return;
  const end = index.size;
  for (let row = 0; row < end; row++) if (match(row)) yield index.row(row);
}

/**
 * Entries and exits per slot between boundaries (`bounds[i]` ≤ t < `bounds[i+1]`), e.g. the 24
 * hours of today in the site's zone, computed as real instants so a DST day still has its hours.
 */
export function countPerSlot(
  index: PunchIndex,
  bounds: readonly number[],
): { entries: number[]; exits: number[] } {
  const slots = bounds.length - 1;
  const entries = new Array<number>(slots).fill(0);
  const exits = new Array<number>(slots).fill(0);
  const start = bounds[0]!;
  const end = bounds[slots]!;
  const { atMs, kind } = index;
  for (let row = index.size - 1; row >= 0; row--) {
    const at = atMs[row]!;
    if (at < start || at >= end) continue;
    let slot = 0;
    while (slot < slots - 1 && at >= bounds[slot + 1]!) slot++;
    if (kind[row]! & 1) exits[slot]!++;
    else entries[slot]!++;
  }
  return { entries, exits };
}

/** Unmatched punches (PIN on no roster entry) since `fromMs`, by PIN. */
export function unmatchedSince(index: PunchIndex, fromMs: number): Map<string, number> {
  const byPin = new Map<string, number>();
  const { atMs, worker, pin } = index;
  for (let row = index.size - 1; row >= 0; row--) {
    if (worker[row] !== -1 || atMs[row]! < fromMs) continue;
    const value = index.pins.values[pin[row]!]!;
    byPin.set(value, (byPin.get(value) ?? 0) + 1);
  }
  return byPin;
}
