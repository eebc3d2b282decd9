import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { ServerType } from '@hono/node-server';
import type { GatewayConfig, TerminalConfig } from '../config/schema';
import { systemClock } from '../lib/clock';
import { EventBus } from './events';
import { AlertWatch } from './fleet/alert-watch';
import { adaptBox } from './fleet/box-adapter';
import { FleetPart } from './fleet/fleet-part';
import { createHttpApp } from './http/app';
import type { HealthReport } from './http/health';
import { HealthService } from './http/health-service';
import { closeServer, listen } from './http/server';
import { DocumentHeap, MemorySettle } from './memory-settle';
import { GatewayMetrics } from './metrics';
import type { ClockSource, Logger, Upstream, UpstreamName } from './model';
import { CursorLog } from './outbox/cursor-log';
import type { Outbox } from './outbox/outbox';
import { DedupIndex } from './pipeline/dedup-index';
import { type PipelineTerminal, PunchPipeline } from './pipeline/pipeline';
import { QUERY_STORE_FILE, QueryStore } from './query/query-store';
import { RemoteSettingsStore } from './remote-settings';
import { AttendanceReports } from './reports/attendance';
import { EnrolmentService } from './roster/enrolment';
import type { Reconciler } from './roster/reconciler';
import { Roster } from './roster/roster';
import { BlobStore } from './store/blobs';
import { DATA_DIR_MODE } from './store/durable-file';
import { Housekeeping } from './store/housekeeping';
import { PunchJournal } from './store/journal';
import { RECONCILER_DIR, ReconcilerRecords } from './store/reconciler-records';
import { StateStore } from './store/state';
import { TerminalFamilies } from './terminals/families';
import type { TerminalSupervisor } from './terminals/supervisor';
import { TerminalSet } from './terminals/terminal-set';
import { SelfUpdate } from './update/self-update';
import { loopbackHealthUrl } from './update/trial';
import { RESTART_EXIT_CODE } from './update/updater';
import { UpstreamSet } from './upstreams/upstream-set';
import { VERSION } from './version';
import type { MountedPage } from './web/mount';

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

/** Every part of a running gateway, built once by `Gateway.build`. */
interface Parts {
  readonly state: StateStore;
  readonly reconcilerRecords: ReconcilerRecords;
  readonly cursors: CursorLog;
  readonly blobs: BlobStore;
  readonly journal: PunchJournal;
  readonly roster: Roster;
  readonly dedup: DedupIndex;
  readonly pipeline: PunchPipeline;
  readonly settings: RemoteSettingsStore;
  readonly enrolment: EnrolmentService;
  readonly families: TerminalFamilies;
  readonly terminals: TerminalSet;
  readonly upstreams: UpstreamSet;
  readonly selfUpdate: SelfUpdate;
  readonly housekeeping: Housekeeping;
  readonly queryStore: QueryStore;
  readonly reports: AttendanceReports;
  readonly health: HealthService;
  readonly alertWatch: AlertWatch;
  readonly fleet: FleetPart;
  readonly memorySettle: MemorySettle;
  readonly documentsHeap: DocumentHeap;
}

/**
 * The composition root, as zigbee2mqtt's controller: it builds every part from the configuration,
 * injects what each needs, and starts and stops them in order. It holds no feature of its own; parts
 * talk through the injected ports and the event bus. The getters below are for lab mode and tests.
 */
export class Gateway {
  readonly bus = new EventBus();
  readonly metrics: GatewayMetrics;
  private readonly clock: ClockSource;
  private parts: Parts | undefined;
  private server: ServerType | undefined;
  private page: MountedPage | undefined;
  private boundPort: number | undefined;

  constructor(
    readonly config: GatewayConfig,
    private readonly logger: Logger,
    private readonly options: GatewayOptions = {},
  ) {
    this.clock = options.clock ?? systemClock;
    this.metrics = new GatewayMetrics({ processMetrics: options.processMetrics });
  }

  get dataDir(): string {
    return resolve(this.config.dataDir);
  }

