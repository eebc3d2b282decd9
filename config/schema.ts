import { z } from 'zod';

/**
 * The configuration file's schema. Key names are a contract with installers and tooling:
 * add keys, never rename them. Every option that decides an open point of a platform spec
 * (see docs/protocol-decisions.md) lives here with its documented default.
 */

const ianaZone = z.string().refine(isIanaZone, { message: 'not an IANA time zone (e.g. Asia/Shanghai)' });

export function isIanaZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return zone.length > 0;
  } catch {
    return false;
  }
}

const port = z.number().int().min(1, 'must be 1–65535').max(65535, 'must be 1–65535');
/** A port the gateway listens on: 0 asks the OS for a free one (tests, lab). */
const listenPort = z.number().int().min(0, 'must be 0–65535').max(65535, 'must be 0–65535');
const terminalId = z.string().regex(/^[A-Za-z0-9_-]{1,32}$/, 'use 1–32 letters, digits, "-" or "_"');
const secret = z.string().min(1, 'must not be empty');

const terminalCommon = {
  id: terminalId,
  name: z.string().max(64).optional(),
  enabled: z.boolean().default(true),
  /** `in`/`out`: every punch on this terminal has that direction; `state`: the punch's own state decides. */
  direction: z.enum(['in', 'out', 'state']),
  /** The zone of the terminal's wall clock, when it differs from the site's. */
  timezone: ianaZone.optional(),
  /** Seconds between catch-up reads of the terminal's log (real-time events arrive in between). */
  pollSeconds: z.number().min(1).max(86_400).default(60),
  /** A terminal clock further off than this is corrected (and the offset reported in health). */
  clockToleranceSeconds: z.number().min(1).max(3600).default(30),
  syncClock: z.boolean().default(true),
};

const zkTerminal = z.object({
  ...terminalCommon,
  driver: z.literal('zk'),
  host: z.string().min(1, 'must not be empty'),
  port: port.default(4370),
  /** `auto`: TCP first, UDP for old firmware that refuses TCP. */
  transport: z.enum(['auto', 'tcp', 'udp']).default('auto'),
  /** The terminal's communication password (0 = none). */
  commKey: z.number().int().min(0).max(999_999_999).default(0),
  /** How the terminal stores names: Chinese firmware usually GB2312/GBK. */
  encoding: z.enum(['gb18030', 'utf8']).default('gb18030'),
  timeoutMs: z.number().int().min(100).max(120_000).default(5000),
  /** Off by default: the gateway never clears a terminal's log unless asked, and then only journaled punches. */
  clearLogAfterJournal: z.boolean().default(false),
});

const modbusTerminal = z
  .object({
    ...terminalCommon,
    driver: z.literal('modbus'),
    transport: z.enum(['tcp', 'rtu']),
    host: z.string().min(1).optional(),
    port: port.default(502),
    path: z.string().min(1).optional(),
    baudRate: z.number().int().positive().default(9600),
    parity: z.enum(['none', 'even', 'odd']).default('none'),
    unitId: z.number().int().min(0).max(247).default(1),
    /** A built-in profile name (`event-ring-v1`) or a path to a profile JSON file. */
    profile: z.string().min(1).default('event-ring-v1'),
    timeoutMs: z.number().int().min(50).max(60_000).default(1000),
    pollSeconds: z.number().min(0.1).max(86_400).default(1),
  })
  .superRefine((t, ctx) => {
    if (t.transport === 'tcp' && !t.host)
      ctx.addIssue({ code: 'custom', path: ['host'], message: 'required for transport "tcp"' });
    if (t.transport === 'rtu' && !t.path)
      ctx.addIssue({
        code: 'custom',
        path: ['path'],
        message: 'required for transport "rtu" (e.g. /dev/ttyUSB0)',
      });
  });

const admsTerminal = z.object({
  ...terminalCommon,
  driver: z.literal('adms'),
  /** The device serial number it sends as `SN=`; only configured numbers are served. */
  sn: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'use the serial number printed on the device'),
});

export const terminalSchema = z.discriminatedUnion('driver', [zkTerminal, modbusTerminal, admsTerminal]);

