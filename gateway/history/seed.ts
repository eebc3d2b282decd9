import { access, mkdir, utimes } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { validateConfig } from '../../config/load';
import type { GatewayConfig } from '../../config/schema';
import { wallTimeToUtcMs } from '../../lib/wall-clock';
import { EventBus } from '../events';
import { GatewayMetrics } from '../metrics';
import type { ClockSource, Logger, PunchDraft, TerminalCapabilities, UpstreamName } from '../model';
import { CursorLog } from '../outbox/cursor-log';
import { DedupIndex } from '../pipeline/dedup-index';
import { type PipelineTerminal, PunchPipeline } from '../pipeline/pipeline';
import { QUERY_STORE_FILE } from '../query/query-store';
import { rebuildPunchStore } from '../query/rebuild';
import { workerDigest } from '../roster/reconcile-plan';
import { Roster } from '../roster/roster';
import { AppliedDigests } from '../store/applied-digests';
import { BlobStore } from '../store/blobs';
import { DATA_DIR_MODE, writeFileAtomic } from '../store/durable-file';
import { PunchJournal } from '../store/journal';
import { JournalLineEncoder } from '../store/journal-line';
import { RECONCILER_DIR, ReconcilerRecords } from '../store/reconciler-records';
import { StateStore } from '../store/state';
import { type HistoryOptions, type HistoryPlan, historyDays, planHistory } from './generator';

export interface SeedOptions extends HistoryOptions {
  readonly dataDir: string;
  /** Where the configuration for the seeded box is written (its terminals, its data folder). */
  readonly configFile: string;
  readonly siteName: string;
  /** The terminals' address: terminal i listens on `terminalPort + i`. */
  readonly terminalHost: string;
  readonly terminalPort: number;
  readonly segmentMaxBytes: number;
}

export interface SeedReport {
  readonly workers: number;
  /** Workers who left during the history (removed from the roster after their last punch). */
  readonly removed: number;
  readonly days: number;
  readonly punches: number;
  /** Punches from PINs no worker holds (journaled and flagged, as the live path does). */
  readonly unmatched: number;
  /** Punches the de-duplication index refused (none, unless the generator repeats a second). */
  readonly duplicates: number;
  readonly lastSeq: number;
  readonly segments: number;
  readonly journalBytes: number;
  readonly configFile: string;
  /** The query store, rebuilt from the journal once it is written: its rows and its file's size. */
  readonly store: { readonly punches: number; readonly bytes: number };
  readonly seconds: {
    readonly roster: number;
    readonly journal: number;
    readonly store: number;
    readonly total: number;
  };
}

/** An option the command was given that cannot work; the CLI prints `option: reason` and exits 2. */
export class SeedOptionError extends Error {
  constructor(
    readonly option: string,
    reason: string,
  ) {
    super(`${option}: ${reason}`);
    this.name = 'SeedOptionError';
  }
}

const DAY_MS = 86_400_000;
/** Files a gateway's data folder holds once it has run; the seeder fills only a folder without them. */
const DATA_FILES = ['journal', 'roster.json', 'state.json', RECONCILER_DIR, 'cursors.json', 'cursors.log'];
/** The query store's file in the data folder, as the composition root (gateway/controller.ts) names it. */
/** The outboxes' cursor keys, as gateway/upstreams/upstream-set.ts names them. */
const UPSTREAMS: readonly UpstreamName[] = ['sichuan', 'deli'];

/**
 * Fills an empty data folder with a history through the gateway's own write path, as if the box had
 * run through it: the roster through `Roster.apply` (so PINs are the roster's own), every punch
 * through the pipeline's normalization and de-duplication, the journal through its own `append`,
 * the outbox cursors through the cursor log, the reconcilers' record of what each terminal holds
 * through their own store, then the query store rebuilt from the journal by its own rebuild. Only
 * the batching differs from a live box: a segment's punches go in one append (one write, one
 * fdatasync), not one by one.
 */
