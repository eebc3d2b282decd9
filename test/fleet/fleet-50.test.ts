/**
 * Fifty sites on one mosquitto, each a real gateway process with a Modbus terminal: `fleet watch`
 * shows them all; an alert at one site shows within one interval; a killed box shows offline
 * through its last will; a broker restart is survived by all, and the alert events raised while the
 * broker was down arrive once each.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModbusEmulator } from '../../adapters/modbus/emulator';
import { tempDir } from '../support/tmp';
import {
  CliProcess,
  cliBundle,
  Mosquitto,
  Recorder,
  removeCliBundle,
  runCliBundle,
  SiteProcess,
  type WatchDocument,
  waitUntil,
  watchDocuments,
  writeSiteConfig,
} from './support';

const SITES = 50;
const INTERVAL_SECONDS = 10;
const siteId = (i: number) => `site-${String(i + 1).padStart(2, '0')}`;
/** Site 1 has a terminal of its own (the one alert); the others share one emulator. */
const LONE = siteId(0);
/** Killed with SIGKILL in the last-will test, so it sits out the broker restart. */
const KILLED = siteId(SITES - 1);

let cleanup: Array<() => Promise<unknown>> = [];
let broker: Mosquitto;
let lone: ModbusEmulator;
let shared: ModbusEmulator;
let sharedPort: number;
let sites: SiteProcess[] = [];
let watch: CliProcess;
let recorder: Recorder;

async function startEmulator(port = 0): Promise<ModbusEmulator> {
  const emulator = new ModbusEmulator({ transport: 'tcp', host: '127.0.0.1', port }, {});
  await emulator.start();
  return emulator;
}

/** The first document `fleet watch --json` prints from now on that satisfies `test`. */
function watchShows(
  test: (doc: WatchDocument) => boolean,
  timeoutMs: number,
  what: string,
): Promise<WatchDocument> {
  const mark = watch.lineCount;
  return waitUntil(
    () => watchDocuments(watch.linesSince(mark)).find(test),
    timeoutMs,
    `fleet watch to show ${what}`,
  );
}

const row = (doc: WatchDocument, id: string) => doc.sites.find((s) => s.site === id);

beforeAll(async () => {
  const tmp = await tempDir('fleet-50-');
  cleanup.push(tmp.cleanup);
  const file = await cliBundle();
  broker = new Mosquitto(tmp.dir);
  await broker.start();
  cleanup.push(() => broker.stop());
  lone = await startEmulator();
  shared = await startEmulator();
  sharedPort = shared.address().port;
  cleanup.push(
    () => lone.stop(),
    () => shared.stop(),
  );
  recorder = await Recorder.connect(broker.url, 'edge-gateway/+/alerts', { clientId: 'fleet-50-recorder' });
  cleanup.push(() => recorder.end());
  const configs = await Promise.all(
    Array.from({ length: SITES }, (_, i) =>
      writeSiteConfig({
        dir: tmp.dir,
        siteId: siteId(i),
        brokerUrl: broker.url,
        modbusPorts: [i === 0 ? lone.address().port : sharedPort],
        fleet: { intervalSeconds: INTERVAL_SECONDS },
      }),
    ),
  );
  sites = configs.map((config, i) => new SiteProcess(file, config, siteId(i)));
  cleanup.push(() => Promise.all(sites.map((s) => s.kill('SIGTERM'))));
  watch = new CliProcess(file, [
    'fleet',
    'watch',
    '--broker',
    broker.url,
    '--json',
    '--client-id',
    'fleet-50-watch',
  ]);
  cleanup.push(() => watch.kill('SIGTERM'));
}, 60_000);

afterAll(async () => {
  const started = Date.now();
  for (const step of cleanup.reverse()) await step().catch(() => undefined);
  cleanup = [];
  removeCliBundle();
  process.stderr.write(`fleet-50: 50 gateways and the broker stopped in ${Date.now() - started} ms\n`);
  // Fifty graceful stops (each flushes its journal and cursors) share two cores with the rest of the suite.
}, 120_000);

