/**
 * The muster list (在场人员) in a real browser against lab mode: workers with teams and employers
 * punch through three emulated gates (the Modbus turnstile, two ZK terminals), and the list, its
 * JSON, the dashboard's figure, the refresh, the print view and the phone's cards are checked
 * against what the punches say. The phone screenshot goes to docs/img/muster-phone.png.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZkEmulator } from '../../adapters/zk/emulator';
import { readSetupCode } from '../../gateway/http/setup-code';
import type { Muster } from '../../gateway/web/muster-model';
import { utcMsToWall } from '../../lib/wall-clock';
import { REPO } from '../support/cli';
import { API_TOKEN, CHROMIUM, CHROMIUM_ARGS, startWebLab, type WebLab } from './harness';
import { controlBoxes, overlaps } from './page-probes';

const DOCS_IMG = join(REPO, 'docs/img');
const ARTIFACTS = join(REPO, 'test/artifacts/web');
const PASSWORD = 'site-manager-9';
const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 390, height: 844 };
const ZONE = 'Asia/Shanghai';
const MINUTE = 60_000;

/** The lab's gates: its turnstile and ZK terminal, and one more ZK terminal added on the page. */
const GATES = {
  turnstile: { id: 'lab-turnstile', name: '北门闸机 (Modbus)' },
  east: { id: 'lab-zk', name: '东门指纹机 (ZK)' },
  south: { id: 'gate-south', name: '南门人脸机' },
} as const;
type Gate = keyof typeof GATES;

const TEAMS = [
  { team: '钢筋班', employer: '蓉兴建筑劳务有限公司' },
  { team: '木工班', employer: '川安劳务有限公司' },
  { team: '混凝土班', employer: '蓉兴建筑劳务有限公司' },
  { team: '架子工班', employer: '锦城劳务分包有限公司' },
] as const;

/** Lab worker n's team (1-based, index into TEAMS); the last one has none (a new hand not yet placed). */
const TEAM_OF = [0, 0, 1, 0, 2, 1, 3, 2, 0, 2, 1, 3, 3, 0, 1] as const;

function teamOf(n: number): { team?: string; employer?: string } {
  const index = TEAM_OF[n - 1];
  return index === undefined ? {} : TEAMS[index];
}

/** What each worker did, minutes before the scenario's start; PIN 9999 is on no roster. */
const PUNCHES: ReadonlyArray<{ worker: number | 'unknown'; gate: Gate; dir: 'in' | 'out'; ago: number }> = [
  { worker: 1, gate: 'east', dir: 'in', ago: 190 },
  { worker: 2, gate: 'turnstile', dir: 'in', ago: 185 },
  { worker: 3, gate: 'south', dir: 'in', ago: 182 },
  // In, then out: gone.
  { worker: 4, gate: 'east', dir: 'in', ago: 180 },
  { worker: 4, gate: 'turnstile', dir: 'out', ago: 30 },
  { worker: 5, gate: 'east', dir: 'in', ago: 175 },
  // Out, then in again: inside.
  { worker: 6, gate: 'turnstile', dir: 'out', ago: 300 },
  { worker: 6, gate: 'turnstile', dir: 'in', ago: 60 },
  { worker: 7, gate: 'south', dir: 'in', ago: 170 },
  // Yesterday's entry, 16 h ago, and no exit: left without punching, outside the 14 h window.
  { worker: 8, gate: 'east', dir: 'in', ago: 16 * 60 },
  { worker: 9, gate: 'east', dir: 'in', ago: 168 },
  { worker: 10, gate: 'turnstile', dir: 'in', ago: 120 },
  { worker: 11, gate: 'south', dir: 'in', ago: 165 },
  { worker: 12, gate: 'turnstile', dir: 'in', ago: 200 },
  { worker: 12, gate: 'turnstile', dir: 'out', ago: 10 },
  { worker: 13, gate: 'east', dir: 'in', ago: 150 },
  { worker: 14, gate: 'turnstile', dir: 'in', ago: 45 },
  { worker: 16, gate: 'south', dir: 'in', ago: 100 },
  { worker: 'unknown', gate: 'turnstile', dir: 'in', ago: 20 },
];

