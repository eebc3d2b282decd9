/**
 * Self-update against a real HTTP server on loopback, with a tiny shell script standing in for the
 * binary: "restarting" is running the file at the binary's path again and reading its version.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RESTART_EXIT_CODE, Updater } from '../../gateway/update/updater';
import { testLogger } from '../support/logger';
import { tempDir } from '../support/tmp';

const script = (version: string) => Buffer.from(`#!/bin/sh\necho ${version}\n`);
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

let work: { dir: string; cleanup: () => Promise<void> };
let server: Server;
let baseUrl: string;
let binaryPath: string;
let exits: number[];
const served = new Map<string, Buffer>();

beforeEach(async () => {
  work = await tempDir('edge-gw-update-');
  binaryPath = join(work.dir, 'edge-gateway');
  writeFileSync(binaryPath, script('1.0.0'));
  chmodSync(binaryPath, 0o750);
  exits = [];
  server = createServer((request, response) => {
    const body = served.get(request.url ?? '');
    if (!body) {
      response.writeHead(404).end('not found');
      return;
    }
    response.writeHead(200, { 'content-length': body.length }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterEach(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await work.cleanup();
});

function updater(): Updater {
  return new Updater({
    logger: testLogger(),
    binaryPath,
    exit: (code) => exits.push(code),
    restartDelayMs: 0,
    currentVersion: '1.0.0',
  });
}

const runBinary = () => execFileSync(binaryPath, { encoding: 'utf8' }).trim();
const settle = () => new Promise((r) => setTimeout(r, 20));

describe('Updater', () => {
  it('a good package swaps the binary, keeps the previous, and restarts into the new version', async () => {
    const next = script('2.0.0');
    served.set('/gw-2.0.0', next);
    const result = await updater().applyOffer({
      version: '2.0.0',
      url: `${baseUrl}/gw-2.0.0`,
      checksum: sha256(next),
    });
    expect(result).toMatchObject({ ok: true, version: '2.0.0', sha256: sha256(next), bytes: next.length });
    await settle();
    expect(exits).toEqual([RESTART_EXIT_CODE]);
    expect(runBinary()).toBe('2.0.0');
    expect(readFileSync(`${binaryPath}.previous`)).toEqual(script('1.0.0'));
    expect(statSync(binaryPath).mode & 0o777).toBe(0o750);
  });

  it('accepts an md5 checksum in upper case, as Deli may send it', async () => {
    const next = script('2.1.0');
    served.set('/gw', next);
    const md5 = createHash('md5').update(next).digest('hex').toUpperCase();
    const result = await updater().applyOffer({
      version: '2.1.0',
      url: `${baseUrl}/gw`,
      checksum: md5,
      algorithm: 'md5',
    });
    expect(result.ok).toBe(true);
    expect(runBinary()).toBe('2.1.0');
  });

  it('a bad checksum leaves the running binary and does not restart', async () => {
    served.set('/gw-evil', script('6.6.6'));
    const result = await updater().applyOffer({
      version: '6.6.6',
      url: `${baseUrl}/gw-evil`,
      checksum: sha256(script('2.0.0')),
    });
    expect(result).toMatchObject({ ok: false, reason: 'checksum' });
    await settle();
    expect(exits).toEqual([]);
    expect(runBinary()).toBe('1.0.0');
    expect(existsSync(`${binaryPath}.previous`)).toBe(false);
  });

  it('a failed download is reported and changes nothing; the next offer still works', async () => {
    const up = updater();
    const missing = await up.applyOffer({
      version: '2.0.0',
      url: `${baseUrl}/nope?token=secret`,
      checksum: 'aa',
    });
    expect(missing).toMatchObject({ ok: false, reason: 'download' });
    if (!missing.ok) expect(missing.error).not.toContain('secret');
    const refused = await up.applyOffer({ version: '2.0.0', url: 'http://127.0.0.1:1/gw', checksum: 'aa' });
    expect(refused).toMatchObject({ ok: false, reason: 'download' });
    expect(runBinary()).toBe('1.0.0');
    const next = script('2.0.0');
    served.set('/gw-2.0.0', next);
    expect(
      (await up.applyOffer({ version: '2.0.0', url: `${baseUrl}/gw-2.0.0`, checksum: sha256(next) })).ok,
    ).toBe(true);
  });

  it('refuses a download over the size limit', async () => {
    served.set('/big', Buffer.alloc(4096, 1));
    const up = new Updater({ logger: testLogger(), binaryPath, exit: (c) => exits.push(c), maxBytes: 1024 });
    const result = await up.applyOffer({
      version: '9',
      url: `${baseUrl}/big`,
      checksum: sha256(Buffer.alloc(4096, 1)),
    });
    expect(result).toMatchObject({ ok: false, reason: 'too-large' });
    expect(runBinary()).toBe('1.0.0');
  });

  it('ignores an offer of the version already running', async () => {
    const result = await updater().applyOffer({ version: '1.0.0', url: `${baseUrl}/x`, checksum: 'aa' });
    expect(result).toMatchObject({ ok: false, reason: 'already-running' });
  });

  it('refuses a binary built for another CPU', async () => {
    const elf = Buffer.alloc(64);
    elf.set([0x7f, 0x45, 0x4c, 0x46, 2, 1], 0);
    elf.writeUInt16LE(process.arch === 'arm64' ? 0x3e : 0xb7, 18);
    const result = await updater().applyFile(elf);
    expect(result).toMatchObject({ ok: false, reason: 'wrong-architecture' });
    expect(runBinary()).toBe('1.0.0');
  });

  it('installs an uploaded file, verifying the checksum when one is given', async () => {
    const bad = await updater().applyFile(script('3.0.0'), sha256(script('other')));
    expect(bad).toMatchObject({ ok: false, reason: 'checksum' });
    expect(runBinary()).toBe('1.0.0');
    const good = await updater().applyFile(script('3.0.0'), sha256(script('3.0.0')));
    expect(good.ok).toBe(true);
    await settle();
    expect(exits).toEqual([RESTART_EXIT_CODE]);
    expect(runBinary()).toBe('3.0.0');
  });

  it('runs one update at a time', async () => {
    const next = script('2.0.0');
    served.set('/gw', next);
    const up = updater();
    const [first, second] = await Promise.all([
      up.applyOffer({ version: '2.0.0', url: `${baseUrl}/gw`, checksum: sha256(next) }),
      up.applyOffer({ version: '2.0.0', url: `${baseUrl}/gw`, checksum: sha256(next) }),
    ]);
    expect(first.ok).toBe(true);
    expect(second).toMatchObject({ ok: false, reason: 'busy' });
  });
});
