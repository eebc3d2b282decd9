/**
 * Every benchmark is a standalone script (`test/bench/<area>.bench.ts`) that ends by calling
 * `emitBench`, which prints one JSON line. `test/bench/run.ts` runs them all in turn and writes
 * bench-report.json and bench-report.md with each figure beside the goal an issue set for it.
 */
export interface BenchGoal {
  /** The figure's key in `figures`. */
  readonly figure: string;
  readonly op: '<=' | '>=';
  readonly target: number;
  /** Where the goal comes from, e.g. "issue 2". */
  readonly source: string;
}

export interface BenchResult {
  readonly bench: string;
  readonly figures: Readonly<Record<string, number | string>>;
  readonly goals: readonly BenchGoal[];
}

export const BENCH_MARKER = 'BENCH_RESULT ';

export function emitBench(result: BenchResult): void {
  process.stdout.write(`${BENCH_MARKER}${JSON.stringify(result)}\n`);
}

export function goalMet(goal: BenchGoal, figures: BenchResult['figures']): boolean | null {
  const value = figures[goal.figure];
  if (typeof value !== 'number') return null;
  return goal.op === '<=' ? value <= goal.target : value >= goal.target;
}

/** Peak resident set size of this process so far, in MB (from the kernel's high-water mark). */
export function peakRssMb(): number {
  return Math.round((process.resourceUsage().maxRSS / 1024) * 10) / 10;
}
