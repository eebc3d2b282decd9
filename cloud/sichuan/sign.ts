import { createHmac } from 'node:crypto';

export type SignCase = 'lower' | 'upper';

/**
 * The parameters each endpoint signs, in the seed's order, sign itself excluded
 * (docs/protocols/sichuan.md#endpoints).
 */
export const SIGN_ORDER = {
  RegistData: [
    'Idno',
    'Name',
    'gender',
    'nation',
    'birthday',
    'address',
    'idissue',
    'idperiod',
    'idphoto',
    'photo',
    'userType',
    'sn',
    'timestamp',
  ],
  Online: ['sn', 'timestamp'],
  GetTaskData: ['sn', 'id', 'timestamp'],
  RetResult: ['sn', 'id', 'result', 'msg', 'timestamp'],
  UploadData: ['sn', 'data', 'timestamp'],
} as const satisfies Record<string, readonly string[]>;

export type Endpoint = keyof typeof SIGN_ORDER;
export const ENDPOINTS = Object.keys(SIGN_ORDER) as Endpoint[];

/**
 * hex(HMAC-MD5(device key, values concatenated in order, no separators)), all UTF-8.
 * Encrypted fields take part as transmitted (ciphertext); a missing value counts as ''.
 * docs/protocols/sichuan.md#sign has the rule and a worked example.
 */
export function signValues(deviceKey: string, values: readonly string[], letterCase: SignCase): string {
  const digest = createHmac('md5', Buffer.from(deviceKey, 'utf8'))
    .update(Buffer.from(values.join(''), 'utf8'))
    .digest('hex');
  return letterCase === 'upper' ? digest.toUpperCase() : digest;
}

export function signParams(
  endpoint: Endpoint,
  deviceKey: string,
  params: Readonly<Record<string, string | undefined>>,
  letterCase: SignCase,
): string {
  return signValues(
    deviceKey,
    SIGN_ORDER[endpoint].map((name) => params[name] ?? ''),
    letterCase,
  );
}
