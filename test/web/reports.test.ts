/**
 * The attendance sheet (考勤表) against lab mode: punches go through the emulated Modbus turnstile
 * (its wire protocol, the gateway's driver, pipeline, journal and query store), then the monthly and
 * daily sheets are read as JSON, as .xlsx files (opened with `unzip` and read as XML, and read back
 * with exceljs's reader), as the print view (printed to PDF by chromium) and as pages in chromium at
 * 1280 and 390 px. Expected hours are worked out by hand from the punches below.
 */
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DateTime } from 'luxon';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSetupCode } from '../../gateway/http/setup-code';
import { idNumberCheckCharacter } from '../../lib/id-number';
import { REPO } from '../support/cli';
import { tempDir } from '../support/tmp';
import { API_TOKEN, CHROMIUM, CHROMIUM_ARGS, startWebLab, type WebLab } from './harness';
import { controlBoxes, overlaps } from './page-probes';

const run = promisify(execFile);
const ZONE = 'Asia/Shanghai';
const PASSWORD = 'site-manager-9';
const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 390, height: 844 };
const DOCS_IMG = join(REPO, 'docs/img');
/** A valid GB 11643 number (its check character computed), so nothing refuses it on the way. */
const ID_CARD = `51010419900101123${idNumberCheckCharacter('51010419900101123')}`;

/** Two months back: the night shift's next morning (the first of the month after) is always past. */
const MONTH = DateTime.now().setZone(ZONE).startOf('month').minus({ months: 2 });
const M = MONTH.toFormat('yyyy-MM');
const LAST = MONTH.daysInMonth!;
const NEXT = MONTH.plus({ months: 1 }).toFormat('yyyy-MM');
const day = (d: number) => `${M}-${String(d).padStart(2, '0')}`;

/** Worker n's punches: [site-local time, direction]. */
const PUNCHES: ReadonlyArray<readonly [worker: number, wall: string, dir: 'in' | 'out']> = [
  // The example: 8.5 h, no anomaly.
  [1, `${day(3)} 08:00`, 'in'],
  [1, `${day(3)} 08:05`, 'in'],
  [1, `${day(3)} 12:00`, 'out'],
  [1, `${day(3)} 13:00`, 'in'],
  [1, `${day(3)} 17:30`, 'out'],
  // Only in: 0 h, "missing out".
  [1, `${day(4)} 08:00`, 'in'],
  // A night shift on the last day, closed on the next month's first morning: 8 h to the last day.
  [1, `${day(LAST)} 22:00`, 'in'],
  [1, `${NEXT}-01 06:00`, 'out'],
  // An out with nothing open: "missing in".
  [2, `${day(10)} 17:00`, 'out'],
  [2, `${day(11)} 09:00`, 'in'],
  [2, `${day(11)} 18:00`, 'out'],
];

let lab: WebLab;
let browser: Browser;
let desktop: BrowserContext;
let page: Page;
let tmp: { dir: string; cleanup: () => Promise<void> };

function atMs(wall: string): number {
  return DateTime.fromFormat(wall, 'yyyy-MM-dd HH:mm', { zone: ZONE }).toMillis();
}

async function until(what: string, ms: number, ok: () => boolean): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface SheetJson {
  period: string;
  dates: string[];
  teams: Array<{ team: string; workers: number }>;
  workers: Array<{
    workerId: string;
    name: string;
    idNumber: string;
    team: string;
    employer: string;
    daysPresent: number;
    totalHours: number;
    days: Array<{
      date: string;
      hours: number;
      present: boolean;
      anomalies: string[];
      firstIn?: string | null;
      lastOut?: string | null;
    }>;
  }>;
}

