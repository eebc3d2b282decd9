import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { idNumberCheckCharacter } from '../../lib/id-number';
import { CONFIGURED_HOST, launchBrowser, startWebLab, type WebLab } from './harness';

/**
 * The page's second edition in a real chromium: a rebound host name refused, the setup code,
 * redirects that stay home, a CSP the pages live with, post/redirect/get (a reload posts nothing),
 * and the registration form's own checks (GB 11643, photo content, photo size) labelled as local.
 */

const PASSWORD = 'site-manager-9';
const NEW_PASSWORD = 'site-manager-10';
// A 1×1 progressive JPEG and a 1×1 RGBA PNG: real images, as a camera or a scanner would give.
const JPEG = Buffer.from(
  '/9j/4AAQSkZJRgABAQEASABIAAD/2wBDAP//////////////////////////////////////////////////////////////////////////////////////wgALCAABAAEBAREA/8QAFBABAAAAAAAAAAAAAAAAAAAAAP/aAAgBAQABPxA=',
  'base64',
);
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==',
  'base64',
);

let lab: WebLab;
let browser: Browser;
let context: BrowserContext;
let page: Page;
const posts: string[] = [];

/** A valid GB 11643 number for a birth date (yyyyMMdd) and a sequence: its check character computed. */
function idNumber(birth: string, sequence: string): string {
  const first17 = `510104${birth}${sequence}`;
  return `${first17}${idNumberCheckCharacter(first17)}`;
}

function registDataCalls(): number {
  return lab.sichuan.state().answers.filter((a) => a.endpoint === 'RegistData').length;
}

interface Photo {
  readonly name: string;
  readonly mimeType: string;
  readonly buffer: Buffer;
}

async function fillRegistration(idCardNo: string, birthday: string, idPhoto: Photo, photo: Photo) {
  await page.goto(`${lab.baseUrl}/workers/new`);
  await page.fill('input[name=name]', '登记测试');
  await page.fill('input[name=idCardNo]', idCardNo);
  await page.fill('input[name=nation]', '汉');
  await page.fill('input[name=birthday]', birthday);
  await page.fill('input[name=address]', '四川省成都市武侯区某路 2 号');
  await page.fill('input[name=idIssuer]', '成都市公安局武侯分局');
  await page.fill('input[name=idPeriod]', '20150101-长期');
  await page.setInputFiles('input[name=idPhoto]', idPhoto);
  await page.setInputFiles('input[name=photo]', photo);
  await page.click('#register-form button[type=submit]');
  await page.waitForURL(`${lab.baseUrl}/workers/new`);
}

/** Reloads and says how many POSTs the reload sent (post/redirect/get: none). */
async function postsOnReload(): Promise<number> {
  const before = posts.length;
  await page.reload();
  await page.waitForLoadState('load');
  return posts.length - before;
}