describe('fifty sites on one mosquitto (real gateway processes)', () => {
  it('fleet watch shows all fifty online with their terminal', async () => {
    const doc = await watchShows(
      (d) => d.sites.length === SITES && d.sites.every((s) => s.online === true && s.terminals?.online === 1),
      75_000,
      'fifty sites online with their terminal',
    );
    expect(doc.sites.map((s) => s.site).sort()).toEqual(Array.from({ length: SITES }, (_, i) => siteId(i)));
    expect(doc.sites.every((s) => s.version === '0.0.0-fleet-test' && s.terminals?.total === 1)).toBe(true);
    // A watcher started afterwards sees the same from the retained messages alone.
    const once = await runCliBundle([
      'fleet',
      'watch',
      '--broker',
      broker.url,
      '--once',
      '--json',
      '--wait',
      '1500',
    ]);
    expect(once.code).toBe(0);
    const snapshot = JSON.parse(once.stdout) as WatchDocument;
    expect(snapshot.sites.filter((s) => s.online === true && s.terminals?.total === 1)).toHaveLength(SITES);
  }, 90_000);

  it('an alert raised at one site shows on fleet watch within one interval, and its clearing too', async () => {
    const lonePort = lone.address().port;
    const stoppedAt = Date.now();
    await lone.stop();
    const raised = await watchShows(
      (d) => row(d, LONE)?.alerts.some((a) => a.startsWith(`terminal ${LONE}-gate-1 offline`)) === true,
      INTERVAL_SECONDS * 1000,
      `an alert at ${LONE}`,
    );
    const shownMs = Date.now() - stoppedAt;
    // Worst first: the site with the most alerts heads the table.
    expect(raised.sites[0]!.site).toBe(LONE);
    expect(shownMs).toBeLessThan(INTERVAL_SECONDS * 1000);
    // The event itself, once, on the alerts topic.
    const events = recorder
      .on(`edge-gateway/${LONE}/alerts`)
      .map((m) => m.json!)
      .filter((e) => String(e.text).startsWith(`terminal ${LONE}-gate-1 offline`));
    expect(events.map((e) => e.event)).toEqual(['raised']);

    lone = await startEmulator(lonePort);
    await watchShows(
      (d) => row(d, LONE)?.alerts.some((a) => a.includes(`${LONE}-gate-1`)) === false,
      INTERVAL_SECONDS * 1000 + 5000,
      `${LONE} clear again`,
    );
    await waitUntil(
      () =>
        recorder
          .on(`edge-gateway/${LONE}/alerts`)
          .some((m) => m.json?.event === 'cleared' && String(m.json.text).includes(`${LONE}-gate-1`)),
      5000,
      'the cleared event',
    );
  }, 40_000);

  it('a killed box shows offline through its last will', async () => {
    const victim = sites.find((s) => s.siteId === KILLED)!;
    await victim.kill('SIGKILL');
    const doc = await watchShows((d) => row(d, KILLED)?.online === false, 10_000, `${KILLED} offline`);
    expect(row(doc, KILLED)).toMatchObject({ state: 'offline', reason: 'lost' });
    // Offline sorts first.
    expect(doc.sites[0]!.site).toBe(KILLED);
  }, 20_000);

  it('survives a broker restart: all come back, and alerts raised meanwhile arrive once each', async () => {
    const alive = sites.filter((s) => s.siteId !== KILLED);
    const sharing = alive.filter((s) => s.siteId !== LONE);
    const before = recorder.messages.length;
    await broker.restart(async () => {
      // While the broker is down, every site on the shared terminal loses it and raises an alert.
      await shared.stop();
      await waitUntil(
        async () => {
          const seen = await Promise.all(
            sharing.map(async (s) =>
              (await s.health()).alerts.some((a) => a.startsWith(`terminal ${s.siteId}-gate-1 offline`)),
            ),
          );
          return seen.every(Boolean);
        },
        20_000,
        'every sharing site to see its terminal offline',
      );
    });
    await watchShows(
      (d) => alive.every((s) => row(d, s.siteId)?.online === true),
      20_000,
      'every live site online again after the restart',
    );
    // Events about each site's own terminal (a site may have alerts of other kinds too).
    const terminalEvents = (event: 'raised' | 'cleared') =>
      recorder.messages
        .slice(before)
        .filter(
          (m) =>
            m.json?.event === event &&
            String(m.json.text).startsWith(`terminal ${String(m.json.site)}-gate-1 offline`),
        )
        .map((m) => String(m.json!.site));
    await waitUntil(
      () => sharing.every((s) => terminalEvents('raised').includes(s.siteId)) || undefined,
      20_000,
      'the raised events of every sharing site',
    );
    // A moment for any duplicate to show up before counting.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(terminalEvents('raised').sort()).toEqual(sharing.map((s) => s.siteId).sort());
    const offline = (d: WatchDocument, id: string) =>
      row(d, id)?.alerts.some((a) => a.startsWith(`terminal ${id}-gate-1 offline`)) === true;
    const doc = await watchShows(
      (d) => sharing.every((s) => offline(d, s.siteId)),
      15_000,
      'the alerts of every sharing site',
    );
    expect(offline(doc, LONE)).toBe(false);

    // The terminal comes back: every sharing site clears its alert, one cleared event each.
    shared = await startEmulator(sharedPort);
    await waitUntil(
      () => sharing.every((s) => terminalEvents('cleared').includes(s.siteId)) || undefined,
      30_000,
      'the cleared events of every sharing site',
    );
    await watchShows(
      (d) => sharing.every((s) => !offline(d, s.siteId)),
      15_000,
      'every sharing site clear again',
    );
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(terminalEvents('cleared').sort()).toEqual(sharing.map((s) => s.siteId).sort());
  }, 120_000);

  it('every gateway stops on SIGTERM, with its terminal coming and going to the last', async () => {
    const alive = sites.filter((s) => s.siteId !== KILLED);
    // The shared terminal goes away once more while they stop: closing its links must not hold them up.
    await shared.stop();
    const codes = await Promise.all(
      alive.map(async (s) => {
        const stopped = s.kill('SIGTERM');
        const code = await Promise.race([
          stopped,
          new Promise((resolve) => setTimeout(resolve, 30_000, 'hung')),
        ]);
        return { site: s.siteId, code };
      }),
    );
    expect(codes.filter((c) => c.code !== 0)).toEqual([]);
  }, 60_000);
});
