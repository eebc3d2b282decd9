/**
 * /healthz shows only status, version and the alert count without a credential; the tests that read
 * terminals, upstreams or the journal over HTTP configure this metrics token (or, for a lab or a
 * binary started as a process, `EDGE_GATEWAY_METRICS_TOKEN`) and send it.
 */
export const HEALTH_TOKEN = 'test-health-token-0123456789';
export const HEALTH_HEADERS: Readonly<Record<string, string>> = { authorization: `Bearer ${HEALTH_TOKEN}` };
export const HEALTH_ENV: Readonly<Record<string, string>> = { EDGE_GATEWAY_METRICS_TOKEN: HEALTH_TOKEN };

/** The full /healthz report over HTTP, with the token. */
export async function fullHealth<T>(baseUrl: string): Promise<T> {
  const response = await fetch(`${baseUrl}/healthz`, { headers: HEALTH_HEADERS });
  if (!response.ok) throw new Error(`${baseUrl}/healthz: HTTP ${response.status}`);
  return (await response.json()) as T;
}
