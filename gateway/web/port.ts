import type { SichuanRegistration } from '../../cloud/sichuan/registration';
import type { TerminalConfig } from '../../config/schema';
import type { HealthReport } from '../http/health';
import type { Logger, TemplateKind, TerminalDriver, UpstreamName, WorkerChange } from '../model';
import type { PunchReader } from '../query/punch-query';
import type { AttendanceSheets } from '../reports/attendance';
import type { Worker } from '../roster/roster';
import type { TerminalStatus } from '../terminals/supervisor';
import type { RegistrationCapability } from '../upstreams/capabilities';

/** The platform's RegistData call, as the upstream factory offers it (a typed capability). */
export type RegistrationPort = RegistrationCapability;

/** What the page collects for RegistData: exactly the platform client's registration. */
export type RegistrationForm = SichuanRegistration;

/** How far a terminal is from the roster, for the page to put in words. */
export type RosterSyncState =
  | { readonly kind: 'notApplicable' }
  | { readonly kind: 'inSync' }
  | { readonly kind: 'pending'; readonly pending: number }
  | { readonly kind: 'full'; readonly pending: number }
  | { readonly kind: 'error'; readonly pending: number; readonly error: string };

export interface TerminalHandle {
  readonly id: string;
  readonly driver: TerminalDriver;
  status(): TerminalStatus;
  checkClock(force?: boolean): Promise<number>;
  catchUpNow(): Promise<void>;
}

export interface RosterView {
  list(): readonly Worker[];
  /** Moves on with every change (the workers page keeps the roster sorted by name for one). */
  readonly revision: number;
  get(id: string): Worker | undefined;
  apply(changes: readonly WorkerChange[]): Promise<void>;
  /** Links a platform identity by hand; merges the record that already held it. */
  link(
    workerId: string,
    identity: { sichuanUserId?: string; deliUserId?: string },
  ): Promise<{ merged?: string }>;
}

/**
 * The page's port: everything the page uses of the gateway, and nothing else. The running
 * gateway is adapted to it by `gateway-adapter.ts`.
 */
export interface WebDeps {
  readonly siteName: string;
  readonly timezone: string;
  /** `reports.nightShiftHours`: how long an entry with no exit still counts as inside (the muster rule). */
  readonly nightShiftHours: number;
  /** How many months the monthly sheet offers: the punches kept (`retention.punchYears` × 12). */
  readonly sheetMonths: number;
  readonly dataDir: string;
  readonly adminPasswordHash?: string;
  readonly apiToken?: string;
  readonly configFile?: string;
  readonly logger: Logger;
  readonly punches: PunchReader;
  /** The attendance sheets (gateway/reports): the rows every view and file of the sheet shows. */
  readonly reports: AttendanceSheets;
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
  /** Asks the terminal's reconciler to converge it to the roster now; rejects for an unknown terminal. */
  reconcileNow(terminalId: string): Promise<void>;
  /** The running terminals the reconcilers have written this worker to. */
  terminalsHolding(workerId: string): readonly string[];
  /** The terminal's roster sync state; undefined when it is not running. */
  rosterSyncState(terminalId: string): RosterSyncState | undefined;
  /** The name the configuration gives the terminal (the page shows names, not ids); undefined without one. */
  terminalName(terminalId: string): string | undefined;
  /**
   * Enrols a fingerprint or face on the chosen terminal through the gateway's enrolment service,
   * which stores the template in the roster; resolves when it is stored.
   */
  enrol(workerId: string, kind: TemplateKind, terminalId: string, signal: AbortSignal): Promise<void>;
}
