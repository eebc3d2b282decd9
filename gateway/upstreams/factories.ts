import type { GatewayConfig } from '../../config/schema';
import type { EventBus } from '../events';
import type {
  ClockSource,
  EnrolmentPort,
  Logger,
  RosterPort,
  StatePort,
  UpstreamName,
  WorkerIdentity,
} from '../model';
import type { RemoteSettingsStore } from '../remote-settings';
import { VERSION } from '../version';
import type { UpstreamPart } from './capabilities';

/** What the composition root offers every upstream it builds. */
export interface UpstreamDeps {
  readonly clock: ClockSource;
  readonly logger: Logger;
  readonly roster: RosterPort;
  readonly state: StatePort;
  readonly lookupWorker: (workerId: string) => WorkerIdentity | undefined;
  readonly bus: EventBus;
  readonly enrolment: EnrolmentPort;
  readonly remoteSettings: RemoteSettingsStore;
}

/**
 * Each factory loads its platform's code on first use, so a box with only Sichuan never loads MQTT
 * (the single-file binary's memory is the limit that matters). The list is written out here, one
 * entry per platform this build supports.
 */
type UpstreamFactory = (config: GatewayConfig, deps: UpstreamDeps) => Promise<UpstreamPart>;

const UPSTREAMS: Record<UpstreamName, UpstreamFactory> = {
  sichuan: async (config, deps) => {
    const sichuan = config.upstreams.sichuan;
    // The schema has checked what an enabled platform needs; its client takes only that type and
    // repeats no check. createUpstreams asks only for enabled platforms.
    if (!sichuan.enabled) throw new Error('upstreams.sichuan is not enabled');
    const { SichuanUpstream } = await import('../../cloud/sichuan/upstream');
    const upstream = new SichuanUpstream(sichuan, {
      ...deps,
      siteTimezone: config.site.timezone,
      // One retry policy for the box: the platform's own backoff follows the outbox settings
      // (the outbox also never waits less than its own back-off, nor more than maxBackoffMs).
      timing: { backoffInitialMs: config.outbox.initialBackoffMs, backoffMaxMs: config.outbox.maxBackoffMs },
    });
    return { upstream, registration: upstream };
  },
  deli: async (config, deps) => {
    const deli = config.upstreams.deli;
    if (!deli.enabled) throw new Error('upstreams.deli is not enabled');
    const { DeliUpstream } = await import('../../cloud/deli/upstream');
    // Check-ins flow only while the link is up: a reconnect wait longer than the outbox's longest
    // back-off would break the promise to resume within outbox.maxBackoffMs.
    const reconnectMaxMs = Math.min(deli.reconnectMaxMs, config.outbox.maxBackoffMs);
    const upstream = new DeliUpstream(
      { ...deli, reconnectMinMs: Math.min(deli.reconnectMinMs, reconnectMaxMs), reconnectMaxMs },
      {
        ...deps,
        onUpgrade: (offer) => deps.bus.emit('upgrade.offered', offer),
        currentVersion: VERSION,
      },
    );
    return {
      upstream,
      upgradeCheck: upstream,
      templateUpload: {
        uploadTemplate: async (worker, kind, data) => {
          if (worker.deliUserId) await upstream.uploadTemplate(worker.deliUserId, kind, data);
        },
      },
    };
  },
};

/** One platform's client, built as the gateway builds it (the outbox settings reach it). */
export function createUpstream(
  name: UpstreamName,
  config: GatewayConfig,
  deps: UpstreamDeps,
): Promise<UpstreamPart> {
  return UPSTREAMS[name](config, { ...deps, logger: deps.logger.child({ upstream: name }) });
}

/** The enabled upstreams, in a fixed order (Sichuan, then Deli). */
export async function createUpstreams(config: GatewayConfig, deps: UpstreamDeps): Promise<UpstreamPart[]> {
  const parts: UpstreamPart[] = [];
  for (const name of ['sichuan', 'deli'] as const) {
    if (config.upstreams[name].enabled) parts.push(await createUpstream(name, config, deps));
  }
  return parts;
}
