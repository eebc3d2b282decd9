import type { SichuanRegistration } from '../../cloud/sichuan/registration';
import type { TerminalConfig } from '../../config/schema';
import type { HealthReport } from '../http/health';
import type { Logger, TemplateKind, TerminalDriver, UpstreamName, WorkerChange } from '../model';
import type { PunchIndexFeed } from '../query/index-feed';
import type { Worker } from '../roster/roster';
import type { TerminalStatus } from '../terminals/supervisor';

/** The platform's RegistData call (SichuanUpstream.register) as the page needs it. */
export interface RegistrationPort {
  register(form: RegistrationForm): Promise<{ userId: string }>;
}

/** What the page collects for RegistData: exactly the platform client's registration. */
export type RegistrationForm = SichuanRegistration;

export interface TerminalHandle {
  readonly id: string;
  readonly driver: TerminalDriver;
  status(): TerminalStatus;
  checkClock(force?: boolean): Promise<number>;
  catchUpNow(): Promise<void>;
}

export interface RosterView {
  list(): readonly Worker[];
  get(id: string): Worker | undefined;
  apply(changes: readonly WorkerChange[]): Promise<void>;
  /** Links a platform identity by hand; merges the record that already held it. */
  link(
    workerId: string,
    identity: { sichuanUserId?: string; deliUserId?: string },
  ): Promise<{ merged?: string }>;
}

/**
 * Everything the page uses of the gateway. Built from a Gateway by `webDepsFromGateway`; the
 * optional members are parts the gateway does not offer yet (the page hides what is missing).
 */
export interface WebDeps {
  readonly siteName: string;
  readonly timezone: string;
  readonly dataDir: string;
  readonly adminPasswordHash?: string;
  readonly apiToken?: string;
  readonly configFile?: string;
  readonly logger: Logger;
  readonly punches: PunchIndexFeed;
  readonly roster: RosterView;
  health(): HealthReport;
  terminals(): readonly TerminalHandle[];
  terminal(id: string): TerminalHandle | undefined;
  /** Applies an edited, validated terminal list live. */
  reloadTerminals(terminals: readonly TerminalConfig[]): Promise<void>;
  registration(): RegistrationPort | undefined;
  upstreamNames(): readonly UpstreamName[];
  outboxCursor(name: UpstreamName): number | undefined;
  retryNow(name: UpstreamName): boolean;
  /** Clock drift tolerance per terminal, seconds (alerts). */
  clockTolerance(terminalId: string): number | undefined;
  /** Gap: the lead's reconciler. Converges one terminal to the roster now. */
  reconcileNow?(terminalId: string): Promise<void>;
  /** Gap: the reconciler's knowledge of which terminals hold a worker. */
  terminalsHolding?(workerId: string): readonly string[];
  /** Gap: per-terminal roster sync state from the reconciler ("in sync", "3 pending", …). */
  rosterSyncState?(terminalId: string): string | undefined;
  /** Starts enrolment; defaults to driver.startEnrolment + roster.apply when absent. */
  enrol?(workerId: string, kind: TemplateKind, terminalId: string, signal: AbortSignal): Promise<void>;
}
