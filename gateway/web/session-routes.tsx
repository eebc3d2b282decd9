import { Hono } from 'hono';
import { deleteCookie } from 'hono/cookie';
import { clientAddress, type GuardEnv } from '../http/guard';
import { seeOther } from '../http/redirect';
import { SESSION_COOKIE } from '../http/sessions';
import { field, type PageRoutes, pageContext, type WebContext } from './context';
import { text } from './i18n';
import type { PageAuth } from './page-auth';
import { LoginPage } from './pages/auth';
import type { WebDeps } from './port';

/** `/login` and `/logout`: a session starts with the admin password and ends on request. */
export function sessionRoutes(deps: WebDeps, auth: PageAuth): PageRoutes {
  const routes = new Hono<GuardEnv>();
  routes.get('/login', (c) => {
    if (!auth.credentials.isSet) return seeOther(c, '/setup');
    if (c.get('session')) return seeOther(c, '/');
    return c.html(<LoginPage page={pageContext(c, deps.siteName)} />);
  });
  routes.post('/login', (c) => logIn(c, deps, auth));
  routes.post('/logout', (c) => {
    auth.sessions.destroy(c.get('session')?.id);
    deleteCookie(c, SESSION_COOKIE, { path: '/' });
    return seeOther(c, '/login');
  });
  return routes;
}

async function logIn(c: WebContext, deps: WebDeps, auth: PageAuth): Promise<Response> {
  const p = pageContext(c, deps.siteName);
  const wait = auth.limiter.take(clientAddress(c));
  if (wait > 0) {
    c.header('Retry-After', String(wait));
    return c.html(<LoginPage page={p} error={text(p.lang, 'tooManyAttempts')} />, 429);
  }
  if (!auth.credentials.isSet) return seeOther(c, '/setup');
  const body = await c.req.parseBody();
  if (!(await auth.credentials.verify(field(body, 'password')))) {
    deps.logger.warn({ client: clientAddress(c) }, 'web: failed login');
    return c.html(<LoginPage page={p} error={text(p.lang, 'wrongPassword')} />, 401);
  }
  // A new session id on login, so a session id planted before login is worth nothing.
  auth.sessions.destroy(c.get('session')?.id);
  auth.startSession(c);
  deps.logger.info({ client: clientAddress(c) }, 'web: login');
  return seeOther(c, '/');
}
