import { punchTimeToUtcMs } from '../../lib/wall-clock';
import type { EventBus } from '../events';
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

/** Punches from a PIN no worker holds on that terminal, for the health alert (the punches are journaled all the same). */
export interface UnmatchedPin {
  readonly terminalId: string;
  readonly pin: string;
  readonly count: number;
  readonly lastAt: number;
}

export interface IngestResult {
  readonly journaled: readonly Punch[];
  readonly duplicates: number;
}

const CLOCK_SUSPECT = 1;
const UNMATCHED = 2;
const REMOVED_WORKER = 4;
const UNKNOWN_VERIFY = 8;

/**
 * Flag lists by bit set, built once and frozen: a catch-up read of 100,000 punches from a terminal
 * nobody is enrolled on would otherwise allocate 100,000 identical arrays. Order as they are found.
 */
const FLAG_SETS: readonly (readonly PunchFlag[])[] = Array.from({ length: 16 }, (_, bits) => {
  const flags: PunchFlag[] = [];
  if (bits & CLOCK_SUSPECT) flags.push('clock_suspect');
  if (bits & UNMATCHED) flags.push('unmatched');
  if (bits & REMOVED_WORKER) flags.push('removed_worker');
  if (bits & UNKNOWN_VERIFY) flags.push('unknown_verify');
  return Object.freeze(flags);
});

function flagSet(bits: number): readonly PunchFlag[] {
  return FLAG_SETS[bits] as readonly PunchFlag[];
}

/** The method assumed when a terminal reports a verify code outside its family's table. */
const FALLBACK_METHOD: VerifyMethod = 'fp';

type UnmatchedEntry = { -readonly [K in keyof UnmatchedPin]: UnmatchedPin[K] };

/**
 * How many distinct unmatched PINs are remembered for the alert (the punches themselves are all
 * journaled). A bound against hostile input, above any site's head count: a terminal whose whole
 * crew is not on the roster yet must not evict and re-add an entry for every punch of a catch-up.
 */
const UNMATCHED_MEMORY = 2000;

/** The journal could not store punches; nothing was acknowledged to the terminal. */
export class JournalUnavailableError extends Error {
  constructor(override readonly cause: Error) {
    super(`journal unavailable: ${cause.message}`);
    this.name = 'JournalUnavailableError';
  }
}

/**
 * Turns raw punches into normalized ones and journals them: PIN → worker, wall time → UTC,
 * verify code → method, terminal setting or punch state → direction, then de-duplication.
 * Nothing is dropped: an unknown PIN or an impossible time is journaled with a flag.
 */
