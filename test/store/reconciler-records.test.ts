import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ZkEmulator } from '../../adapters/zk/emulator';
import { validateConfig } from '../../config/load';
import { Gateway } from '../../gateway/controller';
import { EventBus } from '../../gateway/events';
import type { Logger } from '../../gateway/model';
import { toTerminalUser, workerDigest } from '../../gateway/roster/reconcile-plan';
import { Roster } from '../../gateway/roster/roster';
import { AppliedDigests } from '../../gateway/store/applied-digests';
import { BlobStore } from '../../gateway/store/blobs';
import { decodeRecord, encodeRecord, ReconcilerRecords } from '../../gateway/store/reconciler-records';
import { StateStore } from '../../gateway/store/state';
import { ZK_TERMINAL } from '../roster/support';
import { waitFor } from '../support/lab-process';
import { testLogger } from '../support/logger';
import { tempDir } from '../support/tmp';

const WRITER = resolve(import.meta.dirname, '../support/record-writer.ts');

let cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  cleanups = [];
});

async function folder(prefix: string): Promise<string> {
  const { dir, cleanup } = await tempDir(prefix);
  cleanups.push(cleanup);
  return dir;
}

/** A logger that keeps what was logged at warn, to see that a problem was said, not swallowed. */
function warnings(): { logger: Logger; lines: () => string[] } {
  const lines: string[] = [];
  const logger = testLogger();
  const keep = (...args: unknown[]) => {
    lines.push(args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' '));
  };
  return {
    logger: Object.assign(Object.create(logger) as Logger, { warn: keep, child: () => logger }),
    lines: () => lines,
  };
}

function digestOf(n: number): string {
  return createHash('sha256').update(`worker ${n}`).digest('hex').slice(0, 24);
}

