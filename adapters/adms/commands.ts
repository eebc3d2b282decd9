/**
 * Server → device commands (handed out by `GET /iclock/getrequest` as `C:<id>:<command>`) and the
 * device's results (`POST /iclock/devicecmd`, lines of `ID=<id>&Return=<code>&CMD=<word>`).
 * The server formats and the emulator parses with the same functions. The protocol:
 * docs/protocols/adms.md#commands and #results.
 */

import { type AdmsUser, clean, parseKeyValues } from './records';

export type QueryTable = 'USERINFO' | 'FINGERTMP' | 'BIOPHOTO';

/**
 * The two spellings of `DATA QUERY`. PUSH 2.x (attendance firmware): `DATA QUERY USERINFO [PIN=…]`.
 * PUSH 3.x (the "Security PUSH" firmware of newer face terminals): `DATA QUERY tablename=user,fielddesc=*,filter=*`;
 * such firmware may refuse the 2.x form with `Return=-1002`, and 2.x firmware does not know the 3.x one
 * (docs/protocols/adms.md#query-results).
 */
export type QueryForm = '2.x' | '3.x';

/** The PUSH 3.x table names: `templatev10` is the 2.x FINGERTMP; face templates would be `biodata`. */
export const QUERY_TABLE_3X: Readonly<Record<QueryTable, string>> = {
  USERINFO: 'user',
  FINGERTMP: 'templatev10',
  BIOPHOTO: 'biophoto',
};

export type AdmsCommand =
  | { readonly type: 'user-update'; readonly user: AdmsUser }
  | { readonly type: 'user-delete'; readonly pin: string }
  | { readonly type: 'fp-update'; readonly pin: string; readonly fid: number; readonly base64: string }
  | {
      readonly type: 'biodata-update';
      readonly pin: string;
      readonly bioType: number;
      readonly index: number;
      readonly majorVer: number;
      readonly base64: string;
    }
  /** A face photo (JPEG); `photoType` 9 is the visible-light face the SpeedFace line extracts from it. */
  | {
      readonly type: 'photo-update';
      readonly pin: string;
      readonly photoType: number;
      readonly base64: string;
    }
  | { readonly type: 'enroll-fp'; readonly pin: string; readonly fid: number }
  | { readonly type: 'enroll-bio'; readonly pin: string; readonly bioType: number }
  /** Wall time as ZK's compact integer (see zk-time.ts). */
  | { readonly type: 'set-time'; readonly zkTime: number }
  /** `form` absent is the 2.x form. */
  | { readonly type: 'query'; readonly table: QueryTable; readonly pin?: string; readonly form?: QueryForm }
  | { readonly type: 'check' }
  | { readonly type: 'raw'; readonly text: string };

export function formatCommand(command: AdmsCommand): string {
  switch (command.type) {
    case 'user-update': {
      const u = command.user;
      return `DATA UPDATE USERINFO PIN=${u.pin}\tName=${clean(u.name)}\tPri=${u.privilege}\tPasswd=${clean(u.password)}\tCard=${u.card || ''}\tGrp=${u.group}\tTZ=0000000000000000\tVerify=-1`;
    }
    case 'user-delete':
      return `DATA DELETE USERINFO PIN=${command.pin}`;
    case 'fp-update':
      return `DATA UPDATE FINGERTMP PIN=${command.pin}\tFID=${command.fid}\tSize=${command.base64.length}\tValid=1\tTMP=${command.base64}`;
    case 'biodata-update':
      return `DATA UPDATE BIODATA Pin=${command.pin}\tNo=${command.index}\tIndex=0\tValid=1\tDuress=0\tType=${command.bioType}\tMajorVer=${command.majorVer}\tMinorVer=0\tFormat=0\tTmp=${command.base64}`;
    case 'photo-update':
      return `DATA UPDATE BIOPHOTO PIN=${command.pin}\tType=${command.photoType}\tSize=${command.base64.length}\tContent=${command.base64}\tFormat=0\tUrl=\tPostBackTmpFlag=0`;
    case 'enroll-fp':
      return `ENROLL_FP PIN=${command.pin}\tFID=${command.fid}\tRETRY=3\tOVERWRITE=1`;
    case 'enroll-bio':
      return `ENROLL_BIO TYPE=${command.bioType}\tPIN=${command.pin}\tRETRY=3\tOVERWRITE=1`;
    case 'set-time':
      return `SET OPTION DateTime=${command.zkTime}`;
    case 'query':
      if (command.form === '3.x')
        return `DATA QUERY tablename=${QUERY_TABLE_3X[command.table]},fielddesc=*,filter=${command.pin === undefined ? '*' : `Pin=${command.pin}`}`;
      return command.pin === undefined
        ? `DATA QUERY ${command.table}`
        : `DATA QUERY ${command.table} PIN=${command.pin}`;
    case 'check':
      return 'CHECK';
    case 'raw':
      return clean(command.text);
  }
}

const num = (fields: Map<string, string>, key: string, fallback = 0): number => {
  const raw = (fields.get(key) ?? '').trim();
  return raw === '' || !/^-?\d+$/.test(raw) ? fallback : Number(raw);
};

