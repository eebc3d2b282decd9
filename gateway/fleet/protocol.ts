/**
 * The fleet link's wire contract, shared by the box (link.ts) and the office (watch.ts, send.ts):
 * topics, versioned JSON payloads and the signature of commands. docs/fleet.md is its reference;
 * a change here is a change there, and `v` goes up when a payload changes incompatibly.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import * as v from 'valibot';
import { describeIssue, issueMessage } from '../../config/validation';

export const FLEET_PAYLOAD_VERSION = 1;
/** The first line of every signed string: a signature made for anything else never verifies here. */
export const SIGNING_DOMAIN = 'edge-gateway-fleet-command/1';
/** A command older (or further in the future) than this is refused. */
export const COMMAND_WINDOW_SECONDS = 300;

export interface FleetTopics {
  /** Retained: online/offline (the offline one is the MQTT last will). */
  readonly status: string;
  /** Retained: the compact health digest, every interval and at once on an alert change. */
  readonly health: string;
  /** One QoS 1 message per alert raised or cleared. */
  readonly alerts: string;
  /** Signed commands from the office. */
  readonly cmd: string;
  readonly reply: string;
}

export function fleetTopics(prefix: string): FleetTopics {
  return {
    status: `${prefix}/status`,
    health: `${prefix}/health`,
    alerts: `${prefix}/alerts`,
    cmd: `${prefix}/cmd`,
    reply: `${prefix}/cmd/reply`,
  };
}

/** `topicPrefix` with `{siteId}` filled in. */
export function sitePrefix(template: string, siteId: string): string {
  return template.replaceAll('{siteId}', siteId);
}

// ───────────────────────────── what the box publishes ─────────────────────────────

export interface StatusPayload {
  readonly v: number;
  readonly site: string;
  readonly online: boolean;
  readonly name: string;
  readonly version: string;
  /** Why it is offline: `stopped` (said by the box on a clean stop) or `lost` (the last will). */
  readonly reason?: 'stopped' | 'lost';
  /** When the box started, Unix seconds (absent in the last will, which is written at connect). */
  readonly since?: number;
  /** When this status was published, Unix seconds (absent in the last will). */
  readonly at?: number;
  readonly alerts?: number;
}

export interface UpstreamDigest {
  readonly name: string;
  readonly backlog: number;
  readonly failures: number;
  readonly connected: boolean;
}

export interface HealthPayload {
  readonly v: number;
  readonly site: string;
  readonly at: number;
  readonly name: string;
  readonly version: string;
  readonly status: 'ok' | 'degraded';
  readonly uptimeS: number;
  /** The box's `intervalSeconds`: a digest older than about two of these is stale. */
  readonly intervalS: number;
  readonly terminals: {
    readonly online: number;
    readonly total: number;
    readonly offline?: readonly string[];
  };
  readonly upstreams: readonly UpstreamDigest[];
  readonly journal: { readonly lastSeq: number; readonly corrupt: number };
  readonly alertCount: number;
  /** At most MAX_ALERTS_IN_DIGEST lines, names and ID numbers blanked (health-digest.ts). */
  readonly alerts: readonly string[];
  /** The link's own counters: commands accepted and refused, alert events over the bound. */
  readonly fleet: { readonly accepted: number; readonly refused: number; readonly overflowed: number };
}

export interface AlertEventPayload {
  readonly v: number;
  readonly site: string;
  /** This run of the box (its start, Unix ms, base 36): `seq` starts again with every run. */
  readonly boot: string;
  /** Counts the alert messages of this run as they are sent; (site, boot, seq) names one event. */
  readonly seq: number;
  /** When it happened, Unix seconds (not when it was sent). */
  readonly at: number;
  /** `overflow`: `count` events were dropped, oldest first, while the broker was away. */
  readonly event: 'raised' | 'cleared' | 'overflow';
  readonly text?: string;
  readonly count?: number;
}

// ───────────────────────────── commands ─────────────────────────────

export const FLEET_ACTIONS = ['reconcile', 'retry', 'update-check', 'config', 'set', 'restart'] as const;
export type FleetAction = (typeof FLEET_ACTIONS)[number];

const name = v.pipe(
  v.string(),
  v.regex(/^[A-Za-z0-9_.-]{1,64}$/, 'use 1–64 letters, digits, ".", "-" or "_"'),
);