describe('the page in chromium: protections and forms', () => {
  beforeAll(async () => {
    [lab, browser] = await Promise.all([startWebLab(), launchBrowser()]);
    context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
    page.on('request', (request) => {
      if (request.method() === 'POST') posts.push(new URL(request.url()).pathname);
    });
    // Every Content-Security-Policy violation any page reports, kept on the window for the test to read.
    await context.addInitScript(
      "document.addEventListener('securitypolicyviolation', (e) => { (window.__csp ??= []).push(e.violatedDirective + ' ' + e.blockedURI); });",
    );
  });

  afterAll(async () => {
    await browser?.close();
    await lab?.stop();
  });

  it('refuses the page under a rebound name (DNS rebinding), serves it under a configured one', async () => {
    const port = new URL(lab.baseUrl).port;
    const rebound = await page.goto(`http://evil.example:${port}/setup`);
    expect(rebound?.status()).toBe(421);
    expect(await page.locator('body').textContent()).toContain('http.allowedHosts');
    expect(await page.locator('#setup-form').count()).toBe(0);
    // The rebound page's own script cannot post to the box either.
    const status = await page.evaluate(
      "fetch('/setup', { method: 'POST', body: new URLSearchParams({ code: 'x', password: 'p4ssw0rd!', repeat: 'p4ssw0rd!' }) }).then((r) => r.status)",
    );
    expect(status).toBe(421);
    const configured = await page.goto(`http://${CONFIGURED_HOST}:${port}/setup`);
    expect(configured?.status()).toBe(200);
    expect(await page.locator('#setup-form').count()).toBe(1);
  });

  it('sets the first password only with the setup code', async () => {
    await page.goto(`${lab.baseUrl}/`);
    expect(new URL(page.url()).pathname).toBe('/setup');
    await page.fill('input[name=code]', 'AAAA-BBBB-CCCC');
    await page.fill('input[name=password]', PASSWORD);
    await page.fill('input[name=repeat]', PASSWORD);
    const [wrong] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('/setup') && r.request().method() === 'POST'),
      page.click('#setup-form button[type=submit]'),
    ]);
    expect(wrong.status()).toBe(403);
    expect(await page.locator('.notice.error').textContent()).toContain('设置码错误');
    await page.fill('input[name=code]', await lab.setupCode());
    await page.fill('input[name=password]', PASSWORD);
    await page.fill('input[name=repeat]', PASSWORD);
    await page.click('#setup-form button[type=submit]');
    await page.waitForURL(`${lab.baseUrl}/`);
  });

  it('keeps the language switch on this origin whatever `back` says', async () => {
    await page.goto(`${lab.baseUrl}/lang/en?back=/%5Cevil.example/x`);
    expect(new URL(page.url()).origin).toBe(lab.baseUrl);
    expect(new URL(page.url()).pathname).toBe('/');
    await page.goto(`${lab.baseUrl}/lang/zh?back=/%09/evil.example`);
    expect(new URL(page.url()).origin).toBe(lab.baseUrl);
    await page.goto(`${lab.baseUrl}/lang/zh?back=/workers`);
    expect(page.url()).toBe(`${lab.baseUrl}/workers`);
  });

  it('runs every page under the CSP (no inline script or style) without a violation', async () => {
    await page.goto(`${lab.baseUrl}/`);
    await page.waitForSelector('#hourly-chart canvas');
    const csp = (await page.goto(`${lab.baseUrl}/`))?.headers()['content-security-policy'] ?? '';
    expect(csp).toContain("style-src 'self';");
    await page.waitForSelector('#hourly-chart canvas');
    expect(await page.evaluate('window.__csp ?? []')).toEqual([]);
    for (const path of [
      '/workers',
      '/workers/lab-worker-2',
      '/workers/new',
      '/punches',
      '/terminals',
      '/upstreams',
    ]) {
      await page.goto(`${lab.baseUrl}${path}`);
      expect(await page.evaluate('window.__csp ?? []'), path).toEqual([]);
    }
  });

  it('refuses an ID number with a wrong GB 11643 check character locally, keeping what was typed', async () => {
    const calls = registDataCalls();
    // 51010419900101123 calls for check character 1 (ISO 7064 MOD 11-2), not X.
    await fillRegistration(
      '51010419900101123X',
      '1990-01-01',
      { name: 'id.jpg', mimeType: 'image/jpeg', buffer: JPEG },
      { name: 'face.jpg', mimeType: 'image/jpeg', buffer: JPEG },
    );
    const result = page.locator('#register-result');
    expect(await result.getAttribute('data-local')).toBe('true');
    const said = (await result.textContent()) ?? '';
    expect(said).toContain('未提交到平台');
    expect(said).toContain('GB 11643');
    expect(said).not.toContain('平台拒绝');
    expect(await page.inputValue('input[name=idCardNo]')).toBe('51010419900101123X');
    expect(registDataCalls()).toBe(calls);
  });

  it('takes a photo for what its bytes are: a .jpg name with PNG content is registered', async () => {
    const calls = registDataCalls();
    const before = posts.length;
    await fillRegistration(
      idNumber('19851231', '217'),
      '1985-12-31',
      { name: 'id.jpg', mimeType: 'image/jpeg', buffer: PNG },
      { name: 'face.jpg', mimeType: 'image/jpeg', buffer: JPEG },
    );
    const userId = (await page.textContent('#registered-user-id'))?.trim();
    expect(userId).toBe(lab.sichuan.state().registrations.at(-1)?.userId);
    expect(registDataCalls()).toBe(calls + 1);
    expect(posts.length - before).toBe(1);
    // Post/redirect/get: a reload shows the empty form and registers no one again.
    expect(await postsOnReload()).toBe(0);
    expect(registDataCalls()).toBe(calls + 1);
    expect(await page.locator('#registered-user-id').count()).toBe(0);
  });

  it('refuses a .jpg name with text content, and an over-size photo says so, not "required"', async () => {
    const calls = registDataCalls();
    const text = {
      name: 'face.jpg',
      mimeType: 'image/jpeg',
      buffer: Buffer.from('not a photo, only its name is .jpg\n'),
    };
    await fillRegistration(
      idNumber('19900215', '334'),
      '1990-02-15',
      { name: 'id.png', mimeType: 'image/png', buffer: PNG },
      text,
    );
    let said = (await page.textContent('#register-result')) ?? '';
    expect(said).toContain('未提交到平台');
    expect(said).toMatch(/photo: not a JPEG or PNG image/);

    const big = Buffer.concat([JPEG, Buffer.alloc(2.5 * 1024 * 1024)]);
    await fillRegistration(
      idNumber('19900215', '334'),
      '1990-02-15',
      { name: 'id.jpg', mimeType: 'image/jpeg', buffer: big },
      { name: 'face.jpg', mimeType: 'image/jpeg', buffer: JPEG },
    );
    said = (await page.textContent('#register-result')) ?? '';
    expect(said).toMatch(/idPhoto: 2\.5 MB is larger than the 2 MB allowed/);
    expect(said).not.toMatch(/required/);
    expect(await page.locator('#register-result').getAttribute('data-local')).toBe('true');
    expect(registDataCalls()).toBe(calls);
  });

  it('terminal action and upstream retry: the outcome on a GET page, a reload posts nothing', async () => {
    await page.goto(`${lab.baseUrl}/terminals`);
    await page.click('form[action="/terminals/lab-turnstile/reconcile"] button');
    await page.waitForURL(`${lab.baseUrl}/terminals`);
    expect(await page.locator('#notice').count()).toBe(1);
    expect(await postsOnReload()).toBe(0);
    expect(await page.locator('#notice').count()).toBe(0);

    await page.goto(`${lab.baseUrl}/upstreams`);
    await page.click('form[action="/upstreams/sichuan/retry"] button');
    await page.waitForURL(`${lab.baseUrl}/upstreams`);
    expect(await page.locator('.notice.ok').count()).toBeGreaterThan(0);
    expect(await postsOnReload()).toBe(0);
  });

  it('password change: the outcome on /account, a reload posts nothing', async () => {
    await page.goto(`${lab.baseUrl}/account`);
    await page.fill('input[name=current]', PASSWORD);
    await page.fill('input[name=password]', NEW_PASSWORD);
    await page.fill('input[name=repeat]', NEW_PASSWORD);
    await page.click('form[action="/account/password"] button[type=submit]');
    await page.waitForURL(`${lab.baseUrl}/account`);
    expect(await page.locator('.notice.ok').count()).toBe(1);
    expect(await postsOnReload()).toBe(0);
    expect(await page.locator('.notice.ok').count()).toBe(0);
  });
});
