import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { Cmd } from '../../adapters/zk/constants';
import { ZkDriver } from '../../adapters/zk/driver';
import type { ZkEmulatorOptions } from '../../adapters/zk/emulator';
import { openTcpLink } from '../../adapters/zk/link';
import { ZkSession } from '../../adapters/zk/session';
import {
  decodeUserTemplates,
  encodeUserTemplates,
  SAVE_USERTEMPS_ARGS,
  type ZkUserTemplates,
} from '../../adapters/zk/user-templates';
import { terminalSchema, type ZkTerminalConfig } from '../../config/schema';
import type { BiometricTemplate, UserWithTemplates } from '../../gateway/model';
import { systemClock } from '../../lib/clock';
import { Lab, REPLY_MODES } from './support';

const lab = new Lab();
afterEach(() => lab.cleanup());

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const zeros = (n: number) => '00'.repeat(n);

/** Stable template bytes of varying length, so uploads cross DATA chunk boundaries mid-template. */
function templateBytes(pin: string, finger: number): Uint8Array {
  const length = 300 + ((Number(pin) * 37 + finger * 101) % 1300);
  const b = Buffer.alloc(length);
  let seed = Number(pin) * 10 + finger + 1;
  for (let i = 0; i < length; i++) {
    seed = (seed * 1_103_515_245 + 12_345) >>> 0;
    b[i] = seed >>> 24;
  }
  return b;
}

function fp(pin: string, index: number): BiometricTemplate {
  return { pin, kind: 'fp', index, format: 'zk-fp10', data: templateBytes(pin, index) };
}

/** Worker n: a Chinese name (张三丰 among them), a card, 0–2 fingerprints. */
function roster(count: number, from = 1): UserWithTemplates[] {
  return Array.from({ length: count }, (_, i) => {
    const n = from + i;
    const pin = String(n);
    const fingers = n % 5 === 0 ? [] : n % 7 === 0 ? [0, 6] : [n % 10];
    return {
      user: {
        pin,
        name: n % 50 === 1 ? '张三丰' : `工人${n}`,
        card: 500_000 + n,
        privilege: n === 2 ? 14 : 0,
      },
      templates: fingers.map((f) => fp(pin, f)),
    };
  });
}

async function writeInSlices(driver: ZkDriver, entries: readonly UserWithTemplates[], size = 200) {
  for (let at = 0; at < entries.length; at += size) await driver.writeUsers(entries.slice(at, at + size));
}

