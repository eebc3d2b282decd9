import type { GatewayConfig } from '../../config/schema';
import type { HealthReport } from '../http/health';

/**
 * What the fleet link may see and do on the box, handed over by the composition root: a health
 * report, the live configuration to read out (redacted here), and the few actions an office may
 * ask for. Alert changes come on the event bus ('alerts.changed').
 */
export interface FleetBox {
  health(): HealthReport;
  /** Names and ID numbers of everyone on the roster: none of them may leave the site in a digest. */
  personalTerms(): Iterable<string>;
  /** The configuration as running (with remote overrides); the link redacts it before it leaves. */
  config(): GatewayConfig;
  /** Asks one terminal's reconciler, or every one, to converge now; the ids asked. Throws for an unknown id. */
  reconcileNow(terminalId?: string): readonly string[];
  /** Ends an upstream's back-off now; false when no such upstream is enabled. */
  retryUpstream(name: string): boolean;
  /** Asks the platform for a newer build (Deli 102); throws when no enabled platform offers updates. */
  checkForUpdate(): Promise<void>;
  /** The settings a platform may change (gateway/remote-settings.ts), the same set for the office. */
  readonly settings: {
    get(): Record<string, string | number>;
    set(key: string, value: unknown): Promise<{ ok: true } | { ok: false; reason: string }>;
  };
  /** Stops the box in order and exits for the service manager to start it again. */
  restart(): void;
}
