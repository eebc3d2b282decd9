/**
 * ZK time, ZKTeco's vendor time format: seconds in a calendar where every month has 31 days,
 * counted from 2000-01-01, in the terminal's zone-less wall clock. Kept as the wall string
 * `YYYY-MM-DDTHH:mm:ss`; the gateway's pipeline applies the site's zone, never the process's
 * (docs/protocols/zk.md#zk-time). Both terminal families speak it: the binary protocol
 * (adapters/zk) and ADMS (`SET OPTION DateTime=`, adapters/adms), so it lives here, shared.
 */
const WALL = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})$/;

export interface WallParts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

export function parseWall(wall: string): WallParts {
  const m = WALL.exec(wall);
  if (!m) throw new Error(`not a wall time "YYYY-MM-DDTHH:mm:ss": ${JSON.stringify(wall)}`);
  const [year, month, day, hour, minute, second] = m.slice(1).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59)
    throw new Error(`wall time out of range: ${wall}`);
  return { year, month, day, hour, minute, second };
}

export function formatWall(p: WallParts): string {
  const two = (n: number) => String(n).padStart(2, '0');
  return `${String(p.year).padStart(4, '0')}-${two(p.month)}-${two(p.day)}T${two(p.hour)}:${two(p.minute)}:${two(p.second)}`;
}

export function encodeZkTime(wall: string): number {
  const p = parseWall(wall);
  if (p.year < 2000 || p.year > 2099) throw new Error(`ZK time covers 2000–2099 only: ${wall}`);
  return (
    ((p.year % 100) * 12 * 31 + (p.month - 1) * 31 + p.day - 1) * 86_400 +
    (p.hour * 60 + p.minute) * 60 +
    p.second
  );
}

const TWO = Array.from({ length: 100 }, (_, i) => String(i).padStart(2, '0'));

/**
 * Every record of a download goes through here, and a log's records come in time order: the
 * "YYYY-MM-DDTHH:mm:" of the last minute decoded is kept, so most records cost one concatenation.
 */
let lastMinute = { minutes: -1, prefix: '' };

export function decodeZkTime(value: number): string {
  const t = value >>> 0;
  const minutes = Math.floor(t / 60);
  if (minutes !== lastMinute.minutes) lastMinute = { minutes, prefix: minutePrefix(minutes) };
  return lastMinute.prefix + TWO[t % 60];
}

function minutePrefix(minutes: number): string {
  let t = minutes;
  const minute = t % 60;
  t = Math.floor(t / 60);
  const hour = t % 24;
  t = Math.floor(t / 24);
  const day = (t % 31) + 1;
  t = Math.floor(t / 31);
  const month = (t % 12) + 1;
  const year = Math.floor(t / 12) + 2000;
  return `${year}-${TWO[month]}-${TWO[day]}T${TWO[hour]}:${TWO[minute]}:`;
}

/** The 6-byte form real-time events use: year-2000, month, day, hour, minute, second. */
export function encodeTimeHex(wall: string): Buffer {
  const p = parseWall(wall);
  return Buffer.from([p.year - 2000, p.month, p.day, p.hour, p.minute, p.second]);
}

export function decodeTimeHex(bytes: Uint8Array): string {
  if (bytes.length < 6) throw new Error(`event time needs 6 bytes, got ${bytes.length}`);
  // The length check above guarantees the six bytes; `?? 0` only satisfies the index type.
  const byte = (i: number): number => bytes[i] ?? 0;
  return formatWall({
    year: 2000 + byte(0),
    month: byte(1),
    day: byte(2),
    hour: byte(3),
    minute: byte(4),
    second: byte(5),
  });
}
