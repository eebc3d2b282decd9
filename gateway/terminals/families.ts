import type { AdmsServer } from '../../adapters/adms/server';
import type { SerialLineRegistry } from '../../adapters/modbus/serial-line';
import type { GatewayConfig, TerminalConfig } from '../../config/schema';
import type { ClockSource, Logger, StatePort, TerminalDriver } from '../model';

/** What the composition root offers every terminal family. */
export interface FamilyDeps {
  readonly config: GatewayConfig;
  readonly clock: ClockSource;
  readonly logger: Logger;
  readonly state: StatePort;
}

type ConfigOf<K extends TerminalConfig['driver']> = Extract<TerminalConfig, { driver: K }>;

/**
 * One terminal family: it builds drivers, and owns what its terminals share (the ADMS `/iclock`
 * server, the Modbus serial lines), which it sets up with the first terminal and closes at the end.
 * Each family loads its code on first use: a box with only ZK terminals never loads Modbus or ADMS.
 */
interface TerminalFamily<K extends TerminalConfig['driver']> {
  create(config: ConfigOf<K>, logger: Logger): Promise<TerminalDriver>;
  stop(): Promise<void>;
}

class ZkFamily implements TerminalFamily<'zk'> {
  constructor(private readonly deps: FamilyDeps) {}

  async create(config: ConfigOf<'zk'>, logger: Logger): Promise<TerminalDriver> {
    const { ZkDriver } = await import('../../adapters/zk/driver');
    const { clock, config: gateway } = this.deps;
    return new ZkDriver(config, { logger, clock, siteTimeZone: gateway.site.timezone });
  }

  async stop(): Promise<void> {}
}

class AdmsFamily implements TerminalFamily<'adms'> {
  private server: Promise<AdmsServer> | undefined;
  private started: AdmsServer | undefined;

  constructor(private readonly deps: FamilyDeps) {}

  /** The `/iclock` port once the first ADMS terminal started the server. */
  get port(): number | undefined {
    return this.started?.port;
  }

  async create(config: ConfigOf<'adms'>, logger: Logger): Promise<TerminalDriver> {
    const server = await this.serverOnce();
    const { AdmsDriver } = await import('../../adapters/adms/driver');
    const { clock, state, config: gateway } = this.deps;
    return new AdmsDriver(config, { logger, clock, state, server, siteTimezone: gateway.site.timezone });
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    this.started = undefined;
    await (await server?.catch(() => undefined))?.stop();
  }

  private serverOnce(): Promise<AdmsServer> {
    this.server ??= (async () => {
      const { AdmsServer } = await import('../../adapters/adms/server');
      const { clock, state, logger, config } = this.deps;
      const server = new AdmsServer(config.adms, { logger: logger.child({ part: 'adms' }), clock, state });
      await server.start();
      this.started = server;
      return server;
    })();
    this.server.catch(() => {
      this.server = undefined;
    });
    return this.server;
  }
}

class ModbusFamily implements TerminalFamily<'modbus'> {
  private lines: Promise<SerialLineRegistry> | undefined;

  constructor(private readonly deps: FamilyDeps) {}

  async create(config: ConfigOf<'modbus'>, logger: Logger): Promise<TerminalDriver> {
    // One registry per process: Modbus terminals on the same RS-485 line share its port.
    this.lines ??= import('../../adapters/modbus/serial-line').then((m) => new m.SerialLineRegistry());
    const serialLines = await this.lines;
    const { ModbusDriver } = await import('../../adapters/modbus/driver');
    return new ModbusDriver(config, { logger, clock: this.deps.clock, serialLines });
  }

  async stop(): Promise<void> {}
}

/** Every terminal family this build drives. */
export class TerminalFamilies {
  private readonly zk: ZkFamily;
  private readonly adms: AdmsFamily;
  private readonly modbus: ModbusFamily;

  constructor(private readonly deps: FamilyDeps) {
    this.zk = new ZkFamily(deps);
    this.adms = new AdmsFamily(deps);
    this.modbus = new ModbusFamily(deps);
  }

  get admsPort(): number | undefined {
    return this.adms.port;
  }

  createDriver(config: TerminalConfig): Promise<TerminalDriver> {
    const logger = this.deps.logger.child({ terminalId: config.id });
    switch (config.driver) {
      case 'zk':
        return this.zk.create(config, logger);
      case 'adms':
        return this.adms.create(config, logger);
      case 'modbus':
        return this.modbus.create(config, logger);
    }
  }

  async stop(): Promise<void> {
    await Promise.all([this.zk.stop(), this.adms.stop(), this.modbus.stop()]);
  }
}
