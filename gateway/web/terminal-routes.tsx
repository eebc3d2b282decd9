import { ConfigDocumentEditor } from './config-document';
import { field, pageContext, type WebApp, type WebContext } from './context';
import type { WebDeps } from './deps';
import { text } from './i18n';
import {
  type PageNotice,
  TerminalFormPage,
  type TerminalFormValues,
  type TerminalRow,
  TerminalsPage,
} from './pages/terminals';

const FORM_FIELDS = [
  'id',
  'name',
  'driver',
  'direction',
  'transport',
  'host',
  'port',
  'path',
  'unitId',
  'sn',
  'pollSeconds',
] as const;
const NUMERIC_FIELDS = new Set(['port', 'unitId', 'pollSeconds']);
const ACTION_TIMEOUT_MS = 8000;

type RawTerminal = Record<string, unknown>;

function isRecord(value: unknown): value is RawTerminal {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Turns the form into the terminal's JSON, on top of what the file already had (so keys the form
 * does not show, such as commKey or profile, survive). A number field that does not look like a
 * number is kept as text, so the schema says what is wrong with it.
 */
function applyForm(base: RawTerminal, values: TerminalFormValues): RawTerminal {
  const next: RawTerminal = { ...base };
  for (const name of FORM_FIELDS) {
    const value = values[name] ?? '';
    if (value === '') delete next[name];
    else if (NUMERIC_FIELDS.has(name) && /^-?\d+(\.\d+)?$/.test(value)) next[name] = Number(value);
    else next[name] = value;
  }
  next.enabled = values.enabled === 'true';
  return next;
}

function formValues(raw: RawTerminal): Record<string, string> {
  const values: Record<string, string> = {};
  for (const name of FORM_FIELDS) if (raw[name] !== undefined) values[name] = String(raw[name]);
  values.enabled = raw.enabled === false ? 'false' : 'true';
  return values;
}

function withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${what}: no answer within ${ACTION_TIMEOUT_MS / 1000} s`)),
      ACTION_TIMEOUT_MS,
    );
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

export function registerTerminalRoutes(app: WebApp, deps: WebDeps): void {
  const editor = deps.configFile ? new ConfigDocumentEditor(deps.configFile) : undefined;
  const page = (c: WebContext) => pageContext(c, deps.siteName);

  const rawTerminals = async (): Promise<RawTerminal[]> => {
    if (!editor) return [];
    const document = await editor.read();
    return (document.terminals ?? []).filter(isRecord);
  };

  const list = async (c: WebContext, notice?: PageNotice, status: 200 | 400 | 502 = 200) => {
    const raws = editor ? await rawTerminals() : [];
    const rows: TerminalRow[] = raws.map((raw) => ({
      id: String(raw.id ?? ''),
      name: typeof raw.name === 'string' ? raw.name : '',
      driver: String(raw.driver ?? ''),
      address: raw.host ? `${raw.host}:${raw.port ?? ''}` : String(raw.path ?? raw.sn ?? ''),
      enabled: raw.enabled !== false,
      status: deps.terminal(String(raw.id))?.status(),
      rosterSync: deps.rosterSyncState?.(String(raw.id)),
    }));
    // Without a config file the running terminals are still shown (read-only).
    for (const handle of deps.terminals()) {
      if (rows.some((r) => r.id === handle.id)) continue;
      rows.push({
        id: handle.id,
        name: '',
        driver: handle.driver.kind,
        address: '',
        enabled: true,
        status: handle.status(),
      });
    }
    return c.html(
      <TerminalsPage
        page={page(c)}
        rows={rows}
        editable={editor !== undefined}
        canReconcile={deps.reconcileNow !== undefined}
        timezone={deps.timezone}
        notice={notice}
      />,
      status,
    );
  };

  app.get('/terminals', (c) => list(c));
  app.get('/terminals/new', (c) =>
    c.html(
      <TerminalFormPage
        page={page(c)}
        originalId=""
        values={{ driver: 'zk', direction: 'in', enabled: 'true' }}
      />,
    ),
  );
  app.get('/terminals/:id/edit', async (c) => {
    const raw = (await rawTerminals()).find((t) => t.id === c.req.param('id'));
    if (!raw) return c.notFound();
    return c.html(<TerminalFormPage page={page(c)} originalId={String(raw.id)} values={formValues(raw)} />);
  });

  app.post('/terminals/save', async (c) => {
    const p = page(c);
    if (!editor) return list(c, { kind: 'error', text: text(p.lang, 'noConfigFile') }, 400);
    const body = await c.req.parseBody();
    const values: Record<string, string> = { enabled: field(body, 'enabled') === 'true' ? 'true' : 'false' };
    for (const name of FORM_FIELDS) values[name] = field(body, name);
    const originalId = field(body, 'originalId');
    const result = await editor.edit((document) => {
      document.terminals ??= [];
      const terminals = document.terminals;
      const at = originalId ? terminals.findIndex((t) => isRecord(t) && t.id === originalId) : -1;
      const base = at >= 0 && isRecord(terminals[at]) ? (terminals[at] as RawTerminal) : {};
      if (at >= 0) terminals[at] = applyForm(base, values);
      else terminals.push(applyForm(base, values));
    });
    if (!result.ok) {
      return c.html(
        <TerminalFormPage
          page={p}
          originalId={originalId}
          values={values}
          notice={{ kind: 'error', text: text(p.lang, 'configProblems'), problems: result.problems }}
        />,
        400,
      );
    }
    await deps.reloadTerminals(result.config.terminals);
    deps.logger.info(
      { terminalId: values.id, edit: originalId ? 'changed' : 'added' },
      'web: terminal saved',
    );
    return list(c, { kind: 'ok', text: text(p.lang, 'saved') });
  });

  app.post('/terminals/:id/remove', async (c) => {
    const p = page(c);
    if (!editor) return list(c, { kind: 'error', text: text(p.lang, 'noConfigFile') }, 400);
    const id = c.req.param('id');
    const result = await editor.edit((document) => {
      document.terminals = (document.terminals ?? []).filter((t) => !(isRecord(t) && t.id === id));
    });
    if (!result.ok)
      return list(c, { kind: 'error', text: text(p.lang, 'configProblems'), problems: result.problems }, 400);
    await deps.reloadTerminals(result.config.terminals);
    deps.logger.info({ terminalId: id }, 'web: terminal removed');
    return list(c, { kind: 'ok', text: text(p.lang, 'saved') });
  });

  const action = (path: string, run: (id: string) => Promise<string>) => {
    app.post(`/terminals/:id/${path}`, async (c) => {
      const p = page(c);
      const id = c.req.param('id');
      try {
        const outcome = await withTimeout(run(id), `${id} ${path}`);
        return list(c, { kind: 'ok', text: `${id}: ${text(p.lang, 'ok')} ${outcome}` });
      } catch (error) {
        return list(
          c,
          { kind: 'error', text: `${id}: ${text(p.lang, 'failed')}: ${(error as Error).message}` },
          502,
        );
      }
    });
  };
  const handle = (id: string) => {
    const terminal = deps.terminal(id);
    if (!terminal) throw new Error('not running (disabled or unknown)');
    return terminal;
  };
  action('test', async (id) => {
    const time = await handle(id).driver.getTime();
    return 'wall' in time ? time.wall : new Date(time.utcMs).toISOString();
  });
  action('clock', async (id) => {
    const offset = await handle(id).checkClock(true);
    return `(offset was ${offset} s)`;
  });
  action('read', async (id) => {
    await handle(id).catchUpNow();
    return '';
  });
  action('reconcile', async (id) => {
    if (!deps.reconcileNow) throw new Error('reconciler not available');
    await deps.reconcileNow(id);
    return '';
  });
}
