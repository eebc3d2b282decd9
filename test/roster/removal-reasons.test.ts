import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SichuanEmulator } from '../../cloud/sichuan/emulator';
import { SichuanUpstream } from '../../cloud/sichuan/upstream';
import { EventBus } from '../../gateway/events';
import type { RemovalReason } from '../../gateway/model';
import { Roster, type Worker } from '../../gateway/roster/roster';
import { BlobStore } from '../../gateway/store/blobs';
import { systemClock } from '../../lib/clock';
import {
  DEVICE_KEY,
  FAST_TIMING,
  lookupWorker,
  MemoryState,
  SM4_KEY,
  SN,
  sichuanConfig,
} from '../sichuan/harness';
import { testLogger } from '../support/logger';
import { tempDir } from '../support/tmp';

/** Every reason the gateway knows: the page has a word for each of these and for nothing else. */
const MEMBERS: readonly RemovalReason[] = ['离职', '禁入', '红黄码', 'sichuan', 'deli', 'local', 'merged'];

let stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of stops.reverse()) await stop();
  stops = [];
});

async function openRoster(dir: string): Promise<Roster> {
  const blobs = new BlobStore(join(dir, 'blobs'));
  await blobs.open();
  const roster = new Roster({
    file: join(dir, 'roster.json'),
    blobs,
    bus: new EventBus(),
    clock: systemClock,
    logger: testLogger('roster'),
  });
  await roster.open();
  return roster;
}

describe('removal reasons are a closed set', () => {
  it('stores a Sichuan delete of an unknown type (real platform emulator over HTTPS) as a plain removal with its code', async () => {
    const { dir, cleanup } = await tempDir('removal-reasons-');
    stops.push(cleanup);
    const roster = await openRoster(dir);
    const emulator = new SichuanEmulator({ sn: SN, deviceKey: DEVICE_KEY, sm4Key: SM4_KEY });
    const baseUrl = await emulator.start();
    stops.push(() => emulator.stop());
    const upstream = new SichuanUpstream(sichuanConfig(baseUrl), {
      logger: testLogger('sichuan'),
      clock: systemClock,
      roster,
      state: new MemoryState(),
      siteTimezone: 'Asia/Shanghai',
      lookupWorker,
      timing: FAST_TIMING,
    });
    stops.push(() => upstream.stop());
    emulator.addIssueTask([
      { userId: 'S0101', name: '张三', userType: 1 },
      { userId: 'S0102', name: '李四', userType: 1 },
    ]);
    await upstream.start();
    await upstream.heartbeat();
    emulator.addDeleteTask([
      { userId: 'S0101', name: '张三', delType: 7 },
      { userId: 'S0102', name: '李四', delType: 3 },
    ]);
    await upstream.heartbeat();
    expect(emulator.state().tasks.map((t) => t.state)).toEqual(['succeeded', 'succeeded']);

    const unknown = roster.findByIdentity({ sichuanUserId: 'S0101' })!;
    const health = roster.findByIdentity({ sichuanUserId: 'S0102' })!;
    expect(unknown.removal).toMatchObject({ reason: 'sichuan', source: 'sichuan', detail: 'delType 7' });
    expect(health.removal).toMatchObject({ reason: '红黄码', source: 'sichuan' });
    expect(health.removal?.detail).toBeUndefined();
    // Durable as such: what the page reads after a restart.
    const stored = JSON.parse(await readFile(join(dir, 'roster.json'), 'utf8')) as {
      workers: Record<string, Worker>;
    };
    expect(stored.workers[unknown.id]?.removal).toMatchObject({ reason: 'sichuan', detail: 'delType 7' });

    // An unknown type is not one of the platform's bans: the page may restore that worker, not the other.
    await roster.apply([{ source: 'local', op: 'upsert', identity: { gatewayId: unknown.id } }]);
    await roster.apply([{ source: 'local', op: 'upsert', identity: { gatewayId: health.id } }]);
    expect(roster.get(unknown.id)?.status).toBe('active');
    expect(roster.get(health.id)?.status).toBe('removed');
  });

  it('calls a duplicate folded into another worker "merged", naming the survivor in the detail', async () => {
    const { dir, cleanup } = await tempDir('removal-reasons-');
    stops.push(cleanup);
    const roster = await openRoster(dir);
    await roster.apply([
      { source: 'local', op: 'upsert', identity: {}, name: '王五' },
      { source: 'sichuan', op: 'upsert', identity: { sichuanUserId: 'S0201' }, name: '王五' },
    ]);
    const [local, platform] = roster.list();
    await roster.link(local!.id, { sichuanUserId: 'S0201' });
    expect(roster.get(platform!.id)?.removal).toMatchObject({
      reason: 'merged',
      source: 'local',
      detail: `merged into ${local!.id}`,
    });
  });

  it('reads a roster.json written when reasons were free text, giving each a member and keeping the text', async () => {
    const { dir, cleanup } = await tempDir('removal-reasons-');
    stops.push(cleanup);
    const removed = (id: string, pin: string, reason: string, source: string) => ({
      id,
      pin,
      name: id,
      identities: {},
      sources: [source],
      status: 'removed',
      removal: { reason, source, atMs: 1 },
      templates: [],
      updatedMs: 1,
    });
    await writeFile(
      join(dir, 'roster.json'),
      JSON.stringify({
        nextPin: 5,
        workers: {
          a: removed('a', '1', 'delType 9', 'sichuan'),
          b: removed('b', '2', 'merged into c', 'local'),
          c: removed('c', '3', '禁入', 'sichuan'),
          d: removed('d', '4', 'whatever Deli said', 'deli'),
        },
      }),
    );
    const roster = await openRoster(dir);
    expect(roster.get('a')?.removal).toMatchObject({ reason: 'sichuan', detail: 'delType 9' });
    expect(roster.get('b')?.removal).toMatchObject({ reason: 'merged', detail: 'merged into c' });
    expect(roster.get('c')?.removal).toEqual({ reason: '禁入', source: 'sichuan', atMs: 1 });
    expect(roster.get('d')?.removal).toMatchObject({ reason: 'deli', detail: 'whatever Deli said' });
    for (const worker of roster.list()) expect(MEMBERS).toContain(worker.removal?.reason);
  });
});
