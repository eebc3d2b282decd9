import type { Said } from '../alert-words';
import { MAX_IMPORT_BYTES } from '../import-file';
import { countRows, type ImportColumn, type PlannedRow, type RowStatus } from '../import-plan';
import { type ImportResult, PREVIEW_TTL_MS, type StoredPreview } from '../import-previews';
import { CodeText, Csrf, Layout, type PageContext } from '../layout';
import { TEAM_FIELDS, type TeamField } from '../team-fields';
import { rowStatusName, sayRowProblem, tw } from '../team-words';
import { TeamNotice } from './team';
import { maskId, Pager } from './workers';

/** A worker as the import's pages name them: a link to their page. */
export interface WorkerRef {
  readonly id: string;
  readonly name: string;
  readonly pin: string;
}

/** The column headings the import reads, as the page lists them (they are the file's words: data). */
const COLUMN_HEADINGS: Readonly<Record<ImportColumn, readonly string[]>> = {
  name: ['姓名', 'name'],
  idCardNo: ['身份证号', '身份证', '身份证号码', 'ID number'],
  team: ['班组', 'team'],
  employer: ['劳务分包单位', '分包单位', 'employer'],
};

const COLUMN_WORDS: Readonly<Record<ImportColumn, Parameters<typeof tw>[1]>> = {
  name: 'fileName',
  idCardNo: 'idCardNo',
  team: 'team',
  employer: 'employer',
};

/** `/workers/import`: what the file should hold, and the upload. */
export function ImportPage(props: { page: PageContext; problem?: Said }) {
  const { page } = props;
  const { lang } = page;
  return (
    <Layout page={page} title={tw(lang, 'importTitle')}>
      {props.problem && <TeamNotice kind="error" text={props.problem.text} raw={props.problem.raw} />}
      <p>{tw(lang, 'importIntro')}</p>
      <p class="hint">
        <CodeText text={tw(lang, 'importFormats', { mb: MAX_IMPORT_BYTES / 1024 / 1024 })} />
      </p>
      <p class="hint">{tw(lang, 'importColumnsAre')}</p>
      <ul class="hint" id="import-columns">
        {(Object.keys(COLUMN_HEADINGS) as ImportColumn[]).map((column) => (
          <li>
            {`${tw(lang, COLUMN_WORDS[column])}${lang === 'en' ? ': ' : '：'}`}
            {COLUMN_HEADINGS[column].map((heading, i) => (
              <>
                {i > 0 && ' / '}
                <code translate="no">{heading}</code>
              </>
            ))}
          </li>
        ))}
      </ul>
      <p class="hint">{tw(lang, 'importMatching')}</p>
      <form
        method="post"
        action="/workers/import"
        enctype="multipart/form-data"
        id="import-form"
        class="filters"
      >
        <Csrf page={page} />
        <fieldset class="upload">
          <div class="pick">
            <label class="button file-pick">
              <input
                type="file"
                name="file"
                accept=".xlsx,.csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet,text/csv"
                required
                class="file-input"
              />
              {tw(lang, 'chooseFile')}
            </label>
            <span class="file-name muted" data-file-name="file">
              {tw(lang, 'noFileChosen')}
            </span>
          </div>
        </fieldset>
        <button type="submit">{tw(lang, 'uploadPreview')}</button>
      </form>
    </Layout>
  );
}

/** Rows per page of the preview: a 10,000-row file stays a page a phone can load. */
export const PREVIEW_PAGE_SIZE = 200;

export type PreviewShow = 'all' | 'change' | 'problems' | 'same';
export const PREVIEW_SHOWS: readonly PreviewShow[] = ['all', 'change', 'problems', 'same'];
const SHOWN: Readonly<Record<PreviewShow, readonly RowStatus[]>> = {
  all: ['change', 'same', 'none', 'ambiguous', 'invalid', 'duplicate'],
  change: ['change'],
  problems: ['none', 'ambiguous', 'invalid', 'duplicate'],
  same: ['same'],
};
const SHOW_WORDS: Readonly<Record<PreviewShow, Parameters<typeof tw>[1]>> = {
  all: 'showAll',
  change: 'showChange',
  problems: 'showProblems',
  same: 'showSame',
};

/** `/workers/import/:token`: every row, whom it matches, old → new, problems; then "apply". */
export function ImportPreviewPage(props: {
  page: PageContext;
  token: string;
  preview: StoredPreview;
  worker: (id: string) => WorkerRef | undefined;
  /** Which rows the table shows, and which page of them. */
  show: PreviewShow;
  pageNo: number;
}) {
  const { page, preview } = props;
  const { lang } = page;
  const counts = countRows(preview.plan);
  const shown = preview.plan.rows.filter((row) => SHOWN[props.show].includes(row.status));
  const pages = Math.max(1, Math.ceil(shown.length / PREVIEW_PAGE_SIZE));
  const pageNo = Math.min(props.pageNo, pages);
  const base = `/workers/import/${props.token}`;
  const link = (show: PreviewShow, n: number) => `${base}?show=${show}&page=${n}`;
  return (
    <Layout page={page} title={tw(lang, 'previewTitle')}>
      <p>
        {tw(lang, 'previewFile')} <strong translate="no">{preview.fileName}</strong>
      </p>
      <p id="import-summary">
        {tw(lang, 'previewSummary', { rows: preview.plan.rows.length, ...counts })}{' '}
        <span class="muted">{tw(lang, 'previewKept', { min: PREVIEW_TTL_MS / 60_000 })}</span>
      </p>
      <div class="actions">
        <form method="post" action={`/workers/import/${props.token}/apply`} id="apply-form" class="inline">
          <Csrf page={page} />
          <button type="submit" disabled={counts.change === 0}>
            {tw(lang, 'applyRows', { n: counts.change })}
          </button>
        </form>
        <a class="button secondary" href="/workers/import">
          {tw(lang, 'uploadAnother')}
        </a>
      </div>
      {counts.change === 0 && <p class="muted">{tw(lang, 'nothingToApply')}</p>}
      <nav class="pager" id="preview-show">
        {PREVIEW_SHOWS.map((show) =>
          show === props.show ? (
            <strong>{tw(lang, SHOW_WORDS[show])}</strong>
          ) : (
            <a href={link(show, 1)}>{tw(lang, SHOW_WORDS[show])}</a>
          ),
        )}
      </nav>
      <div class="scroll">
        <table id="import-preview" class="import-preview">
          <thead>
            <tr>
              <th>{tw(lang, 'row')}</th>
              <th>{tw(lang, 'fileName')}</th>
              <th>{tw(lang, 'idCardNo')}</th>
              <th>{tw(lang, 'matched')}</th>
              <th>{tw(lang, 'team')}</th>
              <th>{tw(lang, 'employer')}</th>
              <th>{tw(lang, 'result')}</th>
            </tr>
          </thead>
          <tbody>
            {shown.slice((pageNo - 1) * PREVIEW_PAGE_SIZE, pageNo * PREVIEW_PAGE_SIZE).map((row) => (
              <PreviewRow page={page} row={row} worker={props.worker} />
            ))}
          </tbody>
        </table>
      </div>
      <Pager page={page} pageNo={pageNo} pages={pages} link={(n) => link(props.show, n)} />
    </Layout>
  );
}

