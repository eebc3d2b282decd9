/**
 * A self-updated binary runs on trial until it confirms itself healthy. The updater writes a trial
 * file beside the binary before the swap; the unit's `ExecStartPre` guard (build/update-guard.sh)
 * counts the starts in it and, once the new version has had `maxStarts` starts without confirming,
 * puts `.previous` back and leaves a rollback note. The guard is a shell script, not this binary,
 * because a binary that dies with SIGSEGV before any JavaScript runs cannot count its own starts.
 *
 * Both files are `key=value` lines, so the guard reads and writes them with sed and printf.
 */
import { rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { HealthReport } from '../http/health';
import type { ClockSource, Logger } from '../model';
import { readFileIfExists, syncDirectory, writeFileAtomic } from '../store/durable-file';

/** Starts a new version gets to confirm before the guard puts the previous one back. */
export const TRIAL_MAX_STARTS = 3;

export interface TrialState {
  /** The version that installed the update (it becomes `.previous`). */
  readonly from: string;
  /** The version on trial, as its self-check reported it. */
  readonly to: string;
  readonly sha256: string;
  /** Starts counted by the guard so far (0: no guard has run yet). */
  readonly starts: number;
  readonly maxStarts: number;
}

export interface RollbackNote {
  readonly rejected: string;
  readonly rejectedSha256: string;
  readonly restored: string;
  readonly starts: number;
  readonly at: string;
}

export function trialFileOf(binaryPath: string): string {
  return join(dirname(binaryPath), `.${basename(binaryPath)}.trial`);
}

export function rollbackNoteOf(binaryPath: string): string {
  return join(dirname(binaryPath), `.${basename(binaryPath)}.rolled-back`);
}

/**
 * Versions come from the platform and from the new binary's output; in the key=value files (and
 * the guard's log lines) only a plain version string may appear.
 */
export function safeVersion(version: string | null | undefined): string {
  const v = (version ?? '').trim();
  return /^[A-Za-z0-9._+-]{1,64}$/.test(v) ? v : 'unknown';
}

export async function writeTrial(binaryPath: string, state: TrialState): Promise<void> {
  await writeFileAtomic(
    trialFileOf(binaryPath),
    [
      '# edge-gateway: a self-updated binary on trial (written by the updater, counted by update-guard,',
      '# removed when the new version confirms itself healthy)',
      `from=${safeVersion(state.from)}`,
      `to=${safeVersion(state.to)}`,
      `sha256=${state.sha256}`,
      `maxStarts=${state.maxStarts}`,
      `starts=${state.starts}`,
      '',
    ].join('\n'),
  );
}

export async function readTrial(binaryPath: string): Promise<TrialState | undefined> {
  const text = await readFileIfExists(trialFileOf(binaryPath));
  if (text === null) return undefined;
  const fields = keyValues(text);
  return {
    from: safeVersion(fields.get('from')),
    to: safeVersion(fields.get('to')),
    sha256: fields.get('sha256') ?? '',
    starts: count(fields.get('starts')),
    maxStarts: count(fields.get('maxStarts')) || TRIAL_MAX_STARTS,
  };
}

export async function readRollbackNote(binaryPath: string): Promise<RollbackNote | undefined> {
  const text = await readFileIfExists(rollbackNoteOf(binaryPath));
  if (text === null) return undefined;
  const fields = keyValues(text);
  return {
    rejected: safeVersion(fields.get('rejected')),
    rejectedSha256: fields.get('rejectedSha256') ?? '',
    restored: safeVersion(fields.get('restored')),
    starts: count(fields.get('starts')),
    at: fields.get('at') ?? '',
  };
}

/** The trial is over: the new version is healthy, and an older rollback note no longer applies. */
export async function endTrial(binaryPath: string): Promise<void> {
  await rm(trialFileOf(binaryPath), { force: true });
  await rm(rollbackNoteOf(binaryPath), { force: true });
  await syncDirectory(dirname(binaryPath));
}

export async function discardTrial(binaryPath: string): Promise<void> {
  await rm(trialFileOf(binaryPath), { force: true });
}

function keyValues(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split('\n')) {
    const match = /^([A-Za-z0-9]+)=(.*)$/.exec(line.trim());
    if (match && !fields.has(match[1]!)) fields.set(match[1]!, match[2]!);
  }
  return fields;
}

function count(value: string | undefined): number {
  return value && /^\d{1,6}$/.test(value) ? Number(value) : 0;
}

export interface TrialConfirmerDeps {
  readonly binaryPath: string;
  readonly version: string;
  readonly logger: Logger;
  readonly clock: ClockSource;
  /** The gateway's own `/healthz` over loopback (undefined until the HTTP server listens). */
  readonly healthUrl: () => string | undefined;
  readonly report: () => HealthReport;
  /** Why the journal cannot store punches right now, if it cannot. */
  readonly journalProblem: () => string | undefined;
  readonly confirmWithinMs: number;
  /** Stops the gateway in order and exits with `code` (1: the service manager restarts it). */
  readonly exit: (code: number) => void;
  readonly checkEveryMs?: number;
}

