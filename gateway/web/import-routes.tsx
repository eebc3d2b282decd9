import { Hono } from 'hono';
import type { GuardEnv } from '../http/guard';
import { seeOther } from '../http/redirect';
import { type PageRoutes, pageContext, type WebContext } from './context';
import { Flash } from './flash';
import { MAX_IMPORT_BYTES, readTableFile } from './import-file';
import { countRows, findHeader, planChanges, planImport } from './import-plan';
import { ImportPreviews, type ImportResult, type StoredPreview } from './import-previews';
import {
  ImportPage,
  ImportPreviewPage,
  ImportResultPage,
  PREVIEW_SHOWS,
  type WorkerRef,
} from './pages/import';
import type { WebDeps } from './port';
import { type ImportProblem, sayImportProblem } from './team-words';

const BASE = '/workers/import';
/** A file name is shown back as data; a hostile one is escaped, a long one cut. */
const MAX_FILE_NAME = 120;

/**
 * `/workers/import`: team and employer from an .xlsx or .csv file. The upload (POST) reads the file
 * and plans it against the roster, keeps the plan in memory under a token and answers 303 to its
 * preview; "apply" (POST) applies the plan's changes in one `roster.apply` and answers 303 to the
 * result. Mounted before `/workers`, whose `/:id` would take "import".
 */
export function importRoutes(deps: WebDeps, previews = new ImportPreviews()): PageRoutes {
  const problems = new Flash<ImportProblem>();
  const routes = new Hono<GuardEnv>();
  const workerRef = (id: string): WorkerRef | undefined => {
    const worker = deps.roster.get(id);
    return worker ? { id: worker.id, name: worker.name, pin: worker.pin } : undefined;
  };

  routes.get('/', (c) => {
    const p = pageContext(c, deps.siteName);
    const problem = problems.take(c);
    return c.html(<ImportPage page={p} problem={problem ? sayImportProblem(p.lang, problem) : undefined} />);
  });

  routes.post('/', async (c) => {
    const read = await readUpload(c, deps);
    if ('problem' in read) {
      problems.put(c, read.problem);
      return seeOther(c, BASE);
    }
    const token = previews.put(owner(c), read.preview);
    deps.logger.info(
      { file: read.preview.fileName, rows: read.preview.plan.rows.length, ...countRows(read.preview.plan) },
      'web: team import previewed',
    );
    return seeOther(c, `${BASE}/${token}`);
  });

  routes.get('/:token', (c) => {
    const token = c.req.param('token');
    const preview = previews.peek(owner(c), token);
    if (!preview) return expired(c, deps);
    const show = PREVIEW_SHOWS.find((s) => s === c.req.query('show')) ?? 'all';
    return c.html(
      <ImportPreviewPage
        page={pageContext(c, deps.siteName)}
        token={token}
        preview={preview}
        worker={workerRef}
        show={show}
        pageNo={Math.max(1, Number(c.req.query('page')) || 1)}
      />,
    );
  });

  routes.post('/:token/apply', async (c) => {
    const token = c.req.param('token');
    const outcome = previews.claim(owner(c), token, (preview) => apply(deps, preview));
    if (!outcome) {
      problems.put(c, { code: 'expired' });
      return seeOther(c, BASE);
    }
    await outcome;
    return seeOther(c, `${BASE}/${token}/result`);
  });

  routes.get('/:token/result', async (c) => {
    const result = await previews.result(owner(c), c.req.param('token'));
    if (!result) return expired(c, deps);
    return c.html(
      <ImportResultPage page={pageContext(c, deps.siteName)} result={result} worker={workerRef} />,
    );
  });

  return routes;
}

/** Previews belong to the session that uploaded the file (the guard lets no request in without one). */
function owner(c: WebContext): string {
  return c.get('session')?.id ?? '';
}

function expired(c: WebContext, deps: WebDeps): Response | Promise<Response> {
  const p = pageContext(c, deps.siteName);
  return c.html(<ImportPage page={p} problem={sayImportProblem(p.lang, { code: 'expired' })} />, 404);
}

async function readUpload(
  c: WebContext,
  deps: WebDeps,
): Promise<{ readonly preview: StoredPreview } | { readonly problem: ImportProblem }> {
  const body = await c.req.parseBody();
  const file = body['file'];
  if (!(file instanceof File) || file.size === 0) {
    return { problem: file instanceof File && file.name ? { code: 'empty' } : { code: 'noFile' } };
  }
  // Told before a byte is read: the app's own body limit (security.ts) is far above this.
  if (file.size > MAX_IMPORT_BYTES)
    return { problem: { code: 'tooLarge', bytes: file.size, max: MAX_IMPORT_BYTES } };
  const read = await readTableFile(new Uint8Array(await file.arrayBuffer()));
  if (!read.ok) {
    deps.logger.info({ file: file.name, problem: read.problem }, 'web: team import file refused');
    return { problem: read.problem };
  }
  const header = findHeader(read.table.rows);
  if (!header.ok) return { problem: header.problem };
  const plan = planImport(read.table.rows, header, deps.roster.list());
  return {
    preview: { fileName: [...file.name].slice(0, MAX_FILE_NAME).join(''), format: read.table.format, plan },
  };
}

/** The plan's changes in one roster write; the rows that changed nothing or matched nobody are counted. */
async function apply(deps: WebDeps, preview: StoredPreview): Promise<ImportResult> {
  const changes = planChanges(preview.plan, (id) => deps.roster.get(id));
  const gone = preview.plan.rows.filter(
    (row) => row.status === 'change' && row.workerId && !deps.roster.get(row.workerId),
  ).length;
  try {
    if (changes.length > 0) await deps.roster.apply(changes);
  } catch (error) {
    deps.logger.warn({ file: preview.fileName, error: (error as Error).message }, 'web: team import failed');
    throw error;
  }
  const applied = changes.map((change) => change.identity.gatewayId!);
  deps.logger.info({ file: preview.fileName, applied: applied.length }, 'web: team import applied');
  return { ok: true, applied, skipped: preview.plan.rows.length - applied.length - gone, gone };
}