describe('SAVE_USERTEMPS buffer codec', () => {
  // pyzk: `<III>` section sizes; repack73 `<BHB8s24sIB7sx24s>`; `<bHbI>` table; `<H>` + template.
  const vector = hex(`
    92000000 08000000 05000000
    02 0100 00 ${zeros(8)} 41${zeros(23)} 04030201 01 ${zeros(7)} 00 31${zeros(23)}
    02 0200 0e 3132${zeros(6)} d5c5c8fdb7e1${zeros(18)} 00000000 01 ${zeros(7)} 00 3432${zeros(22)}
    02 0100 16 00000000
    0300 aabbcc`);
  const entries: ZkUserTemplates[] = [
    {
      user: { uid: 1, pin: '1', name: 'A', card: 0x01020304, password: '', privilege: 0 },
      fingers: [{ index: 6, data: Buffer.from([0xaa, 0xbb, 0xcc]) }],
    },
    { user: { uid: 2, pin: '42', name: '张三丰', card: 0, password: '12', privilege: 14 }, fingers: [] },
  ];

  it('encodes two users (one without a template) byte for byte as pyzk packs them', () => {
    expect(encodeUserTemplates(entries, 'gb18030').toString('hex')).toBe(vector.toString('hex'));
  });

  it('decodes the same bytes back, gb18030 names included', () => {
    const decoded = decodeUserTemplates(vector, 'gb18030');
    expect(
      decoded.users.map(({ uid, pin, name, card, password, privilege }) => ({
        uid,
        pin,
        name,
        card,
        password,
        privilege,
      })),
    ).toEqual(entries.map((e) => e.user));
    expect(decoded.fingers).toEqual([{ uid: 1, index: 6, data: Buffer.from([0xaa, 0xbb, 0xcc]) }]);
  });

  it('refuses malformed buffers with a message saying what is wrong', () => {
    expect(() => decodeUserTemplates(vector.subarray(0, 8), 'gb18030')).toThrow(/12-byte head/);
    expect(() => decodeUserTemplates(vector.subarray(0, vector.length - 1), 'gb18030')).toThrow(/add up/);
    const badTag = Buffer.from(vector);
    badTag[12] = 9;
    expect(() => decodeUserTemplates(badTag, 'gb18030')).toThrow(/tag 9/);
    const badOffset = Buffer.from(vector);
    badOffset.writeUInt32LE(4, 12 + 146 + 4);
    expect(() => decodeUserTemplates(badOffset, 'gb18030')).toThrow(/points at 4/);
    const badLength = Buffer.from(vector);
    badLength.writeUInt16LE(9, 12 + 146 + 8);
    expect(() => decodeUserTemplates(badLength, 'gb18030')).toThrow(/claims 9 bytes/);
    const badFinger = Buffer.from(vector);
    badFinger[12 + 146 + 3] = 0x1a;
    expect(() => decodeUserTemplates(badFinger, 'gb18030')).toThrow(/finger 10/);
    const oddUsers = Buffer.concat([vector.subarray(0, 12), Buffer.alloc(5)]);
    oddUsers.writeUInt32LE(5, 0);
    oddUsers.writeUInt32LE(0, 4);
    oddUsers.writeUInt32LE(0, 8);
    expect(() => decodeUserTemplates(oddUsers, 'gb18030')).toThrow(/multiple of 73/);
  });
});

