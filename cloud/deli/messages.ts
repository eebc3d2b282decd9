import * as v from 'valibot';
import { issueMessage } from '../../config/validation';
import {
  ACTION_APP_RELAYED,
  ACTION_APP_SENDS,
  ACTION_FROM_APP,
  ACTION_TO_APP,
  ACTION_UPGRADE_BROADCAST,
  ACTION_UPGRADE_INFO,
  ACTION_VERSION,
  DeliDecodeError,
  describeIssues,
  type Envelope,
} from './envelope';

/**
 * The typed `data` of every Deli command the gateway exchanges (docs/protocols/deli.md, roster sync to
 * upgrades).
 * `down` is app/platform → device, `up` is device → app/platform; the same `cmd` (user_sync,
 * get_config) means a different thing in each direction.
 */
export type Direction = 'up' | 'down';
export type FeatureType = 'fp' | 'fa';
export type CheckinFeature = 'fp' | 'fa' | 'pwd' | 'card';

export interface SyncEntry {
  readonly userId: string;
  /** `{user_id, delete: true}` in the public docs' form. */
  readonly delete: boolean;
  readonly name?: string;
  readonly empno?: string;
  readonly dept?: string;
  /**
   * Base64 templates; the seed sends one string, the public docs an array
   * (docs/protocols/deli.md#roster-sync).
   */
  readonly fp: readonly string[];
  readonly fa: readonly string[];
  readonly admin?: boolean;
  /** The user's own change time (ms), when the app sends it. */
  readonly updateTimeMs?: number;
}

export interface CheckinRecord {
  readonly userId: string;
  readonly featureType: CheckinFeature;
  /** Seconds since the epoch. */
  readonly timeS: number;
}

export interface UpgradeInfo {
  readonly version: string;
  readonly url: string;
  readonly checksum: string;
  readonly algorithm?: 'sha256' | 'md5';
}

export type DownMessage =
  | { readonly cmd: 'user_update'; readonly updateTimeMs: number }
  | {
      readonly cmd: 'user_sync';
      readonly form: 'array' | 'object';
      readonly reset: boolean;
      readonly totalCount?: number;
      readonly users: readonly SyncEntry[];
    }
  | { readonly cmd: 'feature_input'; readonly userId: string; readonly featureType: FeatureType }
  | { readonly cmd: 'get_config'; readonly keys?: readonly string[] }
  | { readonly cmd: 'set_config'; readonly values: Readonly<Record<string, unknown>> }
  | { readonly cmd: 'version'; readonly version: string }
  | ({ readonly cmd: 'upgrade_info' } & UpgradeInfo)
  | ({ readonly cmd: 'upgrade_available'; readonly version: string } & Partial<UpgradeInfo>);

export type UpMessage =
  | { readonly cmd: 'user_sync_request'; readonly size: number; readonly updateTimeMs: number }
  | {
      readonly cmd: 'feature_upload';
      readonly userId: string;
      readonly featureType: FeatureType;
      /** Base64 template or photo. */
      readonly data: string;
    }
  | { readonly cmd: 'checkin'; readonly orgId: string; readonly users: readonly CheckinRecord[] }
  | { readonly cmd: 'get_config_reply'; readonly config: Readonly<Record<string, string | number>> }
  | {
      readonly cmd: 'set_config_reply';
      readonly applied: Readonly<Record<string, unknown>>;
      readonly refused: Readonly<Record<string, string>>;
    }
  | { readonly cmd: 'version_query'; readonly version?: string }
  | { readonly cmd: 'upgrade_info_query'; readonly version?: string };

// ───────────────────────────── wire schemas ─────────────────────────────

