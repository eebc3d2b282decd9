import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import type { Logger, Punch } from '../../gateway/model';
import type { PunchJournal } from '../../gateway/store/journal';
import { JournalReader } from '../../gateway/store/journal-reader';

export interface LogRecord {
  readonly level: number;
  readonly msg: string;
  readonly [key: string]: unknown;
}

/** A real pino logger whose lines are kept, so a test can check that something was logged. */
export function capturingLogger(): { logger: Logger; records: LogRecord[] } {
  const records: LogRecord[] = [];
  const logger = pino(
    { level: 'debug' },
    {
      write(line: string) {
        records.push(JSON.parse(line) as LogRecord);
      },
    },
  );
  return { logger, records };
}

export async function journaled(journal: PunchJournal): Promise<Punch[]> {
  return new JournalReader(journal, 0).peek(100_000);
}

export async function eventually<T>(
  probe: () => T | undefined | Promise<T | undefined>,
  what: string,
  timeoutMs = 5000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * A real HTTP hop in front of the ADMS server that answers 500 to the first `failures` ATTLOG
 * uploads and forwards everything else: a server having a bad moment, as the device sees it.
 */
export async function flakyProxy(
  target: number,
  failures: number,
): Promise<{ url: string; failed: () => number; close: () => Promise<void> }> {
  let failed = 0;
  const server: Server = createServer((req, res) => {
    if (req.method === 'POST' && req.url?.includes('table=ATTLOG') && failed < failures) {
      failed++;
      req.resume();
      res.writeHead(500, { 'Content-Type': 'text/plain' }).end('Internal Server Error');
      return;
    }
    const upstream = httpRequest(
      { host: '127.0.0.1', port: target, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.writeHead(502).end());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    failed: () => failed,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
