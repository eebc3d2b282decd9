/**
 * The journal's per-segment index (`<segment>.jsonl.idx`): start-up picks segments by punch time and
 * by sequence number from it, and reads only those the de-duplication window and the outbox
 * cursors need. Reads are counted through the journal's `onSegmentRead` hook.
 */
import { appendFile, readdir, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Punch, PunchDraft } from '../../gateway/model';
import { DedupIndex } from '../../gateway/pipeline/dedup-index';
import { Housekeeping } from '../../gateway/store/housekeeping';
import { PunchJournal } from '../../gateway/store/journal';
import { JournalLineEncoder, peekSeqAndTime, type SeqAndTime } from '../../gateway/store/journal-line';
import { JournalReader } from '../../gateway/store/journal-reader';
import { emptySegment, forEachLine } from '../../gateway/store/journal-segment';
import { testLogger } from '../support/logger';
import { draft } from '../support/punches';
import { tempDir } from '../support/tmp';

const DAY_MS = 86_400_000;
const NOW = Date.UTC(2026, 10, 22, 12);
const WINDOW_DAYS = 7;

let dir: string;
let cleanup: () => Promise<void>;
let now = NOW;
/** file → bytes read since the last `reads.clear()`. */
const reads = new Map<string, number>();

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir('journal-index-'));
  now = NOW;
  reads.clear();
});
afterEach(() => cleanup());

function journal(segmentMaxBytes: number): PunchJournal {
  return new PunchJournal({
    dir,
    segmentMaxBytes,
    retentionDays: 90,
    clock: { now: () => now },
    logger: testLogger(),
    onSegmentRead: (file, bytes) => reads.set(file, (reads.get(file) ?? 0) + bytes),
  });
}

function punchAt(terminalId: string, pin: string, atMs: number): PunchDraft {
  return draft(`${terminalId}|${pin}|${Math.floor(atMs / 1000)}`, {
    terminalId,
    pin,
    atMs,
    receivedMs: atMs,
  });
}

/** The segment files as written, with the sequence range the file names give them. */
async function segmentFiles(): Promise<Array<{ file: string; firstSeq: number }>> {
  return (await readdir(dir))
    .filter((n) => n.endsWith('.jsonl'))
    .sort()
    .map((n) => ({ file: join(dir, n), firstSeq: Number(n.slice(0, 20)) }));
}

/** Which files hold the given sequence numbers, from the file names alone. */
async function filesHolding(seqs: Iterable<number>): Promise<Set<string>> {
  const files = await segmentFiles();
  const out = new Set<string>();
  for (const seq of seqs) {
    const holder = files.filter((f) => f.firstSeq <= seq).at(-1);
    if (holder) out.add(holder.file);
  }
  return out;
}

async function readAll(j: PunchJournal, after = 0): Promise<Punch[]> {
  const reader = new JournalReader(j, after);
  const out: Punch[] = [];
  for (;;) {
    const batch = await reader.peek(500);
    if (batch.length === 0) return out;
    out.push(...batch);
    reader.advance(batch.at(-1)!.seq);
  }
}

/**
 * 60 days of punches, one segment a day, then a terminal that was away for a month delivering its
 * old punches into a new segment, then today. Every file date is "now", as in a data folder that was
 * copied, restored or filled by a generator: file dates say nothing about the punches inside.
 */
async function writeHistory(): Promise<Punch[]> {
  const j = journal(1024);
  await j.open();
  const written: Punch[] = [];
  for (let day = 60; day >= 1; day--) {
    const dayStart = NOW - day * DAY_MS;
    written.push(
      ...(await j.append(
        Array.from({ length: 10 }, (_, i) => punchAt('gate', String(i), dayStart + i * 60_000)),
      )),
    );
  }
  const away = Array.from({ length: 10 }, (_, i) => punchAt('yard', String(i), NOW - (40 - i) * DAY_MS));
  written.push(...(await j.append(away)));
  written.push(
    ...(await j.append([punchAt('gate', '1', NOW - 3_600_000), punchAt('gate', '2', NOW - 60_000)])),
  );
  await j.close();
  for (const { file } of await segmentFiles()) await utimes(file, new Date(now), new Date(now));
  return written;
}

