/**
 * A delivery path as the gateway builds it, without the rest of the box: a real journal on disk,
 * the real cursor log, an Outbox and a platform client made by `gateway/upstreams/factories.ts`.
 * Used by the outbox tests, the outbox crash test's child process and the drain benchmarks.
 */
import { join } from 'node:path';
import { validateConfig } from '../../config/load';
import type { GatewayConfig } from '../../config/schema';
import { EventBus } from '../../gateway/events';
import { GatewayMetrics } from '../../gateway/metrics';
import type {
  Logger,
  PunchDraft,
  StatePort,
  StateSlot,
  Upstream,
  UpstreamName,
  WorkerIdentity,
} from '../../gateway/model';
import type { CursorLog } from '../../gateway/outbox/cursor-log';
import { Outbox } from '../../gateway/outbox/outbox';
import { RemoteSettingsStore } from '../../gateway/remote-settings';
import { PunchJournal } from '../../gateway/store/journal';
import { createUpstream } from '../../gateway/upstreams/factories';

export const SICHUAN = {
  sn: 'GW-OUTBOX-1',
  deviceKey: 'outbox-key',
  sm4Key: '0123456789abcdeffedcba9876543210',
};
export const DELI = { deviceId: 'kq01_GW-OUTBOX-1', appId: 'outbox-app', orgId: '1000001' };

/** Platform state the clients keep (clock offsets, watermarks): not what these tests look at. */
class MemoryState implements StatePort {
  private readonly values = new Map<string, unknown>();
  slot<T>(key: string): StateSlot<T> {
    return {
      get: () => this.values.get(key) as T | undefined,
      set: async (value: T) => {
        this.values.set(key, value);
      },
    };
  }
}

/** Worker wN is Sichuan user SN and Deli user N. */
export function lookupWorker(workerId: string): WorkerIdentity | undefined {
  const n = /^w(\d+)$/.exec(workerId)?.[1];
  return n ? { gatewayId: workerId, sichuanUserId: `S${n}`, deliUserId: n } : undefined;
}

export function gatewayConfig(dataDir: string, document: Record<string, unknown>): GatewayConfig {
  const result = validateConfig({ site: { name: 'outbox rig' }, dataDir, ...document });
  if (!result.ok) throw new Error(result.problems.join('\n'));
  return result.config;
}

/** The gateway's configuration for one platform: Sichuan at `endpoint` (its base URL) or Deli at `endpoint` (its broker). */
export function platformConfig(
  name: UpstreamName,
  dataDir: string,
  endpoint: string,
  outbox: Record<string, number> = {},
): GatewayConfig {
  const upstreams =
    name === 'sichuan'
      ? { sichuan: { enabled: true, baseUrl: endpoint, ...SICHUAN, heartbeatSeconds: 3600 } }
      : { deli: { enabled: true, brokerUrl: endpoint, ...DELI } };
  return gatewayConfig(dataDir, {
    outbox: { initialBackoffMs: 50, maxBackoffMs: 500, ...outbox },
    upstreams,
  });
}

/** The platform client exactly as the gateway builds it, started. */
export async function platformClient(
  name: UpstreamName,
  config: GatewayConfig,
  logger: Logger,
): Promise<Upstream> {
  const state = new MemoryState();
  const { upstream } = await createUpstream(name, config, {
    clock: { now: () => Date.now() },
    logger,
    roster: { apply: async () => undefined, replaceSource: async () => undefined },
    state,
    lookupWorker,
    bus: new EventBus(),
    enrolment: { enrol: () => Promise.reject(new Error('no terminal can enrol here')) },
    remoteSettings: new RemoteSettingsStore(config, state.slot('settings'), logger),
  });
  await upstream.start();
  return upstream;
}

/** Punch `n` of a backlog: worker wN at its own second, so each one is a record of its own at either platform. */
export function backlogPunch(n: number): PunchDraft {
  const atMs = Date.UTC(2026, 2, 1, 0, 0, 0) + n * 1000;
  return {
    key: `t1|${n}`,
    terminalId: 't1',
    pin: String(n),
    workerId: `w${n}`,
    direction: n % 2 === 0 ? 'in' : 'out',
    method: n % 2 === 0 ? 'fp' : 'fa',
    atMs,
    source: 'poll',
    flags: [],
    receivedMs: atMs,
  };
}

export function openJournal(dataDir: string, logger: Logger): PunchJournal {
  return new PunchJournal({
    dir: join(dataDir, 'journal'),
    segmentMaxBytes: 16 * 1024 * 1024,
    retentionDays: 90,
    clock: { now: () => Date.now() },
    logger,
  });
}

/** Journals punches `from`…`to` in appends of 1,000, as a catch-up read of a big terminal log does. */
export async function fillJournal(journal: PunchJournal, from: number, to: number): Promise<void> {
  for (let start = from; start <= to; start += 1000) {
    const drafts: PunchDraft[] = [];
    for (let n = start; n <= Math.min(to, start + 999); n++) drafts.push(backlogPunch(n));
    await journal.append(drafts);
  }
}

/** An outbox with the gateway's wiring: its cursor in `cursors` under `outbox.<name>`. */
export function outboxFor(
  upstream: Upstream,
  journal: PunchJournal,
  cursors: CursorLog,
  config: GatewayConfig,
  logger: Logger,
): Outbox {
  return new Outbox({
    upstream,
    journal,
    cursor: cursors.slot(`outbox.${upstream.name}`),
    options: config.outbox,
    logger,
    metrics: new GatewayMetrics(),
    clock: { now: () => Date.now() },
  });
}
