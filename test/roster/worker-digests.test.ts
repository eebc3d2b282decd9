import { afterEach, describe, expect, it } from 'vitest';
import { ZkEmulator } from '../../adapters/zk/emulator';
import { validateConfig } from '../../config/load';
import { Gateway } from '../../gateway/controller';
import { workerDigest } from '../../gateway/roster/reconcile-plan';
import { WorkerDigests } from '../../gateway/roster/worker-digests';
import { waitFor } from '../support/lab-process';
import { testLogger } from '../support/logger';
import { tempDir } from '../support/tmp';
import { activeWorker, FACE_TERMINAL, ZK_TERMINAL } from './support';

const zk = ZK_TERMINAL;
const face = FACE_TERMINAL;

describe('digests shared by the reconcilers', () => {
  it('works each worker out once for every terminal of one recipe, and again only once it changed', () => {
    let computed = 0;
    const digests = new WorkerDigests((worker, capabilities) => {
      computed++;
      return workerDigest(worker, capabilities);
    });
    const workers = Array.from({ length: 500 }, (_, i) => activeWorker(String(i + 1)));
    // 20 ZK terminals planning a pass each (one of them with another capacity: same recipe).
    for (let terminal = 0; terminal < 20; terminal++) {
      const capabilities = terminal === 7 ? { ...zk, maxUsers: 3000 } : zk;
      for (const worker of workers) expect(digests.of(worker, capabilities)).toBe(workerDigest(worker, zk));
    }
    expect(computed).toBe(500);
    // A face terminal digests the photo: its own recipe.
    for (const worker of workers) digests.of(worker, face);
    expect(computed).toBe(1000);

    const renamed = workers[3]!;
    renamed.name = '改名';
    digests.forget([renamed, undefined]);
    expect(digests.of(renamed, zk)).toBe(workerDigest(renamed, zk));
    expect(digests.of(renamed, face)).toBe(workerDigest(renamed, face));
    expect(computed).toBe(1002);
  });
});

describe('a roster change with digests shared by every terminal', () => {
  let stop: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const s of stop.reverse()) await s();
    stop = [];
  });

  it('reaches every terminal, change after change', async () => {
    const { dir, cleanup } = await tempDir('shared-digests-');
    stop.push(cleanup);
    const emulators = [0, 1, 2].map(() => new ZkEmulator({ users: 0, records: 0, encoding: 'gb18030' }));
    for (const e of emulators) {
      await e.start();
      stop.push(() => e.stop());
    }
    const config = validateConfig({
      site: { name: 'digests' },
      dataDir: dir,
      http: { host: '127.0.0.1', port: 0 },
      reconcile: { maxStepsPerSecond: 0 },
      terminals: emulators.map((e, i) => ({
        id: `gate-${i}`,
        driver: 'zk',
        direction: 'in',
        host: '127.0.0.1',
        port: e.port,
        transport: 'tcp',
        encoding: 'gb18030',
        pollSeconds: 1,
      })),
    });
    if (!config.ok) throw new Error(config.problems.join('\n'));
    const gateway = new Gateway(config.config, testLogger());
    stop.push(() => gateway.stop());
    await gateway.start();
    const upsert = (id: string, name: string, card?: number) =>
      gateway.workers.apply([
        { source: 'local', op: 'upsert', identity: { gatewayId: id }, name, ...(card ? { card } : {}) },
      ]);
    const onEvery = (pin: string, name: string, card = 0) =>
      waitFor(
        async () =>
          emulators.every((e) => e.users().some((u) => u.pin === pin && u.name === name && u.card === card))
            ? true
            : undefined,
        15_000,
        `${pin} as ${name} on every terminal`,
      );
    for (let i = 0; i < 10; i++) await upsert(`w${i}`, `工人${i}`);
    const pin = gateway.workers.get('w4')!.pin;
    await onEvery(pin, '工人4');
    // Each change is worked out afresh for every terminal, not served from what the first pass hashed.
    await upsert('w4', '改名一');
    await onEvery(pin, '改名一');
    await upsert('w4', '改名一', 12345);
    await onEvery(pin, '改名一', 12345);
    await upsert('w4', '改名二');
    await onEvery(pin, '改名二', 12345);
  }, 60_000);
});
