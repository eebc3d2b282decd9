/**
 * A self-update that must not strand a site, with the installed unit's own restart settings
 * (Restart=, RestartSec=, RestartForceExitStatus=, StartLimitBurst=, ExecStartPre=, read from
 * build/edge-gateway.service) applied to real processes by SimulatedService. The "packaged binary"
 * is a wrapper script that runs the real gateway from source (building the SEA per case is too
 * slow); the gateway polls a ZK emulator over a real socket, so "terminals polled" is real.
 */
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ZkEmulator } from '../../adapters/zk/emulator';
import { ROOT } from '../../build/build';
import { readRollbackNote, trialFileOf } from '../../gateway/update/trial';
import { RESTART_EXIT_CODE, type UpdateResult, Updater } from '../../gateway/update/updater';
import { VERSION } from '../../gateway/version';
import { HEALTH_HEADERS, HEALTH_TOKEN } from '../support/health';
import { testLogger } from '../support/logger';
import { tempDir } from '../support/tmp';
import { GATEWAY_STARTED, getJson } from './packaged';
import { readUnit, SimulatedService, type UnitSettings } from './service-manager';

const UNIT_TEXT = readFileSync(join(ROOT, 'build', 'edge-gateway.service'), 'utf8');
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

let work: { dir: string; cleanup: () => Promise<void> };
let zk: ZkEmulator;
let binary: string;
let configFile: string;
let unit: UnitSettings;
let service: SimulatedService;
let exits: number[];

/** The gateway from source behind a script at the binary's path; `config` replaces the unit's --config. */
function gatewayWrapper(build: string, config?: string): Buffer {
  return Buffer.from(
    [
      '#!/bin/sh',
      `# stand-in for the packaged binary: the gateway from source, build ${build}`,
      'export EDGE_GATEWAY_BINARY="$0"',
      `cd '${ROOT}' || exit 1`,
      config ? `[ "$1" = start ] && set -- start --config '${config}'` : '',
      `exec '${process.execPath}' --import tsx gateway/main.ts "$@"`,
      '',
    ].join('\n'),
  );
}

/** Passes the trial run, then dies with SIGSEGV within 0.1 s of every start, like the field's binary. */
const CRASHING = Buffer.from(
  [
    '#!/bin/sh',
    '[ "$1" = self-check ] && { echo "self-check ok 9.9.9"; exit 0; }',
    'ulimit -c 0',
    'kill -SEGV $$',
    '',
  ].join('\n'),
);

function writeConfig(file: string, terminalPort: number, confirmWithinSeconds: number): void {
  const config = {
    site: { name: 'rollback test', timezone: 'Asia/Shanghai' },
    dataDir: join(work.dir, 'data'),
    http: { host: '127.0.0.1', port: 0, metricsToken: HEALTH_TOKEN },
    log: { level: 'info' },
    update: { confirmWithinSeconds },
    terminals: [
      {
        id: 'gate-1',
        driver: 'zk',
        direction: 'in',
        host: '127.0.0.1',
        port: terminalPort,
        transport: 'tcp',
        timeoutMs: 2000,
        pollSeconds: 2,
      },
    ],
  };
  writeFileSync(file, JSON.stringify(config, null, 2));
}

