import { describe, expect, it } from 'vitest';
import { zkChecksum } from '../../adapters/zk/checksum';
import { makeCommKey } from '../../adapters/zk/commkey';
import { Cmd } from '../../adapters/zk/constants';
import { TcpDeframer } from '../../adapters/zk/deframer';
import { decodeAttEvent, decodeEnrolEvent, encodeAttEvent, encodeEnrolEvent } from '../../adapters/zk/events';
import { decodeBody, encodeBody, encodeTcp } from '../../adapters/zk/packet';
import {
  decodeAttendance16,
  decodeAttendance40,
  decodeTemplateRecords,
  decodeUser28,
  decodeUser72,
  encodeAttendance16,
  encodeAttendance40,
  encodeTemplateRecord,
  encodeUser28,
  encodeUser72,
  splitTable,
} from '../../adapters/zk/records';
import { encodeEventAck } from '../../adapters/zk/session';
import { decodeText, encodeText } from '../../adapters/zk/text';
import { decodeTimeHex, decodeZkTime, encodeTimeHex, encodeZkTime } from '../../lib/zk-time';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

describe('ZK checksum (vectors from adrobinoga/zk-protocol)', () => {
  it('vector 1: OPTIONS_RRQ "ZKFaceVersion" → 0x175a', () => {
    const packet = hex('0b00 5a17 f38d 0300 5a4b4661636556657273696f6e00');
    expect(zkChecksum(packet)).toBe(0x175a);
    expect(decodeBody(packet).checksumOk).toBe(true);
  });
  it('vector 2: odd-length ACK_OK packet → 0x6a29', () => {
    const packet = hex('d007 296a f38d 0a00 09');
    expect(zkChecksum(packet)).toBe(0x6a29);
    expect(decodeBody(packet)).toMatchObject({
      command: Cmd.ACK_OK,
      sessionId: 0x8df3,
      replyId: 10,
      checksumOk: true,
    });
  });
  it('rebuilds vector 1 byte for byte', () => {
    const built = encodeBody(Cmd.OPTIONS_RRQ, 0x8df3, 3, Buffer.from('ZKFaceVersion\0', 'latin1'));
    expect(built.toString('hex')).toBe('0b005a17f38d03005a4b4661636556657273696f6e00');
  });
  it('frames TCP packets as 50 50 82 7d + u32 length', () => {
    expect(encodeTcp(Cmd.CONNECT, 0, 0).toString('hex')).toBe('5050827d08000000e80317fc00000000');
  });
});

describe('TCP deframer', () => {
  const a = encodeTcp(Cmd.ACK_OK, 7, 1);
  const b = encodeTcp(Cmd.DATA, 7, 2, Buffer.alloc(3000, 0xab));
  const c = encodeTcp(Cmd.ACK_OK, 7, 3, Buffer.from([1, 2, 3]));
  const all = Buffer.concat([a, b, c]);
  const commands = (bodies: Buffer[]) => bodies.map((x) => decodeBody(x).replyId);

  it('splits coalesced packets', () => {
    expect(commands(new TcpDeframer().push(all))).toEqual([1, 2, 3]);
  });
  it('joins packets split at every byte boundary', () => {
    for (const size of [1, 2, 5, 17, 1000]) {
      const d = new TcpDeframer();
      const out: Buffer[] = [];
      for (let i = 0; i < all.length; i += size) out.push(...d.push(all.subarray(i, i + size)));
      expect(commands(out)).toEqual([1, 2, 3]);
    }
  });
  it('resynchronises after garbage, including a false magic with an absurd length', () => {
    const d = new TcpDeframer(1 << 20);
    const junk = Buffer.concat([hex('0001 0203 5050'), hex('5050827d ffffffff'), hex('99')]);
    const out = d.push(Buffer.concat([junk, a, hex('50 50 82'), b, c]));
    expect(commands(out)).toEqual([1, 2, 3]);
    expect(d.skippedBytes).toBeGreaterThan(0);
  });
});

