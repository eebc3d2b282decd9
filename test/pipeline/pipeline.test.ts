import fc from 'fast-check';
import { DateTime } from 'luxon';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EventBus } from '../../gateway/events';
import { GatewayMetrics } from '../../gateway/metrics';
import type { Punch, RawPunch } from '../../gateway/model';
import { DedupIndex } from '../../gateway/pipeline/dedup-index';
import { type PinResolver, type PipelineTerminal, PunchPipeline } from '../../gateway/pipeline/pipeline';
import { PunchJournal } from '../../gateway/store/journal';
import { utcMsToWall, wallTimeToUtcMs } from '../../lib/wall-clock';
import { testLogger } from '../support/logger';
import { tempDir } from '../support/tmp';

const terminals = new Map<string, PipelineTerminal>([
  ['gate-in', { id: 'gate-in', kind: 'zk', direction: 'in', timezone: 'Asia/Shanghai' }],
  ['gate-state', { id: 'gate-state', kind: 'zk', direction: 'state', timezone: 'Asia/Shanghai' }],
  // A terminal whose clock was set to another zone than the site's.
  ['berlin', { id: 'berlin', kind: 'adms', direction: 'out', timezone: 'Europe/Berlin' }],
  ['turnstile', { id: 'turnstile', kind: 'modbus', direction: 'in', timezone: 'Asia/Shanghai' }],
]);

const workers: PinResolver = {
  resolve: (_terminal, pin) =>
    pin === '1'
      ? { workerId: 'w-zhang', removed: false }
      : pin === '2'
        ? { workerId: 'w-li', removed: true }
        : undefined,
};

let dir: string;
let cleanup: () => Promise<void>;
let savedTz: string | undefined;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir('pipeline-'));
  // The process runs in a zone unlike any terminal's, as a box set to UTC or anything else might.
  savedTz = process.env.TZ;
  process.env.TZ = 'America/Los_Angeles';
});
afterEach(async () => {
  process.env.TZ = savedTz;
  await cleanup();
});

async function build() {
  const journal = new PunchJournal({
    dir,
    segmentMaxBytes: 1 << 20,
    retentionDays: 90,
    clock: { now: () => Date.now() },
    logger: testLogger(),
  });
  await journal.open();
  const dedup = new DedupIndex(31, () => Date.UTC(2026, 10, 22));
  await dedup.load(journal);
  const bus = new EventBus();
  const seen: Punch[] = [];
  bus.on('punches.journaled', (punches) => seen.push(...punches));
  const pipeline = new PunchPipeline({
    journal,
    dedup,
    terminals,
    workers,
    bus,
    clock: { now: () => Date.now() },
    logger: testLogger(),
    metrics: new GatewayMetrics(),
  });
  return { journal, pipeline, seen };
}

function raw(overrides: Partial<RawPunch>): RawPunch {
  return {
    terminalId: 'gate-in',
    pin: '1',
    time: { wall: '2026-11-20T08:30:15' },
    verifyCode: 1,
    source: 'poll',
    ...overrides,
  };
}

describe('wall time', () => {
  it('reads a terminal wall time in the terminal zone, never the process zone', () => {
    expect(wallTimeToUtcMs('2026-11-20T08:30:15', 'Asia/Shanghai')).toBe(Date.UTC(2026, 10, 20, 0, 30, 15));
    expect(wallTimeToUtcMs('2026-07-01T12:00:00', 'Europe/Berlin')).toBe(Date.UTC(2026, 6, 1, 10, 0, 0));
    expect(utcMsToWall(Date.UTC(2026, 10, 20, 0, 30, 15), 'Asia/Shanghai')).toBe('2026-11-20T08:30:15');
    expect(() => wallTimeToUtcMs('2026-13-40T25:00:00', 'Asia/Shanghai')).toThrow(/impossible wall time/);
    expect(() => wallTimeToUtcMs('yesterday', 'Asia/Shanghai')).toThrow(/not a wall time/);
  });
});

describe('wall time fast path', () => {
  it('agrees with luxon everywhere, daylight-saving changes included', () => {
    const zones = ['Asia/Shanghai', 'Europe/Berlin', 'America/New_York', 'Australia/Lord_Howe', 'UTC'];
    fc.assert(
      fc.property(
        fc.constantFrom(...zones),
        fc.date({
          min: new Date('2000-01-01T00:00:00Z'),
          max: new Date('2099-12-31T23:59:59Z'),
          noInvalidDate: true,
        }),
        (zone, date) => {
          const wall = date.toISOString().slice(0, 19);
          expect(wallTimeToUtcMs(wall, zone)).toBe(DateTime.fromISO(wall, { zone }).toMillis());
        },
      ),
      { numRuns: 2000, seed: 7 },
    );
    // The hour that exists twice in Berlin (end of summer time) and the one that does not exist.
    for (const wall of ['2026-10-25T02:30:00', '2026-03-29T02:30:00']) {
      expect(wallTimeToUtcMs(wall, 'Europe/Berlin')).toBe(
        DateTime.fromISO(wall, { zone: 'Europe/Berlin' }).toMillis(),
      );
    }
  });
});

