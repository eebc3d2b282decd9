import type { HealthReport } from '../http/health';

export interface UpstreamErrorEntry {
  readonly upstream: string;
  readonly atMs: number;
  readonly message: string;
}

const KEPT_PER_UPSTREAM = 20;

/**
 * Upstreams report only their last error; the page wants a short history. Each health read
 * (the dashboard refreshes every few seconds) notes errors it has not seen yet.
 */
export class UpstreamErrorLog {
  private readonly entries = new Map<string, UpstreamErrorEntry[]>();

  observe(report: HealthReport): HealthReport {
    for (const u of report.upstreams) {
      this.note(u.upstream, u.lastErrorAt, u.lastError);
      this.note(u.upstream, u.health.lastErrorAt, u.health.lastError);
    }
    return report;
  }

  recent(upstream: string): readonly UpstreamErrorEntry[] {
    return [...(this.entries.get(upstream) ?? [])].reverse();
  }

  private note(upstream: string, atMs: number | undefined, message: string | undefined): void {
    if (atMs === undefined || !message) return;
    const list = this.entries.get(upstream) ?? [];
    if (list.some((e) => e.atMs === atMs && e.message === message)) return;
    list.push({ upstream, atMs, message });
    list.sort((a, b) => a.atMs - b.atMs);
    while (list.length > KEPT_PER_UPSTREAM) list.shift();
    this.entries.set(upstream, list);
  }
}
