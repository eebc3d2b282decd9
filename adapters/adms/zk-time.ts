/**
 * ZKTeco's compact date-time integer, used by `SET OPTION DateTime=` and `/iclock/rtdata?type=time`:
 * `((yy*12*31 + (month-1)*31 + day-1) * 86400) + (h*60 + m)*60 + s`, a zone-less wall time.
 */

const WALL = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})$/;

export function encodeZkTime(wall: string): number {
  const m = WALL.exec(wall);
  if (!m) throw new RangeError(`not a wall time (YYYY-MM-DDTHH:mm:ss): ${wall.slice(0, 40)}`);
  const [year, month, day, hour, minute, second] = m.slice(1).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  return ((year % 100) * 12 * 31 + (month - 1) * 31 + day - 1) * 86_400 + (hour * 60 + minute) * 60 + second;
}

/** Two-digit years are read as 20yy, as the firmware does. */
export function decodeZkTime(value: number): string {
  if (!Number.isInteger(value) || value < 0) throw new RangeError(`not a ZK time: ${value}`);
  let rest = value;
  const second = rest % 60;
  rest = Math.floor(rest / 60);
  const minute = rest % 60;
  rest = Math.floor(rest / 60);
  const hour = rest % 24;
  rest = Math.floor(rest / 24);
  const day = (rest % 31) + 1;
  rest = Math.floor(rest / 31);
  const month = (rest % 12) + 1;
  const year = 2000 + Math.floor(rest / 12);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${year}-${two(month)}-${two(day)}T${two(hour)}:${two(minute)}:${two(second)}`;
}

/** `2024-03-05 08:01:02` (the wire form) ⇄ `2024-03-05T08:01:02` (the model's wall form). */
export function wireTimeToWall(text: string): string | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})$/.exec(text.trim());
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1).map(Number) as number[];
  const probe = new Date(Date.UTC(year as number, (month as number) - 1, day, hour, minute, second));
  // Rejects 2024-02-30 and 25:00:00, which Date would silently roll over.
  if (
    probe.getUTCFullYear() !== year ||
    probe.getUTCMonth() + 1 !== month ||
    probe.getUTCDate() !== day ||
    probe.getUTCHours() !== hour ||
    probe.getUTCMinutes() !== minute
  )
    return undefined;
  return `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}`;
}

export function wallToWireTime(wall: string): string {
  return wall.replace('T', ' ');
}
