/**
 * `seed-history` against the live path: the same small history seeded in bulk by the command, and
 * punched live into a real gateway through ZK emulators (real-time events over real sockets), gives
 * the same journal and the same roster.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ZkEmulator } from '../../adapters/zk/emulator';
import { validateConfig } from '../../config/load';
import { Gateway } from '../../gateway/controller';
import { calendar, type HistoryOptions, historyDays, planHistory } from '../../gateway/history/generator';
import type { Punch } from '../../gateway/model';
import { CursorLog } from '../../gateway/outbox/cursor-log';
import { PunchStore } from '../../gateway/query/punch-store';
import type { Worker } from '../../gateway/roster/roster';
import { parseJournalLine } from '../../gateway/store/journal-line';
import { decodeRecord } from '../../gateway/store/reconciler-records';
import { idNumberCheckCharacter, idNumberProblem } from '../../lib/id-number';
import { runCli } from '../support/cli';
import { testLogger } from '../support/logger';
import { tempDir } from '../support/tmp';

const HISTORY: HistoryOptions = {
  workers: 20,
  days: 10,
  perDay: 32,
  seed: 7,
  endDay: '2024-03-15',
  timezone: 'Asia/Shanghai',
  terminals: 4,
};
/** Small segments, so both journals rotate many times and the rotation points can be compared too. */
const SEGMENT_BYTES = 4096;

function seedArgs(dataDir: string, options: HistoryOptions = HISTORY): string[] {
  return [
    'seed-history',
    '--data-dir',
    dataDir,
    '--workers',
    String(options.workers),
    '--days',
    String(options.days),
    '--per-day',
    String(options.perDay),
    '--seed',
    String(options.seed),
    '--end',
    options.endDay,
    '--timezone',
    options.timezone,
    '--terminals',
    String(options.terminals),
    '--segment-max-bytes',
    String(SEGMENT_BYTES),
  ];
}

interface JournalFile {
  readonly name: string;
  readonly mtimeMs: number;
  readonly punches: Punch[];
}

async function readJournal(dataDir: string): Promise<JournalFile[]> {
  const dir = join(dataDir, 'journal');
  const names = (await readdir(dir)).filter((n) => n.endsWith('.jsonl')).sort();
  const files: JournalFile[] = [];
  for (const name of names) {
    const text = await readFile(join(dir, name), 'utf8');
    const punches = text
      .split('\n')
      .filter((line) => line.length > 0)
      .map((line) => {
        const punch = parseJournalLine(line);
        if (!punch) throw new Error(`${name}: not a punch: ${line}`);
        return punch;
      });
    files.push({ name, mtimeMs: (await stat(join(dir, name))).mtimeMs, punches });
  }
  return files;
}

/** What the live path and the seeder must agree on; the arrival time is the machine's, not the history's. */
function comparable<T extends { readonly receivedMs: number }>(punch: T) {
  const { receivedMs: _received, ...rest } = punch;
  return rest;
}

async function readRoster(dataDir: string): Promise<Worker[]> {
  const document = JSON.parse(await readFile(join(dataDir, 'roster.json'), 'utf8')) as {
    workers: Record<string, Worker>;
  };
  return Object.values(document.workers).sort((a, b) => Number(a.pin) - Number(b.pin));
}

/** The roster as its workers are, without the times at which the changes were applied. */
function rosterFacts(worker: Worker) {
  const { updatedMs: _updated, removal, ...rest } = worker;
  return { ...rest, removal: removal ? { reason: removal.reason, source: removal.source } : undefined };
}

