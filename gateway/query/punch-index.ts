import type { Direction, Punch, PunchFlag, VerifyMethod } from '../model';

const METHODS: readonly VerifyMethod[] = ['fp', 'fa', 'card', 'pwd'];
const SOURCES: readonly Punch['source'][] = ['realtime', 'poll', 'push'];
const FLAGS: readonly PunchFlag[] = ['unmatched', 'removed_worker', 'unknown_verify', 'clock_suspect'];
const INITIAL_CAPACITY = 4096;
/** Lookups for `add`, which runs for every punch journaled: the positions in the lists above. */
const METHOD_BITS = new Map<string, number>(METHODS.map((m, i) => [m, i]));
const SOURCE_BITS = new Map<string, number>(SOURCES.map((s, i) => [s, i]));
const FLAG_BITS = new Map<string, number>(FLAGS.map((f, i) => [f, 1 << i]));

/** One row of the index, rebuilt into a punch-shaped object only for the rows a page shows. */
export interface IndexedPunch {
  readonly seq: number;
  readonly atMs: number;
  readonly receivedMs: number;
  readonly terminalId: string;
  readonly pin: string;
  readonly workerId: string | null;
  readonly direction: Direction;
  readonly method: VerifyMethod;
  readonly source: Punch['source'];
  readonly flags: readonly PunchFlag[];
}

/** Interns strings (worker ids, terminal ids, PINs) so each row stores small integers. */
class Interner {
  private readonly ids = new Map<string, number>();
  readonly values: string[] = [];

  intern(value: string): number {
    let id = this.ids.get(value);
    if (id === undefined) {
      id = this.values.length;
      this.values.push(value);
      this.ids.set(value, id);
    }
    return id;
  }

  idOf(value: string): number | undefined {
    return this.ids.get(value);
  }
}

/**
 * Every journaled punch as columns of typed arrays (about 40 bytes a punch), in journal order.
 * Rows are appended in sequence order, so "newest first" is a walk from the end and a filtered
 * first page stops after a page of matches; whole-range counts are one tight loop over numbers.
 */
export class PunchIndex {
  private capacity = 0;
  private rows = 0;
  seq = new Float64Array(0);
  atMs = new Float64Array(0);
  receivedMs = new Float64Array(0);
  /** Worker id index, -1 for an unmatched PIN. */
  worker = new Int32Array(0);
  terminal = new Uint16Array(0);
  pin = new Int32Array(0);
  /** bit 0: out; bits 1–2: method; bits 3–4: source. */
  kind = new Uint8Array(0);
  flags = new Uint8Array(0);
  readonly workers = new Interner();
  readonly terminals = new Interner();
  readonly pins = new Interner();
  /** Per worker index: the last punch by time (its direction decides "on site"). */
  private lastAt = new Float64Array(0);
  private lastOut = new Uint8Array(0);

  get size(): number {
    return this.rows;
  }

  get lastSeq(): number {
    return this.rows === 0 ? 0 : this.seq[this.rows - 1]!;
  }

  add(punch: Punch): void {
    // The journal hands punches over in sequence order; anything at or below the last is a replay.
    if (this.rows > 0 && punch.seq <= this.lastSeq) return;
    if (this.rows === this.capacity) this.grow();
    const row = this.rows++;
    this.seq[row] = punch.seq;
    this.atMs[row] = punch.atMs;
    this.receivedMs[row] = punch.receivedMs;
    this.terminal[row] = this.terminals.intern(punch.terminalId);
    this.pin[row] = this.pins.intern(punch.pin);
    const out = punch.direction === 'out' ? 1 : 0;
    this.kind[row] =
      out | ((METHOD_BITS.get(punch.method) ?? 0) << 1) | ((SOURCE_BITS.get(punch.source) ?? 0) << 3);
    let flags = 0;
    // An index loop: for-of over the pipeline's frozen flag lists allocates an iterator result a step.
    const list = punch.flags;
    for (let i = 0; i < list.length; i++) flags |= FLAG_BITS.get(list[i] as PunchFlag) ?? 0;
    this.flags[row] = flags;
    if (punch.workerId === null) {
      this.worker[row] = -1;
      return;
    }
    const worker = this.workers.intern(punch.workerId);
    this.worker[row] = worker;
    if (worker >= this.lastAt.length) this.growWorkers(worker + 1);
    if (punch.atMs >= this.lastAt[worker]!) {
      this.lastAt[worker] = punch.atMs;
      this.lastOut[worker] = out;
    }
  }

  row(i: number): IndexedPunch {
    const kind = this.kind[i]!;
    const flagBits = this.flags[i]!;
    const worker = this.worker[i]!;
    return {
      seq: this.seq[i]!,
      atMs: this.atMs[i]!,
      receivedMs: this.receivedMs[i]!,
      terminalId: this.terminals.values[this.terminal[i]!]!,
      pin: this.pins.values[this.pin[i]!]!,
      workerId: worker < 0 ? null : this.workers.values[worker]!,
      direction: kind & 1 ? 'out' : 'in',
      method: METHODS[(kind >> 1) & 3]!,
      source: SOURCES[(kind >> 3) & 3] ?? 'poll',
      flags: FLAGS.filter((_, bit) => flagBits & (1 << bit)),
    };
  }

  isOut(i: number): boolean {
    return (this.kind[i]! & 1) === 1;
  }

  hasFlag(i: number, flag: PunchFlag): boolean {
    return (this.flags[i]! & (1 << FLAGS.indexOf(flag))) !== 0;
  }

  /** Worker ids whose last punch (by punch time) is an entry. */
  onSite(): string[] {
    const ids: string[] = [];
    const count = this.workers.values.length;
    for (let w = 0; w < count; w++) {
      if (this.lastAt[w]! > 0 && this.lastOut[w] === 0) ids.push(this.workers.values[w]!);
    }
    return ids;
  }

  lastPunchOf(workerId: string): { atMs: number; direction: Direction } | undefined {
    const w = this.workers.idOf(workerId);
    if (w === undefined || !(this.lastAt[w]! > 0)) return undefined;
    return { atMs: this.lastAt[w]!, direction: this.lastOut[w] ? 'out' : 'in' };
  }

  private grow(): void {
    const next = Math.max(INITIAL_CAPACITY, this.capacity * 2);
    this.seq = resize(this.seq, next);
    this.atMs = resize(this.atMs, next);
    this.receivedMs = resize(this.receivedMs, next);
    this.worker = resize(this.worker, next);
    this.terminal = resize(this.terminal, next);
    this.pin = resize(this.pin, next);
    this.kind = resize(this.kind, next);
    this.flags = resize(this.flags, next);
    this.capacity = next;
  }

  private growWorkers(min: number): void {
    const next = Math.max(1024, min, this.lastAt.length * 2);
    this.lastAt = resize(this.lastAt, next);
    this.lastOut = resize(this.lastOut, next);
  }
}

type TypedArray = Float64Array | Int32Array | Uint16Array | Uint8Array;

function resize<T extends TypedArray>(array: T, length: number): T {
  const next = new (array.constructor as new (length: number) => T)(length);
  next.set(array);
  return next;
}
