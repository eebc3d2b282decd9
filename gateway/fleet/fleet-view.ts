import type { AlertEventPayload, HealthPayload, StatusPayload } from './protocol';

export type SiteState = 'offline' | 'stale' | 'degraded' | 'unknown' | 'ok';

/** Worst first: what needs a person comes to the top of the table. */
const RANK: Record<SiteState, number> = { offline: 0, stale: 1, degraded: 2, unknown: 3, ok: 4 };
/** Alert events remembered per site for the JSON output. */
const RECENT_EVENTS = 10;
/** A digest later than this many intervals (plus a little) means the box has gone quiet. */
const STALE_INTERVALS = 2.5;
const STALE_SLACK_MS = 5000;

export interface SiteRow {
  readonly site: string;
  readonly state: SiteState;
  readonly online: boolean | null;
  readonly reason?: string;
  readonly name?: string;
  readonly version?: string;
  readonly terminals?: { readonly online: number; readonly total: number };
  readonly backlog: Readonly<Record<string, number>>;
  readonly alertCount: number;
  readonly alerts: readonly string[];
  readonly events: readonly AlertEventPayload[];
  /** When anything was last heard from the site (Unix ms, this machine's clock). */
  readonly lastSeenMs?: number;
  readonly healthAt?: number;
}

interface Site {
  status?: StatusPayload;
  health?: HealthPayload;
  healthSeenMs?: number;
  lastSeenMs?: number;
  /** Alerts as the latest digest said, then changed by the events that came after it. */
  alerts: string[];
  alertCount: number;
  events: AlertEventPayload[];
  seen: Set<string>;
}

/**
 * What `fleet watch` knows of every site it has heard on `{prefix}/+/status|health|alerts`, and the
 * rows it shows. Read-only: it only ever receives. Bad messages are counted, never shown as a site.
 */
export class FleetView {
  private readonly sites = new Map<string, Site>();
  malformed = 0;

  constructor(private readonly prefix: string) {}

  get topics(): string[] {
    return ['status', 'health', 'alerts'].map((kind) => `${this.prefix}/+/${kind}`);
  }

  /** Takes one message; false when it is not one of ours or does not parse. */
  receive(topic: string, payload: Buffer | string, nowMs: number): boolean {
    const rest = topic.startsWith(`${this.prefix}/`) ? topic.slice(this.prefix.length + 1) : undefined;
    const [siteId, kind, extra] = rest?.split('/') ?? [];
    if (!siteId || !kind || extra !== undefined) return false;
    const text = payload.toString();
    // An empty retained message clears a site's record on the broker (a decommissioned box).
    if (text.length === 0) {
      if (kind === 'status') this.sites.delete(siteId);
      return true;
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      this.malformed++;
      return false;
    }
    if (!isRecord(json) || typeof json.v !== 'number') {
      this.malformed++;
      return false;
    }
    const site = this.site(siteId);
    site.lastSeenMs = nowMs;
    if (kind === 'status' && typeof json.online === 'boolean') {
      site.status = json as unknown as StatusPayload;
      if (typeof json.alerts === 'number' && site.health === undefined) site.alertCount = json.alerts;
      return true;
    }
    if (kind === 'health' && isRecord(json.terminals) && Array.isArray(json.alerts)) {
      const health = json as unknown as HealthPayload;
      site.health = health;
      site.healthSeenMs = nowMs;
      site.alerts = health.alerts.filter((a): a is string => typeof a === 'string');
      site.alertCount = typeof health.alertCount === 'number' ? health.alertCount : site.alerts.length;
      return true;
    }
    if (kind === 'alerts' && typeof json.event === 'string' && typeof json.seq === 'number') {
      this.onEvent(site, json as unknown as AlertEventPayload);
      return true;
    }
    this.malformed++;
    return false;
  }

  rows(nowMs: number): SiteRow[] {
    const rows = [...this.sites].map(([siteId, site]) => this.row(siteId, site, nowMs));
    return rows.sort(
      (a, b) =>
        RANK[a.state] - RANK[b.state] ||
        b.alertCount - a.alertCount ||
        total(b.backlog) - total(a.backlog) ||
        a.site.localeCompare(b.site),
    );
  }

  private onEvent(site: Site, event: AlertEventPayload): void {
    // QoS 1 is at least once: a message sent again after a lost PUBACK is the same (boot, seq).
    const id = `${event.boot}/${event.seq}`;
    if (site.seen.has(id)) return;
    site.seen.add(id);
    if (site.seen.size > 1000) site.seen.delete(site.seen.values().next().value as string);
    site.events = [...site.events, event].slice(-RECENT_EVENTS);
    // The digest that follows an event says the same; until it comes, the event is the news.
    const healthAt = site.health?.at ?? 0;
    if (event.at < healthAt || typeof event.text !== 'string') return;
    if (event.event === 'raised' && !site.alerts.includes(event.text)) {
      site.alerts = [...site.alerts, event.text];
      site.alertCount++;
    }
    if (event.event === 'cleared' && site.alerts.includes(event.text)) {
      site.alerts = site.alerts.filter((a) => a !== event.text);
      site.alertCount = Math.max(0, site.alertCount - 1);
    }
  }

