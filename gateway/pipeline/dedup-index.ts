import { stat } from 'node:fs/promises';
import type { PunchJournal } from '../store/journal';
import { scanJournal } from '../store/journal-reader';

const DAY_MS = 86_400_000;

/**
 * Keys of recently journaled punches (terminal, PIN, UTC second), rebuilt from the journal at start,
 * so a punch read again after a restart, a reconnect or an ADMS resend is stored once.
 * Bounded by a time window: older re-reads are prevented by the drivers' cursors.
 */
export class DedupIndex {
  private readonly keys = new Map<string, number>();

  constructor(
    private readonly windowDays: number,
    private readonly now: () => number,
  ) {}

  async load(journal: PunchJournal): Promise<void> {
    const since = this.now() - this.windowDays * DAY_MS;
    await scanJournal(
      journal,
      (punch) => {
        if (punch.atMs >= since) this.keys.set(punch.key, punch.atMs);
      },
      async (segment) => ((await stat(segment.file).catch(() => null))?.mtimeMs ?? 0) >= since,
    );
  }

  has(key: string): boolean {
    return this.keys.has(key);
  }

  /** Claims a key before the journal write, so two readers of the same punch cannot both store it. */
  claim(key: string, atMs: number): boolean {
    if (this.keys.has(key)) return false;
    this.keys.set(key, atMs);
    return true;
  }

  release(key: string): void {
    this.keys.delete(key);
  }

  prune(): void {
    const since = this.now() - this.windowDays * DAY_MS;
    for (const [key, atMs] of this.keys) if (atMs < since) this.keys.delete(key);
  }

  get size(): number {
    return this.keys.size;
  }
}

export function punchKey(terminalId: string, pin: string, atMs: number): string {
  return `${terminalId}|${pin}|${Math.floor(atMs / 1000)}`;
}
