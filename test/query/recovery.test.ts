/**
 * The query store rebuilds itself from the journal: when its file was deleted while the gateway
 * was stopped (while a ZK terminal keeps punching over TCP and /healthz keeps answering), and when
 * the file is damaged (moved aside first, whether the damage shows at open or only in a query).
 */
import { existsSync } from 'node:fs';
import { open, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ZkEmulator } from '../../adapters/zk/emulator';
import { validateConfig } from '../../config/load';
import { Gateway } from '../../gateway/controller';
import { testLogger } from '../support/logger';
import { tempDir } from '../support/tmp';
import { API_TOKEN, expectStoreMatchesJournal, fillJournal } from './support';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function startGateway(dataDir: string, terminals: unknown[] = []): Promise<Gateway> {
  const result = validateConfig({
    site: { name: 'recovery', timezone: 'Asia/Shanghai' },
    dataDir,
    http: { host: '127.0.0.1', port: 0, apiToken: API_TOKEN },
    terminals,
  });
  if (!result.ok) throw new Error(result.problems.join('\n'));
  const gateway = new Gateway(result.config, testLogger('gateway'), { httpPort: 0 });
  await gateway.start();
  return gateway;
}

async function api<T>(gateway: Gateway, path: string): Promise<T> {
  const response = await fetch(`http://127.0.0.1:${gateway.httpPort}${path}`, {
    headers: { authorization: `Bearer ${API_TOKEN}` },
  });
  expect(response.status).toBe(200);
  return (await response.json()) as T;
}

async function until(what: string, probe: () => Promise<boolean>, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const ready = (gateway: Gateway) => async () =>
  (await api<{ indexReady: boolean }>(gateway, '/api/dashboard')).indexReady;

describe('query store recovery', () => {
  it('a store deleted while stopped is rebuilt at start-up while a ZK terminal keeps punching and /healthz answers', async () => {
    const tmp = await tempDir('edge-gw-store-deleted-');
    cleanups.push(tmp.cleanup);
    const dataDir = join(tmp.dir, 'data');
    await fillJournal(dataDir, 150_000);
    const zk = new ZkEmulator({
      host: '127.0.0.1',
      port: 0,
      users: 0,
      records: 0,
      timeZone: 'Asia/Shanghai',
    });
    await zk.start();
    cleanups.push(() => zk.stop());
    const terminal = {
      id: 'gate-zk',
      driver: 'zk',
      direction: 'in',
      host: '127.0.0.1',
      port: zk.port,
      transport: 'tcp',
      pollSeconds: 1,
      syncClock: false,
    };
    let punchNo = 0;
    const punching = setInterval(() => zk.addPunch({ pin: String(1 + (punchNo++ % 200)), verify: 1 }), 20);
    cleanups.push(async () => clearInterval(punching));

    const first = await startGateway(dataDir, [terminal]);
    await until('the first build', ready(first));
    await first.stop();
    await rm(join(dataDir, 'punches.sqlite'));
    await rm(join(dataDir, 'punches.sqlite-wal'), { force: true });

    const t0 = performance.now();
    const gateway = await startGateway(dataDir, [terminal]);
    cleanups.push(() => gateway.stop());
    const startMs = performance.now() - t0;
    // /healthz answers at once and all along, while the store is rebuilt in the background.
    let slowestHealthMs = 0;
    let healthAnswers = 0;
    let sawRebuilding = false;
    await until('the rebuild', async () => {
      const h0 = performance.now();
      const health = await fetch(`http://127.0.0.1:${gateway.httpPort}/healthz`);
      slowestHealthMs = Math.max(slowestHealthMs, performance.now() - h0);
      expect(health.status).toBe(200);
      healthAnswers++;
      const isReady = await ready(gateway)();
      if (!isReady) sawRebuilding = true;
      return isReady;
    });
    expect(sawRebuilding).toBe(true);
    expect(healthAnswers).toBeGreaterThan(3);
    expect(startMs).toBeLessThan(5000);
    expect(slowestHealthMs).toBeLessThan(1000);

    // Punches kept flowing: the terminal's punches during the rebuild are in the store too.
    const before = punchNo;
    await until('a live punch after the rebuild', async () => {
      const page = await api<{ total: number; punches: Array<{ terminalId: string }> }>(
        gateway,
        '/api/punches?terminal=gate-zk&pageSize=1',
      );
      return page.total >= before;
    });
    clearInterval(punching);
    await gateway.stop();
    cleanups.pop();
    await expectStoreMatchesJournal(dataDir);
  }, 300_000);

  it('a store whose file is not a database is moved aside and rebuilt', async () => {
    const tmp = await tempDir('edge-gw-store-garbage-');
    cleanups.push(tmp.cleanup);
    const dataDir = join(tmp.dir, 'data');
    const last = await fillJournal(dataDir, 5000);
    const first = await startGateway(dataDir);
    await until('the first build', ready(first));
    await first.stop();
    // Garbage over the header: SQLite's "file is not a database".
    const handle = await open(join(dataDir, 'punches.sqlite'), 'r+');
    await handle.write(Buffer.alloc(4096, 0x5a), 0);
    await handle.close();

    const gateway = await startGateway(dataDir);
    await until('the rebuild', ready(gateway));
    const names = await readdir(dataDir);
    expect(names.some((n) => /^punches\.sqlite\.corrupt-/.test(n))).toBe(true);
    const page = await api<{ total: number }>(gateway, '/api/punches?pageSize=1');
    expect(page.total).toBe(last);
    await gateway.stop();
    await expectStoreMatchesJournal(dataDir);
  }, 120_000);

  it('damage found by a query (an index page overwritten) is moved aside and rebuilt while running', async () => {
    const tmp = await tempDir('edge-gw-store-damaged-');
    cleanups.push(tmp.cleanup);
    const dataDir = join(tmp.dir, 'data');
    const last = await fillJournal(dataDir, 40_000);
    const first = await startGateway(dataDir);
    await until('the first build', ready(first));
    await first.stop();
    const file = join(dataDir, 'punches.sqlite');
    // Every page but the first two (the schema): the tables and indexes the page's queries walk.
    const handle = await open(file, 'r+');
    const { size } = await handle.stat();
    for (let at = 8192; at < size; at += 4096) await handle.write(Buffer.alloc(64, 0xff), 0, 64, at + 100);
    await handle.close();

    const gateway = await startGateway(dataDir);
    cleanups.push(() => gateway.stop());
    await until('an answer from the rebuilt store', async () => {
      const page = await api<{ total: number; punches: unknown[] }>(gateway, '/api/punches?pageSize=5');
      return page.total === last && page.punches.length === 5;
    });
    expect((await readdir(dataDir)).some((n) => /^punches\.sqlite\.corrupt-/.test(n))).toBe(true);
    await gateway.stop();
    cleanups.pop();
    await expectStoreMatchesJournal(dataDir);
    expect(existsSync(`${file}.rebuild`)).toBe(false);
  }, 120_000);
});
