import { Hono } from 'hono';
import { clientAddress, type GuardEnv } from '../http/guard';
import { field, type PageRoutes, pageContext, type WebContext } from './context';
import type { WebDeps } from './deps';
import { text } from './i18n';
import type { PageAuth } from './page-auth';
import { AccountPage } from './pages/auth';

/** `/account`: the admin password change (disabled when the configuration holds the hash). */
export function accountRoutes(deps: WebDeps, auth: PageAuth): PageRoutes {
  const routes = new Hono<GuardEnv>();
  routes.get('/', (c) =>
    c.html(<AccountPage page={pageContext(c, deps.siteName)} fromConfig={auth.credentials.fromConfig} />),
  );
  routes.post('/password', (c) => changePassword(c, deps, auth));
  return routes;
}

async function changePassword(c: WebContext, deps: WebDeps, auth: PageAuth): Promise<Response> {
  const p = pageContext(c, deps.siteName);
  const body = await c.req.parseBody();
  const next = field(body, 'password');
  const render = (status: 200 | 400, notice: { error?: string; ok?: string }) =>
    c.html(<AccountPage page={p} fromConfig={auth.credentials.fromConfig} {...notice} />, status);
  if (next !== field(body, 'repeat')) return render(400, { error: text(p.lang, 'passwordMismatch') });
  if (auth.limiter.take(clientAddress(c)) > 0) return render(400, { error: text(p.lang, 'tooManyAttempts') });
  try {
    await auth.credentials.change(field(body, 'current'), next);
  } catch (error) {
    return render(400, { error: (error as Error).message });
  }
  // Whoever knew the old password is logged out; the one who changed it stays.
  auth.sessions.destroyAllBut(c.get('session')?.id);
  deps.logger.info({}, 'web: admin password changed');
  return render(200, { ok: text(p.lang, 'passwordChanged') });
}
