import { Hono } from 'hono';
import { clientAddress, type GuardEnv } from '../http/guard';
import { field, type PageRoutes, pageContext, type WebContext } from './context';
import type { WebDeps } from './deps';
import { text } from './i18n';
import type { PageAuth } from './page-auth';
import { SetupPage } from './pages/auth';

/** `/setup`: the first visitor chooses the admin password, once, when none is configured or stored. */
export function setupRoutes(deps: WebDeps, auth: PageAuth): PageRoutes {
  const routes = new Hono<GuardEnv>();
  routes.get('/', (c) => {
    if (auth.credentials.isSet) return c.redirect('/login', 303);
    return c.html(<SetupPage page={pageContext(c, deps.siteName)} />);
  });
  routes.post('/', (c) => setUp(c, deps, auth));
  return routes;
}

async function setUp(c: WebContext, deps: WebDeps, auth: PageAuth): Promise<Response> {
  const p = pageContext(c, deps.siteName);
  if (auth.credentials.isSet) return c.redirect('/login', 303);
  const wait = auth.limiter.take(clientAddress(c));
  if (wait > 0) return c.html(<SetupPage page={p} error={text(p.lang, 'tooManyAttempts')} />, 429);
  const body = await c.req.parseBody();
  const password = field(body, 'password');
  if (password !== field(body, 'repeat')) {
    return c.html(<SetupPage page={p} error={text(p.lang, 'passwordMismatch')} />, 400);
  }
  try {
    await auth.credentials.setFirst(password);
  } catch (error) {
    return c.html(<SetupPage page={p} error={(error as Error).message} />, 400);
  }
  deps.logger.info({ client: clientAddress(c) }, 'web: admin password set on first run');
  auth.startSession(c);
  return c.redirect('/', 303);
}
