import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { ServerType } from '@hono/node-server';
import type { AdmsServer } from '../adapters/adms/server';
import type { SerialLineRegistry } from '../adapters/modbus/serial-line';
import type { GatewayConfig, TerminalConfig } from '../config/schema';
import { EventBus } from './events';
import { createHttpApp } from './http/app';
import { alertsOf, type HealthReport, type UpstreamReport } from './http/health';
import { closeServer, listen } from './http/server';
import { GatewayMetrics } from './metrics';
import {
  type ClockSource,
  type Logger,
  type PunchCursor,
  systemClock,
  type TemplateKind,
  type Upstream,
  type UpstreamName,
} from './model';
import { Outbox } from './outbox/outbox';
import { createDriver, createUpstream, type PartDeps } from './parts';
import { DedupIndex } from './pipeline/dedup-index';
import { type PipelineTerminal, PunchPipeline } from './pipeline/pipeline';
import { EnrolmentService } from './roster/enrolment';
import { Reconciler } from './roster/reconciler';
import { Roster } from './roster/roster';
import { RemoteSettingsStore } from './settings';
import { BlobStore } from './store/blobs';
import { DATA_DIR_MODE } from './store/durable-file';
import { PunchJournal } from './store/journal';
import { StateStore } from './store/state';
import { TerminalSupervisor } from './terminals/supervisor';
import { runningBinaryPath } from './update/running-binary';
import { type UpdateResult, Updater } from './update/updater';
import { VERSION } from './version';

const HOUR_MS = 3_600_000;

export interface GatewayOptions {
  readonly clock?: ClockSource;
  /** Bind the HTTP server here instead of the configured port (tests, lab). */
  readonly httpPort?: number;
  readonly processMetrics?: boolean;
  /** The file the configuration came from; the page writes terminal changes back to it. */
  readonly configFile?: string;
  /** Asks the process to stop in order and exit with `code` (after a self-update: the service restarts it). */
  readonly requestExit?: (code: number) => void;
}

/**
 * The composition root: builds every part from the configuration and injects what each needs.
 * Parts never construct each other; they talk through the injected ports and the event bus.
 */
export class Gateway {
  readonly bus = new EventBus();
  readonly metrics: GatewayMetrics;
  private readonly clock: ClockSource;
  private readonly startedAt: number;
  private state!: StateStore;
  private cursors!: StateStore;
  private journal!: PunchJournal;
  private blobs!: BlobStore;
  private roster!: Roster;
  private pipeline!: PunchPipeline;
  private dedup!: DedupIndex;
  private supervisors: TerminalSupervisor[] = [];
  private outboxes: Array<{ outbox: Outbox; upstream: Upstream }> = [];
  private readonly pipelineTerminals = new Map<string, PipelineTerminal>();
  private partDeps!: PartDeps;
  private settings!: RemoteSettingsStore;
  private readonly reconcilers = new Map<string, Reconciler>();
  private enrolment!: EnrolmentService;
  private terminalConfigs: readonly TerminalConfig[] = [];
  private server: ServerType | undefined;
  private admsServer: AdmsServer | undefined;
  private serialLines: Promise<SerialLineRegistry> | undefined;
  private updaterPart: Updater | undefined;
  private lastUpgrade: { version: string; ok: boolean; detail: string; at: number } | undefined;
  private upgradeCheck: NodeJS.Timeout | undefined;
  private housekeeping: NodeJS.Timeout | undefined;
  private boundPort: number | undefined;

  constructor(
    readonly config: GatewayConfig,
    private readonly logger: Logger,
    private readonly options: GatewayOptions = {},
  ) {
    this.clock = options.clock ?? systemClock;
    this.startedAt = this.clock.now();
    this.metrics = new GatewayMetrics({ processMetrics: options.processMetrics });
  }

  /** The ADMS (`/iclock`) port, when an ADMS terminal is configured. */
  get admsPort(): number | undefined {
    return this.admsServer?.port;
  }

