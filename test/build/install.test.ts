/**
 * install.sh into a throwaway root (--root): the layout, modes and owner, idempotence, uninstall
 * keeping data, --purge; and `systemd-analyze verify` on the unit where systemd is installed.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ROOT } from '../../build/build';
import { tempDir } from '../support/tmp';

const INSTALL = join(ROOT, 'build', 'install.sh');
const UNIT = join(ROOT, 'build', 'edge-gateway.service');
const runningAsRoot = process.getuid?.() === 0;

let work: { dir: string; cleanup: () => Promise<void> };
let root: string;
let binary: string;

beforeEach(async () => {
  work = await tempDir('edge-gw-install-');
  root = join(work.dir, 'root');
  binary = join(work.dir, 'edge-gateway-linux-x64');
  writeFileSync(binary, '#!/bin/sh\necho 1.0.0\n');
  chmodSync(binary, 0o755);
});

afterEach(async () => {
  await work.cleanup();
});

function install(...args: string[]): { code: number | null; out: string } {
  const result = spawnSync('bash', [INSTALL, '--root', root, '--binary', binary, ...args], {
    encoding: 'utf8',
  });
  return { code: result.status, out: `${result.stdout}${result.stderr}` };
}

const mode = (path: string) => statSync(join(root, path)).mode & 0o7777;
const serviceUid = () =>
  Number(/^edge-gateway:x:(\d+):/m.exec(readFileSync(join(root, 'etc/passwd'), 'utf8'))?.[1]);

describe('install.sh into a throwaway root', () => {
  it('runs as root, as the installer on a box does (CI runs as root)', () => {
    expect(runningAsRoot).toBe(true);
  });

  it('creates the user, the config (0600) from the example, the data dir (0700), the binary and the unit', () => {
    const result = install();
    expect(result.code, result.out).toBe(0);
    expect(readFileSync(join(root, 'etc/passwd'), 'utf8')).toMatch(
      /^edge-gateway:x:\d+:\d+:.*:\/usr\/sbin\/nologin$/m,
    );
    expect(readFileSync(join(root, 'etc/group'), 'utf8')).toMatch(/^dialout:x:20:.*edge-gateway/m);
    expect(readFileSync(join(root, 'etc/edge-gateway/config.json'), 'utf8')).toBe(
      readFileSync(join(ROOT, 'config/example.json'), 'utf8'),
    );
    expect(mode('etc/edge-gateway/config.json')).toBe(0o600);
    expect(mode('etc/edge-gateway')).toBe(0o700);
    expect(mode('var/lib/edge-gateway')).toBe(0o700);
    expect(statSync(join(root, 'var/lib/edge-gateway')).uid).toBe(serviceUid());
    expect(statSync(join(root, 'etc/edge-gateway/config.json')).uid).toBe(serviceUid());
    expect(mode('opt/edge-gateway/edge-gateway')).toBe(0o755);
    expect(statSync(join(root, 'opt/edge-gateway')).uid).toBe(serviceUid());
    // The unit's ExecStartPre: counts a self-updated binary's starts and rolls it back.
    expect(readFileSync(join(root, 'opt/edge-gateway/update-guard'), 'utf8')).toBe(
      readFileSync(join(ROOT, 'build/update-guard.sh'), 'utf8'),
    );
    expect(mode('opt/edge-gateway/update-guard')).toBe(0o755);
    expect(readlinkSync(join(root, 'usr/local/bin/edge-gateway'))).toBe('/opt/edge-gateway/edge-gateway');
    expect(readFileSync(join(root, 'etc/systemd/system/edge-gateway.service'), 'utf8')).toBe(
      readFileSync(UNIT, 'utf8'),
    );
    expect(result.out).toMatch(/systemd|systemctl/);
  });

  it('is idempotent: a re-run keeps an edited config and keeps the old binary as .previous on upgrade', () => {
    expect(install().code).toBe(0);
    const config = join(root, 'etc/edge-gateway/config.json');
    writeFileSync(config, '{"edited":true}');
    chmodSync(config, 0o644);
    const again = install();
    expect(again.code, again.out).toBe(0);
    expect(again.out).toMatch(/already this build/);
    expect(readFileSync(config, 'utf8')).toBe('{"edited":true}');
    expect(mode('etc/edge-gateway/config.json')).toBe(0o600);
    expect(readFileSync(join(root, 'etc/passwd'), 'utf8').match(/^edge-gateway:/gm)).toHaveLength(1);
    expect(existsSync(join(root, 'opt/edge-gateway/edge-gateway.previous'))).toBe(false);

    // A binary installed by hand ends a self-update's trial and an old rollback alert.
    writeFileSync(join(root, 'opt/edge-gateway/.edge-gateway.trial'), 'from=0.9\nto=1.0.0\nstarts=1\n');
    writeFileSync(join(root, 'opt/edge-gateway/.edge-gateway.rolled-back'), 'rejected=1.1\nrestored=1.0.0\n');
    writeFileSync(binary, '#!/bin/sh\necho 2.0.0\n');
    expect(install().code).toBe(0);
    expect(existsSync(join(root, 'opt/edge-gateway/.edge-gateway.trial'))).toBe(false);
    expect(existsSync(join(root, 'opt/edge-gateway/.edge-gateway.rolled-back'))).toBe(false);
    expect(execFileSync(join(root, 'opt/edge-gateway/edge-gateway'), { encoding: 'utf8' }).trim()).toBe(
      '2.0.0',
    );
    expect(readFileSync(join(root, 'opt/edge-gateway/edge-gateway.previous'), 'utf8')).toContain('1.0.0');
  });

  it('--uninstall keeps config and data; --purge removes them and the user', () => {
    expect(install().code).toBe(0);
    mkdirSync(join(root, 'var/lib/edge-gateway/journal'));
    writeFileSync(join(root, 'var/lib/edge-gateway/journal/00000000000000000001.jsonl'), '{}\n');
    const removed = install('--uninstall');
    expect(removed.code, removed.out).toBe(0);
    expect(existsSync(join(root, 'etc/systemd/system/edge-gateway.service'))).toBe(false);
    expect(existsSync(join(root, 'opt/edge-gateway/edge-gateway'))).toBe(false);
    expect(existsSync(join(root, 'opt/edge-gateway/update-guard'))).toBe(false);
    expect(existsSync(join(root, 'usr/local/bin/edge-gateway'))).toBe(false);
    expect(existsSync(join(root, 'var/lib/edge-gateway/journal/00000000000000000001.jsonl'))).toBe(true);
    expect(existsSync(join(root, 'etc/edge-gateway/config.json'))).toBe(true);

    const purged = install('--uninstall', '--purge');
    expect(purged.code, purged.out).toBe(0);
    expect(existsSync(join(root, 'var/lib/edge-gateway'))).toBe(false);
    expect(existsSync(join(root, 'etc/edge-gateway'))).toBe(false);
    expect(readFileSync(join(root, 'etc/passwd'), 'utf8')).not.toMatch(/^edge-gateway:/m);
  });

  it('rejects an unknown option with a usage message', () => {
    const result = install('--frobnicate');
    expect(result.code).toBe(2);
    expect(result.out).toMatch(/unknown option --frobnicate/);
  });
});

describe('the systemd unit', () => {
  it('sets restart, working directory and hardening', () => {
    const unit = readFileSync(UNIT, 'utf8');
    for (const line of [
      'Restart=on-failure',
      'RestartForceExitStatus=75',
      'ExecStartPre=-/opt/edge-gateway/update-guard /opt/edge-gateway/edge-gateway',
      'WorkingDirectory=/var/lib/edge-gateway',
      'Environment=MALLOC_MMAP_THRESHOLD_=32768',
      'NoNewPrivileges=yes',
      'ProtectSystem=strict',
      'ReadWritePaths=/var/lib/edge-gateway /etc/edge-gateway /opt/edge-gateway',
      'User=edge-gateway',
      'WantedBy=multi-user.target',
    ]) {
      expect(unit).toContain(line);
    }
  });

  it('passes systemd-analyze verify', () => {
    expect(hasSystemdAnalyze(), 'systemd-analyze is installed (.ci/run installs systemd)').toBe(true);
    // verify checks that ExecStart exists, so a copy points it at a stand-in in the temp dir.
    const dir = join(work.dir, 'unit');
    mkdirSync(dir);
    const unit = join(dir, 'edge-gateway.service');
    writeFileSync(
      unit,
      readFileSync(UNIT, 'utf8')
        .replaceAll('/opt/edge-gateway/update-guard', join(ROOT, 'build/update-guard.sh'))
        .replaceAll('/opt/edge-gateway/edge-gateway', binary),
    );
    const result = spawnSync('systemd-analyze', ['verify', unit], { encoding: 'utf8' });
    expect(result.stderr + result.stdout).toBe('');
    expect(result.status).toBe(0);
  });
});

function hasSystemdAnalyze(): boolean {
  return spawnSync('sh', ['-c', 'command -v systemd-analyze'], { stdio: 'ignore' }).status === 0;
}
