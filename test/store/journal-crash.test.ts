import { spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Punch } from '../../gateway/model';
import { PunchJournal } from '../../gateway/store/journal';
import { JournalReader } from '../../gateway/store/journal-reader';
import { testLogger } from '../support/logger';
import { tempDir } from '../support/tmp';

const WRITER = resolve(import.meta.dirname, '../support/journal-writer.ts');
const KILLS = 20;

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('journal-crash-'));
});
afterAll(() => cleanup());

/** Runs the writer until SIGKILL at a random moment after it started appending; returns the acked batches. */
function runUntilKilled(runId: string, killAfterMs: number): Promise<Map<string, number>> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', WRITER, dir, runId], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const acked = new Map<string, number>();
    let buffered = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) {
        if (line === 'READY') setTimeout(() => child.kill('SIGKILL'), killAfterMs);
        const match = /^ACK (\S+) (\d+)$/.exec(line);
        if (match) acked.set(match[1]!, Number(match[2]));
      }
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', reject);
    child.on('exit', (_code, signal) => {
      if (signal !== 'SIGKILL') reject(new Error(`writer ended without being killed: ${stderr}`));
      else resolvePromise(acked);
    });
  });
}

async function readAll(): Promise<{ punches: Punch[]; corrupt: number }> {
  const journal = new PunchJournal({
    dir,
    segmentMaxBytes: 64 * 1024,
    retentionDays: 90,
    clock: { now: () => Date.now() },
    logger: testLogger(),
  });
  await journal.open();
  const reader = new JournalReader(journal, 0);
  const punches: Punch[] = [];
  for (;;) {
    const batch = await reader.peek(1000);
    if (batch.length === 0) break;
    punches.push(...batch);
    reader.advance(batch.at(-1)!.seq);
  }
  // Every segment's index (its `.idx`, or rebuilt on open) says what the segment really holds.
  journal.segmentList.forEach((segment, i) => {
    const next = journal.segmentList[i + 1]?.firstSeq ?? Number.POSITIVE_INFINITY;
    const inside = punches.filter((p) => p.seq >= segment.firstSeq && p.seq < next);
    const times = inside.map((p) => p.atMs);
    expect(segment, segment.file).toMatchObject({
      lastSeq: inside.at(-1)?.seq ?? segment.firstSeq - 1,
      punches: inside.length,
      minAtMs: Math.min(...times),
      maxAtMs: Math.max(...times),
    });
  });
  const names = new Set(await readdir(dir));
  for (const segment of journal.segmentList.slice(0, -1))
    expect(names.has(`${basename(segment.file)}.idx`), segment.file).toBe(true);
  await journal.close();
  return { punches, corrupt: journal.corruptLines };
}

describe('journal crash safety', () => {
  it(`keeps every acknowledged batch exactly once across ${KILLS} SIGKILLs`, async () => {
    const allAcked = new Map<string, number>();
    for (let run = 0; run < KILLS; run++) {
      const killAfterMs = 20 + Math.floor(Math.random() * 250);
      const acked = await runUntilKilled(`r${run}`, killAfterMs);
      for (const [batch, count] of acked) allAcked.set(batch, count);

      const { punches, corrupt } = await readAll();
      expect(corrupt).toBe(0);
      // Sequence numbers are dense and strictly increasing: nothing torn was kept, nothing reused.
      punches.forEach((p, i) => {
        expect(p.seq).toBe(i + 1);
      });
      const perKey = new Map<string, number>();
      for (const p of punches) perKey.set(p.key, (perKey.get(p.key) ?? 0) + 1);
      expect([...perKey.values()].every((n) => n === 1)).toBe(true);
      const perBatch = new Map<string, number>();
      for (const p of punches) {
        const batch = p.key.slice(0, p.key.lastIndexOf('-'));
        perBatch.set(batch, (perBatch.get(batch) ?? 0) + 1);
      }
      for (const [batch, count] of allAcked) expect(perBatch.get(batch), `batch ${batch}`).toBe(count);
    }
    expect(allAcked.size).toBeGreaterThan(KILLS);
  });
});