const sichuanSchema = z
  .object({
    enabled: z.boolean().default(false),
    /** API root, e.g. https://platform.example.gov.cn/api (endpoints are appended: /Online, /UploadData, …). */
    baseUrl: z.url({ message: 'must be an http(s) URL' }).optional(),
    sn: z.string().min(1).max(64).optional(),
    deviceKey: secret.optional(),
    /** 32 hex characters or 16 UTF-8 characters. */
    sm4Key: z.string().optional(),
    /** Same forms as sm4Key; default 16 zero bytes. */
    sm4Iv: z.string().default('00000000000000000000000000000000'),
    cipherEncoding: z.enum(['hex', 'base64']).default('hex'),
    signCase: z.enum(['lower', 'upper']).default('lower'),
    heartbeatSeconds: z.number().int().min(10).max(3600).default(300),
    /** Fallback only when a task record's shape says nothing (default: the seed's dictionary 6.5). */
    taskTypeMap: z
      .object({ '1': z.enum(['delete', 'issue']), '2': z.enum(['delete', 'issue']) })
      .default({ '1': 'delete', '2': 'issue' }),
    batchSize: z
      .number()
      .int()
      .min(1)
      .max(10, 'the platform accepts at most 10 records per UploadData')
      .default(10),
    requestTimeoutMs: z.number().int().min(1000).max(120_000).default(15_000),
    /** PEM file with an extra CA for a platform with a private certificate; verification always stays on. */
    caFile: z.string().optional(),
  })
  .superRefine((s, ctx) => {
    if (!s.enabled) return;
    for (const key of ['baseUrl', 'sn', 'deviceKey', 'sm4Key'] as const) {
      if (!s[key]) ctx.addIssue({ code: 'custom', path: [key], message: 'required when enabled' });
    }
    if (s.sm4Key && !isSm4KeyForm(s.sm4Key)) {
      ctx.addIssue({
        code: 'custom',
        path: ['sm4Key'],
        message: 'must be 32 hex characters or 16 UTF-8 bytes',
      });
    }
  });

const deliSchema = z
  .object({
    enabled: z.boolean().default(false),
    /** mqtt://, mqtts://, ws:// or wss:// */
    brokerUrl: z
      .string()
      .regex(/^(mqtts?|wss?):\/\/[^\s]+$/, 'must be an mqtt://, mqtts://, ws:// or wss:// URL')
      .optional(),
    /** `{productId}_{SN}`, at most 64 characters; also the MQTT client id. */
    deviceId: z.string().min(1).max(64).optional(),
    appId: z.string().min(1).optional(),
    orgId: z.string().min(1).optional(),
    username: z.string().optional(),
    password: z.string().optional(),
    topics: z
      .object({
        up: z.string().min(1).default('deli/device/{deviceId}/up'),
        down: z.string().min(1).default('deli/device/{deviceId}/down'),
        /** Retained online/offline status; the offline one is the MQTT last will (PROTOCOLS.md Deli 1). */
        status: z.string().min(1).default('deli/device/{deviceId}/status'),
      })
      .prefault({}),
    batchSize: z.number().int().min(1).max(500).default(50),
    /** Page size asked for in user_sync. */
    syncPageSize: z.number().int().min(1).max(1000).default(100),
    keepaliveSeconds: z.number().int().min(5).max(3600).default(60),
    caFile: z.string().optional(),
    /** Device name reported to the app; changeable remotely with set_config. */
    deviceName: z.string().max(64).optional(),
    /** Reconnect backoff: first delay, doubled per failure (with jitter) up to reconnectMaxMs. */
    reconnectMinMs: z.number().int().min(10).max(600_000).default(1000),
    reconnectMaxMs: z.number().int().min(10).max(3_600_000).default(60_000),
    /** A checkin batch without PUBACK within this time is reported unacknowledged (the outbox retries it). */
    publishTimeoutMs: z.number().int().min(100).max(600_000).default(15_000),
    /** A roster sync that receives nothing for this long ends (incomplete: watermark kept, no reset). */
    syncTimeoutMs: z.number().int().min(100).max(600_000).default(30_000),
    /** Send user ids that are canonical integers as JSON numbers, as the seed's examples do. */
    numericUserIds: z.boolean().default(true),
  })
  .superRefine((d, ctx) => {
    if (!d.enabled) return;
    for (const key of ['brokerUrl', 'deviceId', 'appId', 'orgId'] as const) {
      if (!d[key]) ctx.addIssue({ code: 'custom', path: [key], message: 'required when enabled' });
    }
  });

