import { accessSync, constants, statSync } from 'node:fs';
import * as v from 'valibot';
import { deviceIdProblem, isPasswordHash, sm4KeyProblem } from './forms';
import { pathTo, validator } from './validation';

/**
 * The configuration file's schema. Key names are a contract with installers and tooling:
 * add keys, never rename them. Every option that decides an open point of a platform spec
 * (see docs/sichuan.md and docs/deli.md) lives here with its documented default.
 *
 * valibot, not zod: zod cost the packaged gateway ≈ 6 MB of idle memory, valibot ≈ 1 (docs/packaging.md).
 */

// ───────────────────────────── building blocks ─────────────────────────────

const int = (min: number, max: number, minMessage?: string, maxMessage?: string) =>
  v.pipe(v.number(), v.integer(), v.minValue(min, minMessage), v.maxValue(max, maxMessage));
const range = (min: number, max: number) => v.pipe(v.number(), v.minValue(min), v.maxValue(max));
const nonEmpty = (message?: string) => v.pipe(v.string(), v.minLength(1, message));

const ianaZone = v.pipe(v.string(), v.check(isIanaZone, 'not an IANA time zone (e.g. Asia/Shanghai)'));

export function isIanaZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return zone.length > 0;
  } catch {
    return false;
  }
}

const port = int(1, 65535, 'must be 1–65535', 'must be 1–65535');
/** A port the gateway listens on: 0 asks the OS for a free one (tests, lab). */
const listenPort = int(0, 65535, 'must be 0–65535', 'must be 0–65535');
const terminalId = v.pipe(
  v.string(),
  v.regex(/^[A-Za-z0-9_-]{1,32}$/, 'use 1–32 letters, digits, "-" or "_"'),
);
const secret = nonEmpty('must not be empty');

/** A string checked by a rule from config/forms.ts, the one the part that uses the value applies too. */
function formOf(problemOf: (value: string) => string | undefined) {
  return v.pipe(
    v.string(),
    v.rawCheck<string>(({ dataset, addIssue }) => {
      if (!dataset.typed) return;
      const problem = problemOf(dataset.value);
      if (problem !== undefined) addIssue({ message: problem });
    }),
  );
}

/**
 * A file the gateway reads when a part starts (an extra CA): checked here so a wrong path is a
 * configuration error (exit 2, the field named), not a failed start. Relative to the working folder, as at start.
 */
const readableFile = formOf((file) => {
  try {
    accessSync(file, constants.R_OK);
    return statSync(file).isFile() ? undefined : 'is not a file';
  } catch (error) {
    return `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`;
  }
});

const terminalCommon = {
  id: terminalId,
  name: v.optional(v.pipe(v.string(), v.maxLength(64))),
  enabled: v.optional(v.boolean(), true),
  /** `in`/`out`: every punch on this terminal has that direction; `state`: the punch's own state decides. */
  direction: v.picklist(['in', 'out', 'state']),
  /** The zone of the terminal's wall clock, when it differs from the site's. */
  timezone: v.optional(ianaZone),
  /** Seconds between catch-up reads of the terminal's log (real-time events arrive in between). */
  pollSeconds: v.optional(range(1, 86_400), 60),
  /** A terminal clock further off than this is corrected (and the offset reported in health). */
  clockToleranceSeconds: v.optional(range(1, 3600), 30),
  syncClock: v.optional(v.boolean(), true),
  /**
   * The longest wait between reconnect attempts to an unreachable terminal (the wait doubles from 1 s
   * up to this). A LAN connect costs nothing, and a terminal back from a power cut should be read soon.
   */
  reconnectMaxSeconds: v.optional(range(1, 3600), 30),
};

const zkTerminal = v.strictObject({
  ...terminalCommon,
  driver: v.literal('zk'),
  host: nonEmpty('must not be empty'),
  port: v.optional(port, 4370),
  /** `auto`: TCP first, UDP for old firmware that refuses TCP. */
  transport: v.optional(v.picklist(['auto', 'tcp', 'udp']), 'auto'),
  /** The terminal's communication password (0 = none). */
  commKey: v.optional(int(0, 999_999_999), 0),
  /** How the terminal stores names: Chinese firmware usually GB2312/GBK. */
  encoding: v.optional(v.picklist(['gb18030', 'utf8']), 'gb18030'),
  timeoutMs: v.optional(int(100, 120_000), 5000),
  /** Off by default: the gateway never clears a terminal's log unless asked, and then only journaled punches. */
  clearLogAfterJournal: v.optional(v.boolean(), false),
});

