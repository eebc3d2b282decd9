import type { EventBus } from '../events';
import type { Logger, Punch } from '../model';
import type { PunchJournal } from '../store/journal';
import { scanJournal } from '../store/journal-reader';
import { PunchIndex } from './punch-index';

const EARLY_LIMIT = 10_000;
const EARLY_WAIT_MS = 500;

/**
 * Builds the punch index with one scan of the journal and keeps it current from
 * 'punches.journaled'. Punches journaled during the scan are held back and added after it, in
 * order; the index drops anything it already has, so the overlap costs nothing.
 */
export class PunchIndexFeed {
  readonly index = new PunchIndex();
  private held: Punch[] | undefined = [];
  private unsubscribe: (() => void) | undefined;
  private building: Promise<void> | undefined;
  private readonly early = new Map<number, Punch>();
  private flushTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly deps: {
      readonly journal: PunchJournal;
      readonly bus: EventBus;
      readonly logger: Logger;
    },
  ) {}

  /** Resolves once the scan is done; queries may wait on `ready()`. */
  start(): Promise<void> {
    if (this.building) return this.building;
    this.unsubscribe = this.deps.bus.on('punches.journaled', (punches) => {
      if (this.held) this.held.push(...punches);
      else this.addLive(punches);
    });
    const started = Date.now();
    this.building = scanJournal(this.deps.journal, (punch) => this.index.add(punch)).then(
      () => {
        const held = this.held ?? [];
        this.held = undefined;
        this.addLive(held);
        this.deps.logger.info(
          { punches: this.index.size, ms: Date.now() - started },
          'punch index built from the journal',
        );
      },
      (error: unknown) => {
        this.addLive(this.held ?? []);
        this.held = undefined;
        this.deps.logger.error({ error: (error as Error).message }, 'punch index: journal scan failed');
      },
    );
    return this.building;
  }

  /**
   * Journal sequence numbers are contiguous, but two pipeline calls may announce their punches in
   * either order; a punch ahead of the next expected one waits briefly for the gap to fill.
   */
  private addLive(given: readonly Punch[]): void {
    let punches = given;
    // The usual case, punches arriving in order: straight into the index.
    if (this.early.size === 0) {
      let i = 0;
      while (i < punches.length && punches[i]!.seq === this.index.lastSeq + 1) this.index.add(punches[i++]!);
      if (i === punches.length) return;
      punches = punches.slice(i);
    }
    for (const punch of punches) if (punch.seq > this.index.lastSeq) this.early.set(punch.seq, punch);
    let next = this.early.get(this.index.lastSeq + 1);
    while (next) {
      this.early.delete(next.seq);
      this.index.add(next);
      next = this.early.get(this.index.lastSeq + 1);
    }
    // A gap that never fills (a corrupt line) must not hold punches back for long.
    if (this.early.size > EARLY_LIMIT || (this.early.size > 0 && this.index.size === 0)) this.flushEarly();
    else if (this.early.size > 0 && !this.flushTimer) {
      this.flushTimer = setTimeout(() => this.flushEarly(), EARLY_WAIT_MS);
      this.flushTimer.unref();
    }
  }

  private flushEarly(): void {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    const waiting = [...this.early.values()].sort((a, b) => a.seq - b.seq);
    this.early.clear();
    for (const punch of waiting) this.index.add(punch);
  }

  ready(): Promise<void> {
    return this.building ?? this.start();
  }

  get isReady(): boolean {
    return this.building !== undefined && this.held === undefined;
  }

  stop(): void {
    clearTimeout(this.flushTimer);
    this.unsubscribe?.();
  }
}
