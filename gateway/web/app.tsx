import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { deleteCookie, setCookie } from 'hono/cookie';
import { AdminCredentials } from '../http/admin-credentials';
import { registerApiRoutes } from '../http/api';
import { clientAddress, type GuardEnv, guard } from '../http/guard';
import { AttemptLimiter, SESSION_COOKIE, SessionStore } from '../http/sessions';
import { readAsset } from './assets';
import { field, pageContext, type WebContext } from './context';
import { buildDashboard } from './dashboard-model';
import type { WebDeps } from './deps';
import { LANG_COOKIE, text } from './i18n';
import { AccountPage, LoginPage, SetupPage } from './pages/auth';
import { DashboardPage } from './pages/dashboard';
import { registerPunchRoutes } from './punch-routes';
import { registerTerminalRoutes } from './terminal-routes';
import { UpstreamErrorLog } from './upstream-errors';
import { registerUpstreamRoutes } from './upstream-routes';
import { registerWorkerRoutes } from './worker-routes';

const OPEN_PATHS = new Set(['/login', '/setup']);

/** Scripts only from this origin; styles inline too (uPlot sizes its canvas with style attributes). */
const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; " +
  "media-src 'self' blob:; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'";

export interface WebApp {
  readonly app: Hono<GuardEnv>;
  /** Loads the password and starts the punch index (which scans the journal in the background). */
  start(): Promise<void>;
  stop(): void;
}

/** The site manager's page and JSON API; mount with `app.route('/', web.app)`. */
/** Largest request body the page accepts (registration carries an ID photo and a live photo). */
export const MAX_UPLOAD_BYTES = 16 * 1024 * 1024;