const modbusTerminal = v.pipe(
  v.strictObject({
    ...terminalCommon,
    driver: v.literal('modbus'),
    transport: v.picklist(['tcp', 'rtu']),
    host: v.optional(nonEmpty()),
    port: v.optional(port, 502),
    path: v.optional(nonEmpty()),
    baudRate: v.optional(v.pipe(v.number(), v.integer(), v.gtValue(0)), 9600),
    parity: v.optional(v.picklist(['none', 'even', 'odd']), 'none'),
    unitId: v.optional(int(0, 247), 1),
    /** A built-in profile name (`event-ring-v1`) or a path to a profile JSON file. */
    profile: v.optional(nonEmpty(), 'event-ring-v1'),
    timeoutMs: v.optional(int(50, 60_000), 1000),
    pollSeconds: v.optional(range(0.1, 86_400), 1),
  }),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const t = dataset.value;
    if (t.transport === 'tcp' && !t.host)
      addIssue({ message: 'required for transport "tcp"', path: pathTo(t, ['host']) });
    if (t.transport === 'rtu' && !t.path)
      addIssue({ message: 'required for transport "rtu" (e.g. /dev/ttyUSB0)', path: pathTo(t, ['path']) });
  }),
);

const admsTerminal = v.strictObject({
  ...terminalCommon,
  driver: v.literal('adms'),
  /** The device serial number it sends as `SN=`; only configured numbers are served. */
  sn: v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{1,64}$/, 'use the serial number printed on the device')),
});

const terminal = v.variant('driver', [zkTerminal, modbusTerminal, admsTerminal]);
export const terminalSchema = validator(terminal);

/**
 * An upstream's settings as parsed: an enabled one has every key in `K` set, a disabled one may
 * lack them. `GatewayConfig['upstreams'][name]` narrows on `enabled`, so a platform client takes
 * only a configuration it can run with and repeats no check.
 */
type EnabledOrNot<T extends { enabled: boolean }, K extends keyof T> =
  | Flat<Omit<T, 'enabled' | K> & { enabled: true } & { [P in K]-?: Exclude<T[P], undefined> }>
  | Flat<Omit<T, 'enabled'> & { enabled: false }>;
type Flat<T> = { [P in keyof T]: T[P] };

/**
 * "required when enabled" on each key of `keys` an enabled upstream leaves empty, at that key.
 *
 * One object checked after parsing rather than `v.variant('enabled', …)` with required keys: with the
 * variant, a missing key becomes valibot's "required" and leaves the whole file untyped (so other
 * checks, such as duplicate terminal ids, would go unreported), and a non-boolean `enabled` would
 * read "Invalid discriminator value". The messages stay what installers and scripts know.
 */
function requiredWhenEnabled<T extends { enabled: boolean }, const K extends keyof T & string>(
  keys: readonly K[],
): v.BaseValidation<T, EnabledOrNot<T, K>, v.RawCheckIssue<T>> {
  const check = v.rawCheck<T>(({ dataset, addIssue }) => {
    if (!dataset.typed || !dataset.value.enabled) return;
    const settings = dataset.value;
    for (const key of keys) {
      if (!settings[key]) addIssue({ message: 'required when enabled', path: pathTo(settings, [key]) });
    }
  });
  // Only the output type is narrowed, and soundly: the check adds an issue for every key an enabled
  // upstream lacks, and valibot hands out no output that has issues.
  return check as unknown as v.BaseValidation<T, EnabledOrNot<T, K>, v.RawCheckIssue<T>>;
}

const taskType = v.picklist(['delete', 'issue']);

/** The cipher's own rule (config/forms.ts), so what passes here is what the Sichuan client accepts. */
const sm4KeyForm = formOf(sm4KeyProblem);

