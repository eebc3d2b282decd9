import type { Logger } from '../../gateway/model';

/**
 * The gateway settings the app may read and change (docs/protocols/deli.md#remote-config); the hub
 * decides which.
 */
export interface RemoteSettings {
  get(): Record<string, string | number>;
  set(key: string, value: unknown): Promise<{ ok: true } | { ok: false; reason: string }>;
}

export function readSettings(
  settings: RemoteSettings,
  keys: readonly string[] | undefined,
): Record<string, string | number> {
  const all = settings.get();
  if (!keys) return all;
  return Object.fromEntries(
    keys.filter((k) => Object.hasOwn(all, k)).map((k) => [k, all[k] as string | number]),
  );
}

/** Applies each key on its own: one refused key does not stop the others. */
export async function changeSettings(
  settings: RemoteSettings,
  values: Readonly<Record<string, unknown>>,
  logger: Logger,
): Promise<{ applied: Record<string, unknown>; refused: Record<string, string> }> {
  const known = settings.get();
  const applied: Record<string, unknown> = {};
  const refused: Record<string, string> = {};
  for (const [key, value] of Object.entries(values)) {
    if (!Object.hasOwn(known, key)) {
      refused[key] = 'not a setting that can be changed remotely';
      continue;
    }
    try {
      const result = await settings.set(key, value);
      if (result.ok) applied[key] = value;
      else refused[key] = result.reason;
    } catch (err) {
      refused[key] = `could not be applied: ${(err as Error).message}`;
      logger.error({ err, key }, 'deli set_config failed');
    }
  }
  return { applied, refused };
}
