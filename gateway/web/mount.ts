import type { Hono } from 'hono';
import type { Logger } from '../model';
import { createWebApp } from './app';
import { adaptGateway, type PageParts } from './gateway-adapter';

/**
 * Mounts the page and the JSON API beside /healthz and /metrics. Called by the composition root
 * once the journal and roster are open and before it listens; the punch index fills in the background.
 */
export async function mountWebApp(app: Hono, parts: PageParts, logger: Logger): Promise<() => void> {
  const web = createWebApp(adaptGateway(parts, logger));
  await web.start();
  app.route('/', web.app);
  return () => web.stop();
}
