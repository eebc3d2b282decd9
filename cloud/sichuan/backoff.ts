export interface BackoffOptions {
  readonly initialMs: number;
  readonly maxMs: number;
  readonly random: () => number;
}

/** Exponential backoff with "equal jitter": half the step fixed, half random, so retries spread out. */
export class Backoff {
  private failures = 0;

  constructor(private readonly options: BackoffOptions) {}

  next(): number {
    const step = Math.min(this.options.maxMs, this.options.initialMs * 2 ** Math.min(this.failures, 30));
    this.failures++;
    return Math.round(step / 2 + (this.options.random() * step) / 2);
  }

  reset(): void {
    this.failures = 0;
  }

  get attempts(): number {
    return this.failures;
  }
}
