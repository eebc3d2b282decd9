import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SichuanEmulator, type SichuanEmulatorOptions } from '../../cloud/sichuan/emulator';
import { type SichuanTiming, SichuanUpstream } from '../../cloud/sichuan/upstream';
import type { EnabledSichuanConfig } from '../../config/schema';
import type {
  Punch,
  RosterPort,
  RosterSource,
  StatePort,
  StateSlot,
  WorkerChange,
  WorkerIdentity,
} from '../../gateway/model';
import { testLogger } from '../support/logger';

export const SN = 'GW-TEST-0001';
export const DEVICE_KEY = 'dev-key-四川-42';
export const SM4_KEY = '0123456789abcdeffedcba9876543210';

/** Stands in for the hub's roster: records every change it is asked to store. */
export class RecordingRoster implements RosterPort {
  readonly applied: WorkerChange[][] = [];
  failNext = 0;

  async apply(changes: readonly WorkerChange[]): Promise<void> {
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error('disk full');
    }
    this.applied.push([...changes]);
  }

  async replaceSource(_source: RosterSource, _keep: readonly WorkerIdentity[]): Promise<void> {}

  get changes(): WorkerChange[] {
    return this.applied.flat();
  }
}

/** Stands in for the hub's state file. */
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

export function sichuanConfig(
  baseUrl: string,
  overrides: Partial<EnabledSichuanConfig> = {},
): EnabledSichuanConfig {
  return {
    enabled: true,
    baseUrl,
    sn: SN,
    deviceKey: DEVICE_KEY,
    sm4Key: SM4_KEY,
    sm4Iv: '00000000000000000000000000000000',
    cipherEncoding: 'hex',
    signCase: 'lower',
    heartbeatSeconds: 300,
    taskTypeMap: { '1': 'delete', '2': 'issue' },
    batchSize: 10,
    requestTimeoutMs: 5000,
    ...overrides,
  };
}

export const FAST_TIMING: Partial<SichuanTiming> = {
  backoffInitialMs: 20,
  backoffMaxMs: 200,
  configAlertPauseMs: 60_000,
  clockRetryMs: 20,
};

/** Workers w1…wN map to Sichuan users S0001…; `w-none` has no Sichuan identity. */
export function lookupWorker(workerId: string): WorkerIdentity | undefined {
  const match = /^w(\d+)$/.exec(workerId);
  return match
    ? { sichuanUserId: `S${match[1]!.padStart(4, '0')}`, gatewayId: workerId }
    : { gatewayId: workerId };
}

export interface Rig {
  readonly emulator: SichuanEmulator;
  readonly upstream: SichuanUpstream;
  readonly roster: RecordingRoster;
  readonly state: MemoryState;
  readonly baseUrl: string;
  close(): Promise<void>;
}

export async function startRig(
  options: {
    emulator?: Partial<SichuanEmulatorOptions>;
    config?: Partial<EnabledSichuanConfig>;
    timing?: Partial<SichuanTiming>;
  } = {},
): Promise<Rig> {
  const emulator = new SichuanEmulator({
    sn: SN,
    deviceKey: DEVICE_KEY,
    sm4Key: SM4_KEY,
    random: () => 0.5,
    ...options.emulator,
  });
  const baseUrl = await emulator.start();
  const roster = new RecordingRoster();
  const state = new MemoryState();
  const upstream = new SichuanUpstream(sichuanConfig(baseUrl, options.config), {
    logger: testLogger('sichuan'),
    clock: { now: () => Date.now() },
    roster,
    state,
    siteTimezone: 'Asia/Shanghai',
    lookupWorker,
    timing: { ...FAST_TIMING, ...options.timing },
    random: () => 0.5,
  });
  return {
    emulator,
    upstream,
    roster,
    state,
    baseUrl,
    close: async () => {
      await upstream.stop();
      await emulator.stop();
    },
  };
}

const BASE_MS = Date.UTC(2026, 2, 1, 0, 0, 0);

export function makePunch(seq: number, overrides: Partial<Punch> = {}): Punch {
  const workerId = `w${(seq % 7) + 1}`;
  const atMs = BASE_MS + seq * 1000;
  return {
    seq,
    key: `T1|${workerId}|${atMs / 1000}`,
    terminalId: 'T1',
    pin: String((seq % 7) + 1),
    workerId,
    direction: seq % 2 === 0 ? 'in' : 'out',
    method: 'fa',
    atMs,
    source: 'poll',
    flags: [],
    receivedMs: atMs + 50,
    ...overrides,
  };
}

/** Drives `deliver` like the hub's outbox: from a cursor, never past the first unacknowledged punch. */
export async function drain(
  upstream: SichuanUpstream,
  journal: readonly Punch[],
  from: number,
  until: () => boolean = () => false,
  maxWaitMs = 100,
): Promise<number> {
  let cursor = from;
  while (cursor < journal.length && !until()) {
    const result = await upstream.deliver(journal.slice(cursor, cursor + upstream.maxBatch));
    cursor += result.acknowledged;
    if (result.acknowledged === 0) await sleep(Math.min(result.retryAfterMs ?? 10, maxWaitMs));
  }
  return cursor;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A self-signed certificate for 127.0.0.1, written to `dir`. */
export async function selfSignedCert(dir: string): Promise<{ key: string; cert: string; certFile: string }> {
  const keyFile = join(dir, 'key.pem');
  const certFile = join(dir, 'cert.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      keyFile,
      '-out',
      certFile,
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ],
    { stdio: 'ignore' },
  );
  return { key: await readFile(keyFile, 'utf8'), cert: await readFile(certFile, 'utf8'), certFile };
}
