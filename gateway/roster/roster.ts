import { randomUUID } from 'node:crypto';
import { Low } from 'lowdb';
import type { EventBus } from '../events';
import type {
  ClockSource,
  Gender,
  Logger,
  RemovalReason,
  RosterPort,
  RosterSource,
  TemplateKind,
  WorkerChange,
  WorkerIdentity,
} from '../model';
import type { PinResolver } from '../pipeline/pipeline';
import type { BlobStore } from '../store/blobs';
import { DurableJsonFile } from '../store/json-file-adapter';

export interface TemplateRef {
  readonly kind: TemplateKind;
  readonly index: number;
  readonly format: string;
  /** sha256 of the bytes in the blob store. */
  readonly blob: string;
}

export interface Worker {
  readonly id: string;
  /** The PIN this worker has on every terminal: numeric, ≤ 9 digits, never reused. */
  pin: string;
  name: string;
  workerType?: string;
  /** 班组, for the attendance sheet and the muster list. */
  team?: string;
  /** 劳务分包单位. */
  employer?: string;
  card?: number;
  password?: string;
  gender?: Gender;
  identities: { sichuanUserId?: string; deliUserId?: string; idCardNo?: string };
  sources: RosterSource[];
  status: 'active' | 'removed';
  removal?: { reason: RemovalReason; source: RosterSource; atMs: number; detail?: string };
  facePhoto?: string;
  templates: TemplateRef[];
  updatedMs: number;
}

interface RosterDocument {
  workers: Record<string, Worker>;
  nextPin: number;
}

/**
 * A template or photo captured on site (an enrolment), or the site's own grouping of a worker (team,
 * employer) set on the page, is data about a worker the roster already has, not a claim by the page
 * that the worker belongs here: it adds no source, restores nobody and creates nobody. Were it a
 * claim, a Deli worker who enrolled a finger or was put in a team would outlive Deli removing them
 * (a full sync removes only workers whose sole source is Deli). Platform upserts always claim: the
 * platform lists the person. A local change that says anything else (a name, an identity, or
 * nothing at all, as the page's restore does) is the page adding the worker.
 */
function isAttachment(change: WorkerChange): boolean {
  if (change.op !== 'upsert' || change.source !== 'local') return false;
  const data =
    (change.biometrics?.length ?? 0) > 0 ||
    change.facePhoto !== undefined ||
    change.team !== undefined ||
    change.employer !== undefined;
  const { identity } = change;
  return (
    data &&
    change.name === undefined &&
    change.workerType === undefined &&
    change.card === undefined &&
    change.password === undefined &&
    change.gender === undefined &&
    !identity.sichuanUserId &&
    !identity.deliUserId &&
    !identity.idCardNo
  );
}

function describeAttachment(change: WorkerChange): string {
  if (change.biometrics?.length) return `${change.biometrics[0]!.kind} template`;
  return change.facePhoto !== undefined ? 'face photo' : 'team or employer';
}

/** Removals the Sichuan platform orders for safety; no other source may undo them. */
const BINDING_REMOVALS: ReadonlySet<RemovalReason> = new Set<RemovalReason>(['禁入', '红黄码']);
const MAX_PIN = 999_999_999;

const REMOVAL_REASONS: ReadonlySet<string> = new Set<RemovalReason>([
  '离职',
  '禁入',
  '红黄码',
  'sichuan',
  'deli',
  'local',
  'merged',
]);

/**
 * Before reasons were a closed set, roster.json kept free text (`delType 9`, `merged into w-…`).
 * Such a removal keeps its text as the detail and gets the member that says the same.
 */
function normalizeRemoval(removal: NonNullable<Worker['removal']>): void {
  if (REMOVAL_REASONS.has(removal.reason)) return;
  const text = String(removal.reason);
  removal.detail ??= text;
  removal.reason = text.startsWith('merged into ') ? 'merged' : removal.source;
}

/**
 * The site's desired state: who may clock in. Every change is durable before `apply` resolves,
 * so a platform task is acknowledged only once it cannot be lost. Terminals are converged to this
 * by their reconcilers; punches are mapped back to workers through `resolve`.
 */