interface Expected {
  readonly workerId: string;
  readonly name: string;
  readonly team: string;
  readonly employer: string;
  readonly gate: string;
  readonly atMs: number;
}

let lab: WebLab;
let south: ZkEmulator;
let browser: Browser;
let desktop: BrowserContext;
let page: Page;
/** The scenario's start, whole seconds (the terminals keep seconds). */
let start: number;
/** Who the punches put inside, by the rule worked out here from PUNCHES, not by the gateway. */
let inside: Expected[];

function workerId(n: number): string {
  return `lab-worker-${n}`;
}

/** By team in the zh-CN collation (no team last), then by entry, earliest first. */
function musterOrder(rows: readonly Expected[]): Expected[] {
  const collator = new Intl.Collator('zh-CN');
  return [...rows].sort((a, b) =>
    a.team === b.team
      ? a.atMs - b.atMs
      : a.team === ''
        ? 1
        : b.team === ''
          ? -1
          : collator.compare(a.team, b.team),
  );
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

/** The third gate, added as a site manager would: through the terminal form. */
async function addSouthGate(port: number): Promise<void> {
  await page.goto(`${lab.baseUrl}/terminals/new`);
  await page.fill('#terminal-form input[name=id]', GATES.south.id);
  await page.fill('#terminal-form input[name=name]', GATES.south.name);
  await page.selectOption('#terminal-form select[name=driver]', 'zk');
  await page.selectOption('#terminal-form select[name=direction]', 'in');
  await page.fill('#terminal-form input[name=host]', '127.0.0.1');
  await page.fill('#terminal-form input[name=port]', String(port));
  await page.fill('#terminal-form input[name=pollSeconds]', '1');
  await page.click('#terminal-form button[type=submit]');
  await page.locator('.notice.ok').waitFor();
  await until('the south gate online', 15_000, () =>
    Boolean(lab.gateway.health().terminals.find((t) => t.id === GATES.south.id)?.online),
  );
}

/** Waits for a condition outside a test (expect.poll is for tests only); throws naming it after `ms`. */
async function until(what: string, ms: number, ok: () => boolean): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function pinOf(n: number): string {
  return lab.gateway.workers.get(workerId(n))!.pin;
}

/** A punch on the gate's emulator, at the time given (the ZK terminals keep site-local wall time). */
function punchAt(gate: Gate, pin: string, dir: 'in' | 'out', atMs: number): void {
  if (gate === 'turnstile') {
    lab.modbus.addEvent({
      pin: Number(pin),
      timeSec: atMs / 1000,
      method: 0,
      direction: dir === 'in' ? 1 : 2,
    });
    return;
  }
  const zk = gate === 'east' ? lab.zk! : south;
  zk.addPunch({ pin, time: utcMsToWall(atMs, ZONE) });
}

async function apiMuster(query = ''): Promise<Muster> {
  const response = await page.request.get(`${lab.baseUrl}/api/muster${query}`);
  expect(response.status()).toBe(200);
  return (await response.json()) as Muster;
}

/** The rows the page shows, as the reader sees them. */
async function shownRows(target: Page): Promise<Array<{ workerId: string; cells: string[] }>> {
  return target.$$eval('#muster-table tr.worker-row', (rows) =>
    rows.map((tr) => ({
      workerId: tr.getAttribute('data-worker') ?? '',
      cells: [...tr.querySelectorAll('td')].map((td) => (td.querySelector('.full') ?? td).textContent ?? ''),
    })),
  );
}

describe('the muster list (在场人员)', () => {
  beforeAll(async () => {
    await mkdir(DOCS_IMG, { recursive: true });
    await mkdir(ARTIFACTS, { recursive: true });
    south = new ZkEmulator({ port: 0, users: 0, records: 0 });
    const [started, southPort, launched] = await Promise.all([
      startWebLab({ zk: true }),
      south.start(),
      chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...CHROMIUM_ARGS, '--lang=zh-CN'] }),
    ]);
    lab = started;
    browser = launched;
    desktop = await browser.newContext({ viewport: DESKTOP, locale: 'zh-CN' });
    await desktop.addInitScript(
      "document.addEventListener('securitypolicyviolation', (e) => { (window.__csp ??= []).push(e.violatedDirective + ' ' + e.blockedURI); });",
    );
    page = await desktop.newPage();
    await setUpPassword(page);
    await addSouthGate(southPort);
    await lab.gateway.workers.apply(
      Array.from({ length: 16 }, (_, i) => ({
        source: 'local' as const,
        op: 'upsert' as const,
        identity: { gatewayId: workerId(i + 1) },
        ...teamOf(i + 1),
      })),
    );

    const seqBefore = lab.gateway.health().journal.lastSeq;
    start = Math.floor(Date.now() / 1000) * 1000;
    for (const p of PUNCHES) {
      punchAt(p.gate, p.worker === 'unknown' ? '9999' : pinOf(p.worker), p.dir, start - p.ago * MINUTE);
    }
    await until(`${PUNCHES.length} punches journaled`, 20_000, () => {
      return lab.gateway.health().journal.lastSeq - seqBefore >= PUNCHES.length;
    });
    expect(lab.gateway.health().journal.lastSeq - seqBefore).toBe(PUNCHES.length);

    // The rule, worked out from the scenario: the last punch by time is an entry within 14 h.
    const last = new Map<number, (typeof PUNCHES)[number]>();
    for (const p of PUNCHES) {
      if (p.worker === 'unknown') continue;
      const before = last.get(p.worker);
      if (!before || p.ago < before.ago) last.set(p.worker, p);
    }
    const windowMinutes = lab.gateway.config.reports.nightShiftHours * 60;
    inside = [...last.entries()]
      .filter(([, p]) => p.dir === 'in' && p.ago <= windowMinutes)
      .map(([n, p]) => ({
        workerId: workerId(n),
        name: lab.gateway.workers.get(workerId(n))!.name,
        team: teamOf(n).team ?? '',
        employer: teamOf(n).employer ?? '',
        gate: GATES[p.gate].name,
        atMs: start - p.ago * MINUTE,
      }));
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await lab?.stop();
    await south?.stop();
  });

  it('lists who is inside by team then entry time, with employer, gate name and site-local time', async () => {
    expect(inside.length).toBe(12);
    await page.goto(`${lab.baseUrl}/muster`);
    expect(await page.textContent('#muster-count')).toBe(String(inside.length));
    const expected = musterOrder(inside);
    expect(await shownRows(page)).toEqual(
      expected.map((e) => ({
        workerId: e.workerId,
        cells: [utcMsToWall(e.atMs, ZONE, ' '), e.name, e.team || '—', e.employer || '—', e.gate],
      })),
    );
    // A heading per team with its head count, in the list's order; no team last.
    const heads = await page.locator('#muster-table tr.team-row').allTextContents();
    const teams = [...new Set(expected.map((e) => e.team))];
    expect(heads).toEqual(
      teams.map((team) => `${team || '未分班组'} · ${expected.filter((e) => e.team === team).length} 人`),
    );
    expect(await page.textContent('#muster-as-of')).toMatch(/^截至 \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}，/);
    expect(await page.evaluate('window.__csp ?? []')).toEqual([]);
    await page.screenshot({ path: join(ARTIFACTS, 'muster-desktop.png'), fullPage: true });
  });

  it('serves the same data as JSON, behind the same guard as the rest of the API', async () => {
    const data = await apiMuster();
    expect(data.total).toBe(inside.length);
    expect(data.nightShiftHours).toBe(14);
    expect(
      data.rows.map((r) => ({
        workerId: r.workerId,
        name: r.name,
        team: r.team,
        employer: r.employer,
        gate: r.gate,
        atMs: r.atMs,
      })),
    ).toEqual(musterOrder(inside));
    for (const r of data.rows) expect(r.at).toBe(utcMsToWall(r.atMs, ZONE, ' '));
    expect(data.rows.find((r) => r.workerId === workerId(3))?.terminalId).toBe(GATES.south.id);

    expect((await fetch(`${lab.baseUrl}/api/muster`)).status).toBe(401);
    const byToken = await fetch(`${lab.baseUrl}/api/muster`, {
      headers: { Authorization: `Bearer ${API_TOKEN}` },
    });
    expect(byToken.status).toBe(200);
    expect(((await byToken.json()) as Muster).total).toBe(inside.length);
    // The page itself needs a login.
    const anonymous = await fetch(`${lab.baseUrl}/muster`, { redirect: 'manual' });
    expect(anonymous.status).toBe(303);
    expect(anonymous.headers.get('location')).toBe('/login');
  });

  it('is one tap from the dashboard, whose on-site figure is the muster count (the night-shift window too)', async () => {
    await page.goto(`${lab.baseUrl}/`);
    expect(await page.textContent('#on-site')).toBe(String(inside.length));
    // The script's refresh from /api/dashboard says the same.
    await page.waitForResponse((r) => r.url().includes('/api/dashboard'), { timeout: 5000 });
    await page.waitForTimeout(200);
    expect(await page.textContent('#on-site')).toBe(String(inside.length));
    await page.click('#on-site-card');
    await page.waitForURL(`${lab.baseUrl}/muster`);
    expect(await page.textContent('#muster-count')).toBe(String(inside.length));
    // The workers list marks the same people as on site.
    await page.goto(`${lab.baseUrl}/workers`);
    const marked = await page.$$eval('#worker-table tbody tr', (rows) =>
      rows
        .filter((tr) => tr.textContent?.includes('●'))
        .map((tr) => tr.querySelector('a.worker-name')?.getAttribute('href')),
    );
    expect(marked.sort()).toEqual(inside.map((e) => `/workers/${e.workerId}`).sort());
  });

  it('filters by team and by employer', async () => {
    const team = TEAMS[1].team;
    await page.goto(`${lab.baseUrl}/muster`);
    await page.selectOption('#muster-filter select[name=team]', team);
    await page.click('#muster-filter button[type=submit]');
    await page.waitForURL(/\/muster\?team=/);
    const ofTeam = musterOrder(inside.filter((e) => e.team === team));
    expect((await shownRows(page)).map((r) => r.workerId)).toEqual(ofTeam.map((e) => e.workerId));
    expect(await page.textContent('#muster-shown')).toBe(
      `筛选后 ${ofTeam.length} 人，共 ${inside.length} 人在场`,
    );

    const employer = TEAMS[0].employer;
    await page.goto(`${lab.baseUrl}/muster?employer=${encodeURIComponent(employer)}`);
    const ofEmployer = musterOrder(inside.filter((e) => e.employer === employer));
    // One employer, two teams.
    expect(new Set(ofEmployer.map((e) => e.team)).size).toBe(2);
    expect((await shownRows(page)).map((r) => r.workerId)).toEqual(ofEmployer.map((e) => e.workerId));
    expect((await apiMuster(`?employer=${encodeURIComponent(employer)}`)).count).toBe(ofEmployer.length);
  });

  it('refreshes by itself every 30 s without reloading the page', async () => {
    const refresher = await desktop.newPage();
    await refresher.clock.install();
    await refresher.goto(`${lab.baseUrl}/muster`);
    await refresher.evaluate('window.__loaded = "first"');
    const leaving = inside.find((e) => e.workerId === workerId(14))!;
    expect(await refresher.locator(`tr[data-worker="${leaving.workerId}"]`).count()).toBe(1);
    const seqBefore = lab.gateway.health().journal.lastSeq;
    punchAt('turnstile', pinOf(14), 'out', Math.floor(Date.now() / 1000) * 1000);
    await expect.poll(() => lab.gateway.health().journal.lastSeq, { timeout: 10_000 }).toBe(seqBefore + 1);
    // Before its time the list stays as it was; at 30 s the script fetches and swaps it in.
    await refresher.clock.runFor(29_000);
    expect(await refresher.locator(`tr[data-worker="${leaving.workerId}"]`).count()).toBe(1);
    const fetched = refresher.waitForResponse((r) => new URL(r.url()).pathname === '/muster');
    await refresher.clock.runFor(1_500);
    await fetched;
    await refresher.locator(`tr[data-worker="${leaving.workerId}"]`).waitFor({ state: 'detached' });
    expect(await refresher.textContent('#muster-count')).toBe(String(inside.length - 1));
    expect(await refresher.evaluate('window.__loaded')).toBe('first');
    expect(await refresher.evaluate('window.__csp ?? []')).toEqual([]);
    await refresher.close();
    inside = inside.filter((e) => e !== leaving);
  });

  it('prints the list alone, as a table with full times, from its print button', async () => {
    await page.goto(`${lab.baseUrl}/muster`);
    const button = page.locator('#print-muster');
    expect(await button.isVisible()).toBe(true);
    await page.evaluate('window.print = () => { window.__printed = (window.__printed ?? 0) + 1; }');
    await button.click();
    expect(await page.evaluate('window.__printed')).toBe(1);
    for (const viewport of [DESKTOP, PHONE]) {
      await page.setViewportSize(viewport);
      await page.emulateMedia({ media: 'print' });
      expect(await page.locator('#muster-filter').isVisible()).toBe(false);
      expect(await page.locator('header.top nav').isVisible()).toBe(false);
      expect(await page.locator('#muster-table thead').isVisible()).toBe(true);
      expect(await page.locator('#muster-count').isVisible()).toBe(true);
      const times = (await page.evaluate(
        "[...document.querySelectorAll('#muster-table .when .full')].map((el) => getComputedStyle(el).display)",
      )) as string[];
      expect(times.length).toBe(inside.length);
      expect(new Set(times)).toEqual(new Set(['inline']));
      await page.emulateMedia({ media: 'screen' });
    }
    await page.setViewportSize(DESKTOP);
    const pdf = await page.pdf({ format: 'A4' });
    expect(pdf.subarray(0, 5).toString('latin1')).toBe('%PDF-');
  });

  it('is a card per worker on a phone (390 px): no sideways scroll, no overlapping controls', async () => {
    const phone = await browser.newContext({
      viewport: PHONE,
      deviceScaleFactor: 2,
      isMobile: true,
      hasTouch: true,
      locale: 'zh-CN',
      storageState: await desktop.storageState(),
    });
    const mobile = await phone.newPage();
    await mobile.goto(`${lab.baseUrl}/muster`);
    expect(await mobile.locator('#muster-table thead').isVisible()).toBe(false);
    const cards = (await mobile.$$eval('#muster-table tr.worker-row', (rows) =>
      rows.map((tr) => {
        const box = tr.getBoundingClientRect();
        const when = tr.querySelector('.when .short')!;
        return {
          height: box.height,
          left: box.left,
          right: box.right,
          time: when.textContent ?? '',
          timeLines: when.getClientRects().length,
        };
      }),
    )) as Array<{ height: number; left: number; right: number; time: string; timeLines: number }>;
    expect(cards.length).toBe(inside.length);
    for (const card of cards) {
      expect(card.height).toBeLessThanOrEqual(80);
      expect(card.left).toBeGreaterThanOrEqual(0);
      expect(card.right).toBeLessThanOrEqual(PHONE.width);
      expect(card.timeLines).toBe(1);
      expect(card.time).toMatch(/^(\d{2}-\d{2} )?\d{2}:\d{2}$/);
    }
    const overflow = (await mobile.evaluate(
      'document.documentElement.scrollWidth - window.innerWidth',
    )) as number;
    expect(overflow).toBeLessThanOrEqual(0);
    for (const target of [mobile, page]) {
      await target.goto(`${lab.baseUrl}/muster`);
      const boxes = await controlBoxes(target);
      expect(boxes.length).toBeGreaterThanOrEqual(4);
      expect(overlaps(boxes), `at ${target.viewportSize()!.width} px`).toEqual([]);
      for (const b of boxes.filter((x) => x.what.startsWith('button'))) expect(b.h).toBeLessThanOrEqual(48);
    }
    await mobile.screenshot({ path: join(DOCS_IMG, 'muster-phone.png'), fullPage: true });
    await phone.close();
  });
});
