/**
 * Journal throughput against the raw file system: append 1,000,000 punches in batches of 100
 * (fdatasync per batch), read them back, and in the same run a raw loop writing the same bytes
 * with the same sync pattern. Bytes written come from /proc/self/io (what reached the block layer).
 */
import { closeSync, fdatasyncSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { PunchDraft } from '../../gateway/model';
import { PunchJournal } from '../../gateway/store/journal';
import { JournalReader } from '../../gateway/store/journal-reader';
import { testLogger } from '../support/logger';
import { emitBench, peakRssMb } from './report';

const TOTAL = Number(process.env.BENCH_JOURNAL_PUNCHES ?? 1_000_000);
const BATCH = 100;

function writeBytes(): number {
  const io = readFileSync('/proc/self/io', 'utf8');
  return Number(/^write_bytes: (\d+)$/m.exec(io)?.[1] ?? 0);
}

function batchOf(start: number): PunchDraft[] {
  const out: PunchDraft[] = [];
  for (let i = 0; i < BATCH; i++) {
    const n = start + i;
    const atMs = 1_790_000_000_000 + n * 1000;
    out.push({
      key: `gate-${n % 20}|${n % 2000}|${Math.floor(atMs / 1000)}`,
      terminalId: `gate-${n % 20}`,
      pin: String(n % 2000),
      workerId: `w-${n % 2000}`,
      direction: n % 2 ? 'in' : 'out',
      method: 'fp',
      atMs,
      source: 'realtime',
      flags: [],
      receivedMs: atMs + 120,
    });
  }
  return out;
}

async function main(): Promise<void> {
  // On disk, not tmpfs, so fsync and bytes written are real.
  const base = process.env.BENCH_DIR ?? join(process.cwd(), '.tmp');
  const { mkdirSync } = await import('node:fs');
  mkdirSync(base, { recursive: true });
  const dir = mkdtempSync(join(base, 'bench-journal-'));
  try {
    const journal = new PunchJournal({
      dir: join(dir, 'journal'),
      segmentMaxBytes: 16 * 1024 * 1024,
      retentionDays: 90,
      clock: { now: () => Date.now() },
      logger: testLogger(),
    });
    await journal.open();
    let jsonBytes = 0;
    const ioBefore = writeBytes();
    const t0 = performance.now();
    for (let start = 0; start < TOTAL; start += BATCH) {
      const punches = await journal.append(batchOf(start));
      if (start === 0)
        jsonBytes =
          punches.reduce((n, p) => n + Buffer.byteLength(JSON.stringify(p)) + 1, 0) / punches.length;
    }
    const appendSeconds = (performance.now() - t0) / 1000;
    const journalWritten = writeBytes() - ioBefore;

    const t1 = performance.now();
    const reader = new JournalReader(journal, 0);
    let read = 0;
    for (;;) {
      const batch = await reader.peek(1000);
      if (batch.length === 0) break;
      read += batch.length;
      reader.advance(batch.at(-1)!.seq);
    }
    const readSeconds = (performance.now() - t1) / 1000;
    await journal.close();
    if (read !== TOTAL) throw new Error(`read back ${read} of ${TOTAL}`);
    const peakAfterJournal = peakRssMb();

    // The raw loop: the same bytes, the same write-then-fdatasync per batch, no journal.
    const rawFile = join(dir, 'raw.jsonl');
    const fd = openSync(rawFile, 'a', 0o600);
    const rawBefore = writeBytes();
    const t2 = performance.now();
    let seq = 1;
    for (let start = 0; start < TOTAL; start += BATCH) {
      const lines = batchOf(start).map((p) => JSON.stringify({ ...p, seq: seq++ }));
      writeSync(fd, `${lines.join('\n')}\n`);
      fdatasyncSync(fd);
    }
    const rawSeconds = (performance.now() - t2) / 1000;
    const rawWritten = writeBytes() - rawBefore;
    closeSync(fd);

    const ours = TOTAL / appendSeconds;
    const raw = TOTAL / rawSeconds;
    emitBench({
      bench: 'journal',
      figures: {
        punches: TOTAL,
        appendPunchesPerSecond: Math.round(ours),
        rawPunchesPerSecond: Math.round(raw),
        ratioToRaw: Math.round((ours / raw) * 100) / 100,
        readPunchesPerSecond: Math.round(TOTAL / readSeconds),
        jsonLineBytes: Math.round(jsonBytes),
        bytesWrittenPerPunch: Math.round(journalWritten / TOTAL),
        bytesWrittenPerPunchRaw: Math.round(rawWritten / TOTAL),
        bytesWrittenRatioToLine: Math.round((journalWritten / TOTAL / jsonBytes) * 100) / 100,
        peakRssMb: peakAfterJournal,
      },
      goals: [
        { figure: 'ratioToRaw', op: '>=', target: 0.5, source: 'issue 2' },
        { figure: 'bytesWrittenRatioToLine', op: '<=', target: 1.5, source: 'issue 2' },
        { figure: 'peakRssMb', op: '<=', target: 150, source: 'issue 2' },
      ],
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

void main();
