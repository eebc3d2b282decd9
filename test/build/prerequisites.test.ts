/**
 * scripts/prerequisites.sh decides what `npm test` needs from Debian before it runs. It is run for
 * real (bash) with stand-ins for the system commands first on PATH: dpkg-query answers from a list
 * of "installed" packages, id gives a chosen uid, sudo either needs a password or runs the command,
 * and apt-get records what it was asked and "installs" into the same list. Nothing real is installed.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir } from '../support/tmp';

const REPO = resolve(import.meta.dirname, '../..');
const SCRIPT = join(REPO, 'scripts', 'prerequisites.sh');

let work: { dir: string; cleanup: () => Promise<void> };
let bin: string;
let installedFile: string;
let callLog: string;

const STAND_INS: Record<string, string> = {
  // Prints "<name> <status>" for the packages asked about that are in the list (status from the
  // list, "ii" by default); like dpkg-query, it prints nothing for a package it does not know.
  'dpkg-query': `#!/bin/sh
printf '%s\\n' "dpkg-query $*" >> "$FAKE_LOG"
shift 2
for p in "$@"; do
  line=$(awk -v p="$p" '$1 == p { print; exit }' "$FAKE_INSTALLED")
  [ -n "$line" ] || continue
  set -- $line
  echo "$1 \${2:-ii} "
done
`,
  id: '#!/bin/sh\necho "$FAKE_UID"\n',
  sudo: `#!/bin/sh
printf '%s\\n' "sudo $*" >> "$FAKE_LOG"
if [ "$FAKE_SUDO" != nopasswd ]; then echo "sudo: a password is required" >&2; exit 1; fi
[ "$1" = -n ] && shift
exec "$@"
`,
  'apt-get': `#!/bin/sh
printf '%s\\n' "apt-get DEBIAN_FRONTEND=$DEBIAN_FRONTEND $*" >> "$FAKE_LOG"
if [ "$FAKE_APT" = fail ]; then echo "E: Unable to locate package" >&2; exit 100; fi
if [ "$1" = install ]; then
  for p in "$@"; do case "$p" in -*|install) ;; *) echo "$p" >> "$FAKE_INSTALLED" ;; esac; done
fi
`,
};

/** Every package the script knows, as it prints them. */
function packageList(): string[] {
  const listed = spawnSync('bash', [SCRIPT, '--list'], { encoding: 'utf8' });
  expect(listed.status).toBe(0);
  return listed.stdout.trim().split('\n');
}

function run(env: { uid: number; sudo?: 'nopasswd' | 'password'; apt?: 'fail' }) {
  const result = spawnSync('bash', [SCRIPT], {
    encoding: 'utf8',
    timeout: 30_000,
    env: {
      PATH: `${bin}:/usr/bin:/bin`,
      FAKE_INSTALLED: installedFile,
      FAKE_LOG: callLog,
      FAKE_UID: String(env.uid),
      FAKE_SUDO: env.sudo ?? 'password',
      FAKE_APT: env.apt ?? '',
    },
  });
  return { ...result, calls: existsSync(callLog) ? readFileSync(callLog, 'utf8').trim().split('\n') : [] };
}

function installed(lines: readonly string[]): void {
  writeFileSync(installedFile, lines.map((l) => `${l}\n`).join(''));
}

beforeEach(async () => {
  work = await tempDir('edge-gw-prereq-');
  bin = join(work.dir, 'bin');
  mkdirSync(bin);
  for (const [name, text] of Object.entries(STAND_INS)) {
    writeFileSync(join(bin, name), text);
    chmodSync(join(bin, name), 0o755);
  }
  installedFile = join(work.dir, 'installed');
  callLog = join(work.dir, 'calls');
});

afterEach(async () => {
  await work.cleanup();
});

describe('scripts/prerequisites.sh', () => {
  it('with everything installed: one dpkg-query for the whole list, nothing else, exit 0', () => {
    const all = packageList();
    installed(all);
    const result = run({ uid: 1000 });
    expect(result.status).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.calls).toEqual([`dpkg-query -W -f=\${Package} \${db:Status-Abbrev}\\n ${all.join(' ')}`]);
  });

  it('not root and no password-less sudo: one line with the exact command, exit 1, nothing installed', () => {
    const all = packageList();
    installed(all.filter((p) => p !== 'mosquitto' && p !== 'chromium'));
    const result = run({ uid: 1000, sudo: 'password' });
    expect(result.status).toBe(1);
    expect(result.stderr).toBe(
      'prerequisites: missing Debian packages: mosquitto chromium; run: sudo apt-get update && ' +
        'sudo apt-get install -y --no-install-recommends mosquitto chromium\n',
    );
    expect(result.calls.filter((c) => c.startsWith('apt-get'))).toEqual([]);
  });

  it('a package removed with its configuration left ("rc") counts as missing', () => {
    const all = packageList();
    installed(all.map((p) => (p === 'socat' ? 'socat rc' : p)));
    const result = run({ uid: 1000 });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^prerequisites: missing Debian packages: socat; run: .* socat\n$/);
  });

  it('as root: apt-get update, then installs exactly the missing ones, non-interactively, exit 0', () => {
    installed([]);
    const result = run({ uid: 0 });
    expect(result.status).toBe(0);
    const apt = result.calls.filter((c) => c.startsWith('apt-get'));
    expect(apt).toEqual([
      'apt-get DEBIAN_FRONTEND=noninteractive update -qq',
      `apt-get DEBIAN_FRONTEND=noninteractive install -y -qq --no-install-recommends ${packageList().join(' ')}`,
    ]);
    expect(result.calls.some((c) => c.startsWith('sudo'))).toBe(false);
  });

  it('with password-less sudo: the same through sudo', () => {
    const all = packageList();
    installed(all.filter((p) => p !== 'qemu-user'));
    const result = run({ uid: 1000, sudo: 'nopasswd' });
    expect(result.status).toBe(0);
    expect(result.calls.filter((c) => c.startsWith('sudo'))).toEqual([
      'sudo -n true',
      'sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq',
      'sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends qemu-user',
    ]);
  });

  it('when apt-get fails: says which packages, exit 1', () => {
    const all = packageList();
    installed(all.filter((p) => p !== 'socat'));
    const result = run({ uid: 0, apt: 'fail' });
    expect(result.status).toBe(1);
    expect(result.stderr.trim().split('\n').at(-1)).toBe(
      'prerequisites: apt-get could not install socat (see above)',
    );
  });

  it('is what `npm test` runs first and what .ci/run calls: the one package list', () => {
    const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    expect(pkg.scripts.pretest).toBe('bash scripts/prerequisites.sh');
    const ci = readFileSync(join(REPO, '.ci', 'run'), 'utf8');
    expect(ci).toMatch(/^bash scripts\/prerequisites\.sh$/m);
    expect(ci).not.toMatch(/apt-get|dpkg/);
  });
});