describe.each(REPLY_MODES)(
  'ZkDriver.writeUsers against the emulator (replies $replies)',
  ({ options: replyOptions }) => {
    const startEmulator = (options: ZkEmulatorOptions = {}) => lab.emulator({ ...replyOptions, ...options });

    it('writes 500 workers in slices at ≤ 2.2 requests each, and reads them all back', async () => {
      const emulator = await startEmulator({
        users: [
          { pin: '3', name: 'old three', card: 1 },
          { pin: '1', name: 'old one', card: 2 },
          { pin: '9999', name: 'stays', card: 3 },
        ],
      });
      const driver = lab.driver(emulator.port);
      await driver.connect();
      const before = emulator.stats.commands;
      const entries = roster(500);
      await writeInSlices(driver, entries);
      const requests = emulator.stats.commands - before;
      expect(requests / entries.length).toBeLessThanOrEqual(2.2);

      // Existing users kept their uid; new ones took the numbers after the highest.
      const onTerminal = new Map(emulator.users().map((u) => [u.pin, u]));
      expect(onTerminal.size).toBe(501);
      expect(onTerminal.get('3')).toMatchObject({ uid: 1, name: '工人3', card: 500_003 });
      expect(onTerminal.get('1')).toMatchObject({ uid: 2, name: '张三丰' });
      expect(onTerminal.get('9999')).toMatchObject({ uid: 3, name: 'stays' });
      expect(new Set([...onTerminal.values()].map((u) => u.uid)).size).toBe(501);
      expect(Math.max(...[...onTerminal.values()].map((u) => u.uid))).toBe(501);

      // A second connection reads the table from the terminal, not from the first driver's cache.
      const reader = lab.driver(emulator.port);
      await reader.connect();
      const listed = new Map((await reader.listUsers()).map((u) => [u.pin, u]));
      for (const { user } of entries)
        expect(listed.get(user.pin)).toMatchObject({
          pin: user.pin,
          name: user.name,
          card: user.card,
          privilege: user.privilege,
          password: '',
        });
      expect([...listed.values()].filter((u) => u.name === '张三丰')).toHaveLength(10);
      for (const { user, templates } of entries) {
        const expected = templates.map((t) => ({ index: t.index, data: Buffer.from(t.data) }));
        expect(emulator.templates(user.pin)).toEqual(expected);
      }
      for (const { user, templates } of entries.filter((_, i) => i % 17 === 0 || i < 10)) {
        const read = await reader.readTemplates(user.pin);
        expect(
          read.map((t) => ({ pin: t.pin, index: t.index, format: t.format, data: Buffer.from(t.data) })),
        ).toEqual(
          templates.map((t) => ({ pin: t.pin, index: t.index, format: t.format, data: Buffer.from(t.data) })),
        );
      }
    });

    it('updates existing workers in place and keeps its uid cache right for later writes', async () => {
      const emulator = await startEmulator({ users: 0 });
      const driver = lab.driver(emulator.port);
      await driver.connect();
      await driver.writeUsers(roster(50));
      const uids = new Map(emulator.users().map((u) => [u.pin, u.uid]));
      const before = emulator.stats.commands;
      const renamed = roster(20, 11).map((e) => ({
        user: { ...e.user, name: `改名${e.user.pin}`, card: 7 },
        templates: [fp(e.user.pin, 9)],
      }));
      // Renamed workers and five new ones in one upload, with no re-read of the user table:
      // FREE_DATA, PREPARE_DATA, one DATA per KB, SAVE_USERTEMPS.
      const update = [...renamed, ...roster(5, 51)];
      const bytes = encodeUserTemplates(
        update.map((e, i) => ({
          user: { uid: i + 1, pin: e.user.pin, name: e.user.name, card: 0, password: '', privilege: 0 },
          fingers: e.templates.map((t) => ({ index: t.index, data: t.data })),
        })),
        'gb18030',
      ).length;
      await driver.writeUsers(update);
      expect(emulator.stats.commands - before).toBe(3 + Math.ceil(bytes / 1024));
      const after = new Map(emulator.users().map((u) => [u.pin, u]));
      expect(after.size).toBe(55);
      for (const e of renamed) {
        expect(after.get(e.user.pin)).toMatchObject({
          uid: uids.get(e.user.pin),
          name: `改名${e.user.pin}`,
          card: 7,
        });
        expect(emulator.templates(e.user.pin).map((t) => t.index)).toContain(9);
      }
      expect([51, 52, 53, 54, 55].map((n) => after.get(String(n))?.uid)).toEqual([51, 52, 53, 54, 55]);
      // Later single writes use the cache the bulk write updated: no uid clash, no table read.
      await driver.upsertUser({ pin: '777', name: '新人' });
      expect(emulator.users().find((u) => u.pin === '777')?.uid).toBe(56);
      await driver.deleteUser('52');
      expect(emulator.users().some((u) => u.pin === '52')).toBe(false);
      expect(emulator.users()).toHaveLength(55);
    });

    it('refuses bad entries before sending anything', async () => {
      const emulator = await startEmulator({ users: 0 });
      const driver = lab.driver(emulator.port);
      await driver.connect();
      const before = emulator.stats.commands;
      const good = roster(3);
      await expect(
        driver.writeUsers([...good, { user: { pin: '1234567890', name: 'x' }, templates: [] }]),
      ).rejects.toThrow(/PIN must be 1–9/);
      await expect(
        driver.writeUsers([
          { user: { pin: '5', name: 'x' }, templates: [{ ...fp('5', 0), format: 'zk-fp9' }] },
        ]),
      ).rejects.toThrow(/format zk-fp9/);
      await expect(
        driver.writeUsers([{ user: { pin: '5', name: 'x' }, templates: [{ ...fp('5', 0), kind: 'fa' }] }]),
      ).rejects.toThrow(/fingerprints only/);
      await expect(
        driver.writeUsers([{ user: { pin: '5', name: 'x' }, templates: [fp('6', 0)] }]),
      ).rejects.toThrow(/template for 6 listed under user 5/);
      expect(emulator.stats.commands).toBe(before);
      expect(emulator.users()).toHaveLength(0);
      await driver.writeUsers([]);
      expect(emulator.stats.commands).toBe(before);
    });

    it('on old firmware (UDP) writes users one by one and skips templates, warning once', async () => {
      const emulator = await startEmulator({ users: 0, udp: true });
      const lines: string[] = [];
      const config = terminalSchema.parse({
        id: 'old',
        driver: 'zk',
        direction: 'state',
        host: '127.0.0.1',
        port: emulator.port,
        transport: 'udp',
        timeoutMs: 2000,
      }) as ZkTerminalConfig;
      const logger = pino({ level: 'warn' }, { write: (line: string) => void lines.push(line) });
      const driver = new ZkDriver(config, { logger, clock: systemClock });
      try {
        await driver.connect();
        await driver.writeUsers(roster(6));
        await driver.writeUsers(roster(6, 7));
        expect(
          emulator
            .users()
            .map((u) => u.pin)
            .sort((a, b) => Number(a) - Number(b)),
        ).toEqual(Array.from({ length: 12 }, (_, i) => String(i + 1)));
        expect(emulator.templates('1')).toEqual([]);
        expect(lines.filter((l) => l.includes('no template upload'))).toHaveLength(1);
      } finally {
        await driver.disconnect();
      }
    });

    it('answers malformed uploads with ACK_ERROR, stores nothing of them, and keeps serving', async () => {
      const emulator = await startEmulator({ users: [{ pin: '1', name: 'one' }] });
      const link = await openTcpLink('127.0.0.1', emulator.port, 2000, {
        onBody: (body) => session.receive(body),
        onClose: () => undefined,
      });
      const session: ZkSession = new ZkSession(link, { timeoutMs: 2000, onEvent: () => undefined });
      try {
        expect((await session.open()).command).toBe(Cmd.ACK_OK);
        const save = (buffer: Buffer) =>
          session.writeBuffer(buffer, Cmd.SAVE_USERTEMPS, SAVE_USERTEMPS_ARGS, 'test');
        const valid = encodeUserTemplates(
          [
            {
              user: { uid: 2, pin: '2', name: 'two', card: 0, password: '', privilege: 0 },
              fingers: [{ index: 1, data: Buffer.alloc(40, 7) }],
            },
          ],
          'gb18030',
        );
        const truncated = valid.subarray(0, valid.length - 3);
        const offsetPast = Buffer.from(valid);
        offsetPast.writeUInt32LE(1_000, 12 + 73 + 4);
        const strangerFinger = encodeUserTemplates(
          [
            {
              user: { uid: 2, pin: '2', name: 'two', card: 0, password: '', privilege: 0 },
              fingers: [],
            },
          ],
          'gb18030',
        );
        const strangerTable = Buffer.concat([strangerFinger, hex('02 6300 10 00000000 0200 abcd')]);
        strangerTable.writeUInt32LE(8, 4);
        strangerTable.writeUInt32LE(4, 8);
        const garbage = Buffer.alloc(3000, 0xff);
        for (const bad of [truncated, offsetPast, strangerTable, garbage, Buffer.alloc(0)])
          expect((await save(bad)).command).toBe(Cmd.ACK_ERROR);
        // SAVE_USERTEMPS with nothing uploaded, and DATA beyond what PREPARE_DATA announced.
        expect((await session.request(Cmd.SAVE_USERTEMPS, SAVE_USERTEMPS_ARGS)).command).toBe(Cmd.ACK_ERROR);
        const four = Buffer.alloc(4);
        four.writeUInt32LE(4, 0);
        expect((await session.request(Cmd.PREPARE_DATA, four)).command).toBe(Cmd.ACK_OK);
        expect((await session.request(Cmd.DATA, Buffer.alloc(5))).command).toBe(Cmd.ACK_ERROR);
        expect((await session.request(Cmd.PREPARE_DATA)).command).toBe(Cmd.ACK_ERROR);
        expect(emulator.users().map((u) => u.pin)).toEqual(['1']);
        expect(emulator.templates('1')).toEqual([]);
        // Still serving: the valid upload on the same connection, then a driver on a new one.
        expect((await save(valid)).command).toBe(Cmd.ACK_OK);
        expect(emulator.templates('2')).toEqual([{ index: 1, data: Buffer.alloc(40, 7) }]);
      } finally {
        await link.close();
      }
      const driver = lab.driver(emulator.port);
      await driver.connect();
      expect((await driver.listUsers()).map((u) => u.pin)).toEqual(['1', '2']);
    });
  },
);
