import { Hono } from 'hono';
import { setCookie } from 'hono/cookie';
import type { GuardEnv } from '../http/guard';
import { seeOther } from '../http/redirect';
import { readAsset } from './assets';
import type { PageRoutes } from './context';
import { LANG_COOKIE } from './i18n';

/** Paths the guard lets through without a session: the login and first-run pages and what they load. */
export function isOpenPath(path: string): boolean {
  return path === '/login' || path === '/setup' || path.startsWith('/assets/') || path.startsWith('/lang/');
}

/** `/assets/:name`: the page's files from the manifest, cached for good when the URL carries a hash. */
export function assetRoutes(): PageRoutes {
  const routes = new Hono<GuardEnv>();
  routes.get('/:name', (c) => {
    const asset = readAsset(c.req.param('name'));
    if (!asset) return c.notFound();
    if (c.req.header('if-none-match') === asset.etag) return c.body(null, 304);
    return c.body(Buffer.from(asset.body), 200, {
      'Content-Type': asset.type,
      ETag: asset.etag,
      'Cache-Control': c.req.query('v') ? 'public, max-age=31536000, immutable' : 'no-cache',
    });
  });
  return routes;
}

/** `/lang/:lang`: the language switch, a cookie and a way back. */
export function langRoutes(): PageRoutes {
  const routes = new Hono<GuardEnv>();
  routes.get('/:lang', (c) => {
    const lang = c.req.param('lang') === 'en' ? 'en' : 'zh';
    setCookie(c, LANG_COOKIE, lang, { path: '/', sameSite: 'Strict', maxAge: 365 * 86_400 });
    // Only a path on this origin: `/\evil.example` or `/\t/evil.example` would leave it.
    return seeOther(c, c.req.query('back'));
  });
  return routes;
}