const nonEmpty = v.pipe(v.string(), v.minLength(1));
const userId = v.union([
  v.pipe(v.string(), v.minLength(1), v.maxLength(64)),
  v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(Number.MAX_SAFE_INTEGER), v.transform(String)),
]);
const base64 = v.pipe(v.string(), v.regex(/^[A-Za-z0-9+/]*={0,2}$/, 'not base64'));
const templates = v.optional(
  v.pipe(
    v.union([base64, v.array(base64)]),
    v.transform((t): string[] => (typeof t === 'string' ? (t.length > 0 ? [t] : []) : t)),
  ),
  () => [],
);
const ms = v.pipe(v.number(), v.integer(), v.minValue(0));
const seconds = v.pipe(
  v.number(),
  v.integer(),
  v.minValue(0),
  v.maxValue(99_999_999_999, 'looks like milliseconds, expected seconds'),
);
const text = v.union([v.string(), v.pipe(v.number(), v.transform(String))]);

const syncUserWire = v.pipe(
  v.object({
    user_id: userId,
    delete: v.optional(v.boolean()),
    name: v.optional(v.pipe(v.string(), v.maxLength(128))),
    empno: v.optional(text),
    dept: v.optional(text),
    fp: templates,
    fa: templates,
    admin: v.optional(
      v.union([
        v.boolean(),
        v.pipe(
          v.number(),
          v.transform((n) => n !== 0),
        ),
      ]),
    ),
    update_time: v.optional(ms),
  }),
  v.transform(
    (u): SyncEntry => ({
      userId: u.user_id,
      delete: u.delete === true,
      fp: u.fp,
      fa: u.fa,
      ...(u.name !== undefined && { name: u.name }),
      ...(u.empno !== undefined && { empno: u.empno }),
      ...(u.dept !== undefined && { dept: u.dept }),
      ...(u.admin !== undefined && { admin: u.admin }),
      ...(u.update_time !== undefined && { updateTimeMs: u.update_time }),
    }),
  ),
);

const syncArrayWire = v.pipe(
  v.array(syncUserWire),
  v.transform((users) => ({ form: 'array' as const, reset: false, users })),
);
const syncObjectWire = v.pipe(
  v.object({
    reset: v.optional(v.boolean()),
    total_count: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0))),
    users: v.array(syncUserWire),
  }),
  v.transform((p) => ({
    form: 'object' as const,
    reset: p.reset === true,
    users: p.users,
    ...(p.total_count !== undefined && { totalCount: p.total_count }),
  })),
);

const featureType = v.picklist(['fp', 'fa']);
const checkinFeature = v.picklist(['fp', 'fa', 'pwd', 'card']);
const settingValue = v.union([v.string(), v.number()]);
const version = v.union([
  v.pipe(v.string(), v.minLength(1), v.maxLength(64)),
  v.pipe(v.number(), v.transform(String)),
]);
const upgradeUrl = v.pipe(v.string(), v.url());
const checksum = v.pipe(v.string(), v.regex(/^[0-9a-fA-F]{32,128}$/, 'not a hex digest'));
const algorithm = v.picklist(['sha256', 'md5']);
const upgradeInfoWire = v.object({ version, url: upgradeUrl, checksum, algorithm: v.optional(algorithm) });
/** A 202 broadcast may announce only the version. */
const upgradeBroadcastWire = v.object({
  version,
  url: v.optional(upgradeUrl),
  checksum: v.optional(checksum),
  algorithm: v.optional(algorithm),
});

const appData = v.looseObject({ cmd: nonEmpty, payload: v.optional(v.unknown()) });

type Taken<S extends v.GenericSchema> =
  | { readonly ok: true; readonly value: v.InferOutput<S> }
  | { readonly ok: false; readonly why: string };

/** Validates one part of a message; the reason names the part and its bad fields. */
function take<S extends v.GenericSchema>(schema: S, value: unknown, what: string): Taken<S> {
  const r = v.safeParse(schema, value, { message: issueMessage });
  return r.success
    ? { ok: true, value: r.output }
    : { ok: false, why: `${what}: ${describeIssues(r.issues)}` };
}

// ───────────────────────────── decode ─────────────────────────────

