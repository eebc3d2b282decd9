import { open, readFile } from 'node:fs/promises';
import { writeFileAtomic } from './durable-file';

/**
 * One segment file and what it holds. `durableBytes` always ends on a line boundary, so readers
 * never see half a line. The rest is the segment's index: known without reading the segment (from
 * its `.idx` file once sealed), so start-up picks segments by punch time and by sequence number.
 */
export interface Segment {
  readonly firstSeq: number;
  readonly file: string;
  durableBytes: number;
  /** The highest sequence number in it; `firstSeq - 1` while it holds none. */
  lastSeq: number;
  punches: number;
  /** The earliest and latest punch time (UTC ms) in it; +Infinity and -Infinity while it holds none. */
  minAtMs: number;
  maxAtMs: number;
}

export const SEGMENT_NAME = /^(\d{20})\.jsonl$/;
/** The index beside a segment: `<segment file>.idx`. */
export const INDEX_SUFFIX = '.idx';
const INDEX_VERSION = 1;

export function segmentFileName(firstSeq: number): string {
  return `${String(firstSeq).padStart(20, '0')}.jsonl`;
}

export function indexFileOf(segmentFile: string): string {
  return segmentFile + INDEX_SUFFIX;
}

/** A segment known to hold nothing yet. */
export function emptySegment(firstSeq: number, file: string): Segment {
  return {
    firstSeq,
    file,
    durableBytes: 0,
    lastSeq: firstSeq - 1,
    punches: 0,
    minAtMs: Number.POSITIVE_INFINITY,
    maxAtMs: Number.NEGATIVE_INFINITY,
  };
}

/** Counts one stored punch into the segment's index (its bytes are counted by the writer). */
export function notePunch(segment: Segment, seq: number, atMs: number): void {
  if (seq > segment.lastSeq) segment.lastSeq = seq;
  segment.punches++;
  if (atMs < segment.minAtMs) segment.minAtMs = atMs;
  if (atMs > segment.maxAtMs) segment.maxAtMs = atMs;
}

/**
 * The index as one JSON line. `bytes` is the segment's size when the index was written: a segment
 * of any other size has changed since (appended to by an older version, cut after a crash), and its
 * index is not trusted. An empty segment's times are null (JSON has no infinities).
 */
export function encodeSegmentIndex(segment: Segment): string {
  const { firstSeq, lastSeq, punches, minAtMs, maxAtMs, durableBytes } = segment;
  const time = (ms: number) => (Number.isFinite(ms) ? ms : null);
  return `${JSON.stringify({
    v: INDEX_VERSION,
    firstSeq,
    lastSeq,
    punches,
    minAtMs: time(minAtMs),
    maxAtMs: time(maxAtMs),
    bytes: durableBytes,
  })}\n`;
}

/** Fills `segment` from its index text; false (and `segment` untouched) when the index does not describe it. */
export function applySegmentIndex(segment: Segment, text: string, sizeOnDisk: number): boolean {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return false;
  }
  if (typeof value !== 'object' || value === null) return false;
  const index = value as Record<string, unknown>;
  const count = index.punches;
  const lastSeq = index.lastSeq;
  if (
    index.v !== INDEX_VERSION ||
    index.firstSeq !== segment.firstSeq ||
    index.bytes !== sizeOnDisk ||
    !Number.isSafeInteger(count) ||
    (count as number) < 0 ||
    !Number.isSafeInteger(lastSeq) ||
    (lastSeq as number) < segment.firstSeq - 1 ||
    // Sequence numbers in a segment are dense: its count and its last number must agree.
    (lastSeq as number) - segment.firstSeq + 1 < (count as number)
  ) {
    return false;
  }
  const empty = count === 0;
  const times = [index.minAtMs, index.maxAtMs];
  if (empty ? times.some((t) => t !== null) : times.some((t) => !Number.isFinite(t))) return false;
  if (!empty && (index.minAtMs as number) > (index.maxAtMs as number)) return false;
  segment.durableBytes = sizeOnDisk;
  segment.lastSeq = lastSeq as number;
  segment.punches = count as number;
  segment.minAtMs = empty ? Number.POSITIVE_INFINITY : (index.minAtMs as number);
  segment.maxAtMs = empty ? Number.NEGATIVE_INFINITY : (index.maxAtMs as number);
  return true;
}

