/**
 * Shared domain types. Adapters (`adapters/*`) and platform clients (`cloud/*`) import
 * only this file from `gateway/`, so everything they exchange with the hub is named here.
 */

export type DriverKind = 'zk' | 'adms' | 'modbus';
export type Direction = 'in' | 'out';
/** How a worker proved who they are, in the vocabulary both platforms use. */
export type VerifyMethod = 'fp' | 'fa' | 'card' | 'pwd';
export type UpstreamName = 'sichuan' | 'deli';

/**
 * When a punch happened, as the terminal told it.
 * Legacy terminals keep a zone-less wall clock (`wall`, `YYYY-MM-DDTHH:mm:ss`) that the
 * pipeline interprets in the site's (or the terminal's) zone; newer devices give UTC.
 */
export type PunchTime = { readonly wall: string } | { readonly utcMs: number };

/** What a driver hands over: the terminal's own facts, not yet interpreted. */
export interface RawPunch {
  readonly terminalId: string;
  /** The terminal-local user id (ZK user id, ADMS PIN, Modbus worker number). */
  readonly pin: string;
  readonly time: PunchTime;
  /** The terminal family's verify code; the pipeline maps it per family. */
  readonly verifyCode: number;
  /** The terminal's punch state (ZK: 0 check-in, 1 check-out, 2 break-out, 3 break-in, 4 OT-in, 5 OT-out). */
  readonly state?: number;
  /** A direction the device states explicitly (Modbus `direction` 1/2); wins over the terminal's setting. */
  readonly direction?: Direction;
  readonly source: 'realtime' | 'poll' | 'push';
}

export type PunchFlag =
  /** The PIN maps to no worker on the roster: kept, shown as an alert, never dropped. */
  | 'unmatched'
  /** The worker was removed from the roster but a lagging terminal still let them punch. */
  | 'removed_worker'
  /** The verify code was not in the family's table; the method is a best guess. */
  | 'unknown_verify'
  /** The terminal's clock was off by more than the drift tolerance when this was read. */
  | 'clock_suspect';

/** A normalized punch, as stored in the journal and delivered north. */
export interface Punch {
  /** Journal sequence number, strictly increasing, assigned at append. */
  readonly seq: number;
  /** De-duplication key: terminal, PIN and UTC second. */
  readonly key: string;
  readonly terminalId: string;
  readonly pin: string;
  readonly workerId: string | null;
  readonly direction: Direction;
  readonly method: VerifyMethod;
  /** UTC instant, milliseconds since the epoch (whole seconds for wall-clock terminals). */
  readonly atMs: number;
  readonly source: RawPunch['source'];
  readonly flags: readonly PunchFlag[];
  /** When the gateway journaled it (UTC ms). */
  readonly receivedMs: number;
}

/** A punch before the journal gave it a sequence number. */
export type PunchDraft = Omit<Punch, 'seq'>;

// ───────────────────────────── terminals ─────────────────────────────

export interface TerminalUser {
  /** Terminal-local user id (ZK: ≤ 9 characters). */
  readonly pin: string;
  readonly name: string;
  /** Card number as an unsigned 32-bit integer; 0 or absent means none. */
  readonly card?: number;
  readonly password?: string;
  /** 0 user, 14 administrator (ZK convention). */
  readonly privilege?: number;
  /** ZK's internal record index, when the family has one. */
  readonly uid?: number;
}

export type TemplateKind = 'fp' | 'fa';

export interface BiometricTemplate {
  readonly pin: string;
  readonly kind: TemplateKind;
  /** Finger index 0–9 for fingerprints, 0 for faces. */
  readonly index: number;
  /** The algorithm or model the bytes belong to (e.g. `zk-fp10`); only equal formats are copied across terminals. */
  readonly format: string;
  readonly data: Uint8Array;
}

export interface TerminalCapabilities {
  readonly realtime: boolean;
  readonly users: boolean;
  readonly cards: boolean;
  readonly fingerprints: boolean;
  readonly faces: boolean;
  readonly clock: boolean;
  readonly enrolment: readonly TemplateKind[];
  /** The template format this terminal reads and writes (`zk-fp10`, …), if any. */
  readonly templateFormat?: string;
  /** Longest PIN the family accepts. */
  readonly maxPinLength: number;
  readonly maxUsers?: number;
}

/**
 * The terminal has no room for another user. Drivers throw it (never a plain Error) so the
 * reconciler can tell "leave this worker pending and report the terminal full" from a failure
 * that should abort the pass and back off.
 */
export class TerminalFullError extends Error {
  constructor(
    message: string,
    readonly terminalId?: string,
    /** How many users the terminal holds at most, when it says. */
    readonly capacity?: number,
  ) {
    super(message);
    this.name = 'TerminalFullError';
  }
}