export async function seedHistory(
  options: SeedOptions,
  logger: Logger,
  progress: (line: string) => void = () => undefined,
): Promise<SeedReport> {
  const started = performance.now();
  const plan = planHistory(options);
  const document = seedConfigDocument(options, plan);
  const checked = validateConfig(document);
  if (!checked.ok) throw new SeedOptionError('(configuration)', checked.problems.join('; '));
  const config = checked.config;
  const dataDir = resolve(options.dataDir);
  await refuseUnlessEmpty(dataDir, options.configFile);
  await mkdir(dataDir, { recursive: true, mode: DATA_DIR_MODE });

  const dayStart = (day: string) => wallTimeToUtcMs(`${day}T00:00:00`, options.timezone);
  const firstDay = plan.days[0];
  const lastDay = plan.days.at(-1);
  // The workers registered the day before the first punch; the clock then follows the history.
  const clock = new HistoryClock(firstDay ? dayStart(firstDay) - DAY_MS : Date.now());
  const bus = new EventBus();
  const blobs = new BlobStore(join(dataDir, 'blobs'));
  await blobs.open();
  const roster = new Roster({ file: join(dataDir, 'roster.json'), blobs, bus, clock, logger });
  await roster.open();
  await roster.apply(plan.workers.map((w) => w.change));
  const rosterSeconds = (performance.now() - started) / 1000;
  progress(`roster: ${plan.workers.length} workers`);

  const journalStarted = performance.now();
  const journal = new PunchJournal({
    dir: join(dataDir, 'journal'),
    segmentMaxBytes: config.journal.segmentMaxBytes,
    retentionDays: config.journal.retentionDays,
    clock,
    logger,
  });
  await journal.open();
  const dedup = new DedupIndex(config.pipeline.dedupWindowDays, () => clock.now());
  const pipeline = new PunchPipeline({
    journal,
    dedup,
    terminals: pipelineTerminals(config),
    workers: roster,
    bus,
    clock,
    logger,
    metrics: new GatewayMetrics(),
  });
  const batcher = new SegmentBatcher(journal, config.journal.segmentMaxBytes);
  let punches = 0;
  let unmatched = 0;
  let duplicates = 0;
  let reported = 0;
  let journalSeconds = 0;
  let storeSeconds = 0;
  let store: SeedReport['store'];
  try {
    for (const day of historyDays(plan, (id) => pinOf(roster, id))) {
      for (const punch of day.punches) {
        const draft = pipeline.normalize(punch.raw, punch.receivedMs);
        if (!dedup.claim(draft)) {
          duplicates++;
          continue;
        }
        punches++;
        if (draft.workerId === null) unmatched++;
        if (batcher.add(draft)) await batcher.flush();
      }
      clock.set(dayStart(day.day) + DAY_MS);
      dedup.prune();
      const percent = Math.floor(((day.index + 1) * 10) / plan.days.length) * 10;
      if (percent > reported) {
        reported = percent;
        progress(`journal: ${percent}% (${day.day}, ${punches} punches)`);
      }
    }
    await batcher.flush();
    journalSeconds = (performance.now() - journalStarted) / 1000;

    // Those who left are removed once their last punch is in, as their platform would have done.
    clock.set(lastDay ? dayStart(lastDay) + DAY_MS : clock.now());
    await roster.apply(plan.removals);

    // Everything already delivered: both platforms' cursors at the journal's end.
    const cursors = new CursorLog({ dir: dataDir, logger });
    await cursors.open();
    for (const upstream of UPSTREAMS) cursors.slot(`outbox.${upstream}`).note(journal.lastSeq);
    await cursors.flush();
    await cursors.close();

    await recordTerminalsInSync(dataDir, config, roster, logger);

    const storeStarted = performance.now();
    store = await rebuildQueryStore(dataDir, config, journal, roster, logger);
    storeSeconds = (performance.now() - storeStarted) / 1000;
    progress(`query store rebuilt from the journal in ${storeSeconds.toFixed(1)} s`);
  } finally {
    pipeline.stop();
    await journal.close();
  }

  await mkdir(dirname(options.configFile), { recursive: true, mode: DATA_DIR_MODE });
  await writeFileAtomic(options.configFile, `${JSON.stringify(document, null, 2)}\n`);
  const segments = journal.segmentList;
  return {
    workers: plan.workers.length,
    removed: plan.removals.length,
    days: plan.days.length,
    punches,
    unmatched,
    duplicates,
    lastSeq: journal.lastSeq,
    segments: segments.length,
    journalBytes: segments.reduce((sum, s) => sum + s.durableBytes, 0),
    configFile: resolve(options.configFile),
    store,
    seconds: {
      roster: round(rosterSeconds),
      journal: round(journalSeconds),
      store: round(storeSeconds),
      total: round((performance.now() - started) / 1000),
    },
  };
}

/** The seeded box's configuration: the site, its data folder and its terminals (ZK, an entry and an exit per gate). */
export function seedConfigDocument(options: SeedOptions, plan: HistoryPlan): Record<string, unknown> {
  return {
    site: { name: options.siteName, timezone: options.timezone },
    dataDir: resolve(options.dataDir),
    journal: { segmentMaxBytes: options.segmentMaxBytes },
    terminals: plan.terminals.map((terminal, i) => ({
      id: terminal.id,
      name: terminal.name,
      driver: 'zk',
      direction: terminal.direction,
      host: options.terminalHost,
      port: options.terminalPort + i,
      transport: 'tcp',
      encoding: 'gb18030',
    })),
  };
}

/**
 * The query store (gateway/query/), rebuilt from the finished journal with the final roster, as a
 * box whose store went missing rebuilds it at start: a seeded box starts with its store current.
 * It keeps `retention.punchYears` back from today, as the running store does.
 */
async function rebuildQueryStore(
  dataDir: string,
  config: GatewayConfig,
  journal: PunchJournal,
  roster: Roster,
  logger: Logger,
): Promise<SeedReport['store']> {
  const keepFrom = new Date();
  keepFrom.setUTCFullYear(keepFrom.getUTCFullYear() - config.retention.punchYears);
  const rebuilt = await rebuildPunchStore({
    journal,
    file: join(dataDir, QUERY_STORE_FILE),
    keepFromMs: keepFrom.getTime(),
    workers: () => roster.list(),
    logger,
  });
  return { punches: rebuilt.punches, bytes: rebuilt.bytes };
}

