import type { Context } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';
import { AdminCredentials } from '../http/admin-credentials';
import { AttemptLimiter, SESSION_COOKIE, SessionStore } from '../http/sessions';
import { SetupCode } from '../http/setup-code';
import type { WebDeps } from './port';

/**
 * Who may use the page: the admin password, the one-time code that sets the first one, the
 * sessions, and one attempt limiter shared by login, first-run setup and password change (all
 * three guess at a secret).
 */
export class PageAuth {
  readonly sessions = new SessionStore();
  readonly limiter = new AttemptLimiter(10, 60_000);
  readonly credentials: AdminCredentials;
  readonly setupCode: SetupCode;

  constructor(private readonly deps: Pick<WebDeps, 'dataDir' | 'adminPasswordHash' | 'logger'>) {
    this.credentials = new AdminCredentials({
      dataDir: deps.dataDir,
      configuredHash: deps.adminPasswordHash,
    });
    this.setupCode = new SetupCode(deps.dataDir);
  }

  /**
   * Reads the stored password. Without one, makes (or reads) the setup code and logs it: the
   * installer reads it there or with `edge-gateway setup-code`, and types it on the first-run page.
   */
  async load(): Promise<void> {
    await this.credentials.load();
    if (this.credentials.isSet) {
      await this.setupCode.discard();
      return;
    }
    const code = await this.setupCode.prepare();
    this.deps.logger.warn(
      { dataDir: this.deps.dataDir },
      `first run: no admin password yet. Open the page and enter the setup code ${code} ` +
        '(also shown by `edge-gateway setup-code`) to choose one',
    );
  }

  startSession(c: Context): void {
    const session = this.sessions.create();
    setCookie(c, SESSION_COOKIE, session.id, { path: '/', httpOnly: true, sameSite: 'Strict' });
  }

  /** Whether the request carries a live session (without touching the guard's per-route state). */
  signedIn(c: Context): boolean {
    return this.sessions.get(getCookie(c, SESSION_COOKIE)) !== undefined;
  }
}
