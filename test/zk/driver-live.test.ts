import { afterEach, describe, expect, it } from 'vitest';
import type { ZkEmulatorOptions } from '../../adapters/zk/emulator';
import type { RawPunch } from '../../gateway/model';
import { Lab, REPLY_MODES, waitFor } from './support';

const lab = new Lab();
afterEach(() => lab.cleanup());

describe.each(REPLY_MODES)(
  'ZkDriver real-time, roster and clock against the emulator (replies $replies)',
  ({ options: replyOptions }) => {
    const startEmulator = (options: ZkEmulatorOptions = {}) => lab.emulator({ ...replyOptions, ...options });

    it('delivers real-time punches after a bulk read on the same connection and acknowledges each', async () => {
      const emulator = await startEmulator({ users: 4, records: 2000, mode: 'chunked', coalesce: true });
      const driver = lab.driver(emulator.port);
      await driver.connect();
      const got: RawPunch[] = [];
      let releaseFirst: () => void = () => undefined;
      const firstHeld = new Promise<void>((r) => {
        releaseFirst = r;
      });
      let calls = 0;
      driver.subscribe(async (punches) => {
        got.push(...punches);
        // Hold the first hand-over (one punch, or both if they arrived in one read) like a slow journal.
        if (++calls === 1) await firstHeld;
      });
      expect((await driver.readPunchesSince(null)).punches).toHaveLength(2000);
      emulator.addPunch({ pin: '2', time: '2030-02-03T04:05:06', verify: 15, state: 1 });
      emulator.addPunch({ pin: '3', time: '2030-02-03T04:05:07', verify: 2, state: 0 });
      await waitFor(() => got.length >= 1);
      // The ack waits for the listener (the journal) to settle.
      await new Promise((r) => setTimeout(r, 50));
      expect(emulator.stats.eventAcks).toBe(0);
      releaseFirst();
      await waitFor(() => got.length === 2 && emulator.stats.eventAcks === 2);
      expect(got[0]).toEqual({
        terminalId: 'zk1',
        pin: '2',
        time: { wall: '2030-02-03T04:05:06' },
        verifyCode: 15,
        state: 1,
        source: 'realtime',
      });
      expect(got[1]?.verifyCode).toBe(2);
    });

    it("acknowledges every event with its session and the event's reply number, as pyzk does", async () => {
      // The emulator takes an ACK_OK as an acknowledgement only with the client's session and the
      // events' reply number (0); anything else it counts as a stray ACK that acknowledges nothing.
      const emulator = await startEmulator({ users: 3, enrolDelayMs: 50 });
      const driver = lab.driver(emulator.port);
      await driver.connect();
      const got: RawPunch[] = [];
      driver.subscribe(async (p) => {
        got.push(...p);
      });
      emulator.addPunch({ pin: '1', time: '2030-05-06T07:08:09' });
      await waitFor(() => got.length === 1 && emulator.stats.eventAcks + emulator.stats.strayAcks === 1);
      // An EF_ENROLLFINGER goes the other way through the driver; it is acknowledged the same.
      await driver.startEnrolment('2', 'fp', AbortSignal.timeout(5000));
      await waitFor(() => emulator.stats.eventAcks + emulator.stats.strayAcks === 2);
      expect(emulator.stats).toMatchObject({ eventsSent: 2, eventAcks: 2, strayAcks: 0 });
    });

    for (const eventSize of [32, 36, 37] as const) {
      it(`decodes ${eventSize}-byte EF_ATTLOG events`, async () => {
        const emulator = await startEmulator({ users: 2, eventSize });
        const driver = lab.driver(emulator.port);
        await driver.connect();
        const got: RawPunch[] = [];
        driver.subscribe(async (p) => {
          got.push(...p);
        });
        emulator.addPunch({ pin: '123456789', time: '2029-12-31T23:59:58', verify: 1 });
        await waitFor(() => got.length === 1);
        expect(got[0]).toMatchObject({ pin: '123456789', time: { wall: '2029-12-31T23:59:58' } });
      });
    }

    it('authenticates with the communication key and fails clearly with a wrong one', async () => {
      const emulator = await startEmulator({ users: 2, records: 10, commKey: 123456 });
      const good = lab.driver(emulator.port, { commKey: 123456 });
      await good.connect();
      expect((await good.readPunchesSince(null)).punches).toHaveLength(10);
      const bad = lab.driver(emulator.port, { commKey: 654321 });
      await expect(bad.connect()).rejects.toThrow(/communication key/);
      expect(bad.health()).toMatchObject({ online: false });
      expect(bad.health().lastError).toMatch(/communication key/);
      const none = lab.driver(emulator.port);
      await expect(none.connect()).rejects.toThrow(/communication key/);
    });

    for (const encoding of ['gb18030', 'utf8'] as const) {
      it(`round-trips users with ${encoding} names, u32 cards, and deletes them`, async () => {
        const emulator = await startEmulator({ users: 2, encoding });
        const driver = lab.driver(emulator.port, { encoding });
        await driver.connect();
        await driver.upsertUser({
          pin: '900',
          name: '张三丰',
          card: 4_000_000_001,
          password: '1234',
          privilege: 14,
        });
        await driver.upsertUser({ pin: '901', name: 'José', card: 70_000 });
        await driver.upsertUser({ pin: '900', name: '张三丰丰', card: 5 });
        const users = await driver.listUsers();
        expect(users).toHaveLength(4);
        expect(users.find((u) => u.pin === '900')).toMatchObject({
          name: '张三丰丰',
          card: 5,
          password: '',
          privilege: 0,
        });
        expect(users.find((u) => u.pin === '901')).toMatchObject({ name: 'José', card: 70_000 });
        expect(emulator.users().find((u) => u.pin === '900')?.name).toBe('张三丰丰');
        await driver.upsertUser({ pin: '902', name: '李四', card: 4_294_967_295 });
        expect((await driver.listUsers()).find((u) => u.pin === '902')?.card).toBe(4_294_967_295);
        await driver.deleteUser('901');
        await driver.deleteUser('nobody');
        expect((await driver.listUsers()).map((u) => u.pin)).toEqual(['1', '2', '900', '902']);
        await expect(driver.upsertUser({ pin: '1234567890', name: 'x' })).rejects.toThrow(/PIN/);
      });
    }

    it('writes and reads templates, and enrols a finger that completes by event', async () => {
      const emulator = await startEmulator({ users: 3, enrolDelayMs: 100 });
      const driver = lab.driver(emulator.port);
      await driver.connect();
      expect(driver.capabilities().templateFormat).toBe('zk-fp10');
      const data = new Uint8Array(600).map((_, i) => (i * 7) & 0xff);
      await driver.writeTemplate({ pin: '2', kind: 'fp', index: 3, format: 'zk-fp10', data });
      const read = await driver.readTemplates('2');
      expect(read).toHaveLength(1);
      expect(read[0]).toMatchObject({ pin: '2', kind: 'fp', index: 3, format: 'zk-fp10' });
      expect(Buffer.from(read[0]?.data ?? []).equals(Buffer.from(data))).toBe(true);
      await expect(
        driver.writeTemplate({ pin: '2', kind: 'fp', index: 1, format: 'zk-fp12', data }),
      ).rejects.toThrow(/format/);

      // The emulator sends EF_ENROLLFINGER in the published layout (PIN at 4, finger at 13).
      const result = await driver.startEnrolment('2', 'fp');
      expect(result.pin).toBe('2');
      expect(result.templates).toHaveLength(1);
      expect(result.templates[0]?.index).toBe(0);
      expect(emulator.templates('2').map((t) => t.index)).toEqual([0, 3]);
      const stored = emulator.templates('2')[0]?.data;
      expect(stored && Buffer.from(result.templates[0]?.data ?? []).equals(stored)).toBe(true);

      const abort = new AbortController();
      const slow = await startEmulator({ users: 1, enrolDelayMs: 5000 });
      const driver2 = lab.driver(slow.port);
      await driver2.connect();
      const pending = driver2.startEnrolment('1', 'fp', abort.signal);
      setTimeout(() => abort.abort(new Error('operator cancelled')), 100);
      await expect(pending).rejects.toThrow(/operator cancelled/);
      expect(slow.templates('1')).toHaveLength(0);
    });

    it('refuses a completed enrolment reported without a PIN or for another worker', async () => {
      const emulator = await startEmulator({ users: 3, enrolDelayMs: 50 });
      const driver = lab.driver(emulator.port);
      await driver.connect();
      emulator.faults.enrolEventPin = '';
      await expect(driver.startEnrolment('2', 'fp', AbortSignal.timeout(5000))).rejects.toThrow(
        'enrolment of 2: the terminal reported a completed enrolment without a PIN',
      );
      emulator.faults.enrolEventPin = '3';
      await expect(driver.startEnrolment('1', 'fp', AbortSignal.timeout(5000))).rejects.toThrow(
        'enrolment of 1: the terminal reported a completed enrolment of 3',
      );
      // The link is fine: the next, correctly reported enrolment goes through.
      delete emulator.faults.enrolEventPin;
      const result = await driver.startEnrolment('3', 'fp', AbortSignal.timeout(5000));
      expect(result.templates.map((t) => t.index)).toEqual([0]);
      expect(driver.health().online).toBe(true);
    });

    it('reads the fingerprint format the terminal reports, and names the command a terminal refuses', async () => {
      const emulator = await startEmulator({ users: 2, fingerprintVersion: 9 });
      const driver = lab.driver(emulator.port);
      await driver.connect();
      expect(driver.capabilities().templateFormat).toBe('zk-fp9');
      expect(driver.health()).toMatchObject({ online: true, userCount: 2 });
      // The emulator answers ACK_ERROR to enrolling a PIN it does not hold: a refusal, not a reply form.
      await expect(driver.startEnrolment('404', 'fp')).rejects.toThrow(
        'CMD_STARTENROLL answered CMD_ACK_ERROR',
      );
      expect(driver.health().online).toBe(true);
      expect((await driver.listUsers()).map((u) => u.pin)).toEqual(['1', '2']);
    });

    it('reads a drifting clock, reports the offset, and sets it right', async () => {
      const emulator = await startEmulator({ clockDriftSeconds: 95, timeZone: 'Asia/Shanghai' });
      const driver = lab.driver(emulator.port, { timezone: 'Asia/Shanghai' });
      await driver.connect();
      const before = emulator.clock();
      const time = await driver.getTime();
      // The terminal's second may tick between the read and the check: either reading is right.
      expect([before, emulator.clock()]).toContain('wall' in time && time.wall);
      expect(Math.abs((driver.health().clockOffsetSeconds ?? 0) - 95)).toBeLessThanOrEqual(1);
      await driver.setTime({ utcMs: Date.now() });
      expect(Math.abs(emulator.clockOffsetSeconds())).toBeLessThanOrEqual(1);
      expect(Math.abs(driver.health().clockOffsetSeconds ?? 99)).toBeLessThanOrEqual(1);
      await driver.setTime({ wall: '2030-06-07T08:09:10' });
      expect((await driver.getTime()) as { wall: string }).toHaveProperty(
        'wall',
        expect.stringMatching(/^2030-06-07T08:09:1/),
      );
    });

    it('falls back to UDP for old firmware (16-byte records, 28-byte users)', async () => {
      const emulator = await startEmulator({ udp: true, users: 6, records: 3000, mode: 'chunked' });
      const driver = lab.driver(emulator.port, { transport: 'auto' });
      await driver.connect();
      expect(driver.health().details?.['transport']).toBe('udp');
      const batch = await driver.readPunchesSince(null);
      expect(batch.punches).toHaveLength(3000);
      expect(batch.punches.map((p) => p.pin)).toEqual(emulator.attendance().map((r) => r.pin));
      await driver.upsertUser({ pin: '77', name: 'Ana', card: 123 });
      expect((await driver.listUsers()).find((u) => u.pin === '77')).toMatchObject({
        name: 'Ana',
        card: 123,
      });
      const got: RawPunch[] = [];
      driver.subscribe(async (p) => {
        got.push(...p);
      });
      emulator.addPunch({ pin: '77', time: '2030-01-01T00:00:01' });
      await waitFor(() => got.length === 1 && emulator.stats.eventAcks === 1);
      expect(got[0]?.pin).toBe('77');
    });

    it('serves several terminals at once while one is dead: the dead one fails fast', async () => {
      const live = await Promise.all([1, 2, 3].map(() => startEmulator({ users: 3, records: 1500 })));
      const dead = await startEmulator({});
      const deadPort = dead.port;
      await dead.stop();
      const drivers = live.map((e) => lab.driver(e.port));
      const deadDriver = lab.driver(deadPort, { transport: 'tcp' });
      const started = Date.now();
      const results = await Promise.allSettled([deadDriver.connect(), ...drivers.map((d) => d.connect())]);
      expect(results[0]?.status).toBe('rejected');
      expect(results.slice(1).every((r) => r.status === 'fulfilled')).toBe(true);
      const batches = await Promise.all(drivers.map((d) => d.readPunchesSince(null)));
      expect(batches.map((b) => b.punches.length)).toEqual([1500, 1500, 1500]);
      expect(Date.now() - started).toBeLessThan(2000);
      expect(deadDriver.health()).toMatchObject({ online: false });
      expect(deadDriver.health().lastError).toMatch(/ECONNREFUSED/);
    });

    it('drops a silent terminal after the timeout and tells the supervisor', async () => {
      const emulator = await startEmulator({ users: 1, records: 5 });
      const driver = lab.driver(emulator.port, { timeoutMs: 300 });
      await driver.connect();
      const reasons: Error[] = [];
      driver.onDisconnect((e) => reasons.push(e));
      emulator.faults.replyDelayMs = 2000;
      await expect(driver.getTime()).rejects.toThrow(/no answer/);
      expect(reasons).toHaveLength(1);
      expect(driver.health().online).toBe(false);
      await expect(driver.listUsers()).rejects.toThrow(/not connected/);
    });
  },
);

