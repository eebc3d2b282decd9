import type { WorkerChange } from '../model';
import type { Worker } from '../roster/roster';
import type { TableRow } from './import-file';
import { cleanTeamValue, TEAM_FIELDS, type TeamField, type TeamValueProblem } from './team-fields';

/**
 * The team import's plan: which worker each row of the file means and what would change, worked
 * out before anything is applied (the page shows it as the preview). Pure: rows and the roster in,
 * the plan out.
 */

export type ImportColumn = 'name' | 'idCardNo' | 'team' | 'employer';

/** Header names as sheets write them, compared without spaces, `*`, colons and case. */
const HEADERS: Readonly<Record<ImportColumn, readonly string[]>> = {
  name: ['姓名', 'name'],
  idCardNo: ['身份证号', '身份证', '身份证号码', 'idnumber'],
  team: ['班组', 'team'],
  employer: ['劳务分包单位', '分包单位', 'employer'],
};

/** Rows searched for the header: a sheet often has a title row or two above it. */
const HEADER_SEARCH_ROWS = 10;

export type Columns = Readonly<Partial<Record<ImportColumn, number>>>;

export type HeaderProblem =
  | { readonly code: 'noHeader'; readonly seen: readonly string[] }
  | { readonly code: 'noRows' };

export function headerKey(cell: string): string {
  return cell.replace(/[\s*:：]/gu, '').toLowerCase();
}

function columnOf(cell: string): ImportColumn | undefined {
  const key = headerKey(cell);
  for (const column of Object.keys(HEADERS) as ImportColumn[]) {
    if (HEADERS[column].includes(key)) return column;
  }
  return undefined;
}

/**
 * The header row: the first (of the first ten) naming a way to find the worker (name or ID number)
 * and something to set (team or employer). The first column of each kind counts.
 */
export function findHeader(
  rows: readonly TableRow[],
):
  | { readonly ok: true; readonly index: number; readonly columns: Columns }
  | { readonly ok: false; readonly problem: HeaderProblem } {
  if (rows.length === 0) return { ok: false, problem: { code: 'noRows' } };
  for (let index = 0; index < Math.min(rows.length, HEADER_SEARCH_ROWS); index++) {
    const columns: Partial<Record<ImportColumn, number>> = {};
    rows[index]!.cells.forEach((cell, at) => {
      const column = columnOf(cell);
      if (column && columns[column] === undefined) columns[column] = at;
    });
    const key = columns.name !== undefined || columns.idCardNo !== undefined;
    const value = columns.team !== undefined || columns.employer !== undefined;
    if (key && value) return { ok: true, index, columns };
  }
  const seen = rows[0]!.cells.map((c) => c.trim()).filter((c) => c !== '');
  return { ok: false, problem: { code: 'noHeader', seen: seen.slice(0, 12) } };
}

/** What a row of the file comes to. */
export type RowStatus =
  /** Matched, and team or employer differs: applied. */
  | 'change'
  /** Matched, and nothing differs. */
  | 'same'
  /** No worker has that ID number or name. */
  | 'none'
  /** Several active workers have that name (and the row has no ID number to tell them apart). */
  | 'ambiguous'
  /** The row cannot be used as it is (see its problems). */
  | 'invalid'
  /** An earlier row already sets this worker. */
  | 'duplicate';

export type RowProblem =
  | TeamValueProblem
  | { readonly code: 'noKey' }
  | { readonly code: 'noValue' }
  | { readonly code: 'idAsNumber' }
  | { readonly code: 'idDiffers' }
  | { readonly code: 'nameDiffers'; readonly rosterName: string }
  | { readonly code: 'removedWorker' }
  | { readonly code: 'sameWorkerAs'; readonly line: number };

export interface TeamValues {
  readonly team?: string;
  readonly employer?: string;
}

