import * as v from 'valibot';
import { describeIssue, issueMessage } from '../../config/validation';

/**
 * The Deli message envelope `{mid, from, to, time, action, pv?, data}` (docs/protocols/deli.md#envelope).
 * Deli leaves null fields out, so everything but `action` and `data` may be absent on the wire;
 * the gateway itself always sends every field.
 */
export interface Envelope {
  readonly mid?: string;
  readonly from?: string;
  readonly to?: string;
  /** Seconds since the epoch. */
  readonly time?: number;
  readonly action: number;
  readonly pv?: string | number;
  readonly data: unknown;
}

/** Device → app (relayed by the platform as 405). */
export const ACTION_TO_APP = 300;
/** App → device (the app sends 500; the platform relays it as 301). */
export const ACTION_FROM_APP = 301;
export const ACTION_APP_RELAYED = 405;
export const ACTION_APP_SENDS = 500;
export const ACTION_VERSION = 102;
export const ACTION_UPGRADE_INFO = 103;
export const ACTION_UPGRADE_BROADCAST = 202;
/** `from`/`to` when the peer is the platform itself. */
export const PLATFORM_PEER = 'system';

export type DeliErrorCode = 'json' | 'envelope' | 'data' | 'unknown_cmd' | 'unknown_action';

/** Why an incoming message was refused; returned, never thrown out of a handler. */
export class DeliDecodeError extends Error {
  constructor(
    readonly code: DeliErrorCode,
    message: string,
    readonly mid?: string,
  ) {
    super(message);
    this.name = 'DeliDecodeError';
  }
}

const midSchema = v.union([
  v.pipe(v.string(), v.minLength(1), v.maxLength(128)),
  v.pipe(v.number(), v.integer(), v.minValue(0), v.transform(String)),
]);
const peer = v.optional(v.pipe(v.string(), v.minLength(1), v.maxLength(128)));

const envelopeSchema = v.object({
  mid: v.optional(midSchema),
  from: peer,
  to: peer,
  time: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0))),
  action: v.pipe(v.number(), v.integer(), v.minValue(100), v.maxValue(999)),
  pv: v.optional(v.union([v.string(), v.number()])),
  data: v.unknown(),
});

export type EnvelopeResult = { ok: true; envelope: Envelope } | { ok: false; error: DeliDecodeError };

export function parseEnvelope(bytes: Uint8Array | string): EnvelopeResult {
  const text = typeof bytes === 'string' ? bytes : Buffer.from(bytes).toString('utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return { ok: false, error: new DeliDecodeError('json', `not JSON: ${(err as Error).message}`) };
  }
  const parsed = v.safeParse(envelopeSchema, json, { message: issueMessage });
  if (!parsed.success) {
    const mid = typeof json === 'object' && json !== null ? (json as { mid?: unknown }).mid : undefined;
    return {
      ok: false,
      error: new DeliDecodeError(
        'envelope',
        `bad envelope: ${describeIssues(parsed.issues)}`,
        typeof mid === 'string' ? mid : undefined,
      ),
    };
  }
  const e = parsed.output;
  const envelope: Envelope = {
    action: e.action,
    data: e.data,
    ...(e.mid !== undefined && { mid: e.mid }),
    ...(e.from !== undefined && { from: e.from }),
    ...(e.to !== undefined && { to: e.to }),
    ...(e.time !== undefined && { time: e.time }),
    ...(e.pv !== undefined && { pv: e.pv }),
  };
  return { ok: true, envelope };
}

/** Serializes with the seed's key order; undefined fields are left out, as Deli does with nulls. */
export function serializeEnvelope(envelope: Envelope): Buffer {
  const ordered = {
    mid: envelope.mid,
    from: envelope.from,
    to: envelope.to,
    time: envelope.time,
    action: envelope.action,
    pv: envelope.pv,
    data: envelope.data,
  };
  return Buffer.from(JSON.stringify(ordered), 'utf8');
}

/** The first three issues, each as `path.to.field: reason`. */
export function describeIssues(issues: ReadonlyArray<v.BaseIssue<unknown>>): string {
  return issues
    .slice(0, 3)
    .map((issue) => describeIssue(issue))
    .join('; ');
}
