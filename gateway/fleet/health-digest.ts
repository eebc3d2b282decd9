import type { HealthReport } from '../http/health';
import { FLEET_PAYLOAD_VERSION, type HealthPayload } from './protocol';

/** The digest goes over a metered link: the first alerts say enough, `alertCount` says how many. */
export const MAX_ALERTS_IN_DIGEST = 20;
const MAX_ALERT_CHARS = 200;
const MAX_OFFLINE_LISTED = 20;

/** An 18-character resident ID number (GB 11643): 17 digits and a digit or X. */
const ID_NUMBER = /(?<![0-9])[0-9]{17}[0-9Xx](?![0-9A-Za-z])/g;

/**
 * Blanks what must not leave the site in a digest: every name and ID number the roster holds, and
 * anything shaped like an ID number. The digest's only free text is the alert lines, which carry
 * words passed on from terminals and platforms (an error message may quote a person).
 */
export function personalDataScrubber(terms: Iterable<string>): (text: string) => string {
  // Longest first, so a name inside a longer one is not half-blanked. One character is too short to
  // be a name safely told apart from ordinary words.
  const list = [...new Set([...terms].map((t) => t.trim()).filter((t) => t.length >= 2))].sort(
    (a, b) => b.length - a.length,
  );
  return (text) => {
    let out = text.replace(ID_NUMBER, '[id]');
    for (const term of list) if (out.includes(term)) out = out.replaceAll(term, '[person]');
    return out;
  };
}

export interface DigestContext {
  readonly siteId: string;
  readonly intervalSeconds: number;
  readonly nowMs: number;
  readonly personalTerms: () => Iterable<string>;
  readonly counters: HealthPayload['fleet'];
}

/**
 * The `/healthz` report cut down for the fleet: counts, ids and backlogs, never `details` (drivers
 * and platforms put last punches and malformed messages there), never errors beyond the alert lines,
 * and those scrubbed of personal data. Compact: it is sent every interval over a capped link.
 */
export function digestHealth(report: HealthReport, context: DigestContext): HealthPayload {
  const offline = report.terminals.filter((t) => !t.online).map((t) => t.id);
  const scrub = report.alerts.length > 0 ? personalDataScrubber(context.personalTerms()) : (t: string) => t;
  return {
    v: FLEET_PAYLOAD_VERSION,
    site: context.siteId,
    at: Math.floor(context.nowMs / 1000),
    name: report.site,
    version: report.version,
    status: report.status,
    uptimeS: report.uptimeSeconds,
    intervalS: context.intervalSeconds,
    terminals: {
      online: report.terminals.length - offline.length,
      total: report.terminals.length,
      ...(offline.length > 0 ? { offline: offline.slice(0, MAX_OFFLINE_LISTED) } : {}),
    },
    upstreams: report.upstreams.map((u) => ({
      name: u.upstream,
      backlog: u.backlog,
      failures: u.consecutiveFailures,
      connected: u.health.connected,
    })),
    journal: { lastSeq: report.journal.lastSeq, corrupt: report.journal.corruptLines },
    alertCount: report.alerts.length,
    alerts: report.alerts.slice(0, MAX_ALERTS_IN_DIGEST).map((a) => clip(scrub(a))),
    fleet: context.counters,
  };
}

function clip(text: string): string {
  return text.length <= MAX_ALERT_CHARS ? text : `${text.slice(0, MAX_ALERT_CHARS - 1)}…`;
}
