import type { Context, Hono } from 'hono';
import type { Logger } from '../model';
import { createWebApp } from './app';
import { adaptGateway, type PageParts } from './gateway-adapter';

/** What the composition root keeps of the mounted page. */
export interface MountedPage {
  /** Whether a request carries a logged-in session (/healthz then shows everything). */
  signedIn(c: Context): boolean;
  stop(): Promise<void>;
}

/**
 * Mounts the page and the JSON API beside /healthz and /metrics. Called by the composition root
 * once the journal and roster are open and before it listens; the punch index fills in the background.
 */
export async function mountWebApp(app: Hono, parts: PageParts, logger: Logger): Promise<MountedPage> {
  const web = createWebApp(adaptGateway(parts, logger));
  await web.start();
  app.route('/', web.app);
  return { signedIn: (c) => web.signedIn(c), stop: () => web.stop() };
}
