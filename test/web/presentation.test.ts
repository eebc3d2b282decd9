/**
 * The page as a person reads it, in a real browser against lab mode: every page in Chinese with no
 * Latin word that is not data, one time format, terminal names in tables, form controls that never
 * overlap (desktop and phone), the punch list as cards on a phone, the favicon shipped inside the
 * gateway, and the hourly chart's entries and exits side by side. Screenshots go to docs/img/.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { webAssets } from '../../build/web-assets';
import { readSetupCode } from '../../gateway/http/setup-code';
import { REPO } from '../support/cli';
import { CHROMIUM, CHROMIUM_ARGS, startWebLab, type WebLab } from './harness';
import {
  CHART_BAR_RUNS,
  controlBoxes,
  DATA_IN_CHROME,
  overlaps,
  PUNCH_CARDS,
  READABLE_TEXT,
} from './page-probes';

/** A Chinese browser, as a site manager's is (its own words follow where its Chinese resources are installed). */
function launchChineseBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [...CHROMIUM_ARGS, '--lang=zh-CN'],
  });
}

const DOCS_IMG = join(REPO, 'docs/img');
const PASSWORD = 'site-manager-9';
const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 390, height: 844 };
/** The terminal the test adds through the form; nothing listens on its port, so it stays offline. */
const OFFLINE = { id: 'gate-x', name: '西门备用机' };
/**
 * Latin words that are not data but may stand in Chinese text: protocol names as the devices'
 * manuals print them (no Chinese name exists for them), the unit MB, and X, the ID number's check
 * character.
 */
const PROPER_NOUNS = new Set(['ZK', 'Modbus', 'ADMS', 'TCP', 'UDP', 'RTU', 'MB', 'X']);

let lab: WebLab;
let browser: Browser;
let desktop: BrowserContext;
let page: Page;

