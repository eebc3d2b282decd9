/**
 * A bug that escapes every part ends the process (exit 70) after the journal's pending appends are
 * flushed; systemd's Restart=on-failure starts it again. Run as real processes (the CLI from source
 * through tsx), crashed through the test-only hook in gateway/main.ts (EDGE_GATEWAY_TEST_CRASH with
 * NODE_ENV=test, fired by SIGUSR2 once the test has seen punches journaled).
 */
import type { ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZkEmulator } from '../../adapters/zk/emulator';
import { EXIT_CRASH } from '../../gateway/run';
import { parseJournalLine } from '../../gateway/store/journal-line';
import { spawnCli } from '../support/cli';
import { HEALTH_HEADERS, HEALTH_TOKEN } from '../support/health';
import { startLab, waitFor } from '../support/lab-process';
import { tempDir } from '../support/tmp';

const RECORDS = 300;
const CRASH_ENV = (kind: 'exception' | 'rejection') => ({ NODE_ENV: 'test', EDGE_GATEWAY_TEST_CRASH: kind });

interface Health {
  journal: { lastSeq: number; corruptLines: number };
}

/** A child process of the CLI with everything it printed and its exit. */
class Watched {
  private text = '';
  readonly exited: Promise<number | null>;

  constructor(readonly child: ChildProcess) {
    const collect = (chunk: Buffer) => {
      this.text += chunk.toString();
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    this.exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  }

  get output(): string {
    return this.text;
  }

  /** The JSON log lines (pino) printed so far. */
  logLines(): Array<{ level: number; msg: string; error?: string; journalLastSeq?: number }> {
    return this.text
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line));
  }

  async baseUrl(): Promise<string> {
    const address = await waitFor(
      async () => /"http":"([\d.]+:\d+)".*"msg":"gateway started"/.exec(this.text)?.[1],
      30_000,
      `"gateway started" in:\n${this.text}`,
    );
    return `http://${address}`;
  }

  async exitCode(timeoutMs = 20_000): Promise<number | null> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(new Error(`the process did not exit within ${timeoutMs} ms:\n${this.text.slice(-3000)}`)),
        timeoutMs,
      );
    });
    try {
      return await Promise.race([this.exited, late]);
    } finally {
      clearTimeout(timer);
    }
  }
}

async function journalLastSeq(baseUrl: string): Promise<number> {
  const response = await fetch(`${baseUrl}/healthz`, { headers: HEALTH_HEADERS });
  return ((await response.json()) as Health).journal.lastSeq;
}

/** Every line of every segment, parsed; throws on a line that is not a whole punch. */
function journalOnDisk(dataDir: string): number[] {
  const dir = join(dataDir, 'journal');
  const seqs: number[] = [];
  for (const name of readdirSync(dir)
    .filter((n) => n.endsWith('.jsonl'))
    .sort()) {
    const text = readFileSync(join(dir, name), 'utf8');
    if (text.length > 0) expect(text.endsWith('\n'), `${name} ends with a whole line`).toBe(true);
    for (const line of text.split('\n').filter((l) => l.length > 0)) {
      const punch = parseJournalLine(line);
      expect(punch, `a journal line that is not a punch: ${line}`).not.toBeNull();
      seqs.push(punch!.seq);
    }
  }
  return seqs;
}

