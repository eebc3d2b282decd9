import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DeliEmulator } from '../../cloud/deli/emulator';
import type { DeliUpstream } from '../../cloud/deli/upstream';
import { SichuanEmulator } from '../../cloud/sichuan/emulator';
import type { SichuanUpstream } from '../../cloud/sichuan/upstream';
import { validateConfig } from '../../config/load';
import type { GatewayConfig } from '../../config/schema';
import { EventBus } from '../../gateway/events';
import { GatewayMetrics } from '../../gateway/metrics';
import type { StatePort, StateSlot, UpstreamName, WorkerIdentity } from '../../gateway/model';
import { CursorLog } from '../../gateway/outbox/cursor-log';
import { Outbox } from '../../gateway/outbox/outbox';
import { RemoteSettingsStore } from '../../gateway/remote-settings';
import { PunchJournal } from '../../gateway/store/journal';
import { createUpstream, type UpstreamDeps } from '../../gateway/upstreams/factories';
import { type BackoffPolicy, backoffDelay } from '../../lib/backoff';
import { testLogger } from '../support/logger';
import { draft } from '../support/punches';
import { tempDir } from '../support/tmp';

const SICHUAN = { sn: 'GW-BACKOFF-1', deviceKey: 'backoff-key', sm4Key: '0123456789abcdeffedcba9876543210' };
const DELI = { deviceId: 'kq01_GW-BACKOFF-1', appId: 'backoff-app', orgId: '1000001' };

class MemoryState implements StatePort {
  readonly values = new Map<string, unknown>();
  slot<T>(key: string): StateSlot<T> {
    return {
      get: () => this.values.get(key) as T | undefined,
      set: async (value: T) => {
        this.values.set(key, value);
      },
    };
  }
}

/** Workers w1…: Sichuan user S1…, Deli user 1…. */
function lookupWorker(workerId: string): WorkerIdentity | undefined {
  const n = /^w(\d+)$/.exec(workerId)?.[1];
  return n ? { gatewayId: workerId, sichuanUserId: `S${n}`, deliUserId: n } : undefined;
}

let dir: string;
let cleanup: () => Promise<void>;
const stops: Array<() => Promise<void>> = [];
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir('outbox-wire-'));
});
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
  await cleanup();
});

function gatewayConfig(document: Record<string, unknown>): GatewayConfig {
  const result = validateConfig({ site: { name: 'backoff' }, dataDir: dir, ...document });
  if (!result.ok) throw new Error(result.problems.join('\n'));
  return result.config;
}

/**
 * The platform client built the way the gateway builds it (`gateway/upstreams/factories.ts`, so the outbox settings
 * reach it), fed by a real outbox from a real journal.
 */
async function wire(name: UpstreamName, config: GatewayConfig) {
  const logger = testLogger(name);
  const state = new MemoryState();
  const deps: UpstreamDeps = {
    clock: { now: () => Date.now() },
    logger,
    roster: { apply: async () => undefined, replaceSource: async () => undefined },
    state,
    lookupWorker,
    bus: new EventBus(),
    enrolment: {
      enrol: () => Promise.reject(new Error('no terminal can enrol in this test')),
    },
    remoteSettings: new RemoteSettingsStore(config, state.slot('settings'), logger),
  };
  const { upstream } = await createUpstream(name, config, deps);
  await upstream.start();
  stops.push(() => upstream.stop());
  const journal = new PunchJournal({
    dir: join(dir, 'journal'),
    segmentMaxBytes: 1 << 20,
    retentionDays: 90,
    clock: { now: () => Date.now() },
    logger,
  });
  await journal.open();
  stops.push(() => journal.close());
  const cursors = new CursorLog({ dir, logger });
  await cursors.open();
  stops.push(() => cursors.close());
  const outbox = new Outbox({
    upstream,
    journal,
    cursor: cursors.slot(`outbox.${name}`),
    options: config.outbox,
    logger,
    metrics: new GatewayMetrics(),
    clock: { now: () => Date.now() },
  });
  outbox.start();
  stops.push(() => outbox.stop());
  let n = 0;
  // Distinct workers and seconds, so each punch is a record of its own at the platform.
  const punch = () => {
    n++;
    return journal.append([
      draft(`k${n}`, { workerId: `w${n}`, pin: String(n), atMs: Date.now() - 60_000 + n * 1000 }),
    ]);
  };
  return { upstream, journal, outbox, punch };
}

