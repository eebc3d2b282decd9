/**
 * De-duplication across a restart, through a real gateway and a real ADMS terminal emulator on
 * loopback: the terminal posts a batch again after the gateway restarted (as firmware does when it
 * never saw the `OK`). The window is by punch time (`pipeline.dedupWindowDays`, default 7), and the
 * journal segments are picked by their index, not by file date.
 */
import { readdir, utimes } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AdmsEmulator } from '../../adapters/adms/emulator';
import { validateConfig } from '../../config/load';
import { Gateway } from '../../gateway/controller';
import { utcMsToWall } from '../../lib/wall-clock';
import { eventually, journaled } from '../adms/support';
import { testLogger } from '../support/logger';
import { tempDir } from '../support/tmp';

const SN = 'SPK7240100123';
const ZONE = 'Asia/Shanghai';
const DAY_MS = 86_400_000;

let dir: string;
let cleanup: () => Promise<void>;
let gateway: Gateway | undefined;
let emulator: AdmsEmulator | undefined;

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir('dedup-restart-'));
});
afterEach(async () => {
  await emulator?.stop();
  await gateway?.stop();
  await cleanup();
});

/** A port free now, so the terminal finds the restarted gateway where it left it. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function startGateway(admsPort: number): Promise<Gateway> {
  const parsed = validateConfig({
    site: { name: 'dedup-restart', timezone: ZONE },
    dataDir: dir,
    http: { host: '127.0.0.1', port: 0 },
    adms: { host: '127.0.0.1', port: admsPort, delaySeconds: 1 },
    terminals: [{ id: 'face-1', driver: 'adms', sn: SN, direction: 'in', pollSeconds: 60 }],
  });
  if (!parsed.ok) throw new Error(parsed.problems.join('\n'));
  expect(parsed.config.pipeline.dedupWindowDays).toBe(7);
  const started = new Gateway(parsed.config, testLogger(), { httpPort: 0 });
  await started.start();
  await eventually(
    () => (started.health().terminals.some((t) => t.id === 'face-1') ? true : undefined),
    'supervisor',
  );
  return started;
}

describe('de-duplication after a restart', () => {
  it('still recognises a re-sent punch inside the window, whatever the file dates; one outside is stored again', async () => {
    const admsPort = await freePort();
    gateway = await startGateway(admsPort);
    emulator = new AdmsEmulator({
      serverUrl: `http://127.0.0.1:${admsPort}`,
      sn: SN,
      pollMs: 50,
      retryMs: 100,
    });
    await emulator.start();
    const inside = Math.floor((Date.now() - 2 * DAY_MS) / 1000) * 1000;
    const outside = Math.floor((Date.now() - 10 * DAY_MS) / 1000) * 1000;
    emulator.device.punch('21', { wall: utcMsToWall(inside, ZONE) });
    emulator.device.punch('22', { wall: utcMsToWall(outside, ZONE) });
    expect(await emulator.flush()).toBe(true);
    const before = await journaled(gateway.punchJournal);
    expect(before.map((p) => [p.pin, p.atMs])).toEqual([
      ['21', inside],
      ['22', outside],
    ]);
    await gateway.stop();
    gateway = undefined;

    // Written while the box's clock was 40 days behind (no battery-backed clock, before NTP sync):
    // the file date says the punches are old; they are not.
    const journalDir = join(dir, 'journal');
    const longAgo = new Date(Date.now() - 40 * DAY_MS);
    for (const name of await readdir(journalDir))
      if (name.endsWith('.jsonl')) await utimes(join(journalDir, name), longAgo, longAgo);

    gateway = await startGateway(admsPort);
    // The terminal never saw its `OK` and posts the same batch again.
    const answer = await eventually(async () => {
      const response = await emulator!.resendLastBatch();
      return response.status === 200 ? response : undefined;
    }, 'the re-sent batch taken');
    expect(answer.text).toBe('OK: 2');
    const after = await journaled(gateway.punchJournal);
    // The punch from two days ago is recognised; the one from ten days ago is outside the window.
    expect(after.map((p) => [p.seq, p.pin, p.atMs])).toEqual([
      [1, '21', inside],
      [2, '22', outside],
      [3, '22', outside],
    ]);
  });
});