  async start(): Promise<void> {
    const { config, logger } = this;
    await mkdir(this.dataDir, { recursive: true, mode: DATA_DIR_MODE });
    const parts = this.build();
    this.parts = parts;
    parts.health.start();
    // Stores first: nothing may take a punch before the journal and the roster are open.
    await Promise.all([parts.state.open(), parts.cursors.open(), parts.blobs.open()]);
    await parts.reconcilerRecords.open();
    await parts.journal.open();
    await parts.roster.open();
    // In the background: opens or rebuilds the page's SQLite store and catches up with the journal.
    parts.queryStore.start();
    // In the background too, after a pause: the attendance sheet's cache of counted days.
    parts.reports.start();
    await parts.dedup.load(parts.journal);
    parts.settings.applyStored();
    await parts.terminals.install(config.terminals);
    await parts.upstreams.start();

    let page: MountedPage | undefined;
    const app = createHttpApp({
      health: () => parts.health.report(),
      metrics: this.metrics,
      metricsToken: config.http.metricsToken,
      apiToken: config.http.apiToken,
      allowedHosts: config.http.allowedHosts,
      listenHost: config.http.host,
      signedIn: (c) => page?.signedIn(c) ?? false,
    });
    // The site manager's page and API (gateway/web), beside /healthz and /metrics; loaded on demand.
    const { mountWebApp } = await import('./web/mount');
    page = await mountWebApp(
      app,
      {
        config,
        dataDir: this.dataDir,
        configFile: this.options.configFile,
        punches: parts.queryStore,
        reports: parts.reports,
        bus: this.bus,
        roster: parts.roster,
        terminals: parts.terminals,
        upstreams: parts.upstreams,
        enrolment: parts.enrolment,
        health: () => parts.health.report(),
        reloadTerminals: (terminals) => this.reloadTerminals(terminals),
      },
      logger.child({ part: 'web' }),
    );
    this.page = page;
    const { server, port } = await listen(app, config.http.host, this.options.httpPort ?? config.http.port);
    this.server = server;
    this.boundPort = port;

    await parts.selfUpdate.start();
    parts.upstreams.startDelivery();
    parts.terminals.start();
    await parts.housekeeping.start();
    parts.alertWatch.start();
    await parts.fleet.start();
    parts.memorySettle.start();
    logger.info(
      {
        version: VERSION,
        site: config.site.name,
        dataDir: this.dataDir,
        http: `${config.http.host}:${port}`,
        terminals: parts.terminals.list().length,
        upstreams: parts.upstreams.names,
        journalLastSeq: parts.journal.lastSeq,
      },
      'gateway started',
    );
  }

  /** Stops taking punches first, then lets in-flight deliveries settle, then closes files. */
  async stop(): Promise<void> {
    const parts = this.parts;
    if (!parts) return;
    // First, while the broker can still hear it: the retained status says "stopped", not the will's "lost".
    await parts.fleet.stop();
    parts.memorySettle.stop();
    parts.alertWatch.stop();
    parts.housekeeping.stop();
    parts.selfUpdate.stop();
    await parts.terminals.stop();
    await parts.upstreams.stop();
    await parts.cursors.close();
    if (this.server) await closeServer(this.server);
    await this.page?.stop();
    parts.pipeline.stop();
    await parts.reports.stop();
    parts.documentsHeap.stop();
    await parts.queryStore.stop();
    await parts.journal.close();
    this.logger.info({ journalLastSeq: parts.journal.lastSeq }, 'gateway stopped');
  }

  /** Applies an edited terminal list without a restart (the page's terminal editor). */
  reloadTerminals(terminals: readonly TerminalConfig[]): Promise<void> {
    return this.running.terminals.reload(terminals);
  }

  health(): HealthReport {
    return this.running.health.report();
  }

  get httpPort(): number | undefined {
    return this.boundPort;
  }

  /** The ADMS (`/iclock`) port, when an ADMS terminal is configured. */
  get admsPort(): number | undefined {
    return this.parts?.families.admsPort;
  }

  get workers(): Roster {
    return this.running.roster;
  }

  get punchJournal(): PunchJournal {
    return this.running.journal;
  }

  /** Writes what the journal has queued and closes it (a crashing process); nothing before start. */
  async flushJournal(): Promise<void> {
    await this.parts?.journal.close();
  }

  get terminals(): readonly TerminalSupervisor[] {
    return this.running.terminals.list();
  }

  terminal(id: string): TerminalSupervisor | undefined {
    return this.running.terminals.get(id);
  }

  reconciler(terminalId: string): Reconciler | undefined {
    return this.running.terminals.reconciler(terminalId);
  }

  upstream(name: UpstreamName): Upstream | undefined {
    return this.running.upstreams.upstream(name);
  }

  outbox(name: UpstreamName): Outbox | undefined {
    return this.running.upstreams.outbox(name);
  }

  private get running(): Parts {
    if (!this.parts) throw new Error('the gateway has not been started');
    return this.parts;
  }

