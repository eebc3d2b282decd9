/**
 * A Modbus terminal's ring overflow and device reset, end to end through one real gateway: they show
 * in /healthz `alerts` with their counts (over real HTTP), and stay there when the next message
 * overwrites the terminal's lastError.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModbusEmulator } from '../../adapters/modbus/emulator';
import { validateConfig } from '../../config/load';
import { Gateway } from '../../gateway/controller';
import type { HealthReport } from '../../gateway/http/health';
import { HEALTH_HEADERS, HEALTH_TOKEN } from '../support/health';
import { waitFor } from '../support/lab-process';
import { testLogger } from '../support/logger';
import { tempDir } from '../support/tmp';

let cleanup: () => Promise<void>;
let emulator: ModbusEmulator;
let gateway: Gateway;
/** PINs of workers on the roster, so no "PIN not on the roster" alert mixes in. */
let pins: number[] = [];
let nextTime = 1_760_000_000;

/** `count` events by roster workers, each at its own second so de-duplication keeps every one. */
function punch(count: number): void {
  for (let i = 0; i < count; i++) {
    emulator
      .unit()
      .addEvent({ pin: pins[i % pins.length] ?? 0, timeSec: nextTime++, method: 1, direction: 1 });
  }
}

async function healthz(): Promise<HealthReport> {
  const response = await fetch(`http://127.0.0.1:${gateway.httpPort}/healthz`, { headers: HEALTH_HEADERS });
  return (await response.json()) as HealthReport;
}

/** Waits until the gateway has journaled `count` punches in all. */
async function journaled(count: number): Promise<void> {
  await waitFor(
    async () => ((await healthz()).journal.lastSeq >= count ? true : undefined),
    20_000,
    `${count} punches journaled`,
  );
  expect((await healthz()).journal.lastSeq).toBe(count);
}

beforeAll(async () => {
  const tmp = await tempDir('modbus-alerts-');
  cleanup = tmp.cleanup;
  emulator = new ModbusEmulator({ transport: 'tcp', port: 0 }, { capacity: 20 });
  await emulator.start();
  const { host, port } = emulator.address();
  const config = validateConfig({
    site: { name: 'modbus alerts' },
    dataDir: tmp.dir,
    http: { host: '127.0.0.1', port: 0, metricsToken: HEALTH_TOKEN },
    terminals: [
      {
        id: 'turnstile',
        driver: 'modbus',
        direction: 'state',
        transport: 'tcp',
        host,
        port,
        pollSeconds: 0.2,
        timeoutMs: 500,
      },
    ],
  });
  if (!config.ok) throw new Error(config.problems.join('\n'));
  gateway = new Gateway(config.config, testLogger());
  await gateway.start();
  await gateway.workers.apply(
    Array.from({ length: 5 }, (_, w) => ({
      source: 'local' as const,
      op: 'upsert' as const,
      identity: { gatewayId: `w${w + 1}` },
      name: `工人${w + 1}`,
    })),
  );
  pins = gateway.workers.list().map((w) => Number(w.pin));
  expect(pins).toHaveLength(5);
});

afterAll(async () => {
  await gateway?.stop();
  await emulator?.stop();
  await cleanup?.();
});

describe('Modbus overflow and reset in /healthz alerts', () => {
  it('shows no Modbus alert while nothing is lost', async () => {
    punch(3);
    await journaled(3);
    const report = await healthz();
    expect(report.alerts).toEqual([]);
    expect(report.status).toBe('ok');
  });

  it('shows a ring overflow with the count of lost events', async () => {
    // 27 events at once into a ring of 20: the 7 oldest are gone before the next poll.
    punch(27);
    await journaled(3 + 20);
    const report = await healthz();
    expect(report.alerts).toEqual([
      'terminal turnstile: ring overflow: 7 event(s) lost on the device since start',
    ]);
    expect(report.status).toBe('degraded');
  });

  it('adds a device reset, and keeps the overflow count after lastError moved on', async () => {
    emulator.unit().reset();
    punch(2);
    await journaled(3 + 20 + 2);
    const report = await healthz();
    const terminal = report.terminals.find((t) => t.id === 'turnstile');
    expect(terminal?.lastError).toMatch(/^device reset/);
    expect(report.alerts).toEqual([
      'terminal turnstile: ring overflow: 7 event(s) lost on the device since start',
      'terminal turnstile: device reset 1 time(s) since start',
    ]);
  });
});
