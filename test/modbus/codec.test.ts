import { writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  decodeEventRecord,
  decodeHeader,
  directionOf,
  encodeEventRecord,
  readU32,
  seqDelta,
  verifyCodeOf,
  writeU32,
} from '../../adapters/modbus/codec';
import { builtInProfile, headerSpan, loadProfile, parseProfile } from '../../adapters/modbus/profile';
import { chunkRun, planRingRuns } from '../../adapters/modbus/ring-plan';
import { crc16, MbapDeframer, mbapFrame, RtuRequestDeframer, rtuFrame } from '../../adapters/modbus/wire';
import { tempDir } from '../support/tmp';

const profile = builtInProfile('event-ring-v1');

describe('event-ring-v1 register codec', () => {
  // seq 65538, PIN 12345, 2023-11-14T22:13:20Z (1700000000 = 0x6553F100), face, in.
  const vector = [0x0001, 0x0002, 0x0000, 0x3039, 0x6553, 0xf100, 0x0002, 0x0001];
  const record = { seq: 65538, pin: 12345, timeSec: 1_700_000_000, method: 2, direction: 1 };

  it('decodes an 8-register record, high word first', () => {
    expect(decodeEventRecord(vector, 0, profile)).toEqual(record);
    expect(decodeEventRecord([0, 0, ...vector], 2, profile)).toEqual(record);
  });

  it('encodes a record to the same registers', () => {
    expect(encodeEventRecord(record, profile)).toEqual(vector);
  });

  it('reads and writes u32 in both word orders', () => {
    const regs: number[] = [];
    writeU32(regs, 0, 0xdeadbeef, 'high-first');
    expect(regs).toEqual([0xdead, 0xbeef]);
    writeU32(regs, 0, 0xdeadbeef, 'low-first');
    expect(regs).toEqual([0xbeef, 0xdead]);
    expect(readU32([0xbeef, 0xdead], 0, 'low-first')).toBe(0xdeadbeef);
    expect(readU32([0xffff, 0xffff], 0, 'high-first')).toBe(0xffff_ffff);
  });

  it('decodes the header (version, u32 counter, capacity) from registers 0–3', () => {
    expect(headerSpan(profile.header)).toEqual({ address: 0, count: 4 });
    expect(decodeHeader([1, 0x0001, 0x86a0, 1000], 0, profile)).toEqual({
      version: 1,
      counter: 100_000,
      capacity: 1000,
    });
  });

  it('maps method and direction codes through the profile', () => {
    expect([0, 1, 2, 3].map((c) => verifyCodeOf(profile, c))).toEqual([0, 1, 2, 3]);
    expect(verifyCodeOf(profile, 9)).toBe(1009);
    expect([0, 1, 2, 7].map((c) => directionOf(profile, c))).toEqual([undefined, 'in', 'out', undefined]);
  });

  it('does sequence arithmetic modulo 2^32', () => {
    expect(seqDelta(0xffff_fffb, 3)).toBe(8);
    expect(seqDelta(500, 3)).toBeGreaterThan(0x8000_0000);
  });
});

describe('ring read planning', () => {
  const ring = profile.ring;

  it('reads a full ring of 1000 in whole records: 15 per request, ceil(1000/15) = 67 requests', () => {
    const runs = planRingRuns(0, 1000, 1000, ring);
    expect(runs).toEqual([{ firstSeq: 0, records: 1000, address: 100, registers: 8000 }]);
    const chunks = runs.flatMap((r) => chunkRun(r, 125, 8));
    expect(chunks).toHaveLength(67);
    expect(chunks.every((c) => c.count <= 125 && c.count % 8 === 0 && (c.address - 100) % 8 === 0)).toBe(
      true,
    );
    expect(chunks[1]).toEqual({ address: 220, count: 120 });
    expect(chunks.at(-1)).toEqual({ address: 100 + 66 * 120, count: 8000 - 66 * 120 });
  });

  it('never splits a record, whatever the per-read limit', () => {
    const run = planRingRuns(0, 10, 1000, ring)[0];
    if (!run) throw new Error('no run');
    // 20 registers a read: 2 whole records (16), never 2.5.
    expect(chunkRun(run, 20, 8).map((c) => c.count)).toEqual([16, 16, 16, 16, 16]);
    expect(chunkRun(run, 8, 8)).toHaveLength(10);
    expect(() => chunkRun(run, 7, 8)).toThrow(/does not fit/);
  });

  it('splits at the end of the ring', () => {
    expect(planRingRuns(995, 10, 1000, ring)).toEqual([
      { firstSeq: 995, records: 5, address: 100 + 995 * 8, registers: 40 },
      { firstSeq: 1000, records: 5, address: 100, registers: 40 },
    ]);
  });

  it('splits at the u32 counter wrap, where the slot index jumps', () => {
    const first = 0xffff_fffd; // slot 293 of 1000
    expect(planRingRuns(first, 6, 1000, ring)).toEqual([
      { firstSeq: first, records: 3, address: 100 + 293 * 8, registers: 24 },
      { firstSeq: 0, records: 3, address: 100, registers: 24 },
    ]);
  });
});

