import type { GatewayConfig } from '../../config/schema';
import type { UpstreamReport } from '../http/health';
import type { GatewayMetrics } from '../metrics';
import type { ClockSource, Logger, Upstream, UpstreamName } from '../model';
import { Outbox, type OutboxCursors } from '../outbox/outbox';
import type { PunchJournal } from '../store/journal';
import type {
  RegistrationCapability,
  TemplateUploadCapability,
  UpgradeCheckCapability,
  UpstreamPart,
} from './capabilities';
import { createUpstreams, type UpstreamDeps } from './factories';

interface Delivery {
  readonly part: UpstreamPart;
  readonly outbox: Outbox;
}

/**
 * The enabled platforms, each with the outbox that feeds it from the journal. Platforms connect at
 * `start()`; delivery begins at `startDelivery()`, once the rest of the box is up.
 */
export class UpstreamSet {
  private deliveries: Delivery[] = [];

  constructor(
    private readonly deps: UpstreamDeps & {
      readonly config: GatewayConfig;
      readonly journal: PunchJournal;
      /** Where each outbox keeps its cursor (`outbox.<name>`). */
      readonly cursors: OutboxCursors;
      readonly metrics: GatewayMetrics;
      readonly clock: ClockSource;
      readonly logger: Logger;
    },
  ) {}

  async start(): Promise<void> {
    const { config, journal, cursors, metrics, clock, logger } = this.deps;
    for (const part of await createUpstreams(config, this.deps)) {
      await part.upstream.start();
      const outbox = new Outbox({
        upstream: part.upstream,
        journal,
        cursor: cursors.slot(`outbox.${part.upstream.name}`),
        options: config.outbox,
        logger: logger.child({ part: 'outbox', upstream: part.upstream.name }),
        metrics,
        clock,
      });
      this.deliveries.push({ part, outbox });
    }
  }

  startDelivery(): void {
    for (const { outbox } of this.deliveries) outbox.start();
  }

  /** Lets in-flight deliveries settle, then closes each platform's link. */
  async stop(): Promise<void> {
    await Promise.all(this.deliveries.map(({ outbox }) => outbox.stop()));
    await Promise.all(this.deliveries.map(({ part }) => part.upstream.stop().catch(() => undefined)));
  }

  get names(): readonly UpstreamName[] {
    return this.deliveries.map(({ part }) => part.upstream.name);
  }

  upstream(name: UpstreamName): Upstream | undefined {
    return this.find(name)?.part.upstream;
  }

  outbox(name: UpstreamName): Outbox | undefined {
    return this.find(name)?.outbox;
  }

  /** The journal sequence every enabled upstream has acknowledged (the journal's end when there is none). */
  acknowledgedByAll(): number {
    if (this.deliveries.length === 0) return this.deps.journal.lastSeq;
    return Math.min(...this.deliveries.map(({ outbox }) => outbox.cursor));
  }

  /** Whether every enabled upstream has acknowledged `seq` (one not built yet has acknowledged nothing). */
  passed(seq: number): boolean {
    const enabled = (['sichuan', 'deli'] as const).filter((name) => this.deps.config.upstreams[name].enabled);
    return enabled.every((name) => (this.outbox(name)?.cursor ?? -1) >= seq);
  }

  registration(): RegistrationCapability | undefined {
    return this.deliveries.find(({ part }) => part.registration)?.part.registration;
  }

  templateUpload(): TemplateUploadCapability | undefined {
    return this.deliveries.find(({ part }) => part.templateUpload)?.part.templateUpload;
  }

  upgradeCheck(): UpgradeCheckCapability | undefined {
    return this.deliveries.find(({ part }) => part.upgradeCheck)?.part.upgradeCheck;
  }

  reports(): UpstreamReport[] {
    return this.deliveries.map(({ part, outbox }) => ({
      ...outbox.status(),
      enabled: true,
      health: part.upstream.health(),
    }));
  }

  private find(name: UpstreamName): Delivery | undefined {
    return this.deliveries.find(({ part }) => part.upstream.name === name);
  }
}
