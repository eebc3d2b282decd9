import { Hono } from 'hono';
import { clientAddress, type GuardEnv } from '../http/guard';
import { seeOther } from '../http/redirect';
import { field, type PageRoutes, pageContext, type WebContext } from './context';
import { Flash } from './flash';
import { sayPasswordProblem } from './form-words';
import { text } from './i18n';
import type { PageAuth } from './page-auth';
import { AccountPage } from './pages/auth';
import type { WebDeps } from './port';

type Outcome = { error?: string; ok?: string };

/**
 * `/account`: the admin password change (disabled when the configuration holds the hash). The POST
 * answers 303 back to `/account`, which shows the outcome once (post/redirect/get).
 */
export function accountRoutes(deps: WebDeps, auth: PageAuth): PageRoutes {
  const flash = new Flash<Outcome>();
  const routes = new Hono<GuardEnv>();
  routes.get('/', (c) =>
    c.html(
      <AccountPage
        page={pageContext(c, deps.siteName)}
        fromConfig={auth.credentials.fromConfig}
        {...(flash.take(c) ?? {})}
      />,
    ),
  );
  routes.post('/password', async (c) => {
    flash.put(c, await changePassword(c, deps, auth));
    return seeOther(c, '/account');
  });
  return routes;
}

async function changePassword(c: WebContext, deps: WebDeps, auth: PageAuth): Promise<Outcome> {
  const p = pageContext(c, deps.siteName);
  const body = await c.req.parseBody();
  const next = field(body, 'password');
  if (next !== field(body, 'repeat')) return { error: text(p.lang, 'passwordMismatch') };
  if (auth.limiter.take(clientAddress(c)) > 0) return { error: text(p.lang, 'tooManyAttempts') };
  try {
    await auth.credentials.change(field(body, 'current'), next);
  } catch (error) {
    return { error: sayPasswordProblem(p.lang, (error as Error).message).text };
  }
  // Whoever knew the old password is logged out; the one who changed it stays.
  auth.sessions.destroyAllBut(c.get('session')?.id);
  deps.logger.info({}, 'web: admin password changed');
  return { ok: text(p.lang, 'passwordChanged') };
}