export class Roster implements RosterPort, PinResolver {
  private db: Low<RosterDocument> | undefined;
  private byPin = new Map<string, Worker>();
  /**
   * `list()`'s array, made again only when a worker is added (workers are never deleted from the
   * document, and changes are made to the same objects): a copy of 5,000 workers took ≈ 2.5 ms, and
   * every monthly sheet, search and page asks for it.
   */
  private listed: readonly Worker[] | undefined;
  private changes = 0;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly deps: {
      readonly file: string;
      readonly blobs: BlobStore;
      readonly bus: EventBus;
      readonly clock: ClockSource;
      readonly logger: Logger;
    },
  ) {}

  async open(): Promise<void> {
    this.db = new Low<RosterDocument>(new DurableJsonFile(this.deps.file), { workers: {}, nextPin: 1 });
    await this.db.read();
    this.listed = undefined;
    for (const worker of Object.values(this.db.data.workers))
      if (worker.removal) normalizeRemoval(worker.removal);
    this.reindex();
  }

  resolve(_terminalId: string, pin: string): { workerId: string; removed: boolean } | undefined {
    const worker = this.byPin.get(pin);
    return worker ? { workerId: worker.id, removed: worker.status === 'removed' } : undefined;
  }

  /** Moves on with every change to the roster (anything that is written): a view sorted for a revision stays right. */
  get revision(): number {
    return this.changes;
  }

  list(): readonly Worker[] {
    this.listed ??= Object.freeze(Object.values(this.doc().workers));
    return this.listed;
  }

  get(id: string): Worker | undefined {
    return this.doc().workers[id];
  }

  identityOf(workerId: string): WorkerIdentity | undefined {
    const worker = this.get(workerId);
    return worker ? { ...worker.identities, gatewayId: worker.id } : undefined;
  }

  findByIdentity(identity: WorkerIdentity): Worker | undefined {
    const workers = this.doc().workers;
    if (identity.gatewayId && workers[identity.gatewayId]) return workers[identity.gatewayId];
    for (const worker of Object.values(workers)) {
      const mine = worker.identities;
      if (identity.sichuanUserId && mine.sichuanUserId === identity.sichuanUserId) return worker;
      if (identity.deliUserId && mine.deliUserId === identity.deliUserId) return worker;
      if (identity.idCardNo && mine.idCardNo === identity.idCardNo) return worker;
    }
    return undefined;
  }

  async apply(changes: readonly WorkerChange[]): Promise<void> {
    const touched: string[] = [];
    try {
      for (const change of changes) {
        const worker = await this.applyOne(change);
        if (worker) touched.push(worker.id);
      }
    } finally {
      // A change that failed half-way may have renamed workers already: the revision moves anyway.
      this.changes++;
    }
    await this.persist();
    if (touched.length > 0) this.deps.bus.emit('roster.changed', touched);
  }

  async replaceSource(source: RosterSource, keep: readonly WorkerIdentity[]): Promise<void> {
    const kept = new Set(keep.map((identity) => this.findByIdentity(identity)?.id).filter(Boolean));
    const touched: string[] = [];
    for (const worker of this.list()) {
      if (worker.status !== 'active' || kept.has(worker.id)) continue;
      if (worker.sources.length === 1 && worker.sources[0] === source) {
        this.remove(worker, source, source === 'deli' ? 'deli' : 'local');
        touched.push(worker.id);
      }
    }
    await this.persist();
    if (touched.length > 0) this.deps.bus.emit('roster.changed', touched);
  }

  /**
   * Links a platform identity to a worker by hand (the page), when the platforms cannot be matched
   * by ID-card number (Deli users carry none). If another record already holds that identity (the
   * same person arrived from the other platform), it is merged into this one and retired, so the
   * person keeps one PIN and the duplicate disappears from every terminal.
   */
  async link(
    workerId: string,
    identity: { sichuanUserId?: string; deliUserId?: string },
  ): Promise<{ merged?: string }> {
    const worker = this.get(workerId);
    if (!worker) throw new Error(`no worker ${workerId}`);
    let merged: string | undefined;
    for (const [field, value] of Object.entries(identity) as Array<
      ['sichuanUserId' | 'deliUserId', string | undefined]
    >) {
      if (!value) continue;
      const current = worker.identities[field];
      if (current && current !== value) throw new Error(`worker ${workerId} already has ${field} ${current}`);
      const other = this.findByIdentity({ [field]: value });
      if (other && other.id !== worker.id) {
        this.mergeInto(worker, other);
        merged = other.id;
      }
      worker.identities[field] = value;
    }
    worker.updatedMs = this.deps.clock.now();
    await this.persist();
    this.deps.bus.emit('roster.changed', merged ? [worker.id, merged] : [worker.id]);
    this.deps.logger.info({ workerId, identity, merged }, 'roster: identity linked by hand');
    return merged ? { merged } : {};
  }

  private mergeInto(worker: Worker, other: Worker): void {
    for (const [field, value] of Object.entries(other.identities) as Array<
      [keyof Worker['identities'], string | undefined]
    >) {
      if (value && !worker.identities[field]) worker.identities[field] = value;
    }
    for (const source of other.sources) if (!worker.sources.includes(source)) worker.sources.push(source);
    for (const template of other.templates) {
      if (!worker.templates.some((t) => t.kind === template.kind && t.index === template.index))
        worker.templates.push(template);
    }
    worker.facePhoto ??= other.facePhoto;
    worker.card ??= other.card;
    // The duplicate keeps its record (its punches refer to it) but loses its identities and its place on terminals.
    other.identities = {};
    other.status = 'removed';
    other.removal = {
      reason: 'merged',
      source: 'local',
      atMs: this.deps.clock.now(),
      detail: `merged into ${worker.id}`,
    };
    other.updatedMs = this.deps.clock.now();
  }

  private async applyOne(change: WorkerChange): Promise<Worker | undefined> {
    let worker = this.findByIdentity(change.identity);
    if (isAttachment(change)) {
      if (!worker) {
        throw new Error(
          `roster: a ${describeAttachment(change)} for worker ${change.identity.gatewayId ?? '(no id)'}, who is not in the roster`,
        );
      }
      // Kept even for a removed worker (a restore brings it back), but it restores nobody.
      await this.merge(worker, change, false);
      return worker;
    }
    if (change.op === 'remove') {
      if (!worker) {
        this.deps.logger.info(
          { source: change.source, identity: change.identity },
          'roster: removal of a worker the gateway never had',
        );
        return undefined;
      }
      this.remove(worker, change.source, change.removalReason ?? change.source, change.removalDetail);
      return worker;
    }
    if (!worker) {
      worker = this.create(change);
    } else if (worker.status === 'removed') {
      const binding =
        worker.removal && worker.removal.source === 'sichuan' && BINDING_REMOVALS.has(worker.removal.reason);
      if (binding && change.source !== 'sichuan') {
        this.deps.logger.warn(
          { workerId: worker.id, source: change.source, reason: worker.removal?.reason },
          'roster: a Sichuan 禁入/红黄码 removal wins; update stored but the worker stays removed',
        );
      } else {
        worker.status = 'active';
        worker.removal = undefined;
      }
    }
    await this.merge(worker, change);
    return worker;
  }

  private create(change: WorkerChange): Worker {
    const doc = this.doc();
    if (doc.nextPin > MAX_PIN) throw new Error('roster: PIN space exhausted');
    const worker: Worker = {
      id: change.identity.gatewayId ?? randomUUID(),
      pin: String(doc.nextPin++),
      name: change.name ?? '',
      identities: {},
      sources: [],
      status: 'active',
      templates: [],
      updatedMs: this.deps.clock.now(),
    };
    doc.workers[worker.id] = worker;
    this.listed = undefined;
    this.byPin.set(worker.pin, worker);
    return worker;
  }

  /** `claim`: the change says the worker belongs on site for its source (every change but an attachment). */
  private async merge(worker: Worker, change: WorkerChange, claim = true): Promise<void> {
    const { identity } = change;
    if (identity.sichuanUserId) worker.identities.sichuanUserId = identity.sichuanUserId;
    if (identity.deliUserId) worker.identities.deliUserId = identity.deliUserId;
    if (identity.idCardNo) worker.identities.idCardNo = identity.idCardNo;
    if (change.name !== undefined) worker.name = change.name;
    if (change.workerType !== undefined) worker.workerType = change.workerType;
    if (change.team !== undefined) {
      if (change.team === '') delete worker.team;
      else worker.team = change.team;
    }
    if (change.employer !== undefined) {
      if (change.employer === '') delete worker.employer;
      else worker.employer = change.employer;
    }
    if (change.card !== undefined) worker.card = change.card;
    if (change.password !== undefined) worker.password = change.password;
    if (change.gender !== undefined) worker.gender = change.gender;
    if (change.facePhoto) worker.facePhoto = await this.deps.blobs.put(change.facePhoto);
    for (const template of change.biometrics ?? []) {
      const blob = await this.deps.blobs.put(template.data);
      worker.templates = worker.templates.filter(
        (t) => !(t.kind === template.kind && t.index === template.index),
      );
      worker.templates.push({ kind: template.kind, index: template.index, format: template.format, blob });
    }
    if (claim && !worker.sources.includes(change.source)) worker.sources.push(change.source);
    worker.updatedMs = this.deps.clock.now();
  }

  private remove(worker: Worker, source: RosterSource, reason: RemovalReason, detail?: string): void {
    const current = worker.removal;
    if (current && current.source === 'sichuan' && BINDING_REMOVALS.has(current.reason)) return;
    worker.status = 'removed';
    worker.removal = { reason, source, atMs: this.deps.clock.now(), ...(detail ? { detail } : {}) };
    worker.updatedMs = this.deps.clock.now();
  }

  private persist(): Promise<void> {
    this.changes++;
    const db = this.db!;
    const next = this.writing.then(() => db.write());
    this.writing = next.catch(() => undefined);
    return next;
  }

  private reindex(): void {
    this.byPin = new Map(this.list().map((w) => [w.pin, w]));
  }

  private doc(): RosterDocument {
    if (!this.db) throw new Error('roster used before open()');
    return this.db.data;
  }
}
