import { appendFile, readdir, readFile, stat, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Punch } from '../../gateway/model';
import { PunchJournal } from '../../gateway/store/journal';
import { JournalReader } from '../../gateway/store/journal-reader';
import { testLogger } from '../support/logger';
import { drafts } from '../support/punches';
import { tempDir } from '../support/tmp';

let dir: string;
let cleanup: () => Promise<void>;
let now = Date.now();
const clock = { now: () => now };

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir('journal-'));
  now = Date.now();
});
afterEach(() => cleanup());

function journal(segmentMaxBytes = 1 << 20): PunchJournal {
  return new PunchJournal({ dir, segmentMaxBytes, retentionDays: 90, clock, logger: testLogger() });
}

async function readFrom(j: PunchJournal, after: number): Promise<Punch[]> {
  const reader = new JournalReader(j, after);
  const out: Punch[] = [];
  for (;;) {
    const batch = await reader.peek(37);
    if (batch.length === 0) return out;
    out.push(...batch);
    reader.advance(batch.at(-1)!.seq);
  }
}

describe('punch journal', () => {
  it('assigns dense sequence numbers, survives reopen and reads from any position across segments', async () => {
    const j = journal(1024);
    await j.open();
    for (let i = 0; i < 5; i++) await j.append(drafts(`a${i}`, 10));
    await Promise.all([j.append(drafts('b', 30)), j.append(drafts('c', 20))]);
    expect(j.lastSeq).toBe(100);
    expect(j.segmentList.length).toBeGreaterThan(3);
    await j.close();

    const again = journal(1024);
    await again.open();
    expect(again.lastSeq).toBe(100);
    const all = await readFrom(again, 0);
    expect(all.map((p) => p.seq)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    expect(all.filter((p) => p.key.startsWith('c-'))).toHaveLength(20);
    const tail = await readFrom(again, 61);
    expect(tail[0]!.seq).toBe(62);
    expect(tail).toHaveLength(39);
    const [next] = await again.append(drafts('d', 1));
    expect(next!.seq).toBe(101);
    await again.close();
  });

  it('cuts a torn last line on open instead of parsing it', async () => {
    const j = journal();
    await j.open();
    await j.append(drafts('a', 3));
    await j.close();
    const [segment] = await readdir(dir);
    await appendFile(join(dir, segment!), '{"seq":4,"key":"torn","terminalId":"t1","pin":"9","work');
    const again = journal();
    await again.open();
    expect(again.lastSeq).toBe(3);
    expect(again.corruptLines).toBe(0);
    const text = await readFile(join(dir, segment!), 'utf8');
    expect(text.endsWith('\n')).toBe(true);
    expect(text).not.toContain('torn');
    const [fourth] = await again.append(drafts('b', 1));
    expect(fourth!.seq).toBe(4);
    expect((await readFrom(again, 0)).map((p) => p.key)).toEqual(['a-0', 'a-1', 'a-2', 'b-0']);
    await again.close();
  });

  it('skips and counts a corrupt line in the middle without losing the punches after it', async () => {
    const j = journal();
    await j.open();
    await j.append(drafts('a', 2));
    await j.close();
    const [segment] = await readdir(dir);
    await appendFile(join(dir, segment!), '\u0000\u0000not a punch\n');
    const again = journal();
    await again.open();
    await again.append(drafts('b', 2));
    const all = await readFrom(again, 0);
    expect(all.map((p) => p.key)).toEqual(['a-0', 'a-1', 'b-0', 'b-1']);
    expect(again.corruptLines).toBeGreaterThan(0);
    await again.close();
  });

  it('writes files owner-only', async () => {
    const j = journal();
    await j.open();
    await j.append(drafts('a', 1));
    const [segment] = await readdir(dir);
    expect((await stat(join(dir, segment!))).mode & 0o777).toBe(0o600);
    await j.close();
  });

  it('retires a segment only when every upstream passed it and retention ran out', async () => {
    const j = journal(1024);
    await j.open();
    for (let i = 0; i < 10; i++) await j.append(drafts(`r${i}`, 5));
    const before = j.segmentList.length;
    expect(before).toBeGreaterThan(2);
    // Passed by every upstream but still young: kept.
    expect(await j.prune(j.lastSeq)).toBe(0);
    now += 91 * 86_400_000;
    // Old enough, but the slowest upstream is still at 3: only segments wholly before it go (none).
    expect(await j.prune(3)).toBe(0);
    for (const s of j.segmentList)
      await utimes(s.file, new Date(now - 92 * 86_400_000), new Date(now - 92 * 86_400_000));
    const second = j.segmentList[1]!;
    const removed = await j.prune(second.firstSeq + 1);
    expect(removed).toBe(1);
    expect(j.segmentList[0]!.firstSeq).toBe(second.firstSeq);
    // The active segment always stays.
    await j.prune(j.lastSeq);
    expect(j.segmentList.length).toBe(1);
    const rest = await readFrom(j, j.segmentList[0]!.firstSeq - 1);
    expect(rest.at(-1)!.seq).toBe(j.lastSeq);
    await j.close();
  });
});

describe('journal line format', () => {
  it('writes a line whose flag list alone outgrows the buffer, and the receive time shared with the line before', async () => {
    const { JournalLineEncoder } = await import('../../gateway/store/journal-line');
    const encoder = new JournalLineEncoder(16);
    const draft = {
      key: 'gate|7|1795000000',
      terminalId: 'gate',
      pin: '7',
      workerId: null,
      direction: 'in' as const,
      method: 'fp' as const,
      atMs: 1_795_000_000_000,
      source: 'poll' as const,
      flags: ['x'.repeat(5000), 'é"\\'] as never,
      receivedMs: 1_795_000_000_123,
    };
    // Not the pipeline's closed sets: a long source text must fit too.
    const odd = { ...draft, flags: [], source: 'y'.repeat(3000) as never };
    encoder.write(draft, 1);
    encoder.write(odd, 2);
    const expected = `${JSON.stringify({ ...draft, seq: 1 })}\n${JSON.stringify({ ...odd, seq: 2 })}\n`;
    expect(encoder.bytes.toString('utf8')).toBe(expected);
    const fresh = new JournalLineEncoder(16);
    fresh.write(odd, 3);
    expect(fresh.bytes.toString('utf8')).toBe(`${JSON.stringify({ ...odd, seq: 3 })}\n`);
  });

  it('is exactly the JSON of the punch, whatever the strings hold', async () => {
    const { JournalLineEncoder, parseJournalLine } = await import('../../gateway/store/journal-line');
    // One frozen list used again and again, as the pipeline shares them: its bytes are kept.
    const SHARED_FLAGS = Object.freeze(['unmatched', 'clock_suspect'] as const);
    // Small, so that growing the buffer is exercised too.
    const encoder = new JournalLineEncoder(16);
    const fc = (await import('fast-check')).default;
    const text = fc.string({ unit: 'binary', maxLength: 30 });
    fc.assert(
      fc.property(
        fc.record({
          key: text,
          terminalId: text,
          pin: text,
          workerId: fc.option(text, { nil: null }),
          direction: fc.constantFrom('in' as const, 'out' as const),
          method: fc.constantFrom('fp' as const, 'fa' as const, 'card' as const, 'pwd' as const),
          // Whole seconds (every wall-clock terminal) take a shortcut of their own.
          atMs: fc.oneof(
            fc.integer({ min: 0, max: 4_102_444_800_000 }),
            fc.integer({ min: 0, max: 4_102_444_800 }).map((s) => s * 1000),
          ),
          source: fc.constantFrom('realtime' as const, 'poll' as const, 'push' as const),
          // Frozen lists are shared by the pipeline and their text is kept; both kinds are checked.
          flags: fc
            .subarray(['unmatched', 'removed_worker', 'unknown_verify', 'clock_suspect'] as const)
            .chain((list) => fc.constantFrom(list, Object.freeze([...list]), SHARED_FLAGS)),
          receivedMs: fc.integer({ min: 0, max: 4_102_444_800_000 }),
        }),
        fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
        (draft, seq) => {
          encoder.clear();
          encoder.write(draft, seq);
          encoder.write(draft, 1);
          const expected = (n: number) => `${JSON.stringify({ ...draft, seq: n })}\n`;
          const lines = encoder.bytes.toString('utf8');
          expect(lines).toBe(expected(seq) + expected(1));
          expect(encoder.bytes.equals(Buffer.from(expected(seq) + expected(1), 'utf8'))).toBe(true);
          expect(parseJournalLine(expected(seq))).toEqual({ ...draft, seq });
        },
      ),
      { numRuns: 2000, seed: 42 },
    );
  });
});
