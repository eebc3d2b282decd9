import ModbusRTU from 'modbus-serial';
import { classifyError, type ModbusClient, type ModbusLink, RequestQueue, readWith, writeWith } from './link';
import { defaultSerialLoader, ensureSerialSupport, type SerialModuleLoader } from './serial-binding';

export interface SerialLineOptions {
  readonly path: string;
  readonly baudRate: number;
  readonly parity: 'none' | 'even' | 'odd';
}

/**
 * One RS-485 line (serial port) shared by every terminal on it. Requests from all units go through one
 * queue, strictly one at a time (a half-duplex bus has a single master), each with its unit's id and timeout.
 */
export class SerialLine {
  private readonly queue = new RequestQueue();
  private users = 0;
  private closing = false;
  private readonly closeListeners = new Set<(reason: Error) => void>();
  /** A failed request may leave a late or broken answer in modbus-serial's buffer. */
  private dirty = false;

  constructor(
    readonly options: SerialLineOptions,
    private readonly client: ModbusClient,
    private readonly onEmpty: () => void,
  ) {}

  /** Wires the port's close event; called once by the registry after opening. */
  watch(): void {
    this.client.on('close', () => {
      if (this.closing) return;
      const reason = new Error(`serial line ${this.options.path} closed`);
      for (const listener of this.closeListeners) listener(reason);
    });
    this.client.on('error', () => undefined);
  }

  addUser(): void {
    this.users++;
  }

  request<T>(
    unitId: number,
    timeoutMs: number,
    what: string,
    op: (client: ModbusClient) => Promise<T>,
  ): Promise<T> {
    return this.queue.run(async () => {
      if (this.dirty) this.discardStaleInput();
      this.client.setID(unitId);
      this.client.setTimeout(timeoutMs);
      try {
        return await op(this.client);
      } catch (err) {
        this.dirty = true;
        throw classifyError(err, `unit ${unitId} ${what}`);
      }
    });
  }

  /** A link for one unit on this line. */
  link(unitId: number, timeoutMs: number): ModbusLink {
    let released = false;
    let listener: ((reason: Error) => void) | null = null;
    const onLineClose = (reason: Error) => listener?.(reason);
    this.closeListeners.add(onLineClose);
    return {
      readHolding: (address, count) =>
        this.request(unitId, timeoutMs, `read ${address}+${count}`, (c) => readWith(c, address, count)),
      writeHolding: (address, values) =>
        this.request(unitId, timeoutMs, `write ${address}+${values.length}`, (c) =>
          writeWith(c, address, values),
        ),
      onClose: (l) => {
        listener = l;
      },
      close: async () => {
        if (released) return;
        released = true;
        this.closeListeners.delete(onLineClose);
        await this.release();
      },
    };
  }

  private async release(): Promise<void> {
    this.users--;
    if (this.users > 0) return;
    this.closing = true;
    this.onEmpty();
    await this.queue.run(() => new Promise<void>((resolve) => this.client.close(() => resolve())));
  }

  /**
   * modbus-serial's buffered RTU port scans its buffer for the next answer; bytes left by a timed-out or
   * corrupted answer could be taken for it. Reaching into its (pinned 8.0.25) internals is the only way to
   * flush them.
   */
  private discardStaleInput(): void {
    const port = (this.client as unknown as { _port?: { _buffer?: Buffer } })._port;
    if (port && Buffer.isBuffer(port._buffer)) port._buffer = Buffer.alloc(0);
    this.dirty = false;
  }
}

/**
 * Gives terminals configured with the same serial `path` one shared SerialLine. The gateway creates one
 * registry and injects it into every Modbus driver.
 */
export class SerialLineRegistry {
  private readonly lines = new Map<string, Promise<SerialLine>>();

  constructor(private readonly loadSerial: SerialModuleLoader = defaultSerialLoader) {}

  async acquire(options: SerialLineOptions): Promise<SerialLine> {
    let pending = this.lines.get(options.path);
    if (!pending) {
      pending = this.open(options);
      this.lines.set(options.path, pending);
      pending.catch(() => this.lines.delete(options.path));
    }
    const line = await pending;
    if (line.options.baudRate !== options.baudRate || line.options.parity !== options.parity) {
      throw new Error(
        `serial line ${options.path} is already open at ${line.options.baudRate} baud, parity ${line.options.parity}; ` +
          `every terminal on one line must use the same baudRate and parity`,
      );
    }
    line.addUser();
    return line;
  }

  private async open(options: SerialLineOptions): Promise<SerialLine> {
    await ensureSerialSupport(this.loadSerial);
    const client = new ModbusRTU();
    try {
      await client.connectRTUBuffered(options.path, { baudRate: options.baudRate, parity: options.parity });
    } catch (err) {
      throw new Error(`cannot open serial line ${options.path}: ${(err as Error).message}`);
    }
    const line = new SerialLine(options, client, () => this.lines.delete(options.path));
    line.watch();
    return line;
  }
}
