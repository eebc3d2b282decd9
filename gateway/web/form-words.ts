import type { Said } from './alert-words';
import { type Lang, say, type TextKey, text } from './i18n';
import { secretName } from './words';

/** English and Chinese of a text with `{name}` places. */
type Phrase = readonly [en: string, zh: string];

/** The terminal form's fields, by the config key the schema names (`terminals.N.<key>`). */
const TERMINAL_FIELDS: Readonly<Record<string, TextKey>> = {
  id: 'terminalId',
  name: 'name',
  driver: 'driver',
  direction: 'direction',
  transport: 'transport',
  host: 'host',
  port: 'port',
  path: 'serialPath',
  unitId: 'unitId',
  sn: 'sn',
  pollSeconds: 'pollSeconds',
};

/** The schema's reasons (config/schema.ts, valibot's own) that a person may meet on the page's forms. */
const REASONS: ReadonlyArray<readonly [RegExp, Phrase]> = [
  [/^must be (\S+)–(\S+)$/, ['must be between {1} and {2}', '应在 {1}–{2} 之间']],
  [/^(required|must not be empty)$/, ['required', '必填']],
  [/expected number, received/, ['must be a number', '应为数字']],
  [/^Too small: expected number to be >=(\S+)$/, ['must be at least {1}', '不能小于 {1}']],
  [/^Too big: expected number to be <=(\S+)$/, ['must be at most {1}', '不能大于 {1}']],
  [
    /^use 1–(\d+) letters, digits, "-" or "_"$/,
    ['use 1–{1} letters, digits, “-” or “_”', '使用 1–{1} 位字母、数字、“-”或“_”'],
  ],
  [/^required for transport "tcp"$/, ['required for a network connection', '网络连接时必填']],
  [
    /^required for transport "rtu"/,
    ['required for a serial line (e.g. /dev/ttyUSB0)', '串口连接时必填（如 /dev/ttyUSB0）'],
  ],
  [
    /^use the serial number printed on the device$/,
    ['use the serial number printed on the device', '请填写设备上印的序列号'],
  ],
  [/^use at least (\d+) characters$/, ['use at least {1} characters', '至少 {1} 个字符']],
  [/Invalid (type|option|input)/, ['not a valid choice', '取值无效']],
];

function reasonOf(lang: Lang, reason: string): string {
  for (const [pattern, phrase] of REASONS) {
    const m = pattern.exec(reason);
    if (m) return phrase[lang === 'en' ? 0 : 1].replace(/\{(\d)\}/g, (_, i: string) => m[Number(i)] ?? '');
  }
  return text(lang, 'error');
}

/** Which form field a config path names, in the reader's words (undefined when the page has no such field). */
function fieldOf(lang: Lang, path: string): string | undefined {
  const terminal = /^terminals\.\d+\.(\w+)$/.exec(path);
  if (terminal) {
    const key = TERMINAL_FIELDS[terminal[1]!];
    return key ? text(lang, key) : undefined;
  }
  const secret = /^upstreams\.(\w+)\.(\w+)$/.exec(path);
  if (secret) return secretName(lang, secret[1]!, secret[2]!);
  return undefined;
}

/**
 * A configuration problem (`path: reason`, as `validateConfig` words it) on a form of the page: the
 * field's label and the reason in the reader's words, the schema's line beside it as data.
 */
export function sayConfigProblem(lang: Lang, problem: string): Said {
  const at = problem.indexOf(': ');
  const field = at > 0 ? fieldOf(lang, problem.slice(0, at)) : undefined;
  if (!field) return { text: text(lang, 'error'), raw: problem };
  return {
    text: `${field}${lang === 'en' ? ': ' : '：'}${reasonOf(lang, problem.slice(at + 2))}`,
    raw: problem,
  };
}

