/**
 * Exponential back-off with jitter, so many gateways (or terminals, or reconcilers) coming back
 * after an outage do not knock the other side over again in lockstep.
 *
 * Two shapes, one formula:
 * - "equal jitter" (the default): the n-th consecutive failure waits between half and all of
 *   `initial·2^(n-1)`, capped at `max`. A first wait may be shorter than `initial`.
 * - `neverBelowInitial`: the configured first wait is a promise to a platform, so the jitter goes
 *   above it, never below: the n-th failure waits between `initial·2^(n-1)` and `initial·2^n`; past
 *   the cap, between half the maximum (but not less than `initial`) and the maximum.
 * Neither ever waits longer than `max`.
 */
export interface BackoffPolicy {
  readonly initialMs: number;
  readonly maxMs: number;
  readonly neverBelowInitial?: boolean;
  /** In [0, 1); injected so tests can pin the jitter. */
  readonly random?: () => number;
}

/** The wait after `failures` consecutive failures (1 for the first; 0 is taken as 1). */
export function backoffDelay(failures: number, policy: BackoffPolicy): number {
  const { initialMs, maxMs, neverBelowInitial = false, random = Math.random } = policy;
  // Capped at 2^31 so a long outage cannot overflow to Infinity before the cap applies.
  const exponent = Math.min(Math.max(failures - 1, 0), 30) + (neverBelowInitial ? 1 : 0);
  const ceiling = Math.min(maxMs, initialMs * 2 ** exponent);
  const floor = neverBelowInitial ? Math.min(ceiling, Math.max(initialMs, ceiling / 2)) : ceiling / 2;
  return Math.round(floor + random() * (ceiling - floor));
}

/** The same policy for a caller that keeps no failure count of its own (a platform client). */
export class Backoff {
  private failures = 0;

  constructor(private readonly policy: BackoffPolicy) {}

  /** The wait after one more failure. */
  next(): number {
    this.failures++;
    return backoffDelay(this.failures, this.policy);
  }

  reset(): void {
    this.failures = 0;
  }

  get attempts(): number {
    return this.failures;
  }
}
