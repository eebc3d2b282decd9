import type { AlertFacts } from '../http/health';
import type { Lang } from './i18n';
import { joinWords, platformName } from './words';

/**
 * Something said to a person: `text` in their language, and `raw`, the words a peer gave (an error
 * message, a platform's note), shown beside it as they came, for whoever fixes the problem. The
 * page marks `raw` as data (`translate="no"`).
 */
export interface Said {
  readonly text: string;
  readonly raw?: string;
}

/** Alerts only the page raises: they need the page's own knowledge (tolerances, today's index). */
export type PageAlertFacts =
  | {
      readonly code: 'clockBeyondTolerance';
      readonly terminalId: string;
      readonly seconds: number;
      readonly tolerance: number;
    }
  | { readonly code: 'usersFull'; readonly terminalId: string; readonly users: number; readonly max: number }
  | {
      readonly code: 'unmatchedToday';
      readonly pins: ReadonlyArray<{ readonly pin: string; readonly count: number }>;
      readonly more: boolean;
    };

export type ShownAlertFacts = AlertFacts | PageAlertFacts;

/** English and Chinese of a text with `{name}` places. */
type Phrase = readonly [en: string, zh: string];

function fill(lang: Lang, phrase: Phrase, values: Readonly<Record<string, string | number>> = {}): string {
  return phrase[lang === 'en' ? 0 : 1].replace(/\{(\w+)\}/g, (whole, name: string) =>
    Object.hasOwn(values, name) ? String(values[name]) : whole,
  );
}

const P = {
  terminalOffline: ['Terminal {terminal} is offline', '终端 {terminal} 离线'],
  terminalFull: [
    'Terminal {terminal} is full: not every worker fits',
    '终端 {terminal} 已满：部分人员无法下发',
  ],
  ringOverflow: [
    'Terminal {terminal}: {n} punch(es) lost on the device since start (its record buffer overflowed)',
    '终端 {terminal}：启动以来设备缓冲溢出，丢失 {n} 条记录',
  ],
  deviceReset: [
    'Terminal {terminal}: the device reset {n} time(s) since start',
    '终端 {terminal}：启动以来设备重置 {n} 次',
  ],
  deviceResetLost: [
    'Terminal {terminal}: the device reset {n} time(s) since start; {lost} punch(es) lost in a reset during a read',
    '终端 {terminal}：启动以来设备重置 {n} 次，读取中重置丢失 {lost} 条记录',
  ],
  terminalSays: ['Terminal {terminal} reports a problem', '终端 {terminal} 报告问题'],
  terminalClock: ['Terminal {terminal}: clock off by {n} s', '终端 {terminal}：时钟偏差 {n} 秒'],
  clockBeyondTolerance: [
    'Terminal {terminal}: clock off by {n} s (allowed: {tolerance} s)',
    '终端 {terminal}：时钟偏差 {n} 秒（允许 {tolerance} 秒）',
  ],
  usersFull: [
    'Terminal {terminal} holds as many users as it can ({users} of {max})',
    '终端 {terminal} 用户已满（{users}/{max}）',
  ],
  unmatchedPins: [
    'Terminal {terminal}: punches from PINs not on the roster: {pins}',
    '终端 {terminal}：有未登记工号的打卡：{pins}',
  ],
  unmatchedToday: ['PINs not on the roster today: {pins}', '今日未登记工号：{pins}'],
  timesN: ['{pin} ({n}×)', '{pin}（{n} 次）'],
  unknownSn: [
    '{platform}: it does not know this gateway’s serial number {sn}; check the configuration',
    '{platform}：平台不认识本网关的设备序列号 {sn}，请检查配置',
  ],
  badSign: [
    '{platform}: it rejects our signature; check the device key',
    '{platform}：平台拒绝签名，请检查设备密钥',
  ],
  platformConfig: ['{platform}: a configuration problem', '{platform}：配置问题'],
  journalCorrupt: ['Punch journal: {n} unreadable line(s) skipped', '打卡日志：{n} 行无法读取，已跳过'],
  storeUnsaved: ['Data disk: cannot save {store}', '数据盘：无法保存 {store}'],
  journalRefusing: [
    'The punch journal cannot store punches: {held} held in memory, the rest wait in the terminals',
    '打卡日志无法写入：{held} 条暂存内存，其余留在终端中',
  ],
  upgradeFailed: ['Upgrade to {version} failed', '升级到 {version} 失败'],
  rolledBack: [
    'Update to {to} did not confirm healthy in {n} start(s) and was rolled back to {from}',
    '升级到 {to} 后 {n} 次启动未通过自检，已回退到 {from}',
  ],
  notConfirmed: [
    'Update to {to} has not confirmed healthy and cannot be rolled back to {from} automatically: re-run the installer',
    '升级到 {to} 尚未通过自检，且无法自动回退到 {from}：请重新运行安装程序',
  ],
  gatewayNote: ['The gateway reports a problem', '网关报告问题'],
} as const satisfies Record<string, Phrase>;

