/**
 * Loads the `serialport` package, whose native binding may be missing (no prebuild for the CPU, or a
 * single-file build that did not extract the addon). Serial Modbus then fails loudly with a clear
 * message instead of an obscure `require` error deep inside modbus-serial.
 */

export interface SerialPortLike {
  readonly isOpen: boolean;
  on(event: 'data', listener: (chunk: Buffer) => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  on(event: 'close', listener: () => void): unknown;
  write(chunk: Buffer): boolean;
  close(callback: (err?: Error | null) => void): void;
}

export class SerialSupportError extends Error {
  override readonly name = 'SerialSupportError';
}

export type SerialModuleLoader = () => Promise<unknown>;

export const defaultSerialLoader: SerialModuleLoader = () => import('serialport');

/** Throws SerialSupportError unless the serialport package and its native binding load. */
export async function ensureSerialSupport(load: SerialModuleLoader = defaultSerialLoader): Promise<void> {
  await loadSerialModule(load);
}

async function loadSerialModule(load: SerialModuleLoader): Promise<{ SerialPort: SerialPortConstructor }> {
  let mod: unknown;
  try {
    mod = await load();
    // The packaged binary loads the native addon lazily (build/serial-addon.ts) and registers this
    // probe, so that a missing addon is reported here rather than at the first read.
    const probe = (globalThis as Record<symbol, unknown>)[Symbol.for('edge-gateway.serialport.addon')];
    if (typeof probe === 'function') probe();
  } catch (err) {
    throw new SerialSupportError(
      `Modbus RTU is unavailable: the serialport native binding could not be loaded (${(err as Error).message}). ` +
        'Install a build with @serialport/bindings-cpp for this platform, or use transport "tcp".',
    );
  }
  const SerialPort = (mod as { SerialPort?: unknown }).SerialPort;
  if (typeof SerialPort !== 'function') {
    throw new SerialSupportError(
      'Modbus RTU is unavailable: the serialport package has no SerialPort export',
    );
  }
  return { SerialPort: SerialPort as SerialPortConstructor };
}

type SerialPortConstructor = new (options: {
  path: string;
  baudRate: number;
  parity: 'none' | 'even' | 'odd';
  autoOpen: false;
}) => SerialPortLike & { open(callback: (err: Error | null) => void): void };

/** Opens a raw serial port (the emulator's side of an RTU line). */
export async function openSerialPort(
  options: { path: string; baudRate: number; parity: 'none' | 'even' | 'odd' },
  load: SerialModuleLoader = defaultSerialLoader,
): Promise<SerialPortLike> {
  const { SerialPort } = await loadSerialModule(load);
  const port = new SerialPort({ ...options, autoOpen: false });
  await new Promise<void>((resolve, reject) => {
    port.open((err) =>
      err ? reject(new Error(`cannot open serial port ${options.path}: ${err.message}`)) : resolve(),
    );
  });
  return port;
}