  get httpPort(): number | undefined {
    return this.boundPort;
  }

  /** The roster, for the page and lab mode (platform clients get it through their injected port). */
  get workers(): Roster {
    return this.roster;
  }

  get configFile(): string | undefined {
    return this.options.configFile;
  }

  get punchJournal(): PunchJournal {
    return this.journal;
  }

  get blobStore(): BlobStore {
    return this.blobs;
  }

  get terminals(): readonly TerminalSupervisor[] {
    return this.supervisors;
  }

  reconciler(terminalId: string): Reconciler | undefined {
    return this.reconcilers.get(terminalId);
  }

  get enrolments(): EnrolmentService {
    return this.enrolment;
  }

  terminal(id: string): TerminalSupervisor | undefined {
    return this.supervisors.find((s) => s.id === id);
  }

  upstream(name: UpstreamName): Upstream | undefined {
    return this.outboxes.find((o) => o.upstream.name === name)?.upstream;
  }

  outbox(name: UpstreamName): Outbox | undefined {
    return this.outboxes.find((o) => o.upstream.name === name)?.outbox;
  }

  get dataDir(): string {
    return resolve(this.config.dataDir);
  }

  async start(): Promise<void> {
    const { config, logger, clock } = this;
    await mkdir(this.dataDir, { recursive: true, mode: DATA_DIR_MODE });
    this.state = new StateStore(join(this.dataDir, 'state.json'));
    this.cursors = new StateStore(join(this.dataDir, 'cursors.json'));
    this.blobs = new BlobStore(join(this.dataDir, 'blobs'));
    this.journal = new PunchJournal({
      dir: join(this.dataDir, 'journal'),
      segmentMaxBytes: config.journal.segmentMaxBytes,
      retentionDays: config.journal.retentionDays,
      clock,
      logger: logger.child({ part: 'journal' }),
    });
    this.roster = new Roster({
      file: join(this.dataDir, 'roster.json'),
      blobs: this.blobs,
      bus: this.bus,
      clock,
      logger: logger.child({ part: 'roster' }),
    });
    await Promise.all([this.state.open(), this.cursors.open(), this.blobs.open()]);
    await this.journal.open();
    await this.roster.open();
    this.dedup = new DedupIndex(config.pipeline.dedupWindowDays, () => clock.now());
    await this.dedup.load(this.journal);

    this.pipeline = new PunchPipeline({
      journal: this.journal,
      dedup: this.dedup,
      terminals: this.pipelineTerminals,
      workers: this.roster,
      bus: this.bus,
      clock,
      logger: logger.child({ part: 'pipeline' }),
      metrics: this.metrics,
    });

    this.settings = new RemoteSettingsStore(
      config,
      this.state.slot('settings.remote'),
      logger.child({ part: 'settings' }),
    );
    this.settings.applyStored();
    this.enrolment = new EnrolmentService({
      roster: this.roster,
      terminals: () => this.supervisors,
      logger: logger.child({ part: 'enrolment' }),
      timeoutMs: 120_000,
    });
    this.partDeps = {
      admsServer: this.admsServer,
      clock,
      logger,
      roster: this.roster,
      state: this.state,
      siteTimezone: config.site.timezone,
      lookupWorker: (workerId) => this.roster.identityOf(workerId),
      bus: this.bus,
      serialLines: () => {
        this.serialLines ??= import('../adapters/modbus/serial-line').then((m) => new m.SerialLineRegistry());
        return this.serialLines;
      },
      enrolment: this.enrolment,
      remoteSettings: this.settings,
    };
    const partDeps = this.partDeps;
    await this.installTerminals(config.terminals);
    for (const upstream of await createUpstreams(config, partDeps)) {
      await upstream.start();
      const outbox = new Outbox({
        upstream,
        journal: this.journal,
        cursor: this.cursors.slot<number>(`outbox.${upstream.name}`),
        options: config.outbox,
        logger: logger.child({ part: 'outbox', upstream: upstream.name }),
        metrics: this.metrics,
        clock,
      });
      this.outboxes.push({ outbox, upstream });
    }

    const app = createHttpApp({
      health: () => this.health(),
      metrics: this.metrics,
      metricsToken: config.http.metricsToken,
    });
    // The site manager's page and API (gateway/web), beside /healthz and /metrics.
    await (await import('./web/mount')).mountWebApp(app, this, logger.child({ part: 'web' }));
    const { server, port } = await listen(app, config.http.host, this.options.httpPort ?? config.http.port);
    this.server = server;
    this.boundPort = port;

    this.installUpdater();
    for (const { outbox } of this.outboxes) outbox.start();
    for (const supervisor of this.supervisors) supervisor.start();
    for (const reconciler of this.reconcilers.values()) reconciler.start();
    await this.houseKeep();
    this.housekeeping = setInterval(() => void this.houseKeep(), HOUR_MS);
    this.housekeeping.unref();
    logger.info(
      {
        version: VERSION,
        site: config.site.name,
        dataDir: this.dataDir,
        http: `${config.http.host}:${port}`,
        terminals: this.supervisors.length,
        upstreams: this.outboxes.map((o) => o.upstream.name),
        journalLastSeq: this.journal.lastSeq,
      },
      'gateway started',
    );
  }

