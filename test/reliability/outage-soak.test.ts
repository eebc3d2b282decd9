/**
 * Outage soak on an accelerated clock: 2,000 workers punch 4 times a day for 7 site days on an
 * emulated ZK terminal while both platforms are unreachable (their connections reset). Then both come back: every punch is delivered, in journal order per upstream,
 * with disk and memory bounded.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZkEmulator } from '../../adapters/zk/emulator';
import { DeliEmulator } from '../../cloud/deli/emulator';
import { SichuanEmulator } from '../../cloud/sichuan/emulator';
import { validateConfig } from '../../config/load';
import { Gateway } from '../../gateway/controller';
import type { WorkerChange } from '../../gateway/model';
import { JournalReader } from '../../gateway/store/journal-reader';
import { wallTimeToUtcMs } from '../../lib/wall-clock';
import { waitFor } from '../support/lab-process';
import { testLogger } from '../support/logger';
import { TcpGate } from '../support/tcp-gate';
import { tempDir } from '../support/tmp';

const WORKERS = Number(process.env.SOAK_WORKERS ?? 2000);
const DAYS = 7;
const PUNCHES_PER_DAY = 4;
const TOTAL = WORKERS * DAYS * PUNCHES_PER_DAY;
const SICHUAN = { sn: 'GW-SOAK', deviceKey: 'soak-key', sm4Key: '0123456789abcdeffedcba9876543210' };
const DELI = { deviceId: 'kq01_GW-SOAK', appId: 'soak-app', orgId: '1000001' };
const DAY_MS = 86_400_000;

/** The site's clock, run forward a day at a time instead of waiting for it. */
class AcceleratedClock {
  private offset = 0;
  now(): number {
    return Date.now() + this.offset;
  }
  advance(ms: number): void {
    this.offset += ms;
  }
}

let cleanup: () => Promise<void>;
let dataDir: string;
let zk: ZkEmulator;
let sichuan: SichuanEmulator;
let deli: DeliEmulator;
let gateway: Gateway;
let sichuanGate: TcpGate;
let deliGate: TcpGate;
const clock = new AcceleratedClock();

beforeAll(async () => {
  let dir: string;
  ({ dir, cleanup } = await tempDir('soak-'));
  dataDir = join(dir, 'data');
  zk = new ZkEmulator({ users: 0, records: 0, timeZone: 'Asia/Shanghai' });
  await zk.start();
  sichuan = new SichuanEmulator({ ...SICHUAN, port: 0 });
  const sichuanUrl = new URL(await sichuan.start());
  deli = new DeliEmulator({ ...DELI, embedded: true, logger: testLogger() });
  await deli.start();
  // Both platforms are unreachable from the start: the gates reset every connection.
  sichuanGate = new TcpGate(Number(sichuanUrl.port));
  deliGate = new TcpGate(Number(new URL(deli.brokerUrl).port));
  await Promise.all([sichuanGate.start(), deliGate.start()]);
  sichuanGate.cut();
  deliGate.cut();
  const config = validateConfig({
    site: { name: 'soak' },
    dataDir,
    http: { host: '127.0.0.1', port: 0 },
    outbox: { initialBackoffMs: 100, maxBackoffMs: 1000 },
    reconcile: { maxStepsPerSecond: 0 },
    terminals: [
      {
        id: 'zk',
        driver: 'zk',
        direction: 'state',
        host: '127.0.0.1',
        port: zk.port,
        transport: 'tcp',
        pollSeconds: 5,
        syncClock: false,
      },
    ],
    upstreams: {
      sichuan: {
        enabled: true,
        baseUrl: `http://127.0.0.1:${sichuanGate.port}`,
        ...SICHUAN,
        heartbeatSeconds: 600,
      },
      deli: { enabled: true, brokerUrl: `mqtt://127.0.0.1:${deliGate.port}`, ...DELI, reconnectMaxMs: 1000 },
    },
  });
  if (!config.ok) throw new Error(config.problems.join('\n'));
  gateway = new Gateway(config.config, testLogger(), { clock });
  await gateway.start();
  const roster: WorkerChange[] = Array.from({ length: WORKERS }, (_, w) => ({
    source: 'local',
    op: 'upsert',
    identity: { gatewayId: `w${w + 1}`, sichuanUserId: `SC${w + 1}`, deliUserId: String(100_001 + w) },
    name: `工人${w + 1}`,
  }));
  await gateway.workers.apply(roster);
});

