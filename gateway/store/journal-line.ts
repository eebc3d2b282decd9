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

/**
 * One journal line: what `JSON.stringify({ ...draft, seq })` gives for a punch built by the
 * pipeline (same keys, same order), without the object copy and the generic walk: it runs for
 * every punch written. Strings that need escaping go through JSON.stringify.
 */
export function formatJournalLine(draft: PunchDraft, seq: number): string {
  const { flags } = draft;
  let list = '[';
  for (let i = 0; i < flags.length; i++) list += (i > 0 ? ',' : '') + quote(flags[i] as string);
  list += ']';
  return (
    `{"key":${quote(draft.key)},"terminalId":${quote(draft.terminalId)},"pin":${quote(draft.pin)}` +
    `,"workerId":${draft.workerId === null ? 'null' : quote(draft.workerId)}` +
    `,"direction":${quote(draft.direction)},"method":${quote(draft.method)}` +
    `,"atMs":${jsonNumber(draft.atMs)},"source":${quote(draft.source)},"flags":${list}` +
    `,"receivedMs":${receivedText(draft.receivedMs)},"seq":${jsonNumber(seq)}}`
  );
}

/** A JSON string: printable ASCII without `"` or `\` is written as is, anything else as JSON.stringify does. */
function quote(text: string): string {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) return JSON.stringify(text);
  }
  return `"${text}"`;
}

/** The punches of one ingest share their receive time: its text is made once, not once a punch. */
let lastReceived = { ms: Number.NaN, text: 'null' };
function receivedText(ms: number): string {
  if (ms !== lastReceived.ms) lastReceived = { ms, text: jsonNumber(ms) };
  return lastReceived.text;
}

/** JSON writes a non-finite number as null (and the reader then refuses the line, as before). */
function jsonNumber(n: number): string {
  return Number.isFinite(n) ? String(n) : 'null';
}
