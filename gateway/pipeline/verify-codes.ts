import type { Direction, DriverKind, VerifyMethod } from '../model';

/**
 * Each family's verify codes. ZK and ADMS share ZKTeco's VerifyMode numbers; Modbus uses the
 * event-ring-v1 profile's method field. Combined modes (fingerprint+card…) count as the biometric.
 */
const ZK_VERIFY: Readonly<Record<number, VerifyMethod>> = {
  0: 'pwd',
  1: 'fp',
  2: 'card',
  3: 'pwd',
  4: 'card',
  5: 'fp',
  6: 'fp',
  7: 'pwd',
  8: 'fp',
  9: 'fp',
  10: 'fp',
  11: 'card',
  12: 'fp',
  13: 'fp',
  14: 'fp',
  15: 'fa',
  16: 'fa',
  17: 'fa',
  18: 'fa',
  25: 'fa',
};

const MODBUS_VERIFY: Readonly<Record<number, VerifyMethod>> = { 0: 'card', 1: 'fp', 2: 'fa', 3: 'pwd' };

const TABLES: Readonly<Record<DriverKind, Readonly<Record<number, VerifyMethod>>>> = {
  zk: ZK_VERIFY,
  adms: ZK_VERIFY,
  modbus: MODBUS_VERIFY,
};

export function verifyMethodOf(kind: DriverKind, code: number): VerifyMethod | undefined {
  return TABLES[kind][code];
}

/** ZK punch states: 0 check-in, 1 check-out, 2 break-out, 3 break-in, 4 overtime-in, 5 overtime-out. */
export function directionOfState(state: number | undefined): Direction {
  return state === 1 || state === 2 || state === 5 ? 'out' : 'in';
}
