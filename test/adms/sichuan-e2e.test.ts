import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdmsEmulator } from '../../adapters/adms/emulator';
import { SichuanEmulator } from '../../cloud/sichuan/emulator';
import type { SichuanUpstream } from '../../cloud/sichuan/upstream';
import { validateConfig } from '../../config/load';
import { Gateway } from '../../gateway/controller';
import { testLogger } from '../support/logger';
import { tempDir } from '../support/tmp';
import { eventually } from './support';

const SICHUAN = { sn: 'GW-ADMS-1', deviceKey: 'adms-device-key', sm4Key: '0123456789abcdeffedcba9876543210' };
const SN = 'SPKFACE0001';
const PHOTO = Buffer.from(
  '/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAgGBgcGBQgHBwcJCQgKDBQNDAsLDBkSEw8UHRofHh0aHBwgJC4nICIsIxwcKDcpLDAxNDQ0Hyc5PTgyPC4zNDL/2Q==',
  'base64',
);

let cleanup: () => Promise<void>;
let gateway: Gateway;
let sichuan: SichuanEmulator;
let face: AdmsEmulator;

beforeAll(async () => {
  let dir: string;
  ({ dir, cleanup } = await tempDir('adms-e2e-'));
  sichuan = new SichuanEmulator({ ...SICHUAN, port: 0 });
  const baseUrl = await sichuan.start();
  const parsed = validateConfig({
    site: { name: 'adms-e2e' },
    dataDir: dir,
    http: { host: '127.0.0.1', port: 0 },
    adms: { host: '127.0.0.1', port: 0, delaySeconds: 1 },
    reconcile: { maxStepsPerSecond: 0 },
    terminals: [{ id: 'face', driver: 'adms', sn: SN, direction: 'in', pollSeconds: 60 }],
    upstreams: { sichuan: { enabled: true, baseUrl, ...SICHUAN, heartbeatSeconds: 600 } },
  });
  if (!parsed.ok) throw new Error(parsed.problems.join('\n'));
  gateway = new Gateway(parsed.config, testLogger());
  await gateway.start();
  face = new AdmsEmulator({ serverUrl: `http://127.0.0.1:${gateway.admsPort}`, sn: SN, pollMs: 50 });
  await face.start();
  await eventually(
    () => (gateway.terminal('face')?.status().online ? true : undefined),
    'face terminal online',
  );
});

afterAll(async () => {
  await face?.stop();
  await gateway?.stop();
  await sichuan?.stop();
  await cleanup?.();
});

const upstream = () => gateway.upstream('sichuan') as SichuanUpstream;

describe('Sichuan tasks reach an ADMS face terminal through the reconciler and the command queue', () => {
  it('an issue task with a face photo puts the worker and the photo on the terminal', async () => {
    const taskId = sichuan.addIssueTask([
      {
        userId: 'SC200',
        name: '李四',
        userType: 1,
        photo: PHOTO.toString('base64'),
        idCardNo: '510104199001015678',
      },
    ]);
    await upstream().heartbeat();
    const worker = await eventually(
      () => gateway.workers.findByIdentity({ sichuanUserId: 'SC200' }),
      'worker',
      15_000,
    );
    const pin = worker.pin;
    await eventually(
      () => (face.photos().get(pin)?.equals(PHOTO) ? true : undefined),
      'photo on the terminal',
      15_000,
    );
    expect(face.users().find((u) => u.pin === pin)?.name).toBe('李四');
    expect(sichuan.state().tasks.find((t) => t.id === taskId)?.state).toBe('succeeded');
  });

  it('a delete task removes the worker from the terminal', async () => {
    const pin = gateway.workers.findByIdentity({ sichuanUserId: 'SC200' })?.pin;
    expect(pin).toBeDefined();
    sichuan.addDeleteTask([{ userId: 'SC200', name: '李四', delType: 2 }]);
    await upstream().heartbeat();
    await eventually(
      () => (face.users().some((u) => u.pin === pin) ? undefined : true),
      'user removed',
      15_000,
    );
    expect(face.photos().has(pin as string)).toBe(false);
  });
});
