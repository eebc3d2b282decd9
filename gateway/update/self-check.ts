/**
 * `edge-gateway self-check`: what the updater runs on a new binary before swapping it in. It loads
 * every part the gateway loads on demand (a part that fails to load would only fail on the box
 * that configures it) and exercises what the single file embeds: the page's assets, the serial
 * addon, ICU time zones, SM4. It touches no data directory, socket or config, so it is safe to run
 * beside the running gateway. The last line is `self-check ok <version>`, which the updater reads.
 */
import { createHash } from 'node:crypto';
import { DateTime } from 'luxon';
import pino from 'pino';
import smCrypto from 'sm-crypto';
import { validateConfig } from '../../config/load';
import type { AttendanceSheet } from '../reports/attendance';
import { VERSION } from '../version';
import { ASSET_MANIFEST, readAsset } from '../web/assets';
import { elfArchOf } from './elf';

type SeaModule = { isSea(): boolean; getAsset(key: string): ArrayBuffer };

/** Each check throws with the reason it failed, or returns a short note of what it saw. */
const CHECKS: ReadonlyArray<readonly [string, () => Promise<string>]> = [
  [
    'parts',
    async () => {
      const parts: Record<string, () => Promise<Record<string, unknown>>> = {
        'zk driver': async () => ({ ...(await import('../../adapters/zk/driver')) }),
        'adms driver': async () => ({ ...(await import('../../adapters/adms/driver')) }),
        'adms server': async () => ({ ...(await import('../../adapters/adms/server')) }),
        'modbus driver': async () => ({ ...(await import('../../adapters/modbus/driver')) }),
        'modbus serial lines': async () => ({ ...(await import('../../adapters/modbus/serial-line')) }),
        'sichuan upstream': async () => ({ ...(await import('../../cloud/sichuan/upstream')) }),
        'deli upstream': async () => ({ ...(await import('../../cloud/deli/upstream')) }),
        page: async () => ({ ...(await import('../web/mount')) }),
        lab: async () => ({ ...(await import('../lab')) }),
        emulators: async () => ({ ...(await import('../emulate')) }),
        'seed-history': async () => ({ ...(await import('../history/cli')) }),
        'fleet link': async () => ({ ...(await import('../fleet/link')) }),
        'fleet office': async () => ({ ...(await import('../fleet/cli')) }),
      };
      for (const [name, load] of Object.entries(parts)) {
        let exports: Record<string, unknown>;
        try {
          exports = await load();
        } catch (error) {
          throw new Error(`${name}: ${(error as Error).message}`);
        }
        if (Object.keys(exports).length === 0) throw new Error(`${name}: the module exports nothing`);
      }
      return `${Object.keys(parts).length} loaded`;
    },
  ],
  [
    'query store',
    async () => {
      // The SQLite addon is native code built for one CPU: a build that cannot load it cannot serve the page.
      const { openSqlite } = await import('../query/sqlite');
      const db = openSqlite(':memory:');
      try {
        const row = db.prepare('select sqlite_version() as version').get() as { version: string };
        return `sqlite ${row.version}`;
      } finally {
        db.close();
      }
    },
  ],
  [
    'excel files',
    async () => {
      // The sheets' files are written in a thread of their own, started from an asset of its own
      // (build/sheet-writer-asset.ts), with exceljs from another (build/excel-asset.ts): write a
      // sheet through that thread as a download does, and read it back.
      const { SheetFileWriters } = await import('../web/sheet-writers');
      const writers = new SheetFileWriters({ logger: pino({ level: 'silent' }) });
      const chunks: Uint8Array[] = [];
      try {
        const sheet = oneRowSheet();
        const file = {
          format: 'xlsx',
          kind: 'monthly',
          lang: 'en',
          siteName: 'self-check',
          timezone: 'UTC',
        } as const;
        for await (const chunk of writers.stream(sheet, file)) chunks.push(chunk);
        if (writers.writingInProcess) throw new Error("the sheet writer's thread did not run");
      } finally {
        await writers.stop();
      }
      const excel = (await import('exceljs')) as unknown as { default?: typeof import('exceljs') };
      const read = new (excel.default ?? (excel as unknown as typeof import('exceljs'))).Workbook();
      // exceljs declares its own `Buffer` (an ArrayBuffer); it takes Node's at run time.
      await read.xlsx.load(Buffer.concat(chunks) as unknown as ArrayBuffer);
      const row = read.worksheets[0]?.getRow(3);
      const cell = row?.getCell(1).value;
      if (cell !== 'self-check')
        throw new Error(`an .xlsx written and read back held ${JSON.stringify(cell)}`);
      // The second day's note, written from a template (web/sheet-notes.ts).
      const note = JSON.stringify(row?.getCell(6).note ?? null);
      if (!note.includes('Missing out')) throw new Error(`the anomaly's note read back as ${note}`);
      return "an .xlsx with a note written in the sheet writer's thread and read back";
    },
  ],
  [
    'configuration schema',
    async () => {
      const result = validateConfig({ site: { name: 'self-check' } });
      if (!result.ok) throw new Error(result.problems.join('; '));
      return 'a minimal config validates';
    },
  ],
  [
    'time zones',
    async () => {
      // ICU data: the terminals' wall clocks are converted through it.
      const utc = DateTime.fromISO('2024-01-01T08:00:00', { zone: 'Asia/Shanghai' }).toUTC();
      if (!utc.isValid || utc.hour !== 0) throw new Error(`Asia/Shanghai 08:00 became ${utc.toISO()}`);
      return 'Asia/Shanghai converts';
    },
  ],
  [
    'SM4',
    async () => {
      // GB/T 32907-2016, appendix A.1: key = plaintext = 0123456789abcdeffedcba9876543210.
      const block = Array.from(Buffer.from('0123456789abcdeffedcba9876543210', 'hex'));
      const cipher = smCrypto.sm4.encrypt(block, block, { padding: 'none' });
      if (cipher !== '681edf34d206965e86b3e94f536e4246') throw new Error(`standard vector gave ${cipher}`);
      return 'standard vector';
    },
  ],
  [
    'page assets',
    async () => {
      for (const name of Object.keys(ASSET_MANIFEST)) {
        const asset = readAsset(name);
        if (!asset || asset.body.byteLength === 0) throw new Error(`${name} is missing or empty`);
      }
      return `${Object.keys(ASSET_MANIFEST).length} present`;
    },
  ],
  [
    'serial addon',
    async () => {
      const sea = seaModule();
      if (!sea) return 'not packaged (serialport loads from node_modules)';
      const bytes = new Uint8Array(sea.getAsset('serialport.node'));
      const arch = elfArchOf(bytes);
      if (arch !== process.arch)
        throw new Error(`serialport.node is for ${arch ?? 'no known CPU'}, not ${process.arch}`);
      return `${process.arch}, ${createHash('sha256').update(bytes).digest('hex').slice(0, 12)}`;
    },
  ],
];

