import { type Context, Hono } from 'hono';
import type { GatewayMetrics } from '../metrics';
import { AllowedHosts, hostCheck } from './allowed-hosts';
import type { HealthReport } from './health';
import { securityHeaders } from './security-headers';
import { safeEqual } from './sessions';

export interface HttpDeps {
  readonly health: () => HealthReport;
  readonly metrics: GatewayMetrics;
  /** When set, /metrics needs `Authorization: Bearer <token>`; with it /healthz shows everything. */
  readonly metricsToken?: string;
  /** The API's bearer token: with it /healthz shows everything too. */
  readonly apiToken?: string;
  /** `http.allowedHosts` and `http.host`: the names besides the box's own it answers to. */
  readonly allowedHosts?: readonly string[];
  readonly listenHost?: string;
  /** Whether the request carries a logged-in page session (the page is mounted later, so asked late). */
  readonly signedIn?: (c: Context) => boolean;
}

/** /healthz without a credential: whether the box is well, not what it runs or for whom. */
export interface PublicHealth {
  readonly status: HealthReport['status'];
  readonly version: string;
  readonly alertCount: number;
}

function bearerIs(c: Context, token: string | undefined): boolean {
  const given = c.req.header('authorization');
  return token !== undefined && given !== undefined && safeEqual(given, `Bearer ${token}`);
}

/**
 * The gateway's own HTTP surface: the Host check and security headers for everything it serves,
 * /healthz (status only for anyone, everything for a token or a session) and Prometheus metrics;
 * the page and API mount beside them.
 */
export function createHttpApp(deps: HttpDeps): Hono {
  const app = new Hono();
  app.use('*', securityHeaders());
  app.use(
    '*',
    hostCheck(new AllowedHosts({ configured: deps.allowedHosts ?? [], listenHost: deps.listenHost })),
  );
  app.get('/healthz', (c) => {
    const report = deps.health();
    const full =
      bearerIs(c, deps.metricsToken) || bearerIs(c, deps.apiToken) || (deps.signedIn?.(c) ?? false);
    // Anyone on the LAN may ask whether the box is well; what it runs and for whom needs a credential.
    const body: HealthReport | PublicHealth = full
      ? report
      : { status: report.status, version: report.version, alertCount: report.alerts.length };
    return c.json(body, 200, { 'Cache-Control': 'no-store' });
  });
  app.get('/metrics', async (c) => {
    if (deps.metricsToken && !bearerIs(c, deps.metricsToken)) {
      return c.text('metrics need a bearer token\n', 401, { 'WWW-Authenticate': 'Bearer' });
    }
    return c.body(await deps.metrics.registry.metrics(), 200, {
      'Content-Type': deps.metrics.registry.contentType,
    });
  });
  return app;
}
