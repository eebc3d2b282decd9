import { Hono } from 'hono';
import type { GuardEnv } from '../http/guard';
import type { UpstreamName } from '../model';
import { ConfigDocumentEditor } from './config-document';
import { field, type PageRoutes, pageContext, type WebContext } from './context';
import type { WebDeps } from './deps';
import { text } from './i18n';
import type { PageNotice } from './pages/terminals';
import { UpstreamsPage } from './pages/upstreams';
import type { UpstreamErrorLog } from './upstream-errors';
import { isPageSecret, secretStates, setSecret } from './upstream-secrets';

type Render = (c: WebContext, notice?: PageNotice, status?: 200 | 400) => Promise<Response>;

/** `/upstreams`: each platform's state and recent errors, retry now, and replacing its secrets. */
export function upstreamRoutes(deps: WebDeps, errors: UpstreamErrorLog): PageRoutes {
  const editor = deps.configFile ? new ConfigDocumentEditor(deps.configFile) : undefined;
  const render: Render = async (c, notice, status = 200) =>
    c.html(
      <UpstreamsPage
        page={pageContext(c, deps.siteName)}
        upstreams={deps.health().upstreams}
        errors={(name) => errors.recent(name)}
        secrets={await secretStates(editor)}
        editable={editor !== undefined}
        timezone={deps.timezone}
        notice={notice}
      />,
      status,
    );
  const routes = new Hono<GuardEnv>();
  routes.get('/', (c) => render(c));
  routes.post('/:name/retry', (c) => {
    const p = pageContext(c, deps.siteName);
    const ok = deps.retryNow(c.req.param('name') as UpstreamName);
    return render(
      c,
      ok ? { kind: 'ok', text: text(p.lang, 'retryStarted') } : { kind: 'error', text: 'unknown upstream' },
      ok ? 200 : 400,
    );
  });
  routes.post('/:name/secret', (c) => replaceSecret(c, c.req.param('name'), deps, editor, render));
  return routes;
}

async function replaceSecret(
  c: WebContext,
  name: string,
  deps: WebDeps,
  editor: ConfigDocumentEditor | undefined,
  render: Render,
): Promise<Response> {
  const p = pageContext(c, deps.siteName);
  const body = await c.req.parseBody();
  const key = field(body, 'key');
  const value = typeof body['value'] === 'string' ? body['value'] : '';
  if (!editor) return render(c, { kind: 'error', text: text(p.lang, 'noConfigFile') }, 400);
  if (!isPageSecret(name, key) || !value) {
    return render(c, { kind: 'error', text: 'unknown secret or empty value' }, 400);
  }
  const result = await editor.edit((document) => setSecret(document, name, key, value));
  if (!result.ok) {
    return render(c, { kind: 'error', text: text(p.lang, 'configProblems'), problems: result.problems }, 400);
  }
  deps.logger.info({ upstream: name, key }, 'web: upstream secret replaced (value not logged)');
  return render(c, { kind: 'ok', text: text(p.lang, 'secretSaved') });
}
