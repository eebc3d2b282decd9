import type { Lang } from './i18n';

/** English and Chinese of a text with `{name}` places. */
type Phrase = readonly [en: string, zh: string];

/** The punch list's own words for paging and counting (its other words are in i18n.ts). */
const W = {
  totalAtLeast: ['{n}+ punches', '共 {n}+ 条'],
  newer: ['« Newer', '« 较新'],
  older: ['Older »', '较早 »'],
  badCursor: [
    '“{field}” is not a place in the list; use the Newer and Older links.',
    '翻页位置“{field}”无效，请使用“较新”“较早”链接翻页。',
  ],
  pageTooDeep: [
    'Page {page} is past the first {max} punches; use the Older links (or narrow the filter).',
    '第 {page} 页超出前 {max} 条记录，请用“较早”链接翻页（或缩小筛选范围）。',
  ],
} as const satisfies Readonly<Record<string, Phrase>>;

export type PunchWord = keyof typeof W;

/** A punch-list word in the reader's language, its `{name}` places filled in. */
export function punchSay(
  lang: Lang,
  key: PunchWord,
  values: Readonly<Record<string, string | number>> = {},
): string {
  return W[key][lang === 'en' ? 0 : 1].replace(/\{(\w+)\}/g, (whole, name: string) =>
    Object.hasOwn(values, name) ? String(values[name]) : whole,
  );
}