describe('punch pipeline', () => {
  it('normalizes worker, direction, method and UTC time', async () => {
    const { pipeline, journal } = await build();
    const { journaled } = await pipeline.ingest([
      raw({}),
      raw({
        terminalId: 'gate-state',
        pin: '1',
        state: 1,
        verifyCode: 15,
        time: { wall: '2026-11-20T18:01:00' },
      }),
      raw({ terminalId: 'berlin', pin: '1', verifyCode: 2, time: { wall: '2026-11-20T08:30:15' } }),
      raw({
        terminalId: 'turnstile',
        pin: '1',
        verifyCode: 3,
        direction: 'out',
        time: { utcMs: Date.UTC(2026, 10, 20, 1, 0, 0) },
      }),
    ]);
    expect(
      journaled.map((p) => [p.terminalId, p.workerId, p.direction, p.method, new Date(p.atMs).toISOString()]),
    ).toEqual([
      ['gate-in', 'w-zhang', 'in', 'fp', '2026-11-20T00:30:15.000Z'],
      ['gate-state', 'w-zhang', 'out', 'fa', '2026-11-20T10:01:00.000Z'],
      ['berlin', 'w-zhang', 'out', 'card', '2026-11-20T07:30:15.000Z'],
      ['turnstile', 'w-zhang', 'out', 'pwd', '2026-11-20T01:00:00.000Z'],
    ]);
    expect(journaled.map((p) => p.seq)).toEqual([1, 2, 3, 4]);
    expect(journaled.every((p) => p.flags.length === 0)).toBe(true);
    await journal.close();
  });

  it('keeps unknown PINs, removed workers, odd verify codes and impossible times, flagged', async () => {
    const { pipeline, journal, seen } = await build();
    const { journaled } = await pipeline.ingest([
      raw({ pin: '777' }),
      raw({ pin: '2', time: { wall: '2026-11-20T09:00:00' } }),
      raw({ pin: '1', verifyCode: 99, time: { wall: '2026-11-20T09:00:01' } }),
      raw({ pin: '1', time: { wall: '2026-02-31T09:00:00' } }),
    ]);
    expect(journaled.map((p) => p.flags)).toEqual([
      ['unmatched'],
      ['removed_worker'],
      ['unknown_verify'],
      ['clock_suspect'],
    ]);
    expect(journaled[0]!.workerId).toBeNull();
    expect(journaled[0]!.pin).toBe('777');
    expect(seen).toHaveLength(4);
    await journal.close();
  });

  it('stores a punch once across real-time and catch-up reads, within a batch, and after a restart', async () => {
    const first = await build();
    const a = await first.pipeline.ingest([raw({ source: 'realtime' }), raw({ source: 'poll' })]);
    expect(a.journaled).toHaveLength(1);
    expect(a.duplicates).toBe(1);
    // Same second, different millisecond detail is impossible for wall clocks; same PIN on another terminal is a new punch.
    const b = await first.pipeline.ingest([raw({ source: 'poll' }), raw({ terminalId: 'gate-state' })]);
    expect(b.journaled.map((p) => p.terminalId)).toEqual(['gate-state']);
    await first.journal.close();

    const second = await build();
    const c = await second.pipeline.ingest([
      raw({ source: 'poll' }),
      raw({ time: { wall: '2026-11-20T08:30:16' } }),
    ]);
    expect(c.duplicates).toBe(1);
    expect(c.journaled.map((p) => p.seq)).toEqual([3]);
    await second.journal.close();
  });

  it('claims keys before writing so concurrent reads of the same punch store it once', async () => {
    const { pipeline, journal } = await build();
    const results = await Promise.all([
      pipeline.ingest([raw({})]),
      pipeline.ingest([raw({})]),
      pipeline.ingest([raw({})]),
    ]);
    expect(results.reduce((n, r) => n + r.journaled.length, 0)).toBe(1);
    expect(journal.lastSeq).toBe(1);
    await journal.close();
  });
});

describe('unmatched PINs', () => {
  it('are listed per terminal with their counts, matched PINs never, and a catch-up of many stays bounded', async () => {
    const { journal, pipeline } = await build();
    const times = (n: number) =>
      `2026-11-20T08:${String(Math.floor(n / 60)).padStart(2, '0')}:${String(n % 60).padStart(2, '0')}`;
    await pipeline.ingest([
      raw({ pin: '77', time: { wall: times(1) } }),
      raw({ pin: '77', time: { wall: times(2) } }),
      raw({ pin: '1', time: { wall: times(3) } }),
      raw({ terminalId: 'turnstile', pin: '77', time: { wall: times(4) } }),
    ]);
    expect(
      pipeline.unmatchedPins().map(({ terminalId, pin, count }) => ({ terminalId, pin, count })),
    ).toEqual([
      { terminalId: 'gate-in', pin: '77', count: 2 },
      { terminalId: 'turnstile', pin: '77', count: 1 },
    ]);
    // 2,500 distinct unknown PINs: the memory keeps the newest 2,000, the oldest are let go.
    await pipeline.ingest(
      Array.from({ length: 2500 }, (_, i) => raw({ pin: `9${i}`, time: { wall: times(5 + (i % 3000)) } })),
    );
    const pins = pipeline.unmatchedPins();
    expect(pins).toHaveLength(2000);
    expect(pins.some((u) => u.pin === '92499')).toBe(true);
    expect(pins.some((u) => u.pin === '90')).toBe(false);
    await journal.close();
  });
});
