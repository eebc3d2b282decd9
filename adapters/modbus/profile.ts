import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import eventRingV1 from './profiles/event-ring-v1.json' with { type: 'json' };

/**
 * A register-map profile: where a Modbus device keeps its event ring, clock and whitelist.
 * Profiles are JSON so a new device with a compatible layout needs a file, not code.
 * Every register is a holding register (function 3 to read, 16 to write).
 */

const address = z.number().int().min(0, 'must be 0–65535').max(65535, 'must be 0–65535');
const fieldType = z.enum(['u16', 'u32']);
const field = z.object({ offset: z.number().int().min(0).max(124), type: fieldType }).strict();

/** The methods the pipeline knows; the driver turns them into the Modbus family's verify codes. */
export const METHOD_CODES = { card: 0, fp: 1, fa: 2, pwd: 3 } as const;
export type ProfileMethod = keyof typeof METHOD_CODES;

const codeKey = z.string().regex(/^\d{1,5}$/, 'keys are the device codes as decimal strings');

const ringSchema = z
  .object({
    base: address,
    recordRegisters: z.number().int().min(1).max(125, 'a record must fit one read (≤ 125 registers)'),
    maxCapacity: z.number().int().min(1).max(65535),
    fields: z
      .object({
        seq: field,
        pin: field,
        time: field.extend({ type: z.literal('u32', { message: 'time must be u32 Unix seconds' }) }),
        method: field,
        direction: field.optional(),
      })
      .strict(),
  })
  .strict()
  .superRefine((ring, ctx) => {
    for (const [name, f] of Object.entries(ring.fields)) {
      if (!f) continue;
      const width = f.type === 'u32' ? 2 : 1;
      if (f.offset + width > ring.recordRegisters) {
        ctx.addIssue({
          code: 'custom',
          path: ['fields', name, 'offset'],
          message: `field ends at register ${f.offset + width}, past recordRegisters (${ring.recordRegisters})`,
        });
      }
    }
    if (ring.base + ring.maxCapacity * ring.recordRegisters > 65536) {
      ctx.addIssue({ code: 'custom', path: ['maxCapacity'], message: 'the ring runs past register 65535' });
    }
  });

const whitelistSchema = z
  .object({
    base: address,
    capacity: z.number().int().min(1).max(10_000),
    recordRegisters: z.number().int().min(2).max(125),
    fields: z.object({ pin: field, card: field.optional() }).strict(),
  })
  .strict();

export const profileSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'use 1–64 letters, digits, ".", "-" or "_"'),
    description: z.string().optional(),
    /** Order of the two registers of a 32-bit value. */
    wordOrder: z.enum(['high-first', 'low-first']),
    maxRegistersPerRead: z.number().int().min(1).max(125, 'Modbus allows at most 125 registers per read'),
    header: z
      .object({
        version: z
          .object({ address, expect: z.number().int().min(0).max(65535) })
          .strict()
          .optional(),
        /** Total events ever written (u32, wraps at 2^32; 0 after a device reset). */
        counter: z.object({ address }).strict(),
        /** Ring capacity N; events live at slot seq mod N. */
        capacity: z.object({ address }).strict(),
      })
      .strict(),
    ring: ringSchema,
    /** Device method code → method. Codes absent here are reported as unknown. */
    methods: z.record(codeKey, z.enum(['card', 'fp', 'fa', 'pwd'])),
    /** Device direction code → direction; null means "use the terminal's setting". */
    directions: z.record(codeKey, z.enum(['in', 'out']).nullable()).default({}),
    /** Device clock, Unix seconds UTC as a u32 (write to set). */
    clock: z.object({ address }).strict().optional(),
    whitelist: whitelistSchema.optional(),
  })
  .strict()
  .superRefine((p, ctx) => {
    const span = headerSpan(p.header);
    if (span.count > p.maxRegistersPerRead) {
      ctx.addIssue({
        code: 'custom',
        path: ['header'],
        message: `header registers span ${span.count} registers; they must fit one read (${p.maxRegistersPerRead})`,
      });
    }
    if (p.ring.recordRegisters > p.maxRegistersPerRead) {
      ctx.addIssue({
        code: 'custom',
        path: ['ring', 'recordRegisters'],
        message: 'a record must fit one read',
      });
    }
  });

export type ModbusProfile = z.output<typeof profileSchema>;
export type ProfileInput = z.input<typeof profileSchema>;

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
  if (result.success) return result.data;
  const problems = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
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
