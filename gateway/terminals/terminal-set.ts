import type { GatewayConfig, TerminalConfig } from '../../config/schema';
import type { EventBus } from '../events';
import type { TerminalReport } from '../http/health';
import type { GatewayMetrics } from '../metrics';
import type { ClockSource, Logger, PunchCursor, StatePort, TerminalDriver } from '../model';
import type { PipelineTerminal, PunchPipeline } from '../pipeline/pipeline';
import { Reconciler } from '../roster/reconciler';
import type { Roster } from '../roster/roster';
import { WorkerDigests } from '../roster/worker-digests';
import type { BlobStore } from '../store/blobs';
import type { AppliedRecord, ReconcilerRecords } from '../store/reconciler-records';
import type { TerminalFamilies } from './families';
import { JournaledLogClearance } from './log-clearance';
import { TerminalSupervisor } from './supervisor';

export interface TerminalSetDeps {
  readonly config: GatewayConfig;
  readonly families: TerminalFamilies;
  readonly pipeline: PunchPipeline;
  /** Shared with the pipeline, which reads each terminal's zone and direction from it. */
  readonly pipelineTerminals: Map<string, PipelineTerminal>;
  readonly roster: Roster;
  readonly blobs: BlobStore;
  readonly state: StatePort;
  /** Each reconciler's record of what its terminal holds. */
  readonly reconcilerRecords: ReconcilerRecords;
  readonly bus: EventBus;
  readonly metrics: GatewayMetrics;
  readonly clock: ClockSource;
  readonly logger: Logger;
  /** For `clearLogAfterJournal`: the journal's last durable sequence number. */
  readonly journalLastSeq: () => number;
  /** For `clearLogAfterJournal`: whether every enabled upstream has acknowledged `seq`. */
  readonly upstreamsPassed: (seq: number) => boolean;
  /** For `clearLogAfterJournal`: whether the journal is refusing writes. */
  readonly journalTrouble: () => boolean;
}

/**
 * Every configured terminal: its supervisor (punches north) and its reconciler (roster south).
 * The list can be edited live: `reload` stops what changed and starts what is new.
 */
export class TerminalSet {
  private supervisors: TerminalSupervisor[] = [];
  private readonly reconcilers = new Map<string, Reconciler>();
  private configs: readonly TerminalConfig[] = [];
  /** One digest per worker and recipe for every reconciler (terminals of one model share them). */
  private readonly digests = new WorkerDigests();
  private unsubscribe: (() => void) | undefined;

  constructor(private readonly deps: TerminalSetDeps) {}

  /** Builds a supervisor and a reconciler per enabled terminal; nothing connects before `start()`. */
  async install(terminals: readonly TerminalConfig[], keep: ReadonlySet<string> = new Set()): Promise<void> {
    this.describe(terminals, keep);
    for (const terminal of terminals) {
      if (!terminal.enabled || keep.has(terminal.id)) continue;
      const driver = await this.deps.families.createDriver(terminal);
      const supervisor = this.supervisorFor(terminal, driver);
      const record = await this.deps.reconcilerRecords.load(terminal.id);
      this.supervisors.push(supervisor);
      this.reconcilers.set(terminal.id, this.reconcilerFor(terminal, driver, supervisor, record));
    }
  }

  start(): void {
    const { bus, roster } = this.deps;
    this.unsubscribe ??= bus.on('roster.changed', (ids) =>
      this.digests.forget(ids.map((id) => roster.get(id))),
    );
    for (const supervisor of this.supervisors) supervisor.start();
    for (const reconciler of this.reconcilers.values()) reconciler.start();
  }

  /**
   * Applies an edited terminal list without a restart: removed or changed terminals are stopped,
   * new or changed ones started; untouched ones keep their connection.
   */
  async reload(terminals: readonly TerminalConfig[]): Promise<void> {
    const before = new Map(this.configs.map((t) => [t.id, JSON.stringify(t)]));
    const after = new Map(terminals.map((t) => [t.id, JSON.stringify(t)]));
    const stale = this.supervisors.filter((s) => before.get(s.id) !== after.get(s.id));
    await Promise.all(stale.map((s) => this.reconcilers.get(s.id)?.stop()));
    for (const s of stale) this.reconcilers.delete(s.id);
    await Promise.all(stale.map((s) => s.stop()));
    await Promise.all(stale.map((s) => s.driver.disconnect().catch(() => undefined)));
    this.supervisors = this.supervisors.filter((s) => !stale.includes(s));
    const keep = new Set(this.supervisors.map((s) => s.id));
    await this.install(terminals, keep);
    for (const supervisor of this.supervisors) {
      if (keep.has(supervisor.id)) continue;
      supervisor.start();
      this.reconcilers.get(supervisor.id)?.start();
    }
    this.deps.logger.info(
      { stopped: stale.map((s) => s.id), running: this.supervisors.map((s) => s.id) },
      'terminals reloaded',
    );
  }