describe('journal segment index', () => {
  it('start-up reads only the segments the de-duplication window and an outbox cursor need', async () => {
    const written = await writeHistory();
    const files = await segmentFiles();
    expect(files.length).toBeGreaterThan(60);

    const j = journal(1024);
    await j.open();
    // Opening after a clean stop reads no segment but the end of the active one, to check its index.
    const active = files.at(-1)!.file;
    expect([...reads.keys()]).toEqual([active]);
    expect(j.lastSeq).toBe(written.length);

    reads.clear();
    const since = now - WINDOW_DAYS * DAY_MS;
    const dedup = new DedupIndex(WINDOW_DAYS, () => now);
    await dedup.load(j);
    const needed = await filesHolding(written.filter((p) => p.atMs >= since).map((p) => p.seq));
    expect(new Set(reads.keys())).toEqual(needed);
    // A week of a 60-day history: the month-old catch-up segment and everything older stay unread.
    expect(needed.size).toBeLessThanOrEqual(WINDOW_DAYS + 1);
    for (const p of written) expect(dedup.has(p), new Date(p.atMs).toISOString()).toBe(p.atMs >= since);

    // An outbox three days behind reads from the segment holding its cursor on, nothing before it.
    reads.clear();
    const cursor = written.find((p) => p.atMs >= now - 3 * DAY_MS)!.seq - 1;
    const rest = await readAll(j, cursor);
    expect(rest.map((p) => p.seq)).toEqual(written.filter((p) => p.seq > cursor).map((p) => p.seq));
    const fromCursor = new Set(files.filter((f) => f.firstSeq > cursor).map((f) => f.file));
    for (const file of await filesHolding([cursor + 1])) fromCursor.add(file);
    expect(new Set(reads.keys())).toEqual(fromCursor);
    await j.close();
  });

  it('reads an index written by hand in the documented layout, and trusts it over the file date', async () => {
    const lines = [
      punchAt('gate', '7', NOW - 2 * DAY_MS),
      punchAt('gate', '8', NOW - 30 * DAY_MS),
      punchAt('gate', '9', NOW - DAY_MS),
    ].map((p, i) => `${JSON.stringify({ ...p, seq: i + 1 })}\n`);
    const sealed = join(dir, '00000000000000000001.jsonl');
    await writeFile(sealed, lines.join(''));
    const { size } = await stat(sealed);
    // docs/architecture.md, "Store": one JSON line; times are UTC ms, null while the segment is empty.
    await writeFile(
      `${sealed}.idx`,
      `{"v":1,"firstSeq":1,"lastSeq":3,"punches":3,"minAtMs":${NOW - 30 * DAY_MS},"maxAtMs":${NOW - DAY_MS},"bytes":${size}}\n`,
    );
    await writeFile(join(dir, '00000000000000000004.jsonl'), '');
    // Written while the box's clock was 40 days behind (no battery-backed clock, before NTP).
    const longAgo = new Date(NOW - 40 * DAY_MS);
    await utimes(sealed, longAgo, longAgo);

    const j = journal(1 << 20);
    await j.open();
    expect(reads.has(sealed)).toBe(false);
    expect(j.segmentList[0]).toMatchObject({
      firstSeq: 1,
      lastSeq: 3,
      punches: 3,
      minAtMs: NOW - 30 * DAY_MS,
      maxAtMs: NOW - DAY_MS,
      durableBytes: size,
    });
    expect(j.segmentList[1]).toMatchObject({ firstSeq: 4, lastSeq: 3, punches: 0 });
    expect(j.lastSeq).toBe(3);

    const dedup = new DedupIndex(WINDOW_DAYS, () => now);
    await dedup.load(j);
    expect(reads.get(sealed)).toBe(size);
    expect(dedup.has(punchAt('gate', '7', NOW - 2 * DAY_MS))).toBe(true);
    expect(dedup.has(punchAt('gate', '9', NOW - DAY_MS))).toBe(true);
    expect(dedup.has(punchAt('gate', '8', NOW - 30 * DAY_MS))).toBe(false);
    const [next] = await j.append([punchAt('gate', '1', NOW)]);
    expect(next!.seq).toBe(4);
    await j.close();
  });

  it('indexes segments written before indexes existed once, and works with them', async () => {
    // Written as versions without the index wrote them: JSON lines, no `.idx` beside them.
    const written: Punch[] = [];
    let seq = 1;
    for (let segment = 0; segment < 5; segment++) {
      const firstSeq = seq;
      const punches = Array.from({ length: 20 }, (_, i) => ({
        ...punchAt('gate', String(i), NOW - (10 - segment * 2) * DAY_MS + i * 1000),
        seq: seq++,
      }));
      written.push(...punches);
      const text = punches.map((p) => `${JSON.stringify(p)}\n`).join('');
      await writeFile(join(dir, `${String(firstSeq).padStart(20, '0')}.jsonl`), text);
    }
    // What an older version's retention or a cut-short index write can leave behind.
    await writeFile(join(dir, '00000000000000000000.jsonl.idx'), '{"v":1}\n');
    await writeFile(join(dir, '.00000000000000000001.jsonl.idx.4242.0.tmp'), '{"v":1,"fir');
    const files = await segmentFiles();
    const sizes = new Map(
      await Promise.all(files.map(async (f) => [f.file, (await stat(f.file)).size] as const)),
    );

    const first = journal(1 << 20);
    await first.open();
    // Each sealed segment read whole, once; the active one is recovered as always.
    for (const { file } of files) expect(reads.get(file), file).toBe(sizes.get(file));
    const names = await readdir(dir);
    expect(names.filter((n) => n.endsWith('.idx')).sort()).toEqual(
      files.slice(0, -1).map((f) => `${f.file.slice(dir.length + 1)}.idx`),
    );
    expect(names.some((n) => n.endsWith('.tmp'))).toBe(false);
    const index = JSON.parse(await readFile(`${files[1]!.file}.idx`, 'utf8')) as Record<string, number>;
    const second = written.slice(20, 40);
    expect(index).toEqual({
      v: 1,
      firstSeq: 21,
      lastSeq: 40,
      punches: 20,
      minAtMs: Math.min(...second.map((p) => p.atMs)),
      maxAtMs: Math.max(...second.map((p) => p.atMs)),
      bytes: sizes.get(files[1]!.file),
    });
    expect((await readAll(first)).map((p) => p.key)).toEqual(written.map((p) => p.key));
    await first.close();

    reads.clear();
    const again = journal(1 << 20);
    await again.open();
    expect([...reads.keys()]).toEqual([files.at(-1)!.file]);
    const since = now - WINDOW_DAYS * DAY_MS;
    const dedup = new DedupIndex(WINDOW_DAYS, () => now);
    await dedup.load(again);
    for (const p of written) expect(dedup.has(p)).toBe(p.atMs >= since);
    // The two oldest segments (10 and 8 days back) are outside the window and were not read.
    expect(reads.has(files[0]!.file)).toBe(false);
    expect(reads.has(files[1]!.file)).toBe(false);
    expect(again.lastSeq).toBe(100);
    await again.close();
  });

  it('does not trust an index that no longer describes its segment', async () => {
    const j = journal(1 << 20);
    await j.open();
    await j.append(
      Array.from({ length: 1000 }, (_, i) => punchAt('gate', String(i), NOW - DAY_MS + i * 1000)),
    );
    await j.close();
    const { file } = (await segmentFiles())[0]!;
    const { size } = await stat(file);

    // A clean stop: the next start reads the active segment's end only.
    reads.clear();
    let again = journal(1 << 20);
    await again.open();
    expect(reads.get(file)).toBeLessThan(size);
    expect(again.lastSeq).toBe(1000);
    // A crash later on: appended without a clean stop, and a torn line at the end.
    await again.append([punchAt('gate', 'late', NOW)]);
    await appendFile(file, '{"seq":1002,"key":"torn","terminalId":"gate","pin":"9","work');
    // The process that "crashed" is never closed while the test runs, only its file handle at the end.
    const crashed = again;
    reads.clear();
    again = journal(1 << 20);
    await again.open();
    expect(reads.get(file)).toBeGreaterThan(size);
    expect(again.lastSeq).toBe(1001);
    expect(again.segmentList[0]).toMatchObject({ punches: 1001, maxAtMs: NOW, minAtMs: NOW - DAY_MS });
    await again.close();

    // An index whose size matches but whose last punch does not (never written by us): recovered whole.
    const { size: cutSize } = await stat(file);
    await writeFile(
      `${file}.idx`,
      `{"v":1,"firstSeq":1,"lastSeq":700,"punches":700,"minAtMs":1,"maxAtMs":2,"bytes":${cutSize}}\n`,
    );
    reads.clear();
    again = journal(1 << 20);
    await again.open();
    // The end checked first, then the whole of it.
    expect(reads.get(file)).toBeGreaterThanOrEqual(cutSize);
    expect(again.segmentList[0]).toMatchObject({ lastSeq: 1001, punches: 1001, maxAtMs: NOW });
    const [next] = await again.append([punchAt('gate', 'next', NOW + 1000)]);
    expect(next!.seq).toBe(1002);
    await again.close();
    await crashed.close();
  });
});