export class PunchPipeline {
  /** Unmatched PINs by terminal, then PIN, each map in the order first seen (so the oldest goes first). */
  private readonly unmatched = new Map<string, Map<string, UnmatchedEntry>>();
  private unmatchedCount = 0;
  private readonly held = new Map<string, PunchDraft>();
  private journalError: { message: string; since: number } | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly maxHeld: number;
  private readonly retryHeldMs: number;
  /** Journal writes of claimed punches that have not resolved yet. */
  private readonly writing = new Set<Promise<Punch[]>>();

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
      /** Most punches kept in memory while the journal refuses writes (default 50,000). */
      readonly maxHeldPunches?: number;
      readonly retryHeldMs?: number;
    },
  ) {
    this.maxHeld = deps.maxHeldPunches ?? 50_000;
    this.retryHeldMs = deps.retryHeldMs ?? 2000;
  }

  /** Resolves once every new punch is durable; only then may a driver acknowledge or advance its cursor. */
  async ingest(raws: readonly RawPunch[]): Promise<IngestResult> {
    const drafts: PunchDraft[] = [];
    let duplicates = 0;
    // One receive time per call: the punches of one call arrived together.
    const receivedMs = this.deps.clock.now();
    for (const raw of raws) {
      const draft = this.normalize(raw, receivedMs);
      if (!this.deps.dedup.claim(draft)) {
        duplicates++;
        this.deps.metrics.punchesDuplicate.inc({ terminal: raw.terminalId });
        continue;
      }
      drafts.push(draft);
    }
    // A duplicate may be a punch another reader claimed whose write is not durable yet: a catch-up
    // read finding what the real-time path took a moment ago, an ADMS resend. The caller moves a
    // cursor or acknowledges once this resolves, so it waits for those writes too; the ones that
    // could own a duplicate all started before its claim failed, so they are among these.
    const earlier = duplicates > 0 && this.writing.size > 0 ? [...this.writing] : undefined;
    let journaled: Punch[];
    try {
      journaled = await this.track(this.deps.journal.append(drafts));
      this.journalError = undefined;
    } catch (error) {
      for (const draft of drafts) this.deps.dedup.release(draft);
      this.hold(drafts, error as Error);
      throw new JournalUnavailableError(error as Error);
    }
    this.published(journaled);
    if (earlier) {
      const failed = (await Promise.allSettled(earlier)).find((o) => o.status === 'rejected');
      // That write's punches were released and held: not durable, so nothing may be acknowledged.
      if (failed) throw new JournalUnavailableError(failed.reason as Error);
    }
    return { journaled, duplicates };
  }

  private track(write: Promise<Punch[]>): Promise<Punch[]> {
    this.writing.add(write);
    const settled = () => this.writing.delete(write);
    write.then(settled, settled);
    return write;
  }

  /** Why the journal refused the last write (disk full, read-only), until a write succeeds again. */
  journalProblem(): { message: string; since: number; held: number } | undefined {
    return this.journalError && { ...this.journalError, held: this.held.size };
  }

  stop(): void {
    if (this.retryTimer) clearInterval(this.retryTimer);
    this.retryTimer = undefined;
  }

  /**
   * Keeps punches the journal refused in memory (bounded) and retries them, so they are stored the
   * moment space returns. The terminals' cursors did not move, so their logs still hold every one
   * of them: the copy here only saves waiting for the next read, and a crash loses nothing.
   */
  private hold(drafts: readonly PunchDraft[], error: Error): void {
    const now = this.deps.clock.now();
    if (!this.journalError) {
      this.deps.logger.error(
        { error: error.message },
        'journal write failed: punches stay in the terminals and in memory until it works again',
      );
    }
    this.journalError = { message: error.message, since: this.journalError?.since ?? now };
    for (const draft of drafts) {
      if (this.held.size >= this.maxHeld) break;
      this.held.set(draft.key, draft);
    }
    if (!this.retryTimer) {
      this.retryTimer = setInterval(() => void this.retryHeld(), this.retryHeldMs);
      this.retryTimer.unref();
    }
  }

  private async retryHeld(): Promise<void> {
    const drafts = [...this.held.values()].filter((d) => this.deps.dedup.claim(d));
    try {
      const journaled = await this.track(this.deps.journal.append(drafts));
      this.held.clear();
      this.journalError = undefined;
      clearInterval(this.retryTimer);
      this.retryTimer = undefined;
      this.deps.logger.info({ punches: journaled.length }, 'journal writable again; held punches stored');
      this.published(journaled);
    } catch (error) {
      for (const draft of drafts) this.deps.dedup.release(draft);
      if (this.journalError) this.journalError.message = (error as Error).message;
    }
  }

  private published(journaled: readonly Punch[]): void {
    // Counted per terminal and flag, then added once: a catch-up read can bring 100,000 at a time.
    // No string is built per punch: a batch's punches mostly share one terminal.
    const perTerminal = new Map<string, { count: number; flags: Map<PunchFlag, number> }>();
    let terminalId: string | undefined;
    let counts: { count: number; flags: Map<PunchFlag, number> } | undefined;
    for (const punch of journaled) {
      if (punch.terminalId !== terminalId || !counts) {
        terminalId = punch.terminalId;
        counts = perTerminal.get(terminalId);
        if (!counts) {
          counts = { count: 0, flags: new Map() };
          perTerminal.set(terminalId, counts);
        }
      }
      counts.count++;
      // An index loop: for-of over a frozen flag list allocates an iterator result a step.
      const flags = punch.flags;
      for (let i = 0; i < flags.length; i++) {
        const flag = flags[i] as PunchFlag;
        counts.flags.set(flag, (counts.flags.get(flag) ?? 0) + 1);
        if (flag === 'unmatched') this.noteUnmatched(punch);
      }
    }
    for (const [terminal, { count }] of perTerminal)
      this.deps.metrics.punchesJournaled.inc({ terminal }, count);
    for (const [terminal, { flags }] of perTerminal)
      for (const [flag, count] of flags) this.deps.metrics.punchesFlagged.inc({ terminal, flag }, count);
    this.deps.metrics.journalLastSeq.set(this.deps.journal.lastSeq);
    if (journaled.length > 0) this.deps.bus.emit('punches.journaled', journaled);
  }

  /** PINs seen on punches that matched no worker, most recent last (for the health alert). */
  unmatchedPins(): UnmatchedPin[] {
    return [...this.unmatched.values()]
      .flatMap((pins) => [...pins.values()])
      .filter((u) => this.deps.workers.resolve(u.terminalId, u.pin) === undefined);
  }

  /** Runs for every unmatched punch (a whole catch-up read, before the roster arrives): no key string is built. */
  private noteUnmatched(punch: Punch): void {
    let pins = this.unmatched.get(punch.terminalId);
    const known = pins?.get(punch.pin);
    if (known) {
      known.count++;
      known.lastAt = punch.receivedMs;
      return;
    }
    if (!pins) {
      pins = new Map();
      this.unmatched.set(punch.terminalId, pins);
    }
    pins.set(punch.pin, { terminalId: punch.terminalId, pin: punch.pin, count: 1, lastAt: punch.receivedMs });
    if (++this.unmatchedCount > UNMATCHED_MEMORY) {
      // The oldest PIN of the terminal first seen.
      const [terminalId, first] = this.unmatched.entries().next().value!;
      first.delete(first.keys().next().value!);
      if (first.size === 0) this.unmatched.delete(terminalId);
      this.unmatchedCount--;
    }
  }

  normalize(raw: RawPunch, receivedMs = this.deps.clock.now()): PunchDraft {
    const terminal = this.deps.terminals.get(raw.terminalId);
    let flagBits = 0;
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
      flagBits |= CLOCK_SUSPECT;
    }
    const worker = this.deps.workers.resolve(raw.terminalId, raw.pin);
    if (!worker) flagBits |= UNMATCHED;
    else if (worker.removed) flagBits |= REMOVED_WORKER;
    let method = terminal ? verifyMethodOf(terminal.kind, raw.verifyCode) : undefined;
    if (!method) {
      method = FALLBACK_METHOD;
      flagBits |= UNKNOWN_VERIFY;
    }
    const direction =
      raw.direction ??
      (terminal === undefined || terminal.direction === 'state'
        ? directionOfState(raw.state)
        : terminal.direction);
    // Built with the journal's `seq` slot already in place (0 until it is appended): giving every
    // draft a new property at append time would grow each object's property store.
    const draft: Punch = {
      key: punchKey(raw.terminalId, raw.pin, atMs),
      terminalId: raw.terminalId,
      pin: raw.pin,
      workerId: worker?.workerId ?? null,
      direction,
      method,
      atMs,
      source: raw.source,
      flags: flagSet(flagBits),
      receivedMs,
      seq: 0,
    };
    return draft;
  }
}