async function until(done: () => boolean, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('seed-history', () => {
  it('writes the journal and roster a live gateway writes when the same punches reach it in real time', async () => {
    const tmp = await tempDir('edge-gw-seed-');
    cleanups.push(tmp.cleanup);
    const seededDir = join(tmp.dir, 'seeded');
    const seeded = await runCli(seedArgs(seededDir), { timeoutMs: 60_000 });
    expect(seeded.stderr).not.toMatch(/error/i);
    expect(seeded.code).toBe(0);
    const report = JSON.parse(seeded.stdout) as { punches: number; lastSeq: number; configFile: string };
    expect(report.configFile).toBe(join(tmp.dir, 'seeded.config.json'));

    // The live path: the seeded box's own configuration, its terminals on emulators, an empty data folder.
    const plan = planHistory(HISTORY);
    const emulators = plan.terminals.map(
      () => new ZkEmulator({ users: 0, records: 0, timeZone: HISTORY.timezone, encoding: 'gb18030' }),
    );
    const ports = await Promise.all(emulators.map((e) => e.start()));
    cleanups.push(async () => {
      for (const e of emulators) await e.stop();
    });
    const document = JSON.parse(await readFile(report.configFile, 'utf8')) as {
      dataDir: string;
      terminals: Array<{ id: string; port: number }>;
    };
    expect(document.dataDir).toBe(seededDir);
    const liveDir = join(tmp.dir, 'live');
    const live = structuredClone(document);
    live.dataDir = liveDir;
    live.terminals.forEach((t, i) => {
      t.port = ports[i]!;
    });
    const checked = validateConfig(live);
    if (!checked.ok) throw new Error(checked.problems.join('\n'));
    const gateway = new Gateway(checked.config, testLogger('live'), { httpPort: 0 });
    cleanups.push(() => gateway.stop());
    await gateway.start();
    await gateway.workers.apply(plan.workers.map((w) => w.change));
    const terminalIndex = new Map(plan.terminals.map((t, i) => [t.id, i]));
    await until(
      () => gateway.terminals.every((t) => t.status().online && t.status().lastCatchUpAt !== undefined),
      'terminals online',
    );
    await until(
      () => plan.terminals.every((t) => gateway.reconciler(t.id)?.status().inSync === true),
      'terminals holding the roster',
    );

    // Each punch as its terminal's real-time event, in the history's order, one at a time.
    let expected = 0;
    const pinOf = (id: string) => gateway.workers.get(id)!.pin;
    for (const day of historyDays(plan, pinOf)) {
      for (const punch of day.punches) {
        const { raw } = punch;
        emulators[terminalIndex.get(raw.terminalId)!]!.addPunch({
          pin: raw.pin,
          time: raw.time.wall,
          verify: raw.verifyCode,
          state: raw.state,
        });
        expected++;
        await until(() => gateway.punchJournal.lastSeq >= expected, `punch ${expected} journaled`);
      }
    }
    await gateway.workers.apply(plan.removals);
    await until(
      () => plan.terminals.every((t) => gateway.reconciler(t.id)?.status().inSync === true),
      'removals on the terminals',
    );
    await gateway.stop();

    const seededJournal = await readJournal(seededDir);
    const liveJournal = await readJournal(liveDir);
    const seededPunches = seededJournal.flatMap((f) => f.punches);
    const livePunches = liveJournal.flatMap((f) => f.punches);
    expect(seededPunches.length).toBe(report.punches);
    expect(livePunches.length).toBe(expected);
    expect(seededPunches.map(comparable)).toEqual(livePunches.map(comparable));
    // Segments rotate where a live box rotates them.
    expect(seededJournal.length).toBeGreaterThan(5);
    expect(seededJournal.map((f) => f.name)).toEqual(liveJournal.map((f) => f.name));
    // A realistic history, not a uniform one: forgotten exits, unknown PINs, a terminal's own verify code.
    expect(seededPunches.some((p) => p.flags.includes('unmatched'))).toBe(true);
    expect(new Set(seededPunches.map((p) => p.method)).size).toBeGreaterThanOrEqual(2);
    expect(new Set(seededPunches.map((p) => p.terminalId)).size).toBe(4);

    // Each segment was last written when its last punch arrived, as a live box would have left it.
    for (const file of seededJournal) {
      expect(Math.floor(file.mtimeMs / 1000)).toBe(Math.floor(file.punches.at(-1)!.receivedMs / 1000));
    }

    const seededRoster = await readRoster(seededDir);
    const liveRoster = await readRoster(liveDir);
    expect(seededRoster.map(rosterFacts)).toEqual(liveRoster.map(rosterFacts));
    expect(seededRoster.map((w) => w.pin)).toEqual(seededRoster.map((_, i) => String(i + 1)));

    // The query store the seeder rebuilt holds what the live box's store was fed, punch for punch.
    const seededStore = PunchStore.open(join(seededDir, 'punches.sqlite'), { create: false });
    const liveStore = PunchStore.open(join(liveDir, 'punches.sqlite'), { create: false });
    cleanups.push(async () => {
      seededStore.close();
      liveStore.close();
    });
    expect(seededStore.highWater).toBe(report.lastSeq);
    expect(liveStore.highWater).toBe(report.lastSeq);
    const rows = (store: PunchStore) => store.query({}, 1, 100_000).rows.map(comparable);
    expect(rows(seededStore)).toEqual(rows(liveStore));
    expect(seededStore.onSite(0).sort()).toEqual(liveStore.onSite(0).sort());
    for (const worker of seededRoster.slice(0, 5)) {
      const idNumber = worker.identities.idCardNo!;
      expect(seededStore.searchWorkers(idNumber)).toEqual([worker.id]);
      expect(liveStore.searchWorkers(idNumber)).toEqual([worker.id]);
    }

    // Everything already delivered: both outbox cursors at the journal's end, read through the cursor log.
    const cursors = new CursorLog({ dir: seededDir, logger: testLogger() });
    await cursors.open();
    expect(cursors.slot('outbox.sichuan').get()).toBe(report.lastSeq);
    expect(cursors.slot('outbox.deli').get()).toBe(report.lastSeq);
    await cursors.close();

    // Each terminal's record of what it holds is its own file (never state.json): every active worker.
    const active = seededRoster.filter((w) => w.status === 'active').map((w) => w.pin);
    for (const t of plan.terminals) {
      const record = decodeRecord(
        t.id,
        await readFile(join(seededDir, 'reconciler', `${t.id}.applied`), 'utf8'),
      );
      expect([...record.pins()].sort()).toEqual([...active].sort());
    }
    expect(JSON.parse(await readFile(join(seededDir, 'state.json'), 'utf8'))).toEqual({});

    // The seeded box starts on its own configuration and finds its terminals already holding the
    // roster. Their logs are empty: the history's records were read long ago (the seeder writes no
    // terminal cursors, which only mean something for the log they were read from).
    for (const e of emulators) e.clearLog();
    const restart = structuredClone(document);
    restart.terminals.forEach((t, i) => {
      t.port = ports[i]!;
    });
    const again = validateConfig(restart);
    if (!again.ok) throw new Error(again.problems.join('\n'));
    const box = new Gateway(again.config, testLogger('seeded'), { httpPort: 0 });
    cleanups.push(() => box.stop());
    await box.start();
    expect(box.punchJournal.lastSeq).toBe(report.lastSeq);
    await until(
      () => plan.terminals.every((t) => box.reconciler(t.id)?.status().lastSyncedAt !== undefined),
      'the seeded box reconciled',
    );
    for (const t of plan.terminals) {
      expect(box.reconciler(t.id)!.status()).toMatchObject({ inSync: true, stepsDone: 0 });
    }
    await box.stop();
  }, 120_000);

  it('gives every worker a valid GB 11643 ID number whose sequence digit matches their gender', async () => {
    // GB 11643-1999's own worked example: 11010519491231002X.
    expect(idNumberCheckCharacter('11010519491231002')).toBe('X');
    const plan = planHistory({ ...HISTORY, workers: 500 });
    const numbers = plan.workers.map((w) => w.change.identity.idCardNo!);
    expect(new Set(numbers).size).toBe(500);
    for (const worker of plan.workers) {
      const id = worker.change.identity.idCardNo!;
      expect(idNumberProblem(id, new Date('2024-03-16T00:00:00Z'))).toBeUndefined();
      expect(Number(id[16]) % 2 === 1).toBe(worker.change.gender === 'male');
    }
    expect(new Set(plan.workers.map((w) => w.change.name)).size).toBeGreaterThan(400);
  });

  it('keeps the site closed over the Spring Festival, quieter on Sundays, and is the same history every time', () => {
    const options: HistoryOptions = { ...HISTORY, workers: 300, days: 70, perDay: 500, endDay: '2024-03-20' };
    const plan = planHistory(options);
    const perDay = new Map<string, number>();
    let nightExits = 0;
    for (const day of historyDays(plan, (id) => id)) {
      perDay.set(day.day, day.punches.length);
      for (const p of day.punches) {
        const hour = Number(p.raw.time.wall.slice(11, 13));
        if (p.raw.state === 1 && hour < 8) nightExits++;
      }
    }
    // 2024's festival fell on 10 February: closed from the 3rd to the 20th.
    expect(perDay.get('2024-02-05')).toBe(0);
    expect(perDay.get('2024-02-19')).toBe(0);
    expect(perDay.get('2024-01-31')).toBeGreaterThan(0);
    const open = calendar(options.endDay, options.days).filter((d) => (perDay.get(d) ?? 0) > 0);
    const sundays = open.filter((d) => new Date(`${d}T00:00:00Z`).getUTCDay() === 0);
    const weekdays = open.filter((d) => ![0, 6].includes(new Date(`${d}T00:00:00Z`).getUTCDay()));
    const mean = (days: string[]) => days.reduce((sum, d) => sum + perDay.get(d)!, 0) / days.length;
    expect(mean(sundays)).toBeLessThan(mean(weekdays) * 0.8);
    // The mean over the calendar is what was asked for.
    const total = [...perDay.values()].reduce((a, b) => a + b, 0);
    expect(total / options.days).toBeGreaterThan(options.perDay * 0.85);
    expect(total / options.days).toBeLessThan(options.perDay * 1.1);
    expect(nightExits).toBeGreaterThan(0);

    const again = [...historyDays(planHistory(options), (id) => id)].flatMap((d) => d.punches);
    const first = [...historyDays(plan, (id) => id)].flatMap((d) => d.punches);
    expect(again).toEqual(first);
  });

  it('refuses options that cannot work, naming the option, with exit code 2', async () => {
    const tmp = await tempDir('edge-gw-seed-args-');
    cleanups.push(tmp.cleanup);
    const dir = join(tmp.dir, 'd');
    const cases: Array<[string[], RegExp]> = [
      [['--workers', 'many'], /--workers: a whole number from 1 to 100000, not "many"/],
      [['--workers', '20', '--per-day', '100'], /--per-day: at most 40 for 20 workers/],
      [['--terminals', '3'], /--terminals: an even number/],
      [['--end', '2024-02-30'], /--end: not a date/],
      [['--timezone', 'Mars/Olympus'], /--timezone: not an IANA time zone/],
      [['--bogus', '1'], /Unknown option '--bogus'/],
    ];
    for (const [args, message] of cases) {
      const result = await runCli(['seed-history', '--data-dir', dir, ...args]);
      expect(result.stderr).toMatch(message);
      expect(result.code).toBe(2);
    }
    const missing = await runCli(['seed-history']);
    expect(missing.stderr).toMatch(/--data-dir: required/);
    expect(missing.code).toBe(2);

    // A folder that holds a gateway's data is never written over.
    const first = await runCli(['seed-history', '--data-dir', dir, '--workers', '5', '--days', '2']);
    expect(first.code).toBe(0);
    const journalBefore = await readJournal(dir);
    const again = await runCli([
      'seed-history',
      '--data-dir',
      dir,
      '--workers',
      '5',
      '--days',
      '2',
      '--config',
      join(tmp.dir, 'other.json'),
    ]);
    expect(again.stderr).toMatch(/--data-dir: .* already holds a gateway's data/);
    expect(again.code).toBe(2);
    expect(await readJournal(dir)).toEqual(journalBefore);
  }, 120_000);
});