const sichuanSchema = v.pipe(
  v.strictObject({
    enabled: v.optional(v.boolean(), false),
    /** API root, e.g. https://platform.example.gov.cn/api (endpoints are appended: /Online, /UploadData, …). */
    baseUrl: v.optional(
      v.pipe(
        v.string(),
        v.url('must be an http(s) URL'),
        // The transport speaks only these two; another scheme would fail every request, not the start.
        v.regex(/^https?:\/\//i, 'must be an http(s) URL'),
      ),
    ),
    sn: v.optional(v.pipe(v.string(), v.minLength(1), v.maxLength(64))),
    deviceKey: v.optional(secret),
    /** 32 hex characters or 16 UTF-8 bytes. */
    sm4Key: v.optional(sm4KeyForm),
    /** Same forms as sm4Key; default 16 zero bytes. */
    sm4Iv: v.optional(sm4KeyForm, '00000000000000000000000000000000'),
    cipherEncoding: v.optional(v.picklist(['hex', 'base64']), 'hex'),
    signCase: v.optional(v.picklist(['lower', 'upper']), 'lower'),
    heartbeatSeconds: v.optional(int(10, 3600), 300),
    /** Fallback only when a task record's shape says nothing (default: the seed's dictionary 6.5). */
    taskTypeMap: v.optional(v.strictObject({ '1': taskType, '2': taskType }), {
      '1': 'delete',
      '2': 'issue',
    }),
    batchSize: v.optional(
      int(1, 10, undefined, 'the platform accepts at most 10 records per UploadData'),
      10,
    ),
    requestTimeoutMs: v.optional(int(1000, 120_000), 15_000),
    /** PEM file with an extra CA for a platform with a private certificate; verification always stays on. */
    caFile: v.optional(readableFile),
  }),
  requiredWhenEnabled(['baseUrl', 'sn', 'deviceKey', 'sm4Key']),
);

const deliSchema = v.pipe(
  v.strictObject({
    enabled: v.optional(v.boolean(), false),
    /** mqtt://, mqtts://, ws:// or wss:// */
    brokerUrl: v.optional(
      v.pipe(
        v.string(),
        v.regex(/^(mqtts?|wss?):\/\/[^\s]+$/, 'must be an mqtt://, mqtts://, ws:// or wss:// URL'),
      ),
    ),
    /** `{productId}_{SN}`, at most 64 characters; also the MQTT client id. */
    deviceId: v.optional(v.pipe(formOf(deviceIdProblem), v.minLength(1), v.maxLength(64))),
    appId: v.optional(nonEmpty()),
    orgId: v.optional(nonEmpty()),
    username: v.optional(v.string()),
    password: v.optional(v.string()),
    topics: v.optional(
      v.strictObject({
        up: v.optional(nonEmpty(), 'deli/device/{deviceId}/up'),
        down: v.optional(nonEmpty(), 'deli/device/{deviceId}/down'),
        /** Retained online/offline status; the offline one is the MQTT last will (PROTOCOLS.md Deli 1). */
        status: v.optional(nonEmpty(), 'deli/device/{deviceId}/status'),
      }),
      {},
    ),
    batchSize: v.optional(int(1, 500), 50),
    /** Page size asked for in user_sync. */
    syncPageSize: v.optional(int(1, 1000), 100),
    keepaliveSeconds: v.optional(int(5, 3600), 60),
    caFile: v.optional(readableFile),
    /** Device name reported to the app; changeable remotely with set_config. */
    deviceName: v.optional(v.pipe(v.string(), v.maxLength(64))),
    /** Reconnect backoff: first delay, doubled per failure (with jitter) up to reconnectMaxMs. */
    reconnectMinMs: v.optional(int(10, 600_000), 1000),
    reconnectMaxMs: v.optional(int(10, 3_600_000), 60_000),
    /** A checkin batch without PUBACK within this time is reported unacknowledged (the outbox retries it). */
    publishTimeoutMs: v.optional(int(100, 600_000), 15_000),
    /** A roster sync that receives nothing for this long ends (incomplete: watermark kept, no reset). */
    syncTimeoutMs: v.optional(int(100, 600_000), 30_000),
    /** Send user ids that are canonical integers as JSON numbers, as the seed's examples do. */
    numericUserIds: v.optional(v.boolean(), true),
  }),
  requiredWhenEnabled(['brokerUrl', 'deviceId', 'appId', 'orgId']),
);

/**
 * `fleet`: the box reports to an office over an MQTT broker the installer runs (docs/fleet.md).
 * Off by default; `commandKey` and `password` may come from the environment (config/load.ts).
 */
const fleetSchema = v.pipe(
  v.strictObject({
    enabled: v.optional(v.boolean(), false),
    brokerUrl: v.optional(
      v.pipe(v.string(), v.regex(/^mqtts?:\/\/[^\s]+$/, 'must be an mqtt:// or mqtts:// URL')),
    ),
    /** One topic level, unique in the fleet: the office's `fleet send SITE` and the broker's ACLs use it. */
    siteId: v.optional(
      v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{1,64}$/, 'use 1–64 letters, digits, "-" or "_"')),
    ),
    topicPrefix: v.optional(
      v.pipe(
        v.string(),
        v.regex(
          /^(?![/$])[^+#\s]*[^+#\s/]$/,
          'use topic levels without "+", "#" or spaces, not starting with "/" or "$", not ending with "/"',
        ),
      ),
      'edge-gateway/{siteId}',
    ),
    username: v.optional(nonEmpty('must not be empty')),
    password: v.optional(secret),
    /** A client certificate and its key (PEM), instead of or beside a password. */
    certFile: v.optional(readableFile),
    keyFile: v.optional(readableFile),
    /** An extra CA (PEM) for an `mqtts://` broker with a private certificate; verification stays on. */
    caFile: v.optional(readableFile),
    intervalSeconds: v.optional(int(1, 86_400), 300),
    keepaliveSeconds: v.optional(int(1, 3600), 120),
    /** The shared secret commands are signed with (HMAC-SHA256); without it every command is refused. */
    commandKey: v.optional(v.pipe(v.string(), v.minLength(16, 'use at least 16 characters'))),
    /** Alert events kept while the broker is away; past this the oldest go and are counted. */
    alertQueue: v.optional(int(1, 100_000), 500),
    reconnectMinMs: v.optional(int(10, 600_000), 1000),
    reconnectMaxMs: v.optional(int(10, 3_600_000), 300_000),
  }),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const f = dataset.value;
    if (f.enabled) {
      for (const key of ['brokerUrl', 'siteId'] as const) {
        if (!f[key]) addIssue({ message: 'required when enabled', path: pathTo(f, [key]) });
      }
    }
    if (f.certFile && !f.keyFile)
      addIssue({ message: 'required with certFile', path: pathTo(f, ['keyFile']) });
    if (f.keyFile && !f.certFile)
      addIssue({ message: 'required with keyFile', path: pathTo(f, ['certFile']) });
  }),
);

