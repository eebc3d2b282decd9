import type { ServerType } from '@hono/node-server';
import type { ClockSource, Logger } from '../../gateway/model';
import { systemClock } from '../../lib/clock';
import { EmbeddedBroker } from './emulator-broker';
import { checkDeviceEnvelope } from './emulator-checks';
import { startEmulatorHttp } from './emulator-http';
import { PLATFORM_PEER, serializeEnvelope } from './envelope';
import {
  type CheckinRecord,
  type DownMessage,
  encodeDown,
  type FeatureType,
  type SyncEntry,
  type UpgradeInfo,
  type UpMessage,
} from './messages';
import { dedupKey, newMid } from './mid';
import { MqttLink } from './mqtt-link';
import { topicFor } from './topics';

/**
 * How the emulated app answers `user_sync` (docs/protocols/deli.md#roster-sync):
 * `array` — the seed's plain array, one page per request;
 * `object-burst` — the public docs' `{reset, total_count, users}`, every page at once;
 * `object-paged` — the object form without `total_count`, one page per request.
 */
export type SyncMode = 'array' | 'object-burst' | 'object-paged';

export interface DeliEmulatorOptions {
  readonly deviceId: string;
  readonly appId: string;
  readonly orgId: string;
  /** An external broker; or `embedded: true` for an in-process aedes one. */
  readonly brokerUrl?: string;
  readonly embedded?: boolean;
  readonly username?: string;
  readonly password?: string;
  readonly topics?: { readonly up?: string; readonly down?: string; readonly status?: string };
  readonly roster?: readonly SyncEntry[];
  readonly syncMode?: SyncMode;
  /** Largest difference between an envelope's `time` and the platform clock (default 300 s). */
  readonly timeWindowSeconds?: number;
  /** Send every message to the device twice (a QoS 1 redelivery). */
  readonly duplicateDeliveries?: boolean;
  /** Embedded broker only: delay each PUBACK. */
  readonly pubackDelayMs?: number;
  /** The version the platform offers on 102/103. */
  readonly firmware?: UpgradeInfo;
  /** Serve GET /_emulator/state on 127.0.0.1 (port 0 unless given). */
  readonly http?: boolean;
  readonly httpPort?: number;
  readonly clock?: ClockSource;
  readonly logger: Logger;
}

export interface ReceivedCheckin {
  readonly mid: string;
  readonly users: readonly CheckinRecord[];
  /** The same message (mid and data) arrived before: a redelivery. */
  readonly duplicate: boolean;
}

export interface ReceivedTemplate {
  readonly mid: string;
  readonly userId: string;
  readonly featureType: FeatureType;
  readonly data: string;
}

export interface Violation {
  readonly mid?: string;
  readonly reason: string;
}

export interface EmulatorState {
  readonly brokerUrl: string;
  readonly connected: boolean;
  readonly deviceOnline: boolean | null;
  readonly received: number;
  readonly violations: readonly Violation[];
  readonly duplicateMessages: number;
  readonly checkinMessages: number;
  readonly checkinRecords: number;
  readonly duplicateRecords: number;
  readonly templates: number;
  readonly syncRequests: number;
  readonly versionQueries: number;
  readonly rosterSize: number;
}

type ConfigReply = Extract<UpMessage, { cmd: 'get_config_reply' | 'set_config_reply' }>;

const DEFAULT_TOPICS = {
  up: 'deli/device/{deviceId}/up',
  down: 'deli/device/{deviceId}/down',
  status: 'deli/device/{deviceId}/status',
};

/**
 * Plays the Deli platform relay and the attendance app against one device: checks every
 * envelope the device sends, answers `user_sync` from its roster, sends `user_update`,
 * `feature_input` and config requests, and records check-ins and templates.
 */