describe('a rollback to a version without indexes', () => {
  it('re-indexes a segment it appended to after our index was written, and indexes the segment it started', async () => {
    const j = journal(1 << 20);
    await j.open();
    await j.append(
      Array.from({ length: 5 }, (_, i) => punchAt('gate', String(i), NOW - 20 * DAY_MS + i * 1000)),
    );
    await j.close();
    const { file } = (await segmentFiles())[0]!;
    const indexed = await readFile(`${file}.idx`, 'utf8');

    // The older version appends two punches from yesterday, rotates, and writes one more, knowing no index.
    const older = (seq: number, pin: string) =>
      `${JSON.stringify({ ...punchAt('gate', pin, NOW - DAY_MS + seq * 1000), seq })}\n`;
    await appendFile(file, older(6, 'a') + older(7, 'b'));
    await writeFile(join(dir, '00000000000000000008.jsonl'), older(8, 'c'));
    expect(await readFile(`${file}.idx`, 'utf8')).toBe(indexed);

    const again = journal(1 << 20);
    await again.open();
    expect(again.segmentList[0]).toMatchObject({ lastSeq: 7, punches: 7, maxAtMs: NOW - DAY_MS + 7000 });
    expect(again.lastSeq).toBe(8);
    const dedup = new DedupIndex(WINDOW_DAYS, () => now);
    await dedup.load(again);
    expect(dedup.has(punchAt('gate', 'a', NOW - DAY_MS + 6000))).toBe(true);
    expect(dedup.has(punchAt('gate', 'b', NOW - DAY_MS + 7000))).toBe(true);
    expect(dedup.has(punchAt('gate', 'c', NOW - DAY_MS + 8000))).toBe(true);
    expect(dedup.has(punchAt('gate', '0', NOW - 20 * DAY_MS))).toBe(false);
    await again.close();
  });
});

