/**
 * Modbus TCP read throughput: a full event-ring-v1 ring (N = 1000) read from the emulator over loopback,
 * and the request count against the profile's minimum (ceil(N·8/125) ring reads + 1 header read).
 */
import { ModbusDriver } from '../../adapters/modbus/driver';
import { ModbusEmulator } from '../../adapters/modbus/emulator';
import { systemClock } from '../../lib/clock';
import { modbusConfig } from '../modbus/support';
import { testLogger } from '../support/logger';
import { emitBench, peakRssMb } from './report';

const N = 1000;
const RECORD_REGISTERS = 8;
const MAX_PER_READ = 125;
const ROUNDS = 30;

async function main(): Promise<void> {
  const emulator = new ModbusEmulator({ transport: 'tcp' }, { capacity: N });
  await emulator.start();
  emulator.unit().addEvents(N);
  const { host, port } = emulator.address();
  const driver = new ModbusDriver(modbusConfig({ transport: 'tcp', host, port }), {
    logger: testLogger('modbus-bench'),
    clock: systemClock,
  });
  await driver.connect();

  const requestsBefore = Number(driver.health().details?.['requests'] ?? 0);
  let events = 0;
  const started = process.hrtime.bigint();
  for (let round = 0; round < ROUNDS; round++) {
    const batch = await driver.readPunchesSince(null);
    if (batch.punches.length !== N)
      throw new Error(`round ${round}: read ${batch.punches.length} of ${N} events`);
    events += batch.punches.length;
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const requests = Number(driver.health().details?.['requests'] ?? 0) - requestsBefore;

  // Steady state: a few new events per poll, as the supervisor sees them every pollSeconds.
  let cursor = (await driver.readPunchesSince(null)).cursor;
  const steadyBefore = Number(driver.health().details?.['requests'] ?? 0);
  for (let poll = 0; poll < 100; poll++) {
    emulator.unit().addEvents(5);
    cursor = (await driver.readPunchesSince(cursor)).cursor;
  }
  const steadyRequestsPerPoll = (Number(driver.health().details?.['requests'] ?? 0) - steadyBefore) / 100;

  await driver.disconnect();
  await emulator.stop();

  const minimumPerRing = Math.ceil((N * RECORD_REGISTERS) / MAX_PER_READ) + 1;
  const requestsPerRing = requests / ROUNDS;
  emitBench({
    bench: 'modbus',
    figures: {
      ringEvents: N,
      eventsPerSecond: Math.round(events / seconds),
      requestsPerFullRing: requestsPerRing,
      minimumRequestsPerFullRing: minimumPerRing,
      requestsVsMinimum: Math.round((requestsPerRing / minimumPerRing) * 1000) / 1000,
      requestsPerEvent: Math.round((requestsPerRing / N) * 10000) / 10000,
      steadyRequestsPerPollOf5: steadyRequestsPerPoll,
      peakRssMb: peakRssMb(),
    },
    goals: [{ figure: 'requestsVsMinimum', op: '<=', target: 1.2, source: 'issue 9' }],
  });
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack ?? err}\n`);
  process.exitCode = 1;
});
