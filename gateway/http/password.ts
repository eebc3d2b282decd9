import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { parsePasswordHash } from '../../config/forms';

/** scrypt cost: N=2^15, r=8, p=1 takes ~50 ms and 32 MB, fine for a login, slow for guessing. */
const DEFAULT_N = 32_768;
const DEFAULT_R = 8;
const DEFAULT_P = 1;
const KEY_BYTES = 32;

export const MIN_PASSWORD_LENGTH = 8;

function derive(
  password: string,
  salt: Buffer,
  n: number,
  r: number,
  p: number,
  bytes: number,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, bytes, { N: n, r, p, maxmem: 256 * n * r + 1024 * 1024 }, (error, key) =>
      error ? reject(error) : resolve(key),
    );
  });
}

/** `scrypt$N$r$p$<salt base64url>$<hash base64url>`, the form http.adminPasswordHash takes. */
export async function hashPassword(password: string, n = DEFAULT_N): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, n, DEFAULT_R, DEFAULT_P, KEY_BYTES);
  return `scrypt$${n}$${DEFAULT_R}$${DEFAULT_P}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

/** The same rule the configuration schema applies to http.adminPasswordHash. */
export { isPasswordHash } from '../../config/forms';

/** Constant-time comparison; a malformed stored hash never matches. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parsed = parsePasswordHash(stored);
  if (!parsed) return false;
  const { n, r, p, salt, hash: expected } = parsed;
  try {
    const key = await derive(password, salt, n, r, p, expected.length);
    return timingSafeEqual(key, expected);
  } catch {
    return false;
  }
}