export interface TerminalHealth {
  readonly online: boolean;
  readonly lastError?: string;
  readonly lastErrorAt?: number;
  /** Terminal clock minus true time, in seconds, when last read. */
  readonly clockOffsetSeconds?: number;
  readonly userCount?: number;
  readonly recordCount?: number;
  readonly details?: Readonly<Record<string, string | number | boolean>>;
  /**
   * Conditions a person should look at that outlast lastError (which the next message overwrites),
   * with their counts: e.g. events lost on the device. Shown in /healthz alerts.
   */
  readonly alerts?: readonly string[];
}

/**
 * An opaque, JSON-serializable position in a terminal's punch log, defined by its driver.
 * The gateway stores it only after every punch before it is journaled.
 */
export type PunchCursor = Readonly<Record<string, string | number | boolean | null>>;

export interface PunchBatch {
  readonly punches: readonly RawPunch[];
  readonly cursor: PunchCursor;
  /** True when the driver saw its log shrink (reboot, cleared log) and restarted from the beginning. */
  readonly cursorReset?: boolean;
}

/** Receives real-time punches; resolves once they are durably journaled, so a driver may acknowledge. */
export type PunchListener = (punches: readonly RawPunch[]) => Promise<void>;

export interface EnrolmentResult {
  readonly pin: string;
  readonly templates: readonly BiometricTemplate[];
}

/**
 * One terminal. The gateway's supervisor calls `connect` (with backoff on failure), subscribes to
 * real-time punches, reads `readPunchesSince` periodically and after every reconnect, and drives the
 * roster through the user and template methods. A driver never retries forever on its own:
 * it throws, and the supervisor decides.
 */
export interface TerminalDriver {
  readonly id: string;
  readonly kind: DriverKind;
  capabilities(): TerminalCapabilities;
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  /** Calls back when the link drops on its own, so the supervisor reconnects. */
  onDisconnect(listener: (reason: Error) => void): () => void;
  /**
   * The punches after `cursor`. With `onPunches`, a driver may hand punches over through it while
   * a long read is still running (called in log order, a call possibly before the previous one
   * resolved, none both handed over and returned; all settled before the read resolves) and return
   * a batch with only the rest; drivers that cannot stream ignore it. A rejected `onPunches` fails
   * the read. The caller stores the batch's cursor only after this resolved, so a read cut
   * mid-stream is read again and de-duplication absorbs what was already handed over.
   */
  readPunchesSince(
    cursor: PunchCursor | null,
    onPunches?: (punches: readonly RawPunch[]) => Promise<void>,
  ): Promise<PunchBatch>;
  subscribe(listener: PunchListener): () => void;
  listUsers(): Promise<readonly TerminalUser[]>;
  upsertUser(user: TerminalUser): Promise<void>;
  deleteUser(pin: string): Promise<void>;
  readTemplates(pin: string): Promise<readonly BiometricTemplate[]>;
  writeTemplate(template: BiometricTemplate): Promise<void>;
  /** The terminal's wall clock (`YYYY-MM-DDTHH:mm:ss`, zone-less) or UTC, as the family keeps it. */
  getTime(): Promise<PunchTime>;
  setTime(time: PunchTime): Promise<void>;
  startEnrolment(pin: string, kind: TemplateKind, signal?: AbortSignal): Promise<EnrolmentResult>;
  health(): TerminalHealth;
  /**
   * Writes many users with their templates at once, where the family has a bulk upload (ZK's
   * SAVE_USERTEMPS buffer), so filling a terminal costs about one round trip per worker or less.
   * Optional: without it the reconciler writes users and templates one by one.
   */
  writeUsers?(entries: readonly UserWithTemplates[]): Promise<void>;
  /**
   * Empties the terminal's punch log, where the family can and its configuration allows it (ZK's
   * `clearLogAfterJournal`), but only while the log holds exactly the records up to `cursor`, none
   * taken meanwhile. Resolves with the cursor to store next, or null when nothing was cleared.
   * The supervisor calls it only once every punch up to `cursor` is journaled and every enabled
   * upstream has acknowledged it (gateway/terminals/log-clearance.ts).
   */
  clearJournaledLog?(cursor: PunchCursor): Promise<PunchCursor | null>;
}

export interface UserWithTemplates {
  readonly user: TerminalUser;
  readonly templates: readonly BiometricTemplate[];
}

// ───────────────────────────── upstreams ─────────────────────────────

export interface DeliveryResult {
  /**
   * How many punches, counted from the start of the batch, the platform has acknowledged
   * (or that the upstream deliberately settles, such as a punch it can never send, with a log line).
   * The outbox never moves its cursor past the first unacknowledged punch.
   */
  readonly acknowledged: number;
  /** Why the rest was not acknowledged. */
  readonly error?: string;
  /** The platform asked for a pause (rate limit, clock resync). */
  readonly retryAfterMs?: number;
}

