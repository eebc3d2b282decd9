import { type ModbusTerminalConfig, terminalSchema } from '../../config/schema';
import type { PunchBatch, PunchCursor } from '../../gateway/model';

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
