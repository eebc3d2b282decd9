import type { Said } from './alert-words';
import type { Lang } from './i18n';
import type { TableFileProblem } from './import-file';
import type { HeaderProblem, RowProblem, RowStatus } from './import-plan';
import type { TeamField, TeamValueProblem } from './team-fields';

/**
 * The words of the team and employer fields and of the team import, in English and Chinese.
 * `{name}` marks a value; `backticks` mark file names and extensions (shown as code, not translated).
 */
type Phrase = readonly [en: string, zh: string];

const P = {
  team: ['Team', '班组'],
  employer: ['Employer (labour subcontractor)', '劳务分包单位'],
  teamSection: ['Team and employer', '班组与分包单位'],
  teamHint: ['Leave a field empty to clear it.', '留空即清除。'],
  save: ['Save', '保存'],
  teamSaved: ['Team and employer saved.', '已保存班组与分包单位。'],
  allTeams: ['All teams', '全部班组'],
  allEmployers: ['All employers', '全部分包单位'],
  importTeams: ['Import teams', '导入班组'],
  tooLong: [
    '{field}: at most {max} characters ({length} given)',
    '{field}：最多 {max} 个字（现有 {length} 个）',
  ],
  badCharacter: ['{field}: holds invisible control characters', '{field}：含有不可见的控制字符'],

  importTitle: ['Import teams and employers', '导入班组与分包单位'],
  importIntro: [
    'Upload a table with one worker per row: their name or ID number, and their team and employer. Nothing changes until you have seen the preview and applied it.',
    '上传一张表格，每行一名人员：姓名或身份证号，以及班组、劳务分包单位。先预览，确认应用后才会更改。',
  ],
  importFormats: [
    'An Excel workbook `.xlsx` (its first sheet) or a comma-separated `.csv` (any common encoding, Chinese Excel’s included), at most {mb} MB.',
    '表格文件 `.xlsx`（读取第一个工作表）或逗号分隔的 `.csv`（常见编码均可，包括中文版表格软件另存的），不超过 {mb} MB。',
  ],
  importColumnsAre: [
    'Column headings read (in any of the first 10 rows):',
    '可识别的列名（表头可在前 10 行中）：',
  ],
  importMatching: [
    'A row is matched by ID number first; otherwise by name, when exactly one active worker has it. A blank cell leaves the value as it is.',
    '先按身份证号匹配；没有身份证号或未找到时按姓名匹配（须恰好一名在册人员同名）。空白单元格不更改原值。',
  ],
  chooseFile: ['Choose a file', '选择文件'],
  noFileChosen: ['No file chosen', '未选择文件'],
  uploadPreview: ['Upload and preview', '上传并预览'],

  noFile: ['Choose the file to upload.', '请选择要上传的文件。'],
  fileEmpty: ['The file is empty.', '文件是空的。'],
  fileTooLarge: [
    'The file is {size} MB; at most {max} MB is accepted.',
    '文件 {size} MB，超过允许的 {max} MB。',
  ],
  oldExcel: [
    'This is an old `.xls` workbook: save it as `.xlsx` or `.csv` and upload that.',
    '这是旧版 `.xls` 文件：请另存为 `.xlsx` 或 `.csv` 后再上传。',
  ],
  notTable: ['This is not a table file (`.xlsx` or `.csv`).', '这不是表格文件（`.xlsx` 或 `.csv`）。'],
  badXlsx: ['The workbook is damaged or is not a workbook.', '表格文件已损坏，或不是表格文件。'],
  unpacksTooLarge: ['The workbook unpacks to more than {max} MB.', '表格解压后超过 {max} MB，无法读取。'],
  noSheet: ['The workbook has no worksheet.', '表格中没有工作表。'],
  tooManyRows: ['More than {max} rows: import it in parts.', '超过 {max} 行，请分批导入。'],
  unclosedQuote: ['Row {line}: a quote is never closed.', '第 {line} 行的引号没有闭合。'],
  noRows: ['The file holds no rows.', '文件中没有内容。'],
  noHeader: [
    'No heading row: one column must be name or ID number, another team or employer. The first row holds:',
    '找不到表头：需要“姓名”或“身份证号”一列，以及“班组”或“劳务分包单位”一列。第一行是：',
  ],
  expired: [
    'That preview has expired or was already applied: upload the file again.',
    '该预览已过期或已应用，请重新上传文件。',
  ],

  previewTitle: ['Import preview', '导入预览'],
  previewFile: ['File:', '文件：'],
  previewSummary: [
    '{rows} rows: {change} to update, {same} unchanged, {none} not found, {ambiguous} ambiguous, {invalid} with problems, {duplicate} repeated.',
    '共 {rows} 行：{change} 行将更新，{same} 行无变化，{none} 行未找到，{ambiguous} 行同名多人，{invalid} 行有误，{duplicate} 行重复。',
  ],
  previewKept: ['This preview is kept for {min} minutes.', '预览保留 {min} 分钟。'],
  showAll: ['All rows', '全部行'],
  showChange: ['To update', '将更新'],
  showProblems: ['Not applied', '不会应用'],
  showSame: ['Unchanged', '无变化'],
  row: ['Row', '行'],
  fileName: ['Name in the file', '文件中的姓名'],
  idCardNo: ['ID number', '身份证号'],
  matched: ['Worker', '匹配到'],
  result: ['Result', '结果'],
  byIdCardNo: ['by ID number', '按身份证号'],
  byName: ['by name', '按姓名'],
  candidates: ['could be:', '可能是：'],
  applyRows: ['Apply {n} rows', '应用 {n} 行'],
  nothingToApply: ['No row changes anything.', '没有需要更改的行。'],
  uploadAnother: ['Upload another file', '重新上传'],

  resultTitle: ['Import result', '导入结果'],
  appliedN: ['{n} workers updated.', '已更新 {n} 名人员。'],
  skippedN: [
    '{n} rows not applied (not found, ambiguous, with problems, repeated or unchanged).',
    '{n} 行未应用（未找到、同名多人、有误、重复或无变化）。',
  ],
  goneN: [
    '{n} workers left the roster after the preview and were not updated.',
    '{n} 名人员在预览后已不在名单中，未更新。',
  ],
  applyFailed: ['Nothing was applied:', '未能应用：'],
  updatedWorkers: ['Updated workers', '已更新的人员'],
} as const satisfies Record<string, Phrase>;

