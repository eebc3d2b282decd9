/**
 * The forms of configured values that a part relies on when it starts: one rule each, used both by
 * the schema (so `check-config` names the field and exits 2) and by the part itself (so the part can
 * never refuse what the schema let through). Pure: no I/O, no dependencies, cheap to load.
 */

// ───────────────────────────── SM4 key and IV (upstreams.sichuan) ─────────────────────────────

const SM4_BLOCK = 16;
const HEX_KEY = /^[0-9a-fA-F]{32}$/;

/** A key or IV that is neither 32 hex characters nor 16 UTF-8 bytes. */
export class Sm4KeyError extends Error {
  override readonly name = 'Sm4KeyError';
}

/** Why `value` is not a usable SM4 key or IV, worded for `path.to.field: reason`; undefined when it is. */
export function sm4KeyProblem(value: string): string | undefined {
  if (HEX_KEY.test(value)) return undefined;
  const bytes = Buffer.byteLength(value, 'utf8');
  if (bytes === SM4_BLOCK) return undefined;
  return `must be 32 hex characters or 16 UTF-8 bytes (got ${[...value].length} characters, ${bytes} bytes)`;
}

/**
 * Turns a configured key or IV into its 16 bytes. sm-crypto reads every *string* key as hex, so a
 * 16-character text key would throw and a 32-character non-hex one would silently become zeros:
 * the form is decided here and the library gets bytes.
 */
export function sm4KeyBytes(value: string, what = 'key'): Uint8Array {
  const problem = sm4KeyProblem(value);
  if (problem !== undefined) throw new Sm4KeyError(`SM4 ${what} ${problem}`);
  return Uint8Array.from(Buffer.from(value, HEX_KEY.test(value) ? 'hex' : 'utf8'));
}

// ───────────────────────────── admin password hash (http.adminPasswordHash) ─────────────────────────────

const HASH_FORM = /^scrypt\$(\d+)\$(\d+)\$(\d+)\$([A-Za-z0-9_-]+)\$([A-Za-z0-9_-]+)$/;
/** A shorter derived key is too weak to compare against; such a hash could never let anyone in. */
export const MIN_HASH_BYTES = 16;

export interface PasswordHash {
  readonly n: number;
  readonly r: number;
  readonly p: number;
  readonly salt: Buffer;
  readonly hash: Buffer;
}

/**
 * `scrypt$N$r$p$<salt base64url>$<hash base64url>`, with parameters scrypt accepts (N a power of
 * two above 1, r and p at least 1) and a derived key of at least 16 bytes; undefined otherwise.
 */
export function parsePasswordHash(text: string): PasswordHash | undefined {
  const match = HASH_FORM.exec(text);
  if (!match) return undefined;
  const [n, r, p] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const hash = Buffer.from(match[5]!, 'base64url');
  const powerOfTwo = Number.isSafeInteger(n) && n > 1 && Number.isInteger(Math.log2(n));
  if (!powerOfTwo || r < 1 || p < 1 || hash.length < MIN_HASH_BYTES) return undefined;
  return { n, r, p, salt: Buffer.from(match[4]!, 'base64url'), hash };
}

export function isPasswordHash(text: string): boolean {
  return parsePasswordHash(text) !== undefined;
}

// ───────────────────────────── Deli device id (upstreams.deli.deviceId) ─────────────────────────────

/** The device id goes into MQTT topic names: a wildcard or a level separator would widen a subscription. */
export function deviceIdProblem(deviceId: string): string | undefined {
  return /[+#/]/.test(deviceId)
    ? 'must not contain "+", "#" or "/" (it is part of the MQTT topics)'
    : undefined;
}
