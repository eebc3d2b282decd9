import type { ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { Punch, PunchDraft } from '../../gateway/model';
import { PunchStore } from '../../gateway/query/punch-store';
import { PunchJournal } from '../../gateway/store/journal';
import { spawnCli } from '../support/cli';
import { scanJournal } from '../support/journal-scan';
import { testLogger } from '../support/logger';

const DAY_MS = 86_400_000;

export function openJournal(
  dataDir: string,
  segmentMaxBytes = 4 * 1024 * 1024,
  now = () => Date.now(),
): PunchJournal {
  return new PunchJournal({
    dir: join(dataDir, 'journal'),
    segmentMaxBytes,
    retentionDays: 90,
    clock: { now },
    logger: testLogger('journal'),
  });
}

/** `count` punches of 500 workers at 8 terminals over the `days` before `endMs`, oldest first. */
export function historyDrafts(
  start: number,
  count: number,
  total: number,
  endMs: number,
  days = 60,
): PunchDraft[] {
  const drafts: PunchDraft[] = [];
  for (let i = start; i < Math.min(total, start + count); i++) {
    const worker = i % 500;
    const atMs = endMs - days * DAY_MS + Math.floor((i / total) * days * DAY_MS);
    drafts.push({
      key: `gate-${worker % 8}|${worker + 1}|${i}`,
      terminalId: `gate-${worker % 8}`,
      pin: String(worker + 1),
      // Every 50th PIN is on no roster: unmatched punches are stored too.
      workerId: worker % 50 === 49 ? null : `w${worker}`,
      direction: Math.floor(i / 500) % 2 === 0 ? 'in' : 'out',
      method: (['fp', 'fa', 'card', 'pwd'] as const)[i % 4]!,
      atMs,
      source: 'poll',
      flags: worker % 50 === 49 ? ['unmatched'] : [],
      receivedMs: atMs + 1000,
    });
  }
  return drafts;
}

/** Appends `total` history punches to the data folder's journal. */
export async function fillJournal(dataDir: string, total: number, endMs = Date.now()): Promise<number> {
  const journal = openJournal(dataDir);
  await journal.open();
  for (let start = 0; start < total; start += 20_000)
    await journal.append(historyDrafts(start, 20_000, total, endMs));
  const last = journal.lastSeq;
  await journal.close();
  return last;
}

/** Every punch of the journal, by seq. */
export async function journalPunches(dataDir: string): Promise<Punch[]> {
  const journal = openJournal(dataDir);
  await journal.open();
  const punches: Punch[] = [];
  await scanJournal(journal, (p) => punches.push(p));
  await journal.close();
  return punches.sort((a, b) => a.seq - b.seq);
}

/** The store file holds exactly the journal's punches (all of them, each once, every field) and says so. */
export async function expectStoreMatchesJournal(dataDir: string): Promise<number> {
  const expected = await journalPunches(dataDir);
  const store = PunchStore.open(join(dataDir, 'punches.sqlite'), { create: false });
  try {
    const stored = [...store.each({})].sort((a, b) => a.seq - b.seq);
    expect(stored.length).toBe(expected.length);
    expect(store.size).toBe(expected.length);
    expect(store.highWater).toBe(expected.at(-1)?.seq ?? 0);
    for (let i = 0; i < expected.length; i++) {
      const e = expected[i]!;
      const s = stored[i]!;
      if (
        s.seq !== e.seq ||
        s.atMs !== e.atMs ||
        s.receivedMs !== e.receivedMs ||
        s.terminalId !== e.terminalId ||
        s.pin !== e.pin ||
        s.workerId !== e.workerId ||
        s.direction !== e.direction ||
        s.method !== e.method ||
        s.source !== e.source ||
        s.flags.join() !== e.flags.join()
      ) {
        expect(s).toEqual({ ...e, key: undefined });
      }
    }
    return stored.length;
  } finally {
    store.close();
  }
}

export const API_TOKEN = 'query-store-test-token-0123456789';

/** A config for `edge-gateway start` on port 0 with the given terminals and no platform. */
export async function writeConfig(dataDir: string, extra: Record<string, unknown> = {}): Promise<string> {
  const file = join(dataDir, '..', `config-${Math.random().toString(36).slice(2)}.json`);
  await writeFile(
    file,
    JSON.stringify({
      site: { name: 'query store test', timezone: 'Asia/Shanghai' },
      dataDir,
      http: { host: '127.0.0.1', port: 0, apiToken: API_TOKEN },
      log: { level: 'info' },
      ...extra,
    }),
  );
  return file;
}

/** `edge-gateway start` from source in a child process; `waitFor` resolves on the first output line matching. */
export class GatewayProcess {
  readonly child: ChildProcess;
  private output = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(configFile: string) {
    this.child = spawnCli(['start', '--config', configFile]);
    const collect = (chunk: Buffer) => {
      this.output += chunk.toString();
    };
    this.child.stdout?.on('data', collect);
    this.child.stderr?.on('data', collect);
    this.exited = new Promise((r) => this.child.on('exit', (code, signal) => r({ code, signal })));
  }

  get text(): string {
    return this.output;
  }

  async waitFor(pattern: RegExp, timeoutMs = 60_000): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const match = this.output.match(pattern);
      if (match) return match;
      if (this.child.exitCode !== null || this.child.signalCode !== null || Date.now() > deadline) {
        throw new Error(`no ${pattern} in the gateway's output:\n${this.output.slice(-3000)}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async port(): Promise<number> {
    return Number((await this.waitFor(/"http":"[^"]*:(\d+)"/))[1]);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    const { code } = await this.exited;
    expect(code, this.output.slice(-3000)).toBe(0);
  }

  async kill(): Promise<void> {
    this.child.kill('SIGKILL');
    await this.exited;
  }
}
