import type { UpstreamHealth } from '../model';
import type { OutboxStatus } from '../outbox/outbox';
import type { TerminalStatus } from '../terminals/supervisor';

export interface UpstreamReport extends OutboxStatus {
  readonly enabled: boolean;
  readonly health: UpstreamHealth;
}

export interface HealthReport {
  readonly status: 'ok' | 'degraded';
  readonly version: string;
  readonly site: string;
  readonly uptimeSeconds: number;
  readonly journal: { readonly lastSeq: number; readonly segments: number; readonly corruptLines: number };
  readonly terminals: readonly TerminalStatus[];
  readonly upstreams: readonly UpstreamReport[];
  readonly alerts: readonly string[];
}

/** What the health report and the page call an alert: things a person should look at. */
export function alertsOf(
  terminals: readonly TerminalStatus[],
  upstreams: readonly UpstreamReport[],
  corruptLines: number,
): string[] {
  const alerts: string[] = [];
  for (const t of terminals) {
    if (!t.online) alerts.push(`terminal ${t.id} offline${t.lastError ? `: ${t.lastError}` : ''}`);
  }
  for (const u of upstreams) {
    if (u.health.configAlert) alerts.push(`${u.upstream}: ${u.health.configAlert}`);
  }
  if (corruptLines > 0) alerts.push(`journal: ${corruptLines} unreadable line(s) skipped`);
  return alerts;
}
