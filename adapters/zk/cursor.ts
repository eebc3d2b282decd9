import type { PunchCursor } from '../../gateway/model';
import type { ZkAttendance } from './records';

/**
 * The driver's position in a terminal's log: how many records it has read, and the first one.
 * A type alias, not an interface: an object type alias has the implicit index signature that
 * makes it a `PunchCursor` (a record of JSON scalars) as it is, with no cast.
 */
export type ZkCursor = {
  readonly records: number;
  /** `pin|time` of record 0: a different first record means the log was cleared and refilled. */
  readonly anchor: string | null;
};

/** The stored cursor back as a ZK cursor; one this driver did not write is an error. */
export function parseZkCursor(cursor: PunchCursor | null): ZkCursor | null {
  if (!cursor) return null;
  const records = cursor['records'];
  const anchor = cursor['anchor'];
  if (typeof records !== 'number' || records < 0 || (anchor !== null && typeof anchor !== 'string'))
    throw new Error(`not a ZK cursor: ${JSON.stringify(cursor)}`);
  return { records, anchor };
}

export interface CatchUpPlan {
  /** Index of the first record not read before. */
  readonly from: number;
  /** The log shrank or its first record changed: everything is read again from record 0. */
  readonly reset: boolean;
  readonly anchor: string | null;
}

/** Where to start in a log of `count` records whose first is `first`, given the stored cursor. */
export function catchUpPlan(
  previous: ZkCursor | null,
  count: number,
  first: ZkAttendance | undefined,
): CatchUpPlan {
  const anchor = first ? `${first.pin}|${first.time}` : null;
  const reset =
    previous !== null && (count < previous.records || (previous.records > 0 && previous.anchor !== anchor));
  return { from: reset || !previous ? 0 : previous.records, reset, anchor };
}
