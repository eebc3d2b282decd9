import { readFile } from 'node:fs/promises';
import type { EnabledDeliConfig } from '../../config/schema';
import type {
  ClockSource,
  DeliveryResult,
  EnrolmentPort,
  Logger,
  Punch,
  RosterPort,
  StatePort,
  UpgradeOffer,
  Upstream,
  UpstreamHealth,
  WorkerIdentity,
} from '../../gateway/model';
import { PLATFORM_PEER, parseEnvelope, serializeEnvelope } from './envelope';
import { type CheckinRecord, type DownMessage, decodeDown, encodeUp, type UpMessage } from './messages';
import { dedupKey, newMid } from './mid';
import { MqttLink } from './mqtt-link';
import { RecentKeys } from './recent-keys';
import { changeSettings, type RemoteSettings, readSettings } from './remote-config';
import { RosterSync } from './roster-sync';
import { topicFor } from './topics';

export interface DeliUpstreamDeps {
  readonly logger: Logger;
  readonly clock: ClockSource;
  readonly roster: RosterPort;
  readonly state: StatePort;
  lookupWorker(workerId: string): WorkerIdentity | undefined;
  readonly enrolment: EnrolmentPort;
  onUpgrade(offer: UpgradeOffer): void;
  readonly remoteSettings: RemoteSettings;
  /** The running gateway version; a 102/202 naming it is not followed up with 103. */
  readonly currentVersion?: string;
}

/** How many incoming message keys are remembered for de-duplication. */
const DEDUP_CAPACITY = 4096;
export const WATERMARK_SLOT = 'deli.userSyncWatermark';

/**
 * The gateway as one Deli attendance device (docs/protocols/deli.md): check-ins up over
 * action 300, roster sync, enrolment, remote config and upgrade offers down over 301/1xx/2xx.
 */
export class DeliUpstream implements Upstream {
  readonly name = 'deli' as const;
  readonly maxBatch: number;
  private link: MqttLink | undefined;
  private sync: RosterSync | undefined;
  private readonly recent = new RecentKeys(DEDUP_CAPACITY);
  private inbox: Promise<void> = Promise.resolve();
  private readonly enrolments = new Set<Promise<void>>();
  private lastSuccessAt: number | undefined;
  private lastError: { message: string; at: number } | undefined;
  private lastMalformed = '';
  private lastUpgradeVersion = '';
  private readonly counts = {
    received: 0,
    malformed: 0,
    duplicates: 0,
    checkinBatches: 0,
    checkinRecords: 0,
    unattributed: 0,
    enrolmentsUploaded: 0,
    enrolmentFailures: 0,
    configRequests: 0,
    upgradeOffers: 0,
  };

  constructor(
    private readonly config: EnabledDeliConfig,
    private readonly deps: DeliUpstreamDeps,
  ) {
    this.maxBatch = config.batchSize;
  }

  async start(): Promise<void> {
    const c = this.config;
    const logger = this.deps.logger;
    const ca = c.caFile ? await readFile(c.caFile) : undefined;
    const status = (online: boolean) => () =>
      Buffer.from(JSON.stringify({ device_id: c.deviceId, online, time: this.nowSeconds() }));
    const link = new MqttLink({
      url: c.brokerUrl,
      clientId: c.deviceId,
      subscribe: [topicFor(c.topics.down, c.deviceId)],
      keepaliveSeconds: c.keepaliveSeconds,
      reconnectMinMs: c.reconnectMinMs,
      reconnectMaxMs: c.reconnectMaxMs,
      status: { topic: topicFor(c.topics.status, c.deviceId), online: status(true), offline: status(false) },
      logger,
      ...(c.username !== undefined && { username: c.username }),
      ...(c.password !== undefined && { password: c.password }),
      ...(ca !== undefined && { ca }),
    });
    this.sync = new RosterSync({
      logger,
      roster: this.deps.roster,
      watermark: this.deps.state.slot<number>(WATERMARK_SLOT),
      pageSize: c.syncPageSize,
      timeoutMs: c.syncTimeoutMs,
      sendRequest: (size, updateTimeMs, mid) =>
        this.send({ cmd: 'user_sync_request', size, updateTimeMs }, mid),
      schedule: (task) => this.enqueue(task),
    });
    link.onMessage((_topic, payload) => this.enqueue(() => this.handle(payload)));
    this.link = link;
    link.start();
  }

  async stop(): Promise<void> {
    this.sync?.stop();
    await this.link?.stop();
    this.link = undefined;
    await this.inbox;
  }

  /** Resolves true once connected to the broker (false after `timeoutMs`); for lab mode and tests. */
  waitConnected(timeoutMs: number): Promise<boolean> {
    return this.link ? this.link.waitConnected(timeoutMs) : Promise.resolve(false);
  }

