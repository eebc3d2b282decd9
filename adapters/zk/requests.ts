import { Cmd, Fct } from './constants';

/**
 * The `<bhii>` argument of CMD_DATA_WRRQ: 1, the table's read command, its selector, 0
 * (docs/protocols/zk.md#bulk-reads).
 */
export function tableRequest(command: number, fct: number): Buffer {
  const b = Buffer.alloc(11);
  b.writeInt8(1, 0);
  b.writeUInt16LE(command, 1);
  b.writeInt32LE(fct, 3);
  return b;
}

export const READ_ATTENDANCE = tableRequest(Cmd.ATTLOG_RRQ, 0);
export const READ_USERS = tableRequest(Cmd.USERTEMP_RRQ, Fct.USER);
export const READ_TEMPLATES = tableRequest(Cmd.DB_RRQ, Fct.FINGERTMP);

export interface FreeSizes {
  readonly users: number;
  readonly templates: number;
  readonly records: number;
  readonly recordCapacity: number;
  /** How many users the terminal can hold (pyzk's users_cap, docs/protocols/zk.md#device-information). */
  readonly userCapacity: number;
}

export function decodeFreeSizes(data: Buffer): FreeSizes {
  if (data.length < 80) throw new Error(`GET_FREE_SIZES answered ${data.length} bytes, 80 expected`);
  return {
    users: data.readInt32LE(16),
    templates: data.readInt32LE(24),
    records: data.readInt32LE(32),
    recordCapacity: data.readInt32LE(64),
    userCapacity: data.readInt32LE(60),
  };
}
