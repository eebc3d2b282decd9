import type { UpstreamHealth } from '../model';
import type { OutboxStatus } from '../outbox/outbox';
import type { UnmatchedPin } from '../pipeline/pipeline';
import type { ReconcileStatus } from '../roster/reconciler';
import type { TerminalStatus } from '../terminals/supervisor';

export interface UpstreamReport extends OutboxStatus {
  readonly enabled: boolean;
  readonly health: UpstreamHealth;
}

export interface TerminalReport extends TerminalStatus {
  /** How far this terminal is from the roster. */
  readonly roster?: ReconcileStatus;
}

export interface HealthReport {
  readonly status: 'ok' | 'degraded';
  readonly version: string;
  readonly site: string;
  readonly uptimeSeconds: number;
  readonly journal: { readonly lastSeq: number; readonly segments: number; readonly corruptLines: number };
  readonly terminals: readonly TerminalReport[];
  readonly upstreams: readonly UpstreamReport[];
  readonly alerts: readonly string[];
}

/** What the health report and the page call an alert: things a person should look at. */
export function alertsOf(
  terminals: readonly TerminalReport[],
  upstreams: readonly UpstreamReport[],
  corruptLines: number,
  unmatched: readonly UnmatchedPin[] = [],
): string[] {
  const alerts: string[] = [];
  for (const t of terminals) {
    if (!t.online) alerts.push(`terminal ${t.id} offline${t.lastError ? `: ${t.lastError}` : ''}`);
    if (t.roster?.full) alerts.push(`terminal ${t.id} is full: not every worker fits`);
    for (const alert of t.alerts ?? []) alerts.push(`terminal ${t.id}: ${alert}`);
    if (t.clockOffsetSeconds !== undefined && Math.abs(t.clockOffsetSeconds) > 300) {
      alerts.push(`terminal ${t.id} clock is off by ${t.clockOffsetSeconds} s`);
    }
  }
  const byTerminal = new Map<string, string[]>();
  for (const u of unmatched) {
    const pins = byTerminal.get(u.terminalId);
    if (pins) pins.push(u.pin);
    else byTerminal.set(u.terminalId, [u.pin]);
  }
  for (const [terminalId, pins] of byTerminal) {
    const shown = pins.slice(0, 10).join(', ');
    alerts.push(
      `terminal ${terminalId}: punches from PIN(s) not on the roster: ${shown}${pins.length > 10 ? ', …' : ''}`,
    );
  }
  for (const u of upstreams) {
    if (u.health.configAlert) alerts.push(`${u.upstream}: ${u.health.configAlert}`);
  }
  if (corruptLines > 0) alerts.push(`journal: ${corruptLines} unreadable line(s) skipped`);
  return alerts;
}
