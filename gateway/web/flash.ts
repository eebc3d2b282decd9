import type { Session } from '../http/sessions';
import type { WebContext } from './context';

/**
 * What a form's POST leaves for the page its 303 leads to (post/redirect/get): the outcome, and on
 * an error the values typed, so the form comes back filled. Kept per session in memory and read
 * once, so a reload of that page shows the page, not the outcome again, and posts nothing.
 * One `Flash` per part, typed by what that part shows.
 */
export class Flash<T> {
  // Keyed by the session object: when the session ends, its flash goes with it.
  private readonly pending = new WeakMap<Session, T>();

  put(c: WebContext, value: T): void {
    const session = c.get('session');
    if (session) this.pending.set(session, value);
  }

  take(c: WebContext): T | undefined {
    const session = c.get('session');
    if (!session) return undefined;
    const value = this.pending.get(session);
    this.pending.delete(session);
    return value;
  }
}
