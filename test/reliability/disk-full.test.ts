/**
 * The disk fills up under the gateway (a real 2 MB tmpfs): punches keep coming, the journal
 * refuses them, health raises a clear alert, the terminal's log keeps every punch, and once space
 * returns everything is journaled and delivered with nothing lost.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZkEmulator } from '../../adapters/zk/emulator';
import { SichuanEmulator } from '../../cloud/sichuan/emulator';
import { validateConfig } from '../../config/load';
import { Gateway } from '../../gateway/controller';
import { waitFor } from '../support/lab-process';
import { testLogger } from '../support/logger';
import { tempDir } from '../support/tmp';

const SICHUAN = { sn: 'GW-DISK', deviceKey: 'disk-key', sm4Key: '0123456789abcdeffedcba9876543210' };

let cleanup: () => Promise<void>;
let mountPoint: string;
let mounted = false;
let zk: ZkEmulator;
let sichuan: SichuanEmulator;
let gateway: Gateway;

beforeAll(async () => {
  let dir: string;
  ({ dir, cleanup } = await tempDir('disk-full-'));
  mountPoint = join(dir, 'disk');
  mkdirSync(mountPoint);
  // A real file system that really runs out of space; CI runs as root, as the box's service does not.
  expect(process.getuid?.(), 'this test mounts a tmpfs and must run as root').toBe(0);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', mountPoint]);
  mounted = true;
  zk = new ZkEmulator({ users: [{ pin: '1', name: '张三丰' }], records: 0, timeZone: 'Asia/Shanghai' });
  await zk.start();
  sichuan = new SichuanEmulator({ ...SICHUAN, port: 0 });
  const baseUrl = await sichuan.start();
  const config = validateConfig({
    site: { name: 'disk full' },
    dataDir: join(mountPoint, 'data'),
    http: { host: '127.0.0.1', port: 0 },
    outbox: { initialBackoffMs: 100, maxBackoffMs: 500 },
    terminals: [
      {
        id: 'zk',
        driver: 'zk',
        direction: 'in',
        host: '127.0.0.1',
        port: zk.port,
        transport: 'tcp',
        pollSeconds: 1,
        syncClock: false,
      },
    ],
    upstreams: { sichuan: { enabled: true, baseUrl, ...SICHUAN, heartbeatSeconds: 600 } },
  });
  if (!config.ok) throw new Error(config.problems.join('\n'));
  gateway = new Gateway(config.config, testLogger());
  await gateway.start();
  await gateway.workers.apply([
    { source: 'local', op: 'upsert', identity: { gatewayId: 'w1', sichuanUserId: 'SC1' }, name: '张三丰' },
  ]);
});

afterAll(async () => {
  await gateway?.stop();
  await Promise.all([zk?.stop(), sichuan?.stop()]);
  if (mounted) execFileSync('umount', ['-l', mountPoint]);
  await cleanup();
});

/**
 * Keeps the disk full, as a runaway log of another program would: every few milliseconds it takes
 * whatever blocks were freed (our own failed temp files give some back) down to the last page.
 */
function hogDisk(file: string): () => void {
  const fd = openSync(file, 'w');
  const fill = () => {
    for (const size of [64 * 1024, 4096, 512, 64]) {
      const chunk = Buffer.alloc(size, 0x58);
      for (;;) {
        try {
          writeSync(fd, chunk);
        } catch {
          break;
        }
      }
    }
  };
  fill();
  const timer = setInterval(fill, 5);
  return () => {
    clearInterval(timer);
    closeSync(fd);
  };
}

const delivered = () => sichuan.state().punches.length;

describe('disk full', () => {
  it('raises an alert, loses nothing, and delivers everything once space returns', async () => {
    // Normal operation first.
    zk.addPunch({ pin: '1', time: '2026-11-22T07:00:00', verify: 1 });
    await waitFor(async () => (delivered() === 1 ? true : undefined), 20_000, 'first punch delivered');

    const filler = join(mountPoint, 'filler.bin');
    const stopHog = hogDisk(filler);
    const PUNCHES = 200;
    for (let i = 1; i <= PUNCHES; i++) {
      const time = `2026-11-22T08:${String(Math.floor(i / 60)).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}`;
      zk.addPunch({ pin: '1', time, verify: 1 });
    }
    const alerts = await waitFor(
      async () => {
        const current = gateway.health().alerts;
        return current.some((a) => a.startsWith('journal cannot store punches')) ? current : undefined;
      },
      20_000,
      'disk-full alert',
    ).catch((error: Error) => {
      throw new Error(`${error.message}: ${JSON.stringify(gateway.health())}`);
    });
    expect(alerts.find((a) => a.startsWith('journal'))).toMatch(/ENOSPC/);
    // Our disk is full, not the terminal's: it stays online.
    expect(alerts.some((a) => a.includes('offline'))).toBe(false);
    expect(gateway.health().status).toBe('degraded');
    // The gateway never clears a terminal's log: every punch is still on it.
    expect(zk.recordCount()).toBe(PUNCHES + 1);
    const deliveredWhileFull = delivered();
    expect(deliveredWhileFull).toBeLessThan(PUNCHES + 1);

    stopHog();
    rmSync(filler);
    await waitFor(
      async () => (delivered() >= PUNCHES + 1 ? true : undefined),
      30_000,
      'all punches delivered after space returned',
    );
    await waitFor(
      async () => (gateway.health().alerts.some((a) => a.startsWith('journal')) ? undefined : true),
      10_000,
      'alert cleared',
    );
    const times = sichuan.state().punches.map((p) => p.recogTime);
    expect(new Set(times).size).toBe(PUNCHES + 1);
    // Nothing was sent twice: an acknowledged batch is never repeated within a run, disk full or not.
    expect(times.length).toBe(PUNCHES + 1);
    expect(gateway.health().journal.lastSeq).toBe(PUNCHES + 1);
  });
});