/** How a stored-file name reads (the health report names the file). */
const STORES: Readonly<Record<string, Phrase>> = {
  'state.json': ['terminal state', '终端状态'],
  'cursors.json': ['upload positions', '上传进度'],
  'cursors.log': ['upload positions', '上传进度'],
};

/** An alert in the reader's language; `terminalName` turns a terminal id into its name. */
export function sayAlert(lang: Lang, alert: ShownAlertFacts, terminalName: (id: string) => string): Said {
  const terminal = 'terminalId' in alert ? terminalName(alert.terminalId) : '';
  switch (alert.code) {
    case 'terminalOffline': {
      const text = fill(lang, P.terminalOffline, { terminal });
      return alert.error ? withCause(lang, text, alert.error) : { text };
    }
    case 'terminalFull':
      return { text: fill(lang, P.terminalFull, { terminal }) };
    case 'terminalDevice':
      return sayDeviceAlert(lang, terminal, alert.detail);
    case 'terminalClock':
      return { text: fill(lang, P.terminalClock, { terminal, n: alert.seconds }) };
    case 'clockBeyondTolerance':
      return {
        text: fill(lang, P.clockBeyondTolerance, { terminal, n: alert.seconds, tolerance: alert.tolerance }),
      };
    case 'usersFull':
      return { text: fill(lang, P.usersFull, { terminal, users: alert.users, max: alert.max }) };
    case 'unmatchedPins':
      return {
        text: fill(lang, P.unmatchedPins, {
          terminal,
          pins: joinWords(lang, alert.more ? [...alert.pins, '…'] : alert.pins),
        }),
      };
    case 'unmatchedToday': {
      const pins = alert.pins.map((p) => fill(lang, P.timesN, { pin: p.pin, n: p.count }));
      return {
        text: fill(lang, P.unmatchedToday, { pins: joinWords(lang, alert.more ? [...pins, '…'] : pins) }),
      };
    }
    case 'upstreamConfig':
      return sayPlatformConfig(lang, platformName(lang, alert.upstream), alert.detail);
    case 'journalCorrupt':
      return { text: fill(lang, P.journalCorrupt, { n: alert.lines }) };
    case 'storeUnsaved': {
      const store = STORES[alert.store] ? fill(lang, STORES[alert.store]!) : alert.store;
      return withCause(lang, fill(lang, P.storeUnsaved, { store }), alert.error);
    }
    case 'journalRefusing':
      return withCause(lang, fill(lang, P.journalRefusing, { held: alert.held }), alert.error);
    case 'note':
      return sayNote(lang, alert.detail);
  }
}

