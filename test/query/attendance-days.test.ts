/**
 * The attendance cache's table (gateway/query/attendance-days.ts) holds the months it has read in
 * memory: whatever mix of writes, clears, retention and reads over any span of days, a read gives
 * what the table's rows hold, the same as a fresh table over the same file reads from SQLite.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AttendanceDayTable, dayValue } from '../../gateway/query/attendance-days';
import { openSqlite } from '../../gateway/query/sqlite';

const DAY_MS = 86_400_000;
/** 2026-01-01 as a day number, and 120 days from it: four months and a bit. */
const FIRST = Date.UTC(2026, 0, 1) / DAY_MS;
const SPAN = 120;
const WORKERS = ['w1', 'w2', 'w3', 'w4', 'w5'];

type Step =
  | {
      readonly kind: 'put';
      readonly worker: number;
      readonly day: number;
      readonly tenths: number;
      readonly anomaly: number;
    }
  | { readonly kind: 'clear'; readonly worker: number; readonly day: number }
  | { readonly kind: 'read'; readonly from: number; readonly length: number }
  | { readonly kind: 'prune'; readonly floor: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({
    kind: fc.constant('put' as const),
    worker: fc.integer({ min: 0, max: WORKERS.length - 1 }),
    day: fc.integer({ min: 0, max: SPAN - 1 }),
    tenths: fc.integer({ min: 0, max: 240 }),
    anomaly: fc.integer({ min: 0, max: 3 }),
  }),
  fc.record({
    kind: fc.constant('clear' as const),
    worker: fc.integer({ min: 0, max: WORKERS.length - 1 }),
    day: fc.integer({ min: 0, max: SPAN - 1 }),
  }),
  fc.record({
    kind: fc.constant('read' as const),
    from: fc.integer({ min: 0, max: SPAN - 1 }),
    length: fc.integer({ min: 1, max: 62 }),
  }),
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('prune' as const), floor: fc.integer({ min: 0, max: 40 }) }),
  },
);

describe('the attendance cache’s months held in memory', () => {
  // Worker keys from 1, as a site has them (held), and far beyond what is held (read each time).
  it.each([0, 300_000])(
    'read as the table’s rows, through any writes, clears and retention (keys after %i)',
    (base) => {
      const keyOf = (id: string) => (WORKERS.includes(id) ? base + WORKERS.indexOf(id) + 1 : undefined);
      fc.assert(
        fc.property(fc.array(step, { minLength: 5, maxLength: 60 }), (steps) => {
          const db = openSqlite(':memory:');
          try {
            db.exec('CREATE TABLE meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID');
            db.exec('CREATE TABLE worker (key INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE)');
            for (const id of WORKERS) db.prepare('INSERT INTO worker VALUES (?, ?)').run(keyOf(id), id);
            const table = AttendanceDayTable.open(db, keyOf);
            const { epoch } = table.current(7, 0, 0);
            expect(table.write({ epoch, from: FIRST, to: FIRST + SPAN, seen: 0 })).toBe(true);
            // The model: day number → worker key → packed value.
            const model = new Map<string, number>();
            let floor = FIRST;
            for (const s of steps) {
              if (s.kind === 'put') {
                const key = keyOf(WORKERS[s.worker]!)!;
                table.write({ epoch, rows: [[key, FIRST + s.day, s.tenths, s.anomaly]] });
                model.set(`${key}|${FIRST + s.day}`, dayValue(s.tenths, s.anomaly));
              } else if (s.kind === 'clear') {
                const key = keyOf(WORKERS[s.worker]!)!;
                table.write({ epoch, clear: [[key, FIRST + s.day]] });
                model.delete(`${key}|${FIRST + s.day}`);
              } else if (s.kind === 'prune') {
                const to = Math.max(floor, FIRST + s.floor);
                let after: number | undefined = 0;
                while (after !== undefined) after = table.prune(to, after);
                floor = Math.max(floor, to);
                for (const key of [...model.keys()]) if (Number(key.split('|')[1]) < floor) model.delete(key);
              } else {
                const from = Math.max(floor, FIRST + s.from);
                const to = Math.min(FIRST + SPAN, from + s.length);
                const read = table.rows([...WORKERS, 'unknown'], from, to)!;
                expect(read, 'a span the cache reaches').toBeDefined();
                for (const id of WORKERS) {
                  const expected = Array.from(
                    { length: to - from },
                    (_, k) => model.get(`${keyOf(id)}|${from + k}`) ?? 0,
                  );
                  expect([...read.get(id)!], `${id} from day ${from - FIRST}`).toEqual(expected);
                }
                expect([...read.get('unknown')!].every((v) => v === 0)).toBe(true);
                // A fresh table over the same file (nothing held) reads the same.
                const fresh = AttendanceDayTable.open(db, keyOf).rows(WORKERS, from, to)!;
                for (const id of WORKERS) expect([...fresh.get(id)!]).toEqual([...read.get(id)!]);
              }
            }
          } finally {
            db.close();
          }
        }),
        { numRuns: 150 },
      );
    },
  );
});