describe('ZkDriver against firmware that answers every command with ACK_DATA', () => {
  it('connects, reads, writes users and templates, enrols, sets the clock and clears the log', async () => {
    const emulator = await lab.emulator({ ackData: 'all', users: 3, records: 2500, enrolDelayMs: 50 });
    const driver = lab.driver(emulator.port, { clearLogAfterJournal: true });
    await driver.connect();
    const batch = await driver.readPunchesSince(null);
    expect(batch.punches).toHaveLength(2500);
    const template = { kind: 'fp' as const, index: 4, format: 'zk-fp10', data: new Uint8Array(700).fill(9) };
    await driver.writeUsers([
      { user: { pin: '50', name: '张三丰', card: 77 }, templates: [{ pin: '50', ...template }] },
      { user: { pin: '51', name: 'José' }, templates: [] },
    ]);
    await driver.upsertUser({ pin: '52', name: 'Ana' });
    await driver.deleteUser('1');
    expect((await driver.listUsers()).map((u) => u.pin)).toEqual(['2', '3', '50', '51', '52']);
    expect((await driver.readTemplates('50')).map((t) => t.index)).toEqual([4]);
    const enrolled = await driver.startEnrolment('51', 'fp', AbortSignal.timeout(5000));
    expect(enrolled.templates.map((t) => t.index)).toEqual([0]);
    await driver.setTime({ wall: '2031-02-03T04:05:06' });
    expect(await driver.getTime()).toHaveProperty('wall', expect.stringMatching(/^2031-02-03T04:05:0/));
    expect(await driver.clearJournaledLog(batch.cursor)).toEqual({ records: 0, anchor: null });
    expect(emulator.recordCount()).toBe(0);
    expect(driver.health()).toMatchObject({ online: true });
    expect(driver.health().lastError).toBeUndefined();
  });
});
