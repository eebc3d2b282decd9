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
  /** What a person should look at, in English (logs, monitoring). */
  readonly alerts: readonly string[];
  /** The same alerts, each with a code and its facts, so the page can say them in its language. */
  readonly alertDetails: readonly HealthAlert[];
}

/**
 * An alert's facts; `text` is its English line (`alerts`). Words a part passes on from a peer
 * (an error message, a platform's note) stay in `error`/`detail` as they came.
 */
export type AlertFacts =
  | { readonly code: 'terminalOffline'; readonly terminalId: string; readonly error?: string }
  | { readonly code: 'terminalFull'; readonly terminalId: string }
  | { readonly code: 'terminalDevice'; readonly terminalId: string; readonly detail: string }
  | { readonly code: 'terminalClock'; readonly terminalId: string; readonly seconds: number }
  | {
      readonly code: 'unmatchedPins';
      readonly terminalId: string;
      readonly pins: readonly string[];
      readonly more: boolean;
    }
  | { readonly code: 'upstreamConfig'; readonly upstream: string; readonly detail: string }
  | { readonly code: 'journalCorrupt'; readonly lines: number }
  | { readonly code: 'storeUnsaved'; readonly store: string; readonly error: string }
  | { readonly code: 'journalRefusing'; readonly error: string; readonly held: number }
  | { readonly code: 'note'; readonly detail: string };

export type AlertCode = AlertFacts['code'];
export type HealthAlert = AlertFacts & { readonly text: string };

/** The English line of an alert, as /healthz and the logs have always said it. */
export function alertText(facts: AlertFacts): string {
  switch (facts.code) {
    case 'terminalOffline':
      return `terminal ${facts.terminalId} offline${facts.error ? `: ${facts.error}` : ''}`;
    case 'terminalFull':
      return `terminal ${facts.terminalId} is full: not every worker fits`;
    case 'terminalDevice':
      return `terminal ${facts.terminalId}: ${facts.detail}`;
    case 'terminalClock':
      return `terminal ${facts.terminalId} clock is off by ${facts.seconds} s`;
    case 'unmatchedPins':
      return `terminal ${facts.terminalId}: punches from PIN(s) not on the roster: ${facts.pins.join(', ')}${facts.more ? ', …' : ''}`;
    case 'upstreamConfig':
      return `${facts.upstream}: ${facts.detail}`;
    case 'journalCorrupt':
      return `journal: ${facts.lines} unreadable line(s) skipped`;
    case 'storeUnsaved':
      return `data disk: cannot save ${facts.store} (${facts.error})`;
    case 'journalRefusing':
      return `journal cannot store punches (${facts.error}); ${facts.held} held in memory, the rest wait in the terminals`;
    case 'note':
      return facts.detail;
  }
}

export function healthAlert(facts: AlertFacts): HealthAlert {
  return { ...facts, text: alertText(facts) };
}

/** What the health report and the page call an alert: things a person should look at. */
export function alertsOf(
  terminals: readonly TerminalReport[],
  upstreams: readonly UpstreamReport[],
  corruptLines: number,
  unmatched: readonly UnmatchedPin[] = [],
): HealthAlert[] {
  const alerts: HealthAlert[] = [];
  for (const t of terminals) {
    const terminalId = t.id;
    if (!t.online) alerts.push(healthAlert({ code: 'terminalOffline', terminalId, error: t.lastError }));
    if (t.roster?.full) alerts.push(healthAlert({ code: 'terminalFull', terminalId }));
    for (const detail of t.alerts ?? [])
      alerts.push(healthAlert({ code: 'terminalDevice', terminalId, detail }));
    if (t.clockOffsetSeconds !== undefined && Math.abs(t.clockOffsetSeconds) > 300) {
      alerts.push(healthAlert({ code: 'terminalClock', terminalId, seconds: t.clockOffsetSeconds }));
    }
  }
  const byTerminal = new Map<string, string[]>();
  for (const u of unmatched) {
    const pins = byTerminal.get(u.terminalId);
    if (pins) pins.push(u.pin);
    else byTerminal.set(u.terminalId, [u.pin]);
  }
  for (const [terminalId, pins] of byTerminal) {
    alerts.push(
      healthAlert({ code: 'unmatchedPins', terminalId, pins: pins.slice(0, 10), more: pins.length > 10 }),
    );
  }
  for (const u of upstreams) {
    if (u.health.configAlert) {
      alerts.push(
        healthAlert({ code: 'upstreamConfig', upstream: u.upstream, detail: u.health.configAlert }),
      );
    }
  }
  if (corruptLines > 0) alerts.push(healthAlert({ code: 'journalCorrupt', lines: corruptLines }));
  return alerts;
}
