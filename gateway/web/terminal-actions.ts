import { Hono } from 'hono';
import type { GuardEnv } from '../http/guard';
import { seeOther } from '../http/redirect';
import { sayError } from './alert-words';
import { type PageRoutes, pageContext } from './context';
import { terminalLabel } from './dashboard-model';
import type { Flash } from './flash';
import { type Lang, say, text } from './i18n';
import type { PageNotice } from './pages/terminals';
import type { TerminalHandle, WebDeps } from './port';
import { formatTime, formatWallClock } from './time-format';

/** A terminal that does not answer must not hold the page: the manager sees it failed and why. */
const ACTION_TIMEOUT_MS = 8000;

type Action = (id: string, lang: Lang) => Promise<string>;

/** The action's terminal is not running: said in the reader's words, not as an error message. */
class TerminalNotRunningError extends Error {}

/**
 * `/terminals/:id/{test,clock,read,reconcile}`: one-click actions on a running terminal. Each answers
 * 303 to `/terminals`, which shows the outcome once: reloading it runs nothing again.
 */
export function terminalActionRoutes(deps: WebDeps, notices: Flash<PageNotice>): PageRoutes {
  const running = (id: string): TerminalHandle => {
    const terminal = deps.terminal(id);
    if (!terminal) throw new TerminalNotRunningError(`${id}: not running (disabled or unknown)`);
    return terminal;
  };
  const actions: Record<string, Action> = {
    test: async (id, lang) => {
      const time = await running(id).driver.getTime();
      const shown = 'wall' in time ? formatWallClock(time.wall) : formatTime(time.utcMs, deps.timezone);
      return say(lang, 'terminalClockIs', { time: shown });
    },
    clock: async (id, lang) => say(lang, 'offsetWas', { n: await running(id).checkClock(true) }),
    read: async (id) => {
      await running(id).catchUpNow();
      return '';
    },
    reconcile: async (id) => {
      await deps.reconcileNow(id);
      return '';
    },
  };
  const routes = new Hono<GuardEnv>();
  for (const [name, run] of Object.entries(actions)) {
    routes.post(`/:id/${name}`, async (c) => {
      const p = pageContext(c, deps.siteName);
      const id = c.req.param('id');
      const named = `${terminalLabel(deps, id)}${p.lang === 'en' ? ': ' : '：'}`;
      try {
        const outcome = await withTimeout(run(id, p.lang), `${id} ${name}`);
        notices.put(c, { kind: 'ok', text: `${named}${text(p.lang, 'ok')} ${outcome}`.trim() });
      } catch (error) {
        const cause =
          error instanceof TerminalNotRunningError
            ? { text: text(p.lang, 'notRunning') }
            : sayError(p.lang, (error as Error).message);
        notices.put(c, {
          kind: 'error',
          text: `${named}${text(p.lang, 'failed')} · ${cause.text}`,
          raw: cause.raw,
        });
      }
      return seeOther(c, '/terminals');
    });
  }
  return routes;
}

function withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${what}: no answer within ${ACTION_TIMEOUT_MS / 1000} s`)),
      ACTION_TIMEOUT_MS,
    );
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
