import ModbusRTU from 'modbus-serial';

/**
 * One terminal's view of the wire: read and write holding registers of its unit. TCP terminals own a
 * connection; RTU terminals share their serial line (serial-line.ts). Both serialize requests.
 */
export interface ModbusLink {
  readHolding(address: number, count: number): Promise<number[]>;
  writeHolding(address: number, values: readonly number[]): Promise<void>;
  close(): Promise<void>;
  /** Called once when the link drops on its own. */
  onClose(listener: (reason: Error) => void): void;
}

export type ModbusClient = InstanceType<typeof ModbusRTU>;

/** Runs operations one at a time, in call order; one failure never blocks the next. */
export class RequestQueue {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(op: () => Promise<T>): Promise<T> {
    const result = this.tail.then(op, op);
    this.tail = result.catch(() => undefined);
    return result;
  }
}

export type ModbusFailure = 'timeout' | 'exception' | 'crc' | 'closed' | 'other';

/** A request that failed, with why, so the driver counts faults and keeps polling. */
export class ModbusRequestError extends Error {
  override readonly name = 'ModbusRequestError';
  constructor(
    message: string,
    readonly failure: ModbusFailure,
    readonly exceptionCode?: number,
  ) {
    super(message);
  }
}

export function classifyError(err: unknown, what: string): ModbusRequestError {
  if (err instanceof ModbusRequestError) return err;
  const e = err as { name?: string; message?: string; modbusCode?: number };
  const message = e?.message ?? String(err);
  if (typeof e?.modbusCode === 'number') {
    return new ModbusRequestError(`${what}: ${message}`, 'exception', e.modbusCode);
  }
  if (e?.name === 'TransactionTimedOutError' || message === 'Timed out') {
    return new ModbusRequestError(`${what}: no answer (timed out)`, 'timeout');
  }
  if (/CRC/i.test(message)) return new ModbusRequestError(`${what}: corrupted answer (${message})`, 'crc');
  if (e?.name === 'PortNotOpenError' || /not open/i.test(message)) {
    return new ModbusRequestError(`${what}: link closed`, 'closed');
  }
  return new ModbusRequestError(`${what}: ${message}`, 'other');
}

export async function readWith(client: ModbusClient, address: number, count: number): Promise<number[]> {
  const result = await client.readHoldingRegisters(address, count);
  if (result.data.length !== count) {
    throw new ModbusRequestError(`read ${address}+${count}: got ${result.data.length} registers`, 'other');
  }
  return result.data;
}

export async function writeWith(
  client: ModbusClient,
  address: number,
  values: readonly number[],
): Promise<void> {
  await client.writeRegisters(address, [...values]);
}

/** A Modbus TCP connection to one unit (a device, or a TCP-to-RTU gateway addressed by unit id). */
export class TcpLink implements ModbusLink {
  private readonly queue = new RequestQueue();
  private closing = false;
  private closeListener: ((reason: Error) => void) | null = null;

  private constructor(private readonly client: ModbusClient) {}

  static async open(options: {
    host: string;
    port: number;
    unitId: number;
    timeoutMs: number;
  }): Promise<TcpLink> {
    const client = new ModbusRTU();
    try {
      await client.connectTCP(options.host, { port: options.port });
    } catch (err) {
      client.close(() => undefined);
      throw new Error(
        `cannot connect to Modbus TCP ${options.host}:${options.port}: ${(err as Error).message}`,
      );
    }
    client.setID(options.unitId);
    client.setTimeout(options.timeoutMs);
    const link = new TcpLink(client);
    client.on('close', () => {
      if (!link.closing) link.closeListener?.(new Error(`Modbus TCP ${options.host}:${options.port} closed`));
    });
    // modbus-serial re-emits socket errors; without a listener they would crash the process.
    client.on('error', () => undefined);
    return link;
  }

  readHolding(address: number, count: number): Promise<number[]> {
    return this.queue.run(async () => {
      try {
        return await readWith(this.client, address, count);
      } catch (err) {
        throw classifyError(err, `read ${address}+${count}`);
      }
    });
  }

  writeHolding(address: number, values: readonly number[]): Promise<void> {
    return this.queue.run(async () => {
      try {
        await writeWith(this.client, address, values);
      } catch (err) {
        throw classifyError(err, `write ${address}+${values.length}`);
      }
    });
  }

  onClose(listener: (reason: Error) => void): void {
    this.closeListener = listener;
  }

  /**
   * modbus-serial's close ends the socket and calls back on its 'close' event, which never comes
   * when the socket is already gone (the device dropped it mid-request) or the device never answers
   * the FIN (a pulled cable). The supervisor awaits this before it reconnects, and so does a stop:
   * either would hang for good. So a closed port returns at once and a slow one is destroyed.
   */
  async close(): Promise<void> {
    this.closing = true;
    const client = this.client;
    if (!client.isOpen) {
      client.destroy(() => undefined);
      return;
    }
    await new Promise<void>((resolve) => {
      const forced = setTimeout(() => {
        client.destroy(() => undefined);
        resolve();
      }, CLOSE_GRACE_MS);
      client.close(() => {
        clearTimeout(forced);
        resolve();
      });
    });
  }
}

/** How long a Modbus TCP device gets to answer our FIN before the socket is destroyed. */
export const CLOSE_GRACE_MS = 1000;