describe('a reconciler record file', () => {
  // Written out by hand: the header, then "PIN digest" per line, roster PINs in order, others after.
  const HAND_WRITTEN = [
    '{"v":1,"terminal":"gate-01-in","workers":3}',
    '2 0419505414a0f85c8efe4a75',
    '10 4c964e38dcd7d062a94da478',
    '007 not-a-digest-of-ours',
    '',
  ].join('\n');

  it('decodes a file written by hand, keeping a PIN or digest of another form exactly', () => {
    const digests = decodeRecord('gate-01-in', HAND_WRITTEN);
    expect([...digests.entries()]).toEqual([
      ['2', '0419505414a0f85c8efe4a75'],
      ['10', '4c964e38dcd7d062a94da478'],
      ['007', 'not-a-digest-of-ours'],
    ]);
    expect(digests.get('7')).toBeUndefined();
    expect(encodeRecord('gate-01-in', digests)).toBe(HAND_WRITTEN);
  });

  it('names what is wrong with a damaged file', () => {
    expect(() => decodeRecord('gate-01-in', HAND_WRITTEN.replace('"workers":3', '"workers":4'))).toThrow(
      'the header counts 4 workers, the file holds 3',
    );
    expect(() => decodeRecord('gate-02-in', HAND_WRITTEN)).toThrow("the record is terminal gate-01-in's");
    expect(() => decodeRecord('gate-01-in', HAND_WRITTEN.replace('10 4c9', '10 4c9 x'))).toThrow(
      'line 3 is not "PIN digest"',
    );
    expect(() => decodeRecord('gate-01-in', '\u0000\u0000garbage')).toThrow(
      'the first line is not the record header',
    );
  });

  it('moves a damaged file aside, says so, and starts the terminal afresh instead of failing', async () => {
    const dir = await folder('records-damaged-');
    const state = new StateStore(join(dir, 'state.json'));
    await state.open();
    await writeFile(join(dir, 'gate-01-in.applied'), HAND_WRITTEN.slice(0, 60), { mode: 0o600 });
    const log = warnings();
    const records = new ReconcilerRecords({ dir, state, logger: log.logger });
    await records.open();
    const record = await records.load('gate-01-in');
    expect(record.digests.size).toBe(0);
    expect(log.lines().join('\n')).toMatch(/the file holds 1".*reconciler record unreadable; moved aside/s);
    const files = await readdir(dir);
    expect(files.some((f) => f.startsWith('gate-01-in.applied.damaged-'))).toBe(true);
    // The next save writes a good file in its place.
    record.digests.set('1', digestOf(1));
    await record.save();
    expect(decodeRecord('gate-01-in', await readFile(join(dir, 'gate-01-in.applied'), 'utf8')).get('1')).toBe(
      digestOf(1),
    );
  });

  it('is owner-only, and written only when the record changed', async () => {
    const dir = await folder('records-mode-');
    const state = new StateStore(join(dir, 'state.json'));
    await state.open();
    const records = new ReconcilerRecords({ dir: join(dir, 'reconciler'), state, logger: testLogger() });
    await records.open();
    const record = await records.load('t1');
    record.digests.set('1', digestOf(1));
    await record.save();
    const file = join(dir, 'reconciler', 't1.applied');
    const first = await stat(file, { bigint: true });
    expect(Number(first.mode) & 0o777).toBe(0o600);
    expect((await stat(join(dir, 'reconciler'))).mode & 0o777).toBe(0o700);
    // The same digest again, and a save with nothing new: no write (the file keeps its time).
    await new Promise((r) => setTimeout(r, 20));
    record.digests.set('1', digestOf(1));
    await record.save();
    await record.save();
    expect((await stat(file, { bigint: true })).mtimeNs).toBe(first.mtimeNs);
    record.digests.set('1', digestOf(2));
    await record.save();
    expect((await stat(file, { bigint: true })).mtimeNs).not.toBe(first.mtimeNs);
  });
});

describe('a kill while a record is being written', () => {
  /** Runs the writer until SIGKILL at `killAfterMs` after it is ready; the highest n acknowledged. */
  function runUntilKilled(dir: string, killAfterMs: number): Promise<number> {
    return new Promise((resolvePromise, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', WRITER, dir, 'gate-01-in'], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let acked = 0;
      let buffered = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => {
        buffered += chunk.toString();
        const lines = buffered.split('\n');
        buffered = lines.pop()!;
        for (const line of lines) {
          if (line === 'READY') setTimeout(() => child.kill('SIGKILL'), killAfterMs);
          const match = /^ACK (\d+)$/.exec(line);
          if (match) acked = Number(match[1]);
        }
      });
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      child.on('error', reject);
      child.on('exit', (_code, signal) => {
        if (signal !== 'SIGKILL') reject(new Error(`writer ended without being killed: ${stderr}`));
        else resolvePromise(acked);
      });
    });
  }

  it('loses nothing already durable and never leaves a file that does not read', async () => {
    const dir = await folder('records-crash-');
    let before = 0;
    for (let kill = 0; kill < 8; kill++) {
      const acked = await runUntilKilled(dir, 20 + Math.floor(Math.random() * 200));
      expect(acked).toBeGreaterThan(before);
      const text = await readFile(join(dir, 'gate-01-in.applied'), 'utf8');
      // Parses (a torn file would throw), and holds every acknowledged worker with its digest.
      const digests = decodeRecord('gate-01-in', text);
      expect(digests.size).toBeGreaterThanOrEqual(acked);
      expect(digests.size).toBeLessThanOrEqual(acked + 1);
      for (let n = 1; n <= digests.size; n++) expect(digests.get(String(n))).toBe(digestOf(n));
      before = digests.size;
    }
    expect((await readdir(dir)).filter((f) => f.includes('damaged'))).toEqual([]);
  }, 120_000);
});

