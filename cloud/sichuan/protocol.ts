/**
 * The platform's dictionaries and record shapes, shared by client and emulator; what each means and
 * where the seed says it: docs/protocols/sichuan.md.
 */

import type { RemovalReason } from '../../gateway/model';

/** The answer's `Result` (docs/protocols/sichuan.md#result-codes). */
export const ResultCode = {
  ok: 0,
  tasksWaiting: 1,
  unknownSn: -1,
  badSign: -2,
  expired: -3,
  tooFrequent: -4,
  serverError: -99,
} as const;

/** Delete types of a delete task (docs/protocols/sichuan.md#tasks). */
export const DEL_TYPES: Readonly<Record<string, RemovalReason>> = { '1': '离职', '2': '禁入', '3': '红黄码' };

/** Registered worker types: 1 labour, 2 post staff (docs/protocols/sichuan.md#endpoints). */
export const USER_TYPES: Readonly<Record<string, string>> = { '1': '采集劳务人员', '2': '采集岗位人员' };

/** UploadData `type`: 1 entry (进场), 2 exit (离场) (docs/protocols/sichuan.md#upload). */
export const PUNCH_TYPE = { in: 1, out: 2 } as const;

/** The platform's answer on every endpoint: `{Result, Content, Msg}`. */
export interface SichuanAnswer {
  readonly Result: number;
  /** Plain value: the emulator encrypts it, or sends it as plain JSON when asked to misbehave. */
  readonly Content?: unknown;
  readonly Msg?: string;
}

/** One task in a heartbeat's Content (docs/protocols/sichuan.md#tasks). */
export interface TaskRef {
  readonly id: string;
  readonly type: number | undefined;
}

/** One record of UploadData's `data` (docs/protocols/sichuan.md#upload). */
export interface UploadRecord {
  readonly sn: string;
  readonly userId: string;
  readonly type: number;
  readonly recogTime: string;
}

/** A GetTaskData record issuing a worker to the device (docs/protocols/sichuan.md#tasks, "issue"). */
export interface IssueRecord {
  readonly userId: string;
  readonly name?: string;
  readonly userType?: number | string;
  /** Face photo, base64. */
  readonly photo?: string;
  /** Not in the seed, but some deployments add the ID number; kept when present. */
  readonly idCardNo?: string;
}

/** A GetTaskData record removing a worker (docs/protocols/sichuan.md#tasks, "delete"). */
export interface DeleteRecord {
  readonly userId: string;
  readonly name?: string;
  readonly delType: number | string;
}

export type TaskRecord = IssueRecord | DeleteRecord;

export const RECOG_TIME_PATTERN = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/;
export const DATE_PATTERN = /^\d{4}-\d{2}-\d{2}$/;
export const ID_CARD_PATTERN = /^(\d{17}[\dXx]|\d{15})$/;
export const ID_PERIOD_PATTERN = /^\d{8}-(\d{8}|长期)$/;

/**
 * Reads `obj[name]` whatever the key's case (the seed mixes `Result` and `result`;
 * docs/protocols/sichuan.md#transport).
 */
export function field(obj: Readonly<Record<string, unknown>>, name: string): unknown {
  if (name in obj) return obj[name];
  const lower = name.toLowerCase();
  for (const key of Object.keys(obj)) if (key.toLowerCase() === lower) return obj[key];
  return undefined;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function asText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}
