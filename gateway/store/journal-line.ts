import type { Punch, PunchDraft, PunchFlag } from '../model';

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

/**
 * Journal lines read straight from their bytes, the counterpart of `JournalLineEncoder`: a line in
 * the layout it writes (its keys in its order, no spaces) whose strings are printable ASCII without
 * escapes becomes the same punch `parseJournalLine` gives, without decoding the chunk to text,
 * splitting it or running JSON.parse (≈ 0.7 µs a line instead of 2–2.5 µs: the JSON path was a
 * quarter of the CPU a Deli check-in takes end to end in a backlog drain). Any other line (another
 * key order, an escape, a byte outside printable ASCII, a number JSON writes otherwise) goes through
 * `parseJournalLine`, so what a line means never depends on which path read it.
 */
export class JournalLineDecoder {
  private bytes: Buffer = EMPTY_BUFFER;
  private at = 0;
  /** Where the line ends (its newline, or the end of the bytes): nothing past it is read. */
  private end = 0;
  /** The last terminal id read, as bytes and as text: lines come in runs from one terminal. */
  private terminalBytes: Uint8Array = EMPTY_BYTES;
  private terminalId = '';

  /** The punch on `bytes[start, end)` (without its newline), or null for anything that is not one. */
  decode(bytes: Buffer, start: number, end: number): Punch | null {
    const punch = this.fast(bytes, start, end);
    // The caller's buffer is not held past the call.
    this.bytes = EMPTY_BUFFER;
    return punch ?? parseJournalLine(bytes.toString('utf8', start, end));
  }

  private fast(bytes: Buffer, start: number, end: number): Punch | undefined {
    this.bytes = bytes;
    this.at = start;
    this.end = end;
    if (!this.literal(KEY)) return undefined;
    const key = this.text();
    if (key === undefined || !this.literal(TERMINAL)) return undefined;
    const terminalId = this.terminal();
    if (terminalId === undefined || !this.literal(PIN)) return undefined;
    const pin = this.text();
    if (pin === undefined || !this.literal(WORKER)) return undefined;
    const workerId = this.literal(NULL) ? null : this.text();
    if (workerId === undefined || !this.literal(DIRECTION)) return undefined;
    const direction = this.literal(IN) ? 'in' : this.literal(OUT) ? 'out' : undefined;
    if (direction === undefined || !this.literal(METHOD)) return undefined;
    const method = this.literal(FP)
      ? 'fp'
      : this.literal(FA)
        ? 'fa'
        : this.literal(CARD)
          ? 'card'
          : this.literal(PWD)
            ? 'pwd'
            : undefined;
    if (method === undefined || !this.literal(AT)) return undefined;
    const atMs = this.integer();
    if (atMs < 0 || !this.literal(SOURCE)) return undefined;
    const source = this.literal(POLL)
      ? 'poll'
      : this.literal(REALTIME)
        ? 'realtime'
        : this.literal(PUSH)
          ? 'push'
          : // The journal keeps what it was given; parseJournalLine does not check the source either.
            (this.text() as Punch['source'] | undefined);
    if (source === undefined || !this.literal(FLAGS)) return undefined;
    const flags = this.flags();
    if (flags === undefined || !this.literal(RECEIVED)) return undefined;
    const receivedMs = this.integer();
    if (receivedMs < 0 || !this.literal(SEQ)) return undefined;
    const seq = this.integer();
    if (seq < 1 || this.at !== end - 1 || bytes[this.at] !== 0x7d) return undefined;
    // The keys in the line's order, as JSON.parse would build the object.
    return { key, terminalId, pin, workerId, direction, method, atMs, source, flags, receivedMs, seq };
  }

  /** Steps over `expected` if the bytes at the position are exactly it. */
  private literal(expected: Uint8Array): boolean {
    const bytes = this.bytes;
    const at = this.at;
    if (at + expected.length > this.end) return false;
    for (let i = 0; i < expected.length; i++) if (bytes[at + i] !== expected[i]) return false;
    this.at = at + expected.length;
    return true;
  }

  /** The end (exclusive) of a string at the position that needs no unescaping, or -1. */
  private stringEnd(): number {
    const bytes = this.bytes;
    if (bytes[this.at] !== 0x22) return -1;
    for (let i = this.at + 1; i < this.end; i++) {
      const c = bytes[i] as number;
      if (c === 0x22) return i;
      if (c < 0x20 || c > 0x7e || c === 0x5c) return -1;
    }
    return -1;
  }

  private text(): string | undefined {
    const end = this.stringEnd();
    if (end < 0) return undefined;
    // Printable ASCII reads the same as Latin-1 and as UTF-8, and Latin-1 is a plain copy.
    const text = this.bytes.toString('latin1', this.at + 1, end);
    this.at = end + 1;
    return text;
  }

  private terminal(): string | undefined {
    const bytes = this.bytes;
    const end = this.stringEnd();
    if (end < 0) return undefined;
    const start = this.at + 1;
    this.at = end + 1;
    const known = this.terminalBytes;
    if (known.length === end - start) {
      let same = true;
      for (let i = 0; i < known.length && same; i++) same = bytes[start + i] === known[i];
      if (same) return this.terminalId;
    }
    this.terminalBytes = new Uint8Array(bytes.subarray(start, end));
    this.terminalId = bytes.toString('latin1', start, end);
    return this.terminalId;
  }

  /** `[]` as one shared frozen list (the pipeline shares frozen lists too), or a list of plain strings. */
  private flags(): readonly PunchFlag[] | undefined {
    const bytes = this.bytes;
    if (this.literal(EMPTY_LIST)) return NO_FLAGS;
    if (this.at >= this.end || bytes[this.at] !== 0x5b) return undefined;
    this.at++;
    const flags: PunchFlag[] = [];
    for (;;) {
      const flag = this.text();
      if (flag === undefined) return undefined;
      flags.push(flag as PunchFlag);
      if (this.at >= this.end) return undefined;
      if (bytes[this.at] === 0x5d) break;
      if (bytes[this.at] !== 0x2c) return undefined;
      this.at++;
    }
    this.at++;
    return flags;
  }

  /**
   * A whole number as JSON writes it (no sign, no leading zero, no fraction or exponent), of at most
   * 15 digits so that it is exact; -1 for anything else.
   */
  private integer(): number {
    const bytes = this.bytes;
    const start = this.at;
    const stop = Math.min(this.end, start + 16);
    let n = 0;
    let at = start;
    for (; at < stop; at++) {
      const c = bytes[at] as number;
      if (!(c >= 0x30 && c <= 0x39)) break;
      n = n * 10 + (c - 0x30);
    }
    const digits = at - start;
    if (digits === 0 || digits > 15 || (digits > 1 && bytes[start] === 0x30)) return -1;
    this.at = at;
    return n;
  }
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
const TERMINAL = ascii(',"terminalId":');
const PIN = ascii(',"pin":');
const EMPTY_LIST = ascii('[]');
const IN = ascii('"in"');
const OUT = ascii('"out"');
const FP = ascii('"fp"');
const FA = ascii('"fa"');
const CARD = ascii('"card"');
const PWD = ascii('"pwd"');
const POLL = ascii('"poll"');
const REALTIME = ascii('"realtime"');
const PUSH = ascii('"push"');
const EMPTY_BYTES = new Uint8Array(0);
const EMPTY_BUFFER = Buffer.alloc(0);
const NO_FLAGS: readonly PunchFlag[] = Object.freeze([]);
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