  /**
   * Asks the platform for the latest version (102); the answer reaches `onUpgrade` via 103
   * (docs/protocols/deli.md#upgrades).
   */
  checkForUpgrade(): Promise<void> {
    return this.send(
      {
        cmd: 'version_query',
        ...(this.deps.currentVersion !== undefined && { version: this.deps.currentVersion }),
      },
      undefined,
    );
  }

  async deliver(punches: readonly Punch[]): Promise<DeliveryResult> {
    if (punches.length === 0) return { acknowledged: 0 };
    const link = this.link;
    if (!link?.connected) return { acknowledged: 0, error: 'not connected to the Deli broker' };
    const users: CheckinRecord[] = [];
    const unattributed: Punch[] = [];
    for (const p of punches) {
      const userId = p.workerId !== null ? this.deps.lookupWorker(p.workerId)?.deliUserId : undefined;
      if (userId === undefined) unattributed.push(p);
      else users.push({ userId, featureType: p.method, timeS: Math.floor(p.atMs / 1000) });
    }
    const first = punches[0] as Punch;
    const last = punches[punches.length - 1] as Punch;
    if (users.length > 0) {
      try {
        // The mid follows the batch, so a retried batch carries the same mid and the app can drop it.
        await this.send({ cmd: 'checkin', orgId: this.config.orgId, users }, `ck${first.seq}-${last.seq}`);
      } catch (err) {
        const message = `checkin not acknowledged: ${(err as Error).message}`;
        this.noteError(message);
        return { acknowledged: 0, error: message };
      }
      this.counts.checkinBatches++;
      this.counts.checkinRecords += users.length;
      this.lastSuccessAt = this.deps.clock.now();
    }
    for (const p of unattributed) {
      this.counts.unattributed++;
      this.deps.logger.warn(
        { seq: p.seq, workerId: p.workerId, terminalId: p.terminalId },
        'punch settled without upload: the worker has no Deli user id',
      );
    }
    return { acknowledged: punches.length };
  }

  health(): UpstreamHealth {
    const link = this.link;
    const sync = this.sync?.stats;
    const watermark = this.deps.state.slot<number>(WATERMARK_SLOT).get();
    const lastError =
      this.lastError ??
      (link?.lastError ? { message: link.lastError, at: link.lastErrorAt ?? 0 } : undefined);
    return {
      connected: link?.connected ?? false,
      ...(this.lastSuccessAt !== undefined && { lastSuccessAt: this.lastSuccessAt }),
      ...(lastError && { lastError: lastError.message, lastErrorAt: lastError.at }),
      details: {
        ...this.counts,
        syncsCompleted: sync?.completed ?? 0,
        syncsIncomplete: sync?.incomplete ?? 0,
        syncUsersApplied: sync?.usersApplied ?? 0,
        syncActive: this.sync?.active ?? false,
        watermark: watermark ?? 0,
        lastMalformed: this.lastMalformed,
        lastUpgradeVersion: this.lastUpgradeVersion,
        pendingEnrolments: this.enrolments.size,
        connects: link?.connects ?? 0,
      },
    };
  }

  // ───────────────────────────── incoming ─────────────────────────────

  private enqueue(task: () => Promise<void>): void {
    this.inbox = this.inbox.then(task).catch((err: unknown) => {
      this.noteError(`deli message handling failed: ${(err as Error).message}`);
      this.deps.logger.error({ err }, 'deli message handling failed');
    });
  }

  private async handle(payload: Buffer): Promise<void> {
    this.counts.received++;
    const parsed = parseEnvelope(payload);
    if (!parsed.ok) return this.malformed(parsed.error.message, parsed.error.mid);
    const envelope = parsed.envelope;
    if (envelope.to !== undefined && envelope.to !== this.config.deviceId)
      return this.malformed(`addressed to "${envelope.to}", not this device`, envelope.mid);
    if (envelope.mid !== undefined && this.recent.seen(dedupKey(envelope.mid, envelope.data))) {
      this.counts.duplicates++;
      return;
    }
    const decoded = decodeDown(envelope);
    if (!decoded.ok) return this.malformed(decoded.error.message, envelope.mid);
    await this.dispatch(decoded.message, envelope.mid);
  }

  private malformed(reason: string, mid: string | undefined): void {
    this.counts.malformed++;
    this.lastMalformed = reason.slice(0, 200);
    this.deps.logger.warn({ mid, reason }, 'deli message refused');
  }