  private row(siteId: string, site: Site, nowMs: number): SiteRow {
    const { status, health } = site;
    const online = status ? status.online : null;
    const intervalMs = (health?.intervalS ?? 300) * 1000;
    const stale =
      online === true &&
      site.healthSeenMs !== undefined &&
      nowMs - site.healthSeenMs > STALE_INTERVALS * intervalMs + STALE_SLACK_MS;
    const state: SiteState =
      online === false
        ? 'offline'
        : stale
          ? 'stale'
          : site.alertCount > 0
            ? 'degraded'
            : online === null || health === undefined
              ? 'unknown'
              : 'ok';
    return {
      site: siteId,
      state,
      online,
      ...(status?.reason && { reason: status.reason }),
      ...((health?.name ?? status?.name) !== undefined && { name: health?.name ?? status?.name }),
      ...((status?.version ?? health?.version) !== undefined && {
        version: status?.version ?? health?.version,
      }),
      ...(health && { terminals: { online: health.terminals.online, total: health.terminals.total } }),
      backlog: Object.fromEntries((health?.upstreams ?? []).map((u) => [u.name, u.backlog])),
      alertCount: site.alertCount,
      alerts: site.alerts,
      events: site.events,
      ...(site.lastSeenMs !== undefined && { lastSeenMs: site.lastSeenMs }),
      ...(health && { healthAt: health.at }),
    };
  }

  private site(siteId: string): Site {
    let site = this.sites.get(siteId);
    if (!site) {
      site = { alerts: [], alertCount: 0, events: [], seen: new Set() };
      this.sites.set(siteId, site);
    }
    return site;
  }
}

function total(backlog: Readonly<Record<string, number>>): number {
  return Object.values(backlog).reduce((sum, n) => sum + n, 0);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// ───────────────────────────── the table ─────────────────────────────

/** Columns a CJK character takes in a terminal. */
function width(text: string): number {
  let columns = 0;
  for (const char of text) {
    const code = char.codePointAt(0) ?? 0;
    columns +=
      (code >= 0x1100 && code <= 0x115f) ||
      (code >= 0x2e80 && code <= 0xa4cf) ||
      (code >= 0xac00 && code <= 0xd7a3) ||
      (code >= 0xf900 && code <= 0xfaff) ||
      (code >= 0xfe30 && code <= 0xfe4f) ||
      (code >= 0xff00 && code <= 0xff60) ||
      (code >= 0xffe0 && code <= 0xffe6) ||
      (code >= 0x20000 && code <= 0x3fffd)
        ? 2
        : 1;
  }
  return columns;
}

function clipTo(text: string, columns: number): string {
  let out = '';
  for (const char of text) {
    if (width(out + char) > columns - (width(text) > columns ? 1 : 0)) return `${out}…`;
    out += char;
  }
  return out;
}

function pad(text: string, columns: number): string {
  return text + ' '.repeat(Math.max(0, columns - width(text)));
}

function age(ms: number | undefined, nowMs: number): string {
  if (ms === undefined) return '—';
  const s = Math.max(0, Math.round((nowMs - ms) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86_400)}d`;
}

/** The live table, one line per site, worst first. */
export function renderTable(rows: readonly SiteRow[], nowMs: number, header: string): string {
  const lines: string[][] = [['SITE', 'STATE', 'NAME', 'VERSION', 'TERMINALS', 'BACKLOG', 'ALERTS', 'SEEN']];
  for (const r of rows) {
    const backlog = Object.entries(r.backlog)
      .map(([name, n]) => `${name} ${n}`)
      .join(' · ');
    lines.push([
      r.site,
      r.state === 'offline' && r.reason ? `offline (${r.reason})` : r.state,
      clipTo(r.name ?? '', 24),
      r.version ?? '',
      r.terminals ? `${r.terminals.online}/${r.terminals.total}` : '',
      backlog || '—',
      r.alertCount === 0 ? '0' : clipTo(`${r.alertCount}: ${r.alerts[0] ?? ''}`, 60),
      age(r.lastSeenMs, nowMs),
    ]);
  }
  const widths = lines[0]!.map((_, column) => Math.max(...lines.map((line) => width(line[column] ?? ''))));
  const body = lines.map((line) =>
    line
      .map((cell, column) => (column === line.length - 1 ? cell : pad(cell, widths[column]!)))
      .join('  ')
      .trimEnd(),
  );
  const offline = rows.filter((r) => r.state === 'offline').length;
  const alerting = rows.filter((r) => r.alertCount > 0).length;
  return `${header} — ${rows.length} sites, ${offline} offline, ${alerting} with alerts\n\n${body.join('\n')}\n`;
}
