import type { WorkerChange } from '../../gateway/model';
import { asText, DEL_TYPES, field, ID_CARD_PATTERN, isRecord, type TaskRef } from './protocol';

export type TaskKind = 'issue' | 'delete';

export interface TaskTypeMap {
  readonly '1': TaskKind;
  readonly '2': TaskKind;
}

/** Reads the heartbeat's task list (`[{Id, Type}]`, any key case). */
export function parseTaskRefs(content: unknown): { refs: TaskRef[]; problems: string[] } {
  if (!Array.isArray(content)) return { refs: [], problems: ['heartbeat Content is not a task list'] };
  const refs: TaskRef[] = [];
  const problems: string[] = [];
  content.forEach((item, i) => {
    const id = isRecord(item) ? asText(field(item, 'Id')) : undefined;
    if (!id) {
      problems.push(`task ${i} has no Id`);
      return;
    }
    const type = Number(asText(field(item as Record<string, unknown>, 'Type')));
    refs.push({ id, type: Number.isInteger(type) ? type : undefined });
  });
  return { refs, problems };
}

/**
 * Decides a record's kind by its shape (the seed's task-type dictionary and its examples contradict each
 * other, docs/protocols/sichuan.md#tasks): `delType` is a delete, `photo`/`userType` an issue; the type
 * map only when the shape is silent.
 */
export function taskKindOf(
  record: Readonly<Record<string, unknown>>,
  taskType: number | undefined,
  map: TaskTypeMap,
): TaskKind | undefined {
  if (field(record, 'delType') !== undefined) return 'delete';
  if (field(record, 'photo') !== undefined || field(record, 'userType') !== undefined) return 'issue';
  if (taskType === 1 || taskType === 2) return map[String(taskType) as '1' | '2'];
  return undefined;
}

const BASE64 = /^[A-Za-z0-9+/\r\n]+={0,2}\s*$/;

/** Turns GetTaskData's records into roster changes; a record that cannot be read becomes a problem. */
export function taskRecordsToChanges(
  content: unknown,
  taskType: number | undefined,
  map: TaskTypeMap,
): { changes: WorkerChange[]; problems: string[] } {
  if (!Array.isArray(content)) return { changes: [], problems: ['task Content is not a record list'] };
  const changes: WorkerChange[] = [];
  const problems: string[] = [];
  content.forEach((record, i) => {
    if (!isRecord(record)) {
      problems.push(`record ${i} is not an object`);
      return;
    }
    const userId = asText(field(record, 'userId'));
    if (!userId) {
      problems.push(`record ${i} has no userId`);
      return;
    }
    const kind = taskKindOf(record, taskType, map);
    const name = asText(field(record, 'name'));
    if (kind === 'delete') {
      const delType = asText(field(record, 'delType'));
      // Own keys only: a delType of "toString" must not find Object's method.
      const known = !delType ? '离职' : Object.hasOwn(DEL_TYPES, delType) ? DEL_TYPES[delType] : undefined;
      changes.push({
        source: 'sichuan',
        op: 'remove',
        identity: { sichuanUserId: userId },
        ...(name ? { name } : {}),
        // A code outside the delete-type dictionary (docs/protocols/sichuan.md#tasks) still removes (the
        // platform wants the worker off site), as a plain, non-binding Sichuan removal; its code is kept so
        // a person can ask the platform.
        ...(known
          ? { removalReason: known }
          : { removalReason: 'sichuan', removalDetail: `delType ${delType}` }),
      });
      return;
    }
    if (kind !== 'issue') {
      problems.push(`record ${i} (${userId}) is neither an issue nor a delete`);
      return;
    }
    const photoText = asText(field(record, 'photo'));
    if (photoText !== undefined && photoText !== '' && !BASE64.test(photoText)) {
      problems.push(`record ${i} (${userId}) photo is not base64`);
      return;
    }
    const userType = asText(field(record, 'userType'));
    const idCardNo = asText(field(record, 'idCardNo') ?? field(record, 'Idno'));
    changes.push({
      source: 'sichuan',
      op: 'upsert',
      identity: {
        sichuanUserId: userId,
        ...(idCardNo && ID_CARD_PATTERN.test(idCardNo) ? { idCardNo: idCardNo.toUpperCase() } : {}),
      },
      ...(name ? { name } : {}),
      ...(userType ? { workerType: userType } : {}),
      ...(photoText ? { facePhoto: Uint8Array.from(Buffer.from(photoText, 'base64')) } : {}),
    });
  });
  return { changes, problems };
}