describe('a box upgrading from records kept in state.json', () => {
  const WORKERS = 40;
  const TERMINALS = ['gate-a', 'gate-b'];

  it('moves them into their own files and rewrites no user on its terminals', async () => {
    const dir = await folder('records-upgrade-');
    const bus = new EventBus();
    const roster = new Roster({
      file: join(dir, 'roster.json'),
      blobs: new BlobStore(join(dir, 'blobs')),
      bus,
      clock: { now: () => Date.now() },
      logger: testLogger(),
    });
    await roster.open();
    await roster.apply(
      Array.from({ length: WORKERS }, (_, i) => ({
        source: 'local' as const,
        op: 'upsert' as const,
        identity: { gatewayId: `w${i}` },
        name: `工人${i}`,
      })),
    );
    const workers = roster.list();
    // The terminals hold the roster, as after years on site.
    const emulators = TERMINALS.map(
      () => new ZkEmulator({ users: workers.map(toTerminalUser), records: 0, encoding: 'gb18030' }),
    );
    for (const emulator of emulators) {
      await emulator.start();
      cleanups.push(() => emulator.stop());
    }
    // state.json as the previous version wrote it: cursors and settings beside the records.
    const applied = Object.fromEntries(workers.map((w) => [w.pin, workerDigest(w, ZK_TERMINAL)]));
    const old: Record<string, unknown> = { 'settings.remote': { heartbeatSeconds: 30 } };
    for (const id of TERMINALS) old[`reconciler.${id}`] = { applied };
    await writeFile(join(dir, 'state.json'), `${JSON.stringify(old)}\n`, { mode: 0o600 });

    const config = validateConfig({
      site: { name: 'upgrade' },
      dataDir: dir,
      http: { host: '127.0.0.1', port: 0 },
      reconcile: { maxStepsPerSecond: 0 },
      terminals: TERMINALS.map((id, i) => ({
        id,
        driver: 'zk',
        direction: 'in',
        host: '127.0.0.1',
        port: emulators[i]!.port,
        transport: 'tcp',
        encoding: 'gb18030',
        pollSeconds: 1,
      })),
    });
    if (!config.ok) throw new Error(config.problems.join('\n'));
    const gateway = new Gateway(config.config, testLogger());
    cleanups.push(() => gateway.stop());
    await gateway.start();
    await waitFor(
      async () =>
        TERMINALS.every((id) => gateway.reconciler(id)?.status().lastSyncedAt !== undefined)
          ? true
          : undefined,
      20_000,
      'both terminals through a roster pass',
    );
    for (const id of TERMINALS) {
      expect(gateway.reconciler(id)!.status()).toMatchObject({ inSync: true, stepsDone: 0, pending: 0 });
      const file = await readFile(join(dir, 'reconciler', `${id}.applied`), 'utf8');
      expect(Object.fromEntries(decodeRecord(id, file).entries())).toEqual(applied);
    }
    // Cursor saves (every second) now write a small state.json, which keeps what else it held.
    await waitFor(
      async () => {
        const state = JSON.parse(await readFile(join(dir, 'state.json'), 'utf8')) as Record<string, unknown>;
        return TERMINALS.every((id) => `terminal.${id}.cursor` in state) ? state : undefined;
      },
      10_000,
      'both terminal cursors saved',
    );
    const state = JSON.parse(await readFile(join(dir, 'state.json'), 'utf8')) as Record<string, unknown>;
    expect(Object.keys(state).filter((k) => k.startsWith('reconciler.'))).toEqual([]);
    expect(state['settings.remote']).toEqual({ heartbeatSeconds: 30 });
    expect((await stat(join(dir, 'state.json'))).size).toBeLessThan(1024);
  }, 60_000);

  it('moves again after a crash cut the move short: what state.json still holds wins', async () => {
    const dir = await folder('records-half-moved-');
    const keys = { '1': digestOf(1), '2': digestOf(2) };
    // The files were written (here: an older record in one), then the process died before
    // state.json lost its keys.
    const empty = new StateStore(join(dir, 'empty-state.json'));
    await empty.open();
    const earlier = new ReconcilerRecords({
      dir: join(dir, 'reconciler'),
      state: empty,
      logger: testLogger(),
    });
    await earlier.open();
    await earlier.write('t1', AppliedDigests.from({ '1': digestOf(9) }));
    await writeFile(join(dir, 'state.json'), `${JSON.stringify({ 'reconciler.t1': { applied: keys } })}\n`);

    const state = new StateStore(join(dir, 'state.json'));
    await state.open();
    const records = new ReconcilerRecords({ dir: join(dir, 'reconciler'), state, logger: testLogger() });
    await records.open();
    expect(Object.fromEntries((await records.load('t1')).digests.entries())).toEqual(keys);
    expect(JSON.parse(await readFile(join(dir, 'state.json'), 'utf8'))).toEqual({});
  });
});
