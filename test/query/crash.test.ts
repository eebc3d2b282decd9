/**
 * A kill -9 of the real gateway process while the query store is being rebuilt, and while it is
 * being fed (catching up a backlog while a ZK emulator keeps punching over TCP), loses nothing and
 * needs no manual step: after a restart the store holds exactly the journal's punches.
 */
import { existsSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZkEmulator } from '../../adapters/zk/emulator';
import { rebuildFileOf } from '../../gateway/query/rebuild';
import { tempDir } from '../support/tmp';
import {
  expectStoreMatchesJournal,
  fillJournal,
  GatewayProcess,
  historyDrafts,
  openJournal,
  writeConfig,
} from './support';

const CAUGHT_UP = /query store caught up with the journal/;
const BUILDING = /query store: building from the journal/;

let tmp: { dir: string; cleanup: () => Promise<void> };
let zk: ZkEmulator;
let punching: NodeJS.Timeout | undefined;

beforeAll(async () => {
  tmp = await tempDir('edge-gw-store-crash-');
  zk = new ZkEmulator({ host: '127.0.0.1', port: 0, users: 0, records: 0, timeZone: 'Asia/Shanghai' });
  await zk.start();
});

afterAll(async () => {
  clearInterval(punching);
  await zk.stop();
  await tmp.cleanup();
});

function zkTerminal() {
  return {
    id: 'gate-zk',
    driver: 'zk',
    direction: 'in',
    host: '127.0.0.1',
    port: zk.port,
    transport: 'tcp',
    pollSeconds: 1,
    syncClock: false,
  };
}

/** Waits until `file` exists and has grown past `bytes`. */
async function waitForFile(file: string, bytes: number, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(existsSync(file) && statSync(file).size > bytes)) {
    if (Date.now() > deadline) throw new Error(`${file} never grew past ${bytes} bytes`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('query store under kill -9', () => {
  it('a rebuild killed half way leaves no store, and the next start rebuilds it whole', async () => {
    const dataDir = join(tmp.dir, 'rebuild');
    const journalLast = await fillJournal(dataDir, 150_000);
    const config = await writeConfig(dataDir);
    const file = join(dataDir, 'punches.sqlite');

    const first = new GatewayProcess(config);
    await first.waitFor(BUILDING);
    // Half way: the new file is being written, and is not the store yet.
    await waitForFile(rebuildFileOf(file), 1024 * 1024);
    await first.kill();
    expect(first.text).not.toMatch(CAUGHT_UP);
    expect(existsSync(rebuildFileOf(file))).toBe(true);
    expect(existsSync(file)).toBe(false);

    const second = new GatewayProcess(config);
    await second.waitFor(CAUGHT_UP, 120_000);
    await second.stop();
    expect(existsSync(rebuildFileOf(file))).toBe(false);
    expect(await expectStoreMatchesJournal(dataDir)).toBe(journalLast);
  }, 240_000);

  it('a feed killed mid-write (a backlog being caught up, a ZK terminal punching live) resumes from its high water', async () => {
    const dataDir = join(tmp.dir, 'feed');
    await fillJournal(dataDir, 20_000);
    const config = await writeConfig(dataDir, { terminals: [zkTerminal()] });
    let punchNo = 0;
    punching = setInterval(() => {
      zk.addPunch({ pin: String(1 + (punchNo++ % 300)), verify: 1, state: punchNo % 2 });
    }, 15);

    // A store that is built, then falls behind: 120,000 punches reach the journal while it is stopped.
    const builder = new GatewayProcess(config);
    await builder.waitFor(CAUGHT_UP, 120_000);
    // Live punches from the terminal, too.
    await new Promise((r) => setTimeout(r, 2000));
    await builder.stop();
    const journal = openJournal(dataDir);
    await journal.open();
    const from = journal.lastSeq;
    for (let start = 0; start < 120_000; start += 20_000) {
      await journal.append(
        historyDrafts(start, 20_000, 120_000, Date.now()).map((d) => ({ ...d, key: `late-${d.key}` })),
      );
    }
    await journal.close();
    expect(from).toBeGreaterThan(20_000);

    // Killed while catching up (each batch one transaction), three times over, terminal punching throughout.
    for (let kill = 0; kill < 3; kill++) {
      const gateway = new GatewayProcess(config);
      await gateway.waitFor(/"gateway started"|gateway started/);
      await new Promise((r) => setTimeout(r, 150 + kill * 200));
      const caughtUpBeforeKill = CAUGHT_UP.test(gateway.text);
      await gateway.kill();
      if (kill === 0) expect(caughtUpBeforeKill).toBe(false);
    }
    clearInterval(punching);
    punching = undefined;

    const last = new GatewayProcess(config);
    await last.waitFor(CAUGHT_UP, 120_000);
    // The live path too: a punch after the catch-up shows without a restart.
    const port = await last.port();
    zk.addPunch({ pin: '9999', verify: 1, state: 0 });
    const deadline = Date.now() + 20_000;
    for (;;) {
      const body = (await (
        await fetch(`http://127.0.0.1:${port}/api/punches?worker=9999`, {
          headers: { authorization: 'Bearer query-store-test-token-0123456789' },
        })
      ).json()) as { total: number };
      if (body.total === 1) break;
      if (Date.now() > deadline) throw new Error('the live punch never reached the store');
      await new Promise((r) => setTimeout(r, 100));
    }
    await last.stop();
    const count = await expectStoreMatchesJournal(dataDir);
    // The 140,000 history punches and what the terminal logged, each once.
    expect(count).toBeGreaterThan(140_000);
    await rm(dataDir, { recursive: true, force: true });
  }, 300_000);
});
