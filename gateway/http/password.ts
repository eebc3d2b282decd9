import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

/** scrypt cost: N=2^15, r=8, p=1 takes ~50 ms and 32 MB, fine for a login, slow for guessing. */
const DEFAULT_N = 32_768;
const DEFAULT_R = 8;
const DEFAULT_P = 1;
const KEY_BYTES = 32;
const HASH_FORM = /^scrypt\$(\d+)\$(\d+)\$(\d+)\$([A-Za-z0-9_-]+)\$([A-Za-z0-9_-]+)$/;

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

export function isPasswordHash(text: string): boolean {
  return HASH_FORM.test(text);
}

/** Constant-time comparison; a malformed stored hash never matches. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const match = HASH_FORM.exec(stored);
  if (!match) return false;
  const [, n, r, p, salt, hash] = match;
  const expected = Buffer.from(hash!, 'base64url');
  if (expected.length < 16) return false;
  try {
    const key = await derive(
      password,
      Buffer.from(salt!, 'base64url'),
      Number(n),
      Number(r),
      Number(p),
      expected.length,
    );
    return timingSafeEqual(key, expected);
  } catch {
    return false;
  }
}
