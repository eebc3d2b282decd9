/**
 * Property-based fuzzing of every decoder that reads bytes from outside the box: whatever arrives,
 * a decoder returns a value or a typed Error, never throws anything else, never hangs, and a good
 * frame after garbage is still read. A fixed number of runs per decoder keeps CI time bounded.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatCommand, parseCommand } from '../../adapters/adms/commands';
import { parseAttlog, parseOperlog } from '../../adapters/adms/records';
import { decodeEventRecord, decodeHeader } from '../../adapters/modbus/codec';
import { builtInProfile, parseProfile } from '../../adapters/modbus/profile';
import { TcpDeframer } from '../../adapters/zk/deframer';
import { decodeAttEvent } from '../../adapters/zk/events';
import { decodeBody, encodeTcp } from '../../adapters/zk/packet';
import {
  decodeAttendance16,
  decodeAttendance40,
  decodeTemplateRecords,
  decodeUser28,
  decodeUser72,
  splitTable,
} from '../../adapters/zk/records';
import { parseEnvelope } from '../../cloud/deli/envelope';
import { decodeDown } from '../../cloud/deli/messages';
import { SichuanCodec } from '../../cloud/sichuan/codec';
import { validateConfig } from '../../config/load';
import { parseJournalLine } from '../../gateway/store/journal-line';

const RUNS = Number(process.env.FUZZ_RUNS ?? 1000);
const params = { numRuns: RUNS, seed: Number(process.env.FUZZ_SEED ?? 20261122) };

/** Runs `decode`; a thrown value must be an Error instance with a message (a typed, reportable failure). */
function survives(decode: () => unknown): void {
  try {
    decode();
  } catch (error) {
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message.length).toBeGreaterThan(0);
  }
}

const bytes = (max = 200) => fc.uint8Array({ maxLength: max }).map((a) => Buffer.from(a));

describe('ZK decoders', () => {
  it('packet bodies, records and events: a value or a typed error', () => {
    fc.assert(
      fc.property(bytes(300), (b) => {
        survives(() => decodeBody(b));
        survives(() => decodeAttendance40(b));
        survives(() => decodeAttendance16(b));
        survives(() => decodeUser72(b, 'gb18030'));
        survives(() => decodeUser28(b, 'utf8'));
        survives(() => decodeTemplateRecords(b));
        survives(() => splitTable(b, 'fuzz'));
        survives(() => decodeAttEvent(b));
      }),
      params,
    );
  });

  it('the stream deframer survives any chunking of garbage and still finds a good frame after it', () => {
    fc.assert(
      fc.property(
        bytes(400),
        fc.array(fc.integer({ min: 1, max: 64 }), { maxLength: 20 }),
        (garbage, cuts) => {
          const good = encodeTcp(1000, 4242, 7, Buffer.from('ok'));
          const stream = Buffer.concat([garbage, good, good]);
          const deframer = new TcpDeframer(64 * 1024);
          const bodies: Buffer[] = [];
          let at = 0;
          for (const cut of [...cuts, stream.length]) {
            bodies.push(...deframer.push(stream.subarray(at, Math.min(stream.length, at + cut))));
            at = Math.min(stream.length, at + cut);
            if (at >= stream.length) break;
          }
          // Garbage may swallow at most the first good frame (a fake header that claims its bytes).
          const decoded = bodies.map((b) => {
            try {
              return decodeBody(b);
            } catch {
              return null;
            }
          });
          expect(decoded.some((p) => p?.command === 1000 && p.sessionId === 4242)).toBe(true);
        },
      ),
      params,
    );
  });
});

describe('Modbus decoders', () => {
  const profile = builtInProfile('event-ring-v1');
  it('event records and headers from any register values', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 0, maxLength: 40 }), (regs) => {
        survives(() => decodeEventRecord(regs, 0, profile));
        survives(() => decodeHeader(regs, 0, profile));
      }),
      params,
    );
  });

  it('profile files: anything JSON gives a profile or a ProfileError naming the field', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        survives(() => parseProfile(value, 'fuzz.json'));
      }),
      params,
    );
  });
});