export interface PlannedRow {
  readonly line: number;
  /** As the file has them (trimmed). */
  readonly name: string;
  readonly idCardNo: string;
  /** The values the row sets (a blank cell sets nothing). */
  readonly values: TeamValues;
  readonly status: RowStatus;
  readonly workerId?: string;
  readonly matchedBy?: 'idCardNo' | 'name';
  /** The worker's values before (for "old → new"). */
  readonly before?: TeamValues;
  /** Ambiguous: the workers the name fits. */
  readonly candidates?: readonly string[];
  /** Why it is not applied, or a note beside a change (a removed worker, another name on record). */
  readonly problems: readonly RowProblem[];
}

export interface ImportPlan {
  readonly columns: Columns;
  readonly headerLine: number;
  readonly rows: readonly PlannedRow[];
}

/** An ID number Excel kept as a number: its last digits are gone (`1.10105E+17`). */
const EXCEL_NUMBER = /^\d(\.\d+)?E\+\d+$/i;

/** Matching keys: ID numbers compared with a capital X, names without any white space or case. */
function idKey(id: string): string {
  return id.replace(/\s+/gu, '').toUpperCase();
}

export function nameKey(name: string): string {
  return name.replace(/\s+/gu, '').toLowerCase();
}

interface RosterIndex {
  /** Workers with that ID number: the active ones if any (a removed duplicate record does not count against them). */
  withId(id: string): Worker[];
  activeNamed(name: string): Worker[];
}