export type Decoded<M> = { ok: true; message: M } | { ok: false; error: DeliDecodeError };

export function decodeDown(envelope: Envelope): Decoded<DownMessage> {
  const mid = envelope.mid;
  const fail = (code: DeliDecodeError['code'], why: string): Decoded<DownMessage> => ({
    ok: false,
    error: new DeliDecodeError(code, why, mid),
  });

  switch (envelope.action) {
    case ACTION_VERSION: {
      const r = take(v.object({ version }), envelope.data, '102');
      return r.ok ? { ok: true, message: { cmd: 'version', version: r.value.version } } : fail('data', r.why);
    }
    case ACTION_UPGRADE_INFO: {
      const r = take(upgradeInfoWire, envelope.data, '103');
      return r.ok
        ? { ok: true, message: { cmd: 'upgrade_info', ...stripUndefined(r.value) } }
        : fail('data', r.why);
    }
    case ACTION_UPGRADE_BROADCAST: {
      const r = take(upgradeBroadcastWire, envelope.data, '202');
      return r.ok
        ? { ok: true, message: { cmd: 'upgrade_available', ...stripUndefined(r.value) } }
        : fail('data', r.why);
    }
    case ACTION_FROM_APP:
    case ACTION_APP_SENDS:
      break;
    default:
      return fail('unknown_action', `action ${envelope.action} is not sent to a device`);
  }

  const d = take(appData, envelope.data, 'data');
  if (!d.ok) return fail('data', d.why);
  const payload = d.value.payload;
  switch (d.value.cmd) {
    case 'user_update': {
      const r = take(v.object({ update_time: ms }), payload, 'user_update.payload');
      return r.ok
        ? { ok: true, message: { cmd: 'user_update', updateTimeMs: r.value.update_time } }
        : fail('data', r.why);
    }
    case 'user_sync': {
      // Chosen by shape, so an error names the field instead of "no union member matched".
      const r = Array.isArray(payload)
        ? take(syncArrayWire, payload, 'user_sync.payload')
        : take(syncObjectWire, payload, 'user_sync.payload');
      return r.ok ? { ok: true, message: { cmd: 'user_sync', ...r.value } } : fail('data', r.why);
    }
    case 'feature_input': {
      const r = take(
        v.object({ user_id: userId, feature_type: featureType }),
        payload,
        'feature_input.payload',
      );
      return r.ok
        ? {
            ok: true,
            message: { cmd: 'feature_input', userId: r.value.user_id, featureType: r.value.feature_type },
          }
        : fail('data', r.why);
    }
    case 'get_config': {
      const r = take(
        v.optional(v.object({ keys: v.optional(v.array(nonEmpty)) })),
        payload,
        'get_config.payload',
      );
      if (!r.ok) return fail('data', r.why);
      const keys = r.value?.keys;
      return { ok: true, message: { cmd: 'get_config', ...(keys !== undefined && { keys }) } };
    }
    case 'set_config': {
      const r = take(v.record(nonEmpty, v.unknown()), payload, 'set_config.payload');
      return r.ok ? { ok: true, message: { cmd: 'set_config', values: r.value } } : fail('data', r.why);
    }
    default:
      return fail('unknown_cmd', `unknown cmd "${d.value.cmd}"`);
  }
}

