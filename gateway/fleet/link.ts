import { readFile } from 'node:fs/promises';
import mqtt, { type IClientOptions, type MqttClient, Store } from 'mqtt';
import type { FleetConfig } from '../../config/schema';
import { backoffDelay } from '../../lib/backoff';
import type { AlertsChange, EventBus } from '../events';
import type { ClockSource, Logger, StateSlot } from '../model';
import { CommandGuard, type RefusalReason, type SeenNonces } from './command-guard';
import { digestHealth, personalDataScrubber } from './health-digest';
import type { FleetBox } from './port';
import {
  type AlertEventPayload,
  type CommandBody,
  type CommandReply,
  FLEET_PAYLOAD_VERSION,
  type FleetTopics,
  fleetTopics,
  type HealthPayload,
  type StatusPayload,
  sitePrefix,
} from './protocol';
import { redactSecrets } from './redact';

/** Alert messages handed to the MQTT client at once; the rest wait in order in the queue. */
const ALERTS_IN_FLIGHT = 10;
/** Refusals are answered (so an office sees why), at most this many in a burst, then one per REFILL_MS. */
const REFUSAL_REPLY_BURST = 10;
const REFUSAL_REPLY_REFILL_MS = 1000;
/** How long a `restart` waits for its reply's PUBACK before it goes anyway. */
const RESTART_REPLY_WAIT_MS = 3000;

export interface FleetLinkDeps {
  readonly config: FleetConfig & { readonly brokerUrl: string; readonly siteId: string };
  readonly box: FleetBox;
  readonly bus: EventBus;
  readonly nonces: StateSlot<SeenNonces>;
  readonly clock: ClockSource;
  readonly logger: Logger;
  readonly version: string;
}

interface QueuedAlert {
  readonly event: 'raised' | 'cleared';
  readonly text: string;
  readonly at: number;
}

/** One of the two retained messages: never more than one in flight, and only the latest waits. */
interface Latest {
  inFlight: boolean;
  again: boolean;
}

/**
 * The box's side of the fleet: one MQTT connection (QoS 1, `clean: false`, a retained status whose
 * offline copy is the last will) that publishes a compact health digest every interval and at once
 * on an alert change, one message per alert raised or cleared, and answers signed commands.
 *
 * While the broker is away nothing is queued in the MQTT client: status and health are made afresh
 * on reconnect (only the latest counts), and alert events wait in a bounded queue; past the bound
 * the oldest go, and their number is sent first when the link is back (an `overflow` event) and
 * stays in every digest. mqtt.js reconnects only at a fixed period, so the link schedules
 * `reconnect()` itself with back-off and jitter, handing back the same stores so a message in flight
 * when the link broke is sent again, once, by the client that holds its callback.
 */
export class FleetLink {
  private client: MqttClient | undefined;
  private topics!: FleetTopics;
  private guard!: CommandGuard;
  private stores: { incomingStore: Store; outgoingStore: Store } | undefined;
  private connected = false;
  private stopping = false;
  private failures = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private interval: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private readonly latest: Record<'status' | 'health', Latest> = {
    status: { inFlight: false, again: false },
    health: { inFlight: false, again: false },
  };
  private queue: QueuedAlert[] = [];
  private alertsInFlight = 0;
  private overflowPending = 0;
  private overflowed = 0;
  private seq = 0;
  private boot = '';
  private startedAt = 0;
  private accepted = 0;
  private refused = 0;
  private readonly refusedBy = new Map<RefusalReason, number>();
  private replyTokens = REFUSAL_REPLY_BURST;
  private replyTokensAt = 0;
  private lastError: string | undefined;
  connects = 0;

  constructor(private readonly deps: FleetLinkDeps) {}

