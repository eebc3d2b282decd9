/**
 * Command and reply codes of the ZK standalone protocol, names as in pyzk
 * (docs/protocols/zk.md#commands and docs/protocols/zk.md#replies).
 */
export const Cmd = {
  CONNECT: 1000,
  EXIT: 1001,
  ENABLEDEVICE: 1002,
  DISABLEDEVICE: 1003,
  RESTART: 1004,
  REFRESHDATA: 1013,
  GET_VERSION: 1100,
  AUTH: 1102,
  PREPARE_DATA: 1500,
  DATA: 1501,
  FREE_DATA: 1502,
  DATA_WRRQ: 1503,
  DATA_RDY: 1504,
  DB_RRQ: 7,
  USER_WRQ: 8,
  USERTEMP_RRQ: 9,
  OPTIONS_RRQ: 11,
  ATTLOG_RRQ: 13,
  CLEAR_ATTLOG: 15,
  DELETE_USER: 18,
  DELETE_USERTEMP: 19,
  GET_FREE_SIZES: 50,
  STARTVERIFY: 60,
  STARTENROLL: 61,
  CANCELCAPTURE: 62,
  /**
   * pyzk's "HR save": users, a finger table and templates uploaded with PREPARE_DATA/DATA
   * (docs/protocols/zk.md#uploads).
   */
  SAVE_USERTEMPS: 110,
  GET_TIME: 201,
  SET_TIME: 202,
  REG_EVENT: 500,
  ACK_OK: 2000,
  ACK_ERROR: 2001,
  ACK_DATA: 2002,
  ACK_RETRY: 2003,
  ACK_REPEAT: 2004,
  ACK_UNAUTH: 2005,
  ACK_UNKNOWN: 65535,
} as const;

/** Real-time event codes, carried in the session field of a CMD_REG_EVENT packet. */
export const Ev = {
  ATTLOG: 1,
  FINGER: 2,
  ENROLLUSER: 4,
  ENROLLFINGER: 8,
} as const;

/** Table selectors for CMD_DATA_WRRQ reads. */
export const Fct = {
  ATTLOG: 1,
  FINGERTMP: 2,
  USER: 5,
} as const;

/** Largest chunk one CMD_DATA_RDY may ask for (what firmware and every client use). */
export const MAX_CHUNK = 65_472;
export const USHRT_MAX = 65_535;
/**
 * The reply number real-time events carry, and so their acknowledgements (zk-protocol realtime;
 * pyzk's acks go out as 0): docs/protocols/zk.md#session-and-reply-numbers.
 */
export const EVENT_REPLY_ID = 0;

export function commandName(code: number): string {
  for (const [name, value] of Object.entries(Cmd)) if (value === code) return `CMD_${name}`;
  return `code ${code}`;
}
