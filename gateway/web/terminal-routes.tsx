import { Hono } from 'hono';
import type { GuardEnv } from '../http/guard';
import { ConfigDocumentEditor } from './config-document';
import { field, type PageRoutes, pageContext, type WebContext } from './context';
import type { WebDeps } from './deps';
import { text } from './i18n';
import { TerminalFormPage } from './pages/terminals';
import { terminalActionRoutes } from './terminal-actions';
import { applyTerminalForm, isRawTerminal, readTerminalForm, terminalFormValues } from './terminal-form';
import { TerminalList } from './terminal-list';

/**
 * `/terminals`: the list, add/edit/remove in the config file the gateway was started with
 * (validated by the same schema, then applied live), and the per-terminal actions.
 */
export function terminalRoutes(deps: WebDeps): PageRoutes {
  const list = new TerminalList(
    deps,
    deps.configFile ? new ConfigDocumentEditor(deps.configFile) : undefined,
  );
  const routes = new Hono<GuardEnv>();
  routes.get('/', (c) => list.render(c));
  routes.get('/new', (c) =>
    c.html(
      <TerminalFormPage
        page={pageContext(c, deps.siteName)}
        originalId=""
        values={{ driver: 'zk', direction: 'in', enabled: 'true' }}
      />,
    ),
  );
  routes.get('/:id/edit', async (c) => {
    const raw = (await list.raw()).find((t) => t.id === c.req.param('id'));
    if (!raw) return c.notFound();
    return c.html(
      <TerminalFormPage
        page={pageContext(c, deps.siteName)}
        originalId={String(raw.id)}
        values={terminalFormValues(raw)}
      />,
    );
  });
  routes.post('/save', (c) => saveTerminal(c, deps, list));
  routes.post('/:id/remove', (c) => removeTerminal(c, deps, list));
  routes.route('/', terminalActionRoutes(deps, list));
  return routes;
}

/** Adds a terminal, or changes the one the form was opened on (`originalId`; its id may change). */
async function saveTerminal(c: WebContext, deps: WebDeps, list: TerminalList) {
  const p = pageContext(c, deps.siteName);
  if (!list.editor) return list.render(c, { kind: 'error', text: text(p.lang, 'noConfigFile') }, 400);
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
    const notice = {
      kind: 'error' as const,
      text: text(p.lang, 'configProblems'),
      problems: result.problems,
    };
    return c.html(<TerminalFormPage page={p} originalId={originalId} values={values} notice={notice} />, 400);
  }
  await deps.reloadTerminals(result.config.terminals);
  deps.logger.info({ terminalId: values.id, edit: originalId ? 'changed' : 'added' }, 'web: terminal saved');
  return list.render(c, { kind: 'ok', text: text(p.lang, 'saved') });
}

async function removeTerminal(c: WebContext, deps: WebDeps, list: TerminalList) {
  const p = pageContext(c, deps.siteName);
  if (!list.editor) return list.render(c, { kind: 'error', text: text(p.lang, 'noConfigFile') }, 400);
  const id = c.req.param('id');
  const result = await list.editor.edit((document) => {
    document.terminals = (document.terminals ?? []).filter((t) => !(isRawTerminal(t) && t.id === id));
  });
  if (!result.ok) {
    return list.render(
      c,
      { kind: 'error', text: text(p.lang, 'configProblems'), problems: result.problems },
      400,
    );
  }
  await deps.reloadTerminals(result.config.terminals);
  deps.logger.info({ terminalId: id }, 'web: terminal removed');
  return list.render(c, { kind: 'ok', text: text(p.lang, 'saved') });
}
