/**
 * The store is a plain SQLite 3 file any sqlite3 tool can open: its header checked byte by byte
 * against the published file format (sqlite.org/fileformat.html, §1.3 "The Database Header"), and
 * a journal line written out by hand comes back from the store field for field.
 */
import { statSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PunchStore } from '../../gateway/query/punch-store';
import { rebuildPunchStore } from '../../gateway/query/rebuild';
import { testLogger } from '../support/logger';
import { tempDir } from '../support/tmp';
import { openJournal } from './support';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

describe('the query store file', () => {
  it('is owner-only and has the SQLite 3 header of a WAL database in UTF-8', async () => {
    const tmp = await tempDir('edge-gw-store-format-');
    cleanups.push(tmp.cleanup);
    const file = join(tmp.dir, 'punches.sqlite');
    const store = PunchStore.open(file, { create: true });
    // Owner-only, like every data file; SQLite gives the WAL the database file's mode.
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(`${file}-wal`).mode & 0o777).toBe(0o600);
    store.close();
    const header = (await readFile(file)).subarray(0, 100);
    // Offset 0, 16 bytes: the header string "SQLite format 3\000".
    expect([...header.subarray(0, 16)]).toEqual([
      0x53, 0x51, 0x4c, 0x69, 0x74, 0x65, 0x20, 0x66, 0x6f, 0x72, 0x6d, 0x61, 0x74, 0x20, 0x33, 0x00,
    ]);
    // Offset 16, 2 bytes big-endian: the page size, 4096 (SQLite's default).
    expect([header[16], header[17]]).toEqual([0x10, 0x00]);
    // Offsets 18 and 19: file format write and read versions, 2 = WAL.
    expect([header[18], header[19]]).toEqual([0x02, 0x02]);
    // Offsets 21–23: maximum and minimum embedded payload fractions and the leaf payload fraction, "must be 64, 32, 32".
    expect([header[21], header[22], header[23]]).toEqual([0x40, 0x20, 0x20]);
    // Offset 44, 4 bytes: the schema format number, 4.
    expect([...header.subarray(44, 48)]).toEqual([0x00, 0x00, 0x00, 0x04]);
    // Offset 56, 4 bytes: the text encoding, 1 = UTF-8.
    expect([...header.subarray(56, 60)]).toEqual([0x00, 0x00, 0x00, 0x01]);
  });

  it('holds a hand-written journal line field for field', async () => {
    const tmp = await tempDir('edge-gw-store-line-');
    cleanups.push(tmp.cleanup);
    const dir = join(tmp.dir, 'journal');
    await mkdir(dir, { recursive: true });
    // One line as the journal writes it (docs/architecture.md, "Where data lives"): 张三 out by face.
    const line =
      '{"key":"gate-1|42|1781150400","terminalId":"gate-1","pin":"42","workerId":"w-42","direction":"out",' +
      '"method":"fa","atMs":1781150400000,"source":"realtime","flags":["clock_suspect"],"receivedMs":1781150400500,"seq":1}\n';
    await writeFile(join(dir, `${'1'.padStart(20, '0')}.jsonl`), line);
    const journal = openJournal(tmp.dir);
    await journal.open();
    cleanups.push(() => journal.close());
    const file = join(tmp.dir, 'punches.sqlite');
    const result = await rebuildPunchStore({ journal, file, keepFromMs: 0, logger: testLogger() });
    expect(result).toMatchObject({ punches: 1, highWater: 1 });
    const store = PunchStore.open(file, { create: false });
    try {
      expect(store.query({}, 1, 10).rows).toEqual([
        {
          seq: 1,
          atMs: 1_781_150_400_000,
          receivedMs: 1_781_150_400_500,
          terminalId: 'gate-1',
          pin: '42',
          workerId: 'w-42',
          direction: 'out',
          method: 'fa',
          source: 'realtime',
          flags: ['clock_suspect'],
        },
      ]);
      expect(store.onSite(0)).toEqual([]);
      expect(store.lastPunchOf('w-42')).toEqual({ atMs: 1_781_150_400_000, direction: 'out' });
    } finally {
      store.close();
    }
  });
});
