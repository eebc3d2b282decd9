import { createServer, type Server, type Socket } from 'node:net';
import { Aedes } from 'aedes';

/**
 * An in-process aedes broker on 127.0.0.1 for tests and lab mode. `restart` drops every
 * connection and the listener, then listens again on the same port; sessions and queued QoS 1
 * messages survive, as with a broker that persists its state.
 */
export class EmbeddedBroker {
  private broker: Aedes | undefined;
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private port = 0;
  /** Delay before the broker accepts (and so PUBACKs) each incoming publish. */
  pubackDelayMs = 0;

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  async start(): Promise<string> {
    const broker = await Aedes.createBroker({
      authorizePublish: (_client, _packet, done) => {
        if (this.pubackDelayMs > 0) setTimeout(() => done(null), this.pubackDelayMs);
        else done(null);
      },
    });
    this.broker = broker;
    await this.listen(0);
    return this.url;
  }

  /**
   * Drops all clients, calls `onDown`, stays down for `down` ms (or until the promise settles: an
   * outage of unknown length), then listens again on the same port.
   */
  async restart(down: number | Promise<unknown> = 200, onDown?: () => void): Promise<void> {
    await this.closeListener();
    onDown?.();
    if (typeof down === 'number') await new Promise((resolve) => setTimeout(resolve, down));
    else await down.catch(() => undefined);
    await this.listen(this.port);
  }

  async stop(): Promise<void> {
    await this.closeListener();
    const broker = this.broker;
    this.broker = undefined;
    if (broker) await new Promise<void>((resolve) => broker.close(() => resolve()));
  }

  private listen(port: number): Promise<void> {
    const broker = this.broker;
    if (!broker) return Promise.reject(new Error('broker not started'));
    const server = createServer((socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      // A client that vanishes mid-write must not take the process down.
      socket.on('error', () => {});
      broker.handle(socket);
    });
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        const address = server.address();
        if (address && typeof address === 'object') this.port = address.port;
        resolve();
      });
    });
  }

  private async closeListener(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
