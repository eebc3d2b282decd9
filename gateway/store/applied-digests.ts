/**
 * What a reconciler remembers having written to one terminal: a digest per PIN
 * (`workerDigest`, 24 hex characters). 20 terminals × 5,000 workers held as objects of strings
 * cost ≈ 5 MB of heap; here a roster PIN (numeric, 1–999,999,999) and its digest take 16 bytes in
 * two typed arrays kept sorted by PIN. Anything else (a PIN with a leading zero, a digest of
 * another form) is kept exactly in a small map, so nothing a record holds is ever changed.
 */

const DIGEST_BYTES = 12;
/** A header may lie (a damaged file): never take its word for more than this many workers at once. */
const MAX_PREALLOCATED = 1_000_000;
/** Where `set` parses a digest before comparing or storing it (one table is used at a time). */
const SCRATCH = new Uint8Array(DIGEST_BYTES);

/** A read-only view, what a plan needs. */
export interface AppliedView {
  get(pin: string): string | undefined;
  has(pin: string): boolean;
  pins(): Iterable<string>;
  readonly size: number;
}

export class AppliedDigests implements AppliedView {
  private pinList = new Uint32Array(0);
  private digestBytes = new Uint8Array(0);
  private count = 0;
  private readonly other = new Map<string, string>();
  private version = 0;

  /** A table holding `entries` (tests, and records read from an older state.json). */
  static from(
    entries: Iterable<readonly [string, string]> | Readonly<Record<string, string>>,
  ): AppliedDigests {
    const table = new AppliedDigests();
    const list = Symbol.iterator in entries ? entries : Object.entries(entries);
    for (const [pin, digest] of list as Iterable<readonly [string, string]>) table.set(pin, digest);
    return table;
  }

  /**
   * The table a record file's body holds: `PIN digest` lines from `start` to the end of `text`
   * (reconciler-records.ts). Lines of roster PINs in rising order, as `entries` writes them, go
   * straight into the arrays; any other line goes through `set`. Throws on a line that is not a
   * PIN, one space and a digest, naming it (the header is line 1).
   */
  static parseLines(text: string, start: number, expected = 0): { digests: AppliedDigests; lines: number } {
    const table = new AppliedDigests();
    // Room for the count the header announces, allocated once.
    table.pinList = new Uint32Array(Math.min(expected, MAX_PREALLOCATED));
    table.digestBytes = new Uint8Array(table.pinList.length * DIGEST_BYTES);
    let lines = 0;
    let at = start;
    while (at < text.length) {
      let end = text.indexOf('\n', at);
      if (end < 0) end = text.length;
      lines++;
      const space = text.indexOf(' ', at);
      const second = space < 0 ? -1 : text.indexOf(' ', space + 1);
      if (space <= at || space >= end - 1 || (second >= 0 && second < end))
        throw new Error(`line ${lines + 1} is not "PIN digest"`);
      const key = pinKeyIn(text, at, space);
      const last = table.count > 0 ? table.pinList[table.count - 1]! : 0;
      if (key > last && table.other.size === 0 && parseDigestIn(text, space + 1, end, SCRATCH)) {
        table.makeRoom();
        table.pinList[table.count] = key;
        table.digestBytes.set(SCRATCH, table.count * DIGEST_BYTES);
        table.count++;
        table.version++;
      } else {
        table.set(text.slice(at, space), text.slice(space + 1, end));
      }
      at = end + 1;
    }
    return { digests: table, lines };
  }

  get size(): number {
    return this.count + this.other.size;
  }

  /** Goes up on every change that alters the table: a store saves only when it has moved. */
  get changes(): number {
    return this.version;
  }

  get(pin: string): string | undefined {
    const key = pinKey(pin);
    if (key < 0) return this.other.get(pin);
    const at = this.find(key);
    if (at < 0) return this.other.get(pin);
    return Buffer.from(
      this.digestBytes.buffer,
      this.digestBytes.byteOffset + at * DIGEST_BYTES,
      DIGEST_BYTES,
    ).toString('hex');
  }

  has(pin: string): boolean {
    return this.get(pin) !== undefined;
  }

