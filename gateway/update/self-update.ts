import type { EventBus } from '../events';
import type { HealthReport } from '../http/health';
import type { ClockSource, Logger } from '../model';
import type { UpgradeCheckCapability } from '../upstreams/capabilities';
import { VERSION } from '../version';
import { runningBinaryPath } from './running-binary';
import { TrialConfirmer } from './trial';
import { type UpdateResult, Updater } from './updater';

const DAY_MS = 24 * 3_600_000;

export interface SelfUpdateDeps {
  readonly bus: EventBus;
  readonly clock: ClockSource;
  readonly logger: Logger;
  readonly allowInsecureHttp: boolean;
  readonly confirmWithinMs: number;
  /** The platform that can be asked for a newer build (Deli 102), when one is enabled. */
  readonly upgradeCheck: () => UpgradeCheckCapability | undefined;
  /** Where /healthz answers on this box, once the HTTP server listens. */
  readonly healthUrl: () => string | undefined;
  readonly health: () => HealthReport;
  readonly journalProblem: () => string | undefined;
  /** Asks the process to stop in order and exit with `code` (the service manager restarts it). */
  readonly exit: (code: number) => void;
}

/**
 * The self-updater when running as the packaged binary: it follows upgrade offers, asks the
 * platform once a day, and lets a freshly installed version confirm itself healthy (trial.ts).
 * From source there is nothing to replace: offers are recorded as not applicable.
 */
export class SelfUpdate {
  private updater: Updater | undefined;
  private trial: TrialConfirmer | undefined;
  private dailyCheck: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private lastUpgrade: { version: string; ok: boolean; detail: string; at: number } | undefined;

  constructor(private readonly deps: SelfUpdateDeps) {}

  async start(): Promise<void> {
    const { bus, logger } = this.deps;
    const binaryPath = runningBinaryPath();
    this.unsubscribe = bus.on('upgrade.offered', (offer) => {
      if (!this.updater) {
        logger.warn(
          { version: offer.version },
          'upgrade offered, but this is not the packaged binary: nothing to replace',
        );
        this.record(offer.version, { ok: false, detail: 'not running as the packaged binary' });
        return;
      }
      void this.apply(offer.version, this.updater.applyOffer(offer));
    });
    if (!binaryPath) return;
    this.updater = new Updater({
      logger,
      binaryPath,
      currentVersion: VERSION,
      allowInsecureHttp: this.deps.allowInsecureHttp,
      exit: this.deps.exit,
    });
    // Ask the platform once a day whether a newer build exists (Deli also broadcasts 202 on its own).
    const check = this.deps.upgradeCheck();
    if (check) {
      this.dailyCheck = setInterval(() => void check.checkForUpgrade().catch(() => undefined), DAY_MS);
      this.dailyCheck.unref();
    }
    this.trial = new TrialConfirmer({
      binaryPath,
      version: VERSION,
      logger,
      clock: this.deps.clock,
      healthUrl: this.deps.healthUrl,
      report: this.deps.health,
      journalProblem: this.deps.journalProblem,
      confirmWithinMs: this.deps.confirmWithinMs,
      exit: this.deps.exit,
    });
    await this.trial.start();
  }

  stop(): void {
    clearInterval(this.dailyCheck);
    this.unsubscribe?.();
    this.trial?.stop();
  }

  /** A failed upgrade and a version on trial that has not confirmed yet, for /healthz. */
  alerts(): string[] {
    const alerts: string[] = [];
    if (this.lastUpgrade && !this.lastUpgrade.ok)
      alerts.push(`upgrade to ${this.lastUpgrade.version} failed: ${this.lastUpgrade.detail}`);
    alerts.push(...(this.trial?.alerts() ?? []));
    return alerts;
  }

  private async apply(version: string, attempt: Promise<UpdateResult>): Promise<UpdateResult> {
    const result = await attempt;
    this.record(version, {
      ok: result.ok,
      detail: result.ok
        ? `installed ${result.sha256.slice(0, 12)}; restarting`
        : `${result.reason}: ${result.error}`,
    });
    return result;
  }

  private record(version: string, outcome: { ok: boolean; detail: string }): void {
    this.lastUpgrade = { version, ...outcome, at: this.deps.clock.now() };
  }
}