export interface UpstreamHealth {
  readonly connected: boolean;
  readonly lastSuccessAt?: number;
  readonly lastError?: string;
  readonly lastErrorAt?: number;
  /** A configuration problem a person must fix (unknown sn, bad key); the upstream stops hammering. */
  readonly configAlert?: string;
  readonly details?: Readonly<Record<string, string | number | boolean>>;
}

/** One platform in the north. Its outbox feeds it journaled punches in order. */
export interface Upstream {
  readonly name: UpstreamName;
  /** Largest batch the platform accepts in one delivery. */
  readonly maxBatch: number;
  start(): Promise<void>;
  stop(): Promise<void>;
  deliver(punches: readonly Punch[]): Promise<DeliveryResult>;
  health(): UpstreamHealth;
}

// ───────────────────────────── roster ─────────────────────────────

export type RosterSource = 'sichuan' | 'deli' | 'local';
export type Gender = 'male' | 'female' | 'unknown';

/**
 * Why a worker may no longer clock in; 禁入 and 红黄码 from Sichuan win over every other source.
 * 离职 / 禁入 / 红黄码: Sichuan's delete types 1 / 2 / 3 (离职 also when a task gives none);
 * `sichuan`: a Sichuan delete of a type the gateway does not know (its code in `removalDetail`);
 * `deli`: a Deli user_sync delete; `local`: removed on the page; `merged`: a duplicate record
 * folded into another worker. Closed, so the page has a word for every reason.
 */
export type RemovalReason = '离职' | '禁入' | '红黄码' | 'sichuan' | 'deli' | 'local' | 'merged';

export interface WorkerIdentity {
  readonly sichuanUserId?: string;
  readonly deliUserId?: string;
  readonly idCardNo?: string;
  readonly gatewayId?: string;
}

/** A template or photo arriving with a roster change, as bytes; the roster stores it as a blob. */
export interface BiometricPayload {
  readonly kind: TemplateKind;
  readonly index: number;
  readonly format: string;
  readonly data: Uint8Array;
}

/** One desired-state change, from a platform task, a Deli sync page or the local page. */
export interface WorkerChange {
  readonly source: RosterSource;
  readonly op: 'upsert' | 'remove';
  readonly identity: WorkerIdentity;
  readonly name?: string;
  readonly workerType?: string;
  /** 班组: the site's own grouping, kept on the page (platforms do not send it); '' clears it. */
  readonly team?: string;
  /** 劳务分包单位: the labour subcontractor the worker is paid through; '' clears it. */
  readonly employer?: string;
  readonly card?: number;
  readonly password?: string;
  readonly gender?: Gender;
  readonly facePhoto?: Uint8Array;
  readonly biometrics?: readonly BiometricPayload[];
  readonly removalReason?: RemovalReason;
  /** The platform's own words when no member says it (`delType 9`), kept for the page and the logs. */
  readonly removalDetail?: string;
  /** The platform's own change time (Deli `update_time`, ms), for ordering and watermarks. */
  readonly updatedMs?: number;
}

/**
 * What the platforms see of the roster. `apply` resolves only after the changes are durable,
 * so a caller may acknowledge upstream afterwards.
 */
export interface RosterPort {
  apply(changes: readonly WorkerChange[]): Promise<void>;
  /** Removes every worker whose only source is `source` and who is not in `keep` (a Deli full sync). */
  replaceSource(source: RosterSource, keep: readonly WorkerIdentity[]): Promise<void>;
}

/** The real one is `systemClock` in lib/clock.ts. */
export interface ClockSource {
  /** Milliseconds since the epoch. Injected so soak tests can accelerate time. */
  now(): number;
}

// ───────────────────────────── ports the hub injects ─────────────────────────────

/** The subset of pino's logger the parts use; injected so adapters never import the hub's logging. */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  child(bindings: Record<string, string | number>): Logger;
}

/**
 * A small durable key–value area in the gateway's state file (cursors, watermarks, clock offsets).
 * `set` resolves after the write is on disk. Values must be JSON and small: no photos or templates.
 */
export interface StateSlot<T> {
  get(): T | undefined;
  set(value: T): Promise<void>;
}

export interface StatePort {
  slot<T>(key: string): StateSlot<T>;
}

/** Starts an enrolment for a worker on a terminal able to capture `kind`, and resolves with the capture. */
export interface EnrolmentPort {
  enrol(identity: WorkerIdentity, kind: TemplateKind, terminalId?: string): Promise<BiometricPayload>;
}

/** A newer gateway build the platform offers (Deli 103/202), handed to the updater. */
export interface UpgradeOffer {
  readonly version: string;
  readonly url: string;
  /** Hex digest; `algorithm` says which (sha256 when absent). */
  readonly checksum: string;
  readonly algorithm?: 'sha256' | 'md5';
}
