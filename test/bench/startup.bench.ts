/**
 * Start-up with a long history: a data folder holding 1,000,000 punches (8,000 a day, so 125 days,
 * ending now, 16 MiB segments, every upstream caught up), then, each in a fresh process:
 * - `journalAndDedup`: the journal opened and the de-duplication index loaded (what the gateway does
 *   before it takes a punch), and an outbox reader at its cursor;
 * - `gatewayReady`: a real `Gateway` built and started on that folder until `/healthz` answers.
 * Both with every file dated now (a folder copied, restored or filled by a generator) and with
 * each segment dated by its last punch (a box that wrote them live), and once for the first start
 * after an upgrade (segments without an index: each is read once and indexed).
 * Warm page cache: the figures are CPU and parsing, not the disk; each is given as wall time and as
 * the process's CPU time (on a shared machine the first measures the neighbours too).
 *
 * `BENCH_STARTUP_DIR` reuses (or keeps) a data folder, so the same folder can be measured by another
 * build of the gateway; `BENCH_STARTUP_PUNCHES` changes the size.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, unlinkSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { validateConfig } from '../../config/load';
import { Gateway } from '../../gateway/controller';
import type { PunchDraft } from '../../gateway/model';
import { DedupIndex } from '../../gateway/pipeline/dedup-index';
import { PunchJournal } from '../../gateway/store/journal';
import { JournalReader } from '../../gateway/store/journal-reader';
import { testLogger } from '../support/logger';
import { emitBench } from './report';

const TOTAL = Number(process.env.BENCH_STARTUP_PUNCHES ?? 1_000_000);
const PER_DAY = 8000;
const DAY_MS = 86_400_000;
const WINDOW_DAYS = Number(process.env.BENCH_STARTUP_WINDOW_DAYS ?? 7);
const BATCH = 10_000;
const RUNS = 3;

function journalOf(dataDir: string): PunchJournal {
  return new PunchJournal({
    dir: join(dataDir, 'journal'),
    segmentMaxBytes: 16 * 1024 * 1024,
    retentionDays: 3650,
    clock: { now: () => Date.now() },
    logger: testLogger(),
  });
}

/** Punch n of the history: 20 terminals, 2,000 PINs, `PER_DAY` a day, the last one a minute ago. */
function punch(n: number, endMs: number): PunchDraft {
  const atMs = Math.floor((endMs - 60_000 - ((TOTAL - 1 - n) * DAY_MS) / PER_DAY) / 1000) * 1000;
  return {
    key: `gate-${n % 20}|${n % 2000}|${Math.floor(atMs / 1000)}`,
    terminalId: `gate-${n % 20}`,
    pin: String(n % 2000),
    workerId: `w-${n % 2000}`,
    direction: n % 2 ? 'in' : 'out',
    method: 'fp',
    atMs,
    source: 'realtime',
    flags: [],
    receivedMs: atMs + 2000,
  };
}

async function fill(dataDir: string): Promise<void> {
  const journal = journalOf(dataDir);
  await journal.open();
  const endMs = Date.now();
  for (let start = 0; start < TOTAL; start += BATCH) {
    const batch: PunchDraft[] = [];
    for (let n = start; n < Math.min(TOTAL, start + BATCH); n++) batch.push(punch(n, endMs));
    await journal.append(batch);
  }
  await journal.close();
}

function segmentFiles(dataDir: string): string[] {
  const dir = join(dataDir, 'journal');
  return readdirSync(dir)
    .filter((n) => n.endsWith('.jsonl'))
    .sort()
    .map((n) => join(dir, n));
}

/** Every segment dated now, or by its last punch's arrival (what a box writing them live leaves). */
async function dateSegments(dataDir: string, how: 'now' | 'history'): Promise<void> {
  const journal = journalOf(dataDir);
  await journal.open();
  const segments = [...journal.segmentList];
  const lastSeq = journal.lastSeq;
  await journal.close();
  const endMs = Date.now();
  segments.forEach((segment, i) => {
    // From the file names, so that builds without the segment index can run this too.
    const last = (segments[i + 1]?.firstSeq ?? lastSeq + 1) - 1;
    const date = new Date(how === 'now' || last < 1 ? endMs : punch(last - 1, endMs).receivedMs);
    utimesSync(segment.file, date, date);
  });
}

function dropIndexes(dataDir: string): void {
  for (const file of segmentFiles(dataDir)) if (existsSync(`${file}.idx`)) unlinkSync(`${file}.idx`);
}

/** In this (fresh) process: the journal and de-duplication part of start-up. */
async function measureJournal(dataDir: string): Promise<Record<string, number>> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  const journal = journalOf(dataDir);
  await journal.open();
  const dedup = new DedupIndex(WINDOW_DAYS, () => Date.now());
  await dedup.load(journal);
  // An outbox whose cursor is at the end (everything delivered) looks for more.
  const more = await new JournalReader(journal, journal.lastSeq).peek(100);
  const ms = performance.now() - started;
  const cpuMs = cpuMsSince(cpu);
  if (more.length !== 0) throw new Error('read past the end');
  // `bytesRead` exists only in builds with the segment index.
  const bytesRead = (journal as unknown as { bytesRead?: number }).bytesRead ?? -1;
  await journal.close();
  return { ms, cpuMs, bytesRead, dedupEntries: dedup.size, rssMb: process.memoryUsage().rss / 1048576 };
}

