import type { Punch, PunchDraft } from '../model';

const DIRECTIONS = new Set(['in', 'out']);
const METHODS = new Set(['fp', 'fa', 'card', 'pwd']);

/**
 * Parses one journal line, or returns null for anything that is not a whole punch
 * (a torn write, zero-filled blocks after power loss, a hand edit). Kept hand-rolled because it
 * runs for every punch read back; the shape checked is exactly `Punch`.
 */
export function parseJournalLine(line: string): Punch | null {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const p = value as Record<string, unknown>;
  if (
    !Number.isSafeInteger(p.seq) ||
    (p.seq as number) < 1 ||
    typeof p.key !== 'string' ||
    typeof p.terminalId !== 'string' ||
    typeof p.pin !== 'string' ||
    !(p.workerId === null || typeof p.workerId === 'string') ||
    !DIRECTIONS.has(p.direction as string) ||
    !METHODS.has(p.method as string) ||
    !Number.isFinite(p.atMs) ||
    !Array.isArray(p.flags)
  ) {
    return null;
  }
  return value as Punch;
}

/** What start-up needs of a line to pick it or skip it, read without parsing the line. */
export interface SeqAndTime {
  seq: number;
  atMs: number;
}

/**
 * The sequence number and punch time of the line `bytes[start, end)` (no newline), read from its
 * bytes, for lines in the layout `JournalLineEncoder` writes: `{…"atMs":<digits>,…,"seq":<digits>}`.
 * False for anything else (another key order, a negative or fractional time, a broken line): the
 * caller then parses the line in full. Start-up skips most lines by their time, and a full parse
 * costs four times this.
 */
export function peekSeqAndTime(bytes: Buffer, start: number, end: number, out: SeqAndTime): boolean {
  if (end - start < SEQ_KEY.length + AT_KEY.length + 4 || bytes[start] !== 0x7b || bytes[end - 1] !== 0x7d)
    return false;
  let seq = 0;
  let scale = 1;
  let at = end - 2;
  for (; at > start && isDigit(bytes[at]); at--) {
    seq += ((bytes[at] as number) - 0x30) * scale;
    scale *= 10;
  }
  if (scale === 1 || !Number.isSafeInteger(seq) || seq < 1 || !endsWith(bytes, at + 1, SEQ_KEY)) return false;
  const key = bytes.indexOf(AT_KEY, start);
  if (key < 0 || key > at) return false;
  let atMs = 0;
  let digits = 0;
  let i = key + AT_KEY.length;
  for (; isDigit(bytes[i]); i++, digits++) atMs = atMs * 10 + ((bytes[i] as number) - 0x30);
  if (digits === 0 || digits > 15 || bytes[i] !== 0x2c) return false;
  out.seq = seq;
  out.atMs = atMs;
  return true;
}

function isDigit(byte: number | undefined): boolean {
  return byte !== undefined && byte >= 0x30 && byte <= 0x39;
}

/** Whether `bytes` just before `end` are `suffix`. */
function endsWith(bytes: Uint8Array, end: number, suffix: Uint8Array): boolean {
  if (end < suffix.length) return false;
  for (let i = 0; i < suffix.length; i++) if (bytes[end - suffix.length + i] !== suffix[i]) return false;
  return true;
}

const ascii = (text: string): Uint8Array => Uint8Array.from(text, (c) => c.charCodeAt(0));
const SEQ_KEY = ascii(',"seq":');
const AT_KEY = ascii('"atMs":');
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