async function until(what: string, condition: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what}: not reached in time`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function sichuanPlatform(): Promise<SichuanEmulator> {
  const emulator = new SichuanEmulator({ ...SICHUAN, random: () => 0.5 });
  await emulator.start();
  stops.push(() => emulator.stop());
  return emulator;
}

function sichuanConfig(baseUrl: string, outbox: { initialBackoffMs: number; maxBackoffMs: number }) {
  return gatewayConfig({
    outbox,
    upstreams: { sichuan: { enabled: true, baseUrl, ...SICHUAN, heartbeatSeconds: 3600 } },
  });
}

describe('outbox back-off over real sockets', () => {
  it('a punch arriving during a failing request never shortens the back-off after -99 or -4', async () => {
    const platform = await sichuanPlatform();
    const initialBackoffMs = 300;
    const { outbox, punch } = await wire(
      'sichuan',
      sichuanConfig(platform.baseUrl(), { initialBackoffMs, maxBackoffMs: 5000 }),
    );
    await until('the start-up heartbeat answered', () =>
      platform.state().answers.some((a) => a.endpoint === 'Online'),
    );
    // Each request is held 600 ms, long enough for a punch to be journaled while it is out.
    platform.setFaults({ delayMs: 600 });
    const uploads = () => platform.state().answers.filter((a) => a.endpoint === 'UploadData');
    const faults = ['-99', '-4', '-99', '-4'] as const;
    const gaps: number[] = [];
    for (const fault of faults) {
      const before = uploads().length;
      if (fault === '-99') platform.setFaults({ serverErrorNext: 1 });
      else platform.setFaults({ rateLimit: { max: 0, perMs: 3_600_000 } });
      await punch();
      // The outbox wakes on the append and sends at once; the platform holds the request.
      await new Promise((r) => setTimeout(r, 150));
      // The punch whose wake-up the outbox used to remember, cutting the back-off to nothing.
      const appendedFrom = Date.now();
      await punch();
      const journaledAt = Date.now();
      await until('the failure answered', () => uploads().length > before);
      const failed = uploads()[before]!;
      if (fault === '-4') platform.setFaults({ rateLimit: null });
      await until('both punches delivered', () => outbox.status().backlog === 0);
      const retry = uploads()[before + 1]!;
      expect(failed.result).toBe(Number(fault));
      expect(retry.result).toBe(0);
      // The second punch really was journaled while the failing request was out.
      expect(appendedFrom).toBeGreaterThanOrEqual(failed.receivedAt);
      expect(journaledAt).toBeLessThan(failed.at);
      gaps.push(retry.receivedAt - failed.at);
    }
    expect(gaps).toHaveLength(4);
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(initialBackoffMs);
    expect(platform.state().punches.length).toBe(8);
  });

  it('Sichuan: waits grow from the first back-off to outbox.maxBackoffMs and never past it', async () => {
    const platform = await sichuanPlatform();
    const [initialBackoffMs, maxBackoffMs] = [40, 300];
    const { outbox, punch } = await wire(
      'sichuan',
      sichuanConfig(platform.baseUrl(), { initialBackoffMs, maxBackoffMs }),
    );
    platform.setFaults({ serverErrorRate: 1 });
    await punch();
    await until('several failures at the cap', () => outbox.status().consecutiveFailures >= 10);
    platform.setFaults({ serverErrorRate: 0 });
    await until('delivered once the platform is back', () => outbox.status().backlog === 0);
    const uploads = platform.state().answers.filter((a) => a.endpoint === 'UploadData');
    const gaps = uploads.slice(1).map((a, i) => a.receivedAt - uploads[i]!.at);
    expect(gaps.length).toBeGreaterThanOrEqual(10);
    for (const gap of gaps) {
      expect(gap).toBeGreaterThanOrEqual(initialBackoffMs);
      // Timers fire late under load, never early; 150 ms covers a busy 2-core machine.
      expect(gap).toBeLessThanOrEqual(maxBackoffMs + 150);
    }
    // The cap was reached: the later waits are between half the maximum and the maximum.
    expect(Math.max(...gaps.slice(-3))).toBeGreaterThanOrEqual(maxBackoffMs / 2);
  });

  it('Sichuan: a platform asking for a longer pause (-1: 10 min) is tried again within maxBackoffMs', async () => {
    const platform = await sichuanPlatform();
    const maxBackoffMs = 400;
    const config = sichuanConfig(platform.baseUrl(), { initialBackoffMs: 50, maxBackoffMs });
    const { outbox, upstream, punch } = await wire('sichuan', {
      ...config,
      upstreams: { ...config.upstreams, sichuan: { ...config.upstreams.sichuan, sn: 'UNKNOWN-SN' } },
    });
    // The start-up heartbeat is the platform's first -1; from then on the client pauses for 10 min.
    await until('the start-up heartbeat answered', () =>
      platform.state().answers.some((a) => a.endpoint === 'Online'),
    );
    await punch();
    await until('the -1 answered', () => outbox.status().consecutiveFailures >= 1);
    expect((upstream as SichuanUpstream).health().configAlert).toMatch(/UNKNOWN-SN/);
    const status = outbox.status();
    // The two instants are read a few milliseconds apart (the failure is noted, then the pause set):
    // 10 minutes asked for must come out near the cap, nowhere near 600,000 ms.
    expect(status.nextAttemptAt! - status.lastErrorAt!).toBeLessThanOrEqual(maxBackoffMs + 50);
    // The outbox asks again within the cap; the client keeps its promise not to call the platform.
    const answered = platform.state().answers.length;
    await until('a second attempt', () => outbox.status().consecutiveFailures >= 2, 3000);
    expect(platform.state().answers.length).toBe(answered);
  });

  it('Deli: a link reconnect never waits longer than outbox.maxBackoffMs, so check-ins resume promptly', async () => {
    const platform = new DeliEmulator({ ...DELI, embedded: true, logger: testLogger('deli-emu') });
    await platform.start();
    stops.push(() => platform.stop());
    const maxBackoffMs = 400;
    const config = gatewayConfig({
      outbox: { initialBackoffMs: 50, maxBackoffMs },
      upstreams: {
        // A site that set a slow reconnect: 10 s first, 60 s at most.
        deli: {
          enabled: true,
          brokerUrl: platform.brokerUrl,
          ...DELI,
          reconnectMinMs: 10_000,
          reconnectMaxMs: 60_000,
        },
      },
    });
    const { outbox, upstream, punch } = await wire('deli', config);
    expect(await (upstream as DeliUpstream).waitConnected(5000)).toBe(true);
    await punch();
    await until('first check-in', () => outbox.cursor === 1);
    await platform.restartBroker(1500, () => void punch());
    const backAt = Date.now();
    await until('check-in after the broker returned', () => outbox.cursor === 2, 20_000);
    const resumedAfter = Date.now() - backAt;
    // The link is back within one capped wait, and the outbox tries within another.
    expect(resumedAfter).toBeLessThanOrEqual(2 * maxBackoffMs + 600);
    await until('the platform has both', () => platform.checkins.filter((c) => !c.duplicate).length === 2);
    expect(platform.checkins.flatMap((c) => c.users.map((u) => String(u.userId)))).toEqual(
      expect.arrayContaining(['1', '2']),
    );
  });
});

/** The outbox's shape: the configured first wait is never undercut. */
const deliveryBackoff = (failures: number, initialMs: number, maxMs: number, random: () => number): number =>
  backoffDelay(failures, { initialMs, maxMs, random, neverBelowInitial: true } satisfies BackoffPolicy);

describe('delivery backoff (neverBelowInitial)', () => {
  it('never waits less than the first back-off nor more than the maximum', () => {
    expect(deliveryBackoff(1, 1000, 300_000, () => 0)).toBe(1000);
    expect(deliveryBackoff(1, 1000, 300_000, () => 1)).toBe(2000);
    expect(deliveryBackoff(3, 1000, 300_000, () => 0.5)).toBe(6000);
    expect(deliveryBackoff(40, 1000, 300_000, () => 0)).toBe(150_000);
    expect(deliveryBackoff(40, 1000, 300_000, () => 1)).toBe(300_000);
    // A first back-off above the maximum: the maximum wins.
    expect(deliveryBackoff(1, 5000, 3000, () => 0)).toBe(3000);
    for (let failures = 1; failures < 40; failures++) {
      for (const r of [0, 0.3, 0.99, 1]) {
        const delay = deliveryBackoff(failures, 700, 10_000, () => r);
        expect(delay).toBeGreaterThanOrEqual(700);
        expect(delay).toBeLessThanOrEqual(10_000);
      }
    }
  });
});
