/**
 * The handshake: `GET /iclock/cdata?SN=…&options=all` answered with `GET OPTION FROM: <SN>` and one
 * `Key=Value` per line. Stamps tell the device which records the server already has, so a device that
 * reconnects resends only newer ones. Each option: docs/protocols/adms.md#handshake.
 */

export interface HandshakeOptions {
  readonly stamps: Readonly<Record<string, string>>;
  /** Seconds between command polls. */
  readonly delay: number;
  /** Seconds to wait after a failed request. */
  readonly errorDelay: number;
  /** Hours east of UTC (the device's display zone); may be fractional on some firmware, sent rounded. */
  readonly timeZone: number;
}

/**
 * Tables whose stamps the handshake carries; a missing stamp is `None` (send everything). Only tables
 * the gateway keeps: attendance photos (ATTPHOTO) and fingerprint images (FPImag) are neither stamped
 * nor named in TransFlag, so the device does not send them (see docs/adms.md, "Attendance photos").
 */
export const STAMPED_TABLES = ['ATTLOG', 'OPERLOG', 'BIODATA'] as const;

/** What the device is asked to push, PUSH 2.x string form (tab-separated after `TransData `). */
export const TRANS_FLAGS = [
  'AttLog',
  'OpLog',
  'EnrollUser',
  'ChgUser',
  'EnrollFP',
  'ChgFP',
  'FACE',
  'UserPic',
  'BioPhoto',
] as const;

export function formatHandshake(sn: string, options: HandshakeOptions): string {
  const stamp = (table: string) => options.stamps[table] ?? 'None';
  return [
    `GET OPTION FROM: ${sn}`,
    ...STAMPED_TABLES.map((table) => `${table}Stamp=${stamp(table)}`),
    `ErrorDelay=${options.errorDelay}`,
    `Delay=${options.delay}`,
    'TransTimes=00:00;14:05',
    'TransInterval=1',
    `TransFlag=TransData ${TRANS_FLAGS.join('\t')}`,
    `TimeZone=${Math.round(options.timeZone)}`,
    'Realtime=1',
    'Encrypt=None',
    'ServerVer=2.4.1',
    'PushProtVer=2.4.1',
  ].join('\n');
}

export function parseHandshake(body: string): { sn: string; options: Map<string, string> } {
  const lines = body.split(/\r?\n/);
  const first = /^GET OPTION FROM:\s*(\S+)/.exec(lines[0] ?? '');
  if (!first) throw new Error(`not an ADMS handshake answer: ${body.slice(0, 60)}`);
  const options = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const at = line.indexOf('=');
    if (at > 0) options.set(line.slice(0, at), line.slice(at + 1));
  }
  return { sn: first[1] as string, options };
}

/** `/iclock/rtdata?type=time`: `DateTime=<ZK time>,ServerTZ=+0800`. */
export function formatRtTime(zkTime: number, offsetMinutes: number): string {
  const sign = offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(offsetMinutes);
  const hh = String(Math.floor(abs / 60)).padStart(2, '0');
  const mm = String(abs % 60).padStart(2, '0');
  return `DateTime=${zkTime},ServerTZ=${sign}${hh}${mm}`;
}