const KEY = ascii('{"key":');
const WORKER = ascii(',"workerId":');
const NULL = ascii('null');
const DIRECTION = ascii(',"direction":');
const METHOD = ascii(',"method":');
const AT = ascii(',"atMs":');
const SOURCE = ascii(',"source":');
const FLAGS = ascii(',"flags":');
const RECEIVED = ascii(',"receivedMs":');
const SEQ = ascii(',"seq":');
const END = ascii('}\n');
/** The closed sets (direction, method, source) as their JSON texts. */
const WORDS = new Map(
  ['in', 'out', 'fp', 'fa', 'card', 'pwd', 'realtime', 'poll', 'push'].map((word) => [
    word,
    ascii(`"${word}"`),
  ]),
);
/** Room for everything in a line but its free-text strings. */
const LINE_FIXED_BYTES = 512;
/** A UTF-16 unit takes at most 6 bytes in a JSON string (`\uXXXX`; UTF-8 needs 3). */
const MAX_BYTES_PER_UNIT = 6;

/**
 * Journal lines written straight into bytes: exactly what
 * `Buffer.from(JSON.stringify({ ...draft, seq }) + '\n')` gives for a punch built by the pipeline
 * (same keys, same order), without building any string per line. It runs for every punch written,
 * and a catch-up read writes 100,000 at a time: made as text, each line cost about 1 KB of
 * short-lived strings. Printable ASCII is copied as is; a string that needs escaping goes through
 * JSON.stringify. A terminal's part of the line and the pipeline's frozen flag lists are turned into
 * bytes once and copied.
 */
export class JournalLineEncoder {
  private buffer: Buffer;
  private at = 0;
  /** `,"terminalId":"…","pin":` by terminal. */
  private readonly terminals = new Map<string, Uint8Array>();
  /** `[…]` of the frozen flag lists the pipeline shares (one per combination). */
  private readonly flagLists = new WeakMap<readonly string[], Uint8Array>();

  constructor(initialBytes = 64 * 1024) {
    this.buffer = Buffer.allocUnsafe(initialBytes);
  }

  /** The lines written since the last `clear`, as a view (valid until the next write or clear). */
  get bytes(): Buffer {
    return this.buffer.subarray(0, this.at);
  }

  /** Starts over; a buffer grown past `keepBytes` by a large batch is let go. */
  clear(keepBytes = 1024 * 1024): void {
    this.at = 0;
    if (this.buffer.length > keepBytes) this.buffer = Buffer.allocUnsafe(keepBytes);
  }

  write(draft: PunchDraft, seq: number): void {
    const { key, terminalId, pin, workerId, direction, method, source } = draft;
    const terminal = this.terminals.get(terminalId) ?? this.terminalBytes(terminalId);
    this.reserve(
      LINE_FIXED_BYTES +
        terminal.length +
        MAX_BYTES_PER_UNIT *
          (key.length +
            pin.length +
            (workerId?.length ?? 0) +
            direction.length +
            method.length +
            source.length),
    );
    const buffer = this.buffer;
    let at = copy(buffer, this.at, KEY);
    at = jsonString(buffer, at, key);
    at = copy(buffer, at, terminal);
    at = jsonString(buffer, at, pin);
    at = copy(buffer, at, WORKER);
    at = workerId === null ? copy(buffer, at, NULL) : jsonString(buffer, at, workerId);
    at = word(buffer, copy(buffer, at, DIRECTION), direction);
    at = word(buffer, copy(buffer, at, METHOD), method);
    at = jsonNumber(buffer, copy(buffer, at, AT), draft.atMs);
    at = word(buffer, copy(buffer, at, SOURCE), source);
    at = this.flagList(copy(buffer, at, FLAGS), draft.flags);
    // Flag lists that are not the pipeline's may have grown the buffer.
    const out = this.buffer;
    at = jsonNumber(out, copy(out, at, RECEIVED), draft.receivedMs);
    at = jsonNumber(out, copy(out, at, SEQ), seq);
    this.at = copy(out, at, END);
  }

