import type { Context } from 'hono';
import { setCookie } from 'hono/cookie';
import { AdminCredentials } from '../http/admin-credentials';
import { AttemptLimiter, SESSION_COOKIE, SessionStore } from '../http/sessions';
import type { WebDeps } from './deps';

/**
 * Who may use the page: the admin password, the sessions, and one attempt limiter shared by
 * login, first-run setup and password change (all three guess at the same password).
 */
export class PageAuth {
  readonly sessions = new SessionStore();
  readonly limiter = new AttemptLimiter(10, 60_000);
  readonly credentials: AdminCredentials;

  constructor(deps: Pick<WebDeps, 'dataDir' | 'adminPasswordHash'>) {
    this.credentials = new AdminCredentials({
      dataDir: deps.dataDir,
      configuredHash: deps.adminPasswordHash,
    });
  }

  /** Reads the stored password, if any. */
  load(): Promise<void> {
    return this.credentials.load();
  }

  startSession(c: Context): void {
    const session = this.sessions.create();
    setCookie(c, SESSION_COOKIE, session.id, { path: '/', httpOnly: true, sameSite: 'Strict' });
  }
}