export class DeliEmulator {
  private broker: EmbeddedBroker | undefined;
  private link: MqttLink | undefined;
  private http: ServerType | undefined;
  private url = '';
  private httpUrlValue = '';
  private readonly clock: ClockSource;
  private roster = new Map<string, SyncEntry>();
  private resetNext = false;
  private duplicateDeliveries: boolean;
  private readonly appMids = new Set<string>();
  private readonly seenKeys = new Set<string>();
  private readonly seenMids = new Set<string>();
  private readonly seenRecords = new Set<string>();
  private readonly configWaiters = new Map<string, (reply: ConfigReply) => void>();
  private deviceOnline: boolean | null = null;
  private counts = {
    received: 0,
    duplicateMessages: 0,
    duplicateRecords: 0,
    checkinRecords: 0,
    versionQueries: 0,
  };
  readonly violations: Violation[] = [];
  readonly checkins: ReceivedCheckin[] = [];
  readonly templates: ReceivedTemplate[] = [];
  readonly syncRequests: { mid: string; size: number; updateTimeMs: number }[] = [];
  readonly configReplies: ConfigReply[] = [];

  constructor(private readonly options: DeliEmulatorOptions) {
    this.clock = options.clock ?? systemClock;
    this.duplicateDeliveries = options.duplicateDeliveries ?? false;
    for (const user of options.roster ?? []) this.roster.set(user.userId, user);
  }

  get brokerUrl(): string {
    return this.url;
  }

  get httpUrl(): string {
    return this.httpUrlValue;
  }

  async start(): Promise<void> {
    const o = this.options;
    if (o.embedded) {
      this.broker = new EmbeddedBroker();
      this.broker.pubackDelayMs = o.pubackDelayMs ?? 0;
      this.url = await this.broker.start();
    } else if (o.brokerUrl) this.url = o.brokerUrl;
    else throw new Error('DeliEmulator needs brokerUrl or embedded: true');

    const topics = { ...DEFAULT_TOPICS, ...o.topics };
    const link = new MqttLink({
      url: this.url,
      clientId: `deli-app-${o.appId}-${newMid().slice(0, 6)}`.slice(0, 64),
      subscribe: [topicFor(topics.up, o.deviceId), topicFor(topics.status, o.deviceId)],
      keepaliveSeconds: 30,
      reconnectMinMs: 50,
      reconnectMaxMs: 1000,
      logger: o.logger.child({ part: 'deli-emulator' }),
      ...(o.username !== undefined && { username: o.username }),
      ...(o.password !== undefined && { password: o.password }),
    });
    const statusTopic = topicFor(topics.status, o.deviceId);
    link.onMessage((topic, payload) => {
      try {
        if (topic === statusTopic) this.onStatus(payload);
        else this.onDeviceMessage(payload);
      } catch (err) {
        this.violations.push({ reason: `emulator failed on a message: ${(err as Error).message}` });
      }
    });
    this.link = link;
    link.start();
    if (!(await link.waitConnected(10_000))) throw new Error(`emulator could not connect to ${this.url}`);
    if (o.http !== false) {
      const { server, url } = await startEmulatorHttp(
        {
          state: () => this.state(),
          checkins: this.checkins,
          templates: this.templates,
          sendUserUpdate: () => this.sendUserUpdate(),
          sendFeatureInput: (userId, featureType) => this.sendFeatureInput(userId, featureType),
        },
        o.httpPort ?? 0,
      );
      this.http = server;
      this.httpUrlValue = url;
    }
  }

  async stop(): Promise<void> {
    const http = this.http;
    this.http = undefined;
    if (http) await new Promise<void>((resolve) => http.close(() => resolve()));
    await this.link?.stop();
    this.link = undefined;
    await this.broker?.stop();
    this.broker = undefined;
  }

  // ───────────────────────────── roster ─────────────────────────────

  setRoster(users: readonly SyncEntry[], options: { reset?: boolean } = {}): void {
    this.roster = new Map(users.map((u) => [u.userId, u]));
    if (options.reset) this.resetNext = true;
  }

  upsertUser(user: SyncEntry): void {
    this.roster.set(user.userId, user);
  }

  /** The next `user_sync` answer is a full sync with `reset: true` (object forms only). */
  resetOnNextSync(): void {
    this.resetNext = true;
  }

  get rosterUsers(): readonly SyncEntry[] {
    return [...this.roster.values()];
  }

  // ───────────────────────────── app → device ─────────────────────────────

  /** Announces a roster change; defaults to the newest user `update_time`. */
  async sendUserUpdate(updateTimeMs?: number): Promise<string> {
    const newest = Math.max(0, ...[...this.roster.values()].map((u) => u.updateTimeMs ?? 0));
    return this.send({ cmd: 'user_update', updateTimeMs: updateTimeMs ?? newest });
  }