/** Reads a segment's index; false when there is none or it does not describe the segment as it is. */
export async function readSegmentIndex(segment: Segment, sizeOnDisk: number): Promise<boolean> {
  let text: string;
  try {
    text = await readFile(indexFileOf(segment.file), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
  return applySegmentIndex(segment, text, sizeOnDisk);
}

/** Writes a segment's index atomically: a crash leaves the old one, or none, never half of one. */
export function writeSegmentIndex(segment: Segment): Promise<void> {
  return writeFileAtomic(indexFileOf(segment.file), encodeSegmentIndex(segment));
}

/**
 * Calls `visit(bytes, start, end)` for each line of the segment up to its durable end, `end` at the
 * line's newline, reading `chunkBytes` at a time into one buffer: no string per line. Bytes after
 * the last newline, and a line longer than the buffer, are visited as they are (not a punch).
 * Returns the bytes read; 0 when the segment is gone.
 */
export async function forEachLine(
  segment: Segment,
  visit: (bytes: Buffer, start: number, end: number) => void,
  chunkBytes = 1024 * 1024,
): Promise<number> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(segment.file, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw error;
  }
  try {
    const buffer = Buffer.alloc(chunkBytes);
    let filled = 0;
    let offset = 0;
    while (offset < segment.durableBytes) {
      const want = Math.min(buffer.length - filled, segment.durableBytes - offset);
      const { bytesRead } = await handle.read(buffer, filled, want, offset);
      if (bytesRead === 0) break;
      offset += bytesRead;
      filled += bytesRead;
      const view = buffer.subarray(0, filled);
      let start = 0;
      for (let newline = view.indexOf(0x0a, start); newline >= 0; newline = view.indexOf(0x0a, start)) {
        if (newline > start) visit(buffer, start, newline);
        start = newline + 1;
      }
      if (start === 0 && filled === buffer.length) {
        // A line longer than the buffer cannot be a punch; step over it rather than stall.
        visit(buffer, 0, filled);
        start = filled;
      }
      buffer.copy(buffer, 0, start, filled);
      filled -= start;
    }
    if (filled > 0) visit(buffer, 0, filled);
    return offset;
  } finally {
    await handle.close();
  }
}

/**
 * Reads from `offset` up to the segment's durable end into `into` (at most its length): `lines` is how
 * many bytes of it are whole lines, each ending with its newline, and `consumed` how far the reader
 * moves on. A single line longer than `into` cannot be a punch: it is stepped over (`lines` 0,
 * `consumed` what was read). Null when the segment is gone.
 */
export async function readLineBytes(
  segment: Segment,
  offset: number,
  into: Buffer,
): Promise<{ lines: number; consumed: number } | null> {
  const length = Math.min(into.length, segment.durableBytes - offset);
  if (length <= 0) return { lines: 0, consumed: 0 };
  const bytesRead = await readAt(segment, into, length, offset);
  if (bytesRead === null) return null;
  // A file shorter than its durable size (cut by hand): nothing to read, rather than stale bytes.
  if (bytesRead === 0) return { lines: 0, consumed: 0 };
  const lines = into.lastIndexOf(0x0a, bytesRead - 1) + 1;
  return { lines, consumed: lines === 0 ? bytesRead : lines };
}

/** Reads `length` bytes at `offset` into `into`: the bytes read, or null when the segment is gone (retention). */
async function readAt(
  segment: Segment,
  into: Buffer,
  length: number,
  offset: number,
): Promise<number | null> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(segment.file, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  try {
    return (await handle.read(into, 0, length, offset)).bytesRead;
  } finally {
    await handle.close();
  }
}