function indexRoster(workers: readonly Worker[]): RosterIndex {
  const byId = new Map<string, Worker[]>();
  const byName = new Map<string, Worker[]>();
  for (const worker of workers) {
    const id = worker.identities.idCardNo;
    if (id) push(byId, idKey(id), worker);
    if (worker.status === 'active' && worker.name) push(byName, nameKey(worker.name), worker);
  }
  return {
    withId: (id) => {
      const all = byId.get(idKey(id)) ?? [];
      const active = all.filter((w) => w.status === 'active');
      return active.length > 0 ? active : all;
    },
    activeNamed: (name) => byName.get(nameKey(name)) ?? [],
  };
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/**
 * Each data row after the header, matched: by ID number first (exact, x or X); else by name when
 * exactly one active worker has it, and that worker has no other ID number on record (Deli's users
 * carry none, so a sheet with ID numbers still finds them by name). The first row for a worker
 * counts; later ones are listed as duplicates.
 */
export function planImport(
  rows: readonly TableRow[],
  header: { index: number; columns: Columns },
  workers: readonly Worker[],
): ImportPlan {
  const { columns } = header;
  const index = indexRoster(workers);
  const claimed = new Map<string, number>();
  const planned: PlannedRow[] = [];
  const cellOf = (row: TableRow, column: ImportColumn): string => {
    const at = columns[column];
    return at === undefined ? '' : (row.cells[at] ?? '').trim();
  };
  for (const row of rows.slice(header.index + 1)) {
    const name = cellOf(row, 'name');
    const idCardNo = cellOf(row, 'idCardNo');
    const problems: RowProblem[] = [];
    const values: { team?: string; employer?: string } = {};
    for (const field of TEAM_FIELDS) {
      const cleaned = cleanTeamValue(field, cellOf(row, field));
      if ('problem' in cleaned) problems.push(cleaned.problem);
      else if (cleaned.value !== '') values[field] = cleaned.value;
    }
    const base = { line: row.line, name, idCardNo, values };
    if (!name && !idCardNo) problems.push({ code: 'noKey' });
    if (EXCEL_NUMBER.test(idCardNo)) problems.push({ code: 'idAsNumber' });
    if (problems.length === 0 && values.team === undefined && values.employer === undefined) {
      problems.push({ code: 'noValue' });
    }
    if (problems.length > 0) {
      planned.push({ ...base, status: 'invalid', problems });
      continue;
    }
    const match = matchRow(index, name, idCardNo);
    if (match.kind === 'none') {
      planned.push({ ...base, status: 'none', problems: match.problems });
      continue;
    }
    if (match.kind === 'ambiguous') {
      planned.push({
        ...base,
        status: 'ambiguous',
        candidates: match.candidates.map((w) => w.id),
        problems: [],
      });
      continue;
    }
    const { worker } = match;
    const before: TeamValues = { team: worker.team, employer: worker.employer };
    const notes: RowProblem[] = [...match.notes];
    if (worker.status !== 'active') notes.push({ code: 'removedWorker' });
    const earlier = claimed.get(worker.id);
    if (earlier !== undefined) {
      const duplicate = { ...base, workerId: worker.id, matchedBy: match.by, before };
      planned.push({
        ...duplicate,
        status: 'duplicate',
        problems: [{ code: 'sameWorkerAs', line: earlier }],
      });
      continue;
    }
    claimed.set(worker.id, row.line);
    const changes = TEAM_FIELDS.some((f: TeamField) => values[f] !== undefined && values[f] !== worker[f]);
    planned.push({
      ...base,
      status: changes ? 'change' : 'same',
      workerId: worker.id,
      matchedBy: match.by,
      before,
      problems: notes,
    });
  }
  return { columns, headerLine: rows[header.index]?.line ?? 1, rows: planned };
}

type Match =
  | {
      readonly kind: 'one';
      readonly worker: Worker;
      readonly by: 'idCardNo' | 'name';
      readonly notes: readonly RowProblem[];
    }
  | { readonly kind: 'ambiguous'; readonly candidates: readonly Worker[] }
  | { readonly kind: 'none'; readonly problems: readonly RowProblem[] };

function matchRow(index: RosterIndex, name: string, idCardNo: string): Match {
  if (idCardNo) {
    const byId = index.withId(idCardNo);
    if (byId.length === 1) {
      const worker = byId[0]!;
      const notes: RowProblem[] =
        name && nameKey(name) !== nameKey(worker.name)
          ? [{ code: 'nameDiffers', rosterName: worker.name }]
          : [];
      return { kind: 'one', worker, by: 'idCardNo', notes };
    }
    if (byId.length > 1) return { kind: 'ambiguous', candidates: byId };
  }
  if (!name) return { kind: 'none', problems: [] };
  const named = index.activeNamed(name);
  if (named.length > 1) return { kind: 'ambiguous', candidates: named };
  const worker = named[0];
  if (!worker) return { kind: 'none', problems: [] };
  // The row's ID number names someone else than the one worker of that name: no match, say why.
  const onRecord = worker.identities.idCardNo;
  if (idCardNo && onRecord && idKey(onRecord) !== idKey(idCardNo)) {
    return { kind: 'none', problems: [{ code: 'idDiffers' }] };
  }
  return { kind: 'one', worker, by: 'name', notes: [] };
}

/**
 * The roster changes of a plan: one per row to apply, only the fields that differ, by gateway id.
 * Source `local` and nothing but team or employer: data about a worker the roster has, which the
 * roster neither counts as the page claiming them nor lets restore a removed worker.
 */
export function planChanges(
  plan: ImportPlan,
  exists: (workerId: string) => Worker | undefined,
): WorkerChange[] {
  const changes: WorkerChange[] = [];
  for (const row of plan.rows) {
    if (row.status !== 'change' || !row.workerId) continue;
    const worker = exists(row.workerId);
    if (!worker) continue;
    const change: { team?: string; employer?: string } = {};
    for (const field of TEAM_FIELDS) {
      const value = row.values[field];
      if (value !== undefined && value !== worker[field]) change[field] = value;
    }
    if (change.team === undefined && change.employer === undefined) continue;
    changes.push({ source: 'local', op: 'upsert', identity: { gatewayId: worker.id }, ...change });
  }
  return changes;
}

/** How many rows of each status. */
export function countRows(plan: ImportPlan): Readonly<Record<RowStatus, number>> {
  const counts: Record<RowStatus, number> = {
    change: 0,
    same: 0,
    none: 0,
    ambiguous: 0,
    invalid: 0,
    duplicate: 0,
  };
  for (const row of plan.rows) counts[row.status]++;
  return counts;
}
