/**
 * Drains a 100,000-punch backlog the way the gateway does (journal on disk → Outbox → SichuanUpstream
 * → emulated platform, the cursor saved in the real cursor log) and, alternately in the same run,
 * sends the same batches of 10 with a minimal loop (stringify, SM4, sign, POST over keep-alive, read
 * the Result). The platform emulator runs in a child process with its rate limit off, so the CPU
 * figures are the client's. Five runs each (BENCH_ROUNDS), alternating, best run counts.
 * Goal ("Years on a small box"): the outbox drain ≥ 0.8 × the raw loop.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { SichuanCodec } from '../../cloud/sichuan/codec';
import { PUNCH_TYPE, type UploadRecord } from '../../cloud/sichuan/protocol';
import type { EnabledSichuanConfig } from '../../config/schema';
import type { Punch } from '../../gateway/model';
import { utcMsToWall } from '../../lib/wall-clock';
import { lookupWorker, platformClient, platformConfig, SICHUAN } from '../outbox/rig';
import { testLogger } from '../support/logger';
import { tempDir } from '../support/tmp';
import { emitBench, peakRssMb } from './report';
import {
  backlogInMemory,
  collectGarbage,
  drainThroughOutbox,
  journaledBacklog,
} from './support/outbox-drain';

const PUNCHES = Number(process.env.SICHUAN_BENCH_PUNCHES ?? 100_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const WARMUP = 500;

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
      SICHUAN.sn,
      '--device-key',
      SICHUAN.deviceKey,
      '--sm4-key',
      SICHUAN.sm4Key,
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

interface Timed {
  readonly ms: number;
  readonly cpuMs: number;
}

async function timed<T>(run: () => Promise<T>): Promise<Timed & { result: T }> {
  collectGarbage();
  const cpu = process.cpuUsage();
  const t0 = performance.now();
  const result = await run();
  const used = process.cpuUsage(cpu);
  return { ms: performance.now() - t0, cpuMs: (used.user + used.system) / 1000, result };
}

/**
 * The fastest fair client for the same work: one codec, one keep-alive socket, the same records,
 * fields, headers and batch size as the gateway's client, the answer's Result checked.
 */
async function rawLoop(
  config: EnabledSichuanConfig,
  timeZone: string,
  punches: readonly Punch[],
  batch: number,
): Promise<void> {
  const codec = new SichuanCodec({
    deviceKey: config.deviceKey,
    sm4Key: config.sm4Key,
    sm4Iv: config.sm4Iv,
    cipherEncoding: config.cipherEncoding,
    signCase: config.signCase,
  });
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const url = new URL('UploadData', `${config.baseUrl}/`);
  for (let i = 0; i < punches.length; i += batch) {
    const records: UploadRecord[] = punches.slice(i, i + batch).map((p) => ({
      sn: config.sn,
      userId: lookupWorker(p.workerId!)!.sichuanUserId!,
      type: PUNCH_TYPE[p.direction],
      recogTime: utcMsToWall(p.atMs, timeZone, ' '),
    }));
    const fields = codec.signed('UploadData', {
      sn: config.sn,
      data: codec.encrypt(JSON.stringify(records)),
      timestamp: String(Math.floor(Date.now() / 1000)),
    });
    const body = Buffer.from(new URLSearchParams(fields).toString(), 'utf8');
    const answer = await new Promise<string>((resolve, reject) => {
      const req = request(url, {
        method: 'POST',
        agent,
        headers: {
          'Content-Type': 'application/x-www-form-urlencoded; charset=UTF-8',
          'Content-Length': body.length,
          Accept: 'application/json',
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
  const tmp = await tempDir('sichuan-bench-');
  try {
    const punches = backlogInMemory(PUNCHES);
    let runNo = 0;
    const viaOutbox = async (count: number) => {
      const dataDir = join(tmp.dir, `run${runNo++}`);
      const backlog = await journaledBacklog(dataDir, count);
      const config = platformConfig('sichuan', dataDir, baseUrl);
      const upstream = await platformClient('sichuan', config, testLogger('bench'));
      try {
        // Timed from the outbox's start until it stopped with its cursor on disk (opening the
        // cursor log and the final fold into cursors.json are start-up and shut-down work).
        const drain = await drainThroughOutbox(backlog, upstream, config);
        return { ms: drain.ms, cpuMs: drain.cpuMs, result: drain };
      } finally {
        await upstream.stop();
      }
    };
    const settings = platformConfig('sichuan', tmp.dir, baseUrl);
    const sichuan = settings.upstreams.sichuan;
    if (!sichuan.enabled) throw new Error('the bench configures an enabled Sichuan upstream');
    const viaRaw = (list: readonly Punch[]) =>
      timed(() => rawLoop(sichuan, settings.site.timezone, list, sichuan.batchSize));

    // Warm both paths up (JIT, sockets, the emulator) before timing.
    await viaRaw(punches.slice(0, WARMUP));
    await viaOutbox(WARMUP);

    const outboxRuns: Awaited<ReturnType<typeof viaOutbox>>[] = [];
    const rawRuns: Timed[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      if (round % 2 === 0) {
        outboxRuns.push(await viaOutbox(PUNCHES));
        rawRuns.push(await viaRaw(punches));
      } else {
        rawRuns.push(await viaRaw(punches));
        outboxRuns.push(await viaOutbox(PUNCHES));
      }
    }

    const platform = await summary(baseUrl);
    const expected = 2 * (WARMUP + ROUNDS * PUNCHES);
    if (platform.uploadedRecords !== expected || platform.violations !== 0) {
      throw new Error(
        `platform received ${platform.uploadedRecords}/${expected} records, ${platform.violations} violations`,
      );
    }
    const best = <T extends Timed>(runs: T[]) => runs.reduce((a, b) => (b.ms < a.ms ? b : a));
    const outbox = best(outboxRuns);
    const raw = best(rawRuns);
    const rate = (run: Timed) => PUNCHES / (run.ms / 1000);
    const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;
    emitBench({
      bench: 'sichuan',
      figures: {
        punches: PUNCHES,
        batch: 10,
        outboxRecordsPerSec: Math.round(rate(outbox)),
        rawRecordsPerSec: Math.round(rate(raw)),
        outboxToRawRatio: round(rate(outbox) / rate(raw), 3),
        outboxRunsMs: outboxRuns.map((r) => Math.round(r.ms)).join(' / '),
        rawRunsMs: rawRuns.map((r) => Math.round(r.ms)).join(' / '),
        outboxCpuMsPer1000: round((outbox.cpuMs * 1000) / PUNCHES, 1),
        rawCpuMsPer1000: round((raw.cpuMs * 1000) / PUNCHES, 1),
        cursorCommits: outbox.result.commits,
        cursorCompactions: outbox.result.compactions,
        peakRssMb: peakRssMb(),
      },
      goals: [{ figure: 'outboxToRawRatio', op: '>=', target: 0.8, source: 'Years on a small box' }],
    });
  } finally {
    child.kill('SIGTERM');
    await tmp.cleanup();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`sichuan bench failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