/** What the emulator (a device) understands; anything else comes back as `raw`. */
export function parseCommand(text: string): AdmsCommand {
  const query3 = parseQuery3(text);
  if (query3) return query3;
  const m = /^(DATA (?:UPDATE|DELETE|QUERY) \w+|ENROLL_FP|ENROLL_BIO|SET OPTION|CHECK)\s*(.*)$/s.exec(text);
  if (!m) return { type: 'raw', text };
  const head = m[1] as string;
  const fields = parseKeyValues(m[2] ?? '');
  const pin = fields.get('pin') ?? '';
  const base64 = (key: string) => (fields.get(key) ?? '').trim();
  switch (head) {
    case 'DATA UPDATE USERINFO':
      return {
        type: 'user-update',
        user: {
          pin,
          name: fields.get('name') ?? '',
          privilege: num(fields, 'pri'),
          password: fields.get('passwd') ?? '',
          card: num(fields, 'card'),
          group: num(fields, 'grp', 1),
        },
      };
    case 'DATA DELETE USERINFO':
      return { type: 'user-delete', pin };
    case 'DATA UPDATE FINGERTMP':
      return { type: 'fp-update', pin, fid: num(fields, 'fid'), base64: base64('tmp') };
    case 'DATA UPDATE BIODATA':
      return {
        type: 'biodata-update',
        pin,
        bioType: num(fields, 'type'),
        index: num(fields, 'no'),
        majorVer: num(fields, 'majorver'),
        base64: base64('tmp'),
      };
    case 'DATA UPDATE BIOPHOTO':
      return { type: 'photo-update', pin, photoType: num(fields, 'type', 9), base64: base64('content') };
    case 'ENROLL_FP':
      return { type: 'enroll-fp', pin, fid: num(fields, 'fid') };
    case 'ENROLL_BIO':
      return { type: 'enroll-bio', pin, bioType: num(fields, 'type', 9) };
    case 'SET OPTION': {
      const zkTime = num(fields, 'datetime', -1);
      return zkTime >= 0 ? { type: 'set-time', zkTime } : { type: 'raw', text };
    }
    case 'CHECK':
      return { type: 'check' };
    default: {
      const query = /^DATA QUERY (USERINFO|FINGERTMP|BIOPHOTO)$/.exec(head);
      if (query)
        return {
          type: 'query',
          table: query[1] as QueryTable,
          ...(pin ? { pin } : {}),
        };
      return { type: 'raw', text };
    }
  }
}

const TABLE_OF_3X_NAME: ReadonlyMap<string, QueryTable> = new Map(
  Object.entries(QUERY_TABLE_3X).map(([table, name]) => [name, table as QueryTable]),
);

/**
 * `DATA QUERY tablename=<t>,fielddesc=<*|fields>,filter=<*|conditions>`. The filter's conditions are
 * separated by tabs in the published form (`Type=9<HT>Pin=1`, Security PUSH, docs/protocols/adms.md#sources);
 * some servers send tabs between the parts too.
 * A table this device does not keep is left to the caller as `raw` (answered -1002).
 */
function parseQuery3(text: string): AdmsCommand | undefined {
  const m = /^DATA QUERY\s+tablename=([^,\s]+)(?:[,\t]fielddesc=(.*?))?(?:[,\t]filter=(.*))?$/i.exec(text);
  if (!m) return undefined;
  const table = TABLE_OF_3X_NAME.get((m[1] as string).toLowerCase());
  if (!table) return { type: 'raw', text };
  let pin: string | undefined;
  for (const condition of (m[3] ?? '*').split(/[\t,]/)) {
    const at = condition.indexOf('=');
    if (at > 0 && condition.slice(0, at).trim().toLowerCase() === 'pin') pin = condition.slice(at + 1).trim();
  }
  return { type: 'query', table, ...(pin ? { pin } : {}), form: '3.x' };
}

/** The word a device echoes as `CMD=` in its result: `DATA`, `ENROLL_FP`, `SET`, … */
export function commandWord(text: string): string {
  const m = /^(\S+)/.exec(text);
  return m ? (m[1] as string) : '';
}

export interface QueuedLine {
  readonly id: string;
  readonly text: string;
}

export function formatCommandLines(commands: readonly QueuedLine[]): string {
  if (commands.length === 0) return 'OK';
  return commands.map((c) => `C:${c.id}:${c.text}`).join('\n');
}

/** A `getrequest` answer: `OK` (nothing to do) or lines of `C:<id>:<command>`. */
export function parseCommandLines(body: string): QueuedLine[] {
  const out: QueuedLine[] = [];
  for (const line of body.split(/\r?\n/)) {
    const m = /^C:([^:]+):(.*)$/s.exec(line);
    if (m) out.push({ id: m[1] as string, text: m[2] as string });
  }
  return out;
}

export interface CommandResult {
  readonly id: string;
  /** 0 (or, for a query, the number of records) is success; negative is a failure code. */
  readonly returnCode: number;
  readonly cmd: string;
}

export function formatResults(results: readonly CommandResult[]): string {
  return results.map((r) => `ID=${r.id}&Return=${r.returnCode}&CMD=${r.cmd}`).join('\n');
}

export function parseResults(body: string): { results: CommandResult[]; skipped: string[] } {
  const results: CommandResult[] = [];
  const skipped: string[] = [];
  for (const line of body.split(/\r?\n/)) {
    if (line.trim() === '') continue;
    const params = new URLSearchParams(line.trim());
    const id = params.get('ID');
    const code = params.get('Return');
    if (!id || code === null || !/^-?\d+$/.test(code.trim())) {
      skipped.push(line.slice(0, 60));
      continue;
    }
    results.push({ id, returnCode: Number(code), cmd: params.get('CMD') ?? '' });
  }
  return { results, skipped };
}
