import type { GatewayConfig, TerminalConfig } from '../config/schema';
import type { EventBus } from './events';
import type {
  ClockSource,
  Logger,
  RosterPort,
  StatePort,
  TerminalDriver,
  Upstream,
  UpstreamName,
  WorkerIdentity,
} from './model';

/** What the composition root offers every driver and upstream it builds. */
export interface PartDeps {
  readonly clock: ClockSource;
  readonly logger: Logger;
  readonly roster: RosterPort;
  readonly state: StatePort;
  readonly siteTimezone: string;
  readonly lookupWorker: (workerId: string) => WorkerIdentity | undefined;
  readonly bus: EventBus;
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

type DriverFactory = (config: TerminalConfig, deps: PartDeps) => TerminalDriver;
type UpstreamFactory = (config: GatewayConfig, deps: PartDeps) => Upstream;

/** Terminal families this build can drive; each adapter registers itself here. */
const DRIVERS: Partial<Record<TerminalConfig['driver'], DriverFactory>> = {};
const UPSTREAMS: Partial<Record<UpstreamName, UpstreamFactory>> = {};

export function createDriver(config: TerminalConfig, deps: PartDeps): TerminalDriver {
  const factory = DRIVERS[config.driver];
  if (!factory)
    throw new UnsupportedPartError(
      `terminals.${config.id}.driver`,
      `"${config.driver}" is not supported by this version`,
    );
  return factory(config, { ...deps, logger: deps.logger.child({ terminalId: config.id }) });
}

export function createUpstream(name: UpstreamName, config: GatewayConfig, deps: PartDeps): Upstream {
  const factory = UPSTREAMS[name];
  if (!factory) throw new UnsupportedPartError(`upstreams.${name}`, 'not supported by this version');
  return factory(config, { ...deps, logger: deps.logger.child({ upstream: name }) });
}
