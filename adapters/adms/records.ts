/**
 * The bodies a device uploads to `POST /iclock/cdata`: ATTLOG punches as tab-separated columns,
 * and OPERLOG (or USERINFO/FINGERTMP/BIODATA/BIOPHOTO) records as `KIND key=value\tkey=value…`.
 * Parsing never throws on a bad line: the line is reported as skipped and the rest is kept.
 * The formats: docs/protocols/adms.md#attlog and #operlog.
 */

import { wallToWireTime, wireTimeToWall } from './zk-time';

/** One ATTLOG line: `PIN\tYYYY-MM-DD HH:mm:ss\tStatus\tVerify\tWorkcode\tReserved1\tReserved2[\t…]`. */
export interface AttlogRecord {
  readonly pin: string;
  /** Zone-less wall time, `YYYY-MM-DDTHH:mm:ss`. */
  readonly wall: string;
  readonly status: number;
  readonly verify: number;
  readonly workcode: string;
}

export interface SkippedLine {
  /** 1-based line number in the body. */
  readonly line: number;
  readonly reason: string;
  /** The start of the line, for the log (never a template's bytes). */
  readonly excerpt: string;
}

export interface AdmsUser {
  readonly pin: string;
  readonly name: string;
  readonly privilege: number;
  readonly password: string;
  /** Card number; 0 for none. */
  readonly card: number;
  readonly group: number;
}

/** A fingerprint (`FP`/FINGERTMP) or a BIODATA template; `data` is the base64 text as sent. */
export interface AdmsTemplate {
  readonly pin: string;
  /** BIODATA Type: 1 fingerprint, 2 face (near infrared), 9 visible-light face, … FP lines are 1. */
  readonly type: number;
  /** Finger index (FID / BIODATA No). */
  readonly index: number;
  readonly majorVer: number;
  readonly valid: boolean;
  readonly base64: string;
}

/** A BIOPHOTO or USERPIC upload: a photo (JPEG) as base64. */
export interface AdmsPhoto {
  readonly pin: string;
  readonly type: number;
  readonly base64: string;
}

export interface OperlogContent {
  readonly users: AdmsUser[];
  readonly templates: AdmsTemplate[];
  readonly photos: AdmsPhoto[];
  /** OPLOG lines (operations on the device's keypad); counted, not interpreted. */
  operations: number;
  readonly skipped: SkippedLine[];
}

const PIN = /^[A-Za-z0-9_-]{1,24}$/;
const INTEGER = /^-?\d+$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function lines(body: string): Array<{ text: string; line: number }> {
  return body
    .split(/\r?\n/)
    .map((text, i) => ({ text, line: i + 1 }))
    .filter((l) => l.text.trim() !== '');
}

function skip(line: number, reason: string, text: string): SkippedLine {
  return { line, reason, excerpt: text.slice(0, 60).replace(/(passwd=)[^\t]*/gi, '$1***') };
}

function optionalInt(text: string | undefined): number | undefined {
  const t = (text ?? '').trim();
  if (t === '') return 0;
  return INTEGER.test(t) ? Number(t) : undefined;
}

export function parseAttlog(body: string): { records: AttlogRecord[]; skipped: SkippedLine[] } {
  const records: AttlogRecord[] = [];
  const skipped: SkippedLine[] = [];
  for (const { text, line } of lines(body)) {
    const cols = text.split('\t');
    const pin = (cols[0] ?? '').trim();
    if (!PIN.test(pin)) {
      skipped.push(skip(line, 'bad PIN', text));
      continue;
    }
    const wall = wireTimeToWall(cols[1] ?? '');
    if (!wall) {
      skipped.push(skip(line, 'bad time', text));
      continue;
    }
    const status = optionalInt(cols[2]);
    const verify = optionalInt(cols[3]);
    if (status === undefined || verify === undefined) {
      skipped.push(skip(line, 'bad status or verify code', text));
      continue;
    }
    records.push({ pin, wall, status, verify, workcode: (cols[4] ?? '').trim() || '0' });
  }
  return { records, skipped };
}

export function formatAttlog(records: readonly AttlogRecord[]): string {
  return records
    .map((r) => [r.pin, wallToWireTime(r.wall), r.status, r.verify, r.workcode, 0, 0].join('\t'))
    .join('\n')
    .concat(records.length > 0 ? '\n' : '');
}

/**
 * `PIN=1\tName=Ann\tPri=0` → a map with lower-case keys (BIODATA writes `Pin`, USER writes `PIN`).
 * A value may itself hold `=` (base64 padding), so only the first `=` splits.
 */
export function parseKeyValues(text: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const field of text.split('\t')) {
    const at = field.indexOf('=');
    if (at <= 0) continue;
    map.set(field.slice(0, at).trim().toLowerCase(), field.slice(at + 1));
  }
  return map;
}

