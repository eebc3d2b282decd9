import { DateTime } from 'luxon';
import { idNumberProblem } from '../../lib/id-number';
import { imageHeader, isImageHeader } from '../../lib/image-header';
import {
  DATE_PATTERN,
  ID_CARD_PATTERN,
  ID_PERIOD_PATTERN,
  isRecord,
  RECOG_TIME_PATTERN,
  type UploadRecord,
} from './protocol';

/**
 * Field-format checks the emulator applies, as strict as the seed's tables allow (the fields are in
 * docs/protocols/sichuan.md#endpoints and #upload). Each returns problems.
 */

export function checkRecogTime(value: unknown): string | null {
  if (typeof value !== 'string' || !RECOG_TIME_PATTERN.test(value))
    return 'recogTime is not yyyy-MM-dd HH:mm:ss';
  if (!DateTime.fromFormat(value, 'yyyy-MM-dd HH:mm:ss').isValid) return 'recogTime is not a real date';
  return null;
}

export function checkUploadRecords(
  records: unknown,
  sn: string,
): { records: UploadRecord[]; problems: string[] } {
  const problems: string[] = [];
  if (!Array.isArray(records)) return { records: [], problems: ['data is not a JSON array'] };
  if (records.length === 0) problems.push('data holds no records');
  if (records.length > 10) problems.push(`data holds ${records.length} records (at most 10)`);
  const valid: UploadRecord[] = [];
  records.forEach((record, i) => {
    if (!isRecord(record)) {
      problems.push(`data[${i}] is not an object`);
      return;
    }
    const before = problems.length;
    if (record['sn'] !== sn)
      problems.push(`data[${i}].sn ${JSON.stringify(record['sn'])} is not the device sn`);
    if (typeof record['userId'] !== 'string' || record['userId'] === '') {
      problems.push(`data[${i}].userId is missing`);
    }
    if (record['type'] !== 1 && record['type'] !== 2) problems.push(`data[${i}].type is not 1 or 2`);
    const time = checkRecogTime(record['recogTime']);
    if (time) problems.push(`data[${i}].${time}`);
    if (problems.length === before) valid.push(record as unknown as UploadRecord);
  });
  return { records: valid, problems };
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

export interface RegistrationFields {
  readonly Idno: string;
  readonly Name: string;
  readonly gender: string;
  readonly nation: string;
  readonly birthday: string;
  readonly address: string;
  readonly idissue: string;
  readonly idperiod: string;
  /** Decrypted base64 text. */
  readonly idphoto: string;
  readonly photo: string;
  readonly userType: string;
}

/**
 * Checks RegistData's decrypted fields. `strict` refuses, as a real platform does, an 18-character
 * Idno whose GB 11643 check character is wrong and photos that are not JPEG or PNG images.
 */
export function checkRegistration(fields: RegistrationFields, strict = false): string[] {
  const problems: string[] = [];
  if (!ID_CARD_PATTERN.test(fields.Idno)) problems.push('Idno is not an 18- or 15-character ID number');
  else if (strict && fields.Idno.length === 18) {
    const problem = idNumberProblem(fields.Idno);
    if (problem) problems.push(`Idno: ${problem}`);
  }
  if (strict) {
    for (const name of ['idphoto', 'photo'] as const) {
      const header = BASE64.test(fields[name]) ? imageHeader(Buffer.from(fields[name], 'base64')) : undefined;
      if (header && !isImageHeader(header)) problems.push(`${name}: ${header.problem}`);
    }
  }
  for (const name of ['Name', 'nation', 'address', 'idissue'] as const) {
    if (fields[name].trim() === '') problems.push(`${name} is empty`);
  }
  if (fields.gender !== '1' && fields.gender !== '2') problems.push('gender is not 1 or 2');
  if (!DATE_PATTERN.test(fields.birthday) || !DateTime.fromISO(fields.birthday).isValid) {
    problems.push('birthday is not yyyy-MM-dd');
  }
  if (!ID_PERIOD_PATTERN.test(fields.idperiod))
    problems.push('idperiod is not yyyyMMdd-yyyyMMdd or yyyyMMdd-长期');
  for (const name of ['idphoto', 'photo'] as const) {
    if (!BASE64.test(fields[name])) problems.push(`${name} does not decrypt to base64`);
  }
  if (fields.userType !== '1' && fields.userType !== '2') problems.push('userType is not 1 or 2');
  return problems;
}
