import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context, MiddlewareHandler } from 'hono';
import { getCookie } from 'hono/cookie';
import { seeOther } from './redirect';
import { SESSION_COOKIE, type Session, type SessionStore, safeEqual } from './sessions';

export type GuardEnv = {
  Variables: {
    session: Session | undefined;
    /** True when the request came with the API bearer token instead of a session. */
    viaToken: boolean;
  };
};

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function clientAddress(c: Context): string {
  try {
    return getConnInfo(c).remote.address ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/**
 * A change must come from this page: its Origin (or, when a browser leaves that out, its Referer)
 * must be the origin the request was sent to. A cross-site form post fails here before any token.
 */
export function sameOrigin(c: Context): boolean {
  const host = c.req.header('host');
  if (!host) return false;
  const claimed = c.req.header('origin') ?? refererOrigin(c.req.header('referer'));
  if (!claimed || claimed === 'null') return false;
  try {
    return new URL(claimed).host === host;
  } catch {
    return false;
  }
}

function refererOrigin(referer: string | undefined): string | undefined {
  if (!referer) return undefined;
  try {
    return new URL(referer).origin;
  } catch {
    return undefined;
  }
}

async function csrfTokenOf(c: Context): Promise<string | undefined> {
  const header = c.req.header('x-csrf-token');
  if (header) return header;
  const type = c.req.header('content-type') ?? '';
  if (type.startsWith('application/x-www-form-urlencoded') || type.startsWith('multipart/form-data')) {
    // parseBody caches, so handlers read the same body afterwards.
    const body = await c.req.parseBody();
    const token = body['_csrf'];
    return typeof token === 'string' ? token : undefined;
  }
  return undefined;
}

/**
 * Every route behind it needs a session (or, under /api/, the bearer token), and every change
 * needs the same origin plus the session's CSRF token. `open` paths (login, first-run setup,
 * assets) need no session but their changes still need the same origin.
 */
export function guard(options: {
  readonly sessions: SessionStore;
  readonly apiToken?: string;
  readonly open: (path: string) => boolean;
}): MiddlewareHandler<GuardEnv> {
  return async (c, next) => {
    const path = c.req.path;
    const session = options.sessions.get(getCookie(c, SESSION_COOKIE));
    c.set('session', session);
    const bearer = c.req.header('authorization');
    const viaToken =
      path.startsWith('/api/') &&
      options.apiToken !== undefined &&
      bearer !== undefined &&
      safeEqual(bearer, `Bearer ${options.apiToken}`);
    c.set('viaToken', viaToken);
    const changing = !SAFE_METHODS.has(c.req.method);
    if (options.open(path)) {
      if (changing && !sameOrigin(c)) return c.text('cross-site request refused', 403);
      return next();
    }
    if (!session && !viaToken) {
      if (path.startsWith('/api/')) return c.json({ error: 'login or API token required' }, 401);
      return seeOther(c, '/login');
    }
    if (changing && !viaToken) {
      if (!sameOrigin(c)) return c.text('cross-site request refused', 403);
      const token = await csrfTokenOf(c);
      if (!token || !session || !safeEqual(token, session.csrf)) {
        return c.text('missing or wrong CSRF token; reload the page', 403);
      }
    }
    return next();
  };
}