function seaModule(): SeaModule | undefined {
  try {
    const sea = process.getBuiltinModule?.('node:sea') as SeaModule | undefined;
    return sea?.isSea() ? sea : undefined;
  } catch {
    return undefined;
  }
}

/** Prints one line per check, then the verdict; resolves with the exit code (0 ok, 1 failed). */
export async function runSelfCheck(
  out: (line: string) => void = (l) => process.stdout.write(`${l}\n`),
): Promise<number> {
  let failed = 0;
  for (const [name, check] of CHECKS) {
    try {
      out(`ok   ${name}: ${await check()}`);
    } catch (error) {
      failed++;
      out(`FAIL ${name}: ${(error as Error).message}`);
    }
  }
  out(failed === 0 ? `self-check ok ${VERSION}` : `self-check failed: ${failed} problem(s)`);
  return failed === 0 ? 0 : 1;
}

/** A month's sheet of one worker and two days, the second "missing out", as the sheets give it. */
function oneRowSheet(): AttendanceSheet {
  const dates = ['2026-01-01', '2026-01-02'];
  return {
    period: '2026-01',
    dates,
    workerCount: 1,
    teams: [{ team: '', workers: 1 }],
    complete: true,
    async *rows() {
      yield {
        workerId: 'self-check',
        name: 'self-check',
        pin: '1',
        team: '',
        employer: '',
        days: [
          { date: dates[0]!, hours: 8, present: true, open: false, anomalies: [] },
          { date: dates[1]!, hours: 0, present: true, open: false, anomalies: ['missingOut'] },
        ],
        daysPresent: 2,
        totalHours: 8,
      };
    },
  };
}
