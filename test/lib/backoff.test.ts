import { describe, expect, it } from 'vitest';
import { Backoff, backoffDelay } from '../../lib/backoff';

// Every expected number below is worked out by hand from the formulas in lib/backoff.ts's comment,
// with the jitter pinned: random 0 gives the floor of the range, random 1 its ceiling.

describe('backoffDelay, equal jitter (terminal supervisor, reconciler)', () => {
  const policy = (random: number) => ({ initialMs: 1000, maxMs: 60_000, random: () => random });

  it('waits between half and all of initial·2^(n-1), capped at the maximum', () => {
    expect(backoffDelay(1, policy(0))).toBe(500);
    expect(backoffDelay(1, policy(1))).toBe(1000);
    expect(backoffDelay(3, policy(0))).toBe(2000);
    expect(backoffDelay(3, policy(1))).toBe(4000);
    expect(backoffDelay(7, policy(1))).toBe(60_000); // 64 s capped
    expect(backoffDelay(7, policy(0))).toBe(30_000);
    // 0 failures counts as the first; a week-long outage does not overflow.
    expect(backoffDelay(0, policy(1))).toBe(1000);
    expect(backoffDelay(10_000, policy(0.5))).toBe(45_000);
  });
});

describe('backoffDelay, neverBelowInitial (outbox)', () => {
  const policy = (random: number) => ({
    initialMs: 1000,
    maxMs: 300_000,
    neverBelowInitial: true,
    random: () => random,
  });

  it('waits between initial·2^(n-1) and initial·2^n, never less than the first back-off', () => {
    expect(backoffDelay(1, policy(0))).toBe(1000);
    expect(backoffDelay(1, policy(1))).toBe(2000);
    expect(backoffDelay(2, policy(0))).toBe(2000);
    expect(backoffDelay(2, policy(1))).toBe(4000);
    expect(backoffDelay(40, policy(0))).toBe(150_000);
    expect(backoffDelay(40, policy(1))).toBe(300_000);
  });

  it('keeps the first back-off as the floor past the cap when it is above half the maximum', () => {
    const tight = { initialMs: 4000, maxMs: 6000, neverBelowInitial: true };
    expect(backoffDelay(5, { ...tight, random: () => 0 })).toBe(4000);
    // Equal jitter would go down to half the maximum there.
    expect(backoffDelay(5, { initialMs: 4000, maxMs: 6000, random: () => 0 })).toBe(3000);
    // A first back-off above the maximum: the maximum wins.
    expect(backoffDelay(1, { initialMs: 5000, maxMs: 3000, neverBelowInitial: true, random: () => 0 })).toBe(
      3000,
    );
  });
});

describe('Backoff (the Sichuan client, which counts its own failures)', () => {
  it('walks the equal-jitter sequence one failure at a time and starts over on reset', () => {
    const backoff = new Backoff({ initialMs: 1000, maxMs: 5000, random: () => 1 });
    expect([backoff.next(), backoff.next(), backoff.next(), backoff.next(), backoff.next()]).toEqual([
      1000, 2000, 4000, 5000, 5000,
    ]);
    expect(backoff.attempts).toBe(5);
    backoff.reset();
    expect(backoff.attempts).toBe(0);
    expect(backoff.next()).toBe(1000);
  });

  it('takes half the step as the fixed part', () => {
    const backoff = new Backoff({ initialMs: 1000, maxMs: 300_000, random: () => 0 });
    expect([backoff.next(), backoff.next(), backoff.next()]).toEqual([500, 1000, 2000]);
  });
});
