import { SECRET_ENV } from '../../config/load';
import type { UpstreamName } from '../model';
import type { ConfigDocument, ConfigDocumentEditor } from './config-document';
import type { SecretState } from './pages/upstreams';

/** Secrets the page may set (never show): written to the config file, used after a restart. */
const SECRETS: ReadonlyArray<{ upstream: UpstreamName; key: string }> = [
  { upstream: 'sichuan', key: 'deviceKey' },
  { upstream: 'sichuan', key: 'sm4Key' },
  { upstream: 'sichuan', key: 'sm4Iv' },
  { upstream: 'deli', key: 'password' },
];

export function isPageSecret(upstream: string, key: string): boolean {
  return SECRETS.some((s) => s.upstream === upstream && s.key === key);
}

function upstreamSection(document: ConfigDocument, name: string): Record<string, unknown> | undefined {
  const upstreams = document.upstreams as Record<string, unknown> | undefined;
  const section = upstreams?.[name];
  return typeof section === 'object' && section !== null ? (section as Record<string, unknown>) : undefined;
}

/** Whether each secret is set, in the file or in its environment variable; never its value. */
export async function secretStates(editor: ConfigDocumentEditor | undefined): Promise<SecretState[]> {
  // An unreadable file shows every secret as not set rather than failing the whole page.
  const document = editor ? await editor.read().catch(() => ({}) as ConfigDocument) : ({} as ConfigDocument);
  return SECRETS.map(({ upstream, key }) => {
    const env = SECRET_ENV.find((s) => s.path[1] === upstream && s.path[2] === key)?.env;
    const value = upstreamSection(document, upstream)?.[key];
    return {
      upstream,
      key,
      isSet: (typeof value === 'string' && value !== '') || Boolean(env && process.env[env]),
    };
  });
}

/** Puts `value` into `upstreams.<upstream>.<key>`, creating the sections as needed. */
export function setSecret(document: ConfigDocument, upstream: string, key: string, value: string): void {
  document.upstreams ??= {};
  const upstreams = document.upstreams as Record<string, Record<string, unknown>>;
  upstreams[upstream] ??= {};
  upstreams[upstream]![key] = value;
}