async function api(path: string): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${lab.baseUrl}${path}`, {
    headers: { authorization: `Bearer ${API_TOKEN}` },
  });
  return { status: response.status, body: await response.json() };
}

/** The cells of one row of a sheet's XML, by column letter: its attributes and its text. */
function cellsOfRow(xml: string, row: number): Map<string, { attrs: string; text: string }> {
  const rowXml = new RegExp(`<row r="${row}"[^>]*>(.*?)</row>`, 's').exec(xml)?.[1] ?? '';
  const cells = new Map<string, { attrs: string; text: string }>();
  for (const m of rowXml.matchAll(/<c r="([A-Z]+)\d+"([^>]*?)(?:\/>|>(.*?)<\/c>)/gs)) {
    const inner = m[3] ?? '';
    const text = [...inner.matchAll(/<(?:t|v)(?: [^>]*)?>([^<]*)<\/(?:t|v)>/g)].map((t) => t[1]).join('');
    cells.set(m[1]!, { attrs: m[2] ?? '', text });
  }
  return cells;
}

function column(n: number): string {
  let name = '';
  for (let k = n; k > 0; k = Math.floor((k - 1) / 26)) name = String.fromCharCode(65 + ((k - 1) % 26)) + name;
  return name;
}

async function unzipEntry(file: string, entry: string): Promise<string> {
  const { stdout } = await run('unzip', ['-p', file, entry], { maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}

describe('the attendance sheet (考勤表)', () => {
  beforeAll(async () => {
    tmp = await tempDir('edge-gw-sheet-');
    [lab, browser] = await Promise.all([
      startWebLab(),
      chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...CHROMIUM_ARGS, '--lang=zh-CN'] }),
    ]);
    desktop = await browser.newContext({ viewport: DESKTOP, locale: 'zh-CN' });
    page = await desktop.newPage();
    await page.goto(`${lab.baseUrl}/setup`);
    await page.fill('input[name=code]', (await readSetupCode(lab.gateway.dataDir)) ?? '');
    await page.fill('input[name=password]', PASSWORD);
    await page.fill('input[name=repeat]', PASSWORD);
    await page.click('#setup-form button[type=submit]');
    await page.waitForURL(`${lab.baseUrl}/`);

    await lab.gateway.workers.apply([
      {
        source: 'local',
        op: 'upsert',
        identity: { gatewayId: 'lab-worker-1', idCardNo: ID_CARD },
        team: '钢筋班',
        employer: '蓉兴建筑劳务有限公司',
      },
      {
        source: 'local',
        op: 'upsert',
        identity: { gatewayId: 'lab-worker-2' },
        team: '木工班',
        employer: '川安劳务',
      },
    ]);
    const before = lab.gateway.health().journal.lastSeq;
    for (const [n, wall, dir] of PUNCHES) {
      lab.modbus.addEvent({
        pin: Number(lab.gateway.workers.get(`lab-worker-${n}`)!.pin),
        timeSec: atMs(wall) / 1000,
        method: 0,
        direction: dir === 'in' ? 1 : 2,
      });
    }
    await until(
      'the punches journaled',
      20_000,
      () => lab.gateway.health().journal.lastSeq - before >= PUNCHES.length,
    );
    // The query store takes them as they are journaled; the sheet reads the store.
    for (const deadline = Date.now() + 10_000; ; ) {
      const { body } = await api('/api/punches?pageSize=1');
      if ((body as { total: number }).total >= PUNCHES.length) break;
      if (Date.now() > deadline) throw new Error('the punches never reached the query store');
      await new Promise((r) => setTimeout(r, 50));
    }
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await lab?.stop();
    await tmp?.cleanup();
  });

  it('gives the month as JSON: the issue’s hours, anomalies, the night shift into the next month, grouped by team', async () => {
    const { status, body } = await api(`/api/reports/attendance?month=${M}`);
    expect(status).toBe(200);
    const sheet = body as SheetJson;
    expect(sheet.period).toBe(M);
    expect(sheet.dates).toHaveLength(LAST);
    // The lab's other workers have no team: they come last, after 钢筋班 and 木工班 (zh-CN collation).
    expect(sheet.teams.slice(0, 2)).toEqual([
      { team: '钢筋班', workers: 1 },
      { team: '木工班', workers: 1 },
    ]);
    expect(sheet.teams[2]?.team).toBe('');
    const [w1, w2] = sheet.workers;
    expect(w1).toMatchObject({
      workerId: 'lab-worker-1',
      team: '钢筋班',
      idNumber: `510104********${ID_CARD.slice(-4)}`,
    });
    expect(w1!.days[2]).toMatchObject({ date: day(3), hours: 8.5, anomalies: [] });
    expect(w1!.days[3]).toMatchObject({ date: day(4), hours: 0, anomalies: ['missingOut'] });
    expect(w1!.days[LAST - 1]).toMatchObject({ date: day(LAST), hours: 8, anomalies: [] });
    expect(w1).toMatchObject({ daysPresent: 3, totalHours: 16.5 });
    expect(w2).toMatchObject({ workerId: 'lab-worker-2', daysPresent: 2, totalHours: 9 });
    expect(w2!.days[9]).toMatchObject({ hours: 0, anomalies: ['missingIn'] });
    expect(w2!.days[10]).toMatchObject({ hours: 9, anomalies: [] });
    // Every other roster worker has a row of zeros.
    expect(sheet.workers.length).toBe(lab.gateway.workers.list().filter((w) => w.status === 'active').length);

    const filtered = (await api(`/api/reports/attendance?month=${M}&team=${encodeURIComponent('木工班')}`))
      .body as SheetJson;
    expect(filtered.workers.map((w) => w.workerId)).toEqual(['lab-worker-2']);
    const byEmployer = (
      await api(`/api/reports/attendance?month=${M}&employer=${encodeURIComponent('蓉兴建筑劳务有限公司')}`)
    ).body as SheetJson;
    expect(byEmployer.workers.map((w) => w.workerId)).toEqual(['lab-worker-1']);
  });

  it('gives a day as JSON with first in and last out in the one time format', async () => {
    const { status, body } = await api(`/api/reports/daily?date=${day(3)}`);
    expect(status).toBe(200);
    const sheet = body as SheetJson;
    expect(sheet.workers.map((w) => w.workerId)).toEqual(['lab-worker-1']);
    expect(sheet.workers[0]!.days[0]).toMatchObject({
      hours: 8.5,
      firstIn: `${day(3)} 08:00:00`,
      lastOut: `${day(3)} 17:30:00`,
      anomalies: [],
    });
  });

  it('answers bad parameters with a 400 naming the parameter, and nothing without a login', async () => {
    for (const [path, field] of [
      ['/api/reports/attendance?month=2026-13', 'month'],
      ['/api/reports/attendance?month=march', 'month'],
      ['/api/reports/daily?date=2026-02-30', 'date'],
      [`/api/reports/attendance?month=${M}&team=${'x'.repeat(101)}`, 'team'],
    ] as const) {
      const { status, body } = await api(path);
      expect(status, path).toBe(400);
      expect(body, path).toMatchObject({ field, error: expect.stringMatching(new RegExp(`^${field}: `)) });
    }
    for (const path of [
      '/reports/attendance?month=2026-13',
      '/reports/attendance.xlsx?month=x',
      '/reports/daily?date=1',
    ]) {
      const response = await page.request.get(`${lab.baseUrl}${path}`);
      expect(response.status(), path).toBe(400);
      const html = await response.text();
      expect(html).toMatch(/月份：请填写年份和月份|日期：请填写有效日期/);
      expect(html).toContain('id="sheet-form"');
    }
    // A month given wrong stays chosen in the picker, shown as it was typed.
    const typed = await (await page.request.get(`${lab.baseUrl}/reports/attendance?month=3-2026`)).text();
    expect(typed).toContain('<option value="3-2026" selected="">3-2026</option>');
    const anonymous = await fetch(`${lab.baseUrl}/api/reports/attendance?month=${M}`);
    expect(anonymous.status).toBe(401);
    const page404 = await fetch(`${lab.baseUrl}/reports/attendance?month=${M}`, { redirect: 'manual' });
    expect(page404.status).toBe(303);
    expect(page404.headers.get('location')).toMatch(/\/login/);
  });

  it('writes the month as .xlsx: title, exact header, numbers for hours, a highlighted anomaly with its note', async () => {
    const response = await page.request.get(`${lab.baseUrl}/reports/attendance.xlsx?month=${M}`);
    expect(response.status()).toBe(200);
    expect(response.headers()['content-type']).toBe(
      'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
    );
    expect(response.headers()['content-disposition']).toContain(`attendance-${M}.xlsx`);
    const file = join(tmp.dir, `attendance-${M}.xlsx`);
    const bytes = await response.body();
    await writeFile(file, bytes);

    // Read by `unzip` and regular expressions: no spreadsheet library of ours in the way.
    const sheetXml = await unzipEntry(file, 'xl/worksheets/sheet1.xml');
    const title = cellsOfRow(sheetXml, 1).get('A')!;
    expect(title.text).toBe(`${lab.gateway.config.site.name} 考勤表 ${MONTH.toFormat('yyyy年MM月')}`);
    const header = cellsOfRow(sheetXml, 2);
    const dayColumns = Array.from({ length: LAST }, (_, i) => column(5 + i));
    expect(['A', 'B', 'C', 'D'].map((c) => header.get(c)?.text)).toEqual([
      '姓名',
      '身份证号',
      '班组',
      '劳务分包单位',
    ]);
    for (const [i, c] of dayColumns.entries()) {
      // A number: no type attribute (t="s" or t="inlineStr" would be text).
      expect(header.get(c), c).toMatchObject({ text: String(i + 1) });
      expect(header.get(c)!.attrs, c).not.toMatch(/\st=/);
    }
    expect(header.get(column(5 + LAST))?.text).toBe('出勤天数');
    expect(header.get(column(6 + LAST))?.text).toBe('总工时');

    const w1 = cellsOfRow(sheetXml, 3);
    expect(['A', 'B', 'C', 'D'].map((c) => w1.get(c)?.text)).toEqual([
      lab.gateway.workers.get('lab-worker-1')!.name,
      `510104********${ID_CARD.slice(-4)}`,
      '钢筋班',
      '蓉兴建筑劳务有限公司',
    ]);
    const d3 = w1.get(column(4 + 3))!;
    expect(d3.text).toBe('8.5');
    expect(d3.attrs).not.toMatch(/\st=/);
    expect(w1.get(column(4 + LAST))).toMatchObject({ text: '8' });
    expect(w1.get(column(5 + LAST))).toMatchObject({ text: '3' });
    expect(w1.get(column(6 + LAST))).toMatchObject({ text: '16.5' });
    expect(w1.get(column(6 + LAST))!.attrs).not.toMatch(/\st=/);
    // Day 4, "missing out": a style whose fill is solid amber, and a note saying why.
    const d4 = w1.get(column(4 + 4))!;
    expect(d4.text).toBe('0');
    const style = Number(/\ss="(\d+)"/.exec(d4.attrs)?.[1]);
    const styles = await unzipEntry(file, 'xl/styles.xml');
    const xf = [
      ...(/<cellXfs[^>]*>(.*?)<\/cellXfs>/s.exec(styles)?.[1] ?? '').matchAll(
        /<xf [^>]*?(?:\/>|>.*?<\/xf>)/gs,
      ),
    ][style]![0];
    const fillId = Number(/fillId="(\d+)"/.exec(xf)?.[1]);
    const fill = [
      ...(/<fills[^>]*>(.*?)<\/fills>/s.exec(styles)?.[1] ?? '').matchAll(/<fill>(.*?)<\/fill>/gs),
    ][fillId]![1];
    expect(fill).toMatch(/<patternFill patternType="solid">\s*<fgColor rgb="FFFFD966"\/>/);
    const comments = await unzipEntry(file, 'xl/comments1.xml');
    expect(comments).toMatch(
      new RegExp(`<comment ref="${column(4 + 4)}3"[^>]*>.*?缺出场卡.*?</comment>`, 's'),
    );
    const w2Row = [...sheetXml.matchAll(/<row r="(\d+)"/g)]
      .map((m) => Number(m[1]))
      .find((r) => {
        return cellsOfRow(sheetXml, r).get('C')?.text === '木工班';
      })!;
    expect(comments).toMatch(
      new RegExp(`<comment ref="${column(4 + 10)}${w2Row}"[^>]*>.*?缺进场卡.*?</comment>`, 's'),
    );

    // And read back by exceljs's own reader.
    const excel = (await import('exceljs')) as typeof import('exceljs') & {
      default?: typeof import('exceljs');
    };
    const { Workbook } = excel.default ?? excel;
    const book = new Workbook();
    await book.xlsx.load(bytes as unknown as ArrayBuffer);
    const sheet = book.worksheets[0]!;
    expect(sheet.name).toBe('考勤表');
    expect(sheet.getRow(2).getCell(5).value).toBe(1);
    expect(sheet.getRow(2).getCell(4 + LAST).value).toBe(LAST);
    expect(sheet.getRow(3).getCell(4 + 3).value).toBe(8.5);
    expect(sheet.getRow(3).getCell(4 + 3).numFmt).toBe('0.0');
    const flagged = sheet.getRow(3).getCell(4 + 4);
    expect(flagged.value).toBe(0);
    expect(flagged.fill).toMatchObject({ type: 'pattern', pattern: 'solid', fgColor: { argb: 'FFFFD966' } });
    const note = flagged.note as string | { texts: Array<{ text: string }> };
    expect(typeof note === 'string' ? note : note.texts.map((t) => t.text).join('')).toBe('缺出场卡');
    expect(sheet.getRow(3).getCell(6 + LAST).value).toBe(16.5);
  });

  it('writes a day as .xlsx with the same counting', async () => {
    const response = await page.request.get(`${lab.baseUrl}/reports/daily.xlsx?date=${day(4)}`);
    expect(response.status()).toBe(200);
    expect(response.headers()['content-disposition']).toContain(`attendance-daily-${day(4)}.xlsx`);
    const file = join(tmp.dir, 'daily.xlsx');
    await writeFile(file, await response.body());
    const xml = await unzipEntry(file, 'xl/worksheets/sheet1.xml');
    expect([...cellsOfRow(xml, 2).values()].map((c) => c.text)).toEqual([
      '姓名',
      '身份证号',
      '班组',
      '劳务分包单位',
      '首次进场',
      '最后出场',
      '工时',
      '异常',
    ]);
    const row = cellsOfRow(xml, 3);
    expect(row.get('E')?.text).toBe(`${day(4)} 08:00:00`);
    expect(row.get('G')).toMatchObject({ text: '0' });
    expect(row.get('G')!.attrs).not.toMatch(/\st=/);
    expect(row.get('H')?.text).toBe('缺出场卡');
  });

  it('shows the monthly sheet with the right hours at 1280 and 390 px, anomalies marked, no overlapping controls', async () => {
    await mkdir(DOCS_IMG, { recursive: true });
    await page.goto(`${lab.baseUrl}/`);
    await page.click('header nav a[href="/reports"]');
    await page.waitForURL(/\/reports\/attendance$/);
    for (const viewport of [DESKTOP, PHONE]) {
      await page.setViewportSize(viewport);
      await page.goto(`${lab.baseUrl}/reports/attendance?month=${M}`);
      const row = page.locator('#attendance-sheet tr[data-worker="lab-worker-1"]');
      expect(await row.locator('td[data-day="3"]').textContent()).toBe('8.5');
      const flagged = row.locator('td[data-day="4"]');
      expect(await flagged.textContent()).toBe('0.0!');
      expect(await flagged.getAttribute('title')).toBe('缺出场卡');
      expect(
        await page.evaluate(
          `getComputedStyle(document.querySelector('tr[data-worker="lab-worker-1"] td[data-day="4"]')).backgroundColor`,
        ),
      ).toBe('rgb(255, 232, 163)');
      expect(await row.locator(`td[data-day="${LAST}"]`).textContent()).toBe('8.0');
      expect(await row.locator('td[data-day="5"]').textContent()).toBe('');
      expect(await row.locator('td.present').textContent()).toBe('3');
      expect(await row.locator('td.total').textContent()).toBe('16.5');
      const other = page.locator('#attendance-sheet tr[data-worker="lab-worker-2"] td[data-day="10"]');
      expect(await other.getAttribute('title')).toBe('缺进场卡');
      expect(await page.locator('#attendance-sheet tbody[data-team="钢筋班"] tr.team').textContent()).toBe(
        '钢筋班 · 1 人',
      );
      const boxes = await controlBoxes(page);
      expect(boxes.length).toBeGreaterThanOrEqual(7);
      expect(overlaps(boxes), `at ${viewport.width}`).toEqual([]);
      // The sheet scrolls inside its box; the page itself is no wider than the screen.
      expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(viewport.width);
      if (viewport === DESKTOP) await page.screenshot({ path: join(DOCS_IMG, 'attendance-sheet.png') });
    }
    await page.setViewportSize(DESKTOP);
    // The month is picked from the page's own list, named in the page's language (a browser's month
    // input showed "October 2026" on the Chinese page), and the choice opens that month.
    const picker = page.locator('#sheet-form select[name="month"]');
    expect(await picker.locator('option:checked').textContent()).toBe(
      `${MONTH.toFormat('yyyy')}年${MONTH.toFormat('MM')}月`,
    );
    const earlier = MONTH.minus({ months: 1 }).toFormat('yyyy-MM');
    await picker.selectOption(earlier);
    await page.click('#sheet-form button[type="submit"]');
    await page.waitForURL(new RegExp(`/reports/attendance\\?month=${earlier}`));
    expect(await page.locator('h1').textContent()).toContain(`${earlier.slice(0, 4)}年${earlier.slice(5)}月`);
  });

  it('prints the month on A4 landscape, a table and a signature line per team', async () => {
    await page.goto(`${lab.baseUrl}/reports/attendance?month=${M}`);
    await page.click('#sheet-print');
    await page.waitForURL(/\/reports\/attendance\/print\?month=/);
    const sections = page.locator('section.team');
    expect(await sections.count()).toBe(3);
    expect(await sections.locator('.sign').count()).toBe(3);
    expect(await sections.first().locator('.sign').textContent()).toBe('班组长签字：日期：');
    expect(await sections.first().locator('h2').textContent()).toBe('钢筋班 · 1 人');
    expect(await sections.first().locator('tbody td.d.a').first().textContent()).toBe('0.0缺出');
    await page.emulateMedia({ media: 'print' });
    expect(await page.locator('.tools').isVisible()).toBe(false);
    await page.emulateMedia({ media: 'screen' });
    // Chromium lays the page out by its @page rule: A4 landscape is 842 × 595 pt.
    const pdf = (await page.pdf({ preferCSSPageSize: true })).toString('latin1');
    const box = /\/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]/.exec(pdf);
    expect(Number(box?.[1])).toBeCloseTo(841.9, 0);
    expect(Number(box?.[2])).toBeCloseTo(595.3, 0);
  });

  it('keeps a hostile team name text: escaped in the page’s markup and plain in the JSON', async () => {
    const hostile = '"><img src=x onerror=alert(1)>班';
    await lab.gateway.workers.apply([
      { source: 'local', op: 'upsert', identity: { gatewayId: 'lab-worker-3' }, team: hostile },
    ]);
    await page.goto(`${lab.baseUrl}/reports/attendance?month=${M}`);
    expect(await page.locator('#attendance-sheet img').count()).toBe(0);
    const group = page
      .locator('#attendance-sheet tbody')
      .filter({ has: page.locator('tr[data-worker="lab-worker-3"]') });
    expect(await group.getAttribute('data-team')).toBe(hostile);
    expect(await group.locator('tr.team').textContent()).toBe(`${hostile} · 1 人`);
    const sheet = (await api(`/api/reports/attendance?month=${M}&team=${encodeURIComponent(hostile)}`))
      .body as SheetJson;
    expect(sheet.workers.map((w) => [w.workerId, w.team])).toEqual([['lab-worker-3', hostile]]);
  });
});

describe('the monthly sheet in pages', () => {
  let lab2: WebLab;
  let browser2: Browser;
  let page2: Page;

  beforeAll(async () => {
    [lab2, browser2] = await Promise.all([
      startWebLab(),
      chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...CHROMIUM_ARGS, '--lang=zh-CN'] }),
    ]);
    page2 = await (await browser2.newContext({ viewport: PHONE, locale: 'zh-CN' })).newPage();
    await page2.goto(`${lab2.baseUrl}/setup`);
    await page2.fill('input[name=code]', (await readSetupCode(lab2.gateway.dataDir)) ?? '');
    await page2.fill('input[name=password]', PASSWORD);
    await page2.fill('input[name=repeat]', PASSWORD);
    await page2.click('#setup-form button[type=submit]');
    await page2.waitForURL(`${lab2.baseUrl}/`);
    // 250 workers in two teams, and the lab's own workers with none: 2 pages of 200.
    await lab2.gateway.workers.apply(
      Array.from({ length: 250 }, (_, i) => ({
        source: 'local' as const,
        op: 'upsert' as const,
        identity: { gatewayId: `paged-${String(i).padStart(3, '0')}` },
        name: `分页工人${String(i).padStart(3, '0')}`,
        team: i < 150 ? '钢筋班' : '木工班',
      })),
    );
  }, 120_000);

  afterAll(async () => {
    await browser2?.close();
    await lab2?.stop();
  });

  it('shows 200 workers a page, team by team, with page links and a jump to each team, on a phone', async () => {
    const total = lab2.gateway.workers.list().filter((w) => w.status === 'active').length;
    expect(total).toBeGreaterThan(250);
    await page2.goto(`${lab2.baseUrl}/reports/attendance?month=${M}`);
    expect(await page2.locator('#attendance-sheet tr[data-worker]').count()).toBe(200);
    expect(await page2.locator('#sheet-rows').textContent()).toBe(`第 1–200 人，共 ${total} 人`);
    // 钢筋班 (150) then 木工班 (its first 50 here), the rest on page 2.
    expect(await page2.locator('#attendance-sheet tbody[data-team="钢筋班"] tr[data-worker]').count()).toBe(
      150,
    );
    expect(await page2.locator('#attendance-sheet tbody[data-team="木工班"] tr[data-worker]').count()).toBe(
      50,
    );
    expect(await page2.locator('.sheet-pager .current').textContent()).toBe('1');
    expect(await page2.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(PHONE.width);

    await page2.click('#sheet-next');
    await page2.waitForURL(/[?&]page=2/);
    expect(await page2.locator('#attendance-sheet tr[data-worker]').count()).toBe(total - 200);
    // 木工班 begins on page 1: on page 2 its head says so again, with the whole team's count.
    expect(await page2.locator('#attendance-sheet tbody[data-team="木工班"] tr.team').textContent()).toBe(
      '木工班 · 100 人',
    );
    expect(await page2.locator('#sheet-rows').textContent()).toBe(`第 201–${total} 人，共 ${total} 人`);
    expect(await page2.locator('#sheet-prev').getAttribute('href')).toBe(`/reports/attendance?month=${M}`);

    // The jump to 木工班 goes to page 1, at its rows.
    const jump = page2.locator('.sheet-teams a', { hasText: '木工班' });
    expect(await jump.getAttribute('href')).toBe(`/reports/attendance?month=${M}#team-1`);
    await jump.click();
    await page2.waitForURL(/#team-1$/);
    expect(await page2.locator('tbody#team-1').getAttribute('data-team')).toBe('木工班');

    // Past the last page: the last page. Not a page number: the form, and what is wrong, 400.
    await page2.goto(`${lab2.baseUrl}/reports/attendance?month=${M}&page=9`);
    expect(await page2.locator('#attendance-sheet tr[data-worker]').count()).toBe(total - 200);
    const bad = await page2.request.get(`${lab2.baseUrl}/reports/attendance?month=${M}&page=x`);
    expect(bad.status()).toBe(400);
    expect(await bad.text()).toContain('页码：请填写页码，如 2。');

    // The files and the JSON keep every worker.
    const json = (await (
      await fetch(`${lab2.baseUrl}/api/reports/attendance?month=${M}&page=2`, {
        headers: { authorization: `Bearer ${API_TOKEN}` },
      })
    ).json()) as SheetJson;
    expect(json.workers).toHaveLength(total);
  });
});
