import type { AttendanceAnomaly } from '../reports/day-count';
import type { Lang } from './i18n';

/** English and Chinese of a text with `{name}` places. */
type Phrase = readonly [en: string, zh: string];

/**
 * The attendance sheet's words: pages, print view, xlsx headers and errors (the nav word, `reports`,
 * is in i18n.ts with the other nav words). The xlsx header in Chinese is the exactly.
 */
const W = {
  monthly: ['Attendance sheet', '考勤表'],
  daily: ['Daily attendance', '考勤日报'],
  printTitle: ['Attendance sheet {month}', '{month} 考勤表'],
  month: ['Month', '月份'],
  date: ['Date', '日期'],
  team: ['Team', '班组'],
  employer: ['Employer', '劳务分包单位'],
  allTeams: ['All teams', '全部班组'],
  allEmployers: ['All employers', '全部单位'],
  noTeam: ['No team', '未分班组'],
  show: ['Show', '查看'],
  download: ['Download spreadsheet', '导出表格'],
  printView: ['Print view', '打印版'],
  print: ['Print', '打印'],
  toDaily: ['Daily sheet', '日报'],
  toMonthly: ['Monthly sheet', '月报'],
  name: ['Name', '姓名'],
  idNumber: ['ID number', '身份证号'],
  daysPresent: ['Days present', '出勤天数'],
  totalHours: ['Total hours', '总工时'],
  hours: ['Hours', '工时'],
  firstIn: ['First in', '首次进场'],
  lastOut: ['Last out', '最后出场'],
  anomalies: ['Anomalies', '异常'],
  missingIn: ['Missing in', '缺进场卡'],
  missingOut: ['Missing out', '缺出场卡'],
  missingInShort: ['no in', '缺进'],
  missingOutShort: ['no out', '缺出'],
  stillInside: ['Still inside', '仍在场'],
  workersN: ['{n} workers', '共 {n} 人'],
  teamN: ['{team} · {n} workers', '{team} · {n} 人'],
  nobody: ['No worker to show.', '没有可显示的人员。'],
  legend: [
    'Hours per day. A marked day (!) has an anomaly: point at it for the reason. Empty: no punch.',
    '每日工时。标 ! 的日期有异常，鼠标悬停可看原因；空白表示当日无打卡。',
  ],
  rule: [
    'Stays from entry to exit in the site’s time zone; a night shift counts to the day it began (up to {h} h).',
    '按现场时区从进场到出场计时；夜班计入进场当天（最长 {h} 小时）。',
  ],
  sign: ['Team leader’s signature', '班组长签字'],
  signDate: ['Date', '日期'],
  sheetTitle: ['{site} attendance sheet {month}', '{site} 考勤表 {month}'],
  dailySheetTitle: ['{site} daily attendance {date}', '{site} 考勤日报 {date}'],
  monthName: ['{year}-{month}', '{year}年{month}月'],
  dateName: ['{year}-{month}-{day}', '{year}年{month}月{day}日'],
  sheetName: ['Attendance', '考勤表'],
  dailySheetName: ['Daily', '考勤日报'],
  badMonth: ['Month: give a year and month, e.g. {example}.', '月份：请填写年份和月份，如 {example}。'],
  badDate: ['Date: give a calendar date, e.g. {example}.', '日期：请填写有效日期，如 {example}。'],
  badGroup: ['{field}: at most {n} characters.', '{field}：最多 {n} 个字符。'],
  badPage: ['Page: give a page number, e.g. 2.', '页码：请填写页码，如 2。'],
  pageRows: ['Workers {first}–{last} of {n}', '第 {first}–{last} 人，共 {n} 人'],
  prevPage: ['Previous', '上一页'],
  nextPage: ['Next', '下一页'],
  pages: ['Pages', '分页'],
  teamPages: ['Go to team', '按班组跳转'],
} as const satisfies Readonly<Record<string, Phrase>>;

export type ReportWord = keyof typeof W;

/** A report word in the reader's language, its `{name}` places filled in. */
export function reportSay(
  lang: Lang,
  key: ReportWord,
  values: Readonly<Record<string, string | number>> = {},
): string {
  return W[key][lang === 'en' ? 0 : 1].replace(/\{(\w+)\}/g, (whole, name: string) =>
    Object.hasOwn(values, name) ? String(values[name]) : whole,
  );
}

const ANOMALY: Readonly<Record<AttendanceAnomaly, readonly [ReportWord, ReportWord]>> = {
  missingIn: ['missingIn', 'missingInShort'],
  missingOut: ['missingOut', 'missingOutShort'],
};

/** 缺进场卡 / 缺出场卡, or the short form a day cell has room for. */
export function anomalyName(lang: Lang, anomaly: AttendanceAnomaly, short = false): string {
  return reportSay(lang, ANOMALY[anomaly][short ? 1 : 0]);
}

/** Several anomalies of one day, in the language's list style. */
export function anomalyList(lang: Lang, anomalies: readonly AttendanceAnomaly[]): string {
  return anomalies.map((a) => anomalyName(lang, a)).join(lang === 'en' ? ', ' : '、');
}

/** `2026-03` as a person reads it (`2026年03月`). */
export function monthTitle(lang: Lang, month: string): string {
  const [year, m] = month.split('-');
  return reportSay(lang, 'monthName', { year: year ?? '', month: m ?? '' });
}

/** `2026-03-15` as a person reads it (`2026年03月15日`). */
export function dateTitle(lang: Lang, date: string): string {
  const [year, month, day] = date.split('-');
  return reportSay(lang, 'dateName', { year: year ?? '', month: month ?? '', day: day ?? '' });
}
