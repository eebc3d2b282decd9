import type { Context, Hono } from 'hono';
import { getCookie } from 'hono/cookie';
import type { GuardEnv } from '../http/guard';
import { LANG_COOKIE, parseLang } from './i18n';
import type { PageContext } from './layout';

/** One part of the page: a hono sub-app that `createWebApp` mounts with `app.route(base, routes)`. */
export type PageRoutes = Hono<GuardEnv>;
export type WebContext = Context<GuardEnv>;

export function pageContext(c: WebContext, siteName: string): PageContext {
  return {
    lang: parseLang(getCookie(c, LANG_COOKIE)),
    siteName,
    csrf: c.get('session')?.csrf,
    path: c.req.path,
  };
}

/** A form field as a trimmed string ('' when absent or a file). */
export function field(body: Record<string, unknown>, name: string): string {
  const value = body[name];
  return typeof value === 'string' ? value.trim() : '';
}
