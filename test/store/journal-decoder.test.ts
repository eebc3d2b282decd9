import { appendFile } from 'node:fs/promises';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Punch, PunchDraft } from '../../gateway/model';
import { PunchJournal } from '../../gateway/store/journal';
import { JournalLineDecoder, JournalLineEncoder, parseJournalLine } from '../../gateway/store/journal-line';
import { JournalReader } from '../../gateway/store/journal-reader';
import { scanJournal } from '../support/journal-scan';
import { testLogger } from '../support/logger';
import { draft } from '../support/punches';
import { tempDir } from '../support/tmp';

/** What the reader's decoder makes of one line, given as the bytes on disk (no newline). */
function decode(line: string | Buffer, decoder = new JournalLineDecoder()): Punch | null {
  const bytes = typeof line === 'string' ? Buffer.from(line, 'utf8') : line;
  // The line inside a larger buffer, a newline after it, as the reader hands it over.
  const chunk = Buffer.concat([Buffer.from('{"seq":1}\n'), bytes, Buffer.from('\n{"seq":2}')]);
  return decoder.decode(chunk, 10, 10 + bytes.length);
}

/** The decoder and the JSON path agree: the same punch (same keys in the same order) or both null. */
function expectSameAsJson(bytes: Buffer, decoder?: JournalLineDecoder): void {
  const expected = parseJournalLine(bytes.toString('utf8'));
  const actual = decode(bytes, decoder);
  expect(actual).toStrictEqual(expected);
  if (actual && expected) expect(Object.keys(actual)).toEqual(Object.keys(expected));
}

