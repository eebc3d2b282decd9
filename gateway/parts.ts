import type { AdmsServer } from '../adapters/adms/server';
import type { SerialLineRegistry } from '../adapters/modbus/serial-line';
import type { GatewayConfig, TerminalConfig } from '../config/schema';
import type { EventBus } from './events';
import type {
  ClockSource,
  EnrolmentPort,
  Logger,
  RosterPort,
  StatePort,
  TerminalDriver,
  Upstream,
  UpstreamName,
  WorkerIdentity,
} from './model';
import type { RemoteSettingsStore } from './settings';
import { VERSION } from './version';

/** What the composition root offers every driver and upstream it builds. */
export interface PartDeps {
  readonly clock: ClockSource;
  readonly logger: Logger;
  readonly roster: RosterPort;
  readonly state: StatePort;
  readonly siteTimezone: string;
  readonly lookupWorker: (workerId: string) => WorkerIdentity | undefined;
  readonly bus: EventBus;
  /** One per process: Modbus terminals on the same RS-485 line share its port. */
  readonly serialLines: () => Promise<SerialLineRegistry>;
  /** One per process, shared by every ADMS terminal; present when any is configured. */
  readonly admsServer?: AdmsServer;
  readonly enrolment: EnrolmentPort;
  readonly remoteSettings: RemoteSettingsStore;
}

export class UnsupportedPartError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`${path}: ${message}`);
    this.name = 'UnsupportedPartError';
  }
}

/**
 * Factories load their family's code on first use, so a box with only ZK terminals and Sichuan
 * never loads MQTT, Modbus or ADMS code (the single-file binary's memory is the limit that matters).
 */
type DriverFactory = (config: TerminalConfig, deps: PartDeps) => Promise<TerminalDriver>;
type UpstreamFactory = (config: GatewayConfig, deps: PartDeps) => Promise<Upstream>;

/** Terminal families this build can drive; each adapter registers itself here. */
const DRIVERS: Partial<Record<TerminalConfig['driver'], DriverFactory>> = {
  zk: async (config, deps) =>
    new (await import('../adapters/zk/driver')).ZkDriver(
      config as Extract<TerminalConfig, { driver: 'zk' }>,
      {
        logger: deps.logger,
        clock: deps.clock,
        siteTimeZone: deps.siteTimezone,
      },
    ),
  adms: async (config, deps) => {
    const { AdmsDriver } = await import('../adapters/adms/driver');
    if (!deps.admsServer)
      throw new UnsupportedPartError(`terminals.${config.id}.driver`, 'the ADMS server is not running');
    return new AdmsDriver(config as Extract<TerminalConfig, { driver: 'adms' }>, {
      logger: deps.logger,
      clock: deps.clock,
      state: deps.state,
      server: deps.admsServer,
      siteTimezone: deps.siteTimezone,
    });
  },
  modbus: async (config, deps) =>
    new (await import('../adapters/modbus/driver')).ModbusDriver(
      config as Extract<TerminalConfig, { driver: 'modbus' }>,
      {
        logger: deps.logger,
        clock: deps.clock,
        serialLines: await deps.serialLines(),
      },
    ),
};
const UPSTREAMS: Partial<Record<UpstreamName, UpstreamFactory>> = {
  deli: async (config, deps) =>
    new (await import('../cloud/deli/upstream')).DeliUpstream(
      {
        ...config.upstreams.deli,
        // Check-ins flow only while the link is up: a reconnect wait longer than the outbox's
        // longest back-off would break the promise to resume within outbox.maxBackoffMs.
        reconnectMinMs: Math.min(config.upstreams.deli.reconnectMinMs, config.outbox.maxBackoffMs),
        reconnectMaxMs: Math.min(config.upstreams.deli.reconnectMaxMs, config.outbox.maxBackoffMs),
      },
      {
        ...deps,
        onUpgrade: (offer) => deps.bus.emit('upgrade.offered', offer),
        currentVersion: VERSION,
      },
    ),
  sichuan: async (config, deps) =>
    new (await import('../cloud/sichuan/upstream')).SichuanUpstream(config.upstreams.sichuan, {
      ...deps,
      siteTimezone: config.site.timezone,
      // One retry policy for the box: the platform's own backoff follows the outbox settings
      // (the outbox also never waits less than its own back-off, nor more than maxBackoffMs).
      timing: { backoffInitialMs: config.outbox.initialBackoffMs, backoffMaxMs: config.outbox.maxBackoffMs },
    }),
};

export function createDriver(config: TerminalConfig, deps: PartDeps): Promise<TerminalDriver> {
  const factory = DRIVERS[config.driver];
  if (!factory)
    throw new UnsupportedPartError(
      `terminals.${config.id}.driver`,
      `"${config.driver}" is not supported by this version`,
    );
  return factory(config, { ...deps, logger: deps.logger.child({ terminalId: config.id }) });
}

export function createUpstream(name: UpstreamName, config: GatewayConfig, deps: PartDeps): Promise<Upstream> {
  const factory = UPSTREAMS[name];
  if (!factory) throw new UnsupportedPartError(`upstreams.${name}`, 'not supported by this version');
  return factory(config, { ...deps, logger: deps.logger.child({ upstream: name }) });
}