  private async dispatch(message: DownMessage, mid: string | undefined): Promise<void> {
    const sync = this.sync;
    switch (message.cmd) {
      case 'user_update':
        if (sync) await sync.onUserUpdate(mid, message.updateTimeMs);
        return;
      case 'user_sync':
        if (sync) await sync.onPage(message);
        return;
      case 'feature_input':
        this.startEnrolment(message.userId, message.featureType, mid);
        return;
      case 'get_config':
        this.counts.configRequests++;
        await this.reply(
          { cmd: 'get_config_reply', config: readSettings(this.deps.remoteSettings, message.keys) },
          mid,
        );
        return;
      case 'set_config': {
        this.counts.configRequests++;
        const result = await changeSettings(this.deps.remoteSettings, message.values, this.deps.logger);
        await this.reply({ cmd: 'set_config_reply', ...result }, mid);
        return;
      }
      case 'version':
      case 'upgrade_available':
        this.lastUpgradeVersion = message.version;
        if (message.version === this.deps.currentVersion) return;
        if (message.cmd === 'upgrade_available' && message.url && message.checksum) {
          this.offerUpgrade({
            version: message.version,
            url: message.url,
            checksum: message.checksum,
            ...(message.algorithm && { algorithm: message.algorithm }),
          });
          return;
        }
        await this.reply({ cmd: 'upgrade_info_query', version: message.version }, undefined);
        return;
      case 'upgrade_info':
        this.lastUpgradeVersion = message.version;
        if (message.version === this.deps.currentVersion) return;
        this.offerUpgrade({
          version: message.version,
          url: message.url,
          checksum: message.checksum,
          ...(message.algorithm && { algorithm: message.algorithm }),
        });
        return;
    }
  }

  private offerUpgrade(offer: UpgradeOffer): void {
    this.counts.upgradeOffers++;
    this.deps.logger.info({ version: offer.version }, 'deli upgrade offered');
    try {
      this.deps.onUpgrade(offer);
    } catch (err) {
      this.deps.logger.error({ err }, 'the updater refused the deli upgrade offer');
    }
  }

  /**
   * Uploads a template enrolled at the site without the app asking (the local page): the same
   * `fp_input`/`fa_input` message as the answer to a feature_input, under a fresh mid.
   */
  async uploadTemplate(userId: string, kind: 'fp' | 'fa', data: Uint8Array): Promise<void> {
    await this.send(
      { cmd: 'feature_upload', userId, featureType: kind, data: Buffer.from(data).toString('base64') },
      undefined,
    );
    this.counts.enrolmentsUploaded++;
  }

  /** Enrolment waits for a person at a terminal, so it runs beside the inbox, never blocking it. */
  private startEnrolment(userId: string, kind: 'fp' | 'fa', mid: string | undefined): void {
    const run = (async () => {
      try {
        const payload = await this.deps.enrolment.enrol({ deliUserId: userId }, kind);
        const data = Buffer.from(payload.data).toString('base64');
        await this.send({ cmd: 'feature_upload', userId, featureType: kind, data }, mid);
        this.counts.enrolmentsUploaded++;
      } catch (err) {
        this.counts.enrolmentFailures++;
        this.noteError(`deli ${kind} enrolment for ${userId} failed: ${(err as Error).message}`);
        this.deps.logger.warn({ err, userId, kind }, 'deli enrolment failed');
      }
    })();
    this.enrolments.add(run);
    void run.finally(() => this.enrolments.delete(run));
  }

  // ───────────────────────────── outgoing ─────────────────────────────

  /** A reply whose loss is logged, not thrown: the app asks again. */
  private async reply(message: UpMessage, mid: string | undefined): Promise<void> {
    try {
      await this.send(message, mid);
    } catch (err) {
      this.noteError(`deli ${message.cmd} not acknowledged: ${(err as Error).message}`);
    }
  }

  private send(message: UpMessage, mid: string | undefined): Promise<void> {
    const link = this.link;
    const c = this.config;
    if (!link) return Promise.reject(new Error('deli upstream not started'));
    const { action, data } = encodeUp(message, { numericUserIds: c.numericUserIds });
    const toPlatform = message.cmd === 'version_query' || message.cmd === 'upgrade_info_query';
    const bytes = serializeEnvelope({
      mid: mid ?? newMid(),
      from: c.deviceId,
      to: toPlatform ? PLATFORM_PEER : c.appId,
      time: this.nowSeconds(),
      action,
      data,
    });
    return link.publish(topicFor(c.topics.up, c.deviceId), bytes, c.publishTimeoutMs);
  }

  private nowSeconds(): number {
    return Math.floor(this.deps.clock.now() / 1000);
  }

  private noteError(message: string): void {
    this.lastError = { message, at: this.deps.clock.now() };
  }
}