/**
 * Which record kind a line without its own prefix belongs to, by the upload's table: the cdata
 * `table=` of PUSH 2.x, or the querydata `tablename=` of PUSH 3.x (`user`, `templatev10`, …).
 */
const TABLE_KIND: Readonly<Record<string, string>> = {
  USERINFO: 'USER',
  USER: 'USER',
  FINGERTMP: 'FP',
  TEMPLATEV10: 'FP',
  BIODATA: 'BIODATA',
  BIOPHOTO: 'BIOPHOTO',
  USERPIC: 'USERPIC',
};

/**
 * Line prefixes, upper-cased: PUSH 2.x writes `USER PIN=…`, PUSH 3.x query results `user uid=…\tpin=…`
 * and `templatev10 …` for what 2.x calls FP.
 */
const KIND_OF_PREFIX: Readonly<Record<string, string>> = {
  USER: 'USER',
  FP: 'FP',
  TEMPLATEV10: 'FP',
  BIODATA: 'BIODATA',
  BIOPHOTO: 'BIOPHOTO',
  USERPIC: 'USERPIC',
  OPLOG: 'OPLOG',
  FACE: 'FACE',
};

export function parseOperlog(body: string, table = 'OPERLOG'): OperlogContent {
  const content: OperlogContent = { users: [], templates: [], photos: [], operations: 0, skipped: [] };
  for (const { text, line } of lines(body)) {
    const space = text.indexOf(' ');
    const head = space > 0 ? text.slice(0, space) : '';
    const prefixKind = KIND_OF_PREFIX[head.toUpperCase()];
    let kind: string | undefined;
    let rest = text;
    if (prefixKind) {
      kind = prefixKind;
      rest = text.slice(space + 1);
    } else {
      kind = TABLE_KIND[table.toUpperCase()];
    }
    if (!kind) {
      content.skipped.push(skip(line, 'unknown record kind', text));
      continue;
    }
    if (kind === 'OPLOG') {
      content.operations++;
      continue;
    }
    const fields = parseKeyValues(rest);
    const pin = (fields.get('pin') ?? '').trim();
    if (!PIN.test(pin)) {
      content.skipped.push(skip(line, 'bad PIN', text));
      continue;
    }
    const problem = addRecord(content, kind, pin, fields);
    if (problem) content.skipped.push(skip(line, problem, text));
  }
  return content;
}

const FIELD_ALIASES: ReadonlyArray<readonly [string, string]> = [
  ['privilege', 'pri'],
  ['password', 'passwd'],
  ['cardno', 'card'],
  ['group', 'grp'],
  ['fingerid', 'fid'],
  ['template', 'tmp'],
];

function addRecord(
  content: OperlogContent,
  kind: string,
  pin: string,
  fields: Map<string, string>,
): string | undefined {
  const int = (key: string, fallback = 0) => {
    const raw = (fields.get(key) ?? '').trim();
    if (raw === '') return fallback;
    return INTEGER.test(raw) ? Number(raw) : Number.NaN;
  };
  const base64 = (key: string) => (fields.get(key) ?? '').trim();
  // PUSH 3.x query results spell the 2.x fields out: privilege, password, cardno, group, fingerid, template.
  for (const [alias, key] of FIELD_ALIASES) {
    const value = fields.get(alias);
    if (value !== undefined && !fields.has(key)) fields.set(key, value);
  }
  if (kind === 'USER') {
    const user: AdmsUser = {
      pin,
      name: fields.get('name') ?? '',
      privilege: int('pri'),
      password: fields.get('passwd') ?? '',
      card: cardOf(fields.get('card')),
      group: int('grp', 1),
    };
    if (Number.isNaN(user.privilege) || Number.isNaN(user.card) || Number.isNaN(user.group))
      return 'bad number in USER';
    content.users.push(user);
    return undefined;
  }
  if (kind === 'FP' || kind === 'BIODATA' || kind === 'FACE') {
    const fp = kind === 'FP';
    const tmp = base64('tmp');
    const template: AdmsTemplate = {
      pin,
      type: fp ? 1 : kind === 'FACE' ? 2 : int('type'),
      index: fp || kind === 'FACE' ? int('fid') : int('no'),
      majorVer: fp ? 10 : int('majorver', 0),
      valid: int('valid', 1) !== 0,
      base64: tmp,
    };
    if (Number.isNaN(template.type) || Number.isNaN(template.index) || Number.isNaN(template.majorVer))
      return `bad number in ${kind}`;
    if (tmp === '' || !BASE64.test(tmp)) return `${kind} template is not base64`;
    content.templates.push(template);
    return undefined;
  }
  // BIOPHOTO and USERPIC.
  const photo = base64('content');
  if (photo === '' || !BASE64.test(photo)) return `${kind} content is not base64`;
  const type = kind === 'USERPIC' ? 0 : int('type', 9);
  if (Number.isNaN(type)) return `bad number in ${kind}`;
  content.photos.push({ pin, type, base64: photo });
  return undefined;
}