describe('a bug that escapes every part ends the process', () => {
  let zk: ZkEmulator;
  let work: { dir: string; cleanup: () => Promise<void> };
  let configFile: string;
  let dataDir: string;
  const running: ChildProcess[] = [];

  beforeAll(async () => {
    work = await tempDir('uncaught-');
    dataDir = join(work.dir, 'data');
    zk = new ZkEmulator({ users: 5, records: RECORDS, timeZone: 'Asia/Shanghai' });
    await zk.start();
    configFile = join(work.dir, 'config.json');
    writeFileSync(
      configFile,
      JSON.stringify({
        site: { name: 'uncaught', timezone: 'Asia/Shanghai' },
        dataDir,
        http: { host: '127.0.0.1', port: 0, metricsToken: HEALTH_TOKEN },
        terminals: [
          {
            id: 'zk',
            driver: 'zk',
            direction: 'in',
            host: '127.0.0.1',
            port: zk.port,
            transport: 'tcp',
            pollSeconds: 1,
          },
        ],
      }),
    );
  });

  afterAll(async () => {
    for (const child of running)
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await zk?.stop();
    await work?.cleanup();
  });

  it('an uncaught exception: logged by name, journal flushed, exit 70, and every journaled punch is there on restart', async () => {
    const gateway = new Watched(spawnCli(['start', '--config', configFile], { env: CRASH_ENV('exception') }));
    running.push(gateway.child);
    const baseUrl = await gateway.baseUrl();
    const seen = await waitFor(
      async () => {
        const lastSeq = await journalLastSeq(baseUrl);
        return lastSeq >= RECORDS ? lastSeq : undefined;
      },
      30_000,
      `${RECORDS} punches journaled`,
    );
    // One more punch from the terminal's real-time path, so an append may be in flight at the crash.
    zk.addPunch({ pin: '1', verify: 1, state: 0 });
    gateway.child.kill('SIGUSR2');

    expect(await gateway.exitCode()).toBe(EXIT_CRASH);
    const lines = gateway.logLines();
    const fatal = lines.find((l) => l.msg.startsWith('uncaught exception: '));
    expect(fatal?.msg).toMatch(
      /^uncaught exception: test crash \(EDGE_GATEWAY_TEST_CRASH=exception\); flushing the journal and exiting \(the installed service \(systemd, Restart=on-failure\) starts it again\)$/,
    );
    expect(fatal?.level).toBe(50);
    expect(fatal?.error).toMatch(/^Error: test crash[^\n]*\n\s+at /);
    expect(lines.some((l) => l.msg === `journal flushed; exiting with ${EXIT_CRASH}`)).toBe(true);
    expect(lines.some((l) => /kept running/.test(l.msg))).toBe(false);

    const seqs = journalOnDisk(dataDir);
    expect(seqs.length).toBeGreaterThanOrEqual(seen);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));

    // Started again (as systemd would), it opens the same journal whole and carries on.
    const again = new Watched(spawnCli(['start', '--config', configFile]));
    running.push(again.child);
    const againUrl = await again.baseUrl();
    const started = again.logLines().find((l) => l.msg === 'gateway started');
    expect(started?.journalLastSeq).toBe(seqs.length);
    const health = (await (await fetch(`${againUrl}/healthz`, { headers: HEALTH_HEADERS })).json()) as Health;
    expect(health.journal.corruptLines).toBe(0);
    expect(again.output).not.toMatch(/torn last line/);
    again.child.kill('SIGTERM');
    expect(await again.exitCode()).toBe(0);
  });

  it('an unhandled rejection in lab mode: the same exit, and the message says nothing restarts it', async () => {
    const labDir = join(work.dir, 'lab');
    const lab = await startLab(labDir, ['--punch-every', '0.5'], CRASH_ENV('rejection'));
    const watched = new Watched(lab.child);
    running.push(lab.child);
    const seen = await waitFor(
      async () => {
        const lastSeq = await journalLastSeq(lab.baseUrl);
        return lastSeq > 0 ? lastSeq : undefined;
      },
      30_000,
      'lab punches journaled',
    );
    lab.child.kill('SIGUSR2');

    expect(await watched.exitCode()).toBe(EXIT_CRASH);
    // startLab has read the start of the output; the rest is in lab.output() as well.
    const output = lab.output();
    expect(output).toMatch(
      /"msg":"unhandled rejection: test crash \(EDGE_GATEWAY_TEST_CRASH=rejection\); flushing the journal and exiting \(lab mode: nothing restarts it, run `npm start` again\)"/,
    );
    expect(output).toMatch(/"msg":"journal flushed; exiting with 70"/);
    const seqs = journalOnDisk(labDir);
    expect(seqs.length).toBeGreaterThanOrEqual(seen);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
  });
});
