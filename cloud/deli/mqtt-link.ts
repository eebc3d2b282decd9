import mqtt, { type IClientOptions, type MqttClient, Store } from 'mqtt';
import type { Logger } from '../../gateway/model';

export interface MqttLinkOptions {
  readonly url: string;
  readonly clientId: string;
  readonly subscribe: readonly string[];
  readonly username?: string;
  readonly password?: string;
  /** PEM bytes of an extra CA; certificate verification always stays on. */
  readonly ca?: Buffer;
  readonly keepaliveSeconds: number;
  readonly reconnectMinMs: number;
  readonly reconnectMaxMs: number;
  /** Retained status: `offline` is the last will, `online` is published on every connect. */
  readonly status?: { readonly topic: string; online(): Buffer; offline(): Buffer };
  readonly logger: Logger;
}

export type MessageHandler = (topic: string, payload: Buffer) => void;

/**
 * One MQTT 3.1.1 connection with a persistent session (`clean: false`) and QoS 1, reconnecting
 * with exponential backoff and jitter. mqtt.js only knows a fixed reconnect period, so the link
 * reconnects itself and hands the same stores back, keeping unacknowledged QoS 1 messages.
 */
export class MqttLink {
  private client: MqttClient | undefined;
  private readonly incomingStore = new Store();
  private readonly outgoingStore = new Store();
  private failures = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private stopping = false;
  private handler: MessageHandler = () => {};
  private readonly connectWaiters = new Set<() => void>();
  connected = false;
  lastError: string | undefined;
  lastErrorAt: number | undefined;
  connects = 0;

  constructor(private readonly options: MqttLinkOptions) {}

  onMessage(handler: MessageHandler): void {
    this.handler = handler;
  }

  start(): void {
    const o = this.options;
    this.stopping = false;
    const clientOptions: IClientOptions = {
      clientId: o.clientId,
      clean: false,
      protocolVersion: 4,
      keepalive: o.keepaliveSeconds,
      reconnectPeriod: 0,
      connectTimeout: 10_000,
      incomingStore: this.incomingStore,
      outgoingStore: this.outgoingStore,
      resubscribe: false,
      rejectUnauthorized: true,
      // mqtt-packet's default keeps 65,536 two-byte buffers for packet ids: ≈ 7 MB of heap on a
      // box that sends a few messages a minute (heap snapshot, docs/history.md). Written as needed instead.
      writeCache: false,
      ...(o.username !== undefined && { username: o.username }),
      ...(o.password !== undefined && { password: o.password }),
      ...(o.ca !== undefined && { ca: o.ca }),
      ...(o.status && { will: { topic: o.status.topic, payload: o.status.offline(), qos: 1, retain: true } }),
    };
    const client = mqtt.connect(o.url, clientOptions);
    this.client = client;
    client.on('connect', () => {
      this.connected = true;
      this.failures = 0;
      this.connects++;
      // Every time: a broker that lost our session (restart without persistence) must hear it again.
      client.subscribe([...o.subscribe], { qos: 1 }, (err) => {
        if (err) this.noteError(`subscribe failed: ${err.message}`);
      });
      if (o.status) client.publish(o.status.topic, o.status.online(), { qos: 1, retain: true });
      for (const wake of this.connectWaiters) wake();
      this.connectWaiters.clear();
    });
    client.on('message', (topic, payload) => this.handler(topic, payload));
    client.on('error', (err) => this.noteError(err.message));
    client.on('close', () => {
      this.connected = false;
      this.scheduleReconnect();
    });
  }

  /** Resolves when connected, or false after `timeoutMs`. */
  waitConnected(timeoutMs: number): Promise<boolean> {
    if (this.connected) return Promise.resolve(true);
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.connectWaiters.delete(wake);
        resolve(false);
      }, timeoutMs);
      this.connectWaiters.add(wake);
    });
  }

  /**
   * Publishes with QoS 1 and resolves on PUBACK. Rejects after `timeoutMs`; the message then stays
   * in the session and mqtt.js may still deliver it after a reconnect.
   */
  publish(topic: string, payload: Buffer, timeoutMs: number): Promise<void> {
    const client = this.client;
    if (!client) return Promise.reject(new Error('MQTT link not started'));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no PUBACK within ${timeoutMs} ms`)), timeoutMs);
      client.publish(topic, payload, { qos: 1 }, (err) => {
        clearTimeout(timer);
        if (err) reject(err);
        else resolve();
      });
    });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    const status = this.options.status;
    if (status && client.connected) {
      // A graceful stop says so itself; the broker publishes the will only on a broken link.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 1000);
        client.publish(status.topic, status.offline(), { qos: 1, retain: true }, () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        client.end(true, () => resolve());
      }, 2000);
      client.end(false, () => {
        clearTimeout(timer);
        resolve();
      });
    });
    this.connected = false;
  }

  private scheduleReconnect(): void {
    const client = this.client;
    if (this.stopping || !client || this.reconnectTimer) return;
    const base = Math.min(this.options.reconnectMaxMs, this.options.reconnectMinMs * 2 ** this.failures);
    const delay = Math.round(base / 2 + Math.random() * (base / 2));
    this.failures = Math.min(this.failures + 1, 30);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (this.stopping || this.client !== client) return;
      client.reconnect({ incomingStore: this.incomingStore, outgoingStore: this.outgoingStore });
    }, delay);
    this.reconnectTimer.unref();
  }

  private noteError(message: string): void {
    this.lastError = message;
    this.lastErrorAt = Date.now();
    this.options.logger.warn({ err: message }, 'mqtt link error');
  }
}
