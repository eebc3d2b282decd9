/**
 * Builds both binaries once (the Node base binaries are cached in .tmp/node-bins) and runs the x64
 * one as an installer would; the arm64 one is checked to be an aarch64 ELF and, where Debian's
 * qemu-user and the arm64 C library are installed, run under qemu-aarch64.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BuiltBinary, buildBinaries, ROOT } from '../../build/build';
import { PunchJournal } from '../../gateway/store/journal';
import { readTrial } from '../../gateway/update/trial';
import { Updater } from '../../gateway/update/updater';
import packageJson from '../../package.json' with { type: 'json' };
import { HEALTH_ENV, HEALTH_HEADERS, HEALTH_TOKEN } from '../support/health';
import { testLogger } from '../support/logger';
import { draft } from '../support/punches';
import { tempDir } from '../support/tmp';
import { GATEWAY_STARTED, getJson, Running, run } from './packaged';

const MB = 1024 * 1024;
let binaries: BuiltBinary[] = [];
let x64 = '';
let work: { dir: string; cleanup: () => Promise<void> };

interface Health {
  status: string;
  version: string;
  terminals: Array<{ id: string; online: boolean; lastError?: string }>;
  upstreams: Array<{
    upstream: string;
    enabled: boolean;
    cursor: number;
    health: { details?: Record<string, unknown> };
  }>;
}

beforeAll(async () => {
  work = await tempDir('edge-gw-binary-');
  binaries = await buildBinaries({ outDir: join(ROOT, '.tmp', 'test-dist'), log: () => undefined });
  x64 = binaries.find((b) => b.arch === 'x64')!.file;
  // On a fresh machine the build cross-compiles SQLite for arm64 first (minutes; cached after).
}, 900_000);

afterAll(async () => {
  await work?.cleanup();
});

describe('the packaged binaries', () => {
  it('are one file per architecture, each within 90 MB', () => {
    expect(binaries.map((b) => b.arch).sort()).toEqual(['arm64', 'x64']);
    for (const binary of binaries) {
      expect(statSync(binary.file).size).toBe(binary.bytes);
      expect(binary.bytes).toBeLessThanOrEqual(90 * MB);
      expect(statSync(binary.file).mode & 0o111).not.toBe(0);
    }
    for (const file of ['install.sh', 'edge-gateway.service', 'example.json']) {
      expect(existsSync(join(ROOT, '.tmp', 'test-dist', file))).toBe(true);
    }
  });

  it('the arm64 one is an aarch64 ELF executable', async () => {
    const arm64 = binaries.find((b) => b.arch === 'arm64')!.file;
    const header = readFileSync(arm64).subarray(0, 20);
    expect(header.subarray(0, 4)).toEqual(Buffer.from([0x7f, 0x45, 0x4c, 0x46]));
    expect(header[4]).toBe(2); // 64-bit
    expect(header.readUInt16LE(18)).toBe(0xb7); // EM_AARCH64
    // CI installs qemu-user and the arm64 C library, so there the run is required, not optional.
    if (hasQemu() || process.env.CI === 'true') {
      const result = execFileSync('qemu-aarch64', ['-L', '/usr/aarch64-linux-gnu', arm64, '--version'], {
        encoding: 'utf8',
        timeout: 30_000,
      });
      expect(result.trim()).toBe(packageJson.version);
    }
  });

  it('--version prints the version, with no SEA warning', async () => {
    const result = await run(x64, ['--version'], { cwd: work.dir });
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toBe(packageJson.version);
    expect(result.stderr).toBe('');
  });

  it('self-check loads every embedded part, the serial addon for its CPU included', async () => {
    const result = await run(x64, ['self-check'], { cwd: work.dir });
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^ok {3}parts: 13 loaded$/m);
    expect(result.stdout).toMatch(/^ok {3}query store: sqlite 3\.\d+/m);
    expect(result.stdout).toMatch(/^ok {3}serial addon: x64, [0-9a-f]{12}$/m);
    expect(result.stdout.trim().split('\n').at(-1)).toBe(`self-check ok ${packageJson.version}`);
    expect(result.stderr).toBe('');
  });

  it('the updater refuses a truncated copy of this binary whose checksum matches, and takes the whole one', async () => {
    const installed = join(work.dir, 'opt', 'edge-gateway');
    mkdirSync(join(work.dir, 'opt'), { recursive: true });
    const old = Buffer.from('#!/bin/sh\necho 0.0.1\n');
    writeFileSync(installed, old);
    chmodSync(installed, 0o755);
    const updater = () =>
      new Updater({
        logger: testLogger(),
        binaryPath: installed,
        exit: () => undefined,
        restartDelayMs: 0,
        currentVersion: '0.0.1',
      });
    const whole = readFileSync(x64);
    const truncated = whole.subarray(0, Math.floor(whole.length * 0.6));
    const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
    const refused = await updater().applyFile(truncated, sha(truncated));
    expect(refused).toMatchObject({ ok: false, reason: 'self-check' });
    if (!refused.ok) expect(refused.error).toMatch(/trial run: `self-check` (was killed by SIG|exited with)/);
    expect(readFileSync(installed)).toEqual(old);
    const accepted = await updater().applyFile(whole, sha(whole));
    expect(accepted).toMatchObject({ ok: true, version: packageJson.version });
    expect((await readTrial(installed))?.to).toBe(packageJson.version);
  });

  it('check-config on a bad file exits 2 and names the problem', async () => {
    const bad = join(work.dir, 'bad.json');
    writeFileSync(
      bad,
      JSON.stringify({ site: { name: 'x', timezone: 'Mars/Olympus' }, http: { port: 'eighty' } }),
    );
    const result = await run(x64, ['check-config', bad], { cwd: work.dir });
    expect(result.code).toBe(2);
    expect(result.stdout).toMatch(/http\.port/);
    const good = await run(x64, ['check-config', join(ROOT, 'config', 'example.json')], { cwd: work.dir });
    expect(good.stdout.trim()).toBe('ok');
    expect(good.code).toBe(0);
  });

  it('lab serves /healthz and punches from the emulated terminals reach the emulated platforms', async () => {
    const dataDir = join(work.dir, 'lab');
    const lab = new Running(
      x64,
      ['lab', '--port', '0', '--data-dir', dataDir, '--punch-every', '0.2'],
      work.dir,
      HEALTH_ENV,
    );
    try {
      const address = (await lab.waitFor(GATEWAY_STARTED))[1]!;
      let health = (await getJson(`http://${address}/healthz`, HEALTH_HEADERS)) as Health;
      expect(health.version).toBe(packageJson.version);
      const deadline = Date.now() + 20_000;
      const delivered = (h: Health) =>
        h.upstreams.length > 0 && h.upstreams.every((u) => !u.enabled || u.cursor > 0);
      while (!delivered(health) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 300));
        health = (await getJson(`http://${address}/healthz`, HEALTH_HEADERS)) as Health;
      }
      const sichuan = health.upstreams.find((u) => u.upstream === 'sichuan');
      expect(Number(sichuan?.health.details?.uploadedRecords)).toBeGreaterThan(0);
      expect(delivered(health)).toBe(true);
      expect(health.terminals.find((t) => t.id === 'lab-turnstile')?.online).toBe(true);
      // The page's files come from inside the binary, not from a repository or the internet.
      for (const asset of ['uPlot.iife.min.js', 'app.js', 'app.css']) {
        const response = await fetch(`http://${address}/assets/${asset}`);
        expect(response.status, asset).toBe(200);
        expect((await response.arrayBuffer()).byteLength, asset).toBeGreaterThan(100);
      }
    } finally {
      const code = await lab.stop();
      // On failure, say how it ended and what it logged last: a hang at stop and a crash look alike.
      expect(code, `exit ${code} signal ${lab.child.signalCode}\n${lab.text.slice(-3000)}`).toBe(0);
    }
    expect(lab.text).not.toMatch(/single-executable applications only supports loading built-in/);
  });

  it('emulate modbus starts and says where it listens', async () => {
    const emulator = new Running(x64, ['emulate', 'modbus', '--port', '0'], work.dir);
    try {
      const match = await emulator.waitFor(/listening on .*?:(\d+)/);
      expect(Number(match[1])).toBeGreaterThan(0);
    } finally {
      await emulator.stop();
    }
  });

  it('a Modbus RTU terminal fails loudly when the serial addon cannot be put in the data directory', async () => {
    const dataDir = join(work.dir, 'no-addon');
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(join(dataDir, 'native'), 'a file where the addon folder should be');
    const config = join(work.dir, 'rtu.json');
    writeFileSync(
      config,
      JSON.stringify({
        site: { name: 'rtu', timezone: 'Asia/Shanghai' },
        dataDir,
        http: { host: '127.0.0.1', port: 0, metricsToken: HEALTH_TOKEN },
        adms: { host: '127.0.0.1', port: 0 },
        terminals: [
          {
            id: 'rtu-1',
            name: 'rtu',
            driver: 'modbus',
            direction: 'state',
            transport: 'rtu',
            path: '/dev/null',
          },
        ],
        upstreams: {},
      }),
    );
    const gateway = new Running(x64, ['start', '--config', config], work.dir);
    try {
      const address = (await gateway.waitFor(GATEWAY_STARTED))[1]!;
      const deadline = Date.now() + 10_000;
      let terminal: Health['terminals'][number] | undefined;
      while (!terminal?.lastError && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 200));
        terminal = ((await getJson(`http://${address}/healthz`, HEALTH_HEADERS)) as Health).terminals.find(
          (t) => t.id === 'rtu-1',
        );
      }
      expect(terminal?.online).toBe(false);
      expect(terminal?.lastError).toMatch(/Modbus RTU is unavailable.*serialport native addon/);
    } finally {
      await gateway.stop();
    }
  });
});

describe('the query store in the packaged binaries', () => {
  const TOKEN = 'binary-store-test-token-0123456789';

  /** Starts the binary on a data folder whose journal holds 3 punches; the page's punch list must show them. */
  async function punchListWorks(
    arch: 'x64' | 'arm64',
    command: string,
    prefix: readonly string[],
  ): Promise<void> {
    const dataDir = join(work.dir, `store-${arch}`);
    const journal = new PunchJournal({
      dir: join(dataDir, 'journal'),
      segmentMaxBytes: 1024 * 1024,
      retentionDays: 90,
      clock: { now: () => Date.now() },
      logger: testLogger(),
    });
    await journal.open();
    await journal.append(
      ['1', '2', '3'].map((pin) => draft(`k${pin}`, { pin, workerId: null, atMs: Date.now() })),
    );
    await journal.close();
    const config = join(work.dir, `store-${arch}.json`);
    writeFileSync(
      config,
      JSON.stringify({
        site: { name: 'store', timezone: 'Asia/Shanghai' },
        dataDir,
        http: { host: '127.0.0.1', port: 0, apiToken: TOKEN },
        log: { level: 'info' },
      }),
    );
    const gateway = new Running(command, [...prefix, 'start', '--config', config], work.dir);
    try {
      const address = (await gateway.waitFor(GATEWAY_STARTED, 120_000))[1]!;
      const deadline = Date.now() + 120_000;
      let page = { total: 0, punches: [] as Array<{ pin: string }> };
      while (page.total < 3 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 300));
        page = (await getJson(`http://${address}/api/punches`, {
          authorization: `Bearer ${TOKEN}`,
        })) as typeof page;
      }
      expect(page.punches.map((p) => p.pin).sort()).toEqual(['1', '2', '3']);
      expect(existsSync(join(dataDir, 'punches.sqlite'))).toBe(true);
      // The addon came out of the binary into the data folder, built for this CPU.
      const addon = readdirSync(join(dataDir, 'native')).find((n) => n.startsWith(`better_sqlite3-${arch}-`));
      expect(addon).toBeDefined();
      const elf = readFileSync(join(dataDir, 'native', addon!)).subarray(0, 20);
      expect(elf.readUInt16LE(18)).toBe(arch === 'x64' ? 0x3e : 0xb7);
    } finally {
      await gateway.stop();
    }
  }

  it('x64: creates the store from the journal and lists its punches', async () => {
    await punchListWorks('x64', x64, []);
  }, 150_000);

  it('arm64 (under qemu): creates the store from the journal and lists its punches', async () => {
    if (!hasQemu() && process.env.CI !== 'true') return;
    const arm64 = binaries.find((b) => b.arch === 'arm64')!.file;
    await punchListWorks('arm64', 'qemu-aarch64', ['-L', '/usr/aarch64-linux-gnu', arm64]);
  }, 150_000);
});

function hasQemu(): boolean {
  if (!existsSync('/usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1')) return false;
  try {
    execFileSync('sh', ['-c', 'command -v qemu-aarch64'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
