import { SECRET_ENV } from '../../config/load';
import type { UpstreamName } from '../model';
import { type ConfigDocument, ConfigDocumentEditor } from './config-document';
import { field, pageContext, type WebApp, type WebContext } from './context';
import type { WebDeps } from './deps';
import { text } from './i18n';
import type { PageNotice } from './pages/terminals';
import { type SecretState, UpstreamsPage } from './pages/upstreams';
import type { UpstreamErrorLog } from './upstream-errors';

/** Secrets the page may set (never show): written to the config file, used after a restart. */
const SECRETS: ReadonlyArray<{ upstream: UpstreamName; key: string }> = [
  { upstream: 'sichuan', key: 'deviceKey' },
  { upstream: 'sichuan', key: 'sm4Key' },
  { upstream: 'sichuan', key: 'sm4Iv' },
  { upstream: 'deli', key: 'password' },
];

function upstreamSection(document: ConfigDocument, name: string): Record<string, unknown> | undefined {
  const upstreams = document.upstreams as Record<string, unknown> | undefined;
  const section = upstreams?.[name];
  return typeof section === 'object' && section !== null ? (section as Record<string, unknown>) : undefined;
}

export function registerUpstreamRoutes(app: WebApp, deps: WebDeps, errors: UpstreamErrorLog): void {
  const editor = deps.configFile ? new ConfigDocumentEditor(deps.configFile) : undefined;
  const page = (c: WebContext) => pageContext(c, deps.siteName);

  const secretStates = async (): Promise<SecretState[]> => {
    const document = editor
      ? await editor.read().catch(() => ({}) as ConfigDocument)
      : ({} as ConfigDocument);
    return SECRETS.map(({ upstream, key }) => {
      const env = SECRET_ENV.find((s) => s.path[1] === upstream && s.path[2] === key)?.env;
      const value = upstreamSection(document, upstream)?.[key];
      return {
        upstream,
        key,
        isSet: (typeof value === 'string' && value !== '') || Boolean(env && process.env[env]),
      };
    });
  };

  const render = async (c: WebContext, notice?: PageNotice, status: 200 | 400 = 200) =>
    c.html(
      <UpstreamsPage
        page={page(c)}
        upstreams={deps.health().upstreams}
        errors={(name) => errors.recent(name)}
        secrets={await secretStates()}
        editable={editor !== undefined}
        timezone={deps.timezone}
        notice={notice}
      />,
      status,
    );

  app.get('/upstreams', (c) => render(c));
  app.post('/upstreams/:name/retry', (c) => {
    const p = page(c);
    const ok = deps.retryNow(c.req.param('name') as UpstreamName);
    return render(
      c,
      ok ? { kind: 'ok', text: text(p.lang, 'retryStarted') } : { kind: 'error', text: 'unknown upstream' },
      ok ? 200 : 400,
    );
  });
  app.post('/upstreams/:name/secret', async (c) => {
    const p = page(c);
    const name = c.req.param('name');
    const body = await c.req.parseBody();
    const key = field(body, 'key');
    const value = typeof body['value'] === 'string' ? body['value'] : '';
    if (!editor) return render(c, { kind: 'error', text: text(p.lang, 'noConfigFile') }, 400);
    if (!SECRETS.some((s) => s.upstream === name && s.key === key) || !value) {
      return render(c, { kind: 'error', text: 'unknown secret or empty value' }, 400);
    }
    const result = await editor.edit((document) => {
      document.upstreams ??= {};
      const upstreams = document.upstreams as Record<string, Record<string, unknown>>;
      upstreams[name] ??= {};
      upstreams[name]![key] = value;
    });
    if (!result.ok)
      return render(
        c,
        { kind: 'error', text: text(p.lang, 'configProblems'), problems: result.problems },
        400,
      );
    deps.logger.info({ upstream: name, key }, 'web: upstream secret replaced (value not logged)');
    return render(c, { kind: 'ok', text: text(p.lang, 'secretSaved') });
  });
}
