/**
 * The one conversion between a UTC instant and a terminal's wall clock (a zone-less
 * `YYYY-MM-DDTHH:mm:ss`), for the pipeline, the drivers and the platform clients alike, so every
 * part reads and writes a terminal's time the same way. Always in a named zone, never the process's.
 */
import { DateTime } from 'luxon';

const WALL = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})$/;
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/**
 * A zone's UTC offset (minutes) per hour, asked of luxon once per zone and hour: a catch-up read of
 * 100,000 punches spans a few hundred hours, so conversion costs arithmetic, not a date library call.
 */
const offsetCache = new Map<string, number>();
const OFFSET_CACHE_LIMIT = 50_000;

function offsetMinutes(zone: string, utcMs: number): number {
  // A UTC day whose offset is the same at both ends is taken to have it all day (a zone changing
  // and changing back within one day is unheard of): a few luxon calls per day, not one per hour.
  const dayKey = `${zone}|d${Math.floor(utcMs / DAY_MS)}`;
  let offset = offsetCache.get(dayKey);
  if (offset !== undefined) return offset;
  const key = `${zone}|${Math.floor(utcMs / HOUR_MS)}`;
  offset = offsetCache.get(key);
  if (offset === undefined) {
    offset = zoneOffsetAt(zone, utcMs);
    const dayStart = Math.floor(utcMs / DAY_MS) * DAY_MS;
    if (offsetCache.size >= OFFSET_CACHE_LIMIT) offsetCache.clear();
    if (zoneOffsetAt(zone, dayStart) === offset && zoneOffsetAt(zone, dayStart + DAY_MS - 1) === offset)
      offsetCache.set(dayKey, offset);
    else offsetCache.set(key, offset);
  }
  return offset;
}

function zoneOffsetAt(zone: string, utcMs: number): number {
  const at = DateTime.fromMillis(utcMs, { zone });
  if (!at.isValid) throw new RangeError(`unknown time zone ${zone}: ${at.invalidExplanation}`);
  return at.offset;
}

/**
 * A zone's UTC offset in minutes at an instant (east positive: Asia/Shanghai is 480), asked of luxon
 * each time: for a device told "the server's zone" now and then, not for every punch. An unknown
 * zone gives NaN rather than an exception, as luxon does.
 */
export function zoneOffsetMinutes(utcMs: number, zone: string): number {
  return DateTime.fromMillis(utcMs, { zone }).offset;
}

/** Per zone and wall-clock hour (`2026-11-20T08`): the UTC instant of minute 0, or null near a DST change. */
const hourCache = new Map<string, number | null>();
let lastHour: { zone: string; prefix: string; start: number | null } = { zone: '', prefix: '', start: null };

/**
 * A terminal's zone-less wall time, read in the zone the terminal's clock is set to.
 * Never the process's zone: the box may run in UTC while the site is in Asia/Shanghai.
 * In a daylight-saving gap or overlap the earlier reading wins, as luxon decides.
 * Runs for every punch: after the first punch of an hour it is a map lookup and arithmetic.
 */
export function wallTimeToUtcMs(wall: string, zone: string): number {
  if (
    wall.length !== 19 ||
    wall.charCodeAt(10) !== 84 /* T */ ||
    wall.charCodeAt(13) !== 58 ||
    wall.charCodeAt(16) !== 58
  ) {
    return slowWallTimeToUtcMs(wall, zone);
  }
  const minute = twoDigits(wall, 14);
  const second = twoDigits(wall, 17);
  if (minute < 0 || minute > 59 || second < 0 || second > 59) return slowWallTimeToUtcMs(wall, zone);
  let hourStart: number | null | undefined;
  // Punches of a read come in time order: most share the previous one's hour, with no key to build.
  if (zone === lastHour.zone && wall.startsWith(lastHour.prefix)) hourStart = lastHour.start;
  else {
    const prefix = wall.slice(0, 13);
    const key = `${zone}|${prefix}`;
    hourStart = hourCache.get(key);
    if (hourStart === undefined) {
      hourStart = hourStartUtc(wall, zone);
      if (hourCache.size >= OFFSET_CACHE_LIMIT) hourCache.clear();
      hourCache.set(key, hourStart);
    }
    lastHour = { zone, prefix, start: hourStart };
  }
  if (hourStart === null) return slowWallTimeToUtcMs(wall, zone);
  return hourStart + minute * 60_000 + second * 1000;
}