afterAll(async () => {
  await gateway?.stop();
  await Promise.all([zk?.stop(), sichuan?.stop(), deli?.stop(), sichuanGate?.stop(), deliGate?.stop()]);
  await cleanup();
});

function journalBytes(): number {
  const dir = join(dataDir, 'journal');
  return readdirSync(dir).reduce((n, f) => n + statSync(join(dir, f)).size, 0);
}

describe(`outage soak: ${WORKERS} workers × ${PUNCHES_PER_DAY} punches × ${DAYS} days with both platforms down`, () => {
  it('keeps everything while down and delivers it all, in order, when they return', {
    timeout: 300_000,
  }, async () => {
    await waitFor(
      async () => (gateway.health().terminals[0]?.online ? true : undefined),
      20_000,
      'terminal online',
    );
    const rssBefore = process.memoryUsage().rss;
    let rssPeak = rssBefore;
    const firstDay = '2026-11-02';
    for (let day = 0; day < DAYS; day++) {
      const date = new Date(Date.parse(`${firstDay}T00:00:00Z`) + day * DAY_MS).toISOString().slice(0, 10);
      for (const [slot, hour] of [7, 12, 13, 18].entries()) {
        for (let w = 1; w <= WORKERS; w++) {
          const minute = w % 60;
          const second = (w * 7) % 60;
          const time = `${date}T${String(hour).padStart(2, '0')}:${String(minute).padStart(2, '0')}:${String(second).padStart(2, '0')}`;
          zk.addPunch({ pin: String(w), time, verify: 1, state: slot % 2 });
        }
      }
      clock.advance(DAY_MS);
      await waitFor(
        async () =>
          gateway.health().journal.lastSeq === (day + 1) * WORKERS * PUNCHES_PER_DAY ? true : undefined,
        60_000,
        `day ${day + 1} journaled`,
      );
      rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
      if (process.env.SOAK_PROGRESS) console.log('day', day + 1, new Date().toISOString());
    }
    const health = gateway.health();
    expect(health.journal.lastSeq).toBe(TOTAL);
    for (const upstream of health.upstreams) {
      expect(upstream.backlog, upstream.upstream).toBe(TOTAL);
      expect(upstream.cursor).toBe(0);
    }
    expect(sichuan.state().punches.length).toBe(0);
    expect(deli.checkins.length).toBe(0);
    // Disk: one JSON line per punch, nothing rewritten.
    expect(journalBytes()).toBeLessThan(TOTAL * 400);

    if (process.env.SOAK_PROGRESS) console.log('recovery', new Date().toISOString());
    // Recovery.
    sichuanGate.restore();
    deliGate.restore();
    await waitFor(
      async () => {
        const delivered = gateway.health().upstreams.every((u) => u.backlog === 0);
        return delivered ? true : undefined;
      },
      240_000,
      'both backlogs drained',
    );
    rssPeak = Math.max(rssPeak, process.memoryUsage().rss);

    // In journal order, per upstream.
    const reader = new JournalReader(gateway.punchJournal, 0);
    const journal: Array<{ userId: string; atMs: number; direction: string }> = [];
    for (;;) {
      const batch = await reader.peek(5000);
      if (batch.length === 0) break;
      for (const p of batch)
        journal.push({ userId: p.workerId!.slice(1), atMs: p.atMs, direction: p.direction });
      reader.advance(batch.at(-1)!.seq);
    }
    expect(journal).toHaveLength(TOTAL);
    const atSichuan = sichuan.state().punches.map((r) => ({
      userId: r.userId.slice(2),
      atMs: wallTimeToUtcMs(r.recogTime.replace(' ', 'T'), 'Asia/Shanghai'),
    }));
    expect(atSichuan).toEqual(journal.map(({ userId, atMs }) => ({ userId, atMs })));
    const atDeli = deli.checkins
      .filter((c) => !c.duplicate)
      .flatMap((c) =>
        c.users.map((u) => ({ userId: String(Number(u.userId) - 100_000), atMs: u.timeS * 1000 })),
      );
    expect(atDeli).toEqual(journal.map(({ userId, atMs }) => ({ userId, atMs })));
    // Memory stayed bounded: the journal is streamed, never held whole.
    expect((rssPeak - rssBefore) / 1024 / 1024).toBeLessThan(300);
  });
});
