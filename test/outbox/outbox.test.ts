import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { validateConfig } from '../../config/load';
import { GatewayMetrics } from '../../gateway/metrics';
import type { DeliveryResult, Punch, Upstream, UpstreamHealth } from '../../gateway/model';
import { CursorLog } from '../../gateway/outbox/cursor-log';
import { Outbox } from '../../gateway/outbox/outbox';
import { PunchJournal } from '../../gateway/store/journal';
import { backoffDelay } from '../../lib/backoff';
import { testLogger } from '../support/logger';
import { drafts } from '../support/punches';
import { tempDir } from '../support/tmp';

type Behaviour = 'ack' | 'fail' | 'hang' | 'partial' | 'refuse';

/** A platform stand-in with a script of answers; it records what it received and what it acknowledged. */
class ScriptedUpstream implements Upstream {
  readonly name = 'sichuan' as const;
  received: number[][] = [];
  acknowledged: number[] = [];
  cursorAtCall: number[] = [];
  constructor(
    readonly maxBatch: number,
    private readonly script: Behaviour[],
    private readonly cursor: () => number,
  ) {}
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  health(): UpstreamHealth {
    return { connected: true };
  }
  async deliver(punches: readonly Punch[]): Promise<DeliveryResult> {
    this.received.push(punches.map((p) => p.seq));
    this.cursorAtCall.push(this.cursor());
    const behaviour = this.script.shift() ?? 'ack';
    switch (behaviour) {
      case 'fail':
        throw new Error('ECONNREFUSED');
      case 'hang':
        return new Promise(() => undefined);
      case 'refuse':
        return { acknowledged: 0, error: 'Result -99', retryAfterMs: 5 };
      case 'partial': {
        const n = Math.max(1, Math.floor(punches.length / 2));
        this.acknowledged.push(...punches.slice(0, n).map((p) => p.seq));
        return { acknowledged: n, error: 'half taken' };
      }
      default:
        this.acknowledged.push(...punches.map((p) => p.seq));
        return { acknowledged: punches.length };
    }
  }
}

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir('outbox-'));
});
afterEach(() => cleanup());

async function setup() {
  const journal = new PunchJournal({
    dir: join(dir, 'journal'),
    segmentMaxBytes: 4096,
    retentionDays: 90,
    clock: { now: () => Date.now() },
    logger: testLogger(),
  });
  await journal.open();
  const cursors = new CursorLog({ dir, logger: testLogger() });
  await cursors.open();
  return { journal, cursors };
}

function outbox(upstream: Upstream, journal: PunchJournal, cursors: CursorLog) {
  return new Outbox({
    upstream,
    journal,
    cursor: cursors.slot('outbox.sichuan'),
    options: { initialBackoffMs: 5, maxBackoffMs: 40, deliveryTimeoutMs: 100, idlePollMs: 50 },
    logger: testLogger(),
    metrics: new GatewayMetrics(),
    clock: { now: () => Date.now() },
  });
}