describe('journal lines read from their bytes', () => {
  it('reads hand-written lines in the layout JournalLineEncoder writes', () => {
    // Written out by hand from the layout (gateway/store/journal-line.ts), not produced by the encoder.
    const plain =
      '{"key":"zk-east|12|1772323205","terminalId":"zk-east","pin":"12","workerId":"w-12","direction":"in",' +
      '"method":"fp","atMs":1772323205000,"source":"realtime","flags":[],"receivedMs":1772323205412,"seq":1}';
    expect(decode(plain)).toStrictEqual({
      key: 'zk-east|12|1772323205',
      terminalId: 'zk-east',
      pin: '12',
      workerId: 'w-12',
      direction: 'in',
      method: 'fp',
      atMs: 1_772_323_205_000,
      source: 'realtime',
      flags: [],
      receivedMs: 1_772_323_205_412,
      seq: 1,
    });
    const flagged =
      '{"key":"gate|0|0","terminalId":"gate","pin":"0","workerId":null,"direction":"out","method":"card",' +
      '"atMs":0,"source":"push","flags":["unmatched","clock_suspect"],"receivedMs":999,"seq":900719925474099}';
    expect(decode(flagged)).toStrictEqual({
      key: 'gate|0|0',
      terminalId: 'gate',
      pin: '0',
      workerId: null,
      direction: 'out',
      method: 'card',
      atMs: 0,
      source: 'push',
      flags: ['unmatched', 'clock_suspect'],
      receivedMs: 999,
      seq: 900_719_925_474_099,
    });
    // A PIN in Chinese and an escaped quote take the JSON path, with the same result.
    const chinese =
      '{"key":"adms|\u5f20\u4e09|1","terminalId":"adms","pin":"\u5f20\u4e09","workerId":"w\\"q","direction":"in",' +
      '"method":"pwd","atMs":1000,"source":"poll","flags":[],"receivedMs":1000,"seq":7}';
    expect(decode(chinese)).toMatchObject({ pin: '张三', key: 'adms|张三|1', workerId: 'w"q', seq: 7 });
  });

  it('gives what the JSON path gives for every line off that layout, a punch or null', () => {
    const good =
      '{"key":"k","terminalId":"t1","pin":"1","workerId":"w1","direction":"in","method":"fa","atMs":1000,' +
      '"source":"poll","flags":[],"receivedMs":1000,"seq":5}';
    const variants = [
      good,
      good.replace('{"key":"k","terminalId":"t1"', '{"terminalId":"t1","key":"k"'), // another key order
      good.replace('"pin":"1"', '"pin": "1"'), // a space
      good.replace('"seq":5', '"seq":0'),
      good.replace('"seq":5', '"seq":-5'),
      good.replace('"seq":5', '"seq":05'),
      good.replace('"seq":5', '"seq":5.5'),
      good.replace('"seq":5', '"seq":9007199254740993'), // past the safe integers: JSON refuses it
      good.replace('"seq":5', '"seq":1234567890123456'), // 16 digits, still exact
      good.replace('"atMs":1000', '"atMs":1e3'),
      good.replace('"atMs":1000', '"atMs":-1000'),
      good.replace('"atMs":1000', '"atMs":1000.25'),
      good.replace('"direction":"in"', '"direction":"sideways"'),
      good.replace('"method":"fa"', '"method":"iris"'),
      good.replace('"source":"poll"', '"source":"carrier-pigeon"'),
      good.replace('"source":"poll"', '"source":7'),
      good.replace('"flags":[]', '"flags":[1]'),
      good.replace('"flags":[]', '"flags":["a" ]'),
      good.replace('"flags":[]', '"flags":"none"'),
      good.replace('"receivedMs":1000', '"receivedMs":"soon"'),
      good.replace('"workerId":"w1"', '"workerId":7'),
      good.replace('"pin":"1"', '"pin":"\\u0031"'),
      good.replace('"pin":"1"', '"pin":"1\t"'),
      good.replace('}', ',"extra":1}'),
      `${good} `,
      `${good}\r`,
      good.slice(0, -1),
      good.slice(0, 40),
      '',
      'null',
      '[]',
      '{}',
    ];
    const decoder = new JournalLineDecoder();
    for (const line of variants) expectSameAsJson(Buffer.from(line, 'utf8'), decoder);
    // Not a punch at all, not even to the JSON path.
    expect(decode(good.replace('"seq":5', '"seq":0'))).toBeNull();
    expect(decode(`${good}\r`)).toMatchObject({ seq: 5 });
  });

  it('agrees with the JSON path on every line the encoder writes, and on any damage to one', () => {
    const text = fc.string({ unit: 'binary', maxLength: 12 });
    const drafts: fc.Arbitrary<PunchDraft> = fc.record({
      key: text,
      terminalId: fc.oneof(fc.constantFrom('t1', 'zk-east', 't2'), text),
      pin: text,
      workerId: fc.option(text, { nil: null }),
      direction: fc.constantFrom('in' as const, 'out' as const),
      method: fc.constantFrom('fp' as const, 'fa' as const, 'card' as const, 'pwd' as const),
      atMs: fc.integer({ min: 0, max: 4_102_444_800_000 }),
      source: fc.constantFrom('realtime' as const, 'poll' as const, 'push' as const),
      flags: fc.subarray(['unmatched', 'removed_worker', 'unknown_verify', 'clock_suspect'] as const),
      receivedMs: fc.integer({ min: 0, max: 4_102_444_800_000 }),
    });
    // Bytes that mean something to JSON or to the decoder, and a few that do not.
    const byte = fc.constantFrom(
      0x22,
      0x5c,
      0x2c,
      0x3a,
      0x7b,
      0x7d,
      0x5b,
      0x5d,
      0x20,
      0x30,
      0x31,
      0x39,
      0x2d,
      0x2e,
      0x65,
      0x6e,
      0x0a,
      0x00,
      0x7f,
      0x80,
      0xe5,
      0xff,
    );
    const damage = fc.array(
      fc.record({ kind: fc.constantFrom('set', 'cut', 'insert'), at: fc.nat(), byte }),
      { maxLength: 3 },
    );
    const encoder = new JournalLineEncoder(64);
    // One decoder for every case: what it remembers between lines (the last terminal) must never leak.
    const decoder = new JournalLineDecoder();
    fc.assert(
      fc.property(drafts, fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), damage, (d, seq, edits) => {
        encoder.clear();
        encoder.write(d, seq);
        const line = Buffer.from(encoder.bytes.subarray(0, encoder.bytes.length - 1));
        expect(decode(line, decoder)).toStrictEqual({ ...d, seq });
        let bytes = line;
        for (const edit of edits) {
          const at = edit.at % (bytes.length + 1);
          if (edit.kind === 'set' && at < bytes.length) bytes[at] = edit.byte;
          else if (edit.kind === 'cut')
            bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + 1)]);
          else bytes = Buffer.concat([bytes.subarray(0, at), Buffer.from([edit.byte]), bytes.subarray(at)]);
        }
        // A newline put in splits the line on disk: the reader never hands one over.
        if (!bytes.includes(0x0a)) expectSameAsJson(bytes, decoder);
      }),
      { numRuns: 5000, seed: 20261202 },
    );
  });
});

