import type { EventBus } from '../events';
import type { UnmatchedPin } from '../http/health';
import type { GatewayMetrics } from '../metrics';
import type {
  ClockSource,
  DriverKind,
  Logger,
  Punch,
  PunchDraft,
  PunchFlag,
  RawPunch,
  VerifyMethod,
} from '../model';
import type { PunchJournal } from '../store/journal';
import { type DedupIndex, punchKey } from './dedup-index';
import { directionOfState, verifyMethodOf } from './verify-codes';
import { punchTimeToUtcMs } from './wall-time';

/** What the pipeline needs to know of a terminal. */
export interface PipelineTerminal {
  readonly id: string;
  readonly kind: DriverKind;
  readonly direction: 'in' | 'out' | 'state';
  /** The zone its wall clock is set to. */
  readonly timezone: string;
}

/** Maps a terminal-local PIN back to the roster's worker. */
export interface PinResolver {
  resolve(terminalId: string, pin: string): { workerId: string; removed: boolean } | undefined;
}

export interface IngestResult {
  readonly journaled: readonly Punch[];
  readonly duplicates: number;
}

/** The method assumed when a terminal reports a verify code outside its family's table. */
const FALLBACK_METHOD: VerifyMethod = 'fp';

/**
 * Turns raw punches into normalized ones and journals them: PIN → worker, wall time → UTC,
 * verify code → method, terminal setting or punch state → direction, then de-duplication.
 * Nothing is dropped: an unknown PIN or an impossible time is journaled with a flag.
 */
/** How many distinct unmatched PINs are remembered for the alert (the punches themselves are all journaled). */
const UNMATCHED_MEMORY = 200;

export class PunchPipeline {
  private readonly unmatched = new Map<string, UnmatchedPin>();

  constructor(
    private readonly deps: {
      readonly journal: PunchJournal;
      readonly dedup: DedupIndex;
      readonly terminals: ReadonlyMap<string, PipelineTerminal>;
      readonly workers: PinResolver;
      readonly bus: EventBus;
      readonly clock: ClockSource;
      readonly logger: Logger;
      readonly metrics: GatewayMetrics;
    },
  ) {}

  /** Resolves once every new punch is durable; only then may a driver acknowledge or advance its cursor. */
  async ingest(raws: readonly RawPunch[]): Promise<IngestResult> {
    const drafts: PunchDraft[] = [];
    let duplicates = 0;
    for (const raw of raws) {
      const draft = this.normalize(raw);
      if (!this.deps.dedup.claim(draft.key, draft.atMs)) {
        duplicates++;
        this.deps.metrics.punchesDuplicate.inc({ terminal: raw.terminalId });
        continue;
      }
      drafts.push(draft);
    }
    let journaled: Punch[];
    try {
      journaled = await this.deps.journal.append(drafts);
    } catch (error) {
      for (const draft of drafts) this.deps.dedup.release(draft.key);
      throw error;
    }
    for (const punch of journaled) {
      if (punch.flags.includes('unmatched')) this.noteUnmatched(punch);
      this.deps.metrics.punchesJournaled.inc({ terminal: punch.terminalId });
      for (const flag of punch.flags)
        this.deps.metrics.punchesFlagged.inc({ terminal: punch.terminalId, flag });
    }
    this.deps.metrics.journalLastSeq.set(this.deps.journal.lastSeq);
    if (journaled.length > 0) this.deps.bus.emit('punches.journaled', journaled);
    return { journaled, duplicates };
  }

  /** PINs seen on punches that matched no worker, most recent last (for the health alert). */
  unmatchedPins(): UnmatchedPin[] {
    return [...this.unmatched.values()].filter(
      (u) => this.deps.workers.resolve(u.terminalId, u.pin) === undefined,
    );
  }

  private noteUnmatched(punch: Punch): void {
    const key = `${punch.terminalId}|${punch.pin}`;
    const before = this.unmatched.get(key);
    this.unmatched.delete(key);
    this.unmatched.set(key, {
      terminalId: punch.terminalId,
      pin: punch.pin,
      count: (before?.count ?? 0) + 1,
      lastAt: punch.receivedMs,
    });
    if (this.unmatched.size > UNMATCHED_MEMORY) this.unmatched.delete(this.unmatched.keys().next().value!);
  }

  normalize(raw: RawPunch): PunchDraft {
    const terminal = this.deps.terminals.get(raw.terminalId);
    const flags: PunchFlag[] = [];
    const receivedMs = this.deps.clock.now();
    const zone = terminal?.timezone ?? 'UTC';
    let atMs: number;
    try {
      atMs = punchTimeToUtcMs(raw.time, zone);
    } catch (error) {
      // Keep the punch: the worker was there; the terminal's clock is what is wrong.
      this.deps.logger.warn(
        { terminalId: raw.terminalId, pin: raw.pin, reason: (error as Error).message },
        'punch with an impossible time; journaled with the receive time',
      );
      atMs = Math.floor(receivedMs / 1000) * 1000;
      flags.push('clock_suspect');
    }
    const worker = this.deps.workers.resolve(raw.terminalId, raw.pin);
    if (!worker) flags.push('unmatched');
    else if (worker.removed) flags.push('removed_worker');
    let method = terminal ? verifyMethodOf(terminal.kind, raw.verifyCode) : undefined;
    if (!method) {
      method = FALLBACK_METHOD;
      flags.push('unknown_verify');
    }
    const direction =
      raw.direction ??
      (terminal === undefined || terminal.direction === 'state'
        ? directionOfState(raw.state)
        : terminal.direction);
    return {
      key: punchKey(raw.terminalId, raw.pin, atMs),
      terminalId: raw.terminalId,
      pin: raw.pin,
      workerId: worker?.workerId ?? null,
      direction,
      method,
      atMs,
      source: raw.source,
      flags,
      receivedMs,
    };
  }
}
