import { idNumberBirthDate, idNumberProblem } from '../../lib/id-number';
import { imageHeader, isImageHeader } from '../../lib/image-header';
import { field } from './context';
import type { RegisterValues } from './pages/workers';
import type { RegistrationForm } from './port';

const TEXT_FIELDS = [
  'name',
  'idCardNo',
  'gender',
  'nation',
  'birthday',
  'address',
  'idIssuer',
  'idPeriod',
  'userType',
  'team',
  'employer',
] as const;
const REQUIRED = ['name', 'idCardNo', 'nation', 'birthday', 'address', 'idIssuer', 'idPeriod'] as const;
export const MAX_PHOTO_BYTES = 2 * 1024 * 1024;
const ID_PERIOD = /^\d{8}-(\d{8}|长期)$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** The form's text fields as typed, to check them and to show them again on an error. */
export function registerValues(body: Record<string, unknown>): Record<string, string> {
  const values: Record<string, string> = {};
  for (const name of TEXT_FIELDS) values[name] = field(body, name);
  return values;
}

/** The form's own checks, before anything is sent to the platform. */
export function checkRegistration(values: RegisterValues): string | undefined {
  for (const name of REQUIRED) {
    if (!values[name]) return `${name}: required`;
  }
  const idProblem = idNumberProblem(values.idCardNo!);
  if (idProblem) return `idCardNo: ${idProblem}`;
  if (!DATE.test(values.birthday!)) return 'birthday: yyyy-MM-dd';
  const born = idNumberBirthDate(values.idCardNo!);
  if (born !== values.birthday) return `birthday: the ID number says ${born}`;
  if (!ID_PERIOD.test(values.idPeriod!)) return 'idPeriod: yyyyMMdd-yyyyMMdd or yyyyMMdd-长期';
  return undefined;
}

/** An uploaded photo's bytes, or what is wrong with it (named by its field). */
export type PhotoUpload = { readonly bytes: Uint8Array } | { readonly problem: string };

/**
 * A photo is taken for what its bytes are, a JPEG or a PNG whose header holds together, never for
 * its file name or the type the browser claims. Too big, missing and not-an-image each say so.
 */
export async function photoOf(value: unknown, name: string): Promise<PhotoUpload> {
  if (!(value instanceof File) || value.size === 0) return { problem: `${name}: required` };
  if (value.size > MAX_PHOTO_BYTES) {
    const mb = (value.size / 1024 / 1024).toFixed(1);
    return { problem: `${name}: ${mb} MB is larger than the ${MAX_PHOTO_BYTES / 1024 / 1024} MB allowed` };
  }
  const bytes = new Uint8Array(await value.arrayBuffer());
  const header = imageHeader(bytes);
  if (!isImageHeader(header)) return { problem: `${name}: ${header.problem}` };
  return { bytes };
}

/** RegistData's fields from checked values (see `checkRegistration`). */
export function registrationForm(
  values: RegisterValues,
  idPhoto: Uint8Array,
  photo: Uint8Array,
): RegistrationForm {
  return {
    idCardNo: values.idCardNo!.toUpperCase(),
    name: values.name!,
    gender: values.gender === 'female' ? 'female' : 'male',
    nation: values.nation!,
    birthday: values.birthday!,
    address: values.address!,
    idIssuer: values.idIssuer!,
    idPeriod: values.idPeriod!,
    idPhoto,
    photo,
    userType: values.userType === '2' ? 2 : 1,
  };
}