describe('Sichuan answers', () => {
  const codec = new SichuanCodec({
    deviceKey: 'k',
    sm4Key: '0123456789abcdeffedcba9876543210',
    sm4Iv: '00000000000000000000000000000000',
    cipherEncoding: 'hex',
    signCase: 'lower',
  });
  it('any body: decoded, or a SichuanAnswerError; undecryptable Content is reported, not thrown', () => {
    const content = fc.oneof(
      fc.string(),
      fc.string({ unit: fc.constantFrom(...'0123456789abcdef') }),
      fc.jsonValue(),
    );
    const body = fc.oneof(
      fc.string(),
      fc
        .record({ Result: fc.oneof(fc.integer(), fc.string()), Msg: fc.string(), Content: content })
        .map((o) => JSON.stringify(o)),
      fc.jsonValue().map((v) => JSON.stringify(v)),
    );
    fc.assert(
      fc.property(body, (text) => {
        survives(() => {
          const answer = codec.decodeAnswer(text);
          expect(Number.isInteger(answer.result)).toBe(true);
        });
      }),
      params,
    );
  });
});

describe('Deli envelopes', () => {
  it('any payload: an envelope or a DeliDecodeError; any envelope: a message or a typed error', () => {
    const payload = fc.oneof(
      bytes(200),
      fc.jsonValue().map((v) => Buffer.from(JSON.stringify(v))),
      fc
        .record({
          mid: fc.oneof(fc.string(), fc.integer()),
          action: fc.constantFrom(301, 202, 103, 999),
          time: fc.nat(),
          data: fc.jsonValue(),
        })
        .map((v) => Buffer.from(JSON.stringify(v))),
      fc
        .record({
          mid: fc.string({ minLength: 1 }),
          action: fc.constant(301),
          data: fc.record({
            cmd: fc.constantFrom('user_update', 'user_sync', 'feature_input', 'get_config', 'set_config'),
            payload: fc.jsonValue(),
          }),
        })
        .map((v) => Buffer.from(JSON.stringify(v))),
    );
    fc.assert(
      fc.property(payload, (b) => {
        const parsed = parseEnvelope(b);
        if (!parsed.ok) {
          expect(parsed.error).toBeInstanceOf(Error);
          return;
        }
        survives(() => decodeDown(parsed.envelope));
      }),
      params,
    );
  });
});

describe('ADMS bodies', () => {
  it('ATTLOG and OPERLOG bodies: good lines kept, bad lines reported, nothing thrown', () => {
    const line = fc.oneof(
      fc.string(),
      fc
        .tuple(
          fc.stringMatching(/^\d{1,9}$/),
          fc.date({ min: new Date('2000-01-01'), max: new Date('2099-12-31'), noInvalidDate: true }),
          fc.nat(5),
          fc.nat(30),
        )
        .map(
          ([pin, date, status, verify]) =>
            `${pin}\t${date.toISOString().slice(0, 19).replace('T', ' ')}\t${status}\t${verify}\t0\t0`,
        ),
    );
    fc.assert(
      fc.property(fc.array(line, { maxLength: 30 }), (lines) => {
        const body = lines.join('\n');
        const { records, skipped } = parseAttlog(body);
        expect(records.length + skipped.length).toBeLessThanOrEqual(lines.length);
        survives(() => parseOperlog(body));
        survives(() => parseCommand(body));
      }),
      params,
    );
  });

  it('commands survive a round trip through the wire form', () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        survives(() => {
          const command = parseCommand(text);
          parseCommand(formatCommand(command));
        });
      }),
      params,
    );
  });
});

describe('journal lines and the config file', () => {
  it('a journal line is a whole punch or null', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.jsonValue().map((v) => JSON.stringify(v)),
        ),
        (line) => {
          const punch = parseJournalLine(line);
          if (punch) expect(Number.isSafeInteger(punch.seq)).toBe(true);
        },
      ),
      params,
    );
  });

  it('any config document: ok, or problems each naming a field', () => {
    const terminal = fc.record(
      {
        id: fc.string(),
        driver: fc.constantFrom('zk', 'modbus', 'adms', 'x'),
        direction: fc.constantFrom('in', 'out', 'state', ''),
        host: fc.string(),
        port: fc.integer(),
      },
      { requiredKeys: [] },
    );
    const document = fc.oneof(
      fc.jsonValue(),
      fc.record(
        {
          site: fc.record({ name: fc.string(), timezone: fc.string() }, { requiredKeys: [] }),
          terminals: fc.array(terminal, { maxLength: 4 }),
          http: fc.record({ port: fc.integer() }, { requiredKeys: [] }),
        },
        { requiredKeys: [] },
      ),
    );
    fc.assert(
      fc.property(document, (doc) => {
        const result = validateConfig(doc);
        if (!result.ok) {
          expect(result.problems.length).toBeGreaterThan(0);
          for (const problem of result.problems) expect(problem).toMatch(/^[^:]+: .+/);
        }
      }),
      params,
    );
  });
});
