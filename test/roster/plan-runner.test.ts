import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ClockSource } from '../../gateway/model';
import { PlanRunner } from '../../gateway/roster/plan-runner';
import { planReconcile } from '../../gateway/roster/reconcile-plan';
import { AppliedDigests } from '../../gateway/store/applied-digests';
import { BlobStore } from '../../gateway/store/blobs';
import { activeWorker, memoryRecord, startGate } from './support';

/** Time that runs `speed` times faster than the wall clock, as soak tests run it. */
function fastClock(speed: number): ClockSource {
  const start = Date.now();
  return { now: () => start + (Date.now() - start) * speed };
}

const realClock: ClockSource = { now: () => Date.now() };

describe('the rate limit between terminal requests', () => {
  let stop: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await stop?.();
    stop = undefined;
  });

  type Gate = Awaited<ReturnType<typeof startGate>>;

  /** Adds `count` workers to an empty 10-slot whitelist at `maxStepsPerSecond` of the clock; real ms taken. */
  async function addWorkers(
    count: number,
    clockOf: (gate: Gate) => ClockSource,
    maxStepsPerSecond: number,
  ): Promise<number> {
    const gate = await startGate(10, ['gate']);
    stop = gate.stop;
    const clock = clockOf(gate);
    const driver = gate.drivers[0]!;
    const plan = planReconcile({
      workers: Array.from({ length: count }, (_, i) => activeWorker(String(100 + i))),
      held: await driver.listUsers(),
      applied: new AppliedDigests(),
      capabilities: driver.capabilities(),
    });
    const runner = new PlanRunner({
      driver,
      blobs: new BlobStore(join(gate.dir, 'blobs')),
      record: memoryRecord(),
      clock,
      options: { maxStepsPerSecond },
    });
    const started = Date.now();
    const leftOut = await runner.apply(plan, { pending: count, full: false });
    const took = Date.now() - started;
    expect(leftOut).toBe(0);
    expect(runner.stepsDone).toBe(count);
    expect(gate.emulator.unit().whitelistPins()).toHaveLength(count);
    return took;
  }

  it('spaces requests on the real clock', async () => {
    // 5 per second: four gaps of 200 ms between five requests.
    expect(await addWorkers(5, () => realClock, 5)).toBeGreaterThanOrEqual(780);
  });

  it('follows the injected clock, not the machine clock', async () => {
    // One per second of a clock 10× fast: four gaps of 100 ms. Spaced on Date.now(), or sleeping the
    // clock's milliseconds as if they were real ones, it took 4 s.
    const took = await addWorkers(5, () => fastClock(10), 1);
    expect(took).toBeGreaterThanOrEqual(380);
    expect(took).toBeLessThan(2000);
  });

  it('is not stalled by a clock set back an hour in the middle of a pass', async () => {
    // What an NTP correction does to the wall clock, here as soon as the first worker is written.
    const setBack = (gate: Gate): ClockSource => ({
      now: () => Date.now() - (gate.emulator.unit().whitelistPins().length > 0 ? 3_600_000 : 0),
    });
    const took = await addWorkers(5, setBack, 5);
    expect(took).toBeGreaterThanOrEqual(780);
    expect(took).toBeLessThan(2500);
  });

  it('waits one interval at most per request when the clock stands still', async () => {
    const frozen: ClockSource = { now: () => 1_700_000_000_000 };
    const took = await addWorkers(5, () => frozen, 5);
    expect(took).toBeGreaterThanOrEqual(780);
    expect(took).toBeLessThan(2500);
  });
});
