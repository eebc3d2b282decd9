import type { PunchDraft } from '../../gateway/model';

/** A normalized punch draft for store and outbox tests. */
export function draft(key: string, overrides: Partial<PunchDraft> = {}): PunchDraft {
  return {
    key,
    terminalId: 't1',
    pin: '1',
    workerId: 'w1',
    direction: 'in',
    method: 'fp',
    atMs: 1_700_000_000_000,
    source: 'poll',
    flags: [],
    receivedMs: 1_700_000_000_000,
    ...overrides,
  };
}

export function drafts(prefix: string, count: number): PunchDraft[] {
  return Array.from({ length: count }, (_, i) => draft(`${prefix}-${i}`, { pin: String(i) }));
}
