import { Hono } from 'hono';
import type { GuardEnv } from '../http/guard';
import { type PageRoutes, pageContext } from './context';
import type { TerminalHandle, WebDeps } from './deps';
import { text } from './i18n';
import type { TerminalList } from './terminal-list';

/** A terminal that does not answer must not hold the page: the manager sees it failed and why. */
const ACTION_TIMEOUT_MS = 8000;

type Action = (id: string) => Promise<string>;

/** `/terminals/:id/{test,clock,read,reconcile}`: one-click actions on a running terminal. */
export function terminalActionRoutes(deps: WebDeps, list: TerminalList): PageRoutes {
  const running = (id: string): TerminalHandle => {
    const terminal = deps.terminal(id);
    if (!terminal) throw new Error('not running (disabled or unknown)');
    return terminal;
  };
  const actions: Record<string, Action> = {
    test: async (id) => {
      const time = await running(id).driver.getTime();
      return 'wall' in time ? time.wall : new Date(time.utcMs).toISOString();
    },
    clock: async (id) => `(offset was ${await running(id).checkClock(true)} s)`,
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
      try {
        const outcome = await withTimeout(run(id), `${id} ${name}`);
        return list.render(c, { kind: 'ok', text: `${id}: ${text(p.lang, 'ok')} ${outcome}` });
      } catch (error) {
        const failed = `${id}: ${text(p.lang, 'failed')}: ${(error as Error).message}`;
        return list.render(c, { kind: 'error', text: failed }, 502);
      }
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
