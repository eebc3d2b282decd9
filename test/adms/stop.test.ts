import { afterEach, describe, expect, it } from 'vitest';
import { AdmsEmulator } from '../../adapters/adms/emulator';
import { validateConfig } from '../../config/load';
import { Gateway } from '../../gateway/controller';
import { testLogger } from '../support/logger';
import { tempDir } from '../support/tmp';
import { eventually } from './support';

const SN = 'SPKSTOP0001';
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('gateway stop with a roster write waiting on an ADMS device that went away', () => {
  it('returns at once: the pending command fails instead of waiting out its time-out', async () => {
    const { dir, cleanup } = await tempDir('adms-stop-');
    cleanups.push(cleanup);
    const parsed = validateConfig({
      site: { name: 'adms-stop' },
      dataDir: dir,
      http: { host: '127.0.0.1', port: 0 },
      // A command waits up to 10 minutes for the device: far beyond this test's time-out.
      adms: { host: '127.0.0.1', port: 0, delaySeconds: 1, commandTimeoutMs: 600_000 },
      reconcile: { maxStepsPerSecond: 0 },
      terminals: [{ id: 'face', driver: 'adms', sn: SN, direction: 'in', pollSeconds: 60 }],
    });
    if (!parsed.ok) throw new Error(parsed.problems.join('\n'));
    const gateway = new Gateway(parsed.config, testLogger());
    await gateway.start();
    let stopped = false;
    cleanups.push(async () => {
      if (!stopped) await gateway.stop();
    });
    const face = new AdmsEmulator({ serverUrl: `http://127.0.0.1:${gateway.admsPort}`, sn: SN, pollMs: 50 });
    await face.start();
    await eventually(() => (gateway.terminal('face')?.status().online ? true : undefined), 'face online');
    await eventually(
      () => (gateway.health().terminals[0]?.roster?.inSync ? true : undefined),
      'first pass done',
    );
    // The device leaves; the gateway still counts it online for a while, so a pass starts and waits.
    await face.stop();
    await gateway.workers.apply([
      { source: 'local', op: 'upsert', identity: { gatewayId: 'w1' }, name: '张三丰' },
    ]);
    await eventually(
      () => (gateway.health().terminals[0]?.roster?.inSync === false ? true : undefined),
      'pass waiting on the device',
    );
    await new Promise((r) => setTimeout(r, 300));
    const started = Date.now();
    await gateway.stop();
    stopped = true;
    expect(Date.now() - started).toBeLessThan(5000);
  });
});
