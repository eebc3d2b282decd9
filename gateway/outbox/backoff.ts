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

/**
 * The pause before a platform is asked again. The configured first back-off is a promise to the
 * platform, so the jitter goes above it, never below: the n-th consecutive failure waits between
 * `initial·2^(n-1)` and `initial·2^n`. Past the cap it waits between half the maximum (but not less
 * than the first back-off) and the maximum, and never longer than the maximum.
 */
export function deliveryBackoff(
  failures: number,
  initialMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  const exponent = Math.min(Math.max(failures, 1), 31);
  const ceiling = Math.min(maxMs, initialMs * 2 ** exponent);
  const floor = Math.min(ceiling, Math.max(initialMs, ceiling / 2));
  return Math.round(floor + random() * (ceiling - floor));
}
