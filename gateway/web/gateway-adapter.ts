import type { GatewayConfig, TerminalConfig } from '../../config/schema';
import type { EventBus } from '../events';
import type { HealthReport } from '../http/health';
import type { Logger } from '../model';
import type { PunchReader } from '../query/punch-query';
import type { AttendanceSheets } from '../reports/attendance';
import type { EnrolmentService } from '../roster/enrolment';
import type { Roster } from '../roster/roster';
import type { TerminalSet } from '../terminals/terminal-set';
import type { UpstreamSet } from '../upstreams/upstream-set';
import type { WebDeps } from './port';

/** The running parts the page is built on; the composition root hands them over once they are open. */
export interface PageParts {
  readonly config: GatewayConfig;
  readonly dataDir: string;
  readonly configFile?: string;
  /** The query store: the punches the page lists, counts and exports. */
  readonly punches: PunchReader;
  /** The attendance sheets, read from the query store. */
  readonly reports: AttendanceSheets;
  readonly bus: EventBus;
  readonly roster: Roster;
  readonly terminals: TerminalSet;
  readonly upstreams: UpstreamSet;
  readonly enrolment: EnrolmentService;
  health(): HealthReport;
  /** Applies an edited terminal list live. */
  reloadTerminals(terminals: readonly TerminalConfig[]): Promise<void>;
}

/**
 * The adapter from the running parts to the page's port (`WebDeps`): the one place that knows
 * both. Call it after the journal and roster are open.
 */
export function adaptGateway(parts: PageParts, logger: Logger): WebDeps {
  const { config, terminals, upstreams, roster } = parts;
  // Kept here, as the page edits the terminal list live through `reloadTerminals`.
  const names = new Map(config.terminals.map((t) => [t.id, t.name]));
  return {
    siteName: config.site.name,
    timezone: config.site.timezone,
    nightShiftHours: config.reports.nightShiftHours,
    sheetMonths: config.retention.punchYears * 12,
    dataDir: parts.dataDir,
    adminPasswordHash: config.http.adminPasswordHash,
    apiToken: config.http.apiToken,
    configFile: parts.configFile,
    logger,
    punches: parts.punches,
    reports: parts.reports,
    roster,
    health: () => parts.health(),
    terminals: () => terminals.list(),
    terminal: (id) => terminals.get(id),
    reloadTerminals: async (list) => {
      await parts.reloadTerminals(list);
      names.clear();
      for (const t of list) names.set(t.id, t.name);
    },
    registration: () => upstreams.registration(),
    upstreamNames: () => upstreams.names,
    outboxCursor: (name) => upstreams.outbox(name)?.cursor,
    retryNow: (name) => {
      const outbox = upstreams.outbox(name);
      outbox?.retryNow();
      return outbox !== undefined;
    },
    clockTolerance: (id) => config.terminals.find((t) => t.id === id)?.clockToleranceSeconds,
    reconcileNow: async (terminalId) => {
      const reconciler = terminals.reconciler(terminalId);
      if (!reconciler) throw new Error(`terminal ${terminalId} has no reconciler`);
      reconciler.requestRun();
    },
    terminalsHolding: (workerId) => {
      const worker = roster.get(workerId);
      if (!worker) return [];
      return terminals
        .list()
        .map((t) => t.id)
        .filter((id) => terminals.reconciler(id)?.holds(worker.pin));
    },
    rosterSyncState: (terminalId) => {
      const status = terminals.reconciler(terminalId)?.status();
      if (!status) return undefined;
      if (!status.applicable) return { kind: 'notApplicable' };
      if (status.full) return { kind: 'full', pending: status.pending };
      if (status.lastError) return { kind: 'error', pending: status.pending, error: status.lastError };
      return status.inSync ? { kind: 'inSync' } : { kind: 'pending', pending: status.pending };
    },
    terminalName: (terminalId) => names.get(terminalId) || undefined,
    enrol: (workerId, kind, terminalId, signal) =>
      parts.enrolment.enrolFromPage(workerId, kind, terminalId, signal),
  };
}