describe('Modbus framing (emulator side)', () => {
  it('computes CRC-16/MODBUS as in the spec example 01 03 00 00 00 0A → C5 CD', () => {
    const request = Buffer.from([0x01, 0x03, 0x00, 0x00, 0x00, 0x0a]);
    expect(crc16(request)).toBe(0xcdc5);
    expect(rtuFrame(1, request.subarray(1))).toEqual(Buffer.from('01030000000ac5cd', 'hex'));
    // Cross-check with the client library's own CRC, which we did not write.
    const theirCrc = createRequire(import.meta.url)('modbus-serial/utils/crc16') as (b: Buffer) => number;
    const sample = Buffer.from('1103006b0003', 'hex');
    expect(crc16(sample)).toBe(theirCrc(sample));
  });

  it('deframes RTU requests split across chunks and reports a bad CRC', () => {
    const deframer = new RtuRequestDeframer();
    const good = Buffer.from('01030000000ac5cd', 'hex');
    const bad = Buffer.from('01030000000ac5ce', 'hex');
    expect(deframer.push(good.subarray(0, 3))).toEqual([]);
    const out = deframer.push(Buffer.concat([good.subarray(3), bad]));
    expect(out).toEqual([
      { ok: true, unitId: 1, pdu: Buffer.from('030000000a', 'hex') },
      { ok: false, reason: 'bad CRC' },
    ]);
    // Function 16 with 2 registers: 9 + 4 bytes.
    const write = rtuFrame(2, Buffer.from('10000a000204000100020000', 'hex').subarray(0, 10));
    expect(deframer.push(write)).toEqual([
      { ok: true, unitId: 2, pdu: Buffer.from('10000a00020400010002', 'hex') },
    ]);
  });

  it('deframes MBAP requests, several in one chunk', () => {
    const deframer = new MbapDeframer();
    const a = mbapFrame(7, 1, Buffer.from('0300000004', 'hex'));
    expect(a).toEqual(Buffer.from('000700000006010300000004', 'hex'));
    const b = mbapFrame(8, 2, Buffer.from('03000a0002', 'hex'));
    const out = deframer.push(Buffer.concat([a, b.subarray(0, 4)]));
    expect(out).toEqual([{ transactionId: 7, unitId: 1, pdu: Buffer.from('0300000004', 'hex') }]);
    expect(deframer.push(b.subarray(4))).toEqual([
      { transactionId: 8, unitId: 2, pdu: Buffer.from('03000a0002', 'hex') },
    ]);
    expect(() => deframer.push(Buffer.from('000100050006010300000004', 'hex'))).toThrow(/bad MBAP/);
  });
});

describe('profile schema and loader', () => {
  let cleanup: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await cleanup?.();
    cleanup = undefined;
  });

  it('loads the built-in profile by name', async () => {
    const p = await loadProfile('event-ring-v1');
    expect(p.ring.base).toBe(100);
    expect(p.clock).toEqual({ address: 10 });
    expect(p.whitelist).toBeUndefined();
  });

  it('names the bad field', () => {
    const bad = structuredClone(builtInProfile('event-ring-v1')) as Record<string, unknown>;
    (bad['ring'] as Record<string, unknown>)['recordRegisters'] = 5;
    expect(() => parseProfile(bad, 'x.json')).toThrow(
      /ring\.fields\.(time|method|direction)\.offset: field ends/,
    );
    expect(() => parseProfile({ ...bad, maxRegistersPerRead: 200 }, 'x.json')).toThrow(
      /maxRegistersPerRead: Modbus allows at most 125/,
    );
    expect(() => parseProfile({ ...builtInProfile('event-ring-v1'), wordOrder: 'middle' })).toThrow(
      /wordOrder/,
    );
    expect(() => parseProfile({ ...builtInProfile('event-ring-v1'), methods: { one: 'fp' } })).toThrow(
      /methods\.one: Invalid key/,
    );
  });

  it('loads a file and reports unknown names, unreadable files and bad JSON clearly', async () => {
    const tmp = await tempDir('modbus-profile-');
    cleanup = tmp.cleanup;
    const good = join(tmp.dir, 'gate.json');
    await writeFile(
      good,
      JSON.stringify({ ...builtInProfile('event-ring-v1'), name: 'gate', wordOrder: 'low-first' }),
    );
    expect((await loadProfile(good)).wordOrder).toBe('low-first');
    await expect(loadProfile('event-ring-v2')).rejects.toThrow(/unknown Modbus profile "event-ring-v2"/);
    await expect(loadProfile(join(tmp.dir, 'missing.json'))).rejects.toThrow(
      /cannot read Modbus profile file/,
    );
    const broken = join(tmp.dir, 'broken.json');
    await writeFile(broken, '{ "name": ');
    await expect(loadProfile(broken)).rejects.toThrow(/is not JSON/);
    const wrong = join(tmp.dir, 'wrong.json');
    await writeFile(
      wrong,
      JSON.stringify({ ...builtInProfile('event-ring-v1'), header: { counter: { address: -1 } } }),
    );
    await expect(loadProfile(wrong)).rejects.toThrow(
      /header\.counter\.address: must be 0–65535.*header\.capacity/,
    );
  });
});