  /**
   * Applies an edited terminal list without a restart: removed or changed terminals are stopped,
   * new or changed ones started; untouched ones keep their connection.
   */
  async reloadTerminals(terminals: readonly TerminalConfig[]): Promise<void> {
    const before = new Map(this.terminalConfigs.map((t) => [t.id, JSON.stringify(t)]));
    const after = new Map(terminals.map((t) => [t.id, JSON.stringify(t)]));
    const stale = this.supervisors.filter((s) => before.get(s.id) !== after.get(s.id));
    await Promise.all(stale.map((s) => this.reconcilers.get(s.id)?.stop()));
    for (const s of stale) this.reconcilers.delete(s.id);
    await Promise.all(stale.map((s) => s.stop()));
    await Promise.all(stale.map((s) => s.driver.disconnect().catch(() => undefined)));
    this.supervisors = this.supervisors.filter((s) => !stale.includes(s));
    const keep = new Set(this.supervisors.map((s) => s.id));
    await this.installTerminals(terminals, keep);
    for (const supervisor of this.supervisors) {
      if (keep.has(supervisor.id)) continue;
      supervisor.start();
      this.reconcilers.get(supervisor.id)?.start();
    }
    this.logger.info(
      { stopped: stale.map((s) => s.id), running: this.supervisors.map((s) => s.id) },
      'terminals reloaded',
    );
  }

  /**
   * An enrolment started on the page: captured on the chosen terminal, stored in the roster (the
   * reconcilers copy it to compatible terminals) and uploaded to Deli when the worker is known there.
   */
  async enrolFromPage(
    workerId: string,
    kind: TemplateKind,
    terminalId: string,
    signal?: AbortSignal,
  ): Promise<void> {
    const payload = await this.enrolment.enrol({ gatewayId: workerId }, kind, terminalId, signal);
    const deliUserId = this.roster.get(workerId)?.identities.deliUserId;
    const deli = this.upstream('deli') as
      | (Upstream & { uploadTemplate?: (id: string, k: TemplateKind, d: Uint8Array) => Promise<void> })
      | undefined;
    if (deliUserId && deli?.uploadTemplate) {
      await deli.uploadTemplate(deliUserId, kind, payload.data).catch((error: Error) => {
        this.logger.warn(
          { workerId, kind, error: error.message },
          'enrolled template stored, but not uploaded to Deli',
        );
      });
    }
  }