  async sendFeatureInput(userId: string, featureType: FeatureType): Promise<string> {
    return this.send({ cmd: 'feature_input', userId, featureType });
  }

  async getConfig(keys?: readonly string[], timeoutMs = 5000): Promise<ConfigReply> {
    return this.ask({ cmd: 'get_config', ...(keys && { keys }) }, timeoutMs);
  }

  async setConfig(values: Record<string, unknown>, timeoutMs = 5000): Promise<ConfigReply> {
    return this.ask({ cmd: 'set_config', values }, timeoutMs);
  }

  async broadcastUpgrade(info: Partial<UpgradeInfo> & { version: string }): Promise<string> {
    return this.send({ cmd: 'upgrade_available', ...info });
  }

  /** Publishes arbitrary bytes on the device's down topic (malformed-input tests). */
  async publishRaw(payload: Buffer | string): Promise<void> {
    const link = this.requireLink();
    await link.publish(this.topic('down'), Buffer.from(payload), 10_000);
  }

  // ───────────────────────────── fault injection ─────────────────────────────

  async restartBroker(down: number | Promise<unknown> = 200, onDown?: () => void): Promise<void> {
    if (!this.broker) throw new Error('restartBroker needs the embedded broker');
    await this.broker.restart(down, onDown);
  }

  setDuplicateDeliveries(on: boolean): void {
    this.duplicateDeliveries = on;
  }

  setPubackDelay(ms: number): void {
    if (!this.broker) throw new Error('slow PUBACKs need the embedded broker');
    this.broker.pubackDelayMs = ms;
  }

  // ───────────────────────────── introspection ─────────────────────────────

  state(): EmulatorState {
    return {
      brokerUrl: this.url,
      connected: this.link?.connected ?? false,
      deviceOnline: this.deviceOnline,
      received: this.counts.received,
      violations: this.violations,
      duplicateMessages: this.counts.duplicateMessages,
      checkinMessages: this.checkins.length,
      checkinRecords: this.counts.checkinRecords,
      duplicateRecords: this.counts.duplicateRecords,
      templates: this.templates.length,
      syncRequests: this.syncRequests.length,
      versionQueries: this.counts.versionQueries,
      rosterSize: this.roster.size,
    };
  }

  /** Polls `predicate` until it holds; rejects with `what` after `timeoutMs`. */
  async waitFor(predicate: () => boolean, timeoutMs: number, what = 'condition'): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  // ───────────────────────────── device → app ─────────────────────────────

  private onStatus(payload: Buffer): void {
    try {
      const status = JSON.parse(payload.toString('utf8')) as { online?: unknown };
      if (typeof status.online === 'boolean') this.deviceOnline = status.online;
      else this.violations.push({ reason: 'status message without a boolean "online"' });
    } catch {
      this.violations.push({ reason: 'status message is not JSON' });
    }
  }

  private onDeviceMessage(payload: Buffer): void {
    this.counts.received++;
    const o = this.options;
    const checked = checkDeviceEnvelope(payload, {
      deviceId: o.deviceId,
      appId: o.appId,
      orgId: o.orgId,
      nowS: Math.floor(this.clock.now() / 1000),
      timeWindowSeconds: o.timeWindowSeconds ?? 300,
    });
    const mid = checked.ok ? checked.envelope.mid : checked.mid;
    for (const reason of checked.violations)
      this.violations.push({ ...(mid !== undefined && { mid }), reason });
    if (!checked.ok) return;

    const key = dedupKey(checked.envelope.mid, checked.envelope.data);
    const duplicate = this.seenKeys.has(key);
    if (duplicate) this.counts.duplicateMessages++;
    else {
      this.seenKeys.add(key);
      if (this.seenMids.has(checked.envelope.mid) && !this.appMids.has(checked.envelope.mid))
        this.violations.push({ mid: checked.envelope.mid, reason: 'mid reused for a different message' });
      this.seenMids.add(checked.envelope.mid);
    }
    this.onDeviceCommand(checked.message, checked.envelope.mid, duplicate);
  }