beforeEach(async () => {
  work = await tempDir('edge-gw-rollback-');
  const opt = join(work.dir, 'opt');
  const data = join(work.dir, 'data');
  mkdirSync(opt);
  mkdirSync(data);
  zk = new ZkEmulator();
  const zkPort = await zk.start();
  configFile = join(work.dir, 'config.json');
  writeConfig(configFile, zkPort, 60);
  binary = join(opt, 'edge-gateway');
  writeFileSync(binary, gatewayWrapper('A'));
  chmodSync(binary, 0o755);
  copyFileSync(join(ROOT, 'build', 'update-guard.sh'), join(opt, 'update-guard'));
  chmodSync(join(opt, 'update-guard'), 0o755);
  // The unit as installed, its paths moved into the temp dir.
  unit = readUnit(UNIT_TEXT, (word) =>
    word === '/etc/edge-gateway/config.json' ? configFile : word.replace(/^\/opt\/edge-gateway\//, `${opt}/`),
  );
  service = new SimulatedService(unit, data);
  exits = [];
});

afterEach(async () => {
  await service.stop();
  await zk.stop();
  await work.cleanup();
});

/** What the running gateway's updater does with a Deli offer or an upload (the same code). */
function offer(bytes: Buffer): Promise<UpdateResult> {
  return new Updater({
    logger: testLogger(),
    binaryPath: binary,
    exit: (code) => exits.push(code),
    restartDelayMs: 0,
    currentVersion: VERSION,
    trialTimeoutMs: 120_000,
  }).applyFile(bytes, sha256(bytes));
}

async function health(): Promise<{ alerts: string[]; terminals: Array<{ lastCatchUpAt?: number }> }> {
  const address = service.output.match(GATEWAY_STARTED)?.[1];
  if (!address) throw new Error(`no "gateway started" line:\n${service.output.slice(-1000)}`);
  return (await getJson(`http://${address}/healthz`, HEALTH_HEADERS)) as { alerts: string[]; terminals: [] };
}

const mainExits = () => service.exits.filter((e) => e.command === binary);
const guardOutput = () =>
  service.exits
    .filter((e) => e.command.endsWith('update-guard'))
    .map((e) => e.output)
    .join('');

describe('a self-update on trial, under the installed unit restart settings', () => {
  it('reads the restart settings the simulation applies from the unit', () => {
    expect(unit.restart).toBe('on-failure');
    expect(unit.restartForceExitStatus).toContain(RESTART_EXIT_CODE);
    expect(unit.restartSec).toBeGreaterThan(0);
    expect(unit.startLimitBurst).toBeGreaterThan(0);
    expect(unit.execStart.argv[0]).toBe(binary);
  });

  it('a binary that passes its trial run but dies with SIGSEGV at every start is rolled back within the start limit', async () => {
    const result = await offer(CRASHING);
    expect(result).toMatchObject({ ok: true, version: '9.9.9' });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(exits).toEqual([RESTART_EXIT_CODE]);
    service.exitedWith(RESTART_EXIT_CODE);

    await service.waitFor(
      'the restored version to start',
      () => GATEWAY_STARTED.test(service.output),
      120_000,
    );
    expect(service.state).toBe('running');
    expect(mainExits().map((e) => e.signal)).toEqual(['SIGSEGV', 'SIGSEGV', 'SIGSEGV']);
    // Three starts of the bad binary, the fourth runs the old one: well inside StartLimitBurst.
    expect(service.starts).toHaveLength(4);
    expect(service.starts.length).toBeLessThan(unit.startLimitBurst);
    expect(readFileSync(binary)).toEqual(gatewayWrapper('A'));
    expect(existsSync(`${binary}.previous`)).toBe(false);
    expect(existsSync(trialFileOf(binary))).toBe(false);
    expect(guardOutput()).toMatch(/ROLLED BACK: 9\.9\.9 did not confirm healthy in 3 starts/);
    expect(await readRollbackNote(binary)).toMatchObject({
      rejected: '9.9.9',
      restored: VERSION,
      rejectedSha256: sha256(CRASHING),
      starts: 3,
    });

    const expected = `update to 9.9.9 was rolled back to ${VERSION}: it did not confirm healthy in 3 start(s)`;
    await service.waitFor('the rollback log line', () => service.output.includes(expected), 10_000);
    expect((await health()).alerts).toContainEqual(expect.stringContaining(expected));

    // Offered again, the same file is refused before anything changes.
    expect(await offer(CRASHING)).toMatchObject({ ok: false, reason: 'rolled-back' });
    expect(readFileSync(binary)).toEqual(gatewayWrapper('A'));
  }, 200_000);

  it('a new version that becomes healthy confirms itself: the trial ends, .previous stays for a manual rollback', async () => {
    const next = gatewayWrapper('B');
    expect(await offer(next)).toMatchObject({ ok: true, version: VERSION });
    service.exitedWith(RESTART_EXIT_CODE);

    const confirmed = /"msg":"update: [^"]+ confirmed healthy/;
    await service.waitFor('the confirmation', () => confirmed.test(service.output), 120_000);
    expect(existsSync(trialFileOf(binary))).toBe(false);
    expect(service.state).toBe('running');
    expect(service.starts).toHaveLength(1);
    expect(guardOutput()).toMatch(/on trial: start 1 of 3/);
    expect(readFileSync(binary)).toEqual(next);
    expect(readFileSync(`${binary}.previous`)).toEqual(gatewayWrapper('A'));
    const report = await health();
    // Confirmed only once the terminal was polled by this version.
    expect(report.terminals[0]?.lastCatchUpAt).toBeGreaterThan(0);
    expect(report.alerts.filter((a) => a.includes('update'))).toEqual([]);
  }, 200_000);

  it('a new version that runs but never gets healthy exits after confirmWithinSeconds and is rolled back after 3 starts', async () => {
    // Its terminals are never polled: the new build's ZK side is broken (here: pointed at a closed port).
    const closed = await closedPort();
    const brokenConfig = join(work.dir, 'config-broken.json');
    writeConfig(brokenConfig, closed, 5);
    const next = gatewayWrapper('C', brokenConfig);
    expect(await offer(next)).toMatchObject({ ok: true });
    service.exitedWith(RESTART_EXIT_CODE);

    await service.waitFor(
      'the restored version to start',
      () => service.starts.length === 4 && GATEWAY_STARTED.test(service.output),
      240_000,
    );
    const bad = mainExits();
    expect(bad.map((e) => e.code)).toEqual([1, 1, 1]);
    for (const exit of bad) {
      expect(exit.output).toMatch(/did not confirm healthy within 5 s/);
      expect(exit.output).toContain('not polled yet: gate-1');
    }
    expect(service.state).toBe('running');
    expect(readFileSync(binary)).toEqual(gatewayWrapper('A'));
    const expected = `update to ${VERSION} was rolled back to ${VERSION}`;
    await service.waitFor('the rollback log line', () => service.output.includes(expected), 10_000);
    expect((await health()).alerts).toContainEqual(expect.stringContaining(expected));
  }, 300_000);
});

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