describe('retention with a query store', () => {
  it('deletes a segment and its index only once the query store holds its punches too', async () => {
    const j = journal(1024);
    await j.open();
    for (let day = 10; day >= 1; day--)
      await j.append(
        Array.from({ length: 10 }, (_, i) => punchAt('gate', String(i), NOW - day * DAY_MS + i)),
      );
    const oldDate = new Date(NOW - 100 * DAY_MS);
    for (const s of j.segmentList) await utimes(s.file, oldDate, oldDate);
    const segments = [...j.segmentList];
    expect(segments.length).toBeGreaterThan(5);
    const storeHolds = segments[3]!.lastSeq;
    const dedup = new DedupIndex(WINDOW_DAYS, () => now);

    // Every upstream passed everything; the store is behind: only what it holds may go.
    const held = new Housekeeping({
      journal: j,
      dedup,
      acknowledged: () => j.lastSeq,
      queryStoreHolds: () => storeHolds,
      logger: testLogger(),
    });
    await held.start();
    held.stop();
    expect(j.segmentList[0]!.firstSeq).toBe(segments[4]!.firstSeq);
    const names = await readdir(dir);
    for (const gone of segments.slice(0, 4)) {
      expect(names).not.toContain(gone.file.slice(dir.length + 1));
      expect(names).not.toContain(`${gone.file.slice(dir.length + 1)}.idx`);
    }
    expect(names).toContain(`${segments[4]!.file.slice(dir.length + 1)}.idx`);

    // Without a query store (the default), every upstream's cursor alone decides, as before.
    const plain = new Housekeeping({
      journal: j,
      dedup,
      acknowledged: () => j.lastSeq,
      logger: testLogger(),
    });
    await plain.start();
    plain.stop();
    expect(j.segmentList.map((s) => s.firstSeq)).toEqual([segments.at(-1)!.firstSeq]);
    await j.close();
  });
});

