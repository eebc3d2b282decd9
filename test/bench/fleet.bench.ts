/**
 * The fleet link's cost to a site (issue "A fleet of sites on an existing MQTT broker cluster"):
 *
 * - bytes a day per idle site (goal ≤ 1 MB): a gateway (the bundled CLI on plain node, two Modbus
 *   terminals and the Sichuan emulator, no alerts) reports to Debian mosquitto with its interval and
 *   keepalive divided by SCALE; the kernel's counters of its socket (`ss -tin`: bytes and segments
 *   both ways) over the window, plus 52 bytes of IPv4 and TCP headers (with timestamps) per segment,
 *   are scaled back to a day at the defaults (300 s, 120 s). Plain and TLS, measured side by side.
 * - CPU and resident memory the link adds (goal ≤ 5 MB RSS): the same site with and without the
 *   fleet at its defaults, three pairs side by side, medians.
 * - the time from a terminal going away to `fleet watch` showing its alert, and the part of it from
 *   the alert event reaching the broker.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { ModbusEmulator } from '../../adapters/modbus/emulator';
import { SichuanEmulator } from '../../cloud/sichuan/emulator';
import {
  CliProcess,
  cliBundle,
  Mosquitto,
  makeCertificates,
  Recorder,
  removeCliBundle,
  SiteProcess,
  waitUntil,
  watchDocuments,
  writeSiteConfig,
} from '../fleet/support';
import { tempDir } from '../support/tmp';
import { emitBench } from './report';

const DAY_S = 86_400;
const DEFAULT_INTERVAL_S = 300;
const DEFAULT_KEEPALIVE_S = 120;
/** Time runs this much faster in the byte count: a 5 s interval and a 2 s keepalive. */
const SCALE = 60;
const WINDOW_MS = 60_000;
/** IPv4 (20) + TCP (20) + the timestamp option (12) on every segment. */
const HEADER_BYTES = 52;
const PAIRS = 3;
const IDLE_MS = 30_000;
const LATENCY_ROUNDS = 3;

const SICHUAN = {
  sn: 'BENCH-GW-1',
  deviceKey: 'bench-device-key',
  sm4Key: '0123456789abcdeffedcba9876543210',
};

interface Counters {
  bytes: number;
  segments: number;
}

/** The kernel's counters of `pid`'s connection to `port` (ss -tin). */
function socketCounters(pid: number, port: number): Counters {
  const out = execFileSync('ss', ['-tinpH', 'state', 'established', `( dport = :${port} )`], {
    encoding: 'utf8',
  });
  const lines = out.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (!lines[i]!.includes(`pid=${pid},`)) continue;
    const info = `${lines[i]} ${lines[i + 1] ?? ''}`;
    const field = (name: string) => Number(new RegExp(`${name}:(\\d+)`).exec(info)?.[1] ?? 0);
    return {
      bytes: field('bytes_sent') + field('bytes_received'),
      segments: field('segs_out') + field('segs_in'),
    };
  }
  throw new Error(`no connection of pid ${pid} to port ${port}`);
}

