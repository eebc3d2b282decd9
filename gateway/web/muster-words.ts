import type { Lang } from './i18n';

/** English and Chinese of a text with `{name}` places. */
type Phrase = readonly [en: string, zh: string];

/** The muster list's own words (the nav word, `muster`, is in i18n.ts with the other nav words). */
const W = {
  insideNow: ['Inside now', '当前在场'],
  shownOf: ['{n} shown of {total} inside', '筛选后 {n} 人，共 {total} 人在场'],
  rule: [
    'Workers whose last punch is an entry made within the last {h} hours, with no exit since.',
    '最后一次打卡为进场、进场在 {h} 小时以内且之后未出场的人员。',
  ],
  asOf: ['As of {at}; refreshes every 30 s.', '截至 {at}，每 30 秒自动刷新。'],
  entered: ['Entered', '进场时间'],
  name: ['Name', '姓名'],
  team: ['Team', '班组'],
  employer: ['Employer', '劳务分包单位'],
  gate: ['Gate', '进场通道'],
  noTeam: ['No team', '未分班组'],
  teamCount: ['{team} · {n}', '{team} · {n} 人'],
  allTeams: ['All teams', '全部班组'],
  allEmployers: ['All employers', '全部单位'],
  filter: ['Filter', '筛选'],
  print: ['Print', '打印'],
  nobody: ['Nobody is inside.', '当前无人在场。'],
  nobodyShown: ['Nobody inside matches the filter.', '没有符合筛选条件的在场人员。'],
} as const satisfies Readonly<Record<string, Phrase>>;

export type MusterWord = keyof typeof W;

/** A muster word in the reader's language, its `{name}` places filled in. */
export function musterSay(
  lang: Lang,
  key: MusterWord,
  values: Readonly<Record<string, string | number>> = {},
): string {
  return W[key][lang === 'en' ? 0 : 1].replace(/\{(\w+)\}/g, (whole, name: string) =>
    Object.hasOwn(values, name) ? String(values[name]) : whole,
  );
}