export function createWebApp(given: WebDeps): WebApp {
  const errors = new UpstreamErrorLog();
  const deps: WebDeps = { ...given, health: () => errors.observe(given.health()) };
  const app = new Hono<GuardEnv>();
  const sessions = new SessionStore();
  const limiter = new AttemptLimiter(10, 60_000);
  const credentials = new AdminCredentials({ dataDir: deps.dataDir, configuredHash: deps.adminPasswordHash });
  const page = (c: WebContext) => pageContext(c, deps.siteName);

  app.use('*', async (c, next) => {
    await next();
    c.header('Content-Security-Policy', CSP);
    c.header('X-Content-Type-Options', 'nosniff');
    c.header('Referrer-Policy', 'same-origin');
    c.header('X-Frame-Options', 'DENY');
  });

  // Two photos from a phone camera fit easily; anything bigger is refused before it is read.
  app.use(
    '*',
    bodyLimit({
      maxSize: MAX_UPLOAD_BYTES,
      onError: (c) => c.text(`upload too large: at most ${MAX_UPLOAD_BYTES / 1024 / 1024} MB`, 413),
    }),
  );

  // Assets and the language switch need no login (the login page uses them).
  app.get('/assets/:name', (c) => {
    const asset = readAsset(c.req.param('name'));
    if (!asset) return c.notFound();
    if (c.req.header('if-none-match') === asset.etag) return c.body(null, 304);
    return c.body(Buffer.from(asset.body), 200, {
      'Content-Type': asset.type,
      ETag: asset.etag,
      'Cache-Control': c.req.query('v') ? 'public, max-age=31536000, immutable' : 'no-cache',
    });
  });
  app.get('/lang/:lang', (c) => {
    const lang = c.req.param('lang') === 'en' ? 'en' : 'zh';
    setCookie(c, LANG_COOKIE, lang, { path: '/', sameSite: 'Strict', maxAge: 365 * 86_400 });
    const back = c.req.query('back') ?? '/';
    // Only a local path: never an open redirect.
    return c.redirect(back.startsWith('/') && !back.startsWith('//') ? back : '/', 303);
  });

  app.use(
    '*',
    guard({
      sessions,
      apiToken: deps.apiToken,
      open: (path) => OPEN_PATHS.has(path) || path.startsWith('/assets/') || path.startsWith('/lang/'),
    }),
  );

  const startSession = (c: WebContext) => {
    const session = sessions.create();
    setCookie(c, SESSION_COOKIE, session.id, { path: '/', httpOnly: true, sameSite: 'Strict' });
    return session;
  };

  app.get('/login', (c) => {
    if (!credentials.isSet) return c.redirect('/setup', 303);
    if (c.get('session')) return c.redirect('/', 303);
    return c.html(<LoginPage page={page(c)} />);
  });
  app.post('/login', async (c) => {
    const p = page(c);
    const wait = limiter.take(clientAddress(c));
    if (wait > 0) {
      c.header('Retry-After', String(wait));
      return c.html(<LoginPage page={p} error={text(p.lang, 'tooManyAttempts')} />, 429);
    }
    if (!credentials.isSet) return c.redirect('/setup', 303);
    const body = await c.req.parseBody();
    if (!(await credentials.verify(field(body, 'password')))) {
      deps.logger.warn({ client: clientAddress(c) }, 'web: failed login');
      return c.html(<LoginPage page={p} error={text(p.lang, 'wrongPassword')} />, 401);
    }
    sessions.destroy(c.get('session')?.id);
    startSession(c);
    deps.logger.info({ client: clientAddress(c) }, 'web: login');
    return c.redirect('/', 303);
  });
  app.get('/setup', (c) => {
    if (credentials.isSet) return c.redirect('/login', 303);
    return c.html(<SetupPage page={page(c)} />);
  });
  app.post('/setup', async (c) => {
    const p = page(c);
    if (credentials.isSet) return c.redirect('/login', 303);
    const wait = limiter.take(clientAddress(c));
    if (wait > 0) return c.html(<SetupPage page={p} error={text(p.lang, 'tooManyAttempts')} />, 429);
    const body = await c.req.parseBody();
    const password = field(body, 'password');
    if (password !== field(body, 'repeat')) {
      return c.html(<SetupPage page={p} error={text(p.lang, 'passwordMismatch')} />, 400);
    }
    try {
      await credentials.setFirst(password);
    } catch (error) {
      return c.html(<SetupPage page={p} error={(error as Error).message} />, 400);
    }
    deps.logger.info({ client: clientAddress(c) }, 'web: admin password set on first run');
    startSession(c);
    return c.redirect('/', 303);
  });
  app.post('/logout', (c) => {
    sessions.destroy(c.get('session')?.id);
    deleteCookie(c, SESSION_COOKIE, { path: '/' });
    return c.redirect('/login', 303);
  });
  app.get('/account', (c) => c.html(<AccountPage page={page(c)} fromConfig={credentials.fromConfig} />));
  app.post('/account/password', async (c) => {
    const p = page(c);
    const body = await c.req.parseBody();
    const next = field(body, 'password');
    const render = (status: 200 | 400, notice: { error?: string; ok?: string }) =>
      c.html(<AccountPage page={p} fromConfig={credentials.fromConfig} {...notice} />, status);
    if (next !== field(body, 'repeat')) return render(400, { error: text(p.lang, 'passwordMismatch') });
    if (limiter.take(clientAddress(c)) > 0) return render(400, { error: text(p.lang, 'tooManyAttempts') });
    try {
      await credentials.change(field(body, 'current'), next);
    } catch (error) {
      return render(400, { error: (error as Error).message });
    }
    sessions.destroyAllBut(c.get('session')?.id);
    deps.logger.info({}, 'web: admin password changed');
    return render(200, { ok: text(p.lang, 'passwordChanged') });
  });

  app.get('/', (c) => c.html(<DashboardPage page={page(c)} data={buildDashboard(deps)} />));

  registerWorkerRoutes(app, deps);
  registerPunchRoutes(app, deps);
  registerTerminalRoutes(app, deps);
  registerUpstreamRoutes(app, deps, errors);
  registerApiRoutes(app, deps);

  return {
    app,
    start: async () => {
      await credentials.load();
      void deps.punches.start();
    },
    stop: () => deps.punches.stop(),
  };
}
