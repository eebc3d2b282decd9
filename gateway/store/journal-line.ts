import type { Punch } from '../model';

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