export type TeamWord = keyof typeof P;

export function tw(
  lang: Lang,
  key: TeamWord,
  values: Readonly<Record<string, string | number>> = {},
): string {
  return P[key][lang === 'en' ? 0 : 1].replace(/\{(\w+)\}/g, (whole, name: string) =>
    Object.hasOwn(values, name) ? String(values[name]) : whole,
  );
}

export function teamFieldName(lang: Lang, field: TeamField): string {
  return tw(lang, field);
}

export function sayTeamProblem(lang: Lang, problem: TeamValueProblem): string {
  const field = teamFieldName(lang, problem.field);
  return problem.code === 'tooLong'
    ? tw(lang, 'tooLong', { field, max: problem.max, length: problem.length })
    : tw(lang, 'badCharacter', { field });
}

const STATUSES: Readonly<Record<RowStatus, Phrase>> = {
  change: ['to update', '将更新'],
  same: ['unchanged', '无变化'],
  none: ['not found', '未找到'],
  ambiguous: ['several workers of that name', '同名多人'],
  invalid: ['problem', '有误'],
  duplicate: ['repeated', '重复'],
};

export function rowStatusName(lang: Lang, status: RowStatus): string {
  return STATUSES[status][lang === 'en' ? 0 : 1];
}

const ROW_PROBLEMS = {
  noKey: ['no name and no ID number', '缺少姓名和身份证号'],
  noValue: ['team and employer both blank', '班组和分包单位均为空'],
  idAsNumber: [
    'the ID number was stored as a number and lost its last digits: format the column as text and type them again',
    '身份证号被存成了数字，末几位已丢失：请把该列设为文本格式后重新输入',
  ],
  idDiffers: [
    'the one worker of that name has another ID number on record',
    '同名人员登记的身份证号与此不符',
  ],
  nameDiffers: ['the roster’s name is {name}', '名单中的姓名为 {name}'],
  removedWorker: ['a removed worker: saved, still removed', '该人员已移除：保存班组，不恢复'],
  sameWorkerAs: ['the same worker as row {line}, which counts', '与第 {line} 行是同一人，以第 {line} 行为准'],
} as const satisfies Record<Exclude<RowProblem['code'], TeamValueProblem['code']>, Phrase>;

export function sayRowProblem(lang: Lang, problem: RowProblem): string {
  const i = lang === 'en' ? 0 : 1;
  switch (problem.code) {
    case 'tooLong':
    case 'badCharacter':
      return sayTeamProblem(lang, problem);
    case 'nameDiffers':
      return ROW_PROBLEMS.nameDiffers[i].replace('{name}', problem.rosterName);
    case 'sameWorkerAs':
      return ROW_PROBLEMS.sameWorkerAs[i].replaceAll('{line}', String(problem.line));
    default:
      return ROW_PROBLEMS[problem.code][i];
  }
}

/** Why nothing could be read from the file (or no file came): what to do, with the reader's own words beside. */
export type ImportProblem =
  | TableFileProblem
  | HeaderProblem
  | { readonly code: 'noFile' }
  | { readonly code: 'expired' };

const MB = 1024 * 1024;

export function sayImportProblem(lang: Lang, problem: ImportProblem): Said {
  switch (problem.code) {
    case 'noFile':
      return { text: tw(lang, 'noFile') };
    case 'empty':
      return { text: tw(lang, 'fileEmpty') };
    case 'tooLarge':
      return {
        text: tw(lang, 'fileTooLarge', { size: (problem.bytes / MB).toFixed(1), max: problem.max / MB }),
      };
    case 'unpacksTooLarge':
      return { text: tw(lang, 'unpacksTooLarge', { max: problem.max / MB }) };
    case 'badXlsx':
      return problem.detail
        ? { text: tw(lang, 'badXlsx'), raw: problem.detail }
        : { text: tw(lang, 'badXlsx') };
    case 'tooManyRows':
      return { text: tw(lang, 'tooManyRows', { max: problem.max }) };
    case 'unclosedQuote':
      return { text: tw(lang, 'unclosedQuote', { line: problem.line }) };
    case 'noHeader':
      return { text: tw(lang, 'noHeader'), raw: problem.seen.join(' | ') || '—' };
    default:
      return { text: tw(lang, problem.code) };
  }
}