  /** The self-updater, when running as the packaged binary (from source there is nothing to replace). */
  get updater(): Updater | undefined {
    return this.updaterPart;
  }

  /** Applies a new binary (a Deli offer or a file from the page) and records how it went for health. */
  async recordUpgrade(version: string, attempt: Promise<UpdateResult>): Promise<UpdateResult> {
    const result = await attempt;
    this.lastUpgrade = {
      version,
      ok: result.ok,
      detail: result.ok
        ? `installed ${result.sha256.slice(0, 12)}; restarting`
        : `${result.reason}: ${result.error}`,
      at: this.clock.now(),
    };
    return result;
  }

  private installUpdater(): void {
    const binaryPath = runningBinaryPath();
    this.bus.on('upgrade.offered', (offer) => {
      if (!this.updaterPart) {
        this.logger.warn(
          { version: offer.version },
          'upgrade offered, but this is not the packaged binary: nothing to replace',
        );
        this.lastUpgrade = {
          version: offer.version,
          ok: false,
          detail: 'not running as the packaged binary',
          at: this.clock.now(),
        };
        return;
      }
      void this.recordUpgrade(offer.version, this.updaterPart.applyOffer(offer));
    });
    if (!binaryPath) return;
    this.updaterPart = new Updater({
      logger: this.logger.child({ part: 'updater' }),
      binaryPath,
      currentVersion: VERSION,
      exit: (code) => (this.options.requestExit ? this.options.requestExit(code) : process.exit(code)),
    });
    // Ask Deli once a day whether a newer build exists (it also broadcasts 202 on its own).
    const deli = this.upstream('deli') as (Upstream & { checkForUpgrade?: () => Promise<void> }) | undefined;
    if (deli?.checkForUpgrade) {
      this.upgradeCheck = setInterval(
        () => void deli.checkForUpgrade?.().catch(() => undefined),
        24 * HOUR_MS,
      );
      this.upgradeCheck.unref();
    }
  }

  /** One /iclock server for every ADMS terminal, started with the first one (also when added live). */
  private async ensureAdmsServer(): Promise<void> {
    if (this.admsServer) return;
    const { AdmsServer } = await import('../adapters/adms/server');
    const server = new AdmsServer(this.config.adms, {
      logger: this.logger.child({ part: 'adms' }),
      clock: this.clock,
      state: this.state,
    });
    await server.start();
    this.admsServer = server;
    this.partDeps = { ...this.partDeps, admsServer: server };
  }

  private async installTerminals(
    terminals: readonly TerminalConfig[],
    keep: ReadonlySet<string> = new Set(),
  ): Promise<void> {
    const { config, clock, logger } = this;
    this.terminalConfigs = terminals;
    this.pipelineTerminals.clear();
    for (const t of terminals) {
      this.pipelineTerminals.set(t.id, {
        id: t.id,
        kind: t.driver,
        direction: t.direction,
        timezone: t.timezone ?? config.site.timezone,
      });
    }
    for (const terminal of terminals) {
      if (!terminal.enabled || keep.has(terminal.id)) continue;
      if (terminal.driver === 'adms') await this.ensureAdmsServer();
      const driver = await createDriver(terminal, this.partDeps);
      const supervisor = new TerminalSupervisor({
        driver,
        options: {
          pollSeconds: terminal.pollSeconds,
          clockToleranceSeconds: terminal.clockToleranceSeconds,
          syncClock: terminal.syncClock,
          timezone: terminal.timezone ?? config.site.timezone,
        },
        pipeline: this.pipeline,
        cursor: this.state.slot<PunchCursor | null>(`terminal.${terminal.id}.cursor`),
        bus: this.bus,
        metrics: this.metrics,
        clock,
        logger: logger.child({ part: 'terminal', terminalId: terminal.id }),
      });
      this.supervisors.push(supervisor);
      this.reconcilers.set(
        terminal.id,
        new Reconciler({
          terminalId: terminal.id,
          driver,
          roster: this.roster,
          blobs: this.blobs,
          state: this.state.slot(`reconciler.${terminal.id}`),
          bus: this.bus,
          clock,
          logger: logger.child({ part: 'reconciler', terminalId: terminal.id }),
          options: config.reconcile,
          isOnline: () => supervisor.status().online,
        }),
      );
    }
  }

