import { mkdir, readFile } from 'node:fs/promises';
import { request } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO } from '../support/cli';
import { API_TOKEN, launchBrowser, startWebLab, type WebLab } from './harness';

const ARTIFACTS = join(REPO, 'test/artifacts/web');
const PASSWORD = 'site-manager-9';
const HOSTILE = '<img src=x onerror=alert(1)>';
// A 1×1 JPEG is enough for the platform emulator: it checks presence and encryption, not faces.
const JPEG = Buffer.from(
  '/9j/4AAQSkZJRgABAQEASABIAAD/2wBDAP//////////////////////////////////////////////////////////////////////////////////////wgALCAABAAEBAREA/8QAFBABAAAAAAAAAAAAAAAAAAAAAP/aAAgBAQABPxA=',
  'base64',
);

let lab: WebLab;
let browser: Browser;
let context: BrowserContext;
let page: Page;
const dialogs: string[] = [];

async function shot(target: Page, name: string): Promise<void> {
  await target.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

/** A form post as a script would send it (node:http, so Origin and source address are ours to pick). */
function post(
  path: string,
  body: string,
  headers: Record<string, string>,
  localAddress?: string,
): Promise<{ status: number; text: string }> {
  const url = new URL(path, lab.baseUrl);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'POST',
        localAddress,
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      },
      (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => {
          text += chunk.toString();
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('the site manager page in a real browser, against lab mode', () => {
  beforeAll(async () => {
    await mkdir(ARTIFACTS, { recursive: true });
    [lab, browser] = await Promise.all([startWebLab(), launchBrowser()]);
    context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
    page = await context.newPage();
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
  });

  afterAll(async () => {
    await browser?.close();
    await lab?.stop();
  });

  it('asks for a password on first run, refuses a wrong one, then logs in', async () => {
    await page.goto(`${lab.baseUrl}/`);
    expect(new URL(page.url()).pathname).toBe('/setup');
    await shot(page, 'setup');
    await page.fill('input[name=code]', await lab.setupCode());
    await page.fill('input[name=password]', PASSWORD);
    await page.fill('input[name=repeat]', PASSWORD);
    await page.click('#setup-form button[type=submit]');
    await page.waitForURL(`${lab.baseUrl}/`);
    const stored = await readFile(join(lab.gateway.dataDir, 'admin-password'), 'utf8');
    expect(stored).toMatch(/^scrypt\$\d+\$8\$1\$/);
    expect(stored).not.toContain(PASSWORD);

    await page.click('header button.link');
    await page.waitForURL(`${lab.baseUrl}/login`);
    await page.fill('input[name=password]', 'not-the-password');
    const wrong = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('/login') && r.request().method() === 'POST'),
      page.click('#login-form button[type=submit]'),
    ]);
    expect(wrong[0].status()).toBe(401);
    await expect(page.locator('.notice.error').textContent()).resolves.toContain('密码错误');
    await shot(page, 'login-wrong-password');
    expect(new URL(page.url()).pathname).toBe('/login');
    await page.fill('input[name=password]', PASSWORD);
    await page.click('#login-form button[type=submit]');
    await page.waitForURL(`${lab.baseUrl}/`);
    const cookie = (await context.cookies()).find((c) => c.name === 'eg_session');
    expect(cookie?.httpOnly).toBe(true);
    expect(cookie?.sameSite).toBe('Strict');
  });

  it('shows a punch made on the emulated turnstile on the dashboard within 3 s', async () => {
    await page.goto(`${lab.baseUrl}/`);
    await page.waitForSelector('#hourly-chart canvas');
    const before = Number(await page.textContent('#entries-today'));
    const made = Date.now();
    lab.modbus.addEvent({ pin: 5, method: 0, direction: 1 });
    await page.locator('#latest-punch', { hasText: '陈伟' }).waitFor({ timeout: 3000 });
    await expect
      .poll(async () => Number(await page.textContent('#entries-today')), { timeout: 1000 })
      .toBeGreaterThan(before);
    const latest = await page.textContent('#latest-punch');
    expect(latest).toContain('陈伟');
    // The terminal by its name, not its id.
    expect(latest).toContain('北门闸机 (Modbus)');
    expect(Date.now() - made).toBeLessThan(3000);
    expect(Number(await page.textContent('#on-site'))).toBeGreaterThanOrEqual(1);
    await shot(page, 'dashboard');
  });

  it('registers a worker on the Sichuan platform and shows the returned userId', async () => {
    await page.goto(`${lab.baseUrl}/workers/new`);
    await page.fill('input[name=name]', '测试工人');
    // Check character 1: GB 11643's MOD 11-2 over the first 17 digits.
    await page.fill('input[name=idCardNo]', '510101199001011231');
    await page.selectOption('select[name=gender]', 'female');
    await page.fill('input[name=nation]', '汉');
    await page.fill('input[name=birthday]', '1990-01-01');
    await page.fill('input[name=address]', '四川省成都市锦江区某街 1 号');
    await page.fill('input[name=idIssuer]', '成都市公安局锦江分局');
    await page.fill('input[name=idPeriod]', '20100101-20300101');
    await page.setInputFiles('input[name=idPhoto]', { name: 'id.jpg', mimeType: 'image/jpeg', buffer: JPEG });
    await page.setInputFiles('input[name=photo]', { name: 'face.jpg', mimeType: 'image/jpeg', buffer: JPEG });
    await page.click('#register-form button[type=submit]');
    await page.waitForSelector('#registered-user-id');
    const shown = (await page.textContent('#registered-user-id'))?.trim();
    const registration = lab.sichuan.state().registrations.at(-1);
    expect(registration?.name).toBe('测试工人');
    expect(registration?.idCardNo).toBe('510101199001011231');
    expect(shown).toBe(registration?.userId);
    const worker = lab.gateway.workers.list().find((w) => w.identities.sichuanUserId === shown);
    expect(worker?.name).toBe('测试工人');
    expect(worker?.facePhoto).toBeTruthy();
    await shot(page, 'register-worker');
  });

  it('renders a hostile worker name from a platform as text everywhere', async () => {
    await lab.gateway.workers.apply([
      { source: 'sichuan', op: 'upsert', identity: { sichuanUserId: 'SC-HOSTILE' }, name: HOSTILE },
    ]);
    const hostile = lab.gateway.workers.list().find((w) => w.name === HOSTILE)!;
    lab.modbus.addEvent({ pin: Number(hostile.pin), method: 0, direction: 1 });
    await page.goto(`${lab.baseUrl}/`);
    await page.locator('#latest-punch', { hasText: HOSTILE }).waitFor({ timeout: 5000 });
    for (const path of [
      '/',
      `/workers?q=${encodeURIComponent('<img')}`,
      `/workers/${hostile.id}`,
      '/punches',
    ]) {
      await page.goto(`${lab.baseUrl}${path}`);
      await page.waitForTimeout(path === '/' ? 1500 : 0);
      expect(await page.locator('img[src="x"]').count()).toBe(0);
      expect(await page.locator('body').textContent()).toContain(HOSTILE);
    }
    await shot(page, 'hostile-name-punches');
    expect(dialogs).toEqual([]);
  });

  it('links a Deli identity by hand and merges the duplicate record of the same person', async () => {
    await lab.gateway.workers.apply([
      { source: 'sichuan', op: 'upsert', identity: { sichuanUserId: 'SC-LINK' }, name: '周星星' },
      { source: 'deli', op: 'upsert', identity: { deliUserId: '88888' }, name: '周星星' },
    ]);
    const fromSichuan = lab.gateway.workers.findByIdentity({ sichuanUserId: 'SC-LINK' })!;
    const fromDeli = lab.gateway.workers.findByIdentity({ deliUserId: '88888' })!;
    expect(fromSichuan.id).not.toBe(fromDeli.id);
    await page.goto(`${lab.baseUrl}/workers/${fromSichuan.id}`);
    await page.fill('#link-form input[name=deliUserId]', '88888');
    await page.click('#link-form button[type=submit]');
    await page.locator('.notice', { hasText: fromDeli.id }).waitFor({ timeout: 5000 });
    await shot(page, 'worker-linked');
    expect(lab.gateway.workers.findByIdentity({ deliUserId: '88888' })?.id).toBe(fromSichuan.id);
    expect(lab.gateway.workers.get(fromSichuan.id)?.sources.sort()).toEqual(['deli', 'sichuan']);
    expect(lab.gateway.workers.get(fromDeli.id)?.status).toBe('removed');
  });

  it('filters punches and exports them as CSV with a BOM', async () => {
    await page.goto(`${lab.baseUrl}/punches?terminal=lab-turnstile&direction=in`);
    const total = Number((await page.textContent('#punch-total'))?.replace(/\D/g, ''));
    expect(total).toBeGreaterThanOrEqual(2);
    await shot(page, 'punches');
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export-csv')]);
    const bytes = await readFile((await download.path())!);
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const lines = bytes.subarray(3).toString('utf8').trimEnd().split('\r\n');
    const header = lines[0]!.split(',');
    expect(header.slice(0, 3)).toEqual(['序号', '时间', '姓名']);
    expect(lines.length - 1).toBe(total);
    const names = lines.slice(1).map((l) => l.split(',')[header.indexOf('姓名')]);
    expect(names).toContain('陈伟');
    expect(lines.slice(1).every((l) => l.split(',')[header.indexOf('方向')] === '进场')).toBe(true);
  });

  it("shows the schema's message for a terminal with a bad port and saves a good one", async () => {
    await page.goto(`${lab.baseUrl}/terminals/new`);
    await page.fill('#terminal-form input[name=id]', 'gate-2');
    await page.selectOption('#terminal-form select[name=driver]', 'zk');
    await page.fill('#terminal-form input[name=host]', '127.0.0.1');
    await page.fill('#terminal-form input[name=port]', '70000');
    await page.click('#terminal-form button[type=submit]');
    await page.waitForSelector('.problems');
    expect(await page.textContent('.problems')).toContain('terminals.1.port: must be 1–65535');
    await shot(page, 'terminal-bad-port');
    const unchanged = JSON.parse(await readFile(lab.configFile, 'utf8')) as { terminals: unknown[] };
    expect(unchanged.terminals).toHaveLength(1);

    await page.fill('#terminal-form input[name=port]', '4370');
    await page.uncheck('#terminal-form input[name=enabled]');
    await page.click('#terminal-form button[type=submit]');
    await page.waitForSelector('.notice.ok');
    const saved = JSON.parse(await readFile(lab.configFile, 'utf8')) as {
      terminals: Array<{ id: string; port: number }>;
    };
    expect(saved.terminals.map((t) => t.id)).toEqual(['lab-turnstile', 'gate-2']);
    expect(saved.terminals[1]!.port).toBe(4370);
    await shot(page, 'terminals');
  });

  it('refuses a cross-site POST even with a valid session cookie', async () => {
    const session = (await context.cookies()).find((c) => c.name === 'eg_session')!.value;
    const csrf = await page.getAttribute('meta[name=csrf-token]', 'content');
    const cookie = `eg_session=${session}`;
    const evil = await post('/workers/lab-worker-1/remove', `_csrf=${csrf}`, {
      cookie,
      origin: 'http://evil.example',
    });
    expect(evil.status).toBe(403);
    const tokenless = await post('/workers/lab-worker-1/remove', '', { cookie, origin: lab.baseUrl });
    expect(tokenless.status).toBe(403);
    expect(lab.gateway.workers.get('lab-worker-1')?.status).toBe('active');
    const same = await post('/workers/lab-worker-1/remove', `_csrf=${csrf}`, { cookie, origin: lab.baseUrl });
    expect(same.status).toBe(303);
    expect(lab.gateway.workers.get('lab-worker-1')?.status).toBe('removed');
  });

  it('refuses an oversized upload with 413 before reading it, and registers nobody', async () => {
    const session = (await context.cookies()).find((c) => c.name === 'eg_session')!.value;
    const before = lab.gateway.workers.list().length;
    // Only the headers are sent: the limit must apply on the announced size, before any body is read.
    const url = new URL(lab.baseUrl);
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(url.port), url.hostname, () => {
        socket.write(
          [
            'POST /workers/new HTTP/1.1',
            `Host: ${url.host}`,
            `Origin: ${lab.baseUrl}`,
            `Cookie: eg_session=${session}`,
            'Content-Type: multipart/form-data; boundary=x',
            `Content-Length: ${17 * 1024 * 1024}`,
            '',
            '',
          ].join('\r\n'),
        );
      });
      let text = '';
      socket.on('data', (chunk) => {
        text += chunk.toString();
        if (text.includes('upload too large')) {
          socket.destroy();
          resolve(text);
        }
      });
      socket.on('error', reject);
      socket.setTimeout(10_000, () => reject(new Error(`no answer: ${text}`)));
    });
    expect(answer.startsWith('HTTP/1.1 413')).toBe(true);
    expect(lab.gateway.workers.list().length).toBe(before);
  });

  it('opens /api/ only to a session or the bearer token, keeps /healthz open, and switches to English', async () => {
    expect((await fetch(`${lab.baseUrl}/api/dashboard`)).status).toBe(401);
    expect(
      (
        await fetch(`${lab.baseUrl}/api/dashboard`, {
          headers: { authorization: 'Bearer wrong-token-0123456789' },
        })
      ).status,
    ).toBe(401);
    const api = await fetch(`${lab.baseUrl}/api/punches?direction=in`, {
      headers: { authorization: `Bearer ${API_TOKEN}` },
    });
    expect(api.status).toBe(200);
    const body = (await api.json()) as {
      total: number;
      punches: Array<{ direction: string; delivered: Record<string, boolean> }>;
    };
    expect(body.total).toBeGreaterThanOrEqual(2);
    expect(body.punches.every((p) => p.direction === 'in' && typeof p.delivered.sichuan === 'boolean')).toBe(
      true,
    );
    expect((await fetch(`${lab.baseUrl}/healthz`)).status).toBe(200);
    expect((await fetch(`${lab.baseUrl}/`, { redirect: 'manual' })).status).toBe(303);

    await page.goto(`${lab.baseUrl}/workers`);
    await page.click('#lang-switch');
    await page.waitForURL(`${lab.baseUrl}/workers`);
    expect(await page.textContent('header nav')).toContain('Dashboard');
    await shot(page, 'workers-english');
    await page.click('#lang-switch');
    await page.waitForURL(`${lab.baseUrl}/workers`);
    expect(await page.textContent('header nav')).toContain('总览');
  });

  it('has no horizontal scroll on a phone-sized viewport', async () => {
    await page.goto(`${lab.baseUrl}/upstreams`);
    await shot(page, 'upstreams');
    const phone = await browser.newContext({
      viewport: { width: 390, height: 844 },
      deviceScaleFactor: 2,
      isMobile: true,
      hasTouch: true,
      storageState: await context.storageState(),
    });
    const mobile = await phone.newPage();
    for (const [name, path] of [
      ['dashboard', '/'],
      ['workers', '/workers'],
      ['worker', '/workers/lab-worker-2'],
      ['register', '/workers/new'],
      ['punches', '/punches'],
      ['terminals', '/terminals'],
      ['upstreams', '/upstreams'],
      ['account', '/account'],
    ] as const) {
      await mobile.goto(`${lab.baseUrl}${path}`);
      expect(new URL(mobile.url()).pathname).toBe(path);
      const overflow = (await mobile.evaluate(
        'document.documentElement.scrollWidth - window.innerWidth',
      )) as number;
      expect(overflow, `${path} scrolls sideways`).toBeLessThanOrEqual(0);
      await shot(mobile, `phone-${name}`);
    }
    await phone.close();
  });

  it('rate-limits login: the 11th attempt within a minute from one client gets 429', async () => {
    // A client address of its own (127.0.0.2), so the count starts from zero.
    const statuses: number[] = [];
    for (let i = 0; i < 11; i++) {
      const answer = await post('/login', 'password=guess', { origin: lab.baseUrl }, '127.0.0.2');
      statuses.push(answer.status);
    }
    expect(statuses.slice(0, 10)).toEqual(new Array(10).fill(401));
    expect(statuses[10]).toBe(429);
    const right = await post('/login', `password=${PASSWORD}`, { origin: lab.baseUrl }, '127.0.0.2');
    expect(right.status).toBe(429);
    // Another client is not affected.
    const other = await post('/login', `password=${PASSWORD}`, { origin: lab.baseUrl }, '127.0.0.3');
    expect(other.status).toBe(303);
  });
});