export function decodeUp(envelope: Envelope): Decoded<UpMessage> {
  const mid = envelope.mid;
  const fail = (code: DeliDecodeError['code'], why: string): Decoded<UpMessage> => ({
    ok: false,
    error: new DeliDecodeError(code, why, mid),
  });
  const versionQuery = v.optional(v.object({ version: v.optional(version) }));

  switch (envelope.action) {
    case ACTION_VERSION:
    case ACTION_UPGRADE_INFO: {
      const r = take(versionQuery, envelope.data, String(envelope.action));
      if (!r.ok) return fail('data', r.why);
      const cmd = envelope.action === ACTION_VERSION ? 'version_query' : 'upgrade_info_query';
      const v = r.value?.version;
      return { ok: true, message: { cmd, ...(v !== undefined && { version: v }) } };
    }
    case ACTION_TO_APP:
    case ACTION_APP_RELAYED:
      break;
    default:
      return fail('unknown_action', `action ${envelope.action} is not sent by a device`);
  }

  const d = take(appData, envelope.data, 'data');
  if (!d.ok) return fail('data', d.why);
  const data = d.value;
  const payload = data.payload;
  switch (data.cmd) {
    case 'user_sync': {
      const r = take(
        v.object({ size: v.pipe(v.number(), v.integer(), v.minValue(1)), update_time: ms }),
        payload,
        'user_sync.payload',
      );
      return r.ok
        ? {
            ok: true,
            message: { cmd: 'user_sync_request', size: r.value.size, updateTimeMs: r.value.update_time },
          }
        : fail('data', r.why);
    }
    case 'fp_input':
    case 'fa_input': {
      const kind = data.cmd === 'fp_input' ? 'fp' : 'fa';
      const field = `${kind}_data`;
      const r = take(
        v.object({ user_id: userId, [field]: v.pipe(base64, v.minLength(1)) }),
        payload,
        `${data.cmd}.payload`,
      );
      if (!r.ok) return fail('data', r.why);
      const value = r.value as { user_id: string } & Record<string, string>;
      return {
        ok: true,
        message: {
          cmd: 'feature_upload',
          userId: value.user_id,
          featureType: kind,
          data: value[field] ?? '',
        },
      };
    }
    case 'checkin': {
      const r = take(
        v.object({
          org_id: v.union([nonEmpty, v.pipe(v.number(), v.transform(String))]),
          users: v.pipe(
            v.array(v.object({ user_id: userId, feature_type: checkinFeature, time: seconds })),
            v.minLength(1, 'empty checkin'),
          ),
        }),
        data,
        'checkin',
      );
      return r.ok
        ? {
            ok: true,
            message: {
              cmd: 'checkin',
              orgId: r.value.org_id,
              users: r.value.users.map((u) => ({
                userId: u.user_id,
                featureType: u.feature_type,
                timeS: u.time,
              })),
            },
          }
        : fail('data', r.why);
    }
    case 'get_config': {
      const r = take(v.object({ config: v.record(v.string(), settingValue) }), payload, 'get_config.payload');
      return r.ok
        ? { ok: true, message: { cmd: 'get_config_reply', config: r.value.config } }
        : fail('data', r.why);
    }
    case 'set_config': {
      const r = take(
        v.object({ applied: v.record(v.string(), v.unknown()), refused: v.record(v.string(), v.string()) }),
        payload,
        'set_config.payload',
      );
      return r.ok
        ? {
            ok: true,
            message: { cmd: 'set_config_reply', applied: r.value.applied, refused: r.value.refused },
          }
        : fail('data', r.why);
    }
    default:
      return fail('unknown_cmd', `unknown cmd "${data.cmd}"`);
  }
}

// ───────────────────────────── encode ─────────────────────────────

export interface EncodeOptions {
  /**
   * Canonical integer ids go out as JSON numbers, as in the seed's examples
   * (docs/protocols/deli.md#check-ins).
   */
  readonly numericUserIds: boolean;
}

const DEFAULT_ENCODE: EncodeOptions = { numericUserIds: true };

export function wireUserId(id: string, options: EncodeOptions = DEFAULT_ENCODE): string | number {
  if (options.numericUserIds && /^(0|[1-9]\d{0,14})$/.test(id)) return Number(id);
  return id;
}

