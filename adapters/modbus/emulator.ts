import { createServer, type Server, type Socket } from 'node:net';
import type { ClockSource, Logger } from '../../gateway/model';
import { systemClock } from '../../lib/clock';
import { EmulatedDevice, type EmulatedEvent } from './emulator-device';
import { builtInProfile, type ModbusProfile } from './profile';
import { openSerialPort, type SerialPortLike } from './serial-binding';
import { crc16, exceptionPdu, MbapDeframer, mbapFrame, RtuRequestDeframer, rtuFrame } from './wire';

export type { EmulatedEvent } from './emulator-device';
export { EmulatedDevice } from './emulator-device';

export type ModbusEmulatorTransport =
  | { readonly transport: 'tcp'; readonly host?: string; readonly port?: number }
  | {
      readonly transport: 'rtu';
      readonly path: string;
      readonly baudRate?: number;
      readonly parity?: 'none' | 'even' | 'odd';
    };

export interface ModbusEmulatorOptions {
  readonly profile?: ModbusProfile;
  /** Unit ids answering on this server or line (several units share one RS-485 line). */
  readonly units?: readonly number[];
  /** Ring capacity N of every unit (default: the profile's maximum). */
  readonly capacity?: number;
  readonly clock?: ClockSource;
  readonly logger?: Logger;
}

/**
 * The RTU silence after which a partial frame is abandoned (3.5 characters is ~4 ms at 9600 baud;
 * docs/protocols/modbus.md#modbus-rtu).
 */
const RTU_GAP_MS = 50;
/**
 * Modbus TCP gateway exception: the addressed unit did not respond
 * (docs/protocols/modbus.md#function-codes-used).
 */
const GATEWAY_TARGET_FAILED = 0x0b;

/**
 * Emulated Modbus terminals implementing a register-map profile, over Modbus TCP or RTU on a serial
 * path. Its own framing (wire.ts) is independent of modbus-serial's, which the driver uses.
 * modbus-serial's ServerTCP is not used: it listens on `options.port || 502`, so port 0 becomes 502.
 */
export class ModbusEmulator {
  private readonly units = new Map<number, EmulatedDevice>();
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  private serial: SerialPortLike | null = null;
  private gapTimer: NodeJS.Timeout | null = null;
  private boundPort = 0;
  /** Frames dropped for a bad CRC or an unknown function (RTU). */
  badFrames = 0;

  constructor(
    private readonly transport: ModbusEmulatorTransport,
    private readonly options: ModbusEmulatorOptions = {},
  ) {}

  get profile(): ModbusProfile {
    return this.options.profile ?? builtInProfile('event-ring-v1');
  }

  /** The TCP address once started (port 0 resolved to the bound port). */
  address(): { host: string; port: number } {
    if (this.transport.transport !== 'tcp' || !this.server)
      throw new Error('the emulator is not listening on TCP');
    return { host: this.transport.host ?? '127.0.0.1', port: this.boundPort };
  }

  /** One unit's device, to add events, set its clock or arm faults. */
  unit(unitId = this.firstUnitId()): EmulatedDevice {
    const device = this.units.get(unitId);
    if (!device) throw new Error(`no emulated unit ${unitId} (units: ${[...this.units.keys()].join(', ')})`);
    return device;
  }

  addEvent(event: EmulatedEvent, unitId?: number) {
    return this.unit(unitId).addEvent(event);
  }

  async start(): Promise<void> {
    const profile = this.profile;
    const clock = this.options.clock ?? systemClock;
    const capacity = this.options.capacity ?? profile.ring.maxCapacity;
    for (const id of this.options.units ?? [1]) {
      this.units.set(id, new EmulatedDevice(id, profile, capacity, clock));
    }
    if (this.transport.transport === 'tcp')
      await this.listenTcp(this.transport.host ?? '127.0.0.1', this.transport.port ?? 0);
    else
      await this.openRtu(
        this.transport.path,
        this.transport.baudRate ?? 9600,
        this.transport.parity ?? 'none',
      );
  }

  async stop(): Promise<void> {
    if (this.gapTimer) clearTimeout(this.gapTimer);
    const server = this.server;
    this.server = null;
    // Stop listening first: a connection accepted after the sockets were destroyed would stay open,
    // unanswered, as if the device had frozen (close() resolves only once every socket is gone).
    const closed = server ? new Promise<void>((resolve) => server.close(() => resolve())) : undefined;
    for (const socket of this.sockets) socket.destroy();
    await closed;
    const serial = this.serial;
    this.serial = null;
    if (serial?.isOpen) await new Promise<void>((resolve) => serial.close(() => resolve()));
  }

  private firstUnitId(): number {
    const first = this.units.keys().next();
    if (first.done) throw new Error('the emulator is not started');
    return first.value;
  }

  private listenTcp(host: string, port: number): Promise<void> {
    const server = createServer((socket) => this.serveSocket(socket));
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port }, () => {
        server.off('error', reject);
        server.on('error', (err) => this.options.logger?.error({ err }, 'modbus emulator server error'));
        const bound = server.address();
        this.boundPort = typeof bound === 'object' && bound ? bound.port : port;
        resolve();
      });
    });
  }

  private serveSocket(socket: Socket): void {
    if (this.server === null) {
      socket.destroy();
      return;
    }
    this.sockets.add(socket);
    const deframer = new MbapDeframer();
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    socket.on('data', (chunk) => {
      let requests: ReturnType<MbapDeframer['push']>;
      try {
        requests = deframer.push(chunk);
      } catch (err) {
        this.options.logger?.warn(
          { err: (err as Error).message },
          'modbus emulator: dropping a non-Modbus client',
        );
        socket.destroy();
        return;
      }
      for (const request of requests) {
        const device = this.units.get(request.unitId);
        const response = device
          ? device.handle(request.pdu)
          : exceptionPdu(request.pdu[0] ?? 0, GATEWAY_TARGET_FAILED);
        if (response && !socket.destroyed)
          socket.write(mbapFrame(request.transactionId, request.unitId, response));
      }
    });
  }

  private async openRtu(path: string, baudRate: number, parity: 'none' | 'even' | 'odd'): Promise<void> {
    const port = await openSerialPort({ path, baudRate, parity });
    this.serial = port;
    const deframer = new RtuRequestDeframer();
    port.on('error', (err: Error) =>
      this.options.logger?.warn({ err: err.message }, 'modbus emulator serial error'),
    );
    port.on('data', (chunk: Buffer) => {
      for (const request of deframer.push(chunk)) {
        if (!request.ok) {
          this.badFrames++;
          continue;
        }
        // Other units' requests on a shared line are not ours to answer.
        const device = this.units.get(request.unitId);
        const response = device?.handle(request.pdu);
        if (!device || !response) continue;
        const frame = rtuFrame(request.unitId, response);
        if (device.faults.badCrc > 0) {
          device.faults.badCrc--;
          frame.writeUInt16LE(crc16(frame.subarray(0, frame.length - 2)) ^ 0xffff, frame.length - 2);
        }
        port.write(frame);
      }
      if (this.gapTimer) clearTimeout(this.gapTimer);
      if (deframer.buffered > 0) this.gapTimer = setTimeout(() => deframer.clear(), RTU_GAP_MS);
    });
  }
}
