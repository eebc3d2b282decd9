/**
 * 班组 (team) and 劳务分包单位 (employer) as a person types them on the page or a file holds them:
 * one rule for the worker's form, the registration form and the import, so the attendance sheet
 * groups the same team under one name whichever way it arrived.
 */

export type TeamField = 'team' | 'employer';
export const TEAM_FIELDS: readonly TeamField[] = ['team', 'employer'];

/** Longest value, in characters: a team is a short name, an employer a company's full name. */
export const TEAM_FIELD_MAX: Readonly<Record<TeamField, number>> = { team: 40, employer: 80 };

export type TeamValueProblem =
  | { readonly field: TeamField; readonly code: 'tooLong'; readonly max: number; readonly length: number }
  | { readonly field: TeamField; readonly code: 'badCharacter' };

export type CleanedTeamValue = { readonly value: string } | { readonly problem: TeamValueProblem };

/**
 * Control and format characters (bidi overrides, zero-width spaces, a BOM) would make one team
 * look like two, or a name display other than it is: refused rather than silently dropped.
 */
const HIDDEN = /[\p{Cc}\p{Cf}]/u;

/**
 * The value trimmed, every run of white space (full-width spaces and a cell's line breaks too) made
 * one space; '' means "none". A value too long or holding hidden characters is a problem, never cut.
 */
export function cleanTeamValue(field: TeamField, raw: string): CleanedTeamValue {
  const value = raw.replace(/\s+/gu, ' ').trim();
  if (HIDDEN.test(value)) return { problem: { field, code: 'badCharacter' } };
  const length = [...value].length;
  const max = TEAM_FIELD_MAX[field];
  if (length > max) return { problem: { field, code: 'tooLong', max, length } };
  return { value };
}

/**
 * The order a Chinese reader expects (pinyin). One collator for every sort: `localeCompare` with a
 * locale builds a new one per comparison, 3–4× slower on a 5,000-worker list.
 */
export const chineseOrder = new Intl.Collator('zh-CN');

/** Distinct non-empty values of a field among `workers`, sorted as a Chinese reader expects. */
export function teamValues(
  workers: Iterable<{ readonly team?: string; readonly employer?: string }>,
  field: TeamField,
): string[] {
  const seen = new Set<string>();
  for (const worker of workers) {
    const value = worker[field];
    if (value) seen.add(value);
  }
  return [...seen].sort(chineseOrder.compare);
}