/**
 * Run by every gateway start. When the running binary is on trial, it confirms the trial once the
 * gateway is healthy: `/healthz` answers, the journal takes punches and every enabled terminal has
 * been polled by this version. Not healthy within `confirmWithinMs`, it exits with 1 so the
 * service manager starts it again and the guard counts one more start. After a rollback it
 * reports the note (log line and health alert) until a later update confirms.
 */
export class TrialConfirmer {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private startedAt = 0;
  private trial: TrialState | undefined;
  private note: RollbackNote | undefined;
  private overdue: string | undefined;

  constructor(private readonly deps: TrialConfirmerDeps) {}

  async start(): Promise<void> {
    const { binaryPath, logger } = this.deps;
    this.startedAt = this.deps.clock.now();
    try {
      this.note = await readRollbackNote(binaryPath);
      this.trial = await readTrial(binaryPath);
    } catch (error) {
      logger.error({ error: (error as Error).message }, 'update: cannot read the trial state');
      return;
    }
    if (this.note) {
      logger.error({ ...this.note, version: this.deps.version }, `update: ${this.rollbackAlert(this.note)}`);
    }
    if (!this.trial) return;
    logger.warn(
      {
        from: this.trial.from,
        to: this.trial.to,
        start: this.trial.starts,
        maxStarts: this.trial.maxStarts,
        confirmWithinMs: this.deps.confirmWithinMs,
      },
      'update: this version is on trial until it confirms itself healthy',
    );
    this.schedule(0);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  alerts(): string[] {
    const alerts: string[] = [];
    if (this.note) alerts.push(this.rollbackAlert(this.note));
    if (this.overdue) alerts.push(this.overdue);
    return alerts;
  }

  private rollbackAlert(note: RollbackNote): string {
    return (
      `update to ${note.rejected} was rolled back to ${note.restored}: it did not confirm healthy ` +
      `in ${note.starts} start(s)${note.at ? ` (${note.at})` : ''}`
    );
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.check(), delayMs);
  }

  private async check(): Promise<void> {
    const trial = this.trial;
    if (this.stopped || !trial) return;
    const problems = await this.problems();
    if (this.stopped) return;
    if (problems.length === 0) {
      try {
        await endTrial(this.deps.binaryPath);
      } catch (error) {
        this.deps.logger.error({ error: (error as Error).message }, 'update: cannot end the trial');
        this.schedule(this.deps.checkEveryMs ?? 1000);
        return;
      }
      this.trial = undefined;
      this.note = undefined;
      this.overdue = undefined;
      this.deps.logger.info(
        { from: trial.from, to: trial.to, starts: trial.starts },
        `update: ${trial.to} confirmed healthy; ${trial.from} stays as .previous for a manual rollback`,
      );
      return;
    }
    const elapsed = this.deps.clock.now() - this.startedAt;
    if (elapsed < this.deps.confirmWithinMs) {
      this.schedule(this.deps.checkEveryMs ?? 1000);
      return;
    }
    if (trial.starts === 0) {
      // Nothing counts starts (a unit from before update-guard): restarting would only loop.
      if (!this.overdue) {
        this.overdue =
          `update to ${trial.to} has not confirmed healthy (${problems.join('; ')}), and no ` +
          `update-guard counts its starts, so ${trial.from} cannot be put back automatically: re-run install.sh`;
        this.deps.logger.error({ from: trial.from, to: trial.to, problems }, `update: ${this.overdue}`);
      }
      this.schedule(this.deps.checkEveryMs ?? 1000);
      return;
    }
    this.deps.logger.error(
      {
        from: trial.from,
        to: trial.to,
        start: trial.starts,
        maxStarts: trial.maxStarts,
        problems,
      },
      `update: ${trial.to} did not confirm healthy within ${Math.round(this.deps.confirmWithinMs / 1000)} s; ` +
        `exiting so the service manager starts it again (${trial.from} is put back after ` +
        `${trial.maxStarts} starts)`,
    );
    this.stopped = true;
    this.deps.exit(1);
  }

  private async problems(): Promise<string[]> {
    const problems: string[] = [];
    const url = this.deps.healthUrl();
    if (!url) problems.push('/healthz: not listening yet');
    else {
      try {
        const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
        const body = (await response.json()) as { version?: unknown };
        if (response.status !== 200 || typeof body.version !== 'string') {
          problems.push(`/healthz: HTTP ${response.status}`);
        }
      } catch (error) {
        problems.push(`/healthz: ${(error as Error).message}`);
      }
    }
    const journal = this.deps.journalProblem();
    if (journal) problems.push(`journal: ${journal}`);
    const unpolled = this.deps
      .report()
      .terminals.filter((t) => t.lastCatchUpAt === undefined || t.lastCatchUpAt < this.startedAt)
      .map((t) => t.id);
    if (unpolled.length > 0) problems.push(`not polled yet: ${unpolled.join(', ')}`);
    return problems;
  }
}

/** `/healthz` as the gateway itself reaches it: a wildcard listen address is reached on loopback. */
export function loopbackHealthUrl(host: string, port: number): string {
  const h = host === '0.0.0.0' || host === '' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `http://${h.includes(':') ? `[${h}]` : h}:${port}/healthz`;
}
