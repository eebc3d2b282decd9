/**
 * Drains 100,000 punches through DeliUpstream.deliver via Debian mosquitto to the Deli emulator,
 * and in the same run publishes the same batches from a raw mqtt.js loop (QoS 1, one in flight,
 * as an outbox does). Goal (issue 5): the upstream reaches ≥ 0.8× the raw loop.
 */
import mqtt from 'mqtt';
import { DeliEmulator } from '../../cloud/deli/emulator';
import { serializeEnvelope } from '../../cloud/deli/envelope';
import { encodeUp } from '../../cloud/deli/messages';
import type { Punch } from '../../gateway/model';
import { APP_ID, DEVICE_ID, drain, Mosquitto, makePunches, makeUpstream, ORG_ID } from '../deli/harness';
import { testLogger } from '../support/logger';
import { tempDir } from '../support/tmp';
import { emitBench, peakRssMb } from './report';

const TOTAL = 100_000;
const BATCH = 50;

async function main(): Promise<void> {
  const tmp = await tempDir('deli-bench-');
  const broker = new Mosquitto(tmp.dir);
  await broker.start();
  const emulator = new DeliEmulator({
    deviceId: DEVICE_ID,
    appId: APP_ID,
    orgId: ORG_ID,
    brokerUrl: broker.url,
    http: false,
    logger: testLogger('emu'),
  });
  await emulator.start();
  const { upstream } = makeUpstream(broker.url, { batchSize: BATCH });
  await upstream.start();
  if (!(await upstream.waitConnected(10_000))) throw new Error('upstream did not connect');

  const received = () => emulator.state().received;
  const batchesOf = (punches: readonly Punch[]) => {
    const out: Punch[][] = [];
    for (let i = 0; i < punches.length; i += BATCH) out.push(punches.slice(i, i + BATCH));
    return out;
  };

  // Warm both paths up (JIT, broker buffers) before timing.
  await drain(upstream, makePunches(2000, 1_000_000));
  const raw = await mqtt.connectAsync(broker.url, { clientId: `${DEVICE_ID}-raw`, clean: false });
  await rawLoop(raw, batchesOf(makePunches(2000, 1_100_000)));
  await emulator.waitFor(() => received() === 80, 20_000, 'warm-up');

  // Each run gets fresh punches (new records for the in-process emulator, same shape), and the two
  // paths alternate so that neither gains from running second; the best of three runs counts.
  let seqBase = 1;
  const timed = async (run: (punches: readonly Punch[]) => Promise<void>): Promise<number> => {
    const punches = makePunches(TOTAL, seqBase);
    seqBase += TOTAL;
    const before = received();
    const t0 = performance.now();
    await run(punches);
    await emulator.waitFor(() => received() === before + TOTAL / BATCH, 60_000, 'all batches');
    return performance.now() - t0;
  };
  const viaUpstream = async (punches: readonly Punch[]) => {
    await drain(upstream, punches);
  };
  const viaRaw = (punches: readonly Punch[]) => rawLoop(raw, batchesOf(punches));
  const upstreamRuns: number[] = [];
  const rawRuns: number[] = [];
  for (let round = 0; round < 3; round++) {
    if (round % 2 === 0) {
      upstreamRuns.push(await timed(viaUpstream));
      rawRuns.push(await timed(viaRaw));
    } else {
      rawRuns.push(await timed(viaRaw));
      upstreamRuns.push(await timed(viaUpstream));
    }
  }
  const upstreamMs = Math.min(...upstreamRuns);
  const rawMs = Math.min(...rawRuns);

  const upstreamRate = Math.round(TOTAL / (upstreamMs / 1000));
  const rawRate = Math.round(TOTAL / (rawMs / 1000));
  const violations = emulator.state().violations.length;
  await raw.endAsync();
  await upstream.stop();
  await emulator.stop();
  await broker.stop();
  await tmp.cleanup();

  emitBench({
    bench: 'deli',
    figures: {
      upstream_records_per_s: upstreamRate,
      raw_mqtt_records_per_s: rawRate,
      ratio_to_raw: Math.round((upstreamRate / rawRate) * 100) / 100,
      upstream_ms: Math.round(upstreamMs),
      raw_ms: Math.round(rawMs),
      emulator_violations: violations,
      peak_rss_mb: peakRssMb(),
    },
    goals: [
      { figure: 'ratio_to_raw', op: '>=', target: 0.8, source: 'issue 5' },
      { figure: 'emulator_violations', op: '<=', target: 0, source: 'issue 5' },
    ],
  });
}

/** The same check-in batches, encoded with the same envelope, one QoS 1 publish in flight at a time. */
async function rawLoop(client: mqtt.MqttClient, batches: readonly Punch[][]): Promise<void> {
  const topic = `deli/device/${DEVICE_ID}/up`;
  let n = 0;
  for (const batch of batches) {
    const { action, data } = encodeUp({
      cmd: 'checkin',
      orgId: ORG_ID,
      users: batch.map((p) => ({
        userId: p.workerId?.slice(1) ?? '',
        featureType: p.method,
        timeS: Math.floor(p.atMs / 1000),
      })),
    });
    const bytes = serializeEnvelope({
      mid: `raw${n++}-${Date.now()}`,
      from: DEVICE_ID,
      to: APP_ID,
      time: Math.floor(Date.now() / 1000),
      action,
      data,
    });
    await client.publishAsync(topic, bytes, { qos: 1 });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`deli bench failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
