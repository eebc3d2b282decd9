import { createHash } from 'node:crypto';

export type ChecksumAlgorithm = 'sha256' | 'md5';

/** Lower-case hex digest, the form Deli sends. */
export function digestOf(bytes: Uint8Array, algorithm: ChecksumAlgorithm = 'sha256'): string {
  return createHash(algorithm).update(bytes).digest('hex');
}

export function checksumMatches(
  bytes: Uint8Array,
  expected: string,
  algorithm: ChecksumAlgorithm = 'sha256',
): boolean {
  return digestOf(bytes, algorithm) === expected.trim().toLowerCase();
}
