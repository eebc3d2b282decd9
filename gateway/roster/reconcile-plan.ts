import { createHash } from 'node:crypto';
import type { TemplateKind, TerminalCapabilities, TerminalUser } from '../model';
import type { AppliedView } from '../store/applied-digests';
import type { Worker } from './roster';

/**
 * What one reconcile pass has to do on one terminal, worked out from plain data only: the roster,
 * what the terminal holds, what was written last time and what the terminal can take. No I/O here,
 * so every rule (removals first, updates before additions, room, foreign users) is testable on its own.
 */

/** A template or photo to write, by blob reference: the runner loads the bytes when it writes. */
export interface PlannedTemplate {
  readonly kind: TemplateKind;
  readonly index: number;
  readonly format: string;
  readonly blob: string;
}

/** One worker to write (added or updated) with the biometrics this terminal takes. */
export interface PlannedWrite {
  readonly pin: string;
  readonly user: TerminalUser;
  readonly templates: readonly PlannedTemplate[];
  /** Remembered once written: the same digest next pass means nothing to do. */
  readonly digest: string;
  /** The terminal does not hold this PIN yet, so the write needs room. */
  readonly adds: boolean;
}

export interface ReconcilePlan {
  /** PINs of removed workers the terminal still holds; they go first. */
  readonly removals: readonly string[];
  /** Updates and the additions that fit, in roster order. */
  readonly writes: readonly PlannedWrite[];
  /** Additions beyond the terminal's room: left pending and reported. */
  readonly notAdded: readonly PlannedWrite[];
  /** PINs whose remembered digest is dropped at the end: workers removed or gone from the roster. */
  readonly forget: readonly string[];
  /** Users on the terminal the roster does not know (kept: they may be the site's administrators). */
  readonly foreignUsers: number;
  readonly activeWorkers: number;
  /** More additions than room. */
  readonly full: boolean;
}

export interface PlanInput {
  /** The desired roster, active and removed workers alike. */
  readonly workers: readonly Worker[];
  /** What the terminal holds now (one listing). */
  readonly held: readonly TerminalUser[];
  /** Digest per PIN of what was last written to this terminal. */
  readonly applied: AppliedView;
  readonly capabilities: TerminalCapabilities;
  /** `workerDigest` for these capabilities, perhaps remembered (`WorkerDigests`); computed when absent. */
  readonly digest?: (worker: Worker) => string;
}

export function planReconcile(input: PlanInput): ReconcilePlan {
  const { workers, applied, capabilities } = input;
  const digestOf = input.digest ?? ((worker: Worker) => workerDigest(worker, capabilities));
  const held = new Set(input.held.map((u) => u.pin));
  const byPin = new Map(workers.map((w) => [w.pin, w]));
  const active = workers.filter((w) => w.status === 'active');
  const removals = [...held].filter((pin) => byPin.get(pin)?.status === 'removed');
  const work: PlannedWrite[] = [];
  for (const worker of active) {
    const digest = digestOf(worker);
    // Names read back may be truncated by the terminal's field width, so the digest of what was written decides.
    if (held.has(worker.pin) && applied.get(worker.pin) === digest) continue;
    work.push({
      pin: worker.pin,
      user: toTerminalUser(worker),
      templates: templatesFor(worker, capabilities),
      digest,
      adds: !held.has(worker.pin),
    });
  }
  const room =
    capabilities.maxUsers === undefined
      ? Number.POSITIVE_INFINITY
      : capabilities.maxUsers - (held.size - removals.length);
  const additions = work.filter((w) => w.adds);
  const full = additions.length > room;
  // Updates always go; additions only as far as there is room, the first ones in roster order.
  const notAdded = new Set(full ? additions.slice(Math.max(0, room)) : []);
  return {
    removals,
    writes: work.filter((w) => !notAdded.has(w)),
    notAdded: [...notAdded],
    forget: [...applied.pins()].filter((pin) => byPin.get(pin)?.status !== 'active'),
    foreignUsers: [...held].filter((pin) => !byPin.has(pin)).length,
    activeWorkers: active.length,
    full,
  };
}

export function toTerminalUser(worker: Worker): TerminalUser {
  return {
    pin: worker.pin,
    name: worker.name,
    card: worker.card ?? 0,
    password: worker.password ?? '',
    privilege: 0,
  };
}

/** The worker's fingerprints in this terminal's format (where it reads fingerprints) and photo (where it takes faces). */
export function templatesFor(worker: Worker, capabilities: TerminalCapabilities): PlannedTemplate[] {
  const templates: PlannedTemplate[] = [];
  if (capabilities.fingerprints) {
    for (const t of worker.templates)
      if (t.kind === 'fp' && t.format === capabilities.templateFormat)
        templates.push({ kind: 'fp', index: t.index, format: t.format, blob: t.blob });
  }
  if (capabilities.faces && worker.facePhoto)
    templates.push({ kind: 'fa', index: 0, format: 'photo', blob: worker.facePhoto });
  return templates;
}

/**
 * A digest of the worker as this terminal should hold them. It is stored per terminal
 * (`reconciler/<id>.applied`, gateway/store/reconciler-records.ts): changing what goes in
 * rewrites every worker on every terminal. What it reads of the capabilities is `digestRecipe`'s.
 */
export function workerDigest(worker: Worker, capabilities: TerminalCapabilities): string {
  const hash = createHash('sha256');
  hash.update(JSON.stringify(toTerminalUser(worker)));
  for (const t of worker.templates)
    if (t.kind === 'fp' && t.format === capabilities.templateFormat) hash.update(`fp:${t.index}:${t.blob}`);
  if (capabilities.faces && worker.facePhoto) hash.update(`fa:${worker.facePhoto}`);
  return hash.digest('hex').slice(0, 24);
}

/**
 * The part of the capabilities a digest depends on: terminals with the same recipe share every
 * worker's digest (20 ZK terminals of one model: one computation per worker, not 20).
 */
export function digestRecipe(capabilities: TerminalCapabilities): string {
  return `${capabilities.templateFormat ?? ''}|${capabilities.faces ? 'faces' : ''}`;
}
