/** Misbehaviour the emulated platform can be told to show, changeable while it runs. */
export interface FaultPlan {
  /** Answer -4 once more than `max` signed requests arrive within `perMs` (per sn). */
  readonly rateLimit: { readonly max: number; readonly perMs: number } | null;
  /** Probability (0–1) of answering -99 to a request. */
  readonly serverErrorRate: number;
  /** Answer -99 to the next N requests. */
  readonly serverErrorNext: number;
  /** Probability (0–1) of answering HTTP 500. */
  readonly http500Rate: number;
  /** Answer HTTP 500 to the next N requests. */
  readonly http500Next: number;
  /** Delay before every answer, in ms. */
  readonly delayMs: number;
  /** The platform's clock runs this far ahead of true time (negative: behind); also shown in `Date`. */
  readonly clockSkewMs: number;
  /** The next N answers carrying a Content get one that does not decrypt. */
  readonly undecryptableContentNext: number;
  /** Limits the previous fault to one endpoint (`Online`, `GetTaskData`, …); null: any. */
  readonly undecryptableContentOn: string | null;
  /**
   * Send Content as plain JSON instead of an SM4 string, as the seed's examples do
   * (docs/protocols/sichuan.md#transport).
   */
  readonly plainJsonContent: boolean;
}

export const NO_FAULTS: FaultPlan = {
  rateLimit: null,
  serverErrorRate: 0,
  serverErrorNext: 0,
  http500Rate: 0,
  http500Next: 0,
  delayMs: 0,
  clockSkewMs: 0,
  undecryptableContentNext: 0,
  undecryptableContentOn: null,
  plainJsonContent: false,
};

export type InjectedFault = 'http500' | 'serverError' | null;

/** Decides, request by request, which injected fault (if any) applies. */
export class FaultInjector {
  plan: FaultPlan = NO_FAULTS;
  private readonly recent = new Map<string, number[]>();

  constructor(private readonly random: () => number) {}

  update(changes: Partial<FaultPlan>): FaultPlan {
    this.plan = { ...this.plan, ...changes };
    if (changes.rateLimit !== undefined) this.recent.clear();
    return this.plan;
  }

  /** Faults of the server itself, before the request is even read. */
  serverFault(): InjectedFault {
    const plan = this.plan;
    if (plan.http500Next > 0) {
      this.plan = { ...plan, http500Next: plan.http500Next - 1 };
      return 'http500';
    }
    if (plan.http500Rate > 0 && this.random() < plan.http500Rate) return 'http500';
    if (plan.serverErrorNext > 0) {
      this.plan = { ...plan, serverErrorNext: plan.serverErrorNext - 1 };
      return 'serverError';
    }
    if (plan.serverErrorRate > 0 && this.random() < plan.serverErrorRate) return 'serverError';
    return null;
  }

  /** True when this sn has gone over the rate limit (the request is counted either way). */
  overRate(sn: string, nowMs: number): boolean {
    const limit = this.plan.rateLimit;
    if (!limit) return false;
    const times = (this.recent.get(sn) ?? []).filter((t) => nowMs - t < limit.perMs);
    times.push(nowMs);
    this.recent.set(sn, times);
    return times.length > limit.max;
  }

  /** Consumes one "undecryptable Content" if armed. */
  takeUndecryptable(endpoint: string): boolean {
    if (this.plan.undecryptableContentNext <= 0) return false;
    if (this.plan.undecryptableContentOn !== null && this.plan.undecryptableContentOn !== endpoint)
      return false;
    this.plan = { ...this.plan, undecryptableContentNext: this.plan.undecryptableContentNext - 1 };
    return true;
  }
}
