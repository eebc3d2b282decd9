import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createServer, Socket } from 'node:net';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { DeliEmulator, type DeliEmulatorOptions } from '../../cloud/deli/emulator';
import { DeliUpstream } from '../../cloud/deli/upstream';
import { configSchema, type EnabledDeliConfig } from '../../config/schema';
import type {
  BiometricPayload,
  EnrolmentPort,
  Punch,
  RosterPort,
  RosterSource,
  StatePort,
  StateSlot,
  TemplateKind,
  UpgradeOffer,
  WorkerChange,
  WorkerIdentity,
} from '../../gateway/model';
import { systemClock } from '../../lib/clock';
import { testLogger } from '../support/logger';
import { tempDir } from '../support/tmp';

export const DEVICE_ID = 'P100_SN0001';
export const APP_ID = 'attendance-app';
export const ORG_ID = 'org-42';

export function deliConfig(brokerUrl: string, overrides: Record<string, unknown> = {}): EnabledDeliConfig {
  const deli = configSchema.parse({
    site: { name: 'test' },
    upstreams: {
      deli: {
        enabled: true,
        brokerUrl,
        deviceId: DEVICE_ID,
        appId: APP_ID,
        orgId: ORG_ID,
        reconnectMinMs: 50,
        reconnectMaxMs: 500,
        publishTimeoutMs: 3000,
        syncTimeoutMs: 2000,
        ...overrides,
      },
    },
  }).upstreams.deli;
  if (!deli.enabled) throw new Error('deliConfig builds an enabled Deli upstream; do not override enabled');
  return deli;
}

/** The desired roster as the hub keeps it, in memory; records every call. */
export class MemoryRoster implements RosterPort {
  readonly users = new Map<string, WorkerChange>();
  readonly calls: (
    | { kind: 'apply'; count: number }
    | { kind: 'replace'; keep: number; appliedBefore: number }
  )[] = [];
  applied = 0;

  async apply(changes: readonly WorkerChange[]): Promise<void> {
    await new Promise((resolve) => setImmediate(resolve));
    for (const change of changes) {
      const id = change.identity.deliUserId ?? '';
      if (change.op === 'remove') this.users.delete(id);
      else this.users.set(id, change);
    }
    this.applied += changes.length;
    this.calls.push({ kind: 'apply', count: changes.length });
  }

  async replaceSource(source: RosterSource, keep: readonly WorkerIdentity[]): Promise<void> {
    if (source !== 'deli') throw new Error(`unexpected source ${source}`);
    const ids = new Set(keep.map((k) => k.deliUserId));
    for (const id of [...this.users.keys()]) if (!ids.has(id)) this.users.delete(id);
    this.calls.push({ kind: 'replace', keep: keep.length, appliedBefore: this.applied });
  }
}

export class MemoryState implements StatePort {
  readonly values = new Map<string, unknown>();
  slot<T>(key: string): StateSlot<T> {
    return {
      get: () => this.values.get(key) as T | undefined,
      set: async (value: T) => {
        this.values.set(key, value);
      },
    };
  }
}

/** A terminal enrolment that "captures" fixed bytes after a short delay. */
export class FixedEnrolment implements EnrolmentPort {
  readonly requests: { identity: WorkerIdentity; kind: TemplateKind }[] = [];
  fail = false;
  async enrol(identity: WorkerIdentity, kind: TemplateKind): Promise<BiometricPayload> {
    this.requests.push({ identity, kind });
    await new Promise((resolve) => setTimeout(resolve, 30));
    if (this.fail) throw new Error('finger not placed');
    return { kind, index: 0, format: 'zk-fp10', data: new Uint8Array([1, 2, 3, kind === 'fp' ? 4 : 5]) };
  }
}

export function makeUpstream(brokerUrl: string, overrides: Record<string, unknown> = {}) {
  const roster = new MemoryRoster();
  const state = new MemoryState();
  const enrolment = new FixedEnrolment();
  const upgrades: UpgradeOffer[] = [];
  const settings: Record<string, string | number> = { device_name: 'gate-1', heartbeat_seconds: 60 };
  const upstream = new DeliUpstream(deliConfig(brokerUrl, overrides), {
    logger: testLogger('deli'),
    clock: systemClock,
    roster,
    state,
    enrolment,
    lookupWorker: (workerId) => (workerId.startsWith('w') ? { deliUserId: workerId.slice(1) } : undefined),
    onUpgrade: (offer) => upgrades.push(offer),
    remoteSettings: {
      get: () => ({ ...settings }),
      set: async (key, value) => {
        if (key === 'device_name' && typeof value === 'string' && value.length <= 64) {
          settings[key] = value;
          return { ok: true };
        }
        if (key === 'heartbeat_seconds' && typeof value === 'number' && value >= 10 && value <= 3600) {
          settings[key] = value;
          return { ok: true };
        }
        return { ok: false, reason: `invalid value for ${key}` };
      },
    },
    currentVersion: '1.0.0',
  });
  return { upstream, roster, state, enrolment, upgrades, settings };
}

export function makePunches(count: number, startSeq = 1): Punch[] {
  const base = Date.UTC(2026, 0, 5, 0, 0, 0);
  return Array.from({ length: count }, (_, i) => {
    const seq = startSeq + i;
    return {
      seq,
      key: `t1|${seq}`,
      terminalId: 't1',
      pin: String(seq % 1000),
      workerId: `w${seq % 1000}`,
      direction: 'in',
      method: seq % 2 === 0 ? 'fp' : 'fa',
      atMs: base + seq * 1000,
      source: 'poll',
      flags: [],
      receivedMs: base + seq * 1000,
    };
  });
}

