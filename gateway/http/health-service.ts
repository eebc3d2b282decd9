import type { ClockSource } from '../model';
import type { PunchPipeline } from '../pipeline/pipeline';
import type { PunchJournal } from '../store/journal';
import { VERSION } from '../version';
import { alertsOf, type HealthReport, healthAlert, type TerminalReport, type UpstreamReport } from './health';

/** A file the gateway saves, and why its last save failed (until one works again). */
export interface SavedFile {
  readonly name: string;
  readonly lastWriteError: { readonly message: string; readonly since: number } | undefined;
}

export interface HealthSources {
  readonly siteName: string;
  readonly clock: ClockSource;
  readonly journal: PunchJournal;
  readonly pipeline: PunchPipeline;
  /** Files whose failed saves a person must hear about (state, cursors). */
  readonly stores: readonly SavedFile[];
  readonly terminals: () => TerminalReport[];
  readonly upstreams: () => UpstreamReport[];
  /** Alerts of parts that keep their own (the self-updater). */
  readonly moreAlerts: () => readonly string[];
}

/** The /healthz report, gathered from every part that has something to say. */
export class HealthService {
  private startedAt = 0;

  constructor(private readonly sources: HealthSources) {}

  start(): void {
    this.startedAt = this.sources.clock.now();
  }

  report(): HealthReport {
    const { journal, pipeline, stores, clock } = this.sources;
    const terminals = this.sources.terminals();
    const upstreams = this.sources.upstreams();
    const alerts = alertsOf(terminals, upstreams, journal.corruptLines, pipeline.unmatchedPins());
    for (const store of stores) {
      if (store.lastWriteError) {
        alerts.unshift(
          healthAlert({ code: 'storeUnsaved', store: store.name, error: store.lastWriteError.message }),
        );
      }
    }
    for (const detail of this.sources.moreAlerts()) alerts.push(healthAlert({ code: 'note', detail }));
    const journalProblem = pipeline.journalProblem();
    if (journalProblem) {
      alerts.unshift(
        healthAlert({ code: 'journalRefusing', error: journalProblem.message, held: journalProblem.held }),
      );
    }
    return {
      status: alerts.length === 0 ? 'ok' : 'degraded',
      version: VERSION,
      site: this.sources.siteName,
      uptimeSeconds: Math.round((clock.now() - this.startedAt) / 1000),
      journal: {
        lastSeq: journal.lastSeq,
        segments: journal.segmentList.length,
        corruptLines: journal.corruptLines,
      },
      terminals,
      upstreams,
      alerts: alerts.map((a) => a.text),
      alertDetails: alerts,
    };
  }
}
