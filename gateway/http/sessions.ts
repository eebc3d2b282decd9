import { randomBytes, timingSafeEqual } from 'node:crypto';

export const SESSION_COOKIE = 'eg_session';
const IDLE_MS = 12 * 3_600_000;
const MAX_SESSIONS = 1000;

export interface Session {
  readonly id: string;
  /** Sent back with every change (form field `_csrf` or header `X-CSRF-Token`). */
  readonly csrf: string;
  lastSeenMs: number;
}

/**
 * Sessions live in memory: a restart logs everyone out, which a site box can afford, and no
 * session secret sits on disk. A session idle for 12 hours ends.
 */
export class SessionStore {
  private readonly sessions = new Map<string, Session>();

  constructor(private readonly now: () => number = Date.now) {}

  create(): Session {
    this.sweep();
    const session: Session = {
      id: randomBytes(32).toString('base64url'),
      csrf: randomBytes(24).toString('base64url'),
      lastSeenMs: this.now(),
    };
    this.sessions.set(session.id, session);
    return session;
  }

  get(id: string | undefined): Session | undefined {
    if (!id) return undefined;
    const session = this.sessions.get(id);
    if (!session) return undefined;
    if (this.now() - session.lastSeenMs > IDLE_MS) {
      this.sessions.delete(id);
      return undefined;
    }
    session.lastSeenMs = this.now();
    return session;
  }

  destroy(id: string | undefined): void {
    if (id) this.sessions.delete(id);
  }

  /** A password change ends every other session. */
  destroyAllBut(keep: string | undefined): void {
    for (const id of [...this.sessions.keys()]) if (id !== keep) this.sessions.delete(id);
  }

  private sweep(): void {
    const now = this.now();
    for (const [id, s] of this.sessions) if (now - s.lastSeenMs > IDLE_MS) this.sessions.delete(id);
    // Beyond this, the oldest go: an attacker cannot grow memory by logging in in a loop.
    while (this.sessions.size >= MAX_SESSIONS) {
      const oldest = this.sessions.keys().next().value;
      if (oldest === undefined) break;
      this.sessions.delete(oldest);
    }
  }
}

export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * At most `limit` attempts per client in any `windowMs`; the next is refused until the oldest
 * leaves the window. Every attempt counts, right or wrong, so guessing is slow either way.
 */
export class AttemptLimiter {
  private readonly attempts = new Map<string, number[]>();

  constructor(
    private readonly limit = 10,
    private readonly windowMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Records an attempt; returns seconds to wait when it is over the limit, else 0. */
  take(client: string): number {
    const now = this.now();
    if (this.attempts.size > 10_000) this.attempts.clear();
    const recent = (this.attempts.get(client) ?? []).filter((t) => now - t < this.windowMs);
    if (recent.length >= this.limit) {
      this.attempts.set(client, recent);
      return Math.max(1, Math.ceil((recent[0]! + this.windowMs - now) / 1000));
    }
    recent.push(now);
    this.attempts.set(client, recent);
    return 0;
  }
}
