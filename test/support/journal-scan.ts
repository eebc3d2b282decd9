/**
 * The plain reading of a journal, which the tests hold the product's faster readers to (the
 * reader's prefetch and decode-on-demand, the query store's catch-up): every line through
 * `parseJournalLine`, one segment read at a time. A test's tool, not the gateway's.
 */
import type { Punch } from '../../gateway/model';
import type { PunchJournal } from '../../gateway/store/journal';
import { parseJournalLine } from '../../gateway/store/journal-line';
import { readLineBytes, type Segment } from '../../gateway/store/journal-segment';

/** Bytes read at once. */
const CHUNK_BYTES = 256 * 1024;

/** Visits every durable punch in segments accepted by `include`, oldest first. */
export async function scanJournal(
  journal: PunchJournal,
  visit: (punch: Punch) => void,
  include: (segment: Segment) => boolean | Promise<boolean> = () => true,
): Promise<void> {
  for (const segment of [...journal.segmentList]) {
    if (!(await include(segment))) continue;
    let offset = 0;
    while (offset < segment.durableBytes) {
      const read = await readLines(segment, offset);
      if (!read || read.consumed === 0) break;
      offset += read.consumed;
      journal.noteRead(segment.file, read.consumed);
      for (const line of read.lines) {
        const punch = parseJournalLine(line);
        if (punch) visit(punch);
        else journal.noteCorrupt(segment.file, line);
      }
    }
  }
}

/** Reads whole lines from `offset` up to the segment's durable end; null when the segment is gone. */
async function readLines(
  segment: Segment,
  offset: number,
  chunkBytes = CHUNK_BYTES,
): Promise<{ lines: string[]; consumed: number } | null> {
  const chunk = Buffer.alloc(Math.max(0, Math.min(chunkBytes, segment.durableBytes - offset)));
  const read = await readLineBytes(segment, offset, chunk);
  if (!read) return null;
  if (read.consumed > 0 && read.lines === 0) {
    // A single line longer than the chunk cannot be a punch; step over it rather than stall.
    return { lines: [chunk.toString('utf8', 0, Math.min(read.consumed, 200))], consumed: read.consumed };
  }
  const lines = chunk.toString('utf8', 0, read.lines).split('\n');
  lines.pop();
  return { lines, consumed: read.consumed };
}