const host = v.optional(nonEmpty(), '0.0.0.0');
/** A DNS name or an IPv4/IPv6 address, as a browser sends it in `Host` but without the port. */
const allowedHost = v.pipe(
  v.string(),
  v.regex(
    /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?|\[?[0-9A-Fa-f.]*:[0-9A-Fa-f.]*:[0-9A-Fa-f:.]*\]?)$/,
    'must be a host name or an address, without scheme, port or path (e.g. gateway.site.lan)',
  ),
);

const gatewayConfig = v.pipe(
  v.strictObject({
    site: v.strictObject({
      name: v.pipe(v.string(), v.minLength(1, 'must not be empty'), v.maxLength(128)),
      timezone: v.optional(ianaZone, 'Asia/Shanghai'),
    }),
    dataDir: v.optional(nonEmpty(), './data'),
    http: v.optional(
      v.strictObject({
        host,
        port: v.optional(listenPort, 8080),
        /** scrypt hash (`scrypt$N$r$p$salt$hash`) of the admin password; the page asks for one on first run otherwise. */
        adminPasswordHash: v.optional(
          formOf((hash) =>
            isPasswordHash(hash)
              ? undefined
              : 'must be scrypt$N$r$p$salt$hash (N a power of two, a hash of at least 16 bytes)',
          ),
        ),
        /** Bearer token for scripts calling /api/. */
        apiToken: v.optional(v.pipe(v.string(), v.minLength(16, 'use at least 16 characters'))),
        /** When set, /metrics needs `Authorization: Bearer <token>`; otherwise it is open. */
        metricsToken: v.optional(v.pipe(v.string(), v.minLength(16, 'use at least 16 characters'))),
        /** More names (or addresses) the page is reached by, besides loopback, the host name and interface addresses. */
        allowedHosts: v.optional(v.array(allowedHost, 'must be a list of host names'), []),
      }),
      {},
    ),
    adms: v.optional(
      v.strictObject({
        host,
        port: v.optional(listenPort, 8081),
        /** Largest request body accepted from a terminal. */
        maxBodyBytes: v.optional(int(1024, 64 * 1024 * 1024), 8 * 1024 * 1024),
        /** Seconds between a terminal's command polls, sent in the handshake (`Delay`). */
        delaySeconds: v.optional(int(1, 600), 10),
        /** A command with no result by then is failed (never re-sent by the driver: the device may have run it). */
        commandTimeoutMs: v.optional(int(1000, 3_600_000), 120_000),
        /** How long an enrolment waits for the person at the terminal and the template upload. */
        enrolTimeoutMs: v.optional(int(1000, 3_600_000), 180_000),
      }),
      {},
    ),
    journal: v.optional(
      v.strictObject({
        /** A segment is deleted only when every enabled upstream has passed it and it is older than this. */
        retentionDays: v.optional(int(1, 3650), 90),
        segmentMaxBytes: v.optional(int(4096, 1024 * 1024 * 1024), 16 * 1024 * 1024),
      }),
      {},
    ),
    retention: v.optional(
      v.strictObject({
        /** Years of punches the query store keeps for the page and reports (the journal keeps `journal.retentionDays`). */
        punchYears: v.optional(int(1, 50), 3),
      }),
      {},
    ),
    reports: v.optional(
      v.strictObject({
        /**
         * A stay open at midnight is closed by the next day's first punch if it is an `out` within
         * this many hours of the `in`; the muster list counts an `in` this recent as inside.
         */
        nightShiftHours: v.optional(int(1, 24), 14),
      }),
      {},
    ),
    pipeline: v.optional(
      v.strictObject({
        /**
         * How far back, in punch time, a re-read punch is recognised as a duplicate (re-reads are also
         * bounded by driver cursors). Start-up reads only the journal segments holding punches this recent.
         */
        dedupWindowDays: v.optional(int(1, 366), 7),
      }),
      {},
    ),
    outbox: v.optional(
      v.strictObject({
        initialBackoffMs: v.optional(int(10, 600_000), 1000),
        maxBackoffMs: v.optional(int(100, 3_600_000), 300_000),
        /** At most this many acknowledged batches wait for their cursor to reach the disk: a crash re-sends at most this many. */
        cursorSaveBatches: v.optional(int(1, 1000), 32),
        /** An acknowledged batch's cursor starts to be saved within this long. */
        cursorSaveMs: v.optional(int(0, 60_000), 1000),
      }),
      {},
    ),
    reconcile: v.optional(
      v.strictObject({
        /** Terminal writes (users, templates, photos) per second at most, per terminal; 0 = unlimited. */
        maxStepsPerSecond: v.optional(range(0, 10_000), 50),
      }),
      {},
    ),
    log: v.optional(
      v.strictObject({
        level: v.optional(v.picklist(['trace', 'debug', 'info', 'warn', 'error', 'fatal']), 'info'),
      }),
      {},
    ),
    update: v.optional(
      v.strictObject({
        /** Accept plain http download URLs (lab, loopback); otherwise only https with verified certificates. */
        allowInsecureHttp: v.optional(v.boolean(), false),
        /** A self-updated version must be healthy within this long after each start, or it is restarted (and rolled back after 3 starts). */
        confirmWithinSeconds: v.optional(int(5, 3600), 180),
      }),
      {},
    ),
    terminals: v.optional(v.array(terminal), []),
    upstreams: v.optional(
      v.strictObject({
        sichuan: v.optional(sichuanSchema, {}),
        deli: v.optional(deliSchema, {}),
      }),
      {},
    ),
    fleet: v.optional(fleetSchema, {}),
  }),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const c = dataset.value;
    const seen = new Map<string, number>();
    c.terminals.forEach((t, i) => {
      const first = seen.get(t.id);
      if (first !== undefined) {
        addIssue({
          message: `duplicate terminal id "${t.id}" (also terminals.${first})`,
          path: pathTo(c, ['terminals', i, 'id']),
        });
      } else seen.set(t.id, i);
    });
    const sns = new Map<string, number>();
    c.terminals.forEach((t, i) => {
      if (t.driver !== 'adms') return;
      const first = sns.get(t.sn);
      if (first !== undefined) {
        addIssue({
          message: `duplicate ADMS serial number (also terminals.${first})`,
          path: pathTo(c, ['terminals', i, 'sn']),
        });
      } else sns.set(t.sn, i);
    });
  }),
);

