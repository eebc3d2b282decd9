import type { Gender } from '../../gateway/model';
import type { SichuanCodec } from './codec';

/** A worker registered on the local page, as RegistData wants them (docs/protocols/sichuan.md#endpoints). */
export interface SichuanRegistration {
  /** 18-character ID number (身份证号). */
  readonly idCardNo: string;
  readonly name: string;
  readonly gender: Exclude<Gender, 'unknown'>;
  /** 民族, e.g. 汉. */
  readonly nation: string;
  /** yyyy-MM-dd */
  readonly birthday: string;
  readonly address: string;
  /** 发证机关 */
  readonly idIssuer: string;
  /** 证件有效期: `yyyyMMdd-yyyyMMdd` or `yyyyMMdd-长期`. */
  readonly idPeriod: string;
  /** The ID card's photo (JPEG bytes). */
  readonly idPhoto: Uint8Array;
  /** The face photo taken on site. */
  readonly photo: Uint8Array;
  /** Worker type: 1 labour, 2 post (岗位) staff (docs/protocols/sichuan.md#endpoints). */
  readonly userType: 1 | 2;
}

/** RegistData refused (with the platform's Msg) or unreachable. */
export class SichuanRegistrationError extends Error {
  override readonly name = 'SichuanRegistrationError';
  constructor(
    message: string,
    /** The platform's Result, when it answered. */
    readonly result: number | undefined,
    /** True when trying again later may succeed (network, -3, -4, -99, 5xx). */
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

/** RegistData's fields in the seed's order, `Idno`/`idphoto`/`photo` encrypted (sign and timestamp added later). */
export function registrationFields(
  form: SichuanRegistration,
  sn: string,
  codec: SichuanCodec,
): Record<string, string> {
  return {
    Idno: codec.encrypt(form.idCardNo.toUpperCase()),
    Name: form.name,
    gender: form.gender === 'male' ? '1' : '2',
    nation: form.nation,
    birthday: form.birthday,
    address: form.address,
    idissue: form.idIssuer,
    idperiod: form.idPeriod,
    idphoto: codec.encrypt(Buffer.from(form.idPhoto).toString('base64')),
    photo: codec.encrypt(Buffer.from(form.photo).toString('base64')),
    userType: String(form.userType),
    sn,
  };
}
