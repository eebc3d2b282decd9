import { stat } from 'node:fs/promises';
import type { PunchJournal } from '../store/journal';
import { scanJournal } from '../store/journal-reader';

const DAY_MS = 86_400_000;

/** What makes two punches the same: terminal, PIN and UTC second. */
export interface PunchIdentity {
  readonly terminalId: string;
  readonly pin: string;
  readonly atMs: number;
}

/**
 * Recently journaled punches (terminal, PIN, UTC second), rebuilt from the journal at start, so a
 * punch read again after a restart, a reconnect or an ADMS resend is stored once. Bounded by a
 * time window: older re-reads are prevented by the drivers' cursors.
 *
 * Held as terminal → PIN → set of seconds rather than one map of "terminal|pin|second" strings: a
 * catch-up read claims 100,000 punches at a time, and hashing a fresh key string per punch into a
 * map that keeps growing cost ten times more (and kept 100,000 strings alive for the collector).
 */
export class DedupIndex {
  private readonly terminals = new Map<string, Map<string, Set<number>>>();
  private count = 0;

  constructor(
    private readonly windowDays: number,
    private readonly now: () => number,
  ) {}

  async load(journal: PunchJournal): Promise<void> {
    const since = this.now() - this.windowDays * DAY_MS;
    await scanJournal(
      journal,
      (punch) => {
        if (punch.atMs >= since) this.claim(punch);
      },
      async (segment) => ((await stat(segment.file).catch(() => null))?.mtimeMs ?? 0) >= since,
    );
  }

  has(punch: PunchIdentity): boolean {
    return this.terminals.get(punch.terminalId)?.get(punch.pin)?.has(secondOf(punch.atMs)) ?? false;
  }

  /** Claims a punch before the journal write, so two readers of the same punch cannot both store it. */
  claim(punch: PunchIdentity): boolean {
    let pins = this.terminals.get(punch.terminalId);
    if (!pins) {
      pins = new Map();
      this.terminals.set(punch.terminalId, pins);
    }
    let seconds = pins.get(punch.pin);
    if (!seconds) {
      seconds = new Set();
      pins.set(punch.pin, seconds);
    }
    const second = secondOf(punch.atMs);
    if (seconds.has(second)) return false;
    seconds.add(second);
    this.count++;
    return true;
  }

  release(punch: PunchIdentity): void {
    if (this.terminals.get(punch.terminalId)?.get(punch.pin)?.delete(secondOf(punch.atMs))) this.count--;
  }

  prune(): void {
    const since = secondOf(this.now() - this.windowDays * DAY_MS);
    for (const [terminalId, pins] of this.terminals) {
      for (const [pin, seconds] of pins) {
        for (const second of seconds) {
          if (second < since) {
            seconds.delete(second);
            this.count--;
          }
        }
        if (seconds.size === 0) pins.delete(pin);
      }
      if (pins.size === 0) this.terminals.delete(terminalId);
    }
  }

  get size(): number {
    return this.count;
  }
}

function secondOf(atMs: number): number {
  return Math.floor(atMs / 1000);
}

/** The journal's `key` field: the same identity as text. */
export function punchKey(terminalId: string, pin: string, atMs: number): string {
  return `${terminalId}|${pin}|${secondOf(atMs)}`;
}
