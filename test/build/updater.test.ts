/**
 * Self-update against real HTTP(S) servers on loopback, with tiny shell scripts standing in for
 * the binary: "restarting" is running the file at the binary's path again and reading its version.
 * A stand-in answers `self-check` as the real binary does, because the updater runs the new file
 * once before it swaps it in.
 */
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ROOT } from '../../build/build';
import type { Logger } from '../../gateway/model';
import { readTrial, rollbackNoteOf, trialFileOf } from '../../gateway/update/trial';
import { RESTART_EXIT_CODE, Updater, type UpdaterDeps } from '../../gateway/update/updater';
import { testLogger } from '../support/logger';
import { tempDir } from '../support/tmp';

const script = (version: string) =>
  Buffer.from(
    `#!/bin/sh\nif [ "$1" = self-check ]; then echo "self-check ok ${version}"; exit 0; fi\necho ${version}\n`,
  );
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

let work: { dir: string; cleanup: () => Promise<void> };
let server: Server;
let baseUrl: string;
let binaryPath: string;
let exits: number[];
let requests: string[];
const served = new Map<string, Buffer>();

/** Serves `served` by path (the query string is the signature, ignored as a CDN would), and redirects. */
function handler(request: IncomingMessage, response: ServerResponse): void {
  requests.push(request.url ?? '');
  const url = new URL(request.url ?? '/', 'http://x');
  const redirect = url.searchParams.get('redirect');
  if (redirect) {
    response.writeHead(302, { location: redirect }).end();
    return;
  }
  const body = served.get(url.pathname);
  if (!body) {
    response.writeHead(404).end('not found');
    return;
  }
  response.writeHead(200, { 'content-length': body.length }).end(body);
}

beforeEach(async () => {
  work = await tempDir('edge-gw-update-');
  binaryPath = join(work.dir, 'edge-gateway');
  writeFileSync(binaryPath, script('1.0.0'));
  chmodSync(binaryPath, 0o750);
  exits = [];
  requests = [];
  served.clear();
  server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterEach(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await work.cleanup();
});

function updater(extra: Partial<UpdaterDeps> = {}): Updater {
  return new Updater({
    logger: testLogger(),
    binaryPath,
    exit: (code) => exits.push(code),
    restartDelayMs: 0,
    currentVersion: '1.0.0',
    // The test servers are plain http on loopback: what the lab setting is for.
    allowInsecureHttp: true,
    ...extra,
  });
}

/** A real pino logger whose JSON lines are kept, to see exactly what would reach journald. */
function capturingLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => lines.push(line) });
  return { logger, lines };
}

const runBinary = () => execFileSync(binaryPath, { encoding: 'utf8' }).trim();
const settle = () => new Promise((r) => setTimeout(r, 20));
/** Nothing of a failed update may stay behind: no staged file, no .previous, no trial file. */
const leftovers = () => readdirSync(work.dir).filter((f) => f !== 'edge-gateway');

