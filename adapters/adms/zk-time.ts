/**
 * ZKTeco's compact date-time integer, used by `SET OPTION DateTime=` and `/iclock/rtdata?type=time`:
 * `((yy*12*31 + (month-1)*31 + day-1) * 86400) + (h*60 + m)*60 + s`, a zone-less wall time
 * (docs/protocols/adms.md#time).
 */

// One ZK time codec for the family: the binary protocol's, reused here.
export { decodeZkTime, encodeZkTime } from '../../lib/zk-time';

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