  /** Stops taking punches first, then lets in-flight deliveries settle, then closes files. */
  async stop(): Promise<void> {
    clearInterval(this.housekeeping);
    clearInterval(this.upgradeCheck);
    // Reconcilers take no new pass from here on, but one in flight may be waiting on a terminal
    // (an ADMS command waits for the device to call in): stopping the supervisors disconnects the
    // drivers, which fails such waits at once, and only then are the reconcilers awaited.
    const reconcilersStopped = Promise.all([...this.reconcilers.values()].map((r) => r.stop()));
    await Promise.all(this.supervisors.map((s) => s.stop()));
    await this.admsServer?.stop();
    await reconcilersStopped;
    await Promise.all(this.outboxes.map(({ outbox }) => outbox.stop()));
    await Promise.all(this.outboxes.map(({ upstream }) => upstream.stop().catch(() => undefined)));
    if (this.server) await closeServer(this.server);
    this.pipeline?.stop();
    await this.journal?.close();
    this.logger.info({ journalLastSeq: this.journal?.lastSeq }, 'gateway stopped');
  }

  health(): HealthReport {
    const terminals = this.supervisors.map((s) => ({
      ...s.status(),
      roster: this.reconcilers.get(s.id)?.status(),
    }));
    const upstreams: UpstreamReport[] = this.outboxes.map(({ outbox, upstream }) => ({
      ...outbox.status(),
      enabled: true,
      health: upstream.health(),
    }));
    const alerts = alertsOf(terminals, upstreams, this.journal.corruptLines, this.pipeline.unmatchedPins());
    for (const store of [this.state, this.cursors]) {
      if (store.lastWriteError)
        alerts.unshift(`data disk: cannot save ${store.name} (${store.lastWriteError.message})`);
    }
    if (this.lastUpgrade && !this.lastUpgrade.ok)
      alerts.push(`upgrade to ${this.lastUpgrade.version} failed: ${this.lastUpgrade.detail}`);
    const journalProblem = this.pipeline.journalProblem();
    if (journalProblem) {
      alerts.unshift(
        `journal cannot store punches (${journalProblem.message}); ${journalProblem.held} held in memory, the rest wait in the terminals`,
      );
    }
    return {
      status: alerts.length === 0 ? 'ok' : 'degraded',
      version: VERSION,
      site: this.config.site.name,
      uptimeSeconds: Math.round((this.clock.now() - this.startedAt) / 1000),
      journal: {
        lastSeq: this.journal.lastSeq,
        segments: this.journal.segmentList.length,
        corruptLines: this.journal.corruptLines,
      },
      terminals,
      upstreams,
      alerts,
    };
  }

  /** Retention: a segment goes once every upstream passed it and it is old enough. */
  private async houseKeep(): Promise<void> {
    try {
      const cursors = this.outboxes.map(({ outbox }) => outbox.cursor);
      const acked = cursors.length > 0 ? Math.min(...cursors) : this.journal.lastSeq;
      await this.journal.prune(acked);
      this.dedup.prune();
    } catch (error) {
      this.logger.error({ error: (error as Error).message }, 'housekeeping failed');
    }
  }
}

async function createUpstreams(config: GatewayConfig, deps: PartDeps): Promise<Upstream[]> {
  const upstreams: Upstream[] = [];
  if (config.upstreams.sichuan.enabled) upstreams.push(await createUpstream('sichuan', config, deps));
  if (config.upstreams.deli.enabled) upstreams.push(await createUpstream('deli', config, deps));
  return upstreams;
}