  /**
   * Builds every part; constructors only assign, so nothing here touches a file or a socket. Parts
   * that need each other late (enrolment lists terminals, terminals ask what upstreams acknowledged)
   * get a function, called only once everything is running.
   */
  private build(): Parts {
    const { config, logger, clock, bus, metrics } = this;
    const dataDir = this.dataDir;
    const state = new StateStore(join(dataDir, 'state.json'));
    const reconcilerRecords = new ReconcilerRecords({
      dir: join(dataDir, RECONCILER_DIR),
      state,
      logger: logger.child({ part: 'reconciler-records' }),
    });
    const cursors = new CursorLog({ dir: dataDir, logger: logger.child({ part: 'cursors' }) });
    const blobs = new BlobStore(join(dataDir, 'blobs'));
    const journal = new PunchJournal({
      dir: join(dataDir, 'journal'),
      segmentMaxBytes: config.journal.segmentMaxBytes,
      retentionDays: config.journal.retentionDays,
      clock,
      logger: logger.child({ part: 'journal' }),
    });
    const roster = new Roster({
      file: join(dataDir, 'roster.json'),
      blobs,
      bus,
      clock,
      logger: logger.child({ part: 'roster' }),
    });
    const dedup = new DedupIndex(config.pipeline.dedupWindowDays, () => clock.now());
    const pipelineTerminals = new Map<string, PipelineTerminal>();
    const pipeline = new PunchPipeline({
      journal,
      dedup,
      terminals: pipelineTerminals,
      workers: roster,
      bus,
      clock,
      logger: logger.child({ part: 'pipeline' }),
      metrics,
    });
    const settings = new RemoteSettingsStore(
      config,
      state.slot('settings.remote'),
      logger.child({ part: 'settings' }),
    );
    const families = new TerminalFamilies({ config, clock, logger, state });
    const terminals: TerminalSet = new TerminalSet({
      config,
      families,
      pipeline,
      pipelineTerminals,
      roster,
      blobs,
      state,
      reconcilerRecords,
      bus,
      metrics,
      clock,
      logger,
      journalLastSeq: () => journal.lastSeq,
      upstreamsPassed: (seq) => upstreams.passed(seq),
      journalTrouble: () => pipeline.journalProblem() !== undefined,
    });
    const enrolment: EnrolmentService = new EnrolmentService({
      roster,
      terminals: () => terminals.list(),
      logger: logger.child({ part: 'enrolment' }),
      timeoutMs: 120_000,
      templateUpload: () => upstreams.templateUpload(),
    });
    const upstreams: UpstreamSet = new UpstreamSet({
      config,
      journal,
      cursors,
      metrics,
      clock,
      logger,
      roster,
      state,
      lookupWorker: (workerId) => roster.identityOf(workerId),
      bus,
      enrolment,
      remoteSettings: settings,
    });
    const selfUpdate: SelfUpdate = new SelfUpdate({
      bus,
      clock,
      logger: logger.child({ part: 'updater' }),
      allowInsecureHttp: config.update.allowInsecureHttp,
      confirmWithinMs: config.update.confirmWithinSeconds * 1000,
      upgradeCheck: () => upstreams.upgradeCheck(),
      healthUrl: () =>
        this.boundPort === undefined ? undefined : loopbackHealthUrl(config.http.host, this.boundPort),
      health: () => health.report(),
      journalProblem: () => pipeline.journalProblem()?.message,
      exit: (code) => (this.options.requestExit ? this.options.requestExit(code) : process.exit(code)),
    });
    const queryStore = new QueryStore({
      file: join(dataDir, QUERY_STORE_FILE),
      journal,
      bus,
      workers: roster,
      punchYears: config.retention.punchYears,
      clock,
      logger: logger.child({ part: 'query-store' }),
    });
    const documentsHeap = new DocumentHeap();
    const reports = new AttendanceReports({
      documentsHeap,
      punches: queryStore,
      workers: roster,
      timezone: config.site.timezone,
      nightShiftHours: config.reports.nightShiftHours,
      clock,
      bus,
      logger: logger.child({ part: 'reports' }),
    });
    const housekeeping = new Housekeeping({
      journal,
      dedup,
      acknowledged: () => upstreams.acknowledgedByAll(),
      queryStoreHolds: () => queryStore.holds(),
      logger,
    });
    const health: HealthService = new HealthService({
      siteName: config.site.name,
      clock,
      journal,
      pipeline,
      stores: [state, cursors, reconcilerRecords],
      terminals: () => terminals.reports(),
      upstreams: () => upstreams.reports(),
      moreAlerts: () => [...selfUpdate.alerts(), ...queryStore.alerts()],
    });
    const alertWatch = new AlertWatch({ bus, alerts: () => health.report().alerts });
    const fleet = new FleetPart({
      config: config.fleet,
      box: adaptBox({
        config,
        roster,
        terminals,
        upstreams,
        settings,
        health: () => health.report(),
        restart: () =>
          this.options.requestExit
            ? this.options.requestExit(RESTART_EXIT_CODE)
            : process.exit(RESTART_EXIT_CODE),
      }),
      bus,
      nonces: state.slot('fleet.commandNonces'),
      clock,
      logger: logger.child({ part: 'fleet' }),
      version: VERSION,
    });
    const memorySettle = new MemorySettle({
      // The attendance cache's first fill (an upgraded box counts years of days once) allocates more
      // than the terminals' start-up: collecting before it ends left a 10 M-punch box idling 76 MB
      // above an empty one (docs/history.md).
      settled: () => terminals.startupDone() && reports.cacheFilled,
      // A terminal that never answers, or a store that never opens, must not keep the box unsettled.
      giveUpMs: 5 * 60_000,
      logger: logger.child({ part: 'memory' }),
    });
    return {
      state,
      reconcilerRecords,
      cursors,
      blobs,
      journal,
      roster,
      dedup,
      pipeline,
      settings,
      enrolment,
      families,
      terminals,
      upstreams,
      selfUpdate,
      housekeeping,
      queryStore,
      reports,
      health,
      alertWatch,
      fleet,
      memorySettle,
      documentsHeap,
    };
  }
}
