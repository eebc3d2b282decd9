import { type ModbusTerminalConfig, terminalSchema } from '../../config/schema';
import type { PunchBatch, PunchCursor, RawPunch } from '../../gateway/model';

/** A validated Modbus terminal config (defaults filled in by the real schema). */
export function modbusConfig(input: Record<string, unknown>): ModbusTerminalConfig {
  const parsed = terminalSchema.parse({ id: 'mb1', driver: 'modbus', direction: 'in', ...input });
  if (parsed.driver !== 'modbus') throw new Error('not a modbus config');
  return parsed;
}

/** PINs of a batch, as numbers, for compact assertions. */
export const pinsOf = (batch: PunchBatch): number[] => batch.punches.map((p) => Number(p.pin));

/** What the gateway does with a cursor: persist it as JSON and hand it back later. */
export const persisted = (cursor: PunchCursor): PunchCursor => JSON.parse(JSON.stringify(cursor));

/** An event as written to an event-ring-v1 device, whose method codes equal the family's verify codes. */
export interface WrittenEvent {
  readonly pin: number;
  readonly timeSec: number;
  readonly method: number;
  /** 0 = the terminal's, 1 = in, 2 = out (event-ring-v1). */
  readonly direction: number;
}

const DIRECTION_OF_CODE = ['-', 'in', 'out'];

/** Everything a journaled punch says about its event, to compare with what the device really wrote. */
export const eventKey = (e: WrittenEvent): string =>
  `${e.pin}@${e.timeSec}/${e.method}/${DIRECTION_OF_CODE[e.direction] ?? e.direction}`;

export const punchKey = (p: RawPunch): string =>
  `${p.pin}@${'utcMs' in p.time ? p.time.utcMs / 1000 : JSON.stringify(p.time)}/${p.verifyCode}/${p.direction ?? '-'}`;
