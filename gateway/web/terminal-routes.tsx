import { Hono } from 'hono';
import type { GuardEnv } from '../http/guard';
import { seeOther } from '../http/redirect';
import { ConfigDocumentEditor } from './config-document';
import { field, type PageRoutes, pageContext, type WebContext } from './context';
import { Flash } from './flash';
import { text } from './i18n';
import { type PageNotice, TerminalFormPage } from './pages/terminals';
import type { WebDeps } from './port';
import { terminalActionRoutes } from './terminal-actions';
import { applyTerminalForm, isRawTerminal, readTerminalForm, terminalFormValues } from './terminal-form';
import { TerminalList } from './terminal-list';

/** A form that was not saved comes back as it was typed, with the schema's problems. */
interface UnsavedForm {
  readonly originalId: string;
  readonly values: Record<string, string>;
  readonly notice: PageNotice;
}

/** The form's page: `/terminals/new`, or the terminal's edit page while it is still in the file. */
function formPath(originalId: string): string {
  return originalId ? `/terminals/${encodeURIComponent(originalId)}/edit` : '/terminals/new';
}

/**
 * `/terminals`: the list, add/edit/remove in the config file the gateway was started with
 * (validated by the same schema, then applied live), and the per-terminal actions. Every POST
 * answers 303 to a page that shows its outcome once (post/redirect/get).
 */
export function terminalRoutes(deps: WebDeps): PageRoutes {
  const list = new TerminalList(
    deps,
    deps.configFile ? new ConfigDocumentEditor(deps.configFile) : undefined,
  );
  const notices = new Flash<PageNotice>();
  const unsaved = new Flash<UnsavedForm>();
  const routes = new Hono<GuardEnv>();
  routes.get('/', (c) => list.render(c, notices.take(c)));
  routes.get('/new', (c) => {
    const form = unsaved.take(c);
    return c.html(
      <TerminalFormPage
        page={pageContext(c, deps.siteName)}
        originalId={form?.originalId ?? ''}
        values={form?.values ?? { driver: 'zk', direction: 'in', enabled: 'true' }}
        notice={form?.notice}
      />,
    );
  });
  routes.get('/:id/edit', async (c) => {
    const form = unsaved.take(c);
    const raw = (await list.raw()).find((t) => t.id === c.req.param('id'));
    if (!raw) return c.notFound();
    return c.html(
      <TerminalFormPage
        page={pageContext(c, deps.siteName)}
        originalId={String(raw.id)}
        values={form?.values ?? terminalFormValues(raw)}
        notice={form?.notice}
      />,
    );
  });
  routes.post('/save', async (c) => {
    const outcome = await saveTerminal(c, deps, list);
    if ('form' in outcome) {
      unsaved.put(c, outcome.form);
      return seeOther(c, formPath(outcome.form.originalId));
    }
    notices.put(c, outcome.notice);
    return seeOther(c, '/terminals');
  });
  routes.post('/:id/remove', async (c) => {
    notices.put(c, await removeTerminal(c, deps, list));
    return seeOther(c, '/terminals');
  });
  routes.route('/', terminalActionRoutes(deps, notices));
  return routes;
}

/** Adds a terminal, or changes the one the form was opened on (`originalId`; its id may change). */
async function saveTerminal(
  c: WebContext,
  deps: WebDeps,
  list: TerminalList,
): Promise<{ notice: PageNotice } | { form: UnsavedForm }> {
  const p = pageContext(c, deps.siteName);
  if (!list.editor) return { notice: { kind: 'error', text: text(p.lang, 'noConfigFile') } };
  const body = await c.req.parseBody();
  const values = readTerminalForm(body);
  const originalId = field(body, 'originalId');
  const result = await list.editor.edit((document) => {
    document.terminals ??= [];
    const terminals = document.terminals;
    const at = originalId ? terminals.findIndex((t) => isRawTerminal(t) && t.id === originalId) : -1;
    const base = at >= 0 && isRawTerminal(terminals[at]) ? terminals[at] : {};
    if (at >= 0) terminals[at] = applyTerminalForm(base, values);
    else terminals.push(applyTerminalForm(base, values));
  });
  if (!result.ok) {
    const notice: PageNotice = {
      kind: 'error',
      text: text(p.lang, 'configProblems'),
      problems: result.problems,
    };
    return { form: { originalId, values, notice } };
  }
  await deps.reloadTerminals(result.config.terminals);
  deps.logger.info({ terminalId: values.id, edit: originalId ? 'changed' : 'added' }, 'web: terminal saved');
  return { notice: { kind: 'ok', text: text(p.lang, 'saved') } };
}

async function removeTerminal(c: WebContext, deps: WebDeps, list: TerminalList): Promise<PageNotice> {
  const p = pageContext(c, deps.siteName);
  if (!list.editor) return { kind: 'error', text: text(p.lang, 'noConfigFile') };
  const id = c.req.param('id');
  const result = await list.editor.edit((document) => {
    document.terminals = (document.terminals ?? []).filter((t) => !(isRawTerminal(t) && t.id === id));
  });
  if (!result.ok) return { kind: 'error', text: text(p.lang, 'configProblems'), problems: result.problems };
  await deps.reloadTerminals(result.config.terminals);
  deps.logger.info({ terminalId: id }, 'web: terminal removed');
  return { kind: 'ok', text: text(p.lang, 'saved') };
}
