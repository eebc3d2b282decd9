/**
 * A month's CSV export shares the event loop (issue 17): it is written a few milliseconds of rows
 * at a time with a turn of the loop between chunks, so /healthz (and terminal links, and every
 * other request) is answered while it streams; exports past the cap wait their turn, but every one
 * sends its header (BOM and column names) at once. Observed from outside, as a browser and a
 * monitor see the real gateway process: conditions on what arrives when, not timings.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../gateway/http/password';
import type { Punch } from '../../gateway/model';
import { loginCookie } from '../support/login';
import { tempDir } from '../support/tmp';
import {
  API_TOKEN,
  GatewayProcess,
  historyDrafts,
  journalPunches,
  openJournal,
  writeConfig,
} from './support';

const PUNCHES = 40_000;
/** The punches fall in 28 days of June 2026 (site time), all inside the month's export. */
const END_MS = Date.UTC(2026, 5, 29, 12);
const DAYS = 28;
const PASSWORD = 'export-test-password';
const MONTH = '/punches.csv?from=2026-06-01&to=2026-06-30';

let tmp: { dir: string; cleanup: () => Promise<void> };
let gateway: GatewayProcess;
let base: string;
let cookie: string;
let oldestFirst: Punch[];

beforeAll(async () => {
  tmp = await tempDir('edge-gw-export-');
  const dataDir = join(tmp.dir, 'data');
  const journal = openJournal(dataDir);
  await journal.open();
  for (let start = 0; start < PUNCHES; start += 10_000) {
    await journal.append(historyDrafts(start, 10_000, PUNCHES, END_MS, DAYS));
  }
  await journal.close();
  oldestFirst = (await journalPunches(dataDir)).sort((a, b) => a.atMs - b.atMs || a.seq - b.seq);
  const configFile = await writeConfig(dataDir, {
    http: {
      host: '127.0.0.1',
      port: 0,
      apiToken: API_TOKEN,
      adminPasswordHash: await hashPassword(PASSWORD),
    },
  });
  gateway = new GatewayProcess(configFile);
  base = `http://127.0.0.1:${await gateway.port()}`;
  await gateway.waitFor(/query store caught up with the journal/);
  cookie = await loginCookie(base, PASSWORD);
}, 120_000);

afterAll(async () => {
  await gateway?.stop();
  await tmp?.cleanup();
});

interface Export {
  /** Resolves with the whole body once the last byte came. */
  readonly body: Promise<Buffer>;
  /** Bytes received so far. */
  bytes(): number;
}

/** Starts a download; `onEvent` hears its first chunk ('header') and its end ('done'). */
function startExport(name: string, onEvent: (event: string) => void): Export {
  let received = 0;
  const body = (async () => {
    const response = await fetch(`${base}${MONTH}`, { headers: { cookie } });
    expect(response.status).toBe(200);
    const reader = response.body!.getReader();
    const chunks: Buffer[] = [];
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (received === 0) onEvent(`header ${name}`);
      received += value.byteLength;
      chunks.push(Buffer.from(value));
    }
    onEvent(`done ${name}`);
    return Buffer.concat(chunks);
  })();
  return { body, bytes: () => received };
}

describe('the CSV export', () => {
  it('streams 40,000 punches in chunks: /healthz answers meanwhile, and a queued export sends its header at once', async () => {
    const events: string[] = [];
    const note = (event: string) => events.push(event);
    // Three at once: two run, the third waits for a slot.
    const exports = ['a', 'b', 'c'].map((name) => startExport(name, note));
    const [a] = exports;
    while (a!.bytes() === 0) await new Promise((r) => setTimeout(r, 1));
    // /healthz asked again and again while the exports stream; each answer notes how far `a` was.
    let finished = false;
    const all = Promise.all(exports.map((e) => e.body)).finally(() => {
      finished = true;
    });
    const answeredAt: number[] = [];
    while (!finished) {
      const response = await fetch(`${base}/healthz`);
      await response.text();
      expect(response.status).toBe(200);
      if (!events.includes('done a')) answeredAt.push(a!.bytes());
    }
    const [bodyA, bodyB, bodyC] = await all;

    // Every export had sent its header before any had finished, the queued one included.
    const firstDone = events.findIndex((e) => e.startsWith('done'));
    expect(events.slice(0, firstDone).sort()).toEqual(['header a', 'header b', 'header c']);
    // The loop turned while `a` streamed: /healthz was answered again and again before its end,
    // the first time before it was half written.
    expect(answeredAt.length).toBeGreaterThanOrEqual(3);
    expect(Math.min(...answeredAt)).toBeLessThan(bodyA!.length / 2);

    // And nothing was lost to the chunking: every punch once, oldest first, in every export.
    const text = bodyA!.toString('utf8');
    expect(text.startsWith('\uFEFF序号,时间,')).toBe(true);
    const lines = text.slice(1).trimEnd().split('\r\n');
    expect(lines.length).toBe(PUNCHES + 1);
    expect(lines.slice(1).map((l) => Number(l.split(',')[0]))).toEqual(oldestFirst.map((p) => p.seq));
    // Two lines written out by hand: the first punch (worker w0, PIN 1 at gate-0, 2026-06-01 12:00
    // UTC, fingerprint) and the 50th (PIN 50, on no roster: unmatched, by face). No roster here,
    // so no name or platform id; no configured name, so the terminal's id twice.
    expect(lines[0]).toBe('序号,时间,姓名,工号,四川平台人员编号,方向,终端,终端编号,方式,标记');
    expect(lines[1]).toBe('1,2026-06-01 20:00:00,,1,,进场,gate-0,gate-0,指纹,');
    expect(lines[50]).toBe('50,2026-06-01 20:49:23,,50,,进场,gate-1,gate-1,人脸,未登记工号');
    expect(bodyB!.equals(bodyA!)).toBe(true);
    expect(bodyC!.equals(bodyA!)).toBe(true);
  });
});
