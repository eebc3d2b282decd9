/**
 * Drains 100,000 journaled punches through SichuanUpstream.deliver into the emulated platform (run in a
 * child process, so the CPU figures are the client's), then sends the same batches with a minimal
 * loop (stringify, SM4, sign, POST with keep-alive). Goal (issue 4): gateway rate ≥ 0.8 × raw loop.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { Agent, request } from 'node:http';
import { DateTime } from 'luxon';
import { SichuanCodec } from '../../cloud/sichuan/codec';
import type { UploadRecord } from '../../cloud/sichuan/protocol';
import { SichuanUpstream } from '../../cloud/sichuan/upstream';
import type { Punch } from '../../gateway/model';
import {
  DEVICE_KEY,
  lookupWorker,
  MemoryState,
  makePunch,
  RecordingRoster,
  SM4_KEY,
  SN,
  sichuanConfig,
} from '../sichuan/harness';
import { testLogger } from '../support/logger';
import { emitBench, peakRssMb } from './report';

const PUNCHES = Number(process.env.SICHUAN_BENCH_PUNCHES ?? 100_000);
const BATCH = 10;

async function startEmulatorProcess(): Promise<{ child: ChildProcess; baseUrl: string }> {
  const script = `import('./cloud/sichuan/emulator-cli.ts').then((m) => m.runEmulatorCli(process.argv.slice(1)))`;
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      '-e',
      script,
      '--',
      '--port',
      '0',
      '--sn',
      SN,
      '--device-key',
      DEVICE_KEY,
      '--sm4-key',
      SM4_KEY,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const baseUrl = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /(http:\/\/[\d.]+:\d+)/.exec(out);
      if (match) resolve(match[1]!);
    });
    child.once('exit', (code) => reject(new Error(`emulator exited with ${code}`)));
  });
  return { child, baseUrl };
}

async function summary(baseUrl: string): Promise<{ uploadedRecords: number; violations: number }> {
  return (await (await fetch(`${baseUrl}/_emulator/summary`)).json()) as {
    uploadedRecords: number;
    violations: number;
  };
}

function measure(): () => { wallSeconds: number; cpuSeconds: number } {
  const start = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  return () => {
    const used = process.cpuUsage(cpu);
    return {
      wallSeconds: Number(process.hrtime.bigint() - start) / 1e9,
      cpuSeconds: (used.user + used.system) / 1e6,
    };
  };
}

async function gatewayRun(baseUrl: string, journal: readonly Punch[]): Promise<void> {
  const upstream = new SichuanUpstream(sichuanConfig(baseUrl), {
    logger: testLogger('bench'),
    clock: { now: () => Date.now() },
    roster: new RecordingRoster(),
    state: new MemoryState(),
    siteTimezone: 'Asia/Shanghai',
    lookupWorker,
  });
  let cursor = 0;
  while (cursor < journal.length) {
    const result = await upstream.deliver(journal.slice(cursor, cursor + upstream.maxBatch));
    if (result.acknowledged === 0) throw new Error(`gateway delivery failed: ${result.error}`);
    cursor += result.acknowledged;
  }
  await upstream.stop();
}

async function rawRun(baseUrl: string, journal: readonly Punch[]): Promise<void> {
  const codec = new SichuanCodec({
    deviceKey: DEVICE_KEY,
    sm4Key: SM4_KEY,
    sm4Iv: '00000000000000000000000000000000',
    cipherEncoding: 'hex',
    signCase: 'lower',
  });
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const url = new URL('/UploadData', baseUrl);
  for (let i = 0; i < journal.length; i += BATCH) {
    const records: UploadRecord[] = journal.slice(i, i + BATCH).map((p) => ({
      sn: SN,
      userId: lookupWorker(p.workerId!)!.sichuanUserId!,
      type: p.direction === 'in' ? 1 : 2,
      recogTime: DateTime.fromMillis(p.atMs, { zone: 'Asia/Shanghai' }).toFormat('yyyy-MM-dd HH:mm:ss'),
    }));
    const fields = {
      sn: SN,
      data: codec.encrypt(JSON.stringify(records)),
      timestamp: String(Math.floor(Date.now() / 1000)),
    };
    const body = new URLSearchParams({ ...fields, sign: codec.sign('UploadData', fields) }).toString();
    const answer = await new Promise<string>((resolve, reject) => {
      const req = request(url, {
        method: 'POST',
        agent,
        headers: {
          'Content-Type': 'application/x-www-form-urlencoded',
          'Content-Length': Buffer.byteLength(body),
        },
      });
      req.on('error', reject);
      req.on('response', (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
        });
        res.on('end', () => resolve(text));
      });
      req.end(body);
    });
    if ((JSON.parse(answer) as { Result: number }).Result !== 0)
      throw new Error(`raw upload failed: ${answer}`);
  }
  agent.destroy();
}

async function main(): Promise<void> {
  const { child, baseUrl } = await startEmulatorProcess();
  try {
    const journal = Array.from({ length: PUNCHES }, (_, i) => makePunch(i + 1));
    const warmup = journal.slice(0, 500);
    await rawRun(baseUrl, warmup);
    await gatewayRun(baseUrl, warmup);

    let stop = measure();
    await rawRun(baseUrl, journal);
    const raw = stop();
    stop = measure();
    await gatewayRun(baseUrl, journal);
    const gateway = stop();

    const platform = await summary(baseUrl);
    const expected = 2 * (PUNCHES + warmup.length);
    if (platform.uploadedRecords !== expected || platform.violations !== 0) {
      throw new Error(
        `platform received ${platform.uploadedRecords}/${expected} records, ${platform.violations} violations`,
      );
    }
    const gatewayRate = PUNCHES / gateway.wallSeconds;
    const rawRate = PUNCHES / raw.wallSeconds;
    const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;
    emitBench({
      bench: 'sichuan',
      figures: {
        punches: PUNCHES,
        gatewayRecordsPerSec: Math.round(gatewayRate),
        rawRecordsPerSec: Math.round(rawRate),
        gatewayToRawRatio: round(gatewayRate / rawRate, 3),
        gatewayWallSeconds: round(gateway.wallSeconds),
        rawWallSeconds: round(raw.wallSeconds),
        gatewayCpuSeconds: round(gateway.cpuSeconds),
        rawCpuSeconds: round(raw.cpuSeconds),
        gatewayCpuMsPer1000: round((gateway.cpuSeconds * 1e6) / PUNCHES, 1),
        rawCpuMsPer1000: round((raw.cpuSeconds * 1e6) / PUNCHES, 1),
        peakRssMb: peakRssMb(),
      },
      goals: [{ figure: 'gatewayToRawRatio', op: '>=', target: 0.8, source: 'issue 4' }],
    });
  } finally {
    child.kill('SIGTERM');
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`sichuan bench failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
