import { readdirSync, readFileSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { request } from 'node:http';
import { hostname, networkInterfaces } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { text } from '../../gateway/web/i18n';
import { REPO } from '../support/cli';
import { API_TOKEN, CONFIGURED_HOST, METRICS_TOKEN, startWebLab, type WebLab } from './harness';

/**
 * The page's protections over real HTTP against the lab gateway: the Host check (DNS rebinding),
 * security headers on everything, /healthz minimal without a credential, the open-redirect check,
 * the one-time setup code, and post/redirect/get on every form.
 */

const PASSWORD = 'site-manager-9';

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
}

let lab: WebLab;
let port: number;

/** One request as any client could send it: Host, Origin and body are ours to choose. */
function send(
  method: string,
  path: string,
  options: { host?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method,
        headers: {
          host: options.host ?? `127.0.0.1:${port}`,
          ...(options.body !== undefined ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
          ...options.headers,
        },
      },
      (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => {
          text += chunk.toString();
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/** A session as the browser holds it: its cookie and the CSRF token its pages carry. */
interface Session {
  readonly cookie: string;
  readonly csrf: string;
}

let session: Session;

async function csrfOf(cookie: string, path = '/'): Promise<string> {
  const page = await send('GET', path, { headers: { cookie } });
  const token = /name="csrf-token" content="([^"]+)"/.exec(page.text)?.[1];
  if (!token) throw new Error(`no CSRF token on ${path}: ${page.status}`);
  return token;
}

/** A form POST of the logged-in manager, as their browser sends it (same origin, token, cookie). */
function postForm(path: string, fields: Record<string, string> = {}): Promise<Answer> {
  const body = new URLSearchParams({ _csrf: session.csrf, ...fields }).toString();
  return send('POST', path, {
    body,
    headers: { cookie: session.cookie, origin: `http://127.0.0.1:${port}` },
  });
}

function cookieOf(answer: Answer): string {
  const set = answer.headers['set-cookie'];
  const line = (Array.isArray(set) ? set : [set ?? '']).find((c) => c.startsWith('eg_session='));
  if (!line) throw new Error('no session cookie');
  return line.split(';')[0]!;
}

beforeAll(async () => {
  lab = await startWebLab();
  port = Number(new URL(lab.baseUrl).port);
});

afterAll(async () => {
  await lab?.stop();
});

describe('first-run setup needs the one-time setup code', () => {
  const origin = () => ({ origin: `http://127.0.0.1:${port}` });
  const setupBody = (code: string) =>
    new URLSearchParams({ code, password: PASSWORD, repeat: PASSWORD }).toString();

  it('keeps the code in the data folder, owner-only, in groups easy to type', async () => {
    const code = await lab.setupCode();
    expect(code).toMatch(/^[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}$/);
    expect((await stat(join(lab.gateway.dataDir, 'setup-code'))).mode & 0o777).toBe(0o600);
  });

  it('refuses a wrong or missing code and sets no password', async () => {
    const code = await lab.setupCode();
    const wrongCode = code.replace(/^./, (c) => (c === 'A' ? 'B' : 'A'));
    for (const given of [wrongCode, '']) {
      const answer = await send('POST', '/setup', { body: setupBody(given), headers: origin() });
      expect(answer.status, given).toBe(403);
      expect(answer.text).toContain('设置码错误');
      expect(answer.headers['set-cookie']).toBeUndefined();
    }
    await expect(stat(join(lab.gateway.dataDir, 'admin-password'))).rejects.toThrow(/ENOENT/);
    // A wrong code does not use the code up.
    expect(await lab.setupCode()).toBe(code);
  });

  it('sets the password with the right code (any case, without dashes), once', async () => {
    const code = await lab.setupCode();
    const typed = code.toLowerCase().replaceAll('-', '');
    const answer = await send('POST', '/setup', { body: setupBody(typed), headers: origin() });
    expect(answer.status).toBe(303);
    expect(answer.headers.location).toBe('/');
    const cookie = cookieOf(answer);
    session = { cookie, csrf: await csrfOf(cookie) };
    const stored = await readFile(join(lab.gateway.dataDir, 'admin-password'), 'utf8');
    // Used: gone from the data folder, and the same code sets nothing again.
    await expect(stat(join(lab.gateway.dataDir, 'setup-code'))).rejects.toThrow(/ENOENT/);
    const again = await send('POST', '/setup', {
      body: new URLSearchParams({
        code,
        password: 'another-password',
        repeat: 'another-password',
      }).toString(),
      headers: origin(),
    });
    expect(again.status).toBe(303);
    expect(again.headers.location).toBe('/login');
    expect(await readFile(join(lab.gateway.dataDir, 'admin-password'), 'utf8')).toBe(stored);
  });
});

describe('the Host check (DNS rebinding)', () => {
  it('refuses a foreign Host with 421 on the page, the API, /healthz and /metrics, saying what to do', async () => {
    for (const host of [`evil.example:${port}`, 'rebind.example', `127.0.0.1.evil.example:${port}`]) {
      for (const path of ['/login', '/setup', '/api/dashboard', '/healthz', '/metrics']) {
        const answer = await send('GET', path, {
          host,
          headers: { cookie: session.cookie, authorization: `Bearer ${METRICS_TOKEN}` },
        });
        expect(answer.status, `${host} ${path}`).toBe(421);
        expect(answer.text).toContain('http.allowedHosts');
        expect(answer.headers['x-frame-options']).toBe('DENY');
      }
    }
    // A change through a rebound name does nothing either.
    const posted = await send('POST', '/workers/lab-worker-9/remove', {
      host: `evil.example:${port}`,
      body: `_csrf=${session.csrf}`,
      headers: { cookie: session.cookie, origin: `http://evil.example:${port}` },
    });
    expect(posted.status).toBe(421);
    expect(lab.gateway.workers.get('lab-worker-9')?.status).toBe('active');
  });

  it("answers to loopback, the machine's name and addresses, and http.allowedHosts", async () => {
    const addresses = Object.values(networkInterfaces())
      .flatMap((list) => list ?? [])
      .filter((info) => !info.address.includes('%'))
      .map((info) => (info.family === 'IPv6' ? `[${info.address}]` : info.address));
    const hosts = [
      `127.0.0.1:${port}`,
      `localhost:${port}`,
      'LOCALHOST',
      `[::1]:${port}`,
      `${hostname()}:${port}`,
      `${CONFIGURED_HOST}:${port}`,
      `${CONFIGURED_HOST.toUpperCase()}.`,
      ...addresses.map((a) => `${a}:${port}`),
    ];
    for (const host of hosts) {
      const answer = await send('GET', '/healthz', { host });
      expect(answer.status, host).toBe(200);
    }
  });
});

describe('security headers', () => {
  it('are on a page, an asset, a redirect, the API, /healthz, /metrics, a 404 and a refusal', async () => {
    const bearer = { authorization: `Bearer ${METRICS_TOKEN}` };
    const answers = {
      page: await send('GET', '/workers', { headers: { cookie: session.cookie } }),
      asset: await send('GET', '/assets/app.js'),
      redirect: await send('GET', '/workers'),
      api: await send('GET', '/api/dashboard', { headers: { authorization: `Bearer ${API_TOKEN}` } }),
      healthz: await send('GET', '/healthz'),
      metrics: await send('GET', '/metrics', { headers: bearer }),
      metricsRefused: await send('GET', '/metrics'),
      notFound: await send('GET', '/no-such-page', { headers: { cookie: session.cookie } }),
    };
    expect(answers.page.status).toBe(200);
    expect(answers.redirect.status).toBe(303);
    expect(answers.metrics.status).toBe(200);
    expect(answers.metricsRefused.status).toBe(401);
    for (const [name, answer] of Object.entries(answers)) {
      const csp = String(answer.headers['content-security-policy']);
      expect(csp, name).toContain("script-src 'self'");
      expect(csp, name).toContain("frame-ancestors 'none'");
      expect(csp, name).not.toContain('unsafe-inline');
      expect(csp, name).not.toContain('unsafe-eval');
      expect(answer.headers['x-content-type-options'], name).toBe('nosniff');
      expect(answer.headers['x-frame-options'], name).toBe('DENY');
      expect(answer.headers['referrer-policy'], name).toBe('same-origin');
      expect(answer.headers['cross-origin-opener-policy'], name).toBe('same-origin');
      expect(answer.headers['permissions-policy'], name).toContain('microphone=()');
    }
    // Pages with workers' data are not cached; a hashed asset is, for good.
    expect(answers.page.headers['cache-control']).toBe('no-store');
    expect(answers.healthz.headers['cache-control']).toBe('no-store');
  });
});

describe('/healthz', () => {
  it('without a credential says only status, version and how many alerts: no terminals, no platforms', async () => {
    const anonymous: Array<Record<string, string>> = [
      {},
      { authorization: 'Bearer not-the-token-0123456789' },
      { cookie: 'eg_session=x' },
    ];
    for (const headers of anonymous) {
      const answer = await send('GET', '/healthz', { headers });
      expect(answer.status).toBe(200);
      const body = JSON.parse(answer.text) as Record<string, unknown>;
      expect(Object.keys(body).sort()).toEqual(['alertCount', 'status', 'version']);
      expect(['ok', 'degraded']).toContain(body.status);
      expect(Number.isInteger(body.alertCount)).toBe(true);
      expect(answer.text).not.toContain('lab-turnstile');
      expect(answer.text).not.toContain('LAB-GW-0001');
    }
  });

  it('with the metrics token, the API token or a logged-in session shows the whole report', async () => {
    const credentials: Array<Record<string, string>> = [
      { authorization: `Bearer ${METRICS_TOKEN}` },
      { authorization: `Bearer ${API_TOKEN}` },
      { cookie: session.cookie },
    ];
    for (const headers of credentials) {
      const answer = await send('GET', '/healthz', { headers });
      const body = JSON.parse(answer.text) as { terminals: Array<{ id: string }>; upstreams: unknown[] };
      expect(body.terminals.map((t) => t.id)).toEqual(['lab-turnstile']);
      expect(body.upstreams.length).toBeGreaterThan(0);
    }
  });
});

describe('redirects stay on this origin', () => {
  it('the language switch refuses backslash, control characters, schemes and other hosts', async () => {
    const hostile = [
      '/%5Cevil.example/x',
      '/%5C%5Cevil.example',
      '%5C%5Cevil.example',
      '//evil.example/x',
      '/%09/evil.example',
      '/%0D%0A/evil.example',
      'https://evil.example/',
      'javascript:alert(1)',
      '/%00',
    ];
    for (const back of hostile) {
      const answer = await send('GET', `/lang/en?back=${back}`);
      expect(answer.status, back).toBe(303);
      expect(answer.headers.location, back).toBe('/');
    }
    const kept = await send('GET', `/lang/zh?back=${encodeURIComponent('/workers?q=王&status=all')}`);
    // A Location header is ASCII: the name arrives percent-encoded, as the browser reads it.
    expect(kept.headers.location).toBe(`/workers?q=${encodeURIComponent('王')}&status=all`);
  });

  it('every redirect the gateway answers with goes through the one helper that checks it', () => {
    const offenders: string[] = [];
    const walk = (dir: string): void => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) walk(path);
        else if (/\.tsx?$/.test(entry.name) && !path.endsWith(join('http', 'redirect.ts'))) {
          const text = readFileSync(path, 'utf8');
          if (/\.redirect\(|Response\.redirect|['"]Location['"]/i.test(text))
            offenders.push(relative(REPO, path));
        }
      }
    };
    // The servers: the page and the gateway's own HTTP surface (the updater only follows redirects).
    walk(join(REPO, 'gateway', 'web'));
    walk(join(REPO, 'gateway', 'http'));
    expect(offenders).toEqual([]);
  });
});

describe('post/redirect/get: every form POST answers 303 to a page that shows its outcome once', () => {
  async function expectPrg(path: string, fields: Record<string, string>, target: string, shown: RegExp) {
    const answer = await postForm(path, fields);
    expect(answer.status, path).toBe(303);
    expect(answer.headers.location, path).toBe(target);
    const page = await send('GET', target, { headers: { cookie: session.cookie } });
    expect(page.status, target).toBe(200);
    expect(page.text, `${path} → ${target}`).toMatch(shown);
    // Read once: the same page again (a reload) shows the page, not the outcome.
    const reload = await send('GET', target, { headers: { cookie: session.cookie } });
    expect(reload.text, `${target} reloaded`).not.toMatch(shown);
  }

  it('terminal actions: test, sync clock, read now, reconcile now', async () => {
    for (const action of ['test', 'clock', 'read', 'reconcile']) {
      await expectPrg(`/terminals/lab-turnstile/${action}`, {}, '/terminals', /id="notice"/);
    }
  });

  it('terminal save (refused, the form keeps what was typed) and remove', async () => {
    const answer = await postForm('/terminals/save', {
      originalId: '',
      id: 'gate-prg',
      driver: 'zk',
      host: '127.0.0.1',
      port: '70000',
      direction: 'in',
    });
    expect(answer.status).toBe(303);
    expect(answer.headers.location).toBe('/terminals/new');
    const form = await send('GET', '/terminals/new', { headers: { cookie: session.cookie } });
    expect(form.text).toContain('terminals.1.port: must be 1–65535');
    expect(form.text).toContain('value="gate-prg"');
    await expectPrg('/terminals/no-such-terminal/remove', {}, '/terminals', new RegExp(text('zh', 'saved')));
  });

  it('upstream retry and secret', async () => {
    await expectPrg('/upstreams/sichuan/retry', {}, '/upstreams', new RegExp(text('zh', 'retryStarted')));
    await expectPrg(
      '/upstreams/sichuan/secret',
      { key: 'deviceKey', value: '' },
      '/upstreams',
      new RegExp(text('zh', 'unknownSecret')),
    );
  });

  it('worker remove, restore, link and an enrolment on an unknown terminal', async () => {
    const worker = lab.gateway.workers.get('lab-worker-6')!;
    const page = `/workers/${worker.id}`;
    expect((await postForm(`${page}/remove`)).headers.location).toBe(page);
    expect(lab.gateway.workers.get(worker.id)?.status).toBe('removed');
    expect((await postForm(`${page}/restore`)).headers.location).toBe(page);
    expect(lab.gateway.workers.get(worker.id)?.status).toBe('active');
    await expectPrg(`${page}/link`, { deliUserId: 'not valid!' }, page, /1–64/);
    await expectPrg(
      `${page}/enrol`,
      { kind: 'fp', terminalId: 'no-such-terminal' },
      page,
      new RegExp(text('zh', 'unknownTerminal')),
    );
  });

  it('registration (refused locally) and the password change', async () => {
    const typed = {
      name: '张三',
      idCardNo: '51010119900101123X',
      gender: 'male',
      nation: '汉',
      birthday: '1990-01-01',
      address: '四川省成都市',
      idIssuer: '成都市公安局',
      idPeriod: '20100101-20300101',
    };
    await expectPrg('/workers/new', typed, '/workers/new', /GB 11643/);
    await expectPrg(
      '/account/password',
      { current: 'not-the-password', password: 'new-password-1', repeat: 'new-password-1' },
      '/account',
      /current password is wrong|当前密码错误/i,
    );
  });

  it('logout', async () => {
    const answer = await postForm('/logout');
    expect(answer.status).toBe(303);
    expect(answer.headers.location).toBe('/login');
  });
});