/** The drivers' lasting alerts (TerminalHealth.alerts) are English lines; the known ones are said again. */
function sayDeviceAlert(lang: Lang, terminal: string, detail: string): Said {
  const overflow = /^ring overflow: (\d+) event\(s\) lost on the device since start$/.exec(detail);
  if (overflow) return { text: fill(lang, P.ringOverflow, { terminal, n: overflow[1]! }) };
  const reset =
    /^device reset (\d+) time\(s\) since start(?:; (\d+) event\(s\) lost in a reset during a read)?$/.exec(
      detail,
    );
  if (reset) {
    return reset[2]
      ? { text: fill(lang, P.deviceResetLost, { terminal, n: reset[1]!, lost: reset[2] }) }
      : { text: fill(lang, P.deviceReset, { terminal, n: reset[1]! }) };
  }
  return { text: fill(lang, P.terminalSays, { terminal }), raw: detail };
}

/** Sichuan's configuration alerts name their result code: -1 unknown sn, -2 bad sign. */
function sayPlatformConfig(lang: Lang, platform: string, detail: string): Said {
  const [what = '', note] = detail.split(' — ');
  const sn = /does not know device sn (.+) \(-1\)$/.exec(what);
  if (sn) return { text: fill(lang, P.unknownSn, { platform, sn: sn[1]! }), raw: note };
  if (/\(-2\)/.test(what)) return { text: fill(lang, P.badSign, { platform }), raw: note };
  return { text: fill(lang, P.platformConfig, { platform }), raw: detail };
}

/** Notes of parts that keep their own alerts (the self-updater). */
function sayNote(lang: Lang, detail: string): Said {
  const failed = /^upgrade to (\S+) failed: (.*)$/s.exec(detail);
  if (failed) return { text: fill(lang, P.upgradeFailed, { version: failed[1]! }), raw: failed[2] };
  const back =
    /^update to (\S+) was rolled back to (\S+): it did not confirm healthy in (\d+) start\(s\)/.exec(detail);
  if (back) return { text: fill(lang, P.rolledBack, { to: back[1]!, from: back[2]!, n: back[3]! }) };
  const overdue =
    /^update to (\S+) has not confirmed healthy \((.*)\), and no update-guard counts its starts, so (\S+) cannot/s.exec(
      detail,
    );
  if (overdue)
    return { text: fill(lang, P.notConfirmed, { to: overdue[1]!, from: overdue[3]! }), raw: overdue[2] };
  return { text: fill(lang, P.gatewayNote), raw: detail };
}

function withCause(lang: Lang, text: string, error: string): Said {
  const cause = sayError(lang, error);
  return { text: `${text}${lang === 'en' ? ': ' : '：'}${cause.text}`, raw: cause.raw };
}

const CAUSES: ReadonlyArray<readonly [RegExp, Phrase]> = [
  [/ECONNREFUSED/, ['connection refused', '连接被拒绝']],
  [/ENOTFOUND|EAI_AGAIN/, ['host not found', '找不到该主机']],
  [/EHOSTUNREACH|ENETUNREACH/, ['network unreachable', '网络不可达']],
  [/ETIMEDOUT|timed? ?out|no answer/i, ['no answer in time', '超时无应答']],
  [/ECONNRESET|EPIPE|socket hang up|closed/i, ['connection dropped', '连接被断开']],
  [/ENOSPC/, ['the disk is full', '磁盘已满']],
  [/EACCES|EPERM/, ['permission denied', '没有权限']],
  [/\(-1\)/, ['the platform does not know this device', '平台不认识本设备']],
  [/\(-2\)/, ['the platform rejects our signature', '平台拒绝签名']],
  [/\(-4\)/, ['the platform asks us to slow down', '平台限流（请求过于频繁）']],
  [/\(-99\)/, ['the platform had an internal error', '平台内部错误']],
  [
    /cannot (enrol|capture)|not supported|unsupported/i,
    ['the terminal cannot do this', '该终端不支持此操作'],
  ],
];

/**
 * An error message from a device, a platform or the system, said in a few words when it is a
 * known kind (the message itself stays beside it as `raw`).
 */
export function sayError(lang: Lang, message: string): Said {
  const known = CAUSES.find(([pattern]) => pattern.test(message));
  return { text: fill(lang, known ? known[1] : ['error', '出错']), raw: message };
}
