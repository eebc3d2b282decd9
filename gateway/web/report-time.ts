import { formatTime } from './time-format';

const HOUR_MS = 3_600_000;

/**
 * `formatTime` for the thousands of first-in and last-out times of a sheet: the zone's offset is
 * taken from `formatTime` once per UTC hour, and every time inside that hour is shifted by it
 * (`formatToParts` costs ≈ 7 µs a call: 60 ms for a day of 4,000 workers). An hour in which the
 * offset changes (a daylight-saving switch) is written by `formatTime` itself, time by time, so the
 * text is always the one format of time-format.ts.
 */
export function sheetTimeFormat(timezone: string): (ms: number | undefined) => string {
  const offsets = new Map<number, number | undefined>();
  const offsetAt = (hour: number): number | undefined => {
    if (offsets.has(hour)) return offsets.get(hour);
    const wall = (ms: number) => Date.parse(`${formatTime(ms, timezone).replace(' ', 'T')}Z`);
    const start = hour * HOUR_MS;
    const offset = wall(start) - start;
    // Only when the hour's last second has the same offset: no switch inside the hour.
    const same = wall(start + HOUR_MS - 1000) - (start + HOUR_MS - 1000) === offset;
    const kept = same && Number.isFinite(offset) ? offset : undefined;
    if (offsets.size > 1024) offsets.clear();
    offsets.set(hour, kept);
    return kept;
  };
  return (ms) => {
    if (ms === undefined || !Number.isFinite(ms)) return formatTime(ms, timezone);
    const offset = offsetAt(Math.floor(ms / HOUR_MS));
    if (offset === undefined) return formatTime(ms, timezone);
    return new Date(ms + offset).toISOString().slice(0, 19).replace('T', ' ');
  };
}
