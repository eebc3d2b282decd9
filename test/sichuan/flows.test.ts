import { afterEach, describe, expect, it, vi } from 'vitest';
import { SichuanRegistrationError } from '../../cloud/sichuan/registration';
import { CLOCK_OFFSET_SLOT } from '../../cloud/sichuan/upstream';
import { drain, makePunch, type Rig, SN, startRig } from './harness';

const PHOTO = Buffer.from('\xff\xd8\xff\xe0 fake jpeg bytes', 'latin1');

let rig: Rig | undefined;
afterEach(async () => {
  await rig?.close();
  rig = undefined;
});

describe('Sichuan upstream against the emulated platform', () => {
  it('sends a heartbeat at start and stays connected', async () => {
    rig = await startRig();
    await rig.upstream.start();
    await rig.upstream.heartbeat();
    expect(rig.emulator.state().heartbeats).toBe(1);
    expect(rig.emulator.state().violations).toEqual([]);
    expect(rig.upstream.health()).toMatchObject({ connected: true, details: { heartbeats: 1 } });
  });

  it('repeats the heartbeat every heartbeatSeconds until stopped, picking up new tasks', async () => {
    rig = await startRig({ config: { heartbeatSeconds: 0.1 } });
    await rig.upstream.start();
    await vi.waitFor(() => expect(rig!.emulator.state().heartbeats).toBeGreaterThanOrEqual(2), {
      timeout: 2000,
    });
    rig.emulator.addDeleteTask([{ userId: 'S0003', name: '王五', delType: 1 }]);
    await vi.waitFor(() => expect(rig!.emulator.state().tasks[0]?.state).toBe('succeeded'), {
      timeout: 2000,
    });
    await rig.upstream.stop();
    const beats = rig.emulator.state().heartbeats;
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(rig.emulator.state().heartbeats).toBe(beats);
  });

  it('applies tasks of both shapes to the roster, then acknowledges them', async () => {
    rig = await startRig();
    const issue = rig.emulator.addIssueTask([
      { userId: 'S0001', name: '张三', userType: 1, photo: PHOTO.toString('base64') },
      {
        userId: 'S0002',
        name: '李四',
        userType: '2',
        photo: PHOTO.toString('base64'),
        idCardNo: '51010019900101123x',
      },
    ]);
    const remove = rig.emulator.addDeleteTask([
      { userId: 'S0003', name: '王五', delType: 2 },
      { userId: 'S0004', name: '赵六', delType: '3' },
      { userId: 'S0005', name: '钱七', delType: 1 },
    ]);
    await rig.upstream.start();
    await rig.upstream.heartbeat();
    const changes = rig.roster.changes;
    expect(changes).toHaveLength(5);
    expect(changes[0]).toMatchObject({
      source: 'sichuan',
      op: 'upsert',
      identity: { sichuanUserId: 'S0001' },
      name: '张三',
      workerType: '1',
    });
    expect(Buffer.from(changes[0]!.facePhoto!)).toEqual(PHOTO);
    expect(changes[1]!.identity).toEqual({ sichuanUserId: 'S0002', idCardNo: '51010019900101123X' });
    expect(changes.slice(2).map((c) => [c.op, c.identity.sichuanUserId, c.removalReason])).toEqual([
      ['remove', 'S0003', '禁入'],
      ['remove', 'S0004', '红黄码'],
      ['remove', 'S0005', '离职'],
    ]);
    const tasks = rig.emulator.state().tasks;
    expect(tasks.map((t) => [t.id, t.state])).toEqual([
      [issue, 'succeeded'],
      [remove, 'succeeded'],
    ]);
    expect(rig.upstream.health().details).toMatchObject({ tasksApplied: 2, tasksFailed: 0 });
    // Acknowledged tasks are not offered again.
    await rig.upstream.heartbeat();
    expect(rig.roster.changes).toHaveLength(5);
    expect(rig.emulator.state().violations).toEqual([]);
  });

  it('removes on a delType outside dictionary 6.6 as a plain Sichuan removal, keeping the code', async () => {
    rig = await startRig();
    // What the platform might send tomorrow: a fourth code, a code as text, an empty one, and junk
    // that names a property every JavaScript object has.
    const task = rig.emulator.addDeleteTask([
      { userId: 'S0011', name: '周九', delType: 9 },
      { userId: 'S0012', name: '吴十', delType: '4' },
      { userId: 'S0013', name: '郑一', delType: '' },
      { userId: 'S0014', name: '冯二', delType: 'toString' },
    ]);
    await rig.upstream.start();
    await rig.upstream.heartbeat();
    expect(
      rig.roster.changes.map((c) => [c.identity.sichuanUserId, c.removalReason, c.removalDetail]),
    ).toEqual([
      ['S0011', 'sichuan', 'delType 9'],
      ['S0012', 'sichuan', 'delType 4'],
      ['S0013', '离职', undefined],
      ['S0014', 'sichuan', 'delType toString'],
    ]);
    expect(rig.roster.changes.every((c) => c.op === 'remove')).toBe(true);
    expect(rig.emulator.state().tasks.find((t) => t.id === task)?.state).toBe('succeeded');
  });

  it('falls back to the type map only for shapeless records, and reports unusable records with a reason', async () => {
    rig = await startRig();
    const shapeless = rig.emulator.addTask(1, [{ userId: 'S0009', name: '孙八' } as never]);
    const broken = rig.emulator.addTask(2, [{ name: 'no id', photo: 'AAAA' } as never]);
    await rig.upstream.start();
    await rig.upstream.heartbeat();
    expect(rig.roster.changes).toEqual([
      {
        source: 'sichuan',
        op: 'remove',
        identity: { sichuanUserId: 'S0009' },
        name: '孙八',
        removalReason: '离职',
      },
    ]);
    const tasks = rig.emulator.state().tasks;
    expect(tasks.find((t) => t.id === shapeless)?.state).toBe('succeeded');
    expect(tasks.find((t) => t.id === broken)).toMatchObject({
      state: 'failed',
      resultMsg: 'record 0 has no userId',
    });
  });

  it('answers RetResult 1 when the roster cannot store a task, so nothing is acknowledged silently', async () => {
    rig = await startRig();
    const id = rig.emulator.addIssueTask([{ userId: 'S0001', name: '张三', userType: 1 }]);
    rig.roster.failNext = 1;
    await rig.upstream.start();
    await rig.upstream.heartbeat();
    expect(rig.emulator.state().tasks[0]).toMatchObject({ id, state: 'failed' });
    expect(rig.emulator.state().tasks[0]?.resultMsg).toMatch(/roster update failed: disk full/);
  });

  it('records undecryptable Content and reports the task as failed, without crashing', async () => {
    rig = await startRig();
    rig.emulator.addIssueTask([{ userId: 'S0001', name: '张三', userType: 1 }]);
    // The task list itself does not decrypt: nothing can be fetched, the error is counted.
    rig.emulator.setFaults({ undecryptableContentNext: 1, undecryptableContentOn: 'Online' });
    await rig.upstream.start();
    await rig.upstream.heartbeat();
    expect(rig.upstream.health().details?.['contentErrors']).toBe(1);
    expect(rig.upstream.health().lastError).toMatch(/Online task list: .*padding/);
    expect(rig.emulator.state().tasks[0]?.state).toBe('pending');
    // Next time the list decrypts but the task's records do not: RetResult 1 with the reason.
    rig.emulator.setFaults({ undecryptableContentNext: 1, undecryptableContentOn: 'GetTaskData' });
    await rig.upstream.heartbeat();
    const task = rig.emulator.state().tasks[0];
    expect(task?.state).toBe('failed');
    expect(task?.resultMsg).toMatch(/^Content does not decrypt: /);
    expect(rig.roster.changes).toEqual([]);
    expect(rig.upstream.health().details?.['contentErrors']).toBe(2);
    // And an UploadData answer with a broken Content still counts as accepted (Result 0), with a note.
    rig.emulator.setFaults({
      undecryptableContentNext: 1,
      undecryptableContentOn: null,
      plainJsonContent: false,
    });
    expect(await rig.upstream.deliver([makePunch(1)])).toEqual({ acknowledged: 1 });
    expect(rig.upstream.health().details?.['contentErrors']).toBe(3);
    expect(rig.emulator.state().punches).toHaveLength(1);
  });

  it('accepts plain-JSON Content', async () => {
    rig = await startRig();
    rig.emulator.setFaults({ plainJsonContent: true });
    rig.emulator.addDeleteTask([{ userId: 'S0003', name: '王五', delType: 2 }]);
    await rig.upstream.start();
    await rig.upstream.heartbeat();
    expect(rig.roster.changes.map((c) => c.removalReason)).toEqual(['禁入']);
    expect(rig.emulator.state().tasks[0]?.state).toBe('succeeded');
  });

  it('uploads 25 punches as 10 + 10 + 5 with entry/exit types and site-zone times', async () => {
    rig = await startRig();
    const journal = Array.from({ length: 25 }, (_, i) => makePunch(i + 1));
    expect(await drain(rig.upstream, journal, 0)).toBe(25);
    const state = rig.emulator.state();
    expect(state.uploads.map((u) => u.records.length)).toEqual([10, 10, 5]);
    expect(state.punches[0]).toEqual({ sn: SN, userId: 'S0002', type: 2, recogTime: '2026-03-01 08:00:01' });
    expect(state.punches[1]).toEqual({ sn: SN, userId: 'S0003', type: 1, recogTime: '2026-03-01 08:00:02' });
    expect(state.punches.map((p) => p.recogTime)).toEqual(
      journal.map((p) => `2026-03-01 08:00:${String(p.seq).padStart(2, '0')}`),
    );
    expect(state.violations).toEqual([]);
    expect(rig.upstream.health().details?.['uploadedRecords']).toBe(25);
  });

  it('settles a punch whose worker has no Sichuan id, with a count in health', async () => {
    rig = await startRig();
    const batch = [makePunch(1), makePunch(2, { workerId: 'w-none' }), makePunch(3, { workerId: null })];
    expect(await rig.upstream.deliver(batch)).toEqual({ acknowledged: 3 });
    expect(rig.emulator.state().punches.map((p) => p.userId)).toEqual(['S0002']);
    expect(rig.upstream.health().details?.['unsendablePunches']).toBe(2);
    expect(await rig.upstream.deliver([makePunch(4, { workerId: 'w-none' })])).toEqual({ acknowledged: 1 });
    expect(rig.emulator.state().uploads).toHaveLength(1);
  });

  it('registers a worker and returns the platform userId; a refusal carries the platform Msg', async () => {
    rig = await startRig();
    const form = {
      idCardNo: '51010019900101123X',
      name: '张三',
      gender: 'male' as const,
      nation: '汉',
      birthday: '1990-01-01',
      address: '四川省成都市',
      idIssuer: '成都市公安局',
      idPeriod: '20100101-长期',
      idPhoto: PHOTO,
      photo: PHOTO,
      userType: 1 as const,
    };
    const { userId } = await rig.upstream.register(form);
    expect(userId).toMatch(/^U\d{8}$/);
    const [registration] = rig.emulator.state().registrations;
    expect(registration).toMatchObject({ userId, idCardNo: '51010019900101123X', name: '张三', gender: '1' });
    expect(registration?.photoBytes).toBe(PHOTO.length);
    const refused = rig.upstream.register({ ...form, idCardNo: '123' });
    await expect(refused).rejects.toBeInstanceOf(SichuanRegistrationError);
    await expect(refused).rejects.toThrow(/Idno is not an 18- or 15-character ID number/);
  });

  it('loses nothing through a platform outage while punches keep coming', async () => {
    rig = await startRig();
    const journal = Array.from({ length: 20 }, (_, i) => makePunch(i + 1));
    let cursor = await drain(rig.upstream, journal, 0);
    await rig.emulator.stop();
    for (let i = 21; i <= 60; i++) journal.push(makePunch(i));
    // Down: deliveries fail, nothing is acknowledged, the cursor holds.
    const stalled = await drain(
      rig.upstream,
      journal,
      cursor,
      (() => {
        let rounds = 0;
        return () => ++rounds > 5;
      })(),
    );
    expect(stalled).toBe(cursor);
    expect(rig.upstream.health().connected).toBe(false);
    expect(rig.upstream.health().lastError).toMatch(/UploadData/);
    await rig.emulator.start();
    for (let i = 61; i <= 75; i++) journal.push(makePunch(i));
    cursor = await drain(rig.upstream, journal, cursor);
    expect(cursor).toBe(75);
    // Every punch arrived, once and in journal order (Beijing time is UTC+8).
    const expected = journal.map((p) =>
      new Date(p.atMs + 8 * 3600_000).toISOString().slice(0, 19).replace('T', ' '),
    );
    expect(rig.emulator.state().punches.map((p) => p.recogTime)).toEqual(expected);
    expect(rig.upstream.health().connected).toBe(true);
  });

  it('corrects a 10-minute clock skew from the -3 answer and its Date header', async () => {
    rig = await startRig();
    rig.emulator.setFaults({ clockSkewMs: 600_000 });
    const result = await rig.upstream.deliver([makePunch(1)]);
    expect(result).toEqual({ acknowledged: 1 });
    const offset = rig.upstream.health().details?.['clockOffsetMs'] as number;
    expect(Math.abs(offset - 600_000)).toBeLessThan(2000);
    expect(rig.state.values.get(CLOCK_OFFSET_SLOT)).toBe(offset);
    expect(rig.emulator.state().violations.map((v) => v.result)).toEqual([-3]);
    // Later requests are signed with the corrected time: no further -3.
    await rig.upstream.heartbeat();
    expect(rig.emulator.state().violations).toHaveLength(1);
    expect(rig.emulator.state().heartbeats).toBe(1);
  });

  it('backs off exponentially on -4, -99 and HTTP 500, then recovers', async () => {
    rig = await startRig();
    rig.emulator.setFaults({ rateLimit: { max: 1, perMs: 60_000 } });
    expect(await rig.upstream.deliver([makePunch(1)])).toEqual({ acknowledged: 1 });
    const first = await rig.upstream.deliver([makePunch(2)]);
    const second = await rig.upstream.deliver([makePunch(2)]);
    expect(first).toMatchObject({ acknowledged: 0, error: expect.stringMatching(/-4/) });
    expect(second.retryAfterMs).toBeGreaterThan(first.retryAfterMs!);
    expect(rig.emulator.state().answers.filter((a) => a.result === -4)).toHaveLength(2);
    rig.emulator.setFaults({ rateLimit: null, serverErrorNext: 1, http500Next: 1 });
    const http500 = await rig.upstream.deliver([makePunch(2)]);
    expect(http500).toMatchObject({ acknowledged: 0, error: expect.stringMatching(/HTTP 500/) });
    const minus99 = await rig.upstream.deliver([makePunch(2)]);
    expect(minus99).toMatchObject({ acknowledged: 0, error: expect.stringMatching(/-99/) });
    expect(minus99.retryAfterMs).toBeGreaterThan(http500.retryAfterMs!);
    expect(await rig.upstream.deliver([makePunch(2)])).toEqual({ acknowledged: 1 });
    // Success resets the backoff.
    rig.emulator.setFaults({ serverErrorNext: 1 });
    expect((await rig.upstream.deliver([makePunch(3)])).retryAfterMs).toBe(15);
  });

  it('raises a configuration alert on -1 and stops hammering', async () => {
    rig = await startRig({ config: { sn: 'NOT-REGISTERED' } });
    const result = await rig.upstream.deliver([makePunch(1)]);
    expect(result).toMatchObject({ acknowledged: 0, retryAfterMs: 60_000 });
    expect(rig.upstream.health().configAlert).toMatch(/does not know device sn NOT-REGISTERED/);
    const answered = rig.emulator.state().answers.length;
    const again = await rig.upstream.deliver([makePunch(1)]);
    await rig.upstream.heartbeat();
    expect(again.acknowledged).toBe(0);
    expect(again.retryAfterMs).toBeGreaterThan(59_000);
    expect(rig.emulator.state().answers).toHaveLength(answered);
    expect(rig.emulator.state().violations.map((v) => v.result)).toEqual([-1]);
  });

  it('raises a configuration alert on -2 (wrong device key), recorded by the platform', async () => {
    rig = await startRig({ config: { deviceKey: 'not-the-key' } });
    await rig.upstream.start();
    await rig.upstream.heartbeat();
    expect(rig.upstream.health().configAlert).toMatch(/sign \(-2\)/);
    expect(rig.emulator.state().violations).toMatchObject([{ endpoint: 'Online', result: -2 }]);
    expect(rig.emulator.state().heartbeats).toBe(0);
  });

  it('gives up on a slow answer after requestTimeoutMs without acknowledging', async () => {
    rig = await startRig({ config: { requestTimeoutMs: 1000 } });
    rig.emulator.setFaults({ delayMs: 1500 });
    const result = await rig.upstream.deliver([makePunch(1)]);
    expect(result).toMatchObject({ acknowledged: 0, error: expect.stringMatching(/1000 ms/) });
    rig.emulator.setFaults({ delayMs: 0 });
    expect(await rig.upstream.deliver([makePunch(1)])).toEqual({ acknowledged: 1 });
  });

  it('works with upper-case signs, base64 ciphertext and a 16-character text key and IV', async () => {
    const options = { sm4Key: 'abcdefghijklmnop', sm4Iv: '1234567890abcdeF' };
    rig = await startRig({
      emulator: { ...options, cipherEncoding: 'base64' },
      config: { ...options, cipherEncoding: 'base64', signCase: 'upper' },
    });
    rig.emulator.addIssueTask([{ userId: 'S0001', name: '张三', userType: 1 }]);
    await rig.upstream.start();
    await rig.upstream.heartbeat();
    expect(await rig.upstream.deliver([makePunch(1), makePunch(2)])).toEqual({ acknowledged: 2 });
    expect(rig.emulator.state().punches).toHaveLength(2);
    expect(rig.emulator.state().tasks[0]?.state).toBe('succeeded');
    expect(rig.emulator.state().violations).toEqual([]);
  });
});