  async start(): Promise<void> {
    const { config, clock, bus } = this.deps;
    this.stopping = false;
    this.startedAt = clock.now();
    this.boot = this.startedAt.toString(36);
    this.topics = fleetTopics(sitePrefix(config.topicPrefix, config.siteId));
    this.guard = new CommandGuard({
      siteId: config.siteId,
      key: config.commandKey,
      seen: this.deps.nonces,
      clock,
    });
    const [ca, cert, key] = await Promise.all(
      [config.caFile, config.certFile, config.keyFile].map((file) => (file ? readFile(file) : undefined)),
    );
    this.stores = { incomingStore: new Store(), outgoingStore: new Store() };
    const options: IClientOptions = {
      clientId: `edge-gateway-${config.siteId}`,
      clean: false,
      protocolVersion: 4,
      keepalive: config.keepaliveSeconds,
      reconnectPeriod: 0,
      connectTimeout: 30_000,
      resubscribe: false,
      rejectUnauthorized: true,
      // mqtt-packet's default keeps 65,536 two-byte buffers for packet ids: ≈ 7 MB of heap, more
      // than the rest of the link (measured in test/bench/fleet.bench.ts). Numbers are written as needed instead.
      writeCache: false,
      ...this.stores,
      ...(config.username !== undefined && { username: config.username }),
      ...(config.password !== undefined && { password: config.password }),
      ...(ca && { ca }),
      ...(cert && { cert }),
      ...(key && { key }),
      will: {
        topic: this.topics.status,
        payload: Buffer.from(JSON.stringify(this.status(false, 'lost'))),
        qos: 1,
        retain: true,
      },
    };
    this.unsubscribe = bus.on('alerts.changed', (change) => this.onAlerts(change));
    this.interval = setInterval(() => this.publishLatest('health'), config.intervalSeconds * 1000);
    this.interval.unref();
    const client = mqtt.connect(config.brokerUrl, options);
    this.client = client;
    client.on('connect', (connack) => this.onConnect(connack.sessionPresent));
    client.on('message', (topic, payload) => {
      if (topic === this.topics.cmd) void this.onCommand(payload);
    });
    client.on('error', (error) => this.noteError(error.message));
    client.on('close', () => {
      if (this.connected) this.deps.logger.warn({}, 'fleet link lost; reconnecting');
      this.connected = false;
      this.scheduleReconnect();
    });
  }

  /** Says "stopped" on the retained status (the will is only for a broken link), then disconnects. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.reconnectTimer);
    clearInterval(this.interval);
    this.unsubscribe?.();
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    if (this.connected) {
      await this.publishWithin(this.topics.status, this.status(false, 'stopped'), true, 1000, client);
    }
    await new Promise<void>((resolve) => {
      const forced = setTimeout(() => client.end(true, () => resolve()), 2000);
      client.end(false, () => {
        clearTimeout(forced);
        resolve();
      });
    });
    this.connected = false;
  }

  /** The link's state, for tests and the lab. */
  state(): {
    connected: boolean;
    queued: number;
    overflowed: number;
    accepted: number;
    refused: Readonly<Record<string, number>>;
    lastError?: string;
  } {
    return {
      connected: this.connected,
      queued: this.queue.length,
      overflowed: this.overflowed,
      accepted: this.accepted,
      refused: Object.fromEntries(this.refusedBy),
      ...(this.lastError !== undefined && { lastError: this.lastError }),
    };
  }

  // ───────────── connection ─────────────

  private onConnect(sessionPresent: boolean): void {
    const client = this.client;
    if (!client) return;
    this.connected = true;
    this.failures = 0;
    this.connects++;
    this.lastError = undefined;
    this.deps.logger.info(
      { broker: withoutUserInfo(this.deps.config.brokerUrl), sessionPresent },
      'fleet link up',
    );
    // Every time: a broker that lost the session (restarted without persistence) must hear it again.
    client.subscribe(this.topics.cmd, { qos: 1 }, (error, granted) => {
      if (error) this.noteError(`subscribe failed: ${error.message}`);
      else if (granted?.some((g) => g.qos === 128))
        this.noteError(`the broker refused the subscription to ${this.topics.cmd} (ACL?)`);
    });
    this.publishLatest('status');
    this.publishLatest('health');
    this.flushAlerts();
  }