describe('Updater', () => {
  it('a good package swaps the binary, keeps the previous, puts the new one on trial and restarts', async () => {
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
    expect(await readTrial(binaryPath)).toEqual({
      from: '1.0.0',
      to: '2.0.0',
      sha256: sha256(next),
      starts: 0,
      maxStarts: 3,
    });
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
    expect(leftovers()).toEqual([]);
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
    const result = await updater({ maxBytes: 1024 }).applyOffer({
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
    expect(good).toMatchObject({ ok: true, version: '3.0.0' });
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

describe('the trial run before the swap', () => {
  /** A real ELF for this CPU, cut short: the loader maps pages that are not in the file. */
  function truncatedElf(): Buffer {
    const whole = readFileSync('/usr/bin/env');
    return whole.subarray(0, Math.floor(whole.length / 2));
  }

  it('refuses a truncated binary whose checksum, size and CPU all pass, and keeps the old one', async () => {
    const truncated = truncatedElf();
    served.set('/gw-2.0.0', truncated);
    const { logger, lines } = capturingLogger();
    const result = await updater({ logger }).applyOffer({
      version: '2.0.0',
      url: `${baseUrl}/gw-2.0.0`,
      // The offer's checksum is of the truncated file: the damage happened before it was signed.
      checksum: sha256(truncated),
    });
    expect(result).toMatchObject({ ok: false, reason: 'self-check' });
    if (!result.ok) expect(result.error).toMatch(/trial run: `self-check` was killed by SIGSEGV/);
    await settle();
    expect(exits).toEqual([]);
    expect(runBinary()).toBe('1.0.0');
    expect(leftovers()).toEqual([]);
    const failure = lines
      .map((l) => JSON.parse(l))
      .find((r) => r.msg === 'update failed; the running version stays');
    expect(failure).toMatchObject({ level: 50, version: '2.0.0', reason: 'self-check' });
  });

  it('refuses a file that crashes at start (SIGSEGV), as the field binary did', async () => {
    const crashing = Buffer.from('#!/bin/sh\nulimit -c 0\nkill -SEGV $$\n');
    const result = await updater().applyFile(crashing, sha256(crashing));
    expect(result).toMatchObject({ ok: false, reason: 'self-check' });
    if (!result.ok) expect(result.error).toContain('SIGSEGV');
    expect(runBinary()).toBe('1.0.0');
    expect(leftovers()).toEqual([]);
  });

  it('refuses a file that runs but does not pass self-check (exit code, or no verdict)', async () => {
    const failing = Buffer.from('#!/bin/sh\necho "FAIL parts: zk driver: boom" >&2\nexit 1\n');
    const failed = await updater().applyFile(failing);
    expect(failed).toMatchObject({ ok: false, reason: 'self-check' });
    if (!failed.ok) expect(failed.error).toMatch(/exited with 1: FAIL parts: zk driver: boom/);
    // An old build that knows only --version prints its version and exits 0, without the verdict.
    const silent = Buffer.from('#!/bin/sh\necho 0.0.9\n');
    const unsure = await updater().applyFile(silent);
    expect(unsure).toMatchObject({ ok: false, reason: 'self-check' });
    expect(runBinary()).toBe('1.0.0');
    expect(leftovers()).toEqual([]);
  });

  it('refuses again the very file the update guard rolled back', async () => {
    const bad = script('2.0.0');
    writeFileSync(
      rollbackNoteOf(binaryPath),
      `rejected=2.0.0\nrejectedSha256=${sha256(bad)}\nrestored=1.0.0\nstarts=3\nat=2026-01-02T03:04:05Z\n`,
    );
    const result = await updater().applyFile(bad);
    expect(result).toMatchObject({ ok: false, reason: 'rolled-back' });
    expect(runBinary()).toBe('1.0.0');
    expect(existsSync(trialFileOf(binaryPath))).toBe(false);
    // A different build of a fixed version goes through.
    expect((await updater().applyFile(script('2.0.1'))).ok).toBe(true);
  });
});

describe('what the updater logs', () => {
  it('never logs a query string or signature, on success, failure or redirect', async () => {
    const next = script('2.0.0');
    served.set('/gw-2.0.0', next);
    const signed = (path: string) =>
      `${baseUrl}${path}?X-Signature=s3cr3tSig&Expires=1767225600&OSSAccessKeyId=AKID`;
    const { logger, lines } = capturingLogger();
    const up = updater({ logger });
    expect((await up.applyOffer({ version: '2.0.0', url: signed('/nope'), checksum: 'aa' })).ok).toBe(false);
    expect((await up.applyOffer({ version: '2.0.0', url: signed('/gw-2.0.0'), checksum: 'bb' })).ok).toBe(
      false,
    );
    const viaRedirect = `${baseUrl}/r?redirect=${encodeURIComponent(signed('/gw-2.0.0'))}&X-Signature=s3cr3tSig`;
    expect((await up.applyOffer({ version: '2.0.0', url: viaRedirect, checksum: sha256(next) })).ok).toBe(
      true,
    );
    // The signed URLs really were used, so there was something to leak.
    expect(requests.filter((r) => r.includes('X-Signature=s3cr3tSig'))).toHaveLength(4);
    const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(records.map((r) => r.msg)).toEqual(
      expect.arrayContaining([
        'update: fetching new binary',
        'update: download redirected',
        'update failed; the running version stays',
      ]),
    );
    for (const line of lines) {
      expect(line).not.toMatch(/s3cr3tSig|X-Signature|Expires=|OSSAccessKeyId|AKID/);
      expect(line).not.toMatch(/https?:\/\/[^"\s]*\?/);
    }
    const fetching = records.filter((r) => r.msg === 'update: fetching new binary').map((r) => r.source);
    expect(fetching).toEqual([`${baseUrl}/nope`, `${baseUrl}/gw-2.0.0`, `${baseUrl}/r`]);
  });
});

describe('download URLs', () => {
  it('refuses plain http unless update.allowInsecureHttp allows it', async () => {
    const next = script('2.0.0');
    served.set('/gw', next);
    const offer = { version: '2.0.0', url: `${baseUrl}/gw`, checksum: sha256(next) };
    const refused = await updater({ allowInsecureHttp: false }).applyOffer(offer);
    expect(refused).toMatchObject({ ok: false, reason: 'insecure-url' });
    if (!refused.ok)
      expect(refused.error).toMatch(/plain http: only https is accepted.*update\.allowInsecureHttp/);
    expect(requests).toEqual([]);
    expect(runBinary()).toBe('1.0.0');
    const other = await updater().applyOffer({ ...offer, url: `file://${binaryPath}` });
    expect(other).toMatchObject({ ok: false, reason: 'insecure-url' });
    const allowed = await updater({ allowInsecureHttp: true }).applyOffer(offer);
    expect(allowed.ok).toBe(true);
    expect(runBinary()).toBe('2.0.0');
  });

  describe('over https', () => {
    let tls: Server;
    let httpsUrl: string;
    let certFile: string;

    beforeEach(async () => {
      const keyFile = join(work.dir, 'key.pem');
      certFile = join(work.dir, 'cert.pem');
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'rsa:2048',
          '-nodes',
          '-keyout',
          keyFile,
          '-out',
          certFile,
          '-days',
          '1',
        ].concat(['-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1']),
        { stdio: 'ignore' },
      );
      tls = createHttpsServer({ key: readFileSync(keyFile), cert: readFileSync(certFile) }, handler);
      await new Promise<void>((resolve) => tls.listen(0, '127.0.0.1', resolve));
      httpsUrl = `https://127.0.0.1:${(tls.address() as AddressInfo).port}`;
    });

    afterEach(async () => {
      await new Promise<void>((resolve) => tls.close(() => resolve()));
    });

    /** The same offer applied by a fresh process with `env` (asynchronously: this process serves it). */
    function childUpdate(
      url: string,
      checksum: string,
      env: NodeJS.ProcessEnv,
    ): Promise<Record<string, unknown>> {
      return new Promise((resolve, reject) => {
        execFile(
          process.execPath,
          ['--import', 'tsx', join(ROOT, 'test/build/update-child.ts'), binaryPath, url, checksum, '2.0.0'],
          { cwd: ROOT, env: { ...process.env, ...env }, encoding: 'utf8', timeout: 60_000 },
          (error, stdout, stderr) => {
            if (error) reject(new Error(`${error.message}\n${stderr}`));
            else resolve(JSON.parse(stdout) as Record<string, unknown>);
          },
        );
      });
    }

    it('verifies the certificate: a self-signed one is refused, the same one trusted is accepted', async () => {
      const next = script('2.0.0');
      served.set('/gw', next);
      const untrusted = await updater({ allowInsecureHttp: false }).applyOffer({
        version: '2.0.0',
        url: `${httpsUrl}/gw`,
        checksum: sha256(next),
      });
      expect(untrusted).toMatchObject({ ok: false, reason: 'download' });
      if (!untrusted.ok) expect(untrusted.error).toMatch(/self-signed|certificate/i);
      expect(runBinary()).toBe('1.0.0');
      // Trusted the way a box with a private CA trusts it (read at process start).
      const trusted = await childUpdate(`${httpsUrl}/gw`, sha256(next), { NODE_EXTRA_CA_CERTS: certFile });
      expect(trusted).toMatchObject({ ok: true, version: '2.0.0' });
      expect(runBinary()).toBe('2.0.0');
    });

    it('refuses to download with verification turned off for the process', async () => {
      const next = script('2.0.0');
      served.set('/gw', next);
      const result = await childUpdate(`${httpsUrl}/gw`, sha256(next), { NODE_TLS_REJECT_UNAUTHORIZED: '0' });
      expect(result).toMatchObject({ ok: false, reason: 'insecure-url' });
      expect(String(result.error)).toContain('NODE_TLS_REJECT_UNAUTHORIZED=0');
      expect(runBinary()).toBe('1.0.0');
    });

    it('refuses an https offer that redirects to plain http', async () => {
      const next = script('2.0.0');
      served.set('/gw', next);
      const downgrade = `${httpsUrl}/r?redirect=${encodeURIComponent(`${baseUrl}/gw`)}`;
      const result = await childUpdate(downgrade, sha256(next), { NODE_EXTRA_CA_CERTS: certFile });
      expect(result).toMatchObject({ ok: false, reason: 'insecure-url' });
      expect(requests.filter((r) => r === '/gw')).toEqual([]);
      expect(runBinary()).toBe('1.0.0');
    });
  });
});
