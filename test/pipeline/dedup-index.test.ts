import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DedupIndex, type PunchIdentity } from '../../gateway/pipeline/dedup-index';

const DAY_MS = 86_400_000;
const NOW = Date.UTC(2026, 10, 22, 12);

const punch = (terminalId: string, pin: string, atMs: number): PunchIdentity => ({ terminalId, pin, atMs });

describe('DedupIndex', () => {
  it('claims a punch once per terminal, PIN and second', () => {
    const index = new DedupIndex(31, () => NOW);
    const at = NOW - 60_000;
    expect(index.claim(punch('gate', '7', at))).toBe(true);
    expect(index.claim(punch('gate', '7', at + 999))).toBe(false); // same second
    expect(index.claim(punch('gate', '7', at + 1000))).toBe(true);
    expect(index.claim(punch('gate', '07', at))).toBe(true); // another PIN
    expect(index.claim(punch('door', '7', at))).toBe(true); // another terminal
    expect(index.size).toBe(4);
    expect(index.has(punch('gate', '7', at + 500))).toBe(true);
    expect(index.has(punch('gate', '8', at))).toBe(false);
  });

  it('a released punch can be claimed again (a journal write that failed)', () => {
    const index = new DedupIndex(31, () => NOW);
    const p = punch('gate', '7', NOW);
    index.claim(p);
    index.release(p);
    expect(index.has(p)).toBe(false);
    expect(index.size).toBe(0);
    expect(index.claim(p)).toBe(true);
    index.release(punch('gate', 'never', NOW));
    expect(index.size).toBe(1);
  });

  it('prune forgets what is older than the window and keeps the rest', () => {
    let now = NOW;
    const index = new DedupIndex(2, () => now);
    for (let i = 0; i < 5000; i++) index.claim(punch('gate', String(i % 50), NOW - i * 60_000));
    now = NOW + DAY_MS;
    index.prune();
    const since = now - 2 * DAY_MS;
    let kept = 0;
    for (let i = 0; i < 5000; i++) {
      const at = NOW - i * 60_000;
      expect(index.has(punch('gate', String(i % 50), at))).toBe(at >= since);
      if (at >= since) kept++;
    }
    expect(index.size).toBe(kept);
  });

  it('agrees with a plain set of keys over any run of claims and releases, growth included', () => {
    const operation = fc.record({
      release: fc.boolean(),
      terminal: fc.constantFrom('gate', 'door', 'lift'),
      pin: fc.integer({ min: 0, max: 10 }).map(String),
      // A small key space, so releases hit claimed keys and leave holes that probes must walk past.
      second: fc.integer({ min: 1_790_000_000, max: 1_790_000_060 }),
    });
    fc.assert(
      fc.property(fc.array(operation, { minLength: 1000, maxLength: 3000 }), (operations) => {
        const index = new DedupIndex(31, () => NOW);
        const model = new Set<string>();
        for (const op of operations) {
          const p = punch(op.terminal, op.pin, op.second * 1000);
          const key = `${op.terminal}|${op.pin}|${op.second}`;
          if (op.release) {
            index.release(p);
            model.delete(key);
          } else {
            expect(index.claim(p)).toBe(!model.has(key));
            model.add(key);
          }
          expect(index.size).toBe(model.size);
        }
        for (const key of model) {
          const [terminal, pin, second] = key.split('|') as [string, string, string];
          expect(index.has(punch(terminal, pin, Number(second) * 1000))).toBe(true);
        }
      }),
      { numRuns: 60, seed: 7 },
    );
  });
});