function twoDigits(text: string, at: number): number {
  const tens = text.charCodeAt(at) - 48;
  const ones = text.charCodeAt(at + 1) - 48;
  return tens >= 0 && tens <= 9 && ones >= 0 && ones <= 9 ? tens * 10 + ones : -1;
}

/** The hour's start in UTC, or null when the zone's offset changes within that hour (then every punch goes the exact way). */
function hourStartUtc(wall: string, zone: string): number | null {
  const start = slowWallTimeToUtcMs(`${wall.slice(0, 13)}:00:00`, zone);
  const end = slowWallTimeToUtcMs(`${wall.slice(0, 13)}:59:59`, zone);
  return end - start === 3_599_000 ? start : null;
}

function slowWallTimeToUtcMs(wall: string, zone: string): number {
  const match = WALL.exec(wall);
  if (!match) throw new RangeError(`not a wall time (YYYY-MM-DDTHH:mm:ss): ${wall.slice(0, 40)}`);
  const [y, mo, d, h, mi, s] = match.slice(1).map(Number) as [number, number, number, number, number, number];
  const asUtc = Date.UTC(y, mo - 1, d, h, mi, s);
  const check = new Date(asUtc);
  if (
    y < 1970 ||
    check.getUTCMonth() !== mo - 1 ||
    check.getUTCDate() !== d ||
    check.getUTCHours() !== h ||
    check.getUTCMinutes() !== mi ||
    check.getUTCSeconds() !== s
  ) {
    throw new RangeError(`impossible wall time ${wall} in ${zone}`);
  }
  // The offset at the guessed instant, then once more at the corrected one (they differ only near a DST change).
  const first = asUtc - offsetMinutes(zone, asUtc) * 60_000;
  const second = asUtc - offsetMinutes(zone, first) * 60_000;
  if (first === second) return first;
  // Near a change: let luxon resolve the ambiguity exactly.
  return DateTime.fromISO(wall, { zone }).toMillis();
}

/**
 * The wall time an instant shows in a zone: `YYYY-MM-DDTHH:mm:ss`, or with a space between date and
 * time (`YYYY-MM-DD HH:mm:ss`, what the Sichuan platform wants) when `separator` is `' '`.
 */
export function utcMsToWall(utcMs: number, zone: string, separator: 'T' | ' ' = 'T'): string {
  return DateTime.fromMillis(utcMs, { zone }).toFormat(separator === 'T' ? WALL_FORMAT : SPACED_FORMAT);
}

const WALL_FORMAT = "yyyy-MM-dd'T'HH:mm:ss";
const SPACED_FORMAT = 'yyyy-MM-dd HH:mm:ss';

/**
 * A punch's time as the terminal told it (gateway/model.ts `PunchTime`: a wall time, or an instant
 * from a device that knows UTC), as a UTC instant. Typed by shape because lib/ imports nothing of the product.
 */
export function punchTimeToUtcMs(
  time: { readonly wall: string } | { readonly utcMs: number },
  zone: string,
): number {
  return 'wall' in time ? wallTimeToUtcMs(time.wall, zone) : time.utcMs;
}

/**
 * Seconds from wall time `b` to wall time `a`, both zone-less (a terminal's clock against the
 * gateway's reading of the same zone): pure calendar arithmetic, no zone involved.
 */
export function wallDiffSeconds(a: string, b: string): number {
  return Math.round((wallAsIfUtc(a) - wallAsIfUtc(b)) / 1000);
}

function wallAsIfUtc(wall: string): number {
  const match = WALL.exec(wall);
  if (!match) throw new RangeError(`not a wall time (YYYY-MM-DDTHH:mm:ss): ${wall.slice(0, 40)}`);
  const [y, mo, d, h, mi, s] = match.slice(1).map(Number) as [number, number, number, number, number, number];
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59)
    throw new RangeError(`wall time out of range: ${wall}`);
  return Date.UTC(y, mo - 1, d, h, mi, s);
}
