import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSetupCode } from '../../gateway/http/setup-code';
import { idNumberCheckCharacter } from '../../lib/id-number';
import { REPO } from '../support/cli';
import { handMadeXlsx, inlineCell } from '../support/zip';
import { CHROMIUM, CHROMIUM_ARGS, startWebLab, type WebLab } from './harness';
import { controlBoxes, DATA_IN_CHROME, overlaps, READABLE_TEXT } from './page-probes';

/**
 * Team and employer in Debian chromium against lab mode, as a site manager uses them: the import
 * (upload a workbook → the preview says who each row is, or that nobody or several are → apply →
 * the worker's page shows the team), the worker's own form and the registration form, in Chinese
 * with no Latin word that is not data and no two controls overlapping, at 1280 and at 390 px.
 */

const PASSWORD = 'site-manager-9';
const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 390, height: 844 };
const PROPER_NOUNS = new Set(['ZK', 'Modbus', 'ADMS', 'TCP', 'UDP', 'RTU', 'MB', 'X']);
const ARTIFACTS = join(REPO, 'test/artifacts/web');
const XLSX_TYPE = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
// A 1×1 JPEG, as in the registration tests.
const JPEG = Buffer.from(
  '/9j/4AAQSkZJRgABAQEASABIAAD/2wBDAP//////////////////////////////////////////////////////////////////////////////////////wgALCAABAAEBAREA/8QAFBABAAAAAAAAAAAAAAAAAAAAAP/aAAgBAQABPxA=',
  'base64',
);
const ID_OF_ZHANG = '11010519491231002X';

let lab: WebLab;
let browser: Browser;
let desktop: BrowserContext;
let phone: BrowserContext;
let page: Page;
let mobile: Page;
const posts: string[] = [];