function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function rssMb(pid: number): number {
  const kb = Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
  return kb / 1024;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;

async function main(): Promise<void> {
  const tmp = await tempDir('fleet-bench-');
  const stops: Array<() => Promise<unknown>> = [];
  try {
    const file = await cliBundle();
    const certs = makeCertificates(tmp.dir);
    const broker = new Mosquitto(tmp.dir, {
      tls: { certFile: certs.serverCert, keyFile: certs.serverKey, caFile: certs.caFile },
    });
    await broker.start();
    stops.push(() => broker.stop());
    const sichuan = new SichuanEmulator({ ...SICHUAN, host: '127.0.0.1', port: 0 });
    const baseUrl = await sichuan.start();
    stops.push(() => sichuan.stop());
    const emulators: ModbusEmulator[] = [];
    for (let i = 0; i < 2; i++) {
      const emulator = new ModbusEmulator({ transport: 'tcp', host: '127.0.0.1', port: 0 }, {});
      await emulator.start();
      emulators.push(emulator);
    }
    stops.push(() => Promise.all(emulators.map((e) => e.stop())));
    const ports = emulators.map((e) => e.address().port);

    // The same site, as a real process: `fleet` undefined leaves the link off, `{}` is its defaults.
    const startSite = async (
      siteId: string,
      fleet: Record<string, unknown> | undefined,
      modbusPorts = ports,
    ) => {
      const dir = await tempDir(`fleet-bench-${siteId}-`);
      stops.push(dir.cleanup);
      const config = await writeSiteConfig({ dir: dir.dir, siteId, brokerUrl: broker.url, modbusPorts });
      const document = JSON.parse(readFileSync(config, 'utf8')) as Record<string, unknown>;
      document.upstreams = { sichuan: { enabled: true, baseUrl, ...SICHUAN, heartbeatSeconds: 300 } };
      if (fleet === undefined) delete document.fleet;
      else document.fleet = { enabled: true, brokerUrl: broker.url, siteId, ...fleet };
      writeFileSync(config, JSON.stringify(document));
      const site = new SiteProcess(file, config, siteId);
      stops.push(() => site.kill('SIGTERM'));
      await site.httpAddress();
      return site;
    };
    const recorder = await Recorder.connect(broker.url, 'edge-gateway/#', {
      clientId: 'fleet-bench-recorder',
    });
    stops.push(() => recorder.end());
    const upWith = async (siteId: string) =>
      waitUntil(
        () =>
          recorder
            .on(`edge-gateway/${siteId}/health`)
            .some((m) => (m.json?.terminals as { online: number } | undefined)?.online === ports.length),
        60_000,
        `${siteId} up with its terminals`,
      );

    // ── bytes a day ──
    const scaled = {
      intervalSeconds: DEFAULT_INTERVAL_S / SCALE,
      keepaliveSeconds: DEFAULT_KEEPALIVE_S / SCALE,
      reconnectMinMs: 1000,
      reconnectMaxMs: 300_000,
    };
    const plain = await startSite('bench-plain', scaled);
    const tls = await startSite('bench-tls', { ...scaled, brokerUrl: broker.tlsUrl, caFile: certs.caFile });
    await Promise.all([upWith('bench-plain'), upWith('bench-tls')]);
    // Past the alert watch's settling and the first digests.
    await new Promise((resolve) => setTimeout(resolve, 8000));
    const before = {
      plain: socketCounters(plain.child.pid!, broker.port),
      tls: socketCounters(tls.child.pid!, broker.tlsPort),
    };
    const digestsBefore = recorder.on('edge-gateway/bench-plain/health').length;
    await new Promise((resolve) => setTimeout(resolve, WINDOW_MS));
    const after = {
      plain: socketCounters(plain.child.pid!, broker.port),
      tls: socketCounters(tls.child.pid!, broker.tlsPort),
    };
    const digests = recorder.on('edge-gateway/bench-plain/health').slice(digestsBefore);
    const lastDigest = digests.at(-1);
    const alertsWhileIdle = Number(lastDigest?.json?.alertCount ?? -1);
    if (alertsWhileIdle !== 0)
      process.stderr.write(`alerts while idle: ${JSON.stringify(lastDigest?.json?.alerts)}\n`);
    const perDay = (b: Counters, a: Counters) => {
      const wire = a.bytes - b.bytes + (a.segments - b.segments) * HEADER_BYTES;
      return Math.round((wire * DAY_S * 1000) / (WINDOW_MS * SCALE));
    };
    const bytesPerDay = perDay(before.plain, after.plain);
    const bytesPerDayTls = perDay(before.tls, after.tls);
    const streamBytesPerDay = Math.round(
      ((after.plain.bytes - before.plain.bytes) * DAY_S * 1000) / (WINDOW_MS * SCALE),
    );
    await plain.kill('SIGTERM');
    await tls.kill('SIGTERM');

    // ── CPU and memory the link adds ──
    const rssAdded: number[] = [];
    const cpuAdded: number[] = [];
    const rssWithout: number[] = [];
    for (let pair = 0; pair < PAIRS; pair++) {
      const [off, on] = await Promise.all([
        startSite(`bench-off-${pair}`, undefined),
        startSite(`bench-on-${pair}`, {}),
      ]);
      await upWith(`bench-on-${pair}`);
      await new Promise((resolve) => setTimeout(resolve, 5000));
      const cpu0 = [cpuSeconds(off.child.pid!), cpuSeconds(on.child.pid!)];
      await new Promise((resolve) => setTimeout(resolve, IDLE_MS));
      const cpu1 = [cpuSeconds(off.child.pid!), cpuSeconds(on.child.pid!)];
      const rss = [rssMb(off.child.pid!), rssMb(on.child.pid!)];
      rssWithout.push(rss[0]!);
      rssAdded.push(rss[1]! - rss[0]!);
      cpuAdded.push((cpu1[1]! - cpu0[1]! - (cpu1[0]! - cpu0[0]!)) / (IDLE_MS / 1000));
      await Promise.all([off.kill('SIGTERM'), on.kill('SIGTERM')]);
    }

    // ── alert → fleet watch ──
    const lone = new ModbusEmulator({ transport: 'tcp', host: '127.0.0.1', port: 0 }, {});
    await lone.start();
    const lonePort = lone.address().port;
    const alerting = await startSite('bench-alert', {}, [lonePort]);
    await waitUntil(
      () =>
        recorder
          .on('edge-gateway/bench-alert/health')
          .some((m) => (m.json?.terminals as { online: number } | undefined)?.online === 1),
      60_000,
      'bench-alert up',
    );
    const watch = new CliProcess(file, ['fleet', 'watch', '--broker', broker.url, '--json']);
    stops.push(() => watch.kill('SIGTERM'));
    // Past the box's settling, so the first alert is seen as raised.
    await new Promise((resolve) => setTimeout(resolve, 6000));
    let emulator = lone;
    const toWatch: number[] = [];
    const toBroker: number[] = [];
    const offline = (text: unknown) => String(text).startsWith('terminal bench-alert-gate-1 offline');
    for (let i = 0; i < LATENCY_ROUNDS; i++) {
      const mark = watch.lineCount;
      const events = recorder.messages.length;
      const stoppedAt = Date.now();
      await emulator.stop();
      const event = await waitUntil(
        () =>
          recorder.messages
            .slice(events)
            .find(
              (m) =>
                m.topic === 'edge-gateway/bench-alert/alerts' &&
                m.json?.event === 'raised' &&
                offline(m.json.text),
            ),
        30_000,
        'the alert event',
      );
      await waitUntil(
        () =>
          watchDocuments(watch.linesSince(mark)).some((d) =>
            d.sites.some((s) => s.site === 'bench-alert' && s.alerts.some(offline)),
          ),
        30_000,
        'fleet watch to show the alert',
      );
      toWatch.push(Date.now() - stoppedAt);
      toBroker.push(event.atMs - stoppedAt);
      emulator = new ModbusEmulator({ transport: 'tcp', host: '127.0.0.1', port: lonePort }, {});
      await emulator.start();
      const cleared = recorder.messages.length;
      await waitUntil(
        () =>
          recorder.messages
            .slice(cleared)
            .some((m) => m.topic === 'edge-gateway/bench-alert/alerts' && m.json?.event === 'cleared'),
        60_000,
        'the alert cleared',
      );
    }
    await emulator.stop();
    await alerting.kill('SIGTERM');

    emitBench({
      bench: 'fleet',
      figures: {
        bytesPerDayIdle: bytesPerDay,
        bytesPerDayIdleTls: bytesPerDayTls,
        streamBytesPerDayIdle: streamBytesPerDay,
        digestBytes: lastDigest ? Buffer.byteLength(lastDigest.text) : 0,
        alertsWhileIdle,
        rssAddedMb: round(median(rssAdded)),
        rssWithoutFleetMb: round(median(rssWithout)),
        cpuAddedPercent: round(median(cpuAdded) * 100, 2),
        alertToBrokerMs: median(toBroker),
        alertToFleetWatchMs: median(toWatch),
      },
      goals: [
        { figure: 'bytesPerDayIdle', op: '<=', target: 1_000_000, source: 'fleet issue' },
        { figure: 'bytesPerDayIdleTls', op: '<=', target: 1_000_000, source: 'fleet issue' },
        { figure: 'rssAddedMb', op: '<=', target: 5, source: 'fleet issue' },
      ],
    });
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    removeCliBundle();
    await tmp.cleanup();
  }
}

void main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${(error as Error).stack ?? error}\n`);
    process.exit(1);
  },
);
