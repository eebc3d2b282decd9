import { field } from './context';
import type { RegistrationForm } from './deps';
import type { RegisterValues } from './pages/workers';

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
] as const;
const REQUIRED = ['name', 'idCardNo', 'nation', 'birthday', 'address', 'idIssuer', 'idPeriod'] as const;
const MAX_PHOTO_BYTES = 2 * 1024 * 1024;
const ID_NUMBER = /^\d{17}[\dXx]$/;
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
  if (!ID_NUMBER.test(values.idCardNo!)) return 'idCardNo: 18 characters, digits (last may be X)';
  if (!DATE.test(values.birthday!)) return 'birthday: yyyy-MM-dd';
  if (!ID_PERIOD.test(values.idPeriod!)) return 'idPeriod: yyyyMMdd-yyyyMMdd or yyyyMMdd-长期';
  return undefined;
}

/** An uploaded photo's bytes; undefined when missing, empty or over 2 MB. */
export async function photoOf(value: unknown): Promise<Uint8Array | undefined> {
  if (!(value instanceof File) || value.size === 0 || value.size > MAX_PHOTO_BYTES) return undefined;
  return new Uint8Array(await value.arrayBuffer());
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
