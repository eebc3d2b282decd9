import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AppliedDigests } from '../../gateway/store/applied-digests';
import { decodeRecord, encodeRecord } from '../../gateway/store/reconciler-records';

const digestOf = (n: number) => createHash('sha256').update(String(n)).digest('hex').slice(0, 24);

/** A reproducible sequence in [0, 1). */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state ^ (state >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    return state / 4294967296;
  };
}

describe('a reconciler record in memory', () => {
  it('answers as a plain map would through any mix of notes and removals', () => {
    const pick = random(17);
    const table = new AppliedDigests();
    const model = new Map<string, string>();
    for (let i = 0; i < 20_000; i++) {
      const n = Math.floor(pick() * 3000) + 1;
      // Now and then a PIN or digest the compact form does not take: kept exactly all the same.
      const pin = pick() < 0.05 ? `0${n}` : String(n);
      if (pick() < 0.7) {
        const digest = pick() < 0.03 ? `old-${n}` : digestOf(Math.floor(pick() * 1e6));
        table.set(pin, digest);
        model.set(pin, digest);
      } else {
        expect(table.delete(pin)).toBe(model.delete(pin));
      }
    }
    expect(table.size).toBe(model.size);
    for (const [pin, digest] of model) expect(table.get(pin)).toBe(digest);
    expect(new Set(table.pins())).toEqual(new Set(model.keys()));
    // Written and read back, the same table.
    const back = decodeRecord('t', encodeRecord('t', table));
    expect(new Map(back.entries())).toEqual(model);
  });

  it('holds 5,000 workers in 16 bytes each, where a record of strings took ≈ 50', () => {
    const table = new AppliedDigests();
    for (let n = 1; n <= 5000; n++) table.set(String(n), digestOf(n));
    expect(table.heldBytes).toBeLessThanOrEqual(5000 * 16 * 1.25);
    expect(decodeRecord('t', encodeRecord('t', table)).heldBytes).toBe(5000 * 16);
  });

  it('counts a change only when something changed, which is when a save writes', () => {
    const table = AppliedDigests.from({ '1': digestOf(1), '2': digestOf(2) });
    const before = table.changes;
    table.set('1', digestOf(1));
    table.delete('77');
    expect(table.changes).toBe(before);
    table.set('1', digestOf(9));
    table.delete('2');
    expect(table.changes).toBe(before + 2);
  });
});
