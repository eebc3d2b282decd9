import type { ClockSource, StateSlot } from '../../gateway/model';

/** Ignore Date-header estimates closer than this: the header only has whole seconds. */
const DATE_RESOLUTION_MS = 2000;

/**
 * The platform's clock minus ours. Every signed timestamp uses it, because the platform rejects
 * timestamps more than 5 minutes off (-3). Learned from each answer's `Date` header, kept durably
 * (docs/protocols/sichuan.md#timestamp).
 */
export class ClockOffset {
  private offsetMs = 0;

  constructor(
    private readonly clock: ClockSource,
    private readonly slot: StateSlot<number>,
  ) {}

  load(): void {
    const stored = this.slot.get();
    if (typeof stored === 'number' && Number.isFinite(stored)) this.offsetMs = stored;
  }

  get ms(): number {
    return this.offsetMs;
  }

  /** Platform time in whole seconds, as the `timestamp` parameter wants it. */
  timestamp(): string {
    return String(Math.floor((this.clock.now() + this.offsetMs) / 1000));
  }

  /**
   * Learns from a `Date` header. `force` (after a -3) adopts any estimate; otherwise only one that
   * moved by more than the header's resolution. Returns true when the offset changed.
   */
  async learn(dateMs: number, sentAtMs: number, receivedAtMs: number, force = false): Promise<boolean> {
    // The header is truncated to the second: its true instant is on average half a second later.
    const estimate = dateMs + 500 - (sentAtMs + receivedAtMs) / 2;
    if (!force && Math.abs(estimate - this.offsetMs) <= DATE_RESOLUTION_MS) return false;
    this.offsetMs = Math.round(estimate);
    await this.slot.set(this.offsetMs);
    return true;
  }
}
