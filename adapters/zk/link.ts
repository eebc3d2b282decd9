import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { type Socket, connect as tcpConnect } from 'node:net';
import { TcpDeframer } from './deframer';
import { frameTcp } from './packet';

export type ZkTransport = 'tcp' | 'udp';

export interface LinkHandlers {
  /** One packet body (header + data), however the bytes were cut on the wire. */
  onBody(body: Buffer): void;
  /** The link ended on its own (not after `close()`). */
  onClose(reason: Error): void;
}

/** A byte pipe to one terminal that carries whole packet bodies. */
export interface ZkLink {
  readonly transport: ZkTransport;
  send(body: Buffer): void;
  close(): Promise<void>;
  /** Bytes the deframer skipped to resynchronise (TCP only). */
  skippedBytes(): number;
}

export function openTcpLink(
  host: string,
  port: number,
  timeoutMs: number,
  handlers: LinkHandlers,
): Promise<ZkLink> {
  return new Promise((resolve, reject) => {
    const socket: Socket = tcpConnect({ host, port });
    const deframer = new TcpDeframer();
    let open = false;
    let closing = false;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(
        Object.assign(new Error(`TCP connect to ${host}:${port} timed out after ${timeoutMs} ms`), {
          code: 'ETIMEDOUT',
        }),
      );
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      open = true;
      socket.setNoDelay(true);
      socket.setKeepAlive(true, 10_000);
      resolve({
        transport: 'tcp',
        send: (body) => {
          if (!socket.destroyed) socket.write(frameTcp(body));
        },
        close: () =>
          new Promise<void>((done) => {
            closing = true;
            if (socket.destroyed) return done();
            socket.once('close', () => done());
            socket.destroy();
          }),
        skippedBytes: () => deframer.skippedBytes,
      });
    });
    socket.on('data', (chunk: Buffer) => {
      for (const body of deframer.push(chunk)) handlers.onBody(body);
    });
    let lastError: Error | null = null;
    socket.on('error', (err) => {
      lastError = err;
      if (!open) {
        clearTimeout(timer);
        reject(err);
      }
    });
    socket.on('close', () => {
      if (open && !closing) handlers.onClose(lastError ?? new Error('terminal closed the TCP connection'));
    });
  });
}

/** UDP: each datagram is one body; the socket is connected so only this terminal's datagrams arrive. */
export function openUdpLink(host: string, port: number, handlers: LinkHandlers): Promise<ZkLink> {
  return new Promise((resolve, reject) => {
    const socket: UdpSocket = createSocket('udp4');
    let open = false;
    let closing = false;
    socket.on('message', (msg) => handlers.onBody(msg));
    socket.on('error', (err) => {
      if (!open) reject(err);
      else if (!closing) {
        closing = true;
        socket.close();
        handlers.onClose(err);
      }
    });
    socket.connect(port, host, () => {
      open = true;
      resolve({
        transport: 'udp',
        send: (body) => {
          if (!closing) socket.send(body);
        },
        close: () =>
          new Promise<void>((done) => {
            if (closing) return done();
            closing = true;
            socket.close(() => done());
          }),
        skippedBytes: () => 0,
      });
    });
  });
}
