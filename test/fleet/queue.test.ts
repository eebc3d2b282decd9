/**
 * While the broker is away: only the latest status and health go out when it is back (nothing from
 * the outage is replayed), and alert events past `alertQueue` are dropped oldest first and counted:
 * an `overflow` event says how many, and every digest keeps the total.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModbusEmulator } from '../../adapters/modbus/emulator';
import { alertKey } from '../../gateway/fleet/alert-watch';
import { tempDir } from '../support/tmp';
import {
  cliBundle,
  Mosquitto,
  Recorder,
  removeCliBundle,
  SiteProcess,
  waitUntil,
  writeSiteConfig,
} from './support';

const TERMINALS = 4;
const QUEUE = 2;
const INTERVAL_SECONDS = 1;

let cleanup: Array<() => Promise<unknown>> = [];
let broker: Mosquitto;
const emulators: ModbusEmulator[] = [];
let site: SiteProcess;
let recorder: Recorder;

beforeAll(async () => {
  const tmp = await tempDir('fleet-queue-');
  cleanup.push(tmp.cleanup);
  broker = new Mosquitto(tmp.dir);
  await broker.start();
  cleanup.push(() => broker.stop());
  for (let i = 0; i < TERMINALS; i++) {
    const emulator = new ModbusEmulator({ transport: 'tcp', host: '127.0.0.1', port: 0 }, {});
    await emulator.start();
    emulators.push(emulator);
  }
  cleanup.push(() => Promise.all(emulators.map((e) => e.stop())));
  recorder = await Recorder.connect(broker.url, 'edge-gateway/#', { clientId: 'fleet-queue-recorder' });
  cleanup.push(() => recorder.end());
  const config = await writeSiteConfig({
    dir: tmp.dir,
    siteId: 'site-q',
    brokerUrl: broker.url,
    modbusPorts: emulators.map((e) => e.address().port),
    fleet: { intervalSeconds: INTERVAL_SECONDS, alertQueue: QUEUE },
  });
  site = new SiteProcess(await cliBundle(), config, 'site-q');
  cleanup.push(() => site.kill('SIGTERM'));
  await waitUntil(
    () =>
      recorder
        .on('edge-gateway/site-q/health')
        .some((m) => (m.json?.terminals as { online: number } | undefined)?.online === TERMINALS),
    60_000,
    'site-q online with its terminals',
  );
}, 90_000);

afterAll(async () => {
  for (const step of cleanup.reverse()) await step().catch(() => undefined);
  cleanup = [];
  removeCliBundle();
});

describe('the fleet link while the broker is away (real mosquitto, a real gateway process)', () => {
  it('sends only fresh status and health afterwards, and counts alert events past the bound', async () => {
    const before = recorder.messages.length;
    let backAt = 0;
    let alertsAtBox: string[] = [];
    await broker.restart(async () => {
      await Promise.all(emulators.map((e) => e.stop()));
      await waitUntil(
        async () => {
          const h = await site.health();
          alertsAtBox = h.alerts;
          return (
            h.terminals.every((t) => !t.online) &&
            h.alerts.filter((a) => / offline/.test(a)).length === TERMINALS
          );
        },
        20_000,
        'every terminal offline at the box',
      );
      // Several intervals pass with the broker away: a box that queued its digests would have a pile to send.
      await new Promise((resolve) => setTimeout(resolve, 5 * INTERVAL_SECONDS * 1000));
      backAt = Date.now();
    });
    const since = () => recorder.messages.slice(before);
    const events = await waitUntil(
      () => {
        const found = since()
          .filter((m) => m.topic === 'edge-gateway/site-q/alerts')
          .map((m) => m.json!);
        return found.length >= QUEUE + 1 ? found : undefined;
      },
      20_000,
      'the queued alert events',
    );
    // Every alert at the box was raised while the broker was away (the box starts comparing 5 s
    // after it starts, inside the outage): all but QUEUE were dropped, oldest first. The overflow
    // report comes first, then the newest QUEUE events in order, each an alert the box has (its detail may have changed since).
    const dropped = alertsAtBox.length - QUEUE;
    expect(dropped).toBeGreaterThanOrEqual(TERMINALS - QUEUE);
    expect(events[0]).toMatchObject({ event: 'overflow', count: dropped });
    expect(events.slice(1).map((e) => e.event)).toEqual(Array(QUEUE).fill('raised'));
    for (const e of events.slice(1)) expect(alertsAtBox.map(alertKey)).toContain(alertKey(String(e.text)));
    const seqs = events.map((e) => Number(e.seq));
    expect(seqs).toEqual(seqs.map((_, i) => seqs[0]! + i));

    // Nothing made while the broker was away went out: every digest after it is fresh.
    await new Promise((resolve) => setTimeout(resolve, 2 * INTERVAL_SECONDS * 1000));
    const healths = since().filter((m) => m.topic === 'edge-gateway/site-q/health');
    expect(healths.length).toBeGreaterThan(0);
    for (const h of healths) expect(Number(h.json!.at) * 1000).toBeGreaterThanOrEqual(backAt - 1000);
    const first = healths[0]!.json as { terminals: { online: number }; fleet: { overflowed: number } };
    expect(first.terminals.online).toBe(0);
    expect(healths.at(-1)!.json!.fleet).toMatchObject({ overflowed: dropped });
    // The broker itself may publish the last will as it comes back (mosquitto does, from its saved
    // session); what the box published is fresh.
    const statuses = since().filter((m) => m.topic === 'edge-gateway/site-q/status');
    const fromBox = statuses.filter((m) => m.json!.reason !== 'lost');
    expect(fromBox.length).toBeGreaterThan(0);
    for (const s of fromBox) expect(Number(s.json!.at) * 1000).toBeGreaterThanOrEqual(backAt - 1000);
    expect(statuses.at(-1)!.json).toMatchObject({ online: true });
  }, 90_000);
});