  private scheduleReconnect(): void {
    if (this.stopping || this.reconnectTimer) return;
    this.failures++;
    const { reconnectMinMs, reconnectMaxMs } = this.deps.config;
    const delay = backoffDelay(this.failures, {
      initialMs: reconnectMinMs,
      maxMs: Math.max(reconnectMinMs, reconnectMaxMs),
    });
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (!this.stopping && this.client && this.stores) this.client.reconnect(this.stores);
    }, delay);
    this.reconnectTimer.unref();
  }

  private noteError(message: string): void {
    if (message !== this.lastError) this.deps.logger.warn({ error: message }, 'fleet link error');
    this.lastError = message;
  }

  // ───────────── what the box publishes ─────────────

  private status(online: boolean, reason?: 'stopped' | 'lost'): StatusPayload {
    const base = {
      v: FLEET_PAYLOAD_VERSION,
      site: this.deps.config.siteId,
      online,
      name: this.deps.box.config().site.name,
      version: this.deps.version,
    };
    if (reason === 'lost') return { ...base, reason };
    return {
      ...base,
      ...(reason && { reason }),
      since: Math.floor(this.startedAt / 1000),
      at: this.nowSeconds(),
      ...(online && { alerts: this.deps.box.health().alerts.length }),
    };
  }

  private health(): HealthPayload {
    return digestHealth(this.deps.box.health(), {
      siteId: this.deps.config.siteId,
      intervalSeconds: this.deps.config.intervalSeconds,
      nowMs: this.deps.clock.now(),
      personalTerms: () => this.deps.box.personalTerms(),
      counters: { accepted: this.accepted, refused: this.refused, overflowed: this.overflowed },
    });
  }

  /**
   * Publishes the current status or health, retained. Nothing is published while the link is down:
   * the connect handler makes both afresh. One of each in flight at most; a newer one waits for it.
   */
  private publishLatest(kind: 'status' | 'health'): void {
    const client = this.client;
    const slot = this.latest[kind];
    if (!client || !this.connected) return;
    if (slot.inFlight) {
      slot.again = true;
      return;
    }
    let payload: StatusPayload | HealthPayload;
    try {
      payload = kind === 'status' ? this.status(true) : this.health();
    } catch (error) {
      this.deps.logger.error({ error: (error as Error).message }, `fleet ${kind} could not be made`);
      return;
    }
    slot.inFlight = true;
    slot.again = false;
    client.publish(this.topics[kind], JSON.stringify(payload), { qos: 1, retain: true }, (error) => {
      slot.inFlight = false;
      if (error) this.noteError(`${kind} not published: ${error.message}`);
      if (slot.again) this.publishLatest(kind);
    });
  }

  private onAlerts(change: AlertsChange): void {
    const at = this.nowSeconds();
    const scrub = personalDataScrubber(this.deps.box.personalTerms());
    for (const text of change.raised) this.enqueue({ event: 'raised', text: scrub(text), at });
    for (const text of change.cleared) this.enqueue({ event: 'cleared', text: scrub(text), at });
    this.flushAlerts();
    this.publishLatest('health');
    this.publishLatest('status');
  }

  private enqueue(alert: QueuedAlert): void {
    if (this.queue.length >= this.deps.config.alertQueue) {
      this.queue.shift();
      this.overflowPending++;
      this.overflowed++;
    }
    this.queue.push(alert);
  }

  /** Hands queued alert events to the client in order, a few at a time, while the link is up. */
  private flushAlerts(): void {
    const client = this.client;
    while (client && this.connected && this.alertsInFlight < ALERTS_IN_FLIGHT) {
      const base = { v: FLEET_PAYLOAD_VERSION, site: this.deps.config.siteId, boot: this.boot };
      let payload: AlertEventPayload;
      if (this.overflowPending > 0) {
        payload = {
          ...base,
          seq: ++this.seq,
          at: this.nowSeconds(),
          event: 'overflow',
          count: this.overflowPending,
        };
        this.overflowPending = 0;
      } else {
        const next = this.queue.shift();
        if (!next) return;
        payload = { ...base, seq: ++this.seq, at: next.at, event: next.event, text: next.text };
      }
      this.alertsInFlight++;
      client.publish(this.topics.alerts, JSON.stringify(payload), { qos: 1 }, (error) => {
        this.alertsInFlight--;
        if (error) this.noteError(`alert event ${payload.seq} not published: ${error.message}`);
        this.flushAlerts();
      });
    }
  }

  // ───────────── commands ─────────────

  private async onCommand(payload: Buffer): Promise<void> {
    const { logger } = this.deps;
    const verdict = await this.guard.check(payload).catch((error: unknown) => ({
      ok: false as const,
      reason: 'busy' as const,
      detail: `cannot record the command's nonce: ${(error as Error).message}`,
      nonce: undefined,
    }));
    if (!verdict.ok) {
      this.refused++;
      this.refusedBy.set(verdict.reason, (this.refusedBy.get(verdict.reason) ?? 0) + 1);
      logger.warn(
        { reason: verdict.reason, detail: verdict.detail, nonce: verdict.nonce },
        'fleet command refused',
      );
      if (this.takeReplyToken()) {
        await this.reply({
          nonce: verdict.nonce,
          ok: false,
          error: `refused (${verdict.reason}): ${verdict.detail}`,
        });
      }
      return;
    }
    this.accepted++;
    const { body, envelope } = verdict;
    logger.info({ action: body.action, nonce: envelope.nonce }, 'fleet command accepted');
    let answer: Omit<CommandReply, 'v' | 'site' | 'at'>;
    try {
      answer = { nonce: envelope.nonce, ok: true, action: body.action, result: await this.run(body) };
    } catch (error) {
      answer = { nonce: envelope.nonce, ok: false, action: body.action, error: (error as Error).message };
    }
    await this.reply(answer);
    if (body.action === 'restart' && answer.ok) {
      logger.warn({}, 'restarting at the fleet office’s request');
      this.deps.box.restart();
    }
  }

  private async run(body: CommandBody): Promise<unknown> {
    const { box } = this.deps;
    switch (body.action) {
      case 'reconcile':
        return { terminals: box.reconcileNow(body.args.terminal) };
      case 'retry':
        if (!box.retryUpstream(body.args.upstream))
          throw new Error(`no enabled upstream "${body.args.upstream}"`);
        return { upstream: body.args.upstream };
      case 'update-check':
        await box.checkForUpdate();
        return { asked: true };
      case 'config':
        return redactSecrets(box.config());
      case 'set': {
        const outcome = await box.settings.set(body.args.key, body.args.value);
        if (!outcome.ok) throw new Error(outcome.reason);
        return { settings: box.settings.get() };
      }
      case 'restart':
        return { restarting: true };
    }
  }

  private reply(answer: Omit<CommandReply, 'v' | 'site' | 'at'>): Promise<void> {
    const client = this.client;
    if (!client) return Promise.resolve();
    const reply: CommandReply = {
      v: FLEET_PAYLOAD_VERSION,
      site: this.deps.config.siteId,
      at: this.nowSeconds(),
      ...answer,
    };
    return this.publishWithin(this.topics.reply, reply, false, RESTART_REPLY_WAIT_MS, client);
  }

  private takeReplyToken(): boolean {
    const now = this.deps.clock.now();
    const refill = Math.floor((now - this.replyTokensAt) / REFUSAL_REPLY_REFILL_MS);
    if (refill > 0) {
      this.replyTokens = Math.min(REFUSAL_REPLY_BURST, this.replyTokens + refill);
      this.replyTokensAt = now;
    }
    if (this.replyTokens === 0) return false;
    this.replyTokens--;
    return true;
  }

  /** QoS 1; resolves on PUBACK or after `waitMs` (the message stays with the client either way). */
  private publishWithin(
    topic: string,
    payload: object,
    retain: boolean,
    waitMs: number,
    client: MqttClient,
  ): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, waitMs);
      client.publish(topic, JSON.stringify(payload), { qos: 1, retain }, (error) => {
        clearTimeout(timer);
        if (error) this.noteError(`${topic} not published: ${error.message}`);
        resolve();
      });
    });
  }

  private nowSeconds(): number {
    return Math.floor(this.deps.clock.now() / 1000);
  }
}

/** A broker URL fit for a log line: `mqtts://user:pass@host` loses its user part. */
export function withoutUserInfo(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//');
}
