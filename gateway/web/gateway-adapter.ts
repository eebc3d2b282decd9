import type { Gateway } from '../controller';
import type { Logger, UpstreamName } from '../model';
import { PunchIndexFeed } from '../query/index-feed';
import type { RegistrationPort, WebDeps } from './deps';

/**
 * The adapter from the running gateway to the page's port (`WebDeps`): the one place that knows
 * both. Call it after the gateway opened its journal and roster.
 */
export function adaptGateway(gateway: Gateway, logger: Logger): WebDeps {
  const punches = new PunchIndexFeed({ journal: gateway.punchJournal, bus: gateway.bus, logger });
  const { config } = gateway;
  const names: UpstreamName[] = ['sichuan', 'deli'];
  return {
    siteName: config.site.name,
    timezone: config.site.timezone,
    dataDir: gateway.dataDir,
    adminPasswordHash: config.http.adminPasswordHash,
    apiToken: config.http.apiToken,
    configFile: gateway.configFile,
    logger,
    punches,
    roster: gateway.workers,
    health: () => gateway.health(),
    terminals: () => gateway.terminals,
    terminal: (id) => gateway.terminal(id),
    reloadTerminals: (terminals) => gateway.reloadTerminals(terminals),
    registration: () => {
      const upstream = gateway.upstream('sichuan') as Partial<RegistrationPort> | undefined;
      return upstream && typeof upstream.register === 'function' ? (upstream as RegistrationPort) : undefined;
    },
    upstreamNames: () => names.filter((n) => gateway.outbox(n) !== undefined),
    outboxCursor: (name) => gateway.outbox(name)?.cursor,
    retryNow: (name) => {
      const outbox = gateway.outbox(name);
      outbox?.retryNow();
      return outbox !== undefined;
    },
    clockTolerance: (id) => config.terminals.find((t) => t.id === id)?.clockToleranceSeconds,
    reconcileNow: async (terminalId) => {
      const reconciler = gateway.reconciler(terminalId);
      if (!reconciler) throw new Error(`terminal ${terminalId} has no reconciler`);
      reconciler.requestRun();
    },
    terminalsHolding: (workerId) => {
      const worker = gateway.workers.get(workerId);
      if (!worker) return [];
      return gateway.terminals.map((t) => t.id).filter((id) => gateway.reconciler(id)?.holds(worker.pin));
    },
    rosterSyncState: (terminalId) => {
      const status = gateway.reconciler(terminalId)?.status();
      if (!status) return undefined;
      if (!status.applicable) return 'n/a';
      if (status.full) return `full (${status.pending} pending)`;
      if (status.lastError) return `error: ${status.lastError}`;
      return status.inSync ? 'in sync' : `${status.pending} pending`;
    },
    enrol: (workerId, kind, terminalId, signal) => gateway.enrolFromPage(workerId, kind, terminalId, signal),
  };
}