const commandBody = v.variant('action', [
  v.strictObject({
    action: v.literal('reconcile'),
    args: v.optional(v.strictObject({ terminal: v.optional(name) }), {}),
  }),
  v.strictObject({ action: v.literal('retry'), args: v.strictObject({ upstream: name }) }),
  v.strictObject({ action: v.literal('update-check'), args: v.optional(v.strictObject({}), {}) }),
  v.strictObject({ action: v.literal('config'), args: v.optional(v.strictObject({}), {}) }),
  v.strictObject({
    action: v.literal('set'),
    args: v.strictObject({ key: name, value: v.union([v.string(), v.number()]) }),
  }),
  v.strictObject({ action: v.literal('restart'), args: v.optional(v.strictObject({}), {}) }),
]);
export type CommandBody = v.InferOutput<typeof commandBody>;

const commandEnvelope = v.object({
  v: v.literal(FLEET_PAYLOAD_VERSION),
  site: name,
  at: v.pipe(v.number(), v.integer()),
  nonce: v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{16,64}$/, 'use 16–64 letters, digits, "-" or "_"')),
  /** The command as JSON text: the signature covers these exact characters, no re-serialising. */
  body: v.pipe(v.string(), v.maxLength(4096)),
  sig: v.optional(v.string()),
});
export type CommandEnvelope = v.InferOutput<typeof commandEnvelope>;

export interface CommandReply {
  readonly v: number;
  readonly site: string;
  /** The command's nonce, so the sender finds its answer among others. */
  readonly nonce?: string;
  readonly at: number;
  readonly ok: boolean;
  readonly action?: FleetAction;
  readonly result?: unknown;
  readonly error?: string;
}

/** The exact UTF-8 text the HMAC covers (docs/fleet.md, "Signing a command"). */
export function signingString(site: string, at: number, nonce: string, body: string): string {
  return [SIGNING_DOMAIN, site, String(at), nonce, body].join('\n');
}

/** Lower-case hex HMAC-SHA256 with the key's UTF-8 bytes. */
export function signatureOf(key: string, site: string, at: number, nonce: string, body: string): string {
  return createHmac('sha256', key)
    .update(signingString(site, at, nonce, body), 'utf8')
    .digest('hex');
}

export function signatureMatches(key: string, envelope: CommandEnvelope): boolean {
  if (envelope.sig === undefined || !/^[0-9a-fA-F]{64}$/.test(envelope.sig)) return false;
  const expected = Buffer.from(
    signatureOf(key, envelope.site, envelope.at, envelope.nonce, envelope.body),
    'hex',
  );
  return timingSafeEqual(expected, Buffer.from(envelope.sig, 'hex'));
}

export function newNonce(): string {
  return randomBytes(16).toString('hex');
}

/** A signed command for `site`, ready to publish on its `cmd` topic. */
export function signCommand(
  key: string,
  site: string,
  body: CommandBody,
  atSeconds: number,
  nonce: string = newNonce(),
): CommandEnvelope {
  const text = JSON.stringify(body);
  return {
    v: FLEET_PAYLOAD_VERSION,
    site,
    at: atSeconds,
    nonce,
    body: text,
    sig: signatureOf(key, site, atSeconds, nonce, text),
  };
}

export type Parsed<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: string };

function parseWith<S extends v.GenericSchema>(schema: S, input: unknown): Parsed<v.InferOutput<S>> {
  const parsed = v.safeParse(schema, input, { message: issueMessage });
  if (parsed.success) return { ok: true, value: parsed.output };
  return { ok: false, error: parsed.issues.map((issue) => describeIssue(issue, '(message)')).join('; ') };
}

/** The envelope of a command as it arrived; its body is read only once the signature holds. */
export function parseEnvelope(payload: Buffer | string): Parsed<CommandEnvelope> {
  let json: unknown;
  try {
    json = JSON.parse(payload.toString());
  } catch (error) {
    return { ok: false, error: `not JSON: ${(error as Error).message}` };
  }
  return parseWith(commandEnvelope, json);
}

export function parseBody(body: string): Parsed<CommandBody> {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (error) {
    return { ok: false, error: `body is not JSON: ${(error as Error).message}` };
  }
  return parseWith(commandBody, json);
}