describe('ZK time', () => {
  it('encodes with the 31-day-month formula', () => {
    expect(encodeZkTime('2000-01-01T00:00:00')).toBe(0);
    // ((24*12*31 + 2*31 + 14) * 86400) + (13*60+45)*60 + 30
    expect(encodeZkTime('2024-03-15T13:45:30')).toBe(
      (24 * 372 + 62 + 14) * 86_400 + (13 * 60 + 45) * 60 + 30,
    );
  });
  it('round-trips across the calendar', () => {
    for (const wall of [
      '2000-01-01T00:00:00',
      '2024-02-29T23:59:59',
      '2031-12-31T12:00:01',
      '2099-07-04T04:05:06',
    ])
      expect(decodeZkTime(encodeZkTime(wall))).toBe(wall);
    expect(decodeTimeHex(encodeTimeHex('2026-11-22T15:09:34'))).toBe('2026-11-22T15:09:34');
    expect(encodeTimeHex('2026-11-22T15:09:34').toString('hex')).toBe('1a0b160f0922');
  });
  it('decodes a log in time order (the minute is remembered) exactly as each time alone', () => {
    // Seconds of one minute, the minute's end, the next hour, back in time, and the same minute again.
    const walls = [
      '2026-11-22T08:15:00',
      '2026-11-22T08:15:01',
      '2026-11-22T08:15:59',
      '2026-11-22T08:16:00',
      '2026-11-22T09:16:00',
      '2026-11-21T09:16:30',
      '2026-11-22T08:15:30',
      '2026-11-22T08:15:30',
    ];
    expect(walls.map((w) => decodeZkTime(encodeZkTime(w)))).toEqual(walls);
  });
  it('rejects malformed or out-of-range wall times clearly', () => {
    expect(() => encodeZkTime('2024-13-01T00:00:00')).toThrow(/out of range/);
    expect(() => encodeZkTime('2024-01-01 00:00:00')).toThrow(/wall time/);
    expect(() => encodeZkTime('1999-12-31T23:59:59')).toThrow(/2000/);
  });
});

describe('names', () => {
  it('round-trips 张三丰 and José in gb18030 and utf8', () => {
    for (const encoding of ['gb18030', 'utf8'] as const) {
      for (const name of ['张三丰', 'José'])
        expect(decodeText(encodeText(name, 24, encoding), encoding)).toBe(name);
    }
    expect(encodeText('张三丰', 24, 'gb18030').subarray(0, 6).toString('hex')).toBe('d5c5c8fdb7e1');
    expect(encodeText('José', 24, 'utf8').subarray(0, 5).toString('hex')).toBe('4a6f73c3a9');
  });
  it('cuts on a character boundary, never mid-character', () => {
    expect(decodeText(encodeText('张三丰', 5, 'gb18030'), 'gb18030')).toBe('张三');
    expect(decodeText(encodeText('张三丰', 8, 'utf8'), 'utf8')).toBe('张三');
  });
});

describe('records', () => {
  const punch = { uid: 12, pin: '4711', time: '2026-01-02T03:04:05', verify: 15, state: 1 };
  it('40-byte attendance matches the <H24sB4sB8s> layout', () => {
    const b = encodeAttendance40(punch);
    expect(b.length).toBe(40);
    expect(b.readUInt16LE(0)).toBe(12);
    expect(b.subarray(2, 6).toString('latin1')).toBe('4711');
    expect(b[26]).toBe(15);
    expect(b.readUInt32LE(27)).toBe(encodeZkTime(punch.time));
    expect(b[31]).toBe(1);
    expect(decodeAttendance40(b)).toEqual(punch);
  });
  it('reads every kind of PIN in an attendance record, cached digits or not', () => {
    const pins = [
      '7',
      '007',
      '0',
      '',
      '123456789',
      '1234567890',
      '00000000000000000000001',
      'A12',
      '12A',
      'x-9.b',
      '7',
    ];
    for (const pin of pins) {
      const decoded = decodeAttendance40(encodeAttendance40({ ...punch, pin })).pin;
      expect(decoded).toBe(pin);
    }
    // One string per digit PIN: the same instance each time it is read.
    const b = encodeAttendance40({ ...punch, pin: '4242' });
    expect(Object.is(decodeAttendance40(b).pin, decodeAttendance40(b).pin)).toBe(true);
  });
  it('16-byte attendance (old firmware) round-trips', () => {
    const b = encodeAttendance16(punch);
    expect(b.toString('hex').slice(0, 8)).toBe('67120000');
    expect(decodeAttendance16(b)).toEqual({ ...punch, uid: 0 });
  });
  it('72-byte and 28-byte users round-trip with u32 cards', () => {
    const user = {
      uid: 300,
      pin: '123456789',
      name: '张三丰',
      privilege: 14,
      password: '1234',
      card: 4_000_000_001,
      group: '1',
    };
    const b = encodeUser72(user, 'gb18030');
    expect(b.length).toBe(72);
    expect(b.readUInt32LE(35)).toBe(4_000_000_001);
    expect(b.subarray(48, 57).toString('latin1')).toBe('123456789');
    expect(decodeUser72(b, 'gb18030')).toEqual(user);
    const old = encodeUser28({ ...user, name: 'José', pin: '77' }, 'utf8');
    expect(old.length).toBe(28);
    expect(decodeUser28(old, 'utf8')).toEqual({ ...user, name: 'José', pin: '77' });
  });
  it('template records and bulk tables', () => {
    const t = { uid: 5, fingerIndex: 6, valid: 1, data: Buffer.from('SS21template') };
    const both = Buffer.concat([encodeTemplateRecord(t), encodeTemplateRecord({ ...t, fingerIndex: 7 })]);
    expect(both.readUInt16LE(0)).toBe(18);
    expect(decodeTemplateRecords(both)).toEqual([t, { ...t, fingerIndex: 7 }]);
    const table = Buffer.concat([hex('50000000'), Buffer.alloc(40)]);
    expect(() => splitTable(table, 'attendance log')).toThrow(/40 bytes received, 80 announced/);
  });
});

