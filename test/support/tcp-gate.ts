import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP forwarder in front of a platform emulator that a test can cut: while closed, every
 * connection is reset at once (as a platform that is down, or a cut uplink), and open ones drop.
 * The gate keeps its port for the whole test, so nothing else can take it during an outage.
 */
export class TcpGate {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private passing = true;
  port = 0;

  constructor(private readonly targetPort: number) {}

  async start(): Promise<number> {
    const server = createServer((client) => {
      if (!this.passing) {
        client.resetAndDestroy();
        return;
      }
      const upstream = connect(this.targetPort, '127.0.0.1');
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on('close', () => this.sockets.delete(socket));
        socket.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    this.server = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    this.port = (server.address() as { port: number }).port;
    return this.port;
  }

  /** The platform goes away: open connections drop, new ones are refused. */
  cut(): void {
    this.passing = false;
    for (const socket of this.sockets) socket.destroy();
  }

  restore(): void {
    this.passing = true;
  }

  async stop(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
