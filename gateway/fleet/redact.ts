import { SECRET_FIELDS } from '../logger';

const SECRET_KEYS: ReadonlySet<string> = new Set(SECRET_FIELDS);

/**
 * A copy of the configuration fit to leave the box: every value under a secret's key (the same
 * names the logs censor: keys, passwords, tokens, the admin hash, ZK comm keys, the command key)
 * reads `[redacted]`, at any depth.
 */
export function redactSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactSecrets);
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    out[key] = SECRET_KEYS.has(key) && inner !== undefined ? '[redacted]' : redactSecrets(inner);
  }
  return out;
}