/** Drives deliver() the way an outbox does: a batch that is not acknowledged is retried as it is. */
export async function drain(
  upstream: DeliUpstream,
  punches: readonly Punch[],
  onProgress?: (cursor: number) => void,
): Promise<{ attempts: number; batches: Punch[][] }> {
  const batches: Punch[][] = [];
  let cursor = 0;
  let attempts = 0;
  while (cursor < punches.length) {
    const batch = punches.slice(cursor, cursor + upstream.maxBatch);
    attempts++;
    const result = await upstream.deliver(batch);
    if (result.acknowledged === batch.length) {
      batches.push(batch);
      cursor += batch.length;
      onProgress?.(cursor);
    } else {
      if (result.acknowledged !== 0) throw new Error('a Deli batch is all or nothing');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  return { attempts, batches };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = address && typeof address === 'object' ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export function mosquittoAvailable(): boolean {
  return spawnSync('mosquitto', ['-h'], { stdio: 'ignore' }).error === undefined;
}

/** Debian's mosquitto on a free loopback port, with persistence so a restart keeps sessions. */
export class Mosquitto {
  private child: ChildProcess | undefined;
  port = 0;
  tlsPort = 0;

  /** With `tls`, a second listener serves TLS with that certificate. */
  constructor(
    private readonly dir: string,
    private readonly tls?: { certFile: string; keyFile: string },
  ) {}

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  get tlsUrl(): string {
    return `mqtts://127.0.0.1:${this.tlsPort}`;
  }

  async start(): Promise<void> {
    if (!mosquittoAvailable())
      throw new Error('mosquitto is not installed (apt-get install -y mosquitto); the Deli tests need it');
    if (this.port === 0) this.port = await freePort();
    if (this.tls && this.tlsPort === 0) this.tlsPort = await freePort();
    const conf = join(this.dir, 'mosquitto.conf');
    await writeFile(
      conf,
      [
        // Run as whoever we are: as root, mosquitto would otherwise drop to a user that cannot read the temp dir.
        `user ${userInfo().username}`,
        'per_listener_settings false',
        'allow_anonymous true',
        'persistence true',
        `persistence_location ${this.dir}/`,
        'max_queued_messages 100000',
        'log_dest none',
        `listener ${this.port} 127.0.0.1`,
        ...(this.tls
          ? [
              `listener ${this.tlsPort} 127.0.0.1`,
              `certfile ${this.tls.certFile}`,
              `keyfile ${this.tls.keyFile}`,
            ]
          : []),
        '',
      ].join('\n'),
    );
    const child = spawn('mosquitto', ['-c', conf], { stdio: 'ignore' });
    this.child = child;
    await waitForPort(this.port, 5000);
  }

  async restart(downMs = 200, onDown?: () => void): Promise<void> {
    await this.stop();
    onDown?.();
    await new Promise((resolve) => setTimeout(resolve, downMs));
    await this.start();
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  }
}

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = new Socket();
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
      socket.connect(port, '127.0.0.1');
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on ${port}`);
    await new Promise((resolve) => setTimeout(resolve, 30));
  }
}

export async function waitUntil(predicate: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A throwaway CA and a server certificate for 127.0.0.1, made with openssl. */
export function makeCertificates(dir: string): { caFile: string; certFile: string; keyFile: string } {
  const f = (name: string) => join(dir, name);
  const run = (args: string[]) => {
    const r = spawnSync('openssl', args, { stdio: 'pipe' });
    if (r.status !== 0) throw new Error(`openssl ${args[0]} failed: ${r.stderr?.toString()}`);
  };
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  run([
    'req',
    '-x509',
    ...ec,
    '-keyout',
    f('ca.key'),
    '-out',
    f('ca.crt'),
    '-days',
    '2',
    '-subj',
    '/CN=deli-test-ca',
  ]);
  run(['req', ...ec, '-keyout', f('server.key'), '-out', f('server.csr'), '-subj', '/CN=127.0.0.1']);
  writeFileSync(f('san.ext'), 'subjectAltName=IP:127.0.0.1\n');
  run([
    'x509',
    '-req',
    '-in',
    f('server.csr'),
    '-CA',
    f('ca.crt'),
    '-CAkey',
    f('ca.key'),
    '-CAcreateserial',
    '-out',
    f('server.crt'),
    '-days',
    '2',
    '-extfile',
    f('san.ext'),
  ]);
  return { caFile: f('ca.crt'), certFile: f('server.crt'), keyFile: f('server.key') };
}

/**
 * Debian mosquitto in a temp folder plus the platform emulator on it, every part registered for
 * cleanup. `makeTls` gets the folder and returns the certificates for a TLS listener.
 */
export async function mosquittoWithEmulator(
  cleanups: Array<() => Promise<void>>,
  options: {
    emulator?: Partial<DeliEmulatorOptions>;
    makeTls?: (dir: string) => { certFile: string; keyFile: string };
  } = {},
): Promise<{ broker: Mosquitto; emulator: DeliEmulator }> {
  const tmp = await tempDir('deli-mosq-');
  cleanups.push(tmp.cleanup);
  const broker = new Mosquitto(tmp.dir, options.makeTls?.(tmp.dir));
  await broker.start();
  cleanups.push(() => broker.stop());
  const emulator = new DeliEmulator({
    deviceId: DEVICE_ID,
    appId: APP_ID,
    orgId: ORG_ID,
    brokerUrl: broker.url,
    logger: testLogger('emu'),
    ...options.emulator,
  });
  await emulator.start();
  cleanups.push(() => emulator.stop());
  return { broker, emulator };
}
