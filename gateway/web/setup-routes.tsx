import { Hono } from 'hono';
import { clientAddress, type GuardEnv } from '../http/guard';
import { MIN_PASSWORD_LENGTH } from '../http/password';
import { seeOther } from '../http/redirect';
import { field, type PageRoutes, pageContext, type WebContext } from './context';
import { sayPasswordProblem } from './form-words';
import { say, text } from './i18n';
import type { PageAuth } from './page-auth';
import { SetupPage } from './pages/auth';
import type { WebDeps } from './port';

/**
 * `/setup`: the admin password is chosen once, when none is configured or stored, by whoever holds
 * the one-time setup code (the gateway's log, or `edge-gateway setup-code` on the box). A failed
 * attempt answers with the page and its status (nothing changed, so a reload only counts another
 * attempt); success answers 303 to the dashboard.
 */
export function setupRoutes(deps: WebDeps, auth: PageAuth): PageRoutes {
  const routes = new Hono<GuardEnv>();
  routes.get('/', (c) => {
    if (auth.credentials.isSet) return seeOther(c, '/login');
    return c.html(<SetupPage page={pageContext(c, deps.siteName)} />);
  });
  routes.post('/', (c) => setUp(c, deps, auth));
  return routes;
}

async function setUp(c: WebContext, deps: WebDeps, auth: PageAuth): Promise<Response> {
  const p = pageContext(c, deps.siteName);
  if (auth.credentials.isSet) return seeOther(c, '/login');
  const wait = auth.limiter.take(clientAddress(c));
  if (wait > 0) {
    c.header('Retry-After', String(wait));
    return c.html(<SetupPage page={p} error={text(p.lang, 'tooManyAttempts')} />, 429);
  }
  const body = await c.req.parseBody();
  const password = field(body, 'password');
  if (password !== field(body, 'repeat')) {
    return c.html(<SetupPage page={p} error={text(p.lang, 'passwordMismatch')} />, 400);
  }
  if (password.length < MIN_PASSWORD_LENGTH) {
    const error = say(p.lang, 'passwordTooShort', { n: MIN_PASSWORD_LENGTH });
    return c.html(<SetupPage page={p} error={error} />, 400);
  }
  const code = field(body, 'code');
  // Claimed before the write: two posts with the right code cannot both set a password.
  if (!auth.setupCode.claim(code)) {
    deps.logger.warn({ client: clientAddress(c) }, 'web: first-run setup with a wrong setup code');
    return c.html(<SetupPage page={p} error={text(p.lang, 'wrongSetupCode')} />, 403);
  }
  try {
    await auth.credentials.setFirst(password);
  } catch (error) {
    auth.setupCode.restore(code);
    return c.html(
      <SetupPage page={p} error={sayPasswordProblem(p.lang, (error as Error).message).text} />,
      400,
    );
  }
  await auth.setupCode.discard();
  deps.logger.info({ client: clientAddress(c) }, 'web: admin password set on first run (setup code used)');
  auth.startSession(c);
  return seeOther(c, '/');
}
