import { describe, expect, it } from 'vitest';
import { systemClock } from '../../lib/clock';

describe('lib/clock', () => {
  it('is the real time', () => {
    const before = Date.now();
    const now = systemClock.now();
    expect(now).toBeGreaterThanOrEqual(before);
    expect(now).toBeLessThanOrEqual(Date.now());
  });
});
