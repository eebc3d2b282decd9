import { readFile } from 'node:fs/promises';
import * as v from 'valibot';
import { describeIssue, pathTo, validator } from '../../config/validation';
import eventRingV1 from './profiles/event-ring-v1.json' with { type: 'json' };

/**
 * A register-map profile: where a Modbus device keeps its event ring, clock and whitelist.
 * Profiles are JSON so a new device with a compatible layout needs a file, not code.
 * Every register is a holding register (function 3 to read, 16 to write): the built-in layout and the
 * Modbus functions are described in docs/protocols/modbus.md#the-event-ring-profile.
 */

const address = v.pipe(
  v.number(),
  v.integer(),
  v.minValue(0, 'must be 0–65535'),
  v.maxValue(65535, 'must be 0–65535'),
);
const fieldEntries = {
  offset: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(124)),
  type: v.picklist(['u16', 'u32']),
};
const field = v.strictObject(fieldEntries);

/** The methods the pipeline knows; the driver turns them into the Modbus family's verify codes. */
export const METHOD_CODES = { card: 0, fp: 1, fa: 2, pwd: 3 } as const;
export type ProfileMethod = keyof typeof METHOD_CODES;

const codeKey = v.pipe(v.string(), v.regex(/^\d{1,5}$/, 'keys are the device codes as decimal strings'));
const count = (min: number, max: number, maxMessage?: string) =>
  v.pipe(v.number(), v.integer(), v.minValue(min), v.maxValue(max, maxMessage));

const ringSchema = v.pipe(
  v.strictObject({
    base: address,
    recordRegisters: count(1, 125, 'a record must fit one read (≤ 125 registers)'),
    maxCapacity: count(1, 65535),
    fields: v.strictObject({
      seq: field,
      pin: field,
      time: v.strictObject({ ...fieldEntries, type: v.literal('u32', 'time must be u32 Unix seconds') }),
      method: field,
      direction: v.optional(field),
    }),
  }),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const ring = dataset.value;
    for (const [name, f] of Object.entries(ring.fields)) {
      if (!f) continue;
      const width = f.type === 'u32' ? 2 : 1;
      if (f.offset + width > ring.recordRegisters) {
        addIssue({
          message: `field ends at register ${f.offset + width}, past recordRegisters (${ring.recordRegisters})`,
          path: pathTo(ring, ['fields', name, 'offset']),
        });
      }
    }
    if (ring.base + ring.maxCapacity * ring.recordRegisters > 65536) {
      addIssue({ message: 'the ring runs past register 65535', path: pathTo(ring, ['maxCapacity']) });
    }
  }),
);

const whitelistSchema = v.strictObject({
  base: address,
  capacity: count(1, 10_000),
  recordRegisters: count(2, 125),
  fields: v.strictObject({ pin: field, card: v.optional(field) }),
});

const profile = v.pipe(
  v.strictObject({
    name: v.pipe(v.string(), v.regex(/^[A-Za-z0-9_.-]{1,64}$/, 'use 1–64 letters, digits, ".", "-" or "_"')),
    description: v.optional(v.string()),
    /** Order of the two registers of a 32-bit value. */
    wordOrder: v.picklist(['high-first', 'low-first']),
    maxRegistersPerRead: count(1, 125, 'Modbus allows at most 125 registers per read'),
    header: v.strictObject({
      version: v.optional(v.strictObject({ address, expect: count(0, 65535) })),
      /** Total events ever written (u32, wraps at 2^32; 0 after a device reset). */
      counter: v.strictObject({ address }),
      /** Ring capacity N; events live at slot seq mod N. */
      capacity: v.strictObject({ address }),
    }),
    ring: ringSchema,
    /** Device method code → method. Codes absent here are reported as unknown. */
    methods: v.record(codeKey, v.picklist(['card', 'fp', 'fa', 'pwd'])),
    /** Device direction code → direction; null means "use the terminal's setting". */
    directions: v.optional(v.record(codeKey, v.nullable(v.picklist(['in', 'out']))), {}),
    /** Device clock, Unix seconds UTC as a u32 (write to set). */
    clock: v.optional(v.strictObject({ address })),
    whitelist: v.optional(whitelistSchema),
  }),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const p = dataset.value;
    const span = headerSpan(p.header);
    if (span.count > p.maxRegistersPerRead) {
      addIssue({
        message: `header registers span ${span.count} registers; they must fit one read (${p.maxRegistersPerRead})`,
        path: pathTo(p, ['header']),
      });
    }
    if (p.ring.recordRegisters > p.maxRegistersPerRead) {
      addIssue({ message: 'a record must fit one read', path: pathTo(p, ['ring', 'recordRegisters']) });
    }
  }),
);

export const profileSchema = validator(profile);

export type ModbusProfile = v.InferOutput<typeof profile>;
export type ProfileInput = v.InferInput<typeof profile>;

/** The registers a header read covers: version, counter (u32) and capacity in one request. */
export function headerSpan(header: ModbusProfile['header']): { address: number; count: number } {
  const ends = [header.counter.address + 2, header.capacity.address + 1];
  const starts = [header.counter.address, header.capacity.address];
  if (header.version) {
    starts.push(header.version.address);
    ends.push(header.version.address + 1);
  }
  const start = Math.min(...starts);
  return { address: start, count: Math.max(...ends) - start };
}

const builtIn: Readonly<Record<string, unknown>> = { 'event-ring-v1': eventRingV1 };

export const BUILT_IN_PROFILES: readonly string[] = Object.keys(builtIn);

export class ProfileError extends Error {
  override readonly name = 'ProfileError';
}

/** Validates a parsed profile; the error names every bad field by its path. */
export function parseProfile(input: unknown, source = '(inline)'): ModbusProfile {
  const result = profileSchema.safeParse(input);
  if (result.success) return result.output;
  const problems = result.issues.map((issue) => describeIssue(issue));
  throw new ProfileError(`invalid Modbus profile ${source}: ${problems.join('; ')}`);
}

/** A built-in profile name (`event-ring-v1`) or a path to a profile JSON file. */
export async function loadProfile(nameOrPath: string): Promise<ModbusProfile> {
  const known = builtIn[nameOrPath];
  if (known) return parseProfile(known, `"${nameOrPath}"`);
  if (!/[/\\]|\.json$/i.test(nameOrPath)) {
    throw new ProfileError(
      `unknown Modbus profile "${nameOrPath}": use a built-in name (${BUILT_IN_PROFILES.join(', ')}) or a path to a .json file`,
    );
  }
  let text: string;
  try {
    text = await readFile(nameOrPath, 'utf8');
  } catch (err) {
    throw new ProfileError(`cannot read Modbus profile file ${nameOrPath}: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ProfileError(`Modbus profile file ${nameOrPath} is not JSON: ${(err as Error).message}`);
  }
  return parseProfile(json, nameOrPath);
}

/** The built-in profile, synchronously (for the emulator's defaults and lab mode). */
export function builtInProfile(name: string): ModbusProfile {
  const known = builtIn[name];
  if (!known) throw new ProfileError(`unknown built-in Modbus profile "${name}"`);
  return parseProfile(known, `"${name}"`);
}