export const configSchema = z
  .object({
    site: z
      .object({
        name: z.string().min(1, 'must not be empty').max(128),
        timezone: ianaZone.default('Asia/Shanghai'),
      })
      .strict(),
    dataDir: z.string().min(1).default('./data'),
    http: z
      .object({
        host: z.string().min(1).default('0.0.0.0'),
        port: listenPort.default(8080),
        /** scrypt hash (`scrypt$N$r$p$salt$hash`) of the admin password; the page asks for one on first run otherwise. */
        adminPasswordHash: z.string().optional(),
        /** Bearer token for scripts calling /api/. */
        apiToken: z.string().min(16, 'use at least 16 characters').optional(),
        /** When set, /metrics needs `Authorization: Bearer <token>`; otherwise it is open. */
        metricsToken: z.string().min(16, 'use at least 16 characters').optional(),
      })
      .strict()
      .prefault({}),
    adms: z
      .object({
        host: z.string().min(1).default('0.0.0.0'),
        port: listenPort.default(8081),
        /** Largest request body accepted from a terminal. */
        maxBodyBytes: z
          .number()
          .int()
          .min(1024)
          .max(64 * 1024 * 1024)
          .default(8 * 1024 * 1024),
        /** Seconds between a terminal's command polls, sent in the handshake (`Delay`). */
        delaySeconds: z.number().int().min(1).max(600).default(10),
        /** A command with no result by then is failed (never re-sent by the driver: the device may have run it). */
        commandTimeoutMs: z.number().int().min(1000).max(3_600_000).default(120_000),
        /** How long an enrolment waits for the person at the terminal and the template upload. */
        enrolTimeoutMs: z.number().int().min(1000).max(3_600_000).default(180_000),
      })
      .strict()
      .prefault({}),
    journal: z
      .object({
        /** A segment is deleted only when every enabled upstream has passed it and it is older than this. */
        retentionDays: z.number().int().min(1).max(3650).default(90),
        segmentMaxBytes: z
          .number()
          .int()
          .min(4096)
          .max(1024 * 1024 * 1024)
          .default(16 * 1024 * 1024),
      })
      .strict()
      .prefault({}),
    pipeline: z
      .object({
        /** How far back re-read punches are recognised as duplicates (they are also bounded by driver cursors). */
        dedupWindowDays: z.number().int().min(1).max(366).default(31),
      })
      .strict()
      .prefault({}),
    outbox: z
      .object({
        initialBackoffMs: z.number().int().min(10).max(600_000).default(1000),
        maxBackoffMs: z.number().int().min(100).max(3_600_000).default(300_000),
      })
      .strict()
      .prefault({}),
    reconcile: z
      .object({
        /** Terminal writes (users, templates, photos) per second at most, per terminal; 0 = unlimited. */
        maxStepsPerSecond: z.number().min(0).max(10_000).default(50),
      })
      .strict()
      .prefault({}),
    log: z
      .object({ level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).default('info') })
      .strict()
      .prefault({}),
    terminals: z.array(terminalSchema).default([]),
    upstreams: z
      .object({
        sichuan: sichuanSchema.prefault({}),
        deli: deliSchema.prefault({}),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .superRefine((c, ctx) => {
    const seen = new Map<string, number>();
    c.terminals.forEach((t, i) => {
      const first = seen.get(t.id);
      if (first !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['terminals', i, 'id'],
          message: `duplicate terminal id "${t.id}" (also terminals.${first})`,
        });
      } else seen.set(t.id, i);
    });
    const sns = new Map<string, number>();
    c.terminals.forEach((t, i) => {
      if (t.driver !== 'adms') return;
      const first = sns.get(t.sn);
      if (first !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['terminals', i, 'sn'],
          message: `duplicate ADMS serial number (also terminals.${first})`,
        });
      } else sns.set(t.sn, i);
    });
  });

export function isSm4KeyForm(key: string): boolean {
  return /^[0-9a-fA-F]{32}$/.test(key) || Buffer.byteLength(key, 'utf8') === 16;
}

/** The file as written (defaults may be absent). */
export type ConfigInput = z.input<typeof configSchema>;
/** The validated configuration with every default filled in. */
export type GatewayConfig = z.output<typeof configSchema>;
export type TerminalConfig = GatewayConfig['terminals'][number];
export type ZkTerminalConfig = Extract<TerminalConfig, { driver: 'zk' }>;
export type ModbusTerminalConfig = Extract<TerminalConfig, { driver: 'modbus' }>;
export type AdmsTerminalConfig = Extract<TerminalConfig, { driver: 'adms' }>;
export type SichuanConfig = GatewayConfig['upstreams']['sichuan'];
export type DeliConfig = GatewayConfig['upstreams']['deli'];
