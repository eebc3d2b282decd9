/**
 * The outbox killed mid-drain: a child process drains a journaled backlog to each platform's
 * emulator (over real sockets) with its cursor in the cursor log on a slow disk, and is killed with
 * SIGKILL at random moments, then restarted. Every punch arrives, and what each restart sends again
 * stays within the documented bound: `outbox.cursorSaveBatches` batches, the one in flight included.
 *
 * SIGKILL keeps what was written but not yet synced (the kernel still has it); the bound against
 * a power cut, which loses that too, is sampled on the synced cursor in cursor-persistence.test.ts.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeliEmulator } from '../../cloud/deli/emulator';
import { SichuanEmulator } from '../../cloud/sichuan/emulator';
import type { UpstreamName } from '../../gateway/model';
import { parseLogLine } from '../../gateway/outbox/cursor-log';
import { testLogger } from '../support/logger';
import { tempDir } from '../support/tmp';
import { DELI, fillJournal, openJournal, SICHUAN } from './rig';

const ROOT = resolve(import.meta.dirname, '../..');
const KILLS = Number(process.env.OUTBOX_CRASH_KILLS ?? 5);
const CURSOR_SAVE_BATCHES = 8;
const SYNC_MS = 15;

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('outbox-crash-'));
});
afterAll(() => cleanup());

/** A platform emulator, and the punch number of every record it received, in order (repeats included). */
async function platform(name: UpstreamName) {
  if (name === 'sichuan') {
    const emulator = new SichuanEmulator({ ...SICHUAN, random: () => 0.5 });
    const endpoint = await emulator.start();
    return {
      endpoint,
      batch: 10,
      received: () => emulator.state().punches.map((r) => Number(r.userId.slice(1))),
      stop: () => emulator.stop(),
    };
  }
  const emulator = new DeliEmulator({ ...DELI, embedded: true, logger: testLogger('deli-emu') });
  await emulator.start();
  return {
    endpoint: emulator.brokerUrl,
    batch: 50,
    received: () => emulator.checkins.flatMap((c) => c.users.map((u) => Number(u.userId))),
    stop: () => emulator.stop(),
  };
}

interface Child {
  readonly process: ChildProcess;
  readonly ready: Promise<void>;
  readonly exited: Promise<number | null>;
}

function startChild(dataDir: string, name: UpstreamName, endpoint: string): Child {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(ROOT, 'test/outbox/crash-child.ts'),
      dataDir,
      name,
      endpoint,
      String(CURSOR_SAVE_BATCHES),
      String(SYNC_MS),
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const ready = new Promise<void>((resolveReady, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (/^ready /m.test(output)) resolveReady();
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code, signal) =>
      reject(new Error(`child exited (${code ?? signal}) before ready:\n${output}`)),
    );
  });
  return { process: child, ready, exited };
}

async function until(what: string, condition: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what}: not reached in time`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

describe('outbox crash: re-sends after SIGKILL stay within cursorSaveBatches', () => {
  for (const [name, punches] of [
    ['sichuan', 6000],
    ['deli', 20_000],
  ] as const) {
    it(`${name}: ${KILLS} kills mid-drain, every punch delivered, each restart re-sends at most ${CURSOR_SAVE_BATCHES} batches`, async () => {
      const dataDir = join(dir, name);
      const journal = openJournal(dataDir, testLogger());
      await journal.open();
      await fillJournal(journal, 1, punches);
      await journal.close();
      const emulator = await platform(name);
      try {
        // Where each run's records start in the platform's list.
        const runStarts: number[] = [];
        for (let kill = 0; kill < KILLS; kill++) {
          const before = emulator.received().length;
          runStarts.push(before);
          const child = startChild(dataDir, name, emulator.endpoint);
          await child.ready;
          // Kill once this run has sent well past the bound: a cursor saved only now and then
          // (or never before the end) would show as more re-sent than the bound allows.
          const goal = before + (3 + Math.floor(Math.random() * 4)) * CURSOR_SAVE_BATCHES * emulator.batch;
          await until(`run ${kill} delivering`, () => emulator.received().length >= goal);
          child.process.kill('SIGKILL');
          await child.exited;
        }
        runStarts.push(emulator.received().length);
        const final = startChild(dataDir, name, emulator.endpoint);
        await final.ready;
        await until('every punch delivered', () => new Set(emulator.received()).size === punches);
        final.process.kill('SIGTERM');
        expect(await final.exited).toBe(0);

        const received = emulator.received();
        // Every punch arrived.
        const distinct = new Set(received);
        for (let n = 1; n <= punches; n++) expect(distinct.has(n), `punch ${n}`).toBe(true);
        // Each restart (after a kill) re-sends only what the killed run had not saved: at most the bound.
        const resentPerRestart: number[] = [];
        for (let run = 1; run < runStarts.length; run++) {
          const earlier = new Set(received.slice(0, runStarts[run]));
          const end = runStarts[run + 1] ?? received.length;
          resentPerRestart.push(received.slice(runStarts[run], end).filter((n) => earlier.has(n)).length);
        }
        for (const resent of resentPerRestart)
          expect(resent).toBeLessThanOrEqual(CURSOR_SAVE_BATCHES * emulator.batch);
        expect(received.length - punches).toBe(resentPerRestart.reduce((a, b) => a + b, 0));
        // Stopped in order: the snapshot holds the end, the log is empty or whole lines only.
        const snapshot = JSON.parse(await readFile(join(dataDir, 'cursors.json'), 'utf8')) as Record<
          string,
          number
        >;
        expect(snapshot[`outbox.${name}`]).toBe(punches);
        const log = await readFile(join(dataDir, 'cursors.log'), 'utf8');
        for (const line of log.split('\n').filter(Boolean)) expect(parseLogLine(line), line).not.toBeNull();
      } finally {
        await emulator.stop();
      }
    }, 240_000);
  }
});
