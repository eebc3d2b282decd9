import type { GatewayConfig } from '../../config/schema';
import type { HealthReport } from '../http/health';
import type { UpstreamName } from '../model';
import type { RemoteSettingsStore } from '../remote-settings';
import type { Roster } from '../roster/roster';
import type { TerminalSet } from '../terminals/terminal-set';
import type { UpstreamSet } from '../upstreams/upstream-set';
import type { FleetBox } from './port';

/** The running parts the fleet link is built on; the composition root hands them over. */
export interface FleetBoxParts {
  readonly config: GatewayConfig;
  readonly roster: Roster;
  readonly terminals: TerminalSet;
  readonly upstreams: UpstreamSet;
  readonly settings: RemoteSettingsStore;
  health(): HealthReport;
  restart(): void;
}

/** The adapter from the running parts to the fleet link's port (`FleetBox`): the one place that knows both. */
export function adaptBox(parts: FleetBoxParts): FleetBox {
  const { config, roster, terminals, upstreams, settings } = parts;
  return {
    health: () => parts.health(),
    personalTerms: () =>
      roster.list().flatMap((w) => (w.identities.idCardNo ? [w.name, w.identities.idCardNo] : [w.name])),
    config: () => config,
    reconcileNow: (terminalId) => {
      const ids = terminalId === undefined ? terminals.list().map((t) => t.id) : [terminalId];
      const reconcilers = ids.map((id) => {
        const reconciler = terminals.reconciler(id);
        if (!reconciler) throw new Error(`no running terminal "${id}"`);
        return reconciler;
      });
      for (const reconciler of reconcilers) reconciler.requestRun();
      return ids;
    },
    retryUpstream: (name) => {
      const outbox = upstreams.names.includes(name as UpstreamName)
        ? upstreams.outbox(name as UpstreamName)
        : undefined;
      outbox?.retryNow();
      return outbox !== undefined;
    },
    checkForUpdate: async () => {
      const check = upstreams.upgradeCheck();
      if (!check) throw new Error('no enabled platform offers updates (Deli does)');
      await check.checkForUpgrade();
    },
    settings: {
      get: () => settings.get(),
      set: (key, value) => settings.set(key, value),
    },
    restart: () => parts.restart(),
  };
}