describe('journal reader', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir('journal-reader-'));
  });
  afterEach(() => cleanup());

  function journal(): PunchJournal {
    return new PunchJournal({
      dir,
      // Segments larger than one read (256 KiB), so reads end inside segments and at their ends.
      segmentMaxBytes: 600 * 1024,
      retentionDays: 90,
      clock: { now: () => Date.now() },
      logger: testLogger(),
    });
  }

  /** Punches from two terminals in runs, some off the decoder's path (a Chinese PIN, a quote), some flagged. */
  function mixed(from: number, count: number): PunchDraft[] {
    return Array.from({ length: count }, (_, i) => {
      const n = from + i;
      return draft(`k|${n}`, {
        terminalId: Math.floor(n / 700) % 2 === 0 ? 'zk-east' : 'zk-west',
        pin: n % 97 === 0 ? `工${n}` : n % 101 === 0 ? `p"${n}` : String(n),
        workerId: n % 13 === 0 ? null : `w${n}`,
        direction: n % 2 === 0 ? 'in' : 'out',
        flags: n % 13 === 0 ? ['unmatched'] : [],
        atMs: 1_772_323_200_000 + n * 1000,
      });
    });
  }

  it('reads every punch once across reads and segments, with read-ahead and peeks overlapping as an outbox makes them', async () => {
    const j = journal();
    await j.open();
    for (let n = 0; n < 4000; n += 500) await j.append(mixed(n, 500));
    await j.close();
    // Damage in the middle of the active segment: a line that is not a punch, and one longer than a read.
    const active = j.segmentList.at(-1)!.file;
    await appendFile(active, `not a punch\n${'x'.repeat(300 * 1024)}\n`);
    const again = journal();
    await again.open();
    for (let n = 4000; n < 6000; n += 500) await again.append(mixed(n, 500));
    expect(again.segmentList.length).toBeGreaterThan(1);

    // The reference: every line through JSON.parse, one whole segment at a time.
    const reference: Punch[] = [];
    const corruptBefore = again.corruptLines;
    await scanJournal(again, (p) => reference.push(p));
    const corruptInScan = again.corruptLines - corruptBefore;
    expect(reference.map((p) => p.seq)).toEqual(Array.from({ length: 6000 }, (_, i) => i + 1));
    // The long line is stepped over a read at a time: its first 256 KiB and its rest each count.
    expect(corruptInScan).toBe(3);

    const reader = new JournalReader(again, 0);
    const read: Punch[] = [];
    let ahead: Promise<void> = Promise.resolve();
    for (;;) {
      // Two callers at once, and a read-ahead left running while the batch is "out".
      const [batch, same] = await Promise.all([reader.peek(50), reader.peek(50)]);
      expect(same).toEqual(batch);
      // More than the journal holds would be punches read twice: stop and let the comparison show them.
      if (batch.length === 0 || read.length > reference.length) break;
      ahead = reader.prefetch(512);
      read.push(...batch);
      reader.advance(batch.at(-1)!.seq);
    }
    await ahead;
    expect(read).toEqual(reference);
    expect(again.corruptLines - corruptBefore - corruptInScan).toBe(corruptInScan);

    // Caught up, it reads what is appended next.
    await again.append(mixed(6000, 3));
    expect((await reader.peek(50)).map((p) => p.seq)).toEqual([6001, 6002, 6003]);
    // A reader starting mid-journal starts right after its position.
    const late = new JournalReader(again, 4321);
    expect((await late.peek(3)).map((p) => p.seq)).toEqual([4322, 4323, 4324]);
    await again.close();
  });
});