  /** Room for `bytes` more after `used` (the bytes written so far, the line in progress included). */
  private reserve(bytes: number, used = this.at): void {
    if (used + bytes <= this.buffer.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, used + bytes));
    this.buffer.copy(grown, 0, 0, used);
    this.buffer = grown;
  }

  private terminalBytes(id: string): Uint8Array {
    const bytes = jsonBytes(`,"terminalId":${JSON.stringify(id)},"pin":`);
    // Bounded, in case terminal ids ever came from outside the configuration.
    if (this.terminals.size < 4096) this.terminals.set(id, bytes);
    return bytes;
  }

  /** The flags as a JSON array; a frozen list's bytes are kept, as it cannot read differently next time. */
  private flagList(start: number, flags: readonly string[]): number {
    const known = this.flagLists.get(flags);
    if (known) return copy(this.buffer, start, known);
    let units = 0;
    for (const flag of flags) units += flag.length;
    // The rest of the line (receive time, seq) comes after the list: room for it too.
    this.reserve(MAX_BYTES_PER_UNIT * units + 4 * flags.length + LINE_FIXED_BYTES, start);
    const buffer = this.buffer;
    let at = start;
    buffer[at++] = 0x5b;
    for (let i = 0; i < flags.length; i++) {
      if (i > 0) buffer[at++] = 0x2c;
      at = jsonString(buffer, at, flags[i] as string);
    }
    buffer[at++] = 0x5d;
    // A copy: the buffer is written over by the next group.
    if (Object.isFrozen(flags)) this.flagLists.set(flags, new Uint8Array(buffer.subarray(start, at)));
    return at;
  }
}

/** One of the closed sets from its literal bytes; anything else as a JSON string. */
function word(buffer: Buffer, at: number, text: string): number {
  const literal = WORDS.get(text);
  return literal ? copy(buffer, at, literal) : jsonString(buffer, at, text);
}

/** Smis (small integers) on 64-bit V8: arithmetic on them allocates nothing. */
const MAX_SMALL = 0x7fffffff;

/** Always a plain Uint8Array (never a Buffer), so `copy` reads one kind of array. */
function jsonBytes(text: string): Uint8Array {
  return PRINTABLE_ASCII.test(text) ? ascii(text) : new Uint8Array(Buffer.from(text, 'utf8'));
}

function copy(buffer: Buffer, at: number, bytes: Uint8Array): number {
  for (let i = 0; i < bytes.length; i++) buffer[at + i] = bytes[i] as number;
  return at + bytes.length;
}

/** A JSON string: printable ASCII without `"` or `\` is copied; anything else as JSON.stringify writes it. */
function jsonString(buffer: Buffer, start: number, text: string): number {
  let at = start;
  buffer[at++] = 0x22;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) {
      return start + buffer.write(JSON.stringify(text), start, 'utf8');
    }
    buffer[at++] = c;
  }
  buffer[at++] = 0x22;
  return at;
}

/** As JSON writes a number: digits for a whole number, JSON.stringify's text otherwise (null if not finite). */
function jsonNumber(buffer: Buffer, at: number, n: number): number {
  if (n >= 0 && n % 1 === 0) {
    if (n <= MAX_SMALL) return smallInteger(buffer, at, n);
    // Epoch milliseconds: nine digits at a time, each part a small integer.
    if (n <= Number.MAX_SAFE_INTEGER) {
      const high = Math.floor(n / BILLION);
      return nineDigits(buffer, jsonNumber(buffer, at, high), n - high * BILLION);
    }
  }
  return at + buffer.write(JSON.stringify(n) ?? 'null', at, 'latin1');
}

const BILLION = 1_000_000_000;

function nineDigits(buffer: Buffer, at: number, n: number): number {
  let rest = n;
  for (let i = at + 8; i >= at; i--) {
    buffer[i] = 0x30 + (rest % 10);
    rest = (rest / 10) | 0;
  }
  return at + 9;
}

function smallInteger(buffer: Buffer, at: number, n: number): number {
  let digits = 1;
  for (let rest = n; rest >= 10; rest = (rest / 10) | 0) digits++;
  let rest = n;
  for (let i = at + digits - 1; i >= at; i--) {
    buffer[i] = 0x30 + (rest % 10);
    rest = (rest / 10) | 0;
  }
  return at + digits;
}
