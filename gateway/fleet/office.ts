/** What `fleet watch` and `fleet send` share: the broker options of the command line and the connection. */

import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;
/** `fleet send`: no reply within --timeout (the box may be offline; the broker keeps the command). */
export const EXIT_NO_REPLY = 3;

/** The options both commands take, for `node:util` parseArgs. */
export const BROKER_OPTIONS = {
  broker: { type: 'string' },
  prefix: { type: 'string', default: 'edge-gateway' },
  username: { type: 'string' },
  'password-file': { type: 'string' },
  'tls-ca': { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  'client-id': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export class UsageError extends Error {}

export interface BrokerOptions {
  readonly broker?: string;
  readonly username?: string;
  readonly 'password-file'?: string;
  readonly 'tls-ca'?: string;
  readonly 'tls-cert'?: string;
  readonly 'tls-key'?: string;
  readonly 'client-id'?: string;
}

/** Reads a secret from a file (trailing newline dropped), naming the option when it cannot. */
export function readSecretFile(file: string, option: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(
      `--${option}: cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? error}`,
    );
  }
  return text.replace(/\r?\n$/, '');
}

function readPem(file: string | undefined, option: string): Buffer | undefined {
  if (file === undefined) return undefined;
  try {
    return readFileSync(file);
  } catch (error) {
    throw new UsageError(
      `--${option}: cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? error}`,
    );
  }
}

/**
 * The office's MQTT options. A read-only watcher and a sender keep no session unless given a
 * --client-id (then `clean: false`: a watcher that comes back receives what it missed).
 */
export function officeClientOptions(values: BrokerOptions, role: 'watch' | 'send'): IClientOptions {
  if (!values.broker)
    throw new UsageError('--broker URL is required (mqtt://host:1883 or mqtts://host:8883)');
  if (!/^mqtts?:\/\/\S+$/.test(values.broker))
    throw new UsageError('--broker must be an mqtt:// or mqtts:// URL');
  if ((values['tls-cert'] === undefined) !== (values['tls-key'] === undefined))
    throw new UsageError('--tls-cert and --tls-key go together');
  const password =
    values['password-file'] !== undefined
      ? readSecretFile(values['password-file'], 'password-file')
      : process.env.EDGE_GATEWAY_FLEET_PASSWORD || undefined;
  const ca = readPem(values['tls-ca'], 'tls-ca');
  const cert = readPem(values['tls-cert'], 'tls-cert');
  const key = readPem(values['tls-key'], 'tls-key');
  const clientId = values['client-id'] ?? `edge-gateway-office-${role}-${randomBytes(4).toString('hex')}`;
  return {
    clientId,
    clean: values['client-id'] === undefined,
    protocolVersion: 4,
    keepalive: 60,
    reconnectPeriod: 2000,
    connectTimeout: 15_000,
    rejectUnauthorized: true,
    // See link.ts: mqtt-packet's number cache costs ≈ 7 MB for nothing a watcher needs.
    writeCache: false,
    ...(values.username !== undefined && { username: values.username }),
    ...(password !== undefined && { password }),
    ...(ca && { ca }),
    ...(cert && { cert }),
    ...(key && { key }),
  };
}

/** Connects, or rejects with the broker's or the socket's reason within the connect timeout. */
export function connectOffice(url: string, options: IClientOptions): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect(url, { ...options, reconnectPeriod: 0 });
    let lastError: Error | undefined;
    const onError = (error: Error) => {
      lastError = error;
    };
    const onClose = () => {
      client.off('connect', onConnect);
      client.off('error', onError);
      client.end(true);
      reject(lastError ?? new Error(`cannot connect to ${url.replace(/\/\/[^@/]*@/, '//')}`));
    };
    const onConnect = () => {
      client.off('close', onClose);
      client.off('error', onError);
      // Connected once: from here a lost link is retried at the configured period.
      client.options.reconnectPeriod = options.reconnectPeriod ?? 0;
      client.on('error', () => undefined);
      resolve(client);
    };
    client.on('error', onError);
    client.once('close', onClose);
    client.once('connect', onConnect);
  });
}

export function subscribe(client: MqttClient, topics: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    client.subscribe([...topics], { qos: 1 }, (error, granted) => {
      if (error) reject(error);
      else if (granted?.some((g) => g.qos === 128))
        reject(
          new Error(
            `the broker refused ${granted
              .filter((g) => g.qos === 128)
              .map((g) => g.topic)
              .join(', ')}`,
          ),
        );
      else resolve();
    });
  });
}

export function endClient(client: MqttClient): Promise<void> {
  return new Promise((resolve) => client.end(false, () => resolve()));
}
