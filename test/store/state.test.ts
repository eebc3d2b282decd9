import { readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DurableJsonFile } from '../../gateway/store/json-file-adapter';
import { StateStore } from '../../gateway/store/state';
import { tempDir } from '../support/tmp';

let cleanup: (() => Promise<void>) | undefined;
afterEach(async () => {
  vi.restoreAllMocks();
  await cleanup?.();
  cleanup = undefined;
});

describe('state.json', () => {
  it('writes the saves that come while one is out once, together, each resolving when its data is durable', async () => {
    const made = await tempDir('state-group-');
    cleanup = made.cleanup;
    const file = join(made.dir, 'state.json');
    const state = new StateStore(file);
    await state.open();
    // Counts the whole-file writes (temp file, fsync, rename) the store makes; the writes are real.
    const writes = vi.spyOn(DurableJsonFile.prototype, 'write');
    // 20 terminals saving their first cursor at the same moment, as at start.
    const saves = Array.from({ length: 20 }, (_, i) =>
      state.slot<{ seq: number }>(`terminal.t${i}.cursor`).set({ seq: i }),
    );
    // Each save resolves only once a write holding its value is on disk.
    const seen = await Promise.all(
      saves.map(async (save, i) => {
        await save;
        const onDisk = JSON.parse(await readFile(file, 'utf8')) as Record<string, { seq: number }>;
        return onDisk[`terminal.t${i}.cursor`]?.seq;
      }),
    );
    expect(seen).toEqual(Array.from({ length: 20 }, (_, i) => i));
    // The first goes alone; the 19 that came meanwhile share the next write. One each, it was 20.
    expect(writes.mock.calls.length).toBeLessThanOrEqual(2);
  });

  it('a save that fails rejects its callers and the next one writes everything', async () => {
    const made = await tempDir('state-fail-');
    cleanup = made.cleanup;
    const file = join(made.dir, 'state.json');
    const state = new StateStore(file);
    await state.open();
    await state.set('a', 1);
    // The folder is replaced by a file: the temp file cannot be created, as on a broken disk.
    const moved = `${made.dir}-moved`;
    await rename(made.dir, moved);
    await expect(state.set('b', 2)).rejects.toThrow();
    expect(state.lastWriteError?.message).toMatch(/ENOENT/);
    await rename(moved, made.dir);
    await state.set('c', 3);
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({ a: 1, b: 2, c: 3 });
    expect(state.lastWriteError).toBeUndefined();
  });
});
