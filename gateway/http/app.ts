import { Hono } from 'hono';
import type { GatewayMetrics } from '../metrics';
import type { HealthReport } from './health';

export interface HttpDeps {
  readonly health: () => HealthReport;
  readonly metrics: GatewayMetrics;
  /** When set, /metrics needs `Authorization: Bearer <token>`. */
  readonly metricsToken?: string;
}

/** The gateway's own HTTP surface: open health, Prometheus metrics; the page and API mount beside them. */
export function createHttpApp(deps: HttpDeps): Hono {
  const app = new Hono();
  app.get('/healthz', (c) => {
    const report = deps.health();
    return c.json(report, 200, { 'Cache-Control': 'no-store' });
  });
  app.get('/metrics', async (c) => {
    if (deps.metricsToken && c.req.header('authorization') !== `Bearer ${deps.metricsToken}`) {
      return c.text('metrics need a bearer token\n', 401, { 'WWW-Authenticate': 'Bearer' });
    }
    return c.body(await deps.metrics.registry.metrics(), 200, {
      'Content-Type': deps.metrics.registry.contentType,
    });
  });
  return app;
}
