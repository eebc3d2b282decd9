import type { AlertsChange, EventBus } from '../events';

/** After start, alerts settle this long (terminals connect) before the first comparison. */
const SETTLE_MS = 5000;
/** A burst of bus events is looked at once. */
const DEBOUNCE_MS = 200;

/**
 * Which alert a line is, whatever its changing details: the words after the first ": " (an error
 * message, a PIN list) are left out and numbers masked, except that a terminal's id is kept whole
 * and, after `terminal <id>: `, the next words name the kind. So `terminal t1 offline: ECONNREFUSED`
 * and `terminal t1 offline: timed out` are one alert that stays raised, `… clock is off by 301 s`
 * and `… 305 s` too, while `terminal gate-1 offline` and `terminal gate-2 offline` are two.
 */
export function alertKey(text: string): string {
  const mask = (words: string) => words.replace(/\d+/g, '#');
  const [head = '', next] = text.split(': ');
  const terminal = /^terminal (\S+)(.*)$/.exec(head);
  if (!terminal) return mask(head);
  const [, id, rest = ''] = terminal;
  return rest === '' && next !== undefined ? `terminal ${id}: ${mask(next)}` : `terminal ${id}${mask(rest)}`;
}

/**
 * Tells the bus when the health report's alerts change ('alerts.changed'): an alert is raised when
 * its key appears and cleared when it goes. It looks when a terminal comes or goes or reports an
 * error, and every `sweepMs` for everything else (upstream configuration alerts, the disk).
 */
export class AlertWatch {
  private current = new Map<string, string>();
  private sweep: NodeJS.Timeout | undefined;
  private settle: NodeJS.Timeout | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private unsubscribe: Array<() => void> = [];
  private settled = false;

  constructor(
    private readonly deps: {
      readonly bus: EventBus;
      readonly alerts: () => readonly string[];
      readonly sweepMs?: number;
      readonly settleMs?: number;
    },
  ) {}

  start(): void {
    const { bus } = this.deps;
    const soon = () => this.soon();
    this.unsubscribe = [
      bus.on('terminal.online', soon),
      bus.on('terminal.error', soon),
      bus.on('config.changed', soon),
    ];
    this.settle = setTimeout(() => {
      this.settled = true;
      this.look();
    }, this.deps.settleMs ?? SETTLE_MS);
    this.sweep = setInterval(() => this.look(), this.deps.sweepMs ?? 5000);
    this.settle.unref();
    this.sweep.unref();
  }

  stop(): void {
    for (const off of this.unsubscribe) off();
    this.unsubscribe = [];
    clearTimeout(this.settle);
    clearTimeout(this.debounce);
    clearInterval(this.sweep);
  }

  /** The alerts as last compared, one line per key. */
  alerts(): readonly string[] {
    return [...this.current.values()];
  }

  private soon(): void {
    if (!this.settled || this.debounce) return;
    this.debounce = setTimeout(() => {
      this.debounce = undefined;
      this.look();
    }, DEBOUNCE_MS);
    this.debounce.unref();
  }

  private look(): void {
    if (!this.settled) return;
    const next = new Map<string, string>();
    for (const text of this.deps.alerts()) if (!next.has(alertKey(text))) next.set(alertKey(text), text);
    const raised = [...next].filter(([key]) => !this.current.has(key)).map(([, text]) => text);
    const cleared = [...this.current].filter(([key]) => !next.has(key)).map(([, text]) => text);
    this.current = next;
    if (raised.length === 0 && cleared.length === 0) return;
    const change: AlertsChange = { raised, cleared, alerts: [...next.values()] };
    this.deps.bus.emit('alerts.changed', change);
  }
}