/** In this (fresh) process: a real gateway on the folder, until `/healthz` answers. */
async function measureGateway(dataDir: string): Promise<Record<string, number>> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  const parsed = validateConfig({
    site: { name: 'bench', timezone: 'Asia/Shanghai' },
    dataDir,
    http: { host: '127.0.0.1', port: 0 },
    pipeline: { dedupWindowDays: WINDOW_DAYS },
    journal: { retentionDays: 3650 },
    terminals: [],
  });
  if (!parsed.ok) throw new Error(parsed.problems.join('\n'));
  const gateway = new Gateway(parsed.config, testLogger(), { httpPort: 0 });
  await gateway.start();
  const response = await fetch(`http://127.0.0.1:${gateway.httpPort}/healthz`);
  if (response.status !== 200) throw new Error(`/healthz answered ${response.status}`);
  await response.text();
  const ms = performance.now() - started;
  const cpuMs = cpuMsSince(cpu);
  await gateway.stop();
  return { ms, cpuMs };
}

/** Runs one measurement in a fresh node process (this same bundle), `RUNS` times; the median. */
function inChild(kind: 'journal' | 'gateway', dataDir: string): Record<string, number> {
  const runs: Array<Record<string, number>> = [];
  for (let i = 0; i < RUNS; i++) {
    const child = spawnSync(process.execPath, [process.argv[1]!, kind, dataDir], { encoding: 'utf8' });
    const line = child.stdout.split('\n').find((l) => l.startsWith('MEASURED '));
    if (!line) throw new Error(`measurement failed: ${child.stderr}`);
    runs.push(JSON.parse(line.slice('MEASURED '.length)) as Record<string, number>);
  }
  runs.sort((a, b) => a.cpuMs! - b.cpuMs!);
  return runs[Math.floor(runs.length / 2)]!;
}

/** The first start after an upgrade, once: segments without an index are read and indexed. */
function firstStartAfterUpgrade(dataDir: string): Record<string, number> {
  dropIndexes(dataDir);
  const child = spawnSync(process.execPath, [process.argv[1]!, 'journal', dataDir], { encoding: 'utf8' });
  const line = child.stdout.split('\n').find((l) => l.startsWith('MEASURED '));
  if (!line) throw new Error(`measurement failed: ${child.stderr}`);
  return JSON.parse(line.slice('MEASURED '.length)) as Record<string, number>;
}

const round = (n: number | undefined): number => Math.round(n ?? -1);

/**
 * CPU time (user + system) of this process since `start`. The machine the benchmarks run on may be
 * shared: wall time then measures the neighbours too, CPU time measures the work.
 */
function cpuMsSince(start: NodeJS.CpuUsage): number {
  const { user, system } = process.cpuUsage(start);
  return (user + system) / 1000;
}

async function main(): Promise<void> {
  const [kind, dataDir] = process.argv.slice(2);
  if (kind === 'journal' || kind === 'gateway') {
    const result = kind === 'journal' ? await measureJournal(dataDir!) : await measureGateway(dataDir!);
    process.stdout.write(`MEASURED ${JSON.stringify(result)}\n`);
    return;
  }
  const base = join(process.cwd(), '.tmp');
  mkdirSync(base, { recursive: true });
  const kept = process.env.BENCH_STARTUP_DIR;
  const folder = kept ?? mkdtempSync(join(base, 'bench-startup-'));
  try {
    const t0 = performance.now();
    if (!existsSync(join(folder, 'journal'))) await fill(folder);
    const fillSeconds = (performance.now() - t0) / 1000;
    const segments = segmentFiles(folder).length;

    const upgrade = firstStartAfterUpgrade(folder);
    await dateSegments(folder, 'now');
    const journalFresh = inChild('journal', folder);
    const gatewayFresh = inChild('gateway', folder);
    await dateSegments(folder, 'history');
    const journalDated = inChild('journal', folder);
    const gatewayDated = inChild('gateway', folder);

    emitBench({
      bench: 'startup',
      figures: {
        punches: TOTAL,
        segments,
        dedupWindowDays: WINDOW_DAYS,
        fillSeconds: Math.round(fillSeconds),
        journalAndDedupMsFilesDatedNow: round(journalFresh.ms),
        journalAndDedupCpuMsFilesDatedNow: round(journalFresh.cpuMs),
        journalAndDedupMsFilesDatedByPunches: round(journalDated.ms),
        journalAndDedupCpuMsFilesDatedByPunches: round(journalDated.cpuMs),
        segmentBytesReadMb: Math.round(((journalFresh.bytesRead ?? -1) / 1048576) * 10) / 10,
        dedupEntries: round(journalFresh.dedupEntries),
        gatewayReadyMsFilesDatedNow: round(gatewayFresh.ms),
        gatewayReadyCpuMsFilesDatedNow: round(gatewayFresh.cpuMs),
        gatewayReadyMsFilesDatedByPunches: round(gatewayDated.ms),
        gatewayReadyCpuMsFilesDatedByPunches: round(gatewayDated.cpuMs),
        firstStartAfterUpgradeMs: round(upgrade.ms),
        firstStartAfterUpgradeCpuMs: round(upgrade.cpuMs),
      },
      goals: [
        {
          figure: 'gatewayReadyMsFilesDatedNow',
          op: '<=',
          target: 1000,
          source: 'issue "Years on a small box"',
        },
        {
          figure: 'gatewayReadyMsFilesDatedByPunches',
          op: '<=',
          target: 1000,
          source: 'issue "Years on a small box"',
        },
      ],
    });
  } finally {
    if (!kept) rmSync(folder, { recursive: true, force: true });
  }
}

void main();