/** The action and `data` a device sends for `message`. */
export function encodeUp(
  message: UpMessage,
  options: EncodeOptions = DEFAULT_ENCODE,
): { action: number; data: unknown } {
  const uid = (id: string) => wireUserId(id, options);
  switch (message.cmd) {
    case 'user_sync_request':
      return {
        action: ACTION_TO_APP,
        data: { cmd: 'user_sync', payload: { size: message.size, update_time: message.updateTimeMs } },
      };
    case 'feature_upload': {
      const cmd = `${message.featureType}_input`;
      return {
        action: ACTION_TO_APP,
        data: {
          cmd,
          payload: { user_id: uid(message.userId), [`${message.featureType}_data`]: message.data },
        },
      };
    }
    case 'checkin':
      return {
        action: ACTION_TO_APP,
        data: {
          cmd: 'checkin',
          org_id: message.orgId,
          users: message.users.map((u) => ({
            user_id: uid(u.userId),
            feature_type: u.featureType,
            time: u.timeS,
          })),
        },
      };
    case 'get_config_reply':
      return { action: ACTION_TO_APP, data: { cmd: 'get_config', payload: { config: message.config } } };
    case 'set_config_reply':
      return {
        action: ACTION_TO_APP,
        data: { cmd: 'set_config', payload: { applied: message.applied, refused: message.refused } },
      };
    case 'version_query':
      return {
        action: ACTION_VERSION,
        data: message.version !== undefined ? { version: message.version } : {},
      };
    case 'upgrade_info_query':
      return {
        action: ACTION_UPGRADE_INFO,
        data: message.version !== undefined ? { version: message.version } : {},
      };
  }
}

/** The action and `data` the app (relayed as 301) or the platform sends for `message`. */
export function encodeDown(
  message: DownMessage,
  options: EncodeOptions = DEFAULT_ENCODE,
): { action: number; data: unknown } {
  const uid = (id: string) => wireUserId(id, options);
  switch (message.cmd) {
    case 'user_update':
      return {
        action: ACTION_FROM_APP,
        data: { cmd: 'user_update', payload: { update_time: message.updateTimeMs } },
      };
    case 'user_sync': {
      const users = message.users.map((u) => syncEntryWire(u, uid, message.form));
      const payload =
        message.form === 'array'
          ? users
          : {
              ...(message.reset && { reset: true }),
              ...(message.totalCount !== undefined && { total_count: message.totalCount }),
              users,
            };
      return { action: ACTION_FROM_APP, data: { cmd: 'user_sync', payload } };
    }
    case 'feature_input':
      return {
        action: ACTION_FROM_APP,
        data: {
          cmd: 'feature_input',
          payload: { user_id: uid(message.userId), feature_type: message.featureType },
        },
      };
    case 'get_config':
      return {
        action: ACTION_FROM_APP,
        data: { cmd: 'get_config', ...(message.keys !== undefined && { payload: { keys: message.keys } }) },
      };
    case 'set_config':
      return { action: ACTION_FROM_APP, data: { cmd: 'set_config', payload: message.values } };
    case 'version':
      return { action: ACTION_VERSION, data: { version: message.version } };
    case 'upgrade_info': {
      const { cmd: _cmd, ...info } = message;
      return { action: ACTION_UPGRADE_INFO, data: info };
    }
    case 'upgrade_available': {
      const { cmd: _cmd, ...info } = message;
      return { action: ACTION_UPGRADE_BROADCAST, data: info };
    }
  }
}

function syncEntryWire(
  u: SyncEntry,
  uid: (id: string) => string | number,
  form: 'array' | 'object',
): Record<string, unknown> {
  if (u.delete) return { user_id: uid(u.userId), delete: true };
  // The seed's plain array carries one template string per kind; the public docs' form an array.
  const tpl = (list: readonly string[]) => (form === 'array' ? list[0] : list.length > 0 ? list : undefined);
  return {
    user_id: uid(u.userId),
    name: u.name,
    empno: u.empno,
    dept: u.dept,
    fp: tpl(u.fp),
    fa: tpl(u.fa),
    admin: u.admin,
    update_time: u.updateTimeMs,
  };
}

function stripUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
