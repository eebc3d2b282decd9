import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { TerminalUser } from '../../gateway/model';
import { planReconcile, templatesFor, workerDigest } from '../../gateway/roster/reconcile-plan';
import type { Worker } from '../../gateway/roster/roster';
import { AppliedDigests } from '../../gateway/store/applied-digests';
import { FACE_TERMINAL, ZK_TERMINAL } from './support';

const zk = ZK_TERMINAL;
const face = FACE_TERMINAL;

function worker(pin: string, more: Partial<Worker> = {}): Worker {
  return {
    id: `id-${pin}`,
    pin,
    name: `工人${pin}`,
    identities: {},
    sources: ['local'],
    status: 'active',
    templates: [],
    updatedMs: 0,
    ...more,
  };
}

const held = (...pins: string[]): TerminalUser[] => pins.map((pin) => ({ pin, name: '' }));

/** What was written last time, for workers as they are now. */
function appliedFor(workers: readonly Worker[], capabilities = zk): Record<string, string> {
  return Object.fromEntries(workers.map((w) => [w.pin, workerDigest(w, capabilities)]));
}

const none = () => new AppliedDigests();
const digests = (record: Record<string, string>) => AppliedDigests.from(record);

describe('working out what a terminal needs', () => {
  it('adds every active worker to an empty terminal, as a plain user record', () => {
    const workers = [
      worker('1', { card: 123456, password: '42' }),
      worker('2'),
      worker('3', { status: 'removed' }),
    ];
    const plan = planReconcile({ workers, held: [], applied: none(), capabilities: zk });
    expect(plan.removals).toEqual([]);
    expect(plan.writes.map((w) => [w.pin, w.adds])).toEqual([
      ['1', true],
      ['2', true],
    ]);
    expect(plan.writes[0]?.user).toEqual({
      pin: '1',
      name: '工人1',
      card: 123456,
      password: '42',
      privilege: 0,
    });
    expect(plan.writes[1]?.user).toEqual({ pin: '2', name: '工人2', card: 0, password: '', privilege: 0 });
    expect(plan).toMatchObject({ notAdded: [], full: false, foreignUsers: 0, activeWorkers: 2 });
  });

  it('writes only what differs from what was written last time', () => {
    const same = worker('1');
    const renamed = worker('2');
    const neverWritten = worker('3');
    const record = appliedFor([same, renamed]);
    const applied = digests(record);
    const plan = planReconcile({
      workers: [same, { ...renamed, name: '张三' }, neverWritten],
      // Names read back are cut to the terminal's field width: what the terminal shows does not count.
      held: [{ pin: '1', name: '工' }, ...held('2', '3')],
      applied,
      capabilities: zk,
    });
    expect(plan.writes.map((w) => [w.pin, w.adds, w.user.name])).toEqual([
      ['2', false, '张三'],
      ['3', false, '工人3'],
    ]);
    expect(plan.writes[0]?.digest).not.toBe(record['2']);
  });

  it('rewrites a worker the terminal lost, even with a digest on file', () => {
    const w = worker('5');
    const plan = planReconcile({
      workers: [w],
      held: [],
      applied: digests(appliedFor([w])),
      capabilities: zk,
    });
    expect(plan.writes.map((x) => [x.pin, x.adds])).toEqual([['5', true]]);
  });

  it('removes removed workers the terminal holds, keeps foreign users, forgets what is gone', () => {
    const workers = [worker('1'), worker('2', { status: 'removed' }), worker('3', { status: 'removed' })];
    const plan = planReconcile({
      workers,
      held: held('1', '2', '900', '901'),
      applied: digests({ ...appliedFor([workers[0]!]), '2': 'old', '3': 'old', '77': 'old' }),
      capabilities: zk,
    });
    expect(plan.removals).toEqual(['2']);
    expect(plan.foreignUsers).toBe(2);
    expect(plan.writes).toEqual([]);
    expect([...plan.forget].sort()).toEqual(['2', '3', '77']);
  });

  it('fits additions into the room left after removals, in roster order, and lets updates through', () => {
    const kept = worker('1');
    const workers = [
      { ...kept, name: '改名' },
      worker('2', { status: 'removed' }),
      worker('10'),
      worker('11'),
      worker('12'),
      worker('13'),
    ];
    // 5 places; held: 1 (to update), 2 (to remove), 900 (foreign) → 5 − (3 − 1) = 3 places for additions.
    const plan = planReconcile({
      workers,
      held: held('1', '2', '900'),
      applied: digests(appliedFor([kept])),
      capabilities: { ...zk, maxUsers: 5 },
    });
    expect(plan.removals).toEqual(['2']);
    expect(plan.writes.map((w) => w.pin)).toEqual(['1', '10', '11', '12']);
    expect(plan.notAdded.map((w) => w.pin)).toEqual(['13']);
    expect(plan.full).toBe(true);
  });

  it('adds nobody to a terminal already over its capacity, but still updates', () => {
    const kept = worker('1');
    const plan = planReconcile({
      workers: [{ ...kept, card: 7 }, worker('2')],
      held: held('1', '900', '901'),
      applied: digests(appliedFor([kept])),
      capabilities: { ...zk, maxUsers: 2 },
    });
    expect(plan.writes.map((w) => w.pin)).toEqual(['1']);
    expect(plan.notAdded.map((w) => w.pin)).toEqual(['2']);
    expect(plan.full).toBe(true);
  });

  it('is never full where the terminal does not say how many users it takes', () => {
    const workers = Array.from({ length: 50 }, (_, i) => worker(String(i + 1)));
    const plan = planReconcile({ workers, held: held('900'), applied: none(), capabilities: zk });
    expect(plan.writes).toHaveLength(50);
    expect(plan.full).toBe(false);
  });
});

