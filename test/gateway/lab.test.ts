import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HealthReport } from '../../gateway/http/health';
import { HEALTH_HEADERS } from '../support/health';
import { type LabProcess, startLab, waitFor } from '../support/lab-process';
import { tempDir } from '../support/tmp';

let dir: string;
let cleanup: () => Promise<void>;
let lab: LabProcess;

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('lab-'));
  lab = await startLab(dir, ['--punch-every', '0.2']);
});
afterAll(async () => {
  if (lab.child.exitCode === null) await lab.stop();
  await cleanup();
});

async function health(): Promise<HealthReport> {
  const response = await fetch(`${lab.baseUrl}/healthz`, { headers: HEALTH_HEADERS });
  expect(response.status).toBe(200);
  return (await response.json()) as HealthReport;
}

describe('lab mode (real CLI process)', () => {
  it('carries punches from emulated terminals through the journal to both emulated platforms', async () => {
    const report = await waitFor(
      async () => {
        const h = await health();
        const sichuan = h.upstreams.find((u) => u.upstream === 'sichuan');
        return sichuan && Number(sichuan.health.details?.uploadedRecords ?? 0) >= 2 ? h : undefined;
      },
      30_000,
      'punches at the Sichuan emulator',
    );
    expect(report.terminals.map((t) => t.id).sort()).toEqual([
      'lab-face',
      'lab-turnstile',
      'lab-zk-in',
      'lab-zk-out',
    ]);
    expect(report.terminals.every((t) => t.online)).toBe(true);
    expect(report.journal.lastSeq).toBeGreaterThanOrEqual(2);
    expect(report.version).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('exports Prometheus metrics', async () => {
    // The lab runs with a metrics token (see startLab), as an installed box with one would.
    const response = await fetch(`${lab.baseUrl}/metrics`, { headers: HEALTH_HEADERS });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/plain');
    const text = await response.text();
    expect(text).toMatch(/edge_gateway_punches_journaled_total\{terminal="lab-[a-z-]+"\} [1-9]\d*/);
    expect(text).toMatch(/edge_gateway_upstream_backlog\{upstream="sichuan"\} \d+/);
    expect(text).toContain('edge_gateway_process_resident_memory_bytes');
  });

  it('keeps data files owner-only and secrets out of the logs, and stops cleanly on SIGTERM', async () => {
    for (const file of ['state.json', 'roster.json', 'cursors.json']) {
      expect((await stat(join(dir, file))).mode & 0o777, file).toBe(0o600);
    }
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    const code = await lab.stop();
    expect(code).toBe(0);
    const output = lab.output();
    expect(output).toContain('"msg":"gateway stopped"');
    expect(output).not.toContain('lab-device-key');
    expect(output).not.toContain('0123456789abcdeffedcba9876543210');
    // Every line is structured JSON that field tools can parse.
    for (const line of output.trim().split('\n')) expect(() => JSON.parse(line), line).not.toThrow();
    const segments = await readdir(join(dir, 'journal'));
    expect(segments.length).toBeGreaterThan(0);
    const lines = (await readFile(join(dir, 'journal', segments[0]!), 'utf8')).trim().split('\n');
    expect(JSON.parse(lines[0]!)).toMatchObject({ seq: 1, terminalId: expect.stringMatching(/^lab-/) });
  });
});
