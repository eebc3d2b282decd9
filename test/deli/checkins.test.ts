import { afterEach, describe, expect, it } from 'vitest';
import { DeliEmulator } from '../../cloud/deli/emulator';
import type { DeliUpstream } from '../../cloud/deli/upstream';
import type { Punch } from '../../gateway/model';
import { testLogger } from '../support/logger';
import {
  APP_ID,
  DEVICE_ID,
  drain,
  makePunches,
  makeUpstream,
  mosquittoWithEmulator,
  ORG_ID,
} from './harness';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface BrokerUnderTest {
  url: string;
  restart(onDown: () => void): Promise<void>;
  emulator: DeliEmulator;
}

async function withAedes(): Promise<BrokerUnderTest> {
  const emulator = new DeliEmulator({
    deviceId: DEVICE_ID,
    appId: APP_ID,
    orgId: ORG_ID,
    embedded: true,
    logger: testLogger('emu'),
  });
  await emulator.start();
  cleanups.push(() => emulator.stop());
  return { url: emulator.brokerUrl, restart: (onDown) => emulator.restartBroker(300, onDown), emulator };
}

async function withMosquitto(): Promise<BrokerUnderTest> {
  const { broker, emulator } = await mosquittoWithEmulator(cleanups);
  return { url: broker.url, restart: (onDown) => broker.restart(300, onDown), emulator };
}

async function connectedUpstream(url: string): Promise<DeliUpstream> {
  const { upstream } = makeUpstream(url);
  await upstream.start();
  cleanups.push(() => upstream.stop());
  expect(await upstream.waitConnected(10_000)).toBe(true);
  return upstream;
}

/** Every received message is exactly one sent batch, in order; every batch arrived. */
/**
 * Every received message is exactly one sent batch, in order; every batch arrived.
 * Returns the indexes of batches that arrived more than once.
 */
function checkArrivals(emulator: DeliEmulator, batches: readonly Punch[][]): number[] {
  const batchOf = new Map<string, number>();
  const expected = batches.map((batch, i) =>
    batch.map((p) => {
      const key = `${p.workerId?.slice(1)}|${Math.floor(p.atMs / 1000)}`;
      batchOf.set(key, i);
      return key;
    }),
  );
  const seen = new Set<number>();
  const redelivered: number[] = [];
  for (const message of emulator.checkins) {
    const keys = message.users.map((u) => `${u.userId}|${u.timeS}`);
    const index = batchOf.get(keys[0] ?? '') ?? -1;
    expect(keys).toEqual(expected[index]);
    if (seen.has(index)) redelivered.push(index);
    seen.add(index);
  }
  expect(seen.size).toBe(batches.length);
  return redelivered;
}

describe.each([
  ['aedes', withAedes],
  ['mosquitto', withMosquitto],
])('deli check-ins through %s', (_name, setup) => {
  it('delivers 10,000 check-ins across a broker restart: all arrive, batches intact', async () => {
    const broker = await setup();
    const upstream = await connectedUpstream(broker.url);
    const punches = makePunches(10_000);
    let restart: Promise<void> | undefined;
    let cursorNow = 0;
    let cursorAtDown = 0;
    const { batches, attempts } = await drain(upstream, punches, (cursor) => {
      cursorNow = cursor;
      if (cursor === 4000)
        restart = broker.restart(() => {
          cursorAtDown = cursorNow;
        });
    });
    await restart;
    await broker.emulator.waitFor(
      () => broker.emulator.state().checkinRecords === 10_000,
      20_000,
      'all records',
    );
    const redelivered = checkArrivals(broker.emulator, batches);
    const state = broker.emulator.state();
    expect(state.violations).toEqual([]);
    expect(state.checkinRecords).toBe(10_000);
    const duplicates = broker.emulator.checkins.filter((m) => m.duplicate);
    expect(state.duplicateRecords).toBe(duplicates.reduce((n, m) => n + m.users.length, 0));
    expect(redelivered.length).toBe(duplicates.length);
    // QoS 1 may redeliver what was in flight on either side of the broker while it went down:
    // whole batches from that window, never anything else.
    expect(cursorAtDown).toBeGreaterThanOrEqual(4000);
    expect(cursorAtDown).toBeLessThan(10_000);
    // QoS 1 is at least once on both legs (gateway → broker, broker → app): a restart may make either
    // side send again whatever had no PUBACK yet. What the issue requires is that a duplicate is always a
    // whole batch (checked message by message above) and that they stay few and start at the restart.
    for (const index of redelivered) expect(index).toBeGreaterThanOrEqual(4000 / upstream.maxBatch - 3);
    expect(redelivered.length).toBeLessThanOrEqual(20);
    expect(redelivered.length).toBeLessThanOrEqual(attempts - batches.length + 10);
    const details = upstream.health().details;
    expect(details?.checkinRecords).toBe(10_000);
    expect(details?.connects).toBeGreaterThanOrEqual(2);
  });
});