  private onDeviceCommand(message: UpMessage, mid: string, duplicate: boolean): void {
    switch (message.cmd) {
      case 'checkin':
        this.checkins.push({ mid, users: message.users, duplicate });
        for (const u of message.users) {
          const key = `${u.userId}|${u.timeS}|${u.featureType}`;
          if (this.seenRecords.has(key)) this.counts.duplicateRecords++;
          else {
            this.seenRecords.add(key);
            this.counts.checkinRecords++;
          }
        }
        return;
      case 'feature_upload':
        if (!duplicate)
          this.templates.push({
            mid,
            userId: message.userId,
            featureType: message.featureType,
            data: message.data,
          });
        return;
      case 'user_sync_request':
        if (duplicate) return;
        this.syncRequests.push({ mid, size: message.size, updateTimeMs: message.updateTimeMs });
        this.answerSync(mid, message.size, message.updateTimeMs);
        return;
      case 'get_config_reply':
      case 'set_config_reply': {
        if (duplicate) return;
        this.configReplies.push(message);
        const wake = this.configWaiters.get(mid);
        this.configWaiters.delete(mid);
        wake?.(message);
        return;
      }
      case 'version_query':
        this.counts.versionQueries++;
        if (this.options.firmware)
          void this.send({ cmd: 'version', version: this.options.firmware.version }, mid);
        return;
      case 'upgrade_info_query':
        if (this.options.firmware) void this.send({ cmd: 'upgrade_info', ...this.options.firmware }, mid);
        return;
    }
  }

  private answerSync(mid: string, size: number, sinceMs: number): void {
    const mode = this.options.syncMode ?? 'object-burst';
    const reset = this.resetNext && mode !== 'array';
    this.resetNext = false;
    const pending = [...this.roster.values()]
      .filter((u) => (reset ? !u.delete : (u.updateTimeMs ?? 0) > sinceMs))
      .sort((a, b) => (a.updateTimeMs ?? 0) - (b.updateTimeMs ?? 0) || a.userId.localeCompare(b.userId));
    const page = (users: readonly SyncEntry[], first: boolean): DownMessage => ({
      cmd: 'user_sync',
      form: mode === 'array' ? 'array' : 'object',
      reset: first && reset,
      users,
      ...(first && mode === 'object-burst' && { totalCount: pending.length }),
    });
    if (mode !== 'object-burst') {
      void this.send(page(pending.slice(0, size), true), mid);
      return;
    }
    const chunks: SyncEntry[][] = [];
    for (let i = 0; i < pending.length; i += size) chunks.push(pending.slice(i, i + size));
    if (chunks.length === 0) chunks.push([]);
    // Every message of the answer reuses the request's mid (docs/protocols/deli.md#envelope).
    chunks.forEach((chunk, i) => void this.send(page(chunk, i === 0), mid));
  }

  // ───────────────────────────── sending ─────────────────────────────

  private async send(message: DownMessage, replyTo?: string): Promise<string> {
    const o = this.options;
    const link = this.requireLink();
    const mid = replyTo ?? newMid();
    this.appMids.add(mid);
    const { action, data } = encodeDown(message);
    const fromPlatform =
      message.cmd === 'version' || message.cmd === 'upgrade_info' || message.cmd === 'upgrade_available';
    const bytes = serializeEnvelope({
      mid,
      from: fromPlatform ? PLATFORM_PEER : o.appId,
      to: o.deviceId,
      time: Math.floor(this.clock.now() / 1000),
      action,
      data,
    });
    const copies = this.duplicateDeliveries ? 2 : 1;
    try {
      for (let i = 0; i < copies; i++) await link.publish(this.topic('down'), bytes, 10_000);
    } catch (err) {
      o.logger.warn({ err, mid }, 'deli emulator could not publish');
    }
    return mid;
  }

  private ask(message: DownMessage, timeoutMs: number): Promise<ConfigReply> {
    const mid = newMid();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.configWaiters.delete(mid);
        reject(new Error(`no ${message.cmd} reply within ${timeoutMs} ms`));
      }, timeoutMs);
      this.configWaiters.set(mid, (reply) => {
        clearTimeout(timer);
        resolve(reply);
      });
      void this.send(message, mid);
    });
  }

  private topic(which: 'up' | 'down'): string {
    return topicFor({ ...DEFAULT_TOPICS, ...this.options.topics }[which], this.options.deviceId);
  }

  private requireLink(): MqttLink {
    if (!this.link) throw new Error('DeliEmulator not started');
    return this.link;
  }
}