describe("a line's number and time, read from its bytes", () => {
  const peek = (text: string, from = 0): SeqAndTime | null => {
    const bytes = Buffer.from(text, 'utf8');
    const out = { seq: 0, atMs: 0 };
    const end = bytes.indexOf(0x0a, from);
    return peekSeqAndTime(bytes, from, end < 0 ? bytes.length : end, out) ? out : null;
  };

  it('reads the layout the journal writes, and declines anything else for a full parse', () => {
    // A line as docs/architecture.md shows it, typed out.
    const line =
      '{"key":"gate|7|1795000000","terminalId":"gate","pin":"7","workerId":null,"direction":"in","method":"fp","atMs":1795000000000,"source":"poll","flags":[],"receivedMs":1795000000123,"seq":42}';
    expect(peek(line)).toEqual({ seq: 42, atMs: 1_795_000_000_000 });
    // The second of two lines, after one without a time: nothing is taken from a neighbour.
    expect(peek(`{"key":"x","seq":1}\n${line}\n`)).toBeNull();
    expect(peek(`{"key":"x","seq":1}\n${line}\n`, 20)).toEqual({ seq: 42, atMs: 1_795_000_000_000 });
    for (const other of [
      line.replace('"seq":42}', '"seq":42,"extra":1}'), // another key order
      line.replace('"atMs":1795000000000', '"atMs":-5'),
      line.replace('"atMs":1795000000000', '"atMs":1795000000000.5'),
      line.replace('"atMs":1795000000000', '"atMs":"1795000000000"'),
      line.replace('"seq":42', '"seq":0'),
      line.replace('"seq":42', '"seq":123456789012345678901'),
      line.slice(0, -1), // torn
      '\u0000'.repeat(line.length),
    ])
      expect(peek(other), other).toBeNull();
  });

  it('agrees with the full parse on every line the encoder writes', async () => {
    const { parseJournalLine } = await import('../../gateway/store/journal-line');
    const encoder = new JournalLineEncoder(64);
    const text = fc.string({ unit: 'binary', maxLength: 20 });
    fc.assert(
      fc.property(
        fc.record({
          key: text,
          terminalId: fc.oneof(text, fc.constant('"atMs":1,')),
          pin: fc.oneof(text, fc.constant('"atMs":7,"seq":9}')),
          workerId: fc.option(text, { nil: null }),
          direction: fc.constantFrom('in' as const, 'out' as const),
          method: fc.constantFrom('fp' as const, 'fa' as const, 'card' as const, 'pwd' as const),
          atMs: fc.oneof(fc.integer({ min: 0, max: 4_102_444_800_000 }), fc.double({ noNaN: true })),
          source: fc.constantFrom('realtime' as const, 'poll' as const, 'push' as const),
          flags: fc.subarray(['unmatched', 'clock_suspect'] as const),
          receivedMs: fc.integer({ min: 0, max: 4_102_444_800_000 }),
        }),
        fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
        (draft, seq) => {
          encoder.clear();
          encoder.write(draft, seq);
          const bytes = Buffer.from(encoder.bytes);
          const out = { seq: 0, atMs: 0 };
          const parsed = parseJournalLine(bytes.toString('utf8').trimEnd());
          if (peekSeqAndTime(bytes, 0, bytes.length - 1, out)) {
            expect(parsed).not.toBeNull();
            expect(out).toEqual({ seq: parsed!.seq, atMs: parsed!.atMs });
          } else {
            // Declined only for times the fast path leaves to the parser.
            expect(Number.isInteger(draft.atMs) && draft.atMs >= 0 && draft.atMs < 1e15).toBe(false);
          }
        },
      ),
      { numRuns: 1000, seed: 11 },
    );
  });
});

describe('reading a segment line by line in chunks', () => {
  it('gives every line whole across chunk edges, steps over one longer than the buffer, and keeps a tail without newline', async () => {
    const lines = Array.from({ length: 40 }, (_, i) => `line ${i} ${'é'.repeat(i % 13)}`);
    lines.splice(17, 0, 'x'.repeat(250));
    const text = `${lines.join('\n')}\n{"torn":`;
    const file = join(dir, '00000000000000000001.jsonl');
    await writeFile(file, text);
    const segment = emptySegment(1, file);
    segment.durableBytes = Buffer.byteLength(text);
    const seen: string[] = [];
    const bytes = await forEachLine(
      segment,
      (buffer, start, end) => seen.push(buffer.toString('utf8', start, end)),
      64,
    );
    expect(bytes).toBe(segment.durableBytes);
    const long = seen.findIndex((line) => line.startsWith('xxx'));
    // The long line comes out in buffer-sized pieces, none of them a punch; everything else is whole.
    expect(seen.slice(0, long)).toEqual(lines.slice(0, 17));
    expect(seen.filter((line) => line.startsWith('x')).join('')).toBe('x'.repeat(250));
    const after = lines.slice(18);
    expect(seen.slice(-after.length - 1)).toEqual([...after, '{"torn":']);
    const gone = emptySegment(99, join(dir, 'missing.jsonl'));
    gone.durableBytes = 10;
    expect(await forEachLine(gone, () => undefined)).toBe(0);
  });
});