function PreviewRow(props: {
  page: PageContext;
  row: PlannedRow;
  worker: (id: string) => WorkerRef | undefined;
}) {
  const { page, row } = props;
  const { lang } = page;
  // Each value's heading, shown before it where the phone shows a row as a card.
  const label = (key: Parameters<typeof tw>[1]) => `${tw(lang, key)}${lang === 'en' ? ': ' : '：'}`;
  return (
    <tr data-status={row.status} data-line={row.line}>
      <td data-label={label('row')}>{row.line}</td>
      <td translate="no" data-label={label('fileName')}>
        {row.name}
      </td>
      <td translate="no" class="id" data-label={label('idCardNo')}>
        {row.idCardNo ? maskId(row.idCardNo) : ''}
      </td>
      <td class="who" data-label={label('matched')}>
        {row.workerId && <WorkerLink worker={props.worker(row.workerId)} />}
        {row.matchedBy && (
          <small class="muted"> {tw(lang, row.matchedBy === 'name' ? 'byName' : 'byIdCardNo')}</small>
        )}
        {row.candidates && (
          <>
            {tw(lang, 'candidates')}{' '}
            {row.candidates.map((id, i) => (
              <>
                {i > 0 && (lang === 'en' ? ', ' : '、')}
                <WorkerLink worker={props.worker(id)} withPin />
              </>
            ))}
          </>
        )}
      </td>
      {TEAM_FIELDS.map((field) => (
        <td class={`change ${field}`} data-label={label(field)}>
          <OldNew row={row} field={field} />
        </td>
      ))}
      <td class="status" data-label={label('result')}>
        <strong>{rowStatusName(lang, row.status)}</strong>
        {row.problems.map((problem) => (
          <div class="muted">{sayRowProblem(lang, problem)}</div>
        ))}
      </td>
    </tr>
  );
}

/** `old → new` where the row sets a value that differs; the value as it stays otherwise. */
function OldNew(props: { row: PlannedRow; field: TeamField }) {
  const { row, field } = props;
  const after = row.values[field];
  const before = row.before?.[field];
  if (after === undefined) {
    return (
      <span class="muted" translate="no">
        {before ?? '—'}
      </span>
    );
  }
  if (!row.workerId || after === before) return <span translate="no">{after}</span>;
  return (
    <>
      <del class="muted" translate="no">
        {before ?? '—'}
      </del>{' '}
      → <ins translate="no">{after}</ins>
    </>
  );
}

function WorkerLink(props: { worker: WorkerRef | undefined; withPin?: boolean }) {
  const { worker } = props;
  if (!worker) return <>—</>;
  return (
    <a href={`/workers/${encodeURIComponent(worker.id)}`}>
      {worker.name || worker.id}
      {props.withPin && <small class="muted"> #{worker.pin}</small>}
    </a>
  );
}

/** `/workers/import/:token/result`: what the apply did. */
export function ImportResultPage(props: {
  page: PageContext;
  result: ImportResult;
  worker: (id: string) => WorkerRef | undefined;
}) {
  const { page, result } = props;
  const { lang } = page;
  return (
    <Layout page={page} title={tw(lang, 'resultTitle')}>
      {result.ok ? (
        <>
          <p class="notice ok" role="status" id="import-result">
            {tw(lang, 'appliedN', { n: result.applied.length })}
          </p>
          {result.skipped > 0 && <p class="muted">{tw(lang, 'skippedN', { n: result.skipped })}</p>}
          {result.gone > 0 && <p class="muted">{tw(lang, 'goneN', { n: result.gone })}</p>}
          {result.applied.length > 0 && (
            <>
              <h2>{tw(lang, 'updatedWorkers')}</h2>
              <ul id="updated-workers">
                {result.applied.map((id) => {
                  const worker = props.worker(id);
                  return (
                    <li>
                      <WorkerLink worker={worker} />
                    </li>
                  );
                })}
              </ul>
            </>
          )}
        </>
      ) : (
        <TeamNotice kind="error" text={tw(lang, 'applyFailed')} raw={result.error} />
      )}
      <p>
        <a class="button" href="/workers/import">
          {tw(lang, 'uploadAnother')}
        </a>
      </p>
    </Layout>
  );
}