/**
 * Card numbers arrive as decimal, or on some firmware as `[hex bytes]`; both become the u32.
 * Empty means none.
 */
function cardOf(text: string | undefined): number {
  const t = (text ?? '').trim();
  if (t === '') return 0;
  if (/^\d+$/.test(t)) return Number(t);
  const bracket = /^\[([0-9A-Fa-f]{2})([0-9A-Fa-f]{2})([0-9A-Fa-f]{2})([0-9A-Fa-f]{2})[0-9A-Fa-f]*\]$/.exec(
    t,
  );
  if (bracket) return Buffer.from(bracket.slice(1, 5).join(''), 'hex').readUInt32LE(0);
  return Number.NaN;
}

/** No tab or line break may reach a value: it would split the record (or a command) in two. */
export function clean(value: string): string {
  return value.replace(/[\t\r\n]+/g, ' ');
}

export function formatUserRecord(user: AdmsUser): string {
  return `USER PIN=${user.pin}\tName=${clean(user.name)}\tPri=${user.privilege}\tPasswd=${clean(user.password)}\tCard=${user.card || ''}\tGrp=${user.group}\tTZ=0000000000000000\tVerify=0`;
}

export function formatTemplateRecord(template: AdmsTemplate): string {
  if (template.type === 1 && template.majorVer === 10)
    return `FP PIN=${template.pin}\tFID=${template.index}\tSize=${template.base64.length}\tValid=${template.valid ? 1 : 0}\tTMP=${template.base64}`;
  return `BIODATA Pin=${template.pin}\tNo=${template.index}\tIndex=0\tValid=${template.valid ? 1 : 0}\tDuress=0\tType=${template.type}\tMajorVer=${template.majorVer}\tMinorVer=0\tFormat=0\tTmp=${template.base64}`;
}

export function formatPhotoRecord(photo: AdmsPhoto): string {
  return `BIOPHOTO PIN=${photo.pin}\tFileName=${photo.pin}.jpg\tType=${photo.type}\tSize=${photo.base64.length}\tContent=${photo.base64}`;
}

/**
 * PUSH 3.x devices answer a `DATA QUERY` with `POST /iclock/querydata?type=tabledata&cmdid=N&tablename=user
 * &count=K&packcnt=P&packidx=I`. Firmware varies: `type` may come twice, `table=` may stand for
 * `tablename=`, and some put the table in `type` itself (`type=user`). `type=options` or `type=count`
 * answer other queries and carry no records (docs/protocols/adms.md#query-results).
 */
export function queryDataTable(params: {
  readonly types: readonly string[];
  readonly tablename?: string | undefined;
  readonly table?: string | undefined;
}): { readonly tableData: boolean; readonly table: string | undefined } {
  const types = params.types.map((t) => t.trim().toLowerCase()).filter((t) => t !== '');
  const named = (params.tablename ?? params.table ?? '').trim();
  if (types.some((t) => t === 'options' || t === 'count') && named === '')
    return { tableData: false, table: undefined };
  const fromType = types.find((t) => t !== 'tabledata');
  const table = named || fromType;
  return { tableData: true, table: table && /^[A-Za-z0-9_]{1,32}$/.test(table) ? table : undefined };
}

/** A user as PUSH 3.x firmware writes it in a query result (`tablename=user`). */
export function formatQueryUserRecord(user: AdmsUser, uid: number): string {
  return `user uid=${uid}\tcardno=${user.card || ''}\tpin=${user.pin}\tpassword=${clean(user.password)}\tgroup=${user.group}\tstarttime=0\tendtime=0\tname=${clean(user.name)}\tprivilege=${user.privilege}\tdisable=0\tverify=0`;
}

/** A fingerprint 10 as `templatev10`, any other template as `biodata` (PUSH 3.x query results). */
export function formatQueryTemplateRecord(template: AdmsTemplate, uid: number): string {
  if (template.type === 1 && template.majorVer === 10)
    return `templatev10 size=${template.base64.length}\tuid=${uid}\tpin=${template.pin}\tfingerid=${template.index}\tvalid=${template.valid ? 1 : 0}\ttemplate=${template.base64}`;
  return `biodata pin=${template.pin}\tno=${template.index}\tindex=0\tvalid=${template.valid ? 1 : 0}\tduress=0\ttype=${template.type}\tmajorver=${template.majorVer}\tminorver=0\tformat=0\ttmp=${template.base64}`;
}

export function formatQueryPhotoRecord(photo: AdmsPhoto): string {
  return `biophoto pin=${photo.pin}\tfilename=${photo.pin}.jpg\ttype=${photo.type}\tsize=${photo.base64.length}\tcontent=${photo.base64}`;
}
