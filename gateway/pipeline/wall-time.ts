import { DateTime } from 'luxon';
import type { PunchTime } from '../model';

const WALL = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})$/;

/**
 * A terminal's zone-less wall time, read in the zone the terminal's clock is set to.
 * Never the process's zone: the box may run in UTC while the site is in Asia/Shanghai.
 */
export function wallTimeToUtcMs(wall: string, zone: string): number {
  if (!WALL.test(wall)) throw new RangeError(`not a wall time (YYYY-MM-DDTHH:mm:ss): ${wall.slice(0, 40)}`);
  const parsed = DateTime.fromISO(wall, { zone });
  if (!parsed.isValid)
    throw new RangeError(`impossible wall time ${wall} in ${zone}: ${parsed.invalidExplanation}`);
  return parsed.toMillis();
}

export function utcMsToWallTime(utcMs: number, zone: string): string {
  return DateTime.fromMillis(utcMs, { zone }).toFormat("yyyy-MM-dd'T'HH:mm:ss");
}

export function punchTimeToUtcMs(time: PunchTime, zone: string): number {
  return 'wall' in time ? wallTimeToUtcMs(time.wall, zone) : time.utcMs;
}
