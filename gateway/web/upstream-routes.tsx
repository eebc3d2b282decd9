import { Hono } from 'hono';
import type { GuardEnv } from '../http/guard';
import { seeOther } from '../http/redirect';
import type { UpstreamName } from '../model';
import { ConfigDocumentEditor } from './config-document';
import { field, type PageRoutes, pageContext, type WebContext } from './context';
import { Flash } from './flash';
import { text } from './i18n';
import type { PageNotice } from './pages/terminals';
import { UpstreamsPage } from './pages/upstreams';
import type { WebDeps } from './port';
import type { UpstreamErrorLog } from './upstream-errors';
import { isPageSecret, secretStates, setSecret } from './upstream-secrets';

/**
 * `/upstreams`: each platform's state and recent errors, retry now, and replacing its secrets. Each
 * POST answers 303 back to `/upstreams`, which shows its outcome once (post/redirect/get).
 */
export function upstreamRoutes(deps: WebDeps, errors: UpstreamErrorLog): PageRoutes {
  const editor = deps.configFile ? new ConfigDocumentEditor(deps.configFile) : undefined;
  const notices = new Flash<PageNotice>();
  const routes = new Hono<GuardEnv>();
  routes.get('/', async (c) =>
    c.html(
      <UpstreamsPage
        page={pageContext(c, deps.siteName)}
        upstreams={deps.health().upstreams}
        errors={(name) => errors.recent(name)}
        secrets={await secretStates(editor)}
        editable={editor !== undefined}
        timezone={deps.timezone}
        notice={notices.take(c)}
      />,
    ),
  );
  routes.post('/:name/retry', (c) => {
    const p = pageContext(c, deps.siteName);
    const ok = deps.retryNow(c.req.param('name') as UpstreamName);
    notices.put(
      c,
      ok
        ? { kind: 'ok', text: text(p.lang, 'retryStarted') }
        : { kind: 'error', text: text(p.lang, 'unknownUpstream') },
    );
    return seeOther(c, '/upstreams');
  });
  routes.post('/:name/secret', async (c) => {
    notices.put(c, await replaceSecret(c, c.req.param('name'), deps, editor));
    return seeOther(c, '/upstreams');
  });
  return routes;
}

async function replaceSecret(
  c: WebContext,
  name: string,
  deps: WebDeps,
  editor: ConfigDocumentEditor | undefined,
): Promise<PageNotice> {
  const p = pageContext(c, deps.siteName);
  const body = await c.req.parseBody();
  const key = field(body, 'key');
  const value = typeof body['value'] === 'string' ? body['value'] : '';
  if (!editor) return { kind: 'error', text: text(p.lang, 'noConfigFile') };
  if (!isPageSecret(name, key) || !value) return { kind: 'error', text: text(p.lang, 'unknownSecret') };
  const result = await editor.edit((document) => setSecret(document, name, key, value));
  if (!result.ok) return { kind: 'error', text: text(p.lang, 'configProblems'), problems: result.problems };
  deps.logger.info({ upstream: name, key }, 'web: upstream secret replaced (value not logged)');
  return { kind: 'ok', text: text(p.lang, 'secretSaved') };
}
