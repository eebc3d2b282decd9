import { readFileSync } from 'node:fs';
import { configSchema, type GatewayConfig } from './schema';
import { describeIssue } from './validation';

/**
 * Secrets an installer may keep out of the config file. An environment variable wins over the file,
 * so a config file can be shared or backed up without the keys in it.
 */
export const SECRET_ENV: ReadonlyArray<{ env: string; path: readonly string[] }> = [
  { env: 'EDGE_GATEWAY_SICHUAN_DEVICE_KEY', path: ['upstreams', 'sichuan', 'deviceKey'] },
  { env: 'EDGE_GATEWAY_SICHUAN_SM4_KEY', path: ['upstreams', 'sichuan', 'sm4Key'] },
  { env: 'EDGE_GATEWAY_SICHUAN_SM4_IV', path: ['upstreams', 'sichuan', 'sm4Iv'] },
  { env: 'EDGE_GATEWAY_DELI_PASSWORD', path: ['upstreams', 'deli', 'password'] },
  { env: 'EDGE_GATEWAY_ADMIN_PASSWORD_HASH', path: ['http', 'adminPasswordHash'] },
  { env: 'EDGE_GATEWAY_API_TOKEN', path: ['http', 'apiToken'] },
  { env: 'EDGE_GATEWAY_METRICS_TOKEN', path: ['http', 'metricsToken'] },
  { env: 'EDGE_GATEWAY_FLEET_COMMAND_KEY', path: ['fleet', 'commandKey'] },
  { env: 'EDGE_GATEWAY_FLEET_PASSWORD', path: ['fleet', 'password'] },
];

export type ConfigResult = { ok: true; config: GatewayConfig } | { ok: false; problems: string[] };

/** Validates an already-parsed document; every problem is reported as `path.to.field: reason`. */
export function validateConfig(document: unknown, env: NodeJS.ProcessEnv = {}): ConfigResult {
  // valibot takes an array for an object; the file's top level must be one.
  if (Array.isArray(document))
    return { ok: false, problems: ['(file): Invalid input: expected object, received array'] };
  const withSecrets = applySecretEnv(document, env);
  const parsed = configSchema.safeParse(withSecrets);
  if (parsed.success) return { ok: true, config: parsed.output };
  const problems = parsed.issues.map((issue) => {
    const [path, ...rest] = describeIssue(issue, '(file)').split(': ');
    const message = rest.join(': ');
    // A missing key reads as a type error; installers read "required" faster.
    const reason = /received undefined$/.test(message) ? 'required' : message;
    return `${path}: ${reason}`;
  });
  return { ok: false, problems };
}

export function loadConfigFile(file: string, env: NodeJS.ProcessEnv = process.env): ConfigResult {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    return {
      ok: false,
      problems: [`(file): cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`],
    };
  }
  let document: unknown;
  try {
    document = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (error) {
    return { ok: false, problems: [`(file): not valid JSON: ${(error as Error).message}`] };
  }
  return validateConfig(document, env);
}

function applySecretEnv(document: unknown, env: NodeJS.ProcessEnv): unknown {
  if (!isRecord(document)) return document;
  const copy: Record<string, unknown> = structuredClone(document);
  for (const { env: name, path } of SECRET_ENV) {
    const value = env[name];
    if (value === undefined || value === '') continue;
    let node: Record<string, unknown> = copy;
    for (const key of path.slice(0, -1)) {
      const next = node[key];
      if (next === undefined) node[key] = {};
      else if (!isRecord(next)) break;
      node = node[key] as Record<string, unknown>;
    }
    node[path[path.length - 1]!] = value;
  }
  return copy;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
