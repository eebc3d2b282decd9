import { DateTime } from 'luxon';
import { parseWall } from './time';

/** The wall time (`YYYY-MM-DDTHH:mm:ss`) an instant shows in a zone. */
export function wallAt(utcMs: number, zone: string): string {
  return DateTime.fromMillis(utcMs, { zone }).toFormat("yyyy-MM-dd'T'HH:mm:ss");
}

/** Seconds from wall time `b` to wall time `a`, both zone-less. */
export function wallDiffSeconds(a: string, b: string): number {
  const ms = (w: string) => {
    const p = parseWall(w);
    return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  };
  return Math.round((ms(a) - ms(b)) / 1000);
}
