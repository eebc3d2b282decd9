/**
 * The young generation may grow while whole-site documents are written (gateway/memory-settle.ts
 * `DocumentHeap`), told by the documents' lane (gateway/reports/export-lane.ts) when it is taken and
 * when it falls empty; growth stops once no document has come for two seconds.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DocumentHeap } from '../../gateway/memory-settle';
import { ExportLane } from '../../gateway/reports/export-lane';

afterEach(() => {
  vi.useRealTimers();
});

describe('DocumentHeap', () => {
  it('lets the young generation grow while documents are written, and stops 2 s after the last', () => {
    vi.useFakeTimers();
    const flags: string[] = [];
    const heap = new DocumentHeap((f) => flags.push(f));
    heap.idle();
    expect(flags).toEqual([]);
    heap.busy();
    heap.busy();
    expect(flags).toEqual(['--semi-space-growth-factor=2']);
    heap.idle();
    vi.advanceTimersByTime(1_500);
    // Another document within the quiet time: growth stays on, the wait starts again.
    heap.busy();
    heap.idle();
    vi.advanceTimersByTime(1_999);
    expect(flags).toEqual(['--semi-space-growth-factor=2']);
    vi.advanceTimersByTime(1);
    expect(flags).toEqual(['--semi-space-growth-factor=2', '--semi-space-growth-factor=1']);
    heap.stop();
    expect(flags).toHaveLength(2);
  });

  it('is told by the documents’ lane: taken by the first document, empty after the last', async () => {
    const told: string[] = [];
    const lane = new ExportLane({ busy: () => told.push('busy'), idle: () => told.push('idle') });
    const first = await lane.turn();
    const second = lane.turn();
    first();
    (await second)();
    expect(told).toEqual(['busy', 'idle']);
  });
});