/**
 * After years on site the terminals hold every active worker, and each reconciler has noted what it
 * wrote (`reconciler/<terminal>.applied`, gateway/store/reconciler-records.ts), so a seeded box does
 * not rewrite 5,000 users on every terminal at its first start. A terminal that does not hold a
 * worker still gets them: the reconciler writes whatever the terminal's own listing lacks, whatever
 * is noted here. state.json is written too (empty), as a box that has run has one.
 */
async function recordTerminalsInSync(
  dataDir: string,
  config: GatewayConfig,
  roster: Roster,
  logger: Logger,
): Promise<void> {
  const applied = new AppliedDigests();
  for (const worker of roster.list()) {
    if (worker.status === 'active') applied.set(worker.pin, workerDigest(worker, ZK_CAPABILITIES));
  }
  const state = new StateStore(join(dataDir, 'state.json'));
  await state.open();
  await state.remove([]);
  const records = new ReconcilerRecords({ dir: join(dataDir, RECONCILER_DIR), state, logger });
  await records.open();
  for (const terminal of config.terminals) await records.write(terminal.id, applied);
}

/**
 * What a ZK terminal takes (adapters/zk/driver.ts). A digest depends on the capabilities only through
 * templates and photos, which seeded workers do not have; the template format is then irrelevant.
 */
const ZK_CAPABILITIES: TerminalCapabilities = {
  realtime: true,
  users: true,
  cards: true,
  fingerprints: true,
  faces: false,
  clock: true,
  enrolment: ['fp'],
  maxPinLength: 9,
};

/** As the terminal set describes terminals to the pipeline (gateway/terminals/terminal-set.ts). */
function pipelineTerminals(config: GatewayConfig): Map<string, PipelineTerminal> {
  return new Map(
    config.terminals.map((t) => [
      t.id,
      { id: t.id, kind: t.driver, direction: t.direction, timezone: t.timezone ?? config.site.timezone },
    ]),
  );
}

function pinOf(roster: Roster, workerId: string): string {
  const worker = roster.get(workerId);
  if (!worker) throw new Error(`seed-history: worker ${workerId} is not in the roster after apply`);
  return worker.pin;
}

async function refuseUnlessEmpty(dataDir: string, configFile: string): Promise<void> {
  for (const name of DATA_FILES) {
    if (await exists(join(dataDir, name))) {
      throw new SeedOptionError(
        '--data-dir',
        `${dataDir} already holds a gateway's data (${name}); seed-history fills only an empty data folder`,
      );
    }
  }
  if (await exists(configFile)) {
    throw new SeedOptionError(
      '--config',
      `${configFile} exists; seed-history does not overwrite a configuration`,
    );
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Fills journal segments in bulk through the journal's own `append`: one append (one write, one
 * fdatasync) per segment. A live gateway appends a punch or a few at a time and starts a new segment
 * once the current one has reached `segmentMaxBytes`, so a segment ends on the first line at or past
 * that size; each batch here ends on that same line, so the files come out as a live box's would.
 * A segment's modification time is set to its last punch's arrival, the time a live box last wrote it.
 */
class SegmentBatcher {
  private batch: PunchDraft[] = [];
  /** What the current segment holds once the batch is written; undefined before the batch's first punch. */
  private segmentBytes: number | undefined;
  /** Encodes each line once more, only to count its bytes (the journal encodes it for real). */
  private readonly measure = new JournalLineEncoder(4096);

  constructor(
    private readonly journal: PunchJournal,
    private readonly maxBytes: number,
  ) {}

  /** Adds a punch; true when the segment is full and `flush` must run before the next `add`. */
  add(draft: PunchDraft): boolean {
    if (this.segmentBytes === undefined) {
      const current = this.journal.segmentList.at(-1);
      this.segmentBytes = current && current.durableBytes < this.maxBytes ? current.durableBytes : 0;
    }
    this.measure.clear();
    this.measure.write(draft, this.journal.lastSeq + this.batch.length + 1);
    this.segmentBytes += this.measure.bytes.byteLength;
    this.batch.push(draft);
    return this.segmentBytes >= this.maxBytes;
  }

  async flush(): Promise<void> {
    const batch = this.batch;
    if (batch.length === 0) return;
    this.batch = [];
    this.segmentBytes = undefined;
    await this.journal.append(batch);
    const segment = this.journal.segmentList.at(-1)!;
    const lastWrite = new Date(batch.at(-1)!.receivedMs);
    await utimes(segment.file, lastWrite, lastWrite);
  }
}

/** The seeder's clock: the history's time, not the machine's (roster times, de-duplication window). */
class HistoryClock implements ClockSource {
  constructor(private nowMs: number) {}

  now(): number {
    return this.nowMs;
  }

  set(ms: number): void {
    this.nowMs = ms;
  }
}

function round(seconds: number): number {
  return Math.round(seconds * 100) / 100;
}