/** The admin password's rules (gateway/http/admin-credentials.ts words them in English for the log). */
const PASSWORD_PROBLEMS: ReadonlyArray<readonly [RegExp, (lang: Lang, m: RegExpExecArray) => string]> = [
  [/^use at least (\d+) characters$/, (lang, m) => say(lang, 'passwordTooShort', { n: m[1]! })],
  [/^the current password is wrong$/, (lang) => text(lang, 'passwordCurrentWrong')],
  [/^an admin password is already set$/, (lang) => text(lang, 'passwordAlreadySet')],
  [/^the password is set in the configuration/, (lang) => text(lang, 'passwordFromConfig')],
];

/** Why a password was refused, in the reader's words (an unknown reason is shown as it came). */
export function sayPasswordProblem(lang: Lang, message: string): Said {
  for (const [pattern, words] of PASSWORD_PROBLEMS) {
    const m = pattern.exec(message);
    if (m) return { text: words(lang, m) };
  }
  return { text: text(lang, 'error'), raw: message };
}

/** The registration form's fields, by the name its checks give them (`<field>: <reason>`). */
const REGISTRATION_FIELDS: Readonly<Record<string, TextKey>> = {
  name: 'name',
  idCardNo: 'idCardNo',
  gender: 'gender',
  nation: 'nation',
  birthday: 'birthday',
  address: 'address',
  idIssuer: 'idIssuer',
  idPeriod: 'idPeriod',
  userType: 'userType',
  idPhoto: 'idPhoto',
  photo: 'livePhoto',
};

/** The registration checks' reasons (registration-form.ts, lib/id-number.ts, lib/image-header.ts). */
const REGISTRATION_REASONS: ReadonlyArray<readonly [RegExp, Phrase]> = [
  [/^required$/, ['required', '必填']],
  [
    /^18 characters/,
    ['18 characters: 17 digits, then a digit or X', '应为 18 位：17 位数字，最后一位为数字或 X'],
  ],
  [
    /^characters 7–14 must be a real birth date \((\d+) is not\)$/,
    ['characters 7–14 must be a real birth date ({1} is not)', '第 7–14 位应为真实的出生日期（{1} 不是）'],
  ],
  [
    /^the check character is (\w), the number calls for (\w)/,
    ['the last character is {1}, the number calls for {2}', '最后一位（校验码）是 {1}，按前 17 位应为 {2}'],
  ],
  [/^yyyy-MM-dd$/, ['year-month-day, e.g. 1990-01-01', '格式应为 年-月-日，如 1990-01-01']],
  [/^the ID number says (\S+)$/, ['the ID number says {1}', '与身份证号中的出生日期 {1} 不一致']],
  [/^yyyyMMdd-/, ['e.g. 20200101-20400101, or 20200101-长期', '格式应为 20200101-20400101 或 20200101-长期']],
  [
    /^([\d.]+) MB is larger than the (\d+) MB allowed$/,
    ['{1} MB, more than the {2} MB allowed', '{1} MB，超过允许的 {2} MB'],
  ],
  [/^not a JPEG or PNG image/, ['not a picture (JPEG or PNG)', '不是图片文件']],
  [/^(JPEG|PNG): /, ['the picture file is damaged', '图片文件已损坏']],
];

/**
 * A registration check's problem (`field: reason`) in the reader's words, the check's own line
 * beside it as data; a text that is no such line (already the reader's words) as it is.
 */
export function sayRegistrationProblem(lang: Lang, problem: string): Said {
  const at = problem.indexOf(': ');
  const key = at > 0 ? REGISTRATION_FIELDS[problem.slice(0, at)] : undefined;
  if (!key) return { text: problem };
  const reason = problem.slice(at + 2);
  for (const [pattern, phrase] of REGISTRATION_REASONS) {
    const m = pattern.exec(reason);
    if (m) {
      const words = phrase[lang === 'en' ? 0 : 1].replace(/\{(\d)\}/g, (_, i: string) => m[Number(i)] ?? '');
      return { text: `${text(lang, key)}${lang === 'en' ? ': ' : '：'}${words}`, raw: problem };
    }
  }
  return { text: `${text(lang, key)}${lang === 'en' ? ': ' : '：'}${text(lang, 'error')}`, raw: problem };
}