describe('real-time events and comm key', () => {
  it('decodes EF_ATTLOG in 12, 32, 36, 37 and 52-byte layouts', () => {
    const e = { pin: '88', verify: 2, state: 4, time: '2030-10-11T12:13:14' };
    for (const size of [12, 32, 36, 37, 52] as const) {
      const b = encodeAttEvent(e, size);
      expect(b.length).toBe(size);
      expect(decodeAttEvent(b)).toEqual(e);
    }
    expect(() => decodeAttEvent(Buffer.alloc(20))).toThrow(/20 bytes/);
  });
  it('EF_ENROLLFINGER in the published layout (adrobinoga/zk-protocol, "Enrolled Finger")', () => {
    // result u16 LE at 0 | template size u16 LE at 2 | PIN, 9-byte string at 4 | finger u8 at 13
    const pin2 = hex('0000 0002 320000000000000000 06');
    expect(pin2).toHaveLength(14);
    expect(decodeEnrolEvent(pin2)).toEqual({ result: 0, size: 512, pin: '2', fingerIndex: 6 });
    expect(encodeEnrolEvent({ result: 0, size: 512, pin: '2', fingerIndex: 6 }).equals(pin2)).toBe(true);
    // A PIN that fills all nine bytes has no terminator.
    const pin9 = hex('0000 2c05 313233343536373839 09');
    expect(decodeEnrolEvent(pin9)).toEqual({ result: 0, size: 1324, pin: '123456789', fingerIndex: 9 });
    expect(encodeEnrolEvent({ result: 0, size: 1324, pin: '123456789', fingerIndex: 9 }).equals(pin9)).toBe(
      true,
    );
    // A failed enrolment may carry the result alone (here 4, a mismatch).
    expect(decodeEnrolEvent(hex('0400'))).toEqual({ result: 4, size: 0, pin: '', fingerIndex: -1 });
    expect(() => decodeEnrolEvent(hex('0000 0002 32'))).toThrow(/5 bytes reports success: 14 expected/);
    expect(() => decodeEnrolEvent(hex('00'))).toThrow(/1 bytes: no result code/);
    expect(() => encodeEnrolEvent({ result: 0, size: 1, pin: '1234567890', fingerIndex: 0 })).toThrow(
      /9 bytes/,
    );
  });

  it("acknowledges an event with ACK_OK, the session and the event's reply number (pyzk, zk-protocol realtime)", () => {
    // zk-protocol realtime: rtpacket(event=EF_X, reply number=0000), here EF_FINGER (2, no data):
    // REG_EVENT f401, checksum 09fe (0x01f4 + 0x0002 = 0x01f6, complemented), the event code in the
    // session field 0200, reply 0000.
    const event = decodeBody(hex('f401 09fe 0200 0000'));
    expect(event).toMatchObject({ command: Cmd.REG_EVENT, sessionId: 2, replyId: 0, checksumOk: true });
    // pyzk's __ack_ok for session 0x8df3 (the vectors' session): ACK_OK d007, checksum 3c6a
    // (0x07d0 + 0x8df3 = 0x95c3, complemented), session f38d, reply 0000 (its builder turns the
    // 65,534 it is given into 0).
    const pyzkAck = hex('d007 3c6a f38d 0000');
    expect(decodeBody(pyzkAck)).toMatchObject({
      command: Cmd.ACK_OK,
      sessionId: 0x8df3,
      replyId: 0,
      checksumOk: true,
    });
    expect(encodeEventAck(0x8df3, event).toString('hex')).toBe(pyzkAck.toString('hex'));
  });

  it('make_commkey matches pyzk (vectors computed with the pyzk function)', () => {
    expect(makeCommKey(0, 0).toString('hex')).toBe('617d3279');
    expect(makeCommKey(123456, 14855).toString('hex')).toBe('267f32c3');
    expect(makeCommKey(999999999, 65000, 7).toString('hex')).toBe('c0b7071b');
  });
});
