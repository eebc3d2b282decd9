import type { Browser, Page, Request } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, startWebLab, type WebLab } from './harness';

const PASSWORD = 'site-manager-9';

let lab: WebLab;
let browser: Browser;
let page: Page;

/** The terminal's card on /terminals, reloaded until its text matches (the reconciler runs in the background). */
async function terminalCardUntil(terminalId: string, pattern: RegExp): Promise<string> {
  let card = '';
  await expect
    .poll(
      async () => {
        await page.goto(`${lab.baseUrl}/terminals`);
        card = (await page.locator(`section[data-terminal="${terminalId}"]`).textContent()) ?? '';
        return card;
      },
      { timeout: 15_000, interval: 500 },
    )
    .toMatch(pattern);
  return card;
}

describe('the page over the roster, against a ZK terminal emulator', () => {
  beforeAll(async () => {
    [lab, browser] = await Promise.all([startWebLab({ zk: true }), launchBrowser()]);
    page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    await page.goto(`${lab.baseUrl}/setup`);
    await page.fill('input[name=code]', await lab.setupCode());
    await page.fill('input[name=password]', PASSWORD);
    await page.fill('input[name=repeat]', PASSWORD);
    await page.click('#setup-form button[type=submit]');
    await page.waitForURL(`${lab.baseUrl}/`);
  });

  afterAll(async () => {
    await browser?.close();
    await lab?.stop();
  });

  it("shows each terminal's roster sync state and reconciles one on request", async () => {
    const zkCard = await terminalCardUntil('lab-zk', /名单同步：已同步/);
    // Every lab worker was written to the ZK terminal, under the roster's PIN and name.
    const onTerminal = new Map(lab.zk!.users().map((u) => [u.pin, u.name]));
    for (const worker of lab.gateway.workers.list()) expect(onTerminal.get(worker.pin)).toBe(worker.name);
    expect(zkCard).toContain('立即同步名单');
    // The turnstile holds no users: nothing to be out of sync with.
    const turnstile = page.locator('section[data-terminal="lab-turnstile"]');
    expect(await turnstile.textContent()).toContain('名单同步：不适用');

    const zk = page.locator('section[data-terminal="lab-zk"]');
    await zk.locator('form[action="/terminals/lab-zk/reconcile"] button').click();
    await page.locator('.notice.ok', { hasText: '东门指纹机 (ZK)' }).waitFor({ timeout: 5000 });
    // Post/redirect/get: the outcome is shown on the list's own URL, which a reload only reads.
    expect(new URL(page.url()).pathname).toBe('/terminals');
  });

  it('lists the terminals holding a worker on the worker page', async () => {
    const worker = lab.gateway.workers.get('lab-worker-1')!;
    await page.goto(`${lab.baseUrl}/workers/${worker.id}`);
    const holding = await page.locator('dt:has-text("已下发的终端") + dd').textContent();
    expect(holding?.split('、')).toEqual(['东门指纹机 (ZK)']);
  });

  it('enrols a fingerprint once: the page that follows it reloads without starting it again', async () => {
    const worker = lab.gateway.workers.get('lab-worker-2')!;
    expect(worker.templates).toEqual([]);
    const posts: string[] = [];
    const polled = new Set<string>();
    const note = (request: Request) => {
      const path = new URL(request.url()).pathname;
      if (request.method() === 'POST' && path.endsWith('/enrol')) posts.push(path);
      if (path.startsWith('/api/enrolments/')) polled.add(path);
    };
    page.on('request', note);
    try {
      await page.goto(`${lab.baseUrl}/workers/${worker.id}`);
      await page.selectOption('select[name=kind]', 'fp');
      await page.selectOption('select[name=terminalId]', 'lab-zk');
      await page.click('form[action$="/enrol"] button[type=submit]');
      // The page polls the job and reloads itself when it ends; that reload must not post again.
      await page.locator('#enrolment[data-state="done"]').waitFor({ timeout: 15_000 });
      expect(new URL(page.url()).pathname).toBe(`/workers/${worker.id}`);
      expect(posts).toEqual([`/workers/${worker.id}/enrol`]);
      expect(polled.size).toBe(1);
    } finally {
      page.off('request', note);
    }
    const stored = lab.gateway.workers.get(worker.id)!.templates;
    expect(stored.map((t) => t.kind)).toEqual(['fp']);
    const captured = lab.zk!.templates(worker.pin);
    expect(captured).toHaveLength(1);
    expect(captured[0]!.index).toBe(stored[0]!.index);
    expect(await page.locator('dt:has-text("生物特征模板") + dd').textContent()).toMatch(/指纹 \d+ 号/);
  });

  it('says why an enrolment failed: a Modbus turnstile cannot capture fingerprints', async () => {
    await page.goto(`${lab.baseUrl}/workers/lab-worker-3`);
    await page.selectOption('select[name=kind]', 'fp');
    await page.selectOption('select[name=terminalId]', 'lab-turnstile');
    await page.click('form[action$="/enrol"] button[type=submit]');
    await page.locator('#enrolment[data-state="failed"]').waitFor({ timeout: 10_000 });
    expect(await page.locator('#enrolment').textContent()).toContain('lab-turnstile cannot capture fp');
    expect(lab.gateway.workers.get('lab-worker-3')!.templates).toEqual([]);
  });
});