  /**
   * Stops taking punches, then closes what the families share. Reconcilers take no new pass from
   * the first line on, but one in flight may be waiting on a terminal (an ADMS command waits for the
   * device to call in): stopping the supervisors disconnects the drivers, which fails such waits at
   * once, and only then are the reconcilers awaited.
   */
  async stop(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    const reconcilersStopped = Promise.all([...this.reconcilers.values()].map((r) => r.stop()));
    await Promise.all(this.supervisors.map((s) => s.stop()));
    await this.deps.families.stop();
    await reconcilersStopped;
  }

  list(): readonly TerminalSupervisor[] {
    return this.supervisors;
  }

  get(id: string): TerminalSupervisor | undefined {
    return this.supervisors.find((s) => s.id === id);
  }

  reconciler(id: string): Reconciler | undefined {
    return this.reconcilers.get(id);
  }

  reports(): TerminalReport[] {
    return this.supervisors.map((s) => ({ ...s.status(), roster: this.reconcilers.get(s.id)?.status() }));
  }

  /**
   * Whether every terminal is past its start-up work: read once and through a first roster pass
   * (in sync or not), or failing to connect (it may stay away for days).
   */
  startupDone(): boolean {
    return this.reports().every(
      (t) =>
        t.consecutiveFailures > 0 ||
        (t.lastCatchUpAt !== undefined &&
          (t.roster === undefined ||
            !t.roster.applicable ||
            t.roster.lastSyncedAt !== undefined ||
            t.roster.lastError !== undefined)),
    );
  }

  /** Pipeline view and metrics: every configured terminal appears, one never connected shows offline. */
  private describe(terminals: readonly TerminalConfig[], keep: ReadonlySet<string>): void {
    const { config, metrics, pipelineTerminals } = this.deps;
    for (const t of this.configs) {
      if (!terminals.some((n) => n.id === t.id)) metrics.terminalOnline.remove({ terminal: t.id });
    }
    for (const t of terminals) if (!keep.has(t.id)) metrics.terminalOnline.set({ terminal: t.id }, 0);
    this.configs = terminals;
    pipelineTerminals.clear();
    for (const t of terminals) {
      pipelineTerminals.set(t.id, {
        id: t.id,
        kind: t.driver,
        direction: t.direction,
        timezone: t.timezone ?? config.site.timezone,
      });
    }
  }

  private supervisorFor(terminal: TerminalConfig, driver: TerminalDriver): TerminalSupervisor {
    const { config, pipeline, state, bus, metrics, clock, logger } = this.deps;
    return new TerminalSupervisor({
      driver,
      options: {
        pollSeconds: terminal.pollSeconds,
        clockToleranceSeconds: terminal.clockToleranceSeconds,
        syncClock: terminal.syncClock,
        timezone: terminal.timezone ?? config.site.timezone,
        maxBackoffMs: terminal.reconnectMaxSeconds * 1000,
      },
      pipeline,
      cursor: state.slot<PunchCursor | null>(`terminal.${terminal.id}.cursor`),
      bus,
      metrics,
      clock,
      logger: logger.child({ part: 'terminal', terminalId: terminal.id }),
      logClearance: this.logClearanceFor(terminal, driver),
    });
  }

  private reconcilerFor(
    terminal: TerminalConfig,
    driver: TerminalDriver,
    supervisor: TerminalSupervisor,
    record: AppliedRecord,
  ): Reconciler {
    const { config, roster, blobs, bus, clock, logger } = this.deps;
    return new Reconciler({
      terminalId: terminal.id,
      driver,
      roster,
      blobs,
      record,
      digests: this.digests,
      bus,
      clock,
      logger: logger.child({ part: 'reconciler', terminalId: terminal.id }),
      options: config.reconcile,
      isOnline: () => supervisor.status().online,
    });
  }

  /**
   * ZK `clearLogAfterJournal`: the terminal's log is emptied only once its punches are journaled and
   * every enabled upstream has acknowledged them (log-clearance.ts).
   */
  private logClearanceFor(
    terminal: TerminalConfig,
    driver: TerminalDriver,
  ): JournaledLogClearance | undefined {
    const clear = driver.clearJournaledLog?.bind(driver);
    if (terminal.driver !== 'zk' || !terminal.clearLogAfterJournal || !clear) return undefined;
    return new JournaledLogClearance({
      clear,
      journalLastSeq: this.deps.journalLastSeq,
      upstreamsPassed: this.deps.upstreamsPassed,
      journalTrouble: this.deps.journalTrouble,
      logger: this.deps.logger.child({ part: 'terminal', terminalId: terminal.id }),
    });
  }
}
