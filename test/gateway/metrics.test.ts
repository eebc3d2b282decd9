/**
 * /metrics over real HTTP: every configured terminal is in `edge_gateway_terminal_online` from the
 * first scrape, including one that has never connected (its port is closed) and a disabled one.
 */
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZkEmulator } from '../../adapters/zk/emulator';
import { validateConfig } from '../../config/load';
import type { TerminalConfig } from '../../config/schema';
import { Gateway } from '../../gateway/controller';
import { waitFor } from '../support/lab-process';
import { testLogger } from '../support/logger';
import { tempDir } from '../support/tmp';

/** A port nothing listens on: bound by the OS, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

let dir: string;
let cleanup: () => Promise<void>;
let zk: ZkEmulator;
let gateway: Gateway;
let deadPort: number;

function zkTerminal(id: string, port: number, extra: Record<string, unknown> = {}) {
  return {
    id,
    driver: 'zk',
    direction: 'in',
    host: '127.0.0.1',
    port,
    transport: 'tcp',
    timeoutMs: 500,
    ...extra,
  };
}

function terminalsOf(document: unknown): TerminalConfig[] {
  const result = validateConfig(document);
  if (!result.ok) throw new Error(result.problems.join('\n'));
  return [...result.config.terminals];
}

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('metrics-'));
  zk = new ZkEmulator({ users: 1, records: 0 });
  await zk.start();
  deadPort = await closedPort();
  const result = validateConfig({
    site: { name: 'metrics' },
    dataDir: dir,
    http: { host: '127.0.0.1', port: 0 },
    terminals: [
      zkTerminal('never-connected', deadPort),
      zkTerminal('switched-off', deadPort, { enabled: false }),
      zkTerminal('live', zk.port),
    ],
  });
  if (!result.ok) throw new Error(result.problems.join('\n'));
  gateway = new Gateway(result.config, testLogger());
  await gateway.start();
});

afterAll(async () => {
  await gateway?.stop();
  await zk?.stop();
  await cleanup();
});

async function scrape(): Promise<Map<string, number>> {
  const response = await fetch(`http://127.0.0.1:${gateway.httpPort}/metrics`);
  expect(response.status).toBe(200);
  const text = await response.text();
  const online = new Map<string, number>();
  for (const match of text.matchAll(/^edge_gateway_terminal_online\{terminal="([^"]+)"\} (\S+)$/gm)) {
    online.set(match[1]!, Number(match[2]));
  }
  return online;
}

describe('/metrics terminal_online', () => {
  it('lists every configured terminal at 0 from the first scrape, then 1 once one connects', async () => {
    const first = await scrape();
    expect(first.get('never-connected')).toBe(0);
    expect(first.get('switched-off')).toBe(0);
    expect(first.has('live')).toBe(true);
    await waitFor(async () => ((await scrape()).get('live') === 1 ? true : undefined), 10_000, 'live online');
    // The closed port was tried (and failed) meanwhile: still listed, still 0.
    await waitFor(
      async () =>
        (gateway.terminal('never-connected')?.status().consecutiveFailures ?? 0) > 0 ? true : undefined,
      10_000,
      'a failed connect to the closed port',
    );
    const later = await scrape();
    expect(later.get('never-connected')).toBe(0);
    expect(later.get('switched-off')).toBe(0);
  });

  it('follows terminal edits: a removed terminal leaves, an added one shows 0 at once', async () => {
    await gateway.reloadTerminals(
      terminalsOf({
        site: { name: 'metrics' },
        terminals: [zkTerminal('live', zk.port), zkTerminal('added-later', deadPort)],
      }),
    );
    const after = await scrape();
    expect(after.has('never-connected')).toBe(false);
    expect(after.has('switched-off')).toBe(false);
    expect(after.get('added-later')).toBe(0);
    expect(after.get('live')).toBe(1);
  });
});
