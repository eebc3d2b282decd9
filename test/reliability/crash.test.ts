/**
 * Power-cut test: emulated terminals keep punching (in this process) while the gateway (a child
 * process, the bundled CLI) is killed with SIGKILL at random moments, 30 times, and restarted.
 * At the end every punch the terminals produced is at both emulated platforms, duplicates are
 * bounded by `outbox.cursorSaveBatches` batches per kill (the documented bound: the batches whose
 * cursor had not reached the disk, the one in flight included), and the journal, state and
 * cursor files are valid.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZkEmulator } from '../../adapters/zk/emulator';
import { DeliEmulator } from '../../cloud/deli/emulator';
import { SichuanEmulator } from '../../cloud/sichuan/emulator';
import type { HealthReport } from '../../gateway/http/health';
import { parseJournalLine } from '../../gateway/store/journal-line';
import { wallTimeToUtcMs } from '../../lib/wall-clock';
import { HEALTH_HEADERS, HEALTH_TOKEN } from '../support/health';
import { waitFor } from '../support/lab-process';
import { testLogger } from '../support/logger';
import { tempDir } from '../support/tmp';

const KILLS = Number(process.env.CRASH_KILLS ?? 30);
const WORKERS = 20;
const ROOT = resolve(import.meta.dirname, '../..');
const SICHUAN = { sn: 'GW-CRASH', deviceKey: 'crash-key', sm4Key: '0123456789abcdeffedcba9876543210' };
const DELI = { deviceId: 'kq01_GW-CRASH', appId: 'crash-app', orgId: '1000001' };
const SICHUAN_BATCH = 10;
const DELI_BATCH = 20;
/** outbox.cursorSaveBatches, at its default (docs/configuration.md). */
const CURSOR_SAVE_BATCHES = 32;

let dir: string;
let cleanup: () => Promise<void>;
let bundle: string;
let configFile: string;
const terminals: ZkEmulator[] = [];
let sichuan: SichuanEmulator;
let deli: DeliEmulator;
let punching: NodeJS.Timeout | undefined;

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('crash-'));
  // The CLI bundled once and run on plain node: a restart then takes a few hundred milliseconds.
  mkdirSync(join(ROOT, '.tmp'), { recursive: true });
  bundle = join(ROOT, '.tmp', `crash-${process.pid}`, 'gateway.cjs');
  await build({
    entryPoints: [join(ROOT, 'gateway/main.ts')],
    outfile: bundle,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    packages: 'external',
    logLevel: 'error',
  });

  for (let i = 0; i < 2; i++) {
    const zk = new ZkEmulator({
      users: Array.from({ length: WORKERS }, (_, w) => ({ pin: String(w + 1), name: `工人${w + 1}` })),
      records: 0,
      timeZone: 'Asia/Shanghai',
    });
    await zk.start();
    terminals.push(zk);
  }
  sichuan = new SichuanEmulator({ ...SICHUAN, port: 0 });
  const baseUrl = await sichuan.start();
  deli = new DeliEmulator({ ...DELI, embedded: true, logger: testLogger() });
  await deli.start();

  const dataDir = join(dir, 'data');
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  // The roster as the gateway stores it: worker w has PIN w on every terminal and an identity on both platforms.
  const workers = Object.fromEntries(
    Array.from({ length: WORKERS }, (_, w) => [
      `w${w + 1}`,
      {
        id: `w${w + 1}`,
        pin: String(w + 1),
        name: `工人${w + 1}`,
        identities: { sichuanUserId: `SC${w + 1}`, deliUserId: String(90_001 + w) },
        sources: ['local'],
        status: 'active',
        templates: [],
        updatedMs: 0,
      },
    ]),
  );
  writeFileSync(join(dataDir, 'roster.json'), JSON.stringify({ workers, nextPin: WORKERS + 1 }), {
    mode: 0o600,
  });
  configFile = join(dir, 'config.json');
  writeFileSync(
    configFile,
    JSON.stringify({
      site: { name: 'crash test' },
      dataDir,
      http: { host: '127.0.0.1', port: 0, metricsToken: HEALTH_TOKEN },
      outbox: { initialBackoffMs: 50, maxBackoffMs: 500, cursorSaveBatches: CURSOR_SAVE_BATCHES },
      log: { level: 'info' },
      terminals: terminals.map((zk, i) => ({
        id: `zk-${i}`,
        driver: 'zk',
        direction: i === 0 ? 'in' : 'out',
        host: '127.0.0.1',
        port: zk.port,
        transport: 'tcp',
        pollSeconds: 1,
        syncClock: false,
      })),
      upstreams: {
        sichuan: { enabled: true, baseUrl, ...SICHUAN, heartbeatSeconds: 600, batchSize: SICHUAN_BATCH },
        deli: { enabled: true, brokerUrl: deli.brokerUrl, ...DELI, batchSize: DELI_BATCH },
      },
    }),
  );
});

/** Every gateway started, so one left running by a failed or timed-out test is killed too. */
const started: ChildProcess[] = [];

afterAll(async () => {
  clearInterval(punching);
  for (const child of started)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await Promise.all([...terminals.map((t) => t.stop()), sichuan?.stop(), deli?.stop()]);
  rmSync(dirname(bundle), { recursive: true, force: true });
  await cleanup();
});

interface Running {
  readonly child: ChildProcess;
  readonly port: Promise<number>;
  readonly exited: Promise<void>;
}

function startGateway(): Running {
  const child = spawn(process.execPath, [bundle, 'start', '--config', configFile], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.push(child);
  let output = '';
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  const port = new Promise<number>((resolvePort, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /"http":"[^"]*:(\d+)"/.exec(output);
      if (match) resolvePort(Number(match[1]));
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code, signal) => {
      if (signal !== 'SIGKILL' && signal !== 'SIGTERM')
        reject(new Error(`gateway exited (${code}):\n${output}`));
    });
  });
  return { child, port, exited };
}

