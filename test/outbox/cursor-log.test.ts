/**
 * The outboxes' cursor files, byte by byte: the snapshot (`cursors.json`, the format older versions
 * wrote) and the log (`cursors.log`, one JSON line per commit), as a crash or a power cut leaves them.
 */
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CursorLog, parseLogLine } from '../../gateway/outbox/cursor-log';
import { testLogger } from '../support/logger';
import { tempDir } from '../support/tmp';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir('cursor-log-'));
});
afterEach(() => cleanup());

const snapshotFile = () => join(dir, 'cursors.json');
const logFile = () => join(dir, 'cursors.log');
const read = (file: string) => readFile(file, 'utf8');
/** The log's lines that are not blank (the blank ones are the room left for saves). */
const logLines = async () => (await read(logFile())).split('\n').filter((line) => line !== '');
const LOG_BYTES = 64 * 1024;

async function opened(options: { logBytes?: number; beforeSync?: () => Promise<void> } = {}) {
  const log = new CursorLog({ dir, logger: testLogger(), ...options });
  await log.open();
  return log;
}

describe('cursor log', () => {
  it('reads the cursors.json an older version wrote, and keeps both files owner-only', async () => {
    // What StateStore (lowdb, JSON.stringify + newline) wrote for the outboxes before the log existed.
    await writeFile(snapshotFile(), '{"outbox.sichuan":1234,"outbox.deli":999}\n', { mode: 0o600 });
    const log = await opened();
    expect(log.slot('outbox.sichuan').get()).toBe(1234);
    expect(log.slot('outbox.deli').get()).toBe(999);
    expect(log.slot('outbox.other').get()).toBeUndefined();
    // The log is a fixed-size file of blank lines; a save overwrites the first of them.
    expect((await stat(logFile())).size).toBe(LOG_BYTES);
    log.slot('outbox.sichuan').note(1240);
    await log.slot('outbox.sichuan').flush();
    expect((await read(logFile())).startsWith('{"outbox.sichuan":1240}\n\n')).toBe(true);
    expect(await logLines()).toEqual(['{"outbox.sichuan":1240}']);
    expect((await stat(logFile())).size).toBe(LOG_BYTES);
    for (const file of [snapshotFile(), logFile()]) expect((await stat(file)).mode & 0o777, file).toBe(0o600);
    await log.close();
    // Stopping folds the log into the snapshot: an older version reading cursors.json alone is exact.
    expect(JSON.parse(await read(snapshotFile()))).toEqual({ 'outbox.deli': 999, 'outbox.sichuan': 1240 });
    expect(await logLines()).toEqual([]);
  });

  for (const [form, tail] of [
    ['cut short at the end of the file', ''],
    ['cut short inside the blank lines of the fixed-size log', '\n'.repeat(200)],
  ] as const) {
    it(`replays whole lines after a crash and skips a torn last line (${form})`, async () => {
      await writeFile(snapshotFile(), '{"outbox.deli":35,"outbox.sichuan":40}\n', { mode: 0o600 });
      // Two saves, a line of zeros (a block allocated but never written before a power cut), a
      // third save, and a fourth cut short by the crash.
      const lines = [
        '{"outbox.sichuan":50}\n',
        '{"outbox.deli":45,"outbox.sichuan":60}\n',
        `${'\0'.repeat(12)}\n`,
        '{"outbox.deli":47}\n',
        '{"outbox.sichuan":7',
      ];
      await writeFile(logFile(), lines.join('') + tail, { mode: 0o600 });
      const log = await opened();
      expect(log.slot('outbox.sichuan').get()).toBe(60);
      expect(log.slot('outbox.deli').get()).toBe(47);
      expect(log.durableCursor('outbox.sichuan')).toBe(60);
      expect(log.corruptLines).toBe(2);
      // Open starts from an exact snapshot and a blank log, so the next line starts clean.
      expect(await read(snapshotFile())).toBe('{"outbox.deli":47,"outbox.sichuan":60}\n');
      expect(await read(logFile())).toBe('\n'.repeat(LOG_BYTES));
      log.slot('outbox.sichuan').note(70);
      await log.flush();
      expect(await logLines()).toEqual(['{"outbox.sichuan":70}']);
      // Killed (no close): the next start reads the save from the log.
      const again = await opened();
      expect(again.slot('outbox.sichuan').get()).toBe(70);
      await again.close();
      await log.close();
    });
  }

  it('never moves a cursor back when a crash came between rewriting the snapshot and blanking the log', async () => {
    await writeFile(snapshotFile(), '{"outbox.sichuan":100}\n', { mode: 0o600 });
    // The blanking was cut short by a power cut, and its pages reached the disk in no particular
    // order: the line with 100 is blank already, an older one with 90 is not.
    const blanked = '\n'.repeat('{"outbox.sichuan":100}'.length);
    await writeFile(logFile(), `{"outbox.sichuan":90}\n${blanked}\n{"outbox.deli":3}\n`, { mode: 0o600 });
    const log = await opened();
    expect(log.slot('outbox.sichuan').get()).toBe(100);
    expect(log.slot('outbox.deli').get()).toBe(3);
    await log.close();
  });

  it('parses only whole cursor lines', () => {
    expect(parseLogLine('{"outbox.sichuan":12,"outbox.deli":0}')).toEqual(
      new Map([
        ['outbox.sichuan', 12],
        ['outbox.deli', 0],
      ]),
    );
    for (const line of [
      '',
      '{}',
      '[1]',
      '{"outbox.sichuan":-1}',
      '{"outbox.sichuan":1.5}',
      '{"a":"1"}',
      '{"a":1',
    ]) {
      expect(parseLogLine(line), line).toBeNull();
    }
  });

  it('refuses a snapshot that is not cursors, naming the key, and leaves it as it was', async () => {
    const bad = '{"outbox.sichuan":"12x"}\n';
    await writeFile(snapshotFile(), bad, { mode: 0o600 });
    await expect(opened()).rejects.toThrow(/outbox\.sichuan is "12x", not a journal sequence number/);
    await writeFile(snapshotFile(), '{"outbox.sich', { mode: 0o600 });
    await expect(opened()).rejects.toThrow(/cursors\.json is not valid JSON/);
    expect(await read(snapshotFile())).toBe('{"outbox.sich');
  });

  it('compacts: the log keeps its size however many saves, and a restart reads the latest cursors', async () => {
    const log = await opened({ logBytes: 256 });
    const sichuan = log.slot('outbox.sichuan');
    const deli = log.slot('outbox.deli');
    const sizes = new Set<number>();
    for (let seq = 1; seq <= 500; seq++) {
      sichuan.note(seq * 10);
      if (seq % 3 === 0) deli.note(seq * 7);
      await log.flush();
      sizes.add((await stat(logFile())).size);
    }
    expect(log.commits).toBe(500);
    // 22–40 bytes a line, folded once fewer than 32 bytes are left.
    expect(log.compactions).toBeGreaterThanOrEqual(40);
    expect([...sizes]).toEqual([256]);
    const snapshot = JSON.parse(await read(snapshotFile())) as Record<string, number>;
    expect(snapshot['outbox.sichuan']).toBeLessThanOrEqual(5000);
    expect(snapshot['outbox.sichuan']).toBeGreaterThan(5000 - 20 * 10);
    // Reopened without close (as after SIGKILL): snapshot plus log give the latest values.
    const afterKill = await opened({ logBytes: 256 });
    expect(afterKill.slot('outbox.sichuan').get()).toBe(5000);
    expect(afterKill.slot('outbox.deli').get()).toBe(498 * 7);
    await afterKill.close();
    await log.close();
  });

  it('keeps every cursor when the snapshot cannot be rewritten: the log grows, nothing is lost', async () => {
    const log = await opened({ logBytes: 256 });
    // A directory where the snapshot goes: every rename onto it fails, as a read-only or broken file would.
    await rm(snapshotFile());
    await mkdir(join(snapshotFile(), 'blocked'), { recursive: true });
    const sichuan = log.slot('outbox.sichuan');
    for (let seq = 1; seq <= 40; seq++) {
      sichuan.note(seq);
      await sichuan.flush();
    }
    expect(log.compactions).toBe(1);
    expect((await stat(logFile())).size).toBeGreaterThan(256);
    expect((await logLines()).at(-1)).toBe('{"outbox.sichuan":40}');
    await rm(snapshotFile(), { recursive: true });
    // The next start has only the log, and it holds the latest cursor.
    const again = await opened({ logBytes: 256 });
    expect(again.slot('outbox.sichuan').get()).toBe(40);
    expect((await stat(logFile())).size).toBe(256);
    await again.close();
    await log.close().catch(() => undefined);
  });

  it('shares one write and one sync among every flush that overlaps a commit', async () => {
    let release: (() => void) | undefined;
    let syncs = 0;
    const log = await opened({
      beforeSync: () => {
        syncs++;
        return syncs === 1 ? new Promise<void>((r) => (release = r)) : Promise.resolve();
      },
    });
    const sichuan = log.slot('outbox.sichuan');
    const deli = log.slot('outbox.deli');
    sichuan.note(1);
    const first = log.flush();
    await until(() => release !== undefined);
    // While the first commit waits for its sync, both outboxes go on and ask for saves.
    const more: Promise<void>[] = [];
    for (let seq = 2; seq <= 20; seq++) {
      sichuan.note(seq);
      deli.note(seq * 2);
      more.push(sichuan.flush(), deli.flush());
    }
    release!();
    await Promise.all([first, ...more]);
    expect(log.commits).toBe(2);
    expect(await logLines()).toEqual(['{"outbox.sichuan":1}', '{"outbox.sichuan":20,"outbox.deli":40}']);
    await log.close();
  });

  it('keeps a refused cursor noted, reports it, and writes it with the next commit without a torn line', async () => {
    let refuse = true;
    const log = await opened({
      beforeSync: async () => {
        if (refuse) throw Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
      },
    });
    const sichuan = log.slot('outbox.sichuan');
    sichuan.note(5);
    await expect(sichuan.flush()).rejects.toThrow(/EIO/);
    expect(log.lastWriteError?.message).toMatch(/EIO/);
    expect(sichuan.get()).toBe(5);
    expect(log.durableCursor('outbox.sichuan')).toBeUndefined();
    // The refused line was blanked again, so the file never holds a line that was not saved.
    expect(await read(logFile())).toBe('\n'.repeat(LOG_BYTES));
    refuse = false;
    sichuan.note(9);
    await sichuan.flush();
    expect(log.lastWriteError).toBeUndefined();
    expect(await logLines()).toEqual(['{"outbox.sichuan":9}']);
    await log.close();
  });
});

async function until(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 2));
  }
}