  set(pin: string, digest: string): void {
    const key = pinKey(pin);
    if (key < 0 || !parseDigest(digest, SCRATCH)) {
      this.deleteCompact(pin);
      if (this.other.get(pin) !== digest) {
        this.other.set(pin, digest);
        this.version++;
      }
      return;
    }
    if (this.other.delete(pin)) this.version++;
    let at = this.find(key);
    if (at < 0) {
      at = ~at;
      this.makeRoom();
      this.pinList.copyWithin(at + 1, at, this.count);
      this.digestBytes.copyWithin((at + 1) * DIGEST_BYTES, at * DIGEST_BYTES, this.count * DIGEST_BYTES);
      this.pinList[at] = key;
      this.count++;
    } else if (sameBytes(this.digestBytes, at * DIGEST_BYTES, SCRATCH)) {
      return;
    }
    this.digestBytes.set(SCRATCH, at * DIGEST_BYTES);
    this.version++;
  }

  delete(pin: string): boolean {
    const removed = this.deleteCompact(pin) || this.other.delete(pin);
    if (removed) this.version++;
    return removed;
  }

  *pins(): IterableIterator<string> {
    for (let i = 0; i < this.count; i++) yield String(this.pinList[i]);
    yield* this.other.keys();
  }

  *entries(): IterableIterator<[string, string]> {
    for (const pin of this.pins()) yield [pin, this.get(pin)!];
  }

  /** Bytes the table holds (its arrays at their capacity), for tests and measurements. */
  get heldBytes(): number {
    return this.pinList.byteLength + this.digestBytes.byteLength;
  }

  private deleteCompact(pin: string): boolean {
    const key = pinKey(pin);
    if (key < 0) return false;
    const at = this.find(key);
    if (at < 0) return false;
    this.pinList.copyWithin(at, at + 1, this.count);
    this.digestBytes.copyWithin(at * DIGEST_BYTES, (at + 1) * DIGEST_BYTES, this.count * DIGEST_BYTES);
    this.count--;
    return true;
  }

  /** The index of `key`, or the one's complement of where it would go. */
  private find(key: number): number {
    let low = 0;
    let high = this.count - 1;
    while (low <= high) {
      const mid = (low + high) >>> 1;
      const value = this.pinList[mid]!;
      if (value < key) low = mid + 1;
      else if (value > key) high = mid - 1;
      else return mid;
    }
    return ~low;
  }

  private makeRoom(): void {
    if (this.count < this.pinList.length) return;
    // Grows by a quarter, not double: a record rarely grows by more than a few workers at a time.
    const capacity = Math.max(16, Math.ceil(this.count * 1.25));
    const pins = new Uint32Array(capacity);
    pins.set(this.pinList.subarray(0, this.count));
    const bytes = new Uint8Array(capacity * DIGEST_BYTES);
    bytes.set(this.digestBytes.subarray(0, this.count * DIGEST_BYTES));
    this.pinList = pins;
    this.digestBytes = bytes;
  }
}

/** A roster PIN (1–999,999,999 without leading zeros) as its number; −1 for anything else. */
function pinKey(pin: string): number {
  return pinKeyIn(pin, 0, pin.length);
}

function pinKeyIn(text: string, from: number, to: number): number {
  const length = to - from;
  if (length <= 0 || length > 9) return -1;
  let value = 0;
  for (let i = from; i < to; i++) {
    const digit = text.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9 || (i === from && digit === 0)) return -1;
    value = value * 10 + digit;
  }
  return value;
}

/** 24 lowercase hex characters into `into`; false (and `into` undefined) for anything else. */
function parseDigest(digest: string, into: Uint8Array): boolean {
  return parseDigestIn(digest, 0, digest.length, into);
}

function parseDigestIn(text: string, from: number, to: number, into: Uint8Array): boolean {
  if (to - from !== DIGEST_BYTES * 2) return false;
  for (let i = 0; i < DIGEST_BYTES; i++) {
    const high = hexValue(text.charCodeAt(from + 2 * i));
    const low = hexValue(text.charCodeAt(from + 2 * i + 1));
    if (high < 0 || low < 0) return false;
    into[i] = (high << 4) | low;
  }
  return true;
}

function hexValue(code: number): number {
  if (code >= 48 && code <= 57) return code - 48;
  if (code >= 97 && code <= 102) return code - 87;
  return -1;
}

function sameBytes(table: Uint8Array, offset: number, digest: Uint8Array): boolean {
  for (let i = 0; i < DIGEST_BYTES; i++) if (table[offset + i] !== digest[i]) return false;
  return true;
}