describe('biometrics in a plan', () => {
  const fp10 = { kind: 'fp' as const, index: 3, format: 'zk-fp10', blob: 'a'.repeat(64) };
  const fp9 = { kind: 'fp' as const, index: 4, format: 'zk-fp9', blob: 'b'.repeat(64) };
  const photo = 'c'.repeat(64);

  it('takes fingerprints in the terminal format and photos only where it takes faces', () => {
    const w = worker('1', { templates: [fp10, fp9], facePhoto: photo });
    expect(templatesFor(w, zk)).toEqual([{ kind: 'fp', index: 3, format: 'zk-fp10', blob: fp10.blob }]);
    expect(templatesFor(w, face)).toEqual([{ kind: 'fa', index: 0, format: 'photo', blob: photo }]);
    expect(templatesFor(w, { ...zk, fingerprints: false })).toEqual([]);
  });

  it('rewrites a worker when a template this terminal takes changes, not for one it ignores', () => {
    const before = worker('1', { templates: [fp10] });
    const applied = digests(appliedFor([before]));
    const withOther = { ...before, templates: [fp10, fp9] };
    const withNew = { ...before, templates: [{ ...fp10, blob: 'd'.repeat(64) }] };
    const plan = (w: Worker) => planReconcile({ workers: [w], held: held('1'), applied, capabilities: zk });
    expect(plan(withOther).writes).toEqual([]);
    expect(plan(withNew).writes.map((w) => w.templates)).toEqual([
      [{ kind: 'fp', index: 3, format: 'zk-fp10', blob: 'd'.repeat(64) }],
    ]);
    expect(
      planReconcile({
        workers: [{ ...before, facePhoto: photo }],
        held: held('1'),
        applied,
        capabilities: zk,
      }).writes,
    ).toEqual([]);
  });

  it('keeps the digest recipe stored in the reconciler records: user record, then compatible fingerprints, then the photo', () => {
    // Changing the recipe would rewrite every worker on every terminal after an upgrade.
    const w = worker('8', { card: 9, templates: [fp10], facePhoto: photo });
    const recipe = (parts: string[]) => {
      const hash = createHash('sha256');
      for (const part of parts) hash.update(part);
      return hash.digest('hex').slice(0, 24);
    };
    const user = '{"pin":"8","name":"工人8","card":9,"password":"","privilege":0}';
    expect(workerDigest(w, zk)).toBe(recipe([user, `fp:3:${fp10.blob}`]));
    expect(workerDigest(w, face)).toBe(recipe([user, `fa:${photo}`]));
  });
});
