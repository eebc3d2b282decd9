import type { FleetConfig } from '../../config/schema';
import type { EventBus } from '../events';
import type { ClockSource, Logger, StateSlot } from '../model';
import type { SeenNonces } from './command-guard';
import type { FleetLink } from './link';
import type { FleetBox } from './port';

export interface FleetPartDeps {
  readonly config: FleetConfig;
  readonly box: FleetBox;
  readonly bus: EventBus;
  /** Where the nonces of commands already run are kept (state.json), so none runs twice. */
  readonly nonces: StateSlot<SeenNonces>;
  readonly clock: ClockSource;
  readonly logger: Logger;
  readonly version: string;
}

/**
 * The fleet link as a part of the box: nothing when `fleet.enabled` is off, and the MQTT code is
 * loaded only when it is on (a box without a fleet never pays for it). Starting never waits for the
 * broker: a site whose broker is away runs as before and the link keeps trying.
 */
export class FleetPart {
  private link: FleetLink | undefined;

  constructor(private readonly deps: FleetPartDeps) {}

  async start(): Promise<void> {
    const { config } = this.deps;
    const { brokerUrl, siteId } = config;
    if (!config.enabled || brokerUrl === undefined || siteId === undefined) return;
    const { FleetLink } = await import('./link');
    this.link = new FleetLink({ ...this.deps, config: { ...config, brokerUrl, siteId } });
    await this.link.start();
  }

  async stop(): Promise<void> {
    await this.link?.stop();
    this.link = undefined;
  }

  /** The running link (tests, lab); undefined when the fleet is off. */
  get running(): FleetLink | undefined {
    return this.link;
  }
}