function latinWords(text: string): string[] {
  return text.match(/[A-Za-z][A-Za-z0-9'’_]*/g) ?? [];
}

/** Every Latin word of the data the lab holds (names, ids, hosts), which the page shows as it is. */
function dataWords(): Set<string> {
  const words = new Set<string>();
  const add = (value: unknown) => {
    if (typeof value === 'string') for (const w of latinWords(value)) words.add(w);
  };
  add(lab.gateway.config.site.name);
  for (const t of lab.gateway.config.terminals) {
    add(t.id);
    add(t.name);
  }
  add(OFFLINE.id);
  for (const w of lab.gateway.workers.list()) {
    add(w.id);
    add(w.name);
    add(w.team);
    add(w.employer);
    for (const v of Object.values(w.identities)) add(v);
  }
  return words;
}

/**
 * The text a person reads on the page (text nodes, placeholders, titles, labels, confirm texts,
 * the document title), without what is marked as data (`translate="no"`).
 */
function readableText(target: Page): Promise<string[]> {
  return target.evaluate(READABLE_TEXT) as Promise<string[]>;
}

/** Labels, headings and buttons are the page's own words: none may be marked as data to hide it. */
function dataInChrome(target: Page): Promise<string[]> {
  return target.evaluate(DATA_IN_CHROME) as Promise<string[]>;
}

async function foreignWords(target: Page, allowed: ReadonlySet<string>): Promise<string[]> {
  const texts = await readableText(target);
  return [
    ...new Set(
      texts.flatMap((text) => latinWords(text).filter((w) => !allowed.has(w) && !PROPER_NOUNS.has(w))),
    ),
  ];
}

async function setUpPassword(target: Page): Promise<void> {
  await target.goto(`${lab.baseUrl}/setup`);
  if (await target.locator('input[name=code]').count()) {
    await target.fill('input[name=code]', (await readSetupCode(lab.gateway.dataDir)) ?? '');
  }
  await target.fill('input[name=password]', PASSWORD);
  await target.fill('input[name=repeat]', PASSWORD);
  await target.click('#setup-form button[type=submit]');
  await target.waitForURL(`${lab.baseUrl}/`);
}

/** Waits until the dashboard's script has refreshed it from /api/dashboard at least once. */
async function dashboardRefreshed(target: Page): Promise<void> {
  await target.waitForResponse((r) => r.url().includes('/api/dashboard'), { timeout: 5000 });
  await target.waitForTimeout(200);
}

const FORM_PAGES = [
  '/account',
  '/workers',
  '/workers/new',
  '/workers/import',
  '/workers/lab-worker-2',
  '/punches',
  '/terminals',
  '/terminals/new',
  '/terminals/lab-zk/edit',
  '/upstreams',
  '/muster',
  '/reports/attendance',
  '/reports/daily',
] as const;

describe('the page as a site manager reads it (zh), desktop and phone', () => {
  beforeAll(async () => {
    await mkdir(DOCS_IMG, { recursive: true });
    [lab, browser] = await Promise.all([startWebLab({ zk: true }), launchChineseBrowser()]);
    desktop = await browser.newContext({ viewport: DESKTOP, locale: 'zh-CN' });
    page = await desktop.newPage();
  });

  afterAll(async () => {
    await browser?.close();
    await lab?.stop();
  });

  it('first run and login: no Latin words, no overlapping controls at 1280 and 390 px', async () => {
    const allowed = dataWords();
    for (const viewport of [DESKTOP, PHONE]) {
      const fresh = await browser.newContext({ viewport, locale: 'zh-CN' });
      const target = await fresh.newPage();
      await target.goto(`${lab.baseUrl}/setup`);
      expect(await foreignWords(target, allowed), '/setup').toEqual([]);
      expect(overlaps(await controlBoxes(target)), `/setup at ${viewport.width}`).toEqual([]);
      await fresh.close();
    }
    await setUpPassword(page);
    for (const viewport of [DESKTOP, PHONE]) {
      const fresh = await browser.newContext({ viewport, locale: 'zh-CN' });
      const target = await fresh.newPage();
      await target.goto(`${lab.baseUrl}/login`);
      await target.fill('input[name=password]', 'wrong-password');
      await target.click('#login-form button[type=submit]');
      await target.locator('.notice.error').waitFor();
      expect(await foreignWords(target, allowed), '/login').toEqual([]);
      expect(overlaps(await controlBoxes(target)), `/login at ${viewport.width}`).toEqual([]);
      await fresh.close();
    }
  });

  it('adds an offline terminal through the form, whose problems are said in Chinese first', async () => {
    await page.goto(`${lab.baseUrl}/terminals/new`);
    await page.fill('#terminal-form input[name=id]', OFFLINE.id);
    await page.fill('#terminal-form input[name=name]', OFFLINE.name);
    await page.fill('#terminal-form input[name=host]', '127.0.0.1');
    await page.fill('#terminal-form input[name=port]', '70000');
    await page.click('#terminal-form button[type=submit]');
    const problem = page.locator('.problems li').first();
    await problem.waitFor();
    // The field's label and the reason in Chinese; the schema's own line beside it, as data.
    expect(await problem.textContent()).toMatch(
      /^端口：应在 1–65535 之间 terminals\.\d+\.port: must be 1–65535$/,
    );
    expect(await foreignWords(page, dataWords())).toEqual([]);
    await page.fill('#terminal-form input[name=port]', '1');
    await page.fill('#terminal-form input[name=pollSeconds]', '1');
    await page.click('#terminal-form button[type=submit]');
    await page.locator('.notice.ok').waitFor();
  });

  it('renders every page in Chinese with no Latin word that is not data, and one time format', async () => {
    const removed = 'SC-GONE';
    await lab.gateway.workers.apply([
      { source: 'sichuan', op: 'upsert', identity: { sichuanUserId: removed }, name: '离场工人' },
      {
        source: 'sichuan',
        op: 'remove',
        identity: { sichuanUserId: removed },
        removalReason: 'sichuan',
        removalDetail: 'delType 9',
      },
    ]);
    const gone = lab.gateway.workers.findByIdentity({ sichuanUserId: removed })!;
    // Alerts of every kind the lab can raise: an unmatched PIN, a device reset, a platform error.
    lab.sichuan.setFaults({ serverErrorNext: 3 });
    for (const pin of [1, 2, 3]) lab.modbus.addEvent({ pin, method: 0, direction: 1 });
    await expect
      .poll(() => lab.gateway.health().journal.lastSeq, { timeout: 10_000 })
      .toBeGreaterThanOrEqual(3);
    // A reset is seen as the device's event counter going back: only after it counted some.
    lab.modbus.unit().reset();
    lab.modbus.addEvent({ pin: 5, method: 0, direction: 1 });
    lab.modbus.addEvent({ pin: 9999, method: 0, direction: 1 });
    await expect
      .poll(() => lab.gateway.health().alertDetails.map((a) => a.code), { timeout: 15_000 })
      .toEqual(expect.arrayContaining(['terminalOffline', 'terminalDevice', 'unmatchedPins']));
    const allowed = dataWords();

    const pages = [
      '/',
      '/muster',
      '/workers',
      '/workers?status=all',
      '/workers/lab-worker-1',
      `/workers/${gone.id}`,
      '/workers/new',
      '/workers/import',
      '/punches',
      '/reports/attendance',
      '/reports/daily',
      '/reports/attendance/print',
      '/reports/attendance?month=2026-13',
      '/terminals',
      '/terminals/new',
      '/terminals/lab-zk/edit',
      '/upstreams',
      '/account',
    ];
    const times: string[] = [];
    for (const path of pages) {
      await page.goto(`${lab.baseUrl}${path}`);
      if (path === '/') await dashboardRefreshed(page);
      expect(await foreignWords(page, allowed), path).toEqual([]);
      expect(await dataInChrome(page), path).toEqual([]);
      const body = (await page.locator('body').textContent()) ?? '';
      expect(body, `${path}: an ISO time`).not.toMatch(
        /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}|\d{2}:\d{2}(:\d{2})?(\.\d+)?Z/,
      );
      times.push(...(body.match(/\d{4}-\d{2}-\d{2}[ T]?\d{2}:\d{2}(:\d{2})?/g) ?? []));
    }
    // Every full time on every page is written one way.
    expect(times.length).toBeGreaterThan(5);
    for (const time of times) expect(time).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);

    // What the words say, not only that they are Chinese.
    await page.goto(`${lab.baseUrl}/`);
    await dashboardRefreshed(page);
    const alerts = await page.locator('#alerts li').allTextContents();
    expect(alerts.some((a) => a.startsWith(`终端 ${OFFLINE.name} 离线：连接被拒绝`))).toBe(true);
    expect(alerts).toContainEqual(expect.stringMatching(/^终端 北门闸机 \(Modbus\)：启动以来设备重置 1 次/));
    expect(alerts).toContainEqual(
      expect.stringMatching(/^终端 北门闸机 \(Modbus\)：有未登记工号的打卡：9999/),
    );
    expect(alerts).toContainEqual(expect.stringMatching(/^今日未登记工号：9999（1 次）/));
    expect(await page.locator('#upstream-table tbody td').first().textContent()).toBe('四川实名制平台');
    await page.goto(`${lab.baseUrl}/workers/${gone.id}`);
    expect(await page.textContent('#worker-status')).toBe(
      '已移除：四川实名制平台删除（来自四川实名制平台） delType 9',
    );
    await page.goto(`${lab.baseUrl}/terminals`);
    const offline = page.locator(`section[data-terminal="${OFFLINE.id}"]`);
    expect(await offline.locator('h2').textContent()).toBe(`${OFFLINE.name} ${OFFLINE.id}`);
    expect(await page.locator('section[data-terminal="lab-turnstile"]').textContent()).toContain(
      '名单同步：不适用',
    );
  });

  it('says the same in English, with no Chinese word that is not data', async () => {
    const data = [
      ...lab.gateway.workers.list().map((w) => w.name),
      ...lab.gateway.config.terminals.map((t) => t.name ?? ''),
      OFFLINE.name,
      lab.gateway.config.site.name,
      // A value typed as it is: the ID card's "no end" validity (seed 004 §5.2).
      '长期',
    ].join(' ');
    const english = await browser.newContext({
      viewport: DESKTOP,
      locale: 'en-GB',
      storageState: await desktop.storageState(),
    });
    const target = await english.newPage();
    await target.goto(`${lab.baseUrl}/lang/en?back=/`);
    for (const path of [
      '/',
      '/muster',
      '/workers',
      '/workers/lab-worker-1',
      '/workers/new',
      '/workers/import',
      '/punches',
      '/reports/attendance',
      '/reports/daily',
      '/reports/attendance/print',
      '/terminals',
      '/terminals/new',
      '/upstreams',
      '/account',
    ]) {
      await target.goto(`${lab.baseUrl}${path}`);
      if (path === '/') await dashboardRefreshed(target);
      const chinese = (await readableText(target)).flatMap((text) => text.match(/[\u3400-\u9fff]+/g) ?? []);
      expect(
        chinese.filter((word) => !data.includes(word)),
        path,
      ).toEqual([]);
    }
    await english.close();
  });

  it("writes a terminal's clock, read on request, like every other time", async () => {
    for (const [id, name] of [
      ['lab-zk', '东门指纹机 (ZK)'],
      ['lab-turnstile', '北门闸机 (Modbus)'],
    ] as const) {
      await page.goto(`${lab.baseUrl}/terminals`);
      await page.click(`form[action="/terminals/${id}/test"] button`);
      const notice = (await page.locator('#notice').textContent())?.trim();
      // The ZK terminal answers with its wall clock, the turnstile with UTC: both site-local here.
      expect(notice).toMatch(
        new RegExp(
          `^${name.replace(/[()]/g, '\\$&')}：成功 终端时钟 \\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2}$`,
        ),
      );
    }
  });

  it('shows terminal names, not ids, in every table', async () => {
    const names = new Map(lab.gateway.config.terminals.map((t) => [t.id, t.name!]));
    await page.goto(`${lab.baseUrl}/`);
    await dashboardRefreshed(page);
    const rows = page.locator('#terminal-table tbody tr');
    const shown = (await rows.locator('td:first-child').allTextContents()).sort();
    expect(shown).toEqual([...names.values(), OFFLINE.name].sort());
    expect(await page.textContent('#latest-punch')).toContain('北门闸机 (Modbus)');

    await page.goto(`${lab.baseUrl}/punches`);
    const where = await page.locator('#punch-table tbody td.where').allTextContents();
    expect(where.length).toBeGreaterThan(0);
    for (const name of where) expect([...names.values()]).toContain(name);
    const options = await page.locator('select[name=terminal] option').allTextContents();
    expect(options).toContain('北门闸机 (Modbus)');
    expect(options).not.toContain('lab-turnstile');

    await page.goto(`${lab.baseUrl}/workers/lab-worker-5`);
    const punchTerminals = await page.locator('#worker-punches tbody td:nth-child(3)').allTextContents();
    expect(punchTerminals).toContain('北门闸机 (Modbus)');
  });

  it('exports CSV with Chinese headers and words', async () => {
    const response = await page.request.get(`${lab.baseUrl}/punches.csv?terminal=lab-turnstile`);
    const lines = (await response.text())
      .replace(/^\uFEFF/, '')
      .trimEnd()
      .split('\r\n');
    expect(lines[0]!.split(',')).toEqual([
      '序号',
      '时间',
      '姓名',
      '工号',
      '四川平台人员编号',
      '方向',
      '终端',
      '终端编号',
      '方式',
      '标记',
      '四川实名制平台上传',
    ]);
    const row = lines.find((l) => l.includes('陈伟'))!.split(',');
    expect(row[1]).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
    expect(row.slice(5, 8)).toEqual(['进场', '北门闸机 (Modbus)', 'lab-turnstile']);
    expect(['指纹', '人脸', '刷卡', '密码']).toContain(row[8]);
    expect(['已上传', '待上传']).toContain(row[10]);
  });

  it('never lets two form controls overlap, at 1280 and at 390 px, and keeps buttons button-sized', async () => {
    const phone = await browser.newContext({
      viewport: PHONE,
      deviceScaleFactor: 2,
      isMobile: true,
      hasTouch: true,
      locale: 'zh-CN',
      storageState: await desktop.storageState(),
    });
    const mobile = await phone.newPage();
    for (const target of [page, mobile]) {
      const width = target.viewportSize()!.width;
      for (const path of FORM_PAGES) {
        await target.goto(`${lab.baseUrl}${path}`);
        const boxes = await controlBoxes(target);
        expect(boxes.length, `${path}: controls`).toBeGreaterThan(0);
        expect(overlaps(boxes), `${path} at ${width} px`).toEqual([]);
        for (const b of boxes.filter((x) => x.what.startsWith('button'))) {
          expect(b.h, `${path} at ${width} px: ${b.what} height`).toBeLessThanOrEqual(48);
          if (width > 600) expect(b.w, `${path}: ${b.what} width`).toBeLessThanOrEqual(320);
        }
      }
    }
    await mobile.goto(`${lab.baseUrl}/workers/new`);
    await mobile.screenshot({ path: join(DOCS_IMG, 'register-phone.png'), fullPage: true });
    await page.goto(`${lab.baseUrl}/workers/new`);
    await page.screenshot({ path: join(DOCS_IMG, 'register-zh.png'), fullPage: true });
    await phone.close();
  });

  it('shows the punch list on a phone as one short card per punch, the time on one line', async () => {
    const phone = await browser.newContext({
      viewport: PHONE,
      deviceScaleFactor: 2,
      isMobile: true,
      hasTouch: true,
      locale: 'zh-CN',
      storageState: await desktop.storageState(),
    });
    const mobile = await phone.newPage();
    await mobile.goto(`${lab.baseUrl}/punches`);
    const cards = (await mobile.evaluate(PUNCH_CARDS)) as Array<{
      height: number;
      width: number;
      time: string;
      timeLines: number;
      timeHeight: number;
      lineHeight: number;
      fullShown: boolean;
    }>;
    await mobile.screenshot({ path: join(DOCS_IMG, 'punches-phone.png') });
    expect(cards.length).toBeGreaterThanOrEqual(3);
    expect(await mobile.locator('#punch-table thead').isVisible()).toBe(false);
    for (const card of cards) {
      expect(card.height).toBeLessThanOrEqual(90);
      expect(card.width).toBeLessThanOrEqual(PHONE.width);
      expect(card.fullShown).toBe(false);
      expect(card.timeLines).toBe(1);
      expect(card.timeHeight).toBeLessThanOrEqual(card.lineHeight * 1.2);
      // Today's punches: the hour and minute are enough.
      expect(card.time).toMatch(/^\d{2}:\d{2}$/);
    }
    const overflow = (await mobile.evaluate(
      'document.documentElement.scrollWidth - window.innerWidth',
    )) as number;
    expect(overflow).toBeLessThanOrEqual(0);
    await phone.close();
  });

  it('serves the favicon from inside the gateway, and the build embeds it', async () => {
    await page.goto(`${lab.baseUrl}/`);
    const href = await page.getAttribute('link[rel=icon]', 'href');
    expect(href).toMatch(/^\/assets\/favicon\.svg\?v=[0-9A-Za-z_-]{8}$/);
    const icon = await page.request.get(`${lab.baseUrl}${href}`);
    expect(icon.status()).toBe(200);
    expect(icon.headers()['content-type']).toBe('image/svg+xml');
    const file = await readFile(join(REPO, 'gateway/web/static/favicon.svg'));
    expect(Buffer.from(await icon.body()).equals(file)).toBe(true);
    // The login page (no session yet) shows it too: an open path.
    const open = await fetch(`${lab.baseUrl}${href}`);
    expect(open.status).toBe(200);
    expect(webAssets(REPO)['favicon.svg']).toBe(join(REPO, 'gateway/web/static/favicon.svg'));
  });

  it('draws each hour’s entries and exits side by side, not over each other', async () => {
    // Both directions within this hour, more exits than entries (a covered entry bar would vanish).
    // (One event per PIN: the same PIN twice within a second is one punch.)
    lab.modbus.addEvent({ pin: 7, method: 0, direction: 1 });
    for (const pin of [1, 2, 3]) lab.modbus.addEvent({ pin, method: 0, direction: 2 });
    await page.goto(`${lab.baseUrl}/`);
    await dashboardRefreshed(page);
    await expect
      .poll(async () => Number(await page.textContent('#exits-today')), { timeout: 5000 })
      .toBeGreaterThanOrEqual(3);
    await page.waitForTimeout(1500);
    const groups = (await page.evaluate(CHART_BAR_RUNS)) as Array<{ entry: number[]; exit: number[] }>;
    const both = groups.filter((g) => g.entry.length > 0 && g.exit.length > 0);
    expect(both.length, JSON.stringify(groups)).toBeGreaterThanOrEqual(1);
    for (const g of both) {
      expect(g.entry.length).toBeGreaterThanOrEqual(2);
      expect(g.exit.length).toBeGreaterThanOrEqual(2);
      // Entries end where exits begin (a shared edge column at most).
      expect(Math.max(...g.entry) - Math.min(...g.exit), JSON.stringify(g)).toBeLessThanOrEqual(1);
    }
    await page.screenshot({ path: join(DOCS_IMG, 'dashboard-zh.png'), fullPage: true });
  });
});