async function until(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('outbox', () => {
  it('delivers every punch in order through failures, time-outs and partial acknowledgements', async () => {
    const { journal, cursors } = await setup();
    const cursor = () => cursors.slot('outbox.sichuan').get() ?? 0;
    const script: Behaviour[] = [
      'fail',
      'ack',
      'hang',
      'partial',
      'refuse',
      'ack',
      'partial',
      'fail',
      'fail',
      'ack',
      'hang',
      'partial',
    ];
    const upstream = new ScriptedUpstream(10, script, cursor);
    const box = outbox(upstream, journal, cursors);
    box.start();
    for (let i = 0; i < 12; i++) await journal.append(drafts(`b${i}`, 7));
    await until(() => cursor() === 84);
    await box.stop();

    // Every punch acknowledged, in journal order, each exactly once by the platform's count.
    expect(upstream.acknowledged).toEqual(Array.from({ length: 84 }, (_, i) => i + 1));
    // Each delivery starts right after the cursor: the cursor never passed an unacknowledged punch.
    upstream.received.forEach((batch, i) => {
      expect(batch[0]).toBe(upstream.cursorAtCall[i]! + 1);
      expect(batch.length).toBeLessThanOrEqual(10);
    });
    expect(box.status().backlog).toBe(0);
    expect(box.status().consecutiveFailures).toBe(0);
    await journal.close();
  });

  it('resumes from the durable cursor after a restart', async () => {
    const { journal, cursors } = await setup();
    const first = new ScriptedUpstream(10, [], () => 0);
    const box = outbox(first, journal, cursors);
    box.start();
    await journal.append(drafts('a', 25));
    await until(() => box.cursor === 25);
    await box.stop();
    await cursors.close();
    await journal.append(drafts('b', 15));
    await journal.close();

    const { journal: reopened, cursors: reopenedCursors } = await setup();
    const second = new ScriptedUpstream(10, [], () => 0);
    const again = outbox(second, reopened, reopenedCursors);
    expect(again.status().backlog).toBe(15);
    again.start();
    await until(() => again.cursor === 40);
    await again.stop();
    expect(second.acknowledged).toEqual(Array.from({ length: 15 }, (_, i) => 26 + i));
    await reopened.close();
  });

  it('reports backlog and the last error while the platform is down, and retryNow skips the wait', async () => {
    const { journal, cursors } = await setup();
    const upstream = new ScriptedUpstream(10, ['fail', 'fail', 'fail'], () => 0);
    const box = new Outbox({
      upstream,
      journal,
      cursor: cursors.slot('outbox.sichuan'),
      options: { initialBackoffMs: 60_000, maxBackoffMs: 60_000, idlePollMs: 50 },
      logger: testLogger(),
      metrics: new GatewayMetrics(),
      clock: { now: () => Date.now() },
    });
    box.start();
    await journal.append(drafts('x', 3));
    await until(() => box.status().consecutiveFailures === 1);
    expect(box.status()).toMatchObject({ backlog: 3, lastError: 'ECONNREFUSED' });
    expect(box.status().nextAttemptAt).toBeGreaterThan(Date.now() + 20_000);
    box.retryNow();
    await until(() => upstream.received.length === 2 && box.status().consecutiveFailures === 1);
    box.retryNow();
    await until(() => upstream.received.length === 3 && box.status().consecutiveFailures === 1);
    box.retryNow();
    await until(() => box.cursor === 3);
    await box.stop();
    await journal.close();
  });
});

describe('outbox settings', () => {
  it('names the field of a bad cursor-saving setting, and defaults to 32 batches and 1 s', () => {
    const bad = validateConfig({
      site: { name: 'x' },
      outbox: { cursorSaveBatches: 0, cursorSaveMs: 'soon' },
    });
    expect(bad.ok).toBe(false);
    if (bad.ok) return;
    expect(bad.problems).toEqual([
      expect.stringMatching(/^outbox\.cursorSaveBatches: .*>=1/),
      expect.stringMatching(/^outbox\.cursorSaveMs: .*number/),
    ]);
    const good = validateConfig({ site: { name: 'x' } });
    expect(good.ok && good.config.outbox).toMatchObject({ cursorSaveBatches: 32, cursorSaveMs: 1000 });
  });
});

describe('backoff', () => {
  it('grows exponentially with jitter between half and all of the step, capped', () => {
    expect(backoffDelay(1, { initialMs: 1000, maxMs: 60_000, random: () => 0 })).toBe(500);
    expect(backoffDelay(1, { initialMs: 1000, maxMs: 60_000, random: () => 1 })).toBe(1000);
    expect(backoffDelay(4, { initialMs: 1000, maxMs: 60_000, random: () => 1 })).toBe(8000);
    expect(backoffDelay(30, { initialMs: 1000, maxMs: 60_000, random: () => 0.5 })).toBe(45_000);
  });
});