/** Latin words a person reads on the page that are not the lab's data (names, ids) nor proper nouns. */
async function foreignWords(target: Page): Promise<string[]> {
  const data = new Set<string>();
  const latin = (text: string) => text.match(/[A-Za-z][A-Za-z0-9'’_]*/g) ?? [];
  for (const w of lab.gateway.workers.list()) {
    for (const value of [w.id, w.name, w.team, w.employer, ...Object.values(w.identities)]) {
      if (value) for (const word of latin(value)) data.add(word);
    }
  }
  for (const word of latin(lab.gateway.config.site.name)) data.add(word);
  const texts = (await target.evaluate(READABLE_TEXT)) as string[];
  return [...new Set(texts.flatMap((t) => latin(t).filter((w) => !data.has(w) && !PROPER_NOUNS.has(w))))];
}

/** No foreign word, no data hiding a label, no overlapping controls, no button taller than a finger. */
async function checkLayout(target: Page, what: string): Promise<void> {
  const width = target.viewportSize()!.width;
  expect(await foreignWords(target), `${what}: Latin words`).toEqual([]);
  expect(await target.evaluate(DATA_IN_CHROME), `${what}: data in labels`).toEqual([]);
  const boxes = await controlBoxes(target);
  expect(boxes.length, `${what}: controls`).toBeGreaterThan(0);
  expect(overlaps(boxes), `${what} at ${width} px`).toEqual([]);
  for (const b of boxes.filter((x) => x.what.startsWith('button'))) {
    expect(b.h, `${what} at ${width} px: ${b.what} height`).toBeLessThanOrEqual(48);
  }
  const overflow = (await target.evaluate(
    'document.documentElement.scrollWidth - window.innerWidth',
  )) as number;
  expect(overflow, `${what} at ${width} px: horizontal scroll`).toBeLessThanOrEqual(0);
}

/** A workbook as a site office keeps it: a title row, then the heading, one row per worker. */
function teamsWorkbook(): Buffer {
  const row = (n: number, cells: string[]) =>
    `<row r="${n}">${cells.map((text, i) => (text ? inlineCell(`${'ABCD'[i]}${n}`, text) : '')).join('')}</row>`;
  return handMadeXlsx({
    sheetData: [
      row(1, ['东区项目班组表']),
      row(2, ['姓名', '身份证号', '班组', '劳务分包单位']),
      row(3, ['', ID_OF_ZHANG.toLowerCase(), '木工班', '成都建工劳务有限公司']),
      row(4, ['李 小龙', '', '钢筋班', '四川劳务有限公司']),
      row(5, ['王建国', '', '木工班', '']),
      row(6, ['查无此人', '', '木工班', '']),
    ].join(''),
  });
}

describe('team and employer in chromium (zh), desktop and phone', () => {
  beforeAll(async () => {
    await mkdir(ARTIFACTS, { recursive: true });
    [lab, browser] = await Promise.all([
      startWebLab(),
      chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...CHROMIUM_ARGS, '--lang=zh-CN'] }),
    ]);
    // 张三丰 with an ID number on record; a second 王建国, so that name fits two active workers.
    await lab.gateway.workers.apply([
      {
        source: 'local',
        op: 'upsert',
        identity: { gatewayId: 'lab-worker-1', idCardNo: ID_OF_ZHANG },
        name: '张三丰',
      },
      { source: 'sichuan', op: 'upsert', identity: { sichuanUserId: 'SC-DUP-1' }, name: '王建国' },
    ]);
    desktop = await browser.newContext({ viewport: DESKTOP, locale: 'zh-CN' });
    page = await desktop.newPage();
    page.on('request', (request) => {
      if (request.method() === 'POST') posts.push(new URL(request.url()).pathname);
    });
    await page.goto(`${lab.baseUrl}/setup`);
    await page.fill('input[name=code]', (await readSetupCode(lab.gateway.dataDir)) ?? '');
    await page.fill('input[name=password]', PASSWORD);
    await page.fill('input[name=repeat]', PASSWORD);
    await page.click('#setup-form button[type=submit]');
    await page.waitForURL(`${lab.baseUrl}/`);
    phone = await browser.newContext({
      viewport: PHONE,
      deviceScaleFactor: 2,
      isMobile: true,
      hasTouch: true,
      locale: 'zh-CN',
      storageState: await desktop.storageState(),
    });
    mobile = await phone.newPage();
  });

  afterAll(async () => {
    await browser?.close();
    await lab?.stop();
  });

  it('imports a workbook: upload, a preview of every row, apply, and the team on the worker’s page', async () => {
    await page.goto(`${lab.baseUrl}/workers`);
    await page.click('#import-link');
    await page.waitForURL(`${lab.baseUrl}/workers/import`);
    for (const target of [page, mobile]) {
      if (target === mobile) await mobile.goto(`${lab.baseUrl}/workers/import`);
      await checkLayout(target, '/workers/import');
    }
    await page.setInputFiles('input[name=file]', {
      name: '东区班组.xlsx',
      mimeType: XLSX_TYPE,
      buffer: teamsWorkbook(),
    });
    expect(await page.textContent('[data-file-name=file]')).toBe('东区班组.xlsx');
    await page.click('#import-form button[type=submit]');
    await page.waitForURL(/\/workers\/import\/[A-Za-z0-9_-]{24}$/);
    const previewUrl = page.url();

    const status = async (line: number) => page.getAttribute(`tr[data-line="${line}"]`, 'data-status');
    expect(await status(3)).toBe('change');
    expect(await status(4)).toBe('change');
    expect(await status(5)).toBe('ambiguous');
    expect(await status(6)).toBe('none');
    const cells = async (line: number) =>
      (await page.locator(`tr[data-line="${line}"] td`).allTextContents()).map((t) =>
        t.replace(/\s+/g, ' ').trim(),
      );
    expect(await cells(3)).toEqual([
      '3',
      '',
      '110105********002x',
      '张三丰 按身份证号',
      '— → 木工班',
      '— → 成都建工劳务有限公司',
      '将更新',
    ]);
    expect((await cells(4)).slice(3, 7)).toEqual([
      '李小龙 按姓名',
      '— → 钢筋班',
      '— → 四川劳务有限公司',
      '将更新',
    ]);
    expect((await cells(5))[3]).toMatch(/^可能是： 王建国 #\d+、王建国 #\d+$/);
    expect((await cells(5))[6]).toBe('同名多人');
    expect((await cells(6))[6]).toBe('未找到');
    expect(await page.textContent('#import-summary')).toContain(
      '共 4 行：2 行将更新，0 行无变化，1 行未找到，1 行同名多人',
    );
    // Nothing is applied by looking.
    expect(lab.gateway.workers.get('lab-worker-1')?.team).toBeUndefined();
    await page.screenshot({ path: join(REPO, 'docs/img/import-preview.png'), fullPage: true });
    await checkLayout(page, 'the preview');
    await mobile.goto(previewUrl);
    await checkLayout(mobile, 'the preview');
    await mobile.screenshot({ path: join(ARTIFACTS, 'import-preview-phone.png'), fullPage: true });

    await page.click('#apply-form button[type=submit]');
    await page.waitForURL(`${previewUrl}/result`);
    expect(await page.textContent('#import-result')).toBe('已更新 2 名人员。');
    await checkLayout(page, 'the result');
    // Post/redirect/get: reloading the result sends nothing.
    const before = posts.length;
    await page.reload();
    expect(posts.length).toBe(before);
    await page.locator('#updated-workers a', { hasText: '张三丰' }).click();
    await page.waitForURL(`${lab.baseUrl}/workers/lab-worker-1`);
    expect(await page.textContent('#worker-team')).toBe('木工班');
    expect(await page.textContent('#worker-employer')).toBe('成都建工劳务有限公司');
    expect(lab.gateway.workers.get('lab-worker-2')).toMatchObject({ team: '钢筋班', sources: ['local'] });
    // The preview is used up: going back to it says so.
    await page.goto(previewUrl);
    expect(await page.textContent('.notice.error')).toContain('该预览已过期或已应用');
  });

  it('edits a worker’s team on their page, and the list shows and filters it', async () => {
    for (const target of [page, mobile]) {
      await target.goto(`${lab.baseUrl}/workers/lab-worker-3`);
      await checkLayout(target, '/workers/lab-worker-3');
    }
    await page.fill('#team-form input[name=team]', ' 钢筋班 ');
    await page.fill('#team-form input[name=employer]', '四川劳务有限公司');
    await page.click('#team-form button[type=submit]');
    await page.waitForURL(`${lab.baseUrl}/workers/lab-worker-3`);
    expect(await page.textContent('.notice.ok')).toBe('已保存班组与分包单位。');
    expect(await page.textContent('#worker-team')).toBe('钢筋班');
    await page.screenshot({ path: join(ARTIFACTS, 'worker-team.png'), fullPage: true });
    // The values in use are offered as the field is typed.
    expect(
      await page.locator('#team-choices option').evaluateAll((os) => os.map((o) => o.getAttribute('value'))),
    ).toEqual(['钢筋班', '木工班']);
    await page.goto(`${lab.baseUrl}/workers`);
    await page.selectOption('select[name=team]', '钢筋班');
    await page.click('form.filters button[type=submit]');
    await page.waitForURL(/team=/);
    expect((await page.locator('#worker-table .worker-name').allTextContents()).sort()).toEqual([
      '李小龙',
      '王建国',
    ]);
    expect(await page.locator('#worker-table td.team').allTextContents()).toEqual(['钢筋班', '钢筋班']);
    await checkLayout(page, '/workers filtered');
    await mobile.goto(page.url());
    await checkLayout(mobile, '/workers filtered');
  });

  it('registers a worker with a team and an employer', async () => {
    const first17 = '51010419900307001';
    const idCardNo = `${first17}${idNumberCheckCharacter(first17)}`;
    for (const target of [page, mobile]) {
      await target.goto(`${lab.baseUrl}/workers/new`);
      await checkLayout(target, '/workers/new');
    }
    await page.fill('input[name=name]', '班组登记');
    await page.fill('input[name=idCardNo]', idCardNo);
    await page.fill('input[name=nation]', '汉');
    await page.fill('input[name=birthday]', '1990-03-07');
    await page.fill('input[name=address]', '四川省成都市武侯区某路 2 号');
    await page.fill('input[name=idIssuer]', '成都市公安局武侯分局');
    await page.fill('input[name=idPeriod]', '20150101-长期');
    await page.fill('#register-form input[name=team]', '木工班');
    await page.fill('#register-form input[name=employer]', '成都建工劳务有限公司');
    await page.setInputFiles('input[name=idPhoto]', { name: 'id.jpg', mimeType: 'image/jpeg', buffer: JPEG });
    await page.setInputFiles('input[name=photo]', { name: 'face.jpg', mimeType: 'image/jpeg', buffer: JPEG });
    await page.click('#register-form button[type=submit]');
    await page.waitForURL(`${lab.baseUrl}/workers/new`);
    await page.locator('#registered-user-id').waitFor();
    const registered = lab.gateway.workers.findByIdentity({ idCardNo });
    expect(registered).toMatchObject({ name: '班组登记', team: '木工班', employer: '成都建工劳务有限公司' });
  });
});
