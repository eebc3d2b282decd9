import type { Hono } from 'hono';
import type { Gateway } from '../controller';
import type { Logger } from '../model';
import { createWebApp } from './app';
import { adaptGateway } from './gateway-adapter';

/**
 * Mounts the page and the JSON API beside /healthz and /metrics. Called by the gateway once its
 * journal and roster are open and before it listens; the punch index fills in the background.
 */
export async function mountWebApp(app: Hono, gateway: Gateway, logger: Logger): Promise<() => void> {
  const web = createWebApp(adaptGateway(gateway, logger));
  await web.start();
  app.route('/', web.app);
  return () => web.stop();
}
