import type { PunchCursor } from '../../gateway/model';

/**
 * The driver's position in a device's event ring: the next sequence number to read, plus a fingerprint
 * of the last event read, which lets the driver notice a reset the counter alone would hide.
 */
export interface ModbusCursor {
  readonly next: number;
  readonly last: { readonly seq: number; readonly pin: number; readonly timeSec: number } | null;
}

const isU32 = (v: unknown): v is number =>
  typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffff_ffff;

export function cursorOf(c: ModbusCursor): PunchCursor {
  return {
    next: c.next,
    lastSeq: c.last?.seq ?? null,
    lastPin: c.last?.pin ?? null,
    lastTime: c.last?.timeSec ?? null,
  };
}

/** null for no cursor and for one this driver did not write. */
export function parseCursor(cursor: PunchCursor | null): ModbusCursor | null {
  if (!cursor || !isU32(cursor['next'])) return null;
  const { lastSeq, lastPin, lastTime } = cursor;
  const last =
    isU32(lastSeq) && isU32(lastPin) && isU32(lastTime)
      ? { seq: lastSeq, pin: lastPin, timeSec: lastTime }
      : null;
  return { next: cursor['next'], last };
}