export const configSchema = validator(gatewayConfig);

/** The file as written (defaults may be absent). */
export type ConfigInput = v.InferInput<typeof gatewayConfig>;
/** The validated configuration with every default filled in. */
export type GatewayConfig = v.InferOutput<typeof gatewayConfig>;
export type TerminalConfig = GatewayConfig['terminals'][number];
export type ZkTerminalConfig = Extract<TerminalConfig, { driver: 'zk' }>;
export type ModbusTerminalConfig = Extract<TerminalConfig, { driver: 'modbus' }>;
export type AdmsTerminalConfig = Extract<TerminalConfig, { driver: 'adms' }>;
/** `upstreams.sichuan` as parsed; narrows on `enabled`. */
export type SichuanConfig = GatewayConfig['upstreams']['sichuan'];
/** What the Sichuan client runs with: baseUrl, sn, deviceKey and sm4Key are set. */
export type EnabledSichuanConfig = Extract<SichuanConfig, { enabled: true }>;
/** `upstreams.deli` as parsed; narrows on `enabled`. */
export type DeliConfig = GatewayConfig['upstreams']['deli'];
/** `fleet` as parsed (docs/fleet.md). */
export type FleetConfig = GatewayConfig['fleet'];
/** What the Deli client runs with: brokerUrl, deviceId, appId and orgId are set. */
export type EnabledDeliConfig = Extract<DeliConfig, { enabled: true }>;
