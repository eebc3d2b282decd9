/**
 * Journal throughput against the raw file system, at 100,000 and at 1,000,000 punches (issue "Years on
 * a small box": ≥ 0.5× at both): append in batches of 100 (one fdatasync per batch), and, alternated
 * with it in the same run, a raw loop writing the journal's own bytes (made by the journal's own line
 * encoder, so the very bytes it writes) with the same cadence: write, then fdatasync, per batch, into
 * one file with synchronous calls, the fastest fair version of the same work. Each size runs
 * BENCH_ROUNDS times each way (default 3), the best run of each counts. The journal is read back once
 * per size, and bytes written come from /proc/self/io (what reached the block layer).
 */
import { closeSync, fdatasyncSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { PunchDraft } from '../../gateway/model';
import { PunchJournal } from '../../gateway/store/journal';
import { JournalLineEncoder } from '../../gateway/store/journal-line';
import { JournalReader } from '../../gateway/store/journal-reader';
import { testLogger } from '../support/logger';
import { type BenchGoal, emitBench, peakRssMb } from './report';

const SIZES = (process.env.BENCH_JOURNAL_PUNCHES ?? '100000,1000000').split(',').map(Number);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
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

interface Run {
  readonly seconds: number;
  readonly written: number;
}

async function journalRun(
  dir: string,
  total: number,
  readBack: boolean,
): Promise<Run & { readSeconds?: number }> {
  const journal = new PunchJournal({
    dir: join(dir, 'journal'),
    segmentMaxBytes: 16 * 1024 * 1024,
    retentionDays: 90,
    clock: { now: () => Date.now() },
    logger: testLogger(),
  });
  await journal.open();
  const before = writeBytes();
  const t0 = performance.now();
  for (let start = 0; start < total; start += BATCH) await journal.append(batchOf(start));
  const seconds = (performance.now() - t0) / 1000;
  const written = writeBytes() - before;
  let readSeconds: number | undefined;
  if (readBack) {
    const t1 = performance.now();
    const reader = new JournalReader(journal, 0);
    let read = 0;
    for (;;) {
      const batch = await reader.peek(1000);
      if (batch.length === 0) break;
      read += batch.length;
      reader.advance(batch.at(-1)!.seq);
    }
    readSeconds = (performance.now() - t1) / 1000;
    if (read !== total) throw new Error(`read back ${read} of ${total}`);
  }
  await journal.close();
  return { seconds, written, ...(readSeconds !== undefined && { readSeconds }) };
}

/** The same bytes (the journal's encoder, the same seqs), written then fdatasync'd per batch. */
function rawRun(dir: string, total: number): Run {
  const fd = openSync(join(dir, 'raw.jsonl'), 'a', 0o600);
  const encoder = new JournalLineEncoder();
  const before = writeBytes();
  const t0 = performance.now();
  let seq = 1;
  for (let start = 0; start < total; start += BATCH) {
    encoder.clear();
    for (const draft of batchOf(start)) encoder.write(draft, seq++);
    writeSync(fd, encoder.bytes);
    fdatasyncSync(fd);
  }
  const seconds = (performance.now() - t0) / 1000;
  const written = writeBytes() - before;
  closeSync(fd);
  return { seconds, written };
}

async function main(): Promise<void> {
  // On disk, not tmpfs, so fsync and bytes written are real.
  const base = process.env.BENCH_DIR ?? join(process.cwd(), '.tmp');
  const { mkdirSync } = await import('node:fs');
  mkdirSync(base, { recursive: true });
  const figures: Record<string, number | string> = {};
  const goals: BenchGoal[] = [];
  const lineBytes = (() => {
    const encoder = new JournalLineEncoder();
    for (const draft of batchOf(0)) encoder.write(draft, 1);
    return encoder.bytes.length / BATCH;
  })();
  for (const total of SIZES) {
    const ours: Run[] = [];
    const raw: Run[] = [];
    let readSeconds = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const dir = mkdtempSync(join(base, 'bench-journal-'));
      try {
        const run = await journalRun(dir, total, round === 0);
        readSeconds ||= run.readSeconds ?? 0;
        ours.push(run);
        raw.push(rawRun(dir, total));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
    const best = (runs: Run[]) => runs.reduce((a, b) => (b.seconds < a.seconds ? b : a));
    const k = total >= 1_000_000 ? `${total / 1_000_000}m` : `${total / 1000}k`;
    const o = best(ours);
    const r = best(raw);
    figures[`append_per_s_${k}`] = Math.round(total / o.seconds);
    figures[`raw_per_s_${k}`] = Math.round(total / r.seconds);
    figures[`ratio_to_raw_${k}`] = Math.round((r.seconds / o.seconds) * 100) / 100;
    figures[`append_runs_ms_${k}`] = ours.map((x) => Math.round(x.seconds * 1000)).join(' / ');
    figures[`raw_runs_ms_${k}`] = raw.map((x) => Math.round(x.seconds * 1000)).join(' / ');
    figures[`read_per_s_${k}`] = Math.round(total / readSeconds);
    figures[`bytes_written_per_punch_${k}`] = Math.round(o.written / total);
    figures[`bytes_written_per_punch_raw_${k}`] = Math.round(r.written / total);
    figures[`bytes_written_ratio_to_line_${k}`] = Math.round((o.written / total / lineBytes) * 100) / 100;
    goals.push(
      { figure: `ratio_to_raw_${k}`, op: '>=', target: 0.5, source: 'Years on a small box' },
      { figure: `bytes_written_ratio_to_line_${k}`, op: '<=', target: 1.5, source: 'issue 2' },
    );
  }
  figures.line_bytes = Math.round(lineBytes);
  figures.rounds = ROUNDS;
  figures.peak_rss_mb = peakRssMb();
  goals.push({ figure: 'peak_rss_mb', op: '<=', target: 150, source: 'issue 2' });
  emitBench({ bench: 'journal', figures, goals });
}

void main();