async function health(port: number): Promise<HealthReport> {
  const response = await fetch(`http://127.0.0.1:${port}/healthz`, { headers: HEALTH_HEADERS });
  return (await response.json()) as HealthReport;
}

describe('crash safety under steady punching', () => {
  it(`delivers every punch to both platforms across ${KILLS} SIGKILLs`, async () => {
    let punchNo = 0;
    punching = setInterval(() => {
      const zk = terminals[punchNo % 2]!;
      zk.addPunch({ pin: String(1 + (punchNo % WORKERS)), verify: 1, state: punchNo % 2 });
      punchNo++;
    }, 40);

    for (let kill = 0; kill < KILLS; kill++) {
      const gateway = startGateway();
      await gateway.port;
      await new Promise((r) => setTimeout(r, 150 + Math.random() * 700));
      gateway.child.kill('SIGKILL');
      await gateway.exited;
    }
    clearInterval(punching);

    const final = startGateway();
    const port = await final.port;
    const produced = terminals.flatMap((zk, i) => zk.attendance().map((a) => ({ ...a, terminal: i })));
    expect(produced.length).toBeGreaterThan(KILLS * 5);
    // Punches of one worker in the same second on one terminal are one punch (the gateway de-duplicates them).
    const expected = new Map<string, number>();
    for (const p of produced) expected.set(`${p.terminal}|${p.pin}|${p.time}`, 1);

    const sichuanKey = (r: { userId: string; recogTime: string; type: number | string }) =>
      `${Number(r.type) === 1 ? 0 : 1}|${r.userId.slice(2)}|${r.recogTime.replace(' ', 'T')}`;

    await waitFor(
      async () => {
        const h = await health(port);
        const drained = h.upstreams.every((u) => u.backlog === 0) && h.journal.lastSeq >= expected.size;
        const atSichuan = new Set(sichuan.state().punches.map(sichuanKey));
        return drained && [...expected.keys()].every((k) => atSichuan.has(k)) ? true : undefined;
      },
      60_000,
      'every punch at the Sichuan emulator',
    );
    final.child.kill('SIGTERM');
    await final.exited;

    // Sichuan: every produced punch arrived; extra copies only from batches whose cursor a kill caught unsaved.
    const sichuanCounts = new Map<string, number>();
    for (const r of sichuan.state().punches)
      sichuanCounts.set(sichuanKey(r), (sichuanCounts.get(sichuanKey(r)) ?? 0) + 1);
    for (const key of expected.keys()) expect(sichuanCounts.get(key), key).toBeGreaterThanOrEqual(1);
    const sichuanDuplicates = [...sichuanCounts.values()].reduce((n, c) => n + c - 1, 0);
    expect(sichuanDuplicates).toBeLessThanOrEqual(KILLS * CURSOR_SAVE_BATCHES * SICHUAN_BATCH);

    // Deli: the same, by user and second (a check-in carries no direction).
    const deliCounts = new Map<string, number>();
    for (const checkin of deli.checkins) {
      for (const user of checkin.users) {
        const key = `${user.userId}|${user.timeS}`;
        deliCounts.set(key, (deliCounts.get(key) ?? 0) + 1);
      }
    }
    const deliExpected = new Set(
      produced.map(
        (p) => `${90_000 + Number(p.pin)}|${Math.floor(wallTimeToUtcMs(p.time, 'Asia/Shanghai') / 1000)}`,
      ),
    );
    for (const key of deliExpected) expect(deliCounts.get(key), `deli ${key}`).toBeGreaterThanOrEqual(1);
    const deliDuplicates = deli.checkins.filter((c) => c.duplicate).reduce((n, c) => n + c.users.length, 0);
    expect(deliDuplicates).toBeLessThanOrEqual(KILLS * CURSOR_SAVE_BATCHES * DELI_BATCH);

    // Journal and state files are valid: every line a punch, dense sequence numbers, JSON state.
    const journalDir = join(dir, 'data', 'journal');
    const seqs: number[] = [];
    // Segments only: a sealed segment has an index beside it (`.idx`), which is not punches.
    for (const file of readdirSync(journalDir)
      .filter((f) => f.endsWith('.jsonl'))
      .sort()) {
      for (const line of readFileSync(join(journalDir, file), 'utf8').split('\n')) {
        if (line === '') continue;
        const punch = parseJournalLine(line);
        expect(punch, line).not.toBeNull();
        seqs.push(punch!.seq);
      }
    }
    seqs.forEach((seq, i) => {
      expect(seq).toBe(i + 1);
    });
    for (const file of ['state.json', 'cursors.json', 'roster.json']) {
      expect(() => JSON.parse(readFileSync(join(dir, 'data', file), 'utf8')), file).not.toThrow();
    }
    // Stopped in order: the cursor log was folded into cursors.json, which holds both platforms'
    // ends, and blanked (empty lines only).
    const cursors = JSON.parse(readFileSync(join(dir, 'data', 'cursors.json'), 'utf8')) as Record<
      string,
      number
    >;
    expect(cursors['outbox.sichuan']).toBe(seqs.length);
    expect(cursors['outbox.deli']).toBe(seqs.length);
    expect(readFileSync(join(dir, 'data', 'cursors.log'), 'utf8').replaceAll('\n', '')).toBe('');
    // 31 starts of a gateway that opens its query store and catches it up after each kill, then a
    // drain of up to 60 s: ≈ 31 s alone, over 60 s beside the rest of the suite on two cores.
  }, 150_000);
});
