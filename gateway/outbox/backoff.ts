/**
 * Exponential backoff with jitter: the n-th consecutive failure waits between half and all of
 * `initial·2^(n-1)`, capped, so many gateways coming back after a platform outage do not knock
 * it over again in lockstep.
 */
export function backoffDelay(
  failures: number,
  initialMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  const exponent = Math.min(Math.max(failures - 1, 0), 30);
  const ceiling = Math.min(maxMs, initialMs * 2 ** exponent);
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
