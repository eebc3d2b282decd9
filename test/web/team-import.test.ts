import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeliEmulator } from '../../cloud/deli/emulator';
import type { SyncEntry } from '../../cloud/deli/messages';
import { validateConfig } from '../../config/load';
import { Gateway } from '../../gateway/controller';
import { readSetupCode } from '../../gateway/http/setup-code';
import { waitFor } from '../support/lab-process';
import { testLogger } from '../support/logger';
import { tempDir } from '../support/tmp';
import { handMadeXlsx, inlineCell } from '../support/zip';

/**
 * Team (班组) and employer (劳务分包单位) over real HTTP against a gateway whose workers come from
 * the Deli emulator (MQTT): the worker page's form (post/redirect/get, CSRF, limits, escaping), the
 * list's filter, the import's upload → preview → apply, and what the roster makes of it all: a team
 * set on the page is data about a worker, never the page claiming them, so Deli's full sync still
 * removes a Deli-only worker who got a team.
 */

const DELI = { deviceId: 'kq01_GW-TEAM-1', appId: 'team-app', orgId: '1000002' };
const PASSWORD = 'site-manager-9';

let cleanup: () => Promise<void>;
let gateway: Gateway;
let deli: DeliEmulator;
let port: number;
let clock = Date.now();

const user = (userId: string, name: string): SyncEntry => ({
  userId,
  name,
  delete: false,
  fp: [],
  fa: [],
  updateTimeMs: ++clock,
});
const byDeli = (deliUserId: string) => gateway.workers.findByIdentity({ deliUserId })!;

interface Answer {
  readonly status: number;
  readonly location?: string;
  readonly setCookie: readonly string[];
  readonly text: string;
}

function send(
  method: string,
  path: string,
  options: { headers?: Record<string, string>; body?: Buffer | string } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers: options.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          location: res.headers.location,
          setCookie: res.headers['set-cookie'] ?? [],
          text: Buffer.concat(chunks).toString('utf8'),
        }),
      );
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/** A logged-in browser as the server sees it: its cookie and the CSRF token of its pages. */
interface Browser {
  readonly cookie: string;
  readonly csrf: string;
}

let manager: Browser;

async function logIn(): Promise<Browser> {
  const answer = await send('POST', '/login', {
    body: new URLSearchParams({ password: PASSWORD }).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: `http://127.0.0.1:${port}` },
  });
  return browserOf(answer);
}

async function browserOf(answer: Answer): Promise<Browser> {
  const cookie = answer.setCookie.find((c) => c.startsWith('eg_session='))?.split(';')[0];
  if (!cookie) throw new Error(`no session: ${answer.status} ${answer.text.slice(0, 200)}`);
  const page = await send('GET', '/', { headers: { cookie } });
  const csrf = /name="csrf-token" content="([^"]+)"/.exec(page.text)?.[1];
  if (!csrf) throw new Error('no CSRF token');
  return { cookie, csrf };
}

function get(path: string, as: Browser = manager): Promise<Answer> {
  return send('GET', path, { headers: { cookie: as.cookie } });
}

function postForm(path: string, fields: Record<string, string>, as: Browser = manager): Promise<Answer> {
  return send('POST', path, {
    body: new URLSearchParams({ _csrf: as.csrf, ...fields }).toString(),
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      cookie: as.cookie,
      origin: `http://127.0.0.1:${port}`,
    },
  });
}

/** A file upload as a browser's form sends it (multipart, the CSRF token among the fields). */
async function upload(
  file: { name: string; bytes: Uint8Array } | undefined,
  as: Browser = manager,
): Promise<Answer> {
  const form = new FormData();
  form.set('_csrf', as.csrf);
  if (file) form.set('file', new Blob([file.bytes]), file.name);
  const encoded = new Request('http://127.0.0.1/', { method: 'POST', body: form });
  return send('POST', '/workers/import', {
    body: Buffer.from(await encoded.arrayBuffer()),
    headers: {
      'content-type': encoded.headers.get('content-type')!,
      cookie: as.cookie,
      origin: `http://127.0.0.1:${port}`,
    },
  });
}

/** The page's text between tags, for asserting on what a person reads. */
function textOf(html: string, id: string): string | undefined {
  const m = new RegExp(`id="${id}"[^>]*>([\\s\\S]*?)</`).exec(html);
  return m?.[1];
}

/** Deli's full sync listing only `users`, awaited until the roster has applied it. */
async function deliFullSync(users: SyncEntry[], settled: () => boolean, what: string): Promise<void> {
  deli.setRoster(users, { reset: true });
  await deli.sendUserUpdate(++clock);
  await waitFor(async () => (settled() ? true : undefined), 15_000, what);
}

beforeAll(async () => {
  let dir: string;
  ({ dir, cleanup } = await tempDir('team-import-'));
  deli = new DeliEmulator({
    ...DELI,
    embedded: true,
    roster: [user('81001', '王五'), user('81002', '赵六'), user('81003', '孙七'), user('81004', '周八')],
    logger: testLogger(),
  });
  await deli.start();
  const config = validateConfig({
    site: { name: 'team-import' },
    dataDir: dir,
    http: { host: '127.0.0.1', port: 0 },
    outbox: { initialBackoffMs: 100, maxBackoffMs: 1000 },
    terminals: [],
    upstreams: { deli: { enabled: true, brokerUrl: deli.brokerUrl, ...DELI } },
  });
  if (!config.ok) throw new Error(config.problems.join('\n'));
  gateway = new Gateway(config.config, testLogger());
  await gateway.start();
  port = gateway.httpPort!;
  await deli.sendUserUpdate();
  await waitFor(
    async () => (gateway.workers.list().filter((w) => w.status === 'active').length === 4 ? true : undefined),
    20_000,
    'the four Deli workers in the roster',
  );
  const code = (await readSetupCode(gateway.dataDir)) ?? '';
  const setup = await send('POST', '/setup', {
    body: new URLSearchParams({ code, password: PASSWORD, repeat: PASSWORD }).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: `http://127.0.0.1:${port}` },
  });
  manager = await browserOf(setup);
});

afterAll(async () => {
  await gateway?.stop();
  await deli?.stop();
  await cleanup?.();
});

describe('the worker page’s team and employer form', () => {
  it('saves trimmed values with POST → 303 → the worker’s page, which says so once', async () => {
    const w = byDeli('81001');
    const answer = await postForm(`/workers/${w.id}/team`, {
      team: '  木工班 ',
      employer: '成都建工\u3000劳务有限公司',
    });
    expect(answer.status).toBe(303);
    expect(answer.location).toBe(`/workers/${w.id}`);
    expect(byDeli('81001')).toMatchObject({ team: '木工班', employer: '成都建工 劳务有限公司' });
    const page = await get(`/workers/${w.id}`);
    expect(textOf(page.text, 'worker-team')).toBe('木工班');
    expect(page.text).toContain('已保存班组与分包单位。');
    expect((await get(`/workers/${w.id}`)).text).not.toContain('已保存班组与分包单位。');
    // '' clears one field; the other stays.
    await postForm(`/workers/${w.id}/team`, { team: '木工班', employer: '' });
    expect(byDeli('81001').team).toBe('木工班');
    expect(byDeli('81001').employer).toBeUndefined();
  });

  it('keeps a Deli-only worker Deli-only: Deli’s full sync without them removes them', async () => {
    expect(byDeli('81001').sources).toEqual(['deli']);
    await deliFullSync(
      [user('81002', '赵六'), user('81003', '孙七'), user('81004', '周八')],
      () => byDeli('81001').status === 'removed',
      'the Deli-only worker with a team removed by the full sync',
    );
    expect(byDeli('81001').removal).toMatchObject({ source: 'deli', reason: 'deli' });
    expect(byDeli('81001').sources).toEqual(['deli']);
  });

  it('stores a team for a removed worker without bringing them back', async () => {
    const w = byDeli('81001');
    const answer = await postForm(`/workers/${w.id}/team`, { team: '钢筋班', employer: '' });
    expect(answer.status).toBe(303);
    expect(byDeli('81001')).toMatchObject({ team: '钢筋班', status: 'removed', sources: ['deli'] });
  });

  it('refuses a value too long or with control characters, says why, and keeps what was typed', async () => {
    const w = byDeli('81002');
    const long = '班'.repeat(41);
    expect((await postForm(`/workers/${w.id}/team`, { team: long, employer: '' })).status).toBe(303);
    const page = await get(`/workers/${w.id}`);
    expect(page.text).toContain('班组：最多 40 个字（现有 41 个）');
    expect(page.text).toContain(`value="${long}"`);
    expect(byDeli('81002').team).toBeUndefined();
    await postForm(`/workers/${w.id}/team`, { team: '木工\u0007班', employer: '' });
    expect((await get(`/workers/${w.id}`)).text).toContain('班组：含有不可见的控制字符');
    expect(byDeli('81002').team).toBeUndefined();
  });

  it('escapes a hostile value, refuses a post without the CSRF token, and 404s an unknown worker', async () => {
    const w = byDeli('81002');
    const hostile = '<img src=x onerror=alert(1)>';
    await postForm(`/workers/${w.id}/team`, { team: hostile, employer: '' });
    expect(byDeli('81002').team).toBe(hostile);
    for (const path of [`/workers/${w.id}`, '/workers']) {
      const html = (await get(path)).text;
      expect(html, path).toContain('&lt;img src=x onerror=alert(1)&gt;');
      expect(html, path).not.toContain('<img src=x');
    }
    const noToken = await send('POST', `/workers/${w.id}/team`, {
      body: new URLSearchParams({ team: '改了' }).toString(),
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        cookie: manager.cookie,
        origin: `http://127.0.0.1:${port}`,
      },
    });
    expect(noToken.status).toBe(403);
    expect(byDeli('81002').team).toBe(hostile);
    expect((await postForm('/workers/no-such-worker/team', { team: '木工班' })).status).toBe(404);
    await postForm(`/workers/${w.id}/team`, { team: '', employer: '' });
  });
});

describe('the worker list', () => {
  it('shows each worker’s team and filters by team and by employer', async () => {
    await postForm(`/workers/${byDeli('81003').id}/team`, { team: '钢筋班', employer: '甲劳务' });
    await postForm(`/workers/${byDeli('81004').id}/team`, { team: '木工班', employer: '甲劳务' });
    const names = (html: string) =>
      [...html.matchAll(/class="worker-name">([^<]+)</g)].map((m) => m[1]).sort();
    const all = await get('/workers?status=all');
    expect(all.text).toMatch(/孙七<\/a><\/td><td>\d+<\/td><td class="team">钢筋班<\/td>/);
    expect(names((await get(`/workers?status=all&team=${encodeURIComponent('钢筋班')}`)).text)).toEqual([
      '孙七',
      '王五',
    ]);
    expect(names((await get(`/workers?team=${encodeURIComponent('钢筋班')}`)).text)).toEqual(['孙七']);
    expect(names((await get(`/workers?employer=${encodeURIComponent('甲劳务')}`)).text)).toEqual([
      '周八',
      '孙七',
    ]);
    expect(
      names(
        (await get(`/workers?team=${encodeURIComponent('木工班')}&employer=${encodeURIComponent('甲劳务')}`))
          .text,
      ),
    ).toEqual(['周八']);
  });
});

/** GBK bytes, as a Chinese Excel saves a CSV (GB 2312 codes of each character). */
const GBK = {
  header: 'd0d5c3fb 2c b0e0d7e9 2c c0cdcef1b7d6b0fcb5a5cebb 0d0a', // 姓名,班组,劳务分包单位
  zhaoLiu: 'd5d4c1f9 2c b5e7b9a4b0e0 2c d2d2c0cdcef1 0d0a', // 赵六,电工班,乙劳务
  nobody: 'c3bbd3d0b4cbc8cb 2c b5e7b9a4b0e0 2c 0d0a', // 没有此人,电工班,
};

describe('the team import over HTTP', () => {
  it('previews a GBK CSV, applies the matched rows in one roster write, and applies it once only', async () => {
    const bytes = Buffer.from(Object.values(GBK).join('').replace(/\s+/g, ''), 'hex');
    const uploaded = await upload({ name: '班组.csv', bytes });
    expect(uploaded.status).toBe(303);
    const token = /^\/workers\/import\/([A-Za-z0-9_-]{24})$/.exec(uploaded.location ?? '')?.[1];
    expect(token, uploaded.location).toBeDefined();
    const preview = await get(`/workers/import/${token}`);
    expect(preview.status).toBe(200);
    expect(preview.text).toMatch(/<tr data-status="change" data-line="2">[\s\S]*?赵六[\s\S]*?电工班/);
    expect(preview.text).toMatch(/<tr data-status="none" data-line="3">/);
    expect(textOf(preview.text, 'import-summary')).toContain('共 2 行：1 行将更新，0 行无变化，1 行未找到');
    // Nothing applied by the preview.
    expect(byDeli('81002').team).toBeUndefined();

    const writes: string[][] = [];
    const off = gateway.bus.on('roster.changed', (ids) => writes.push([...ids]));
    const applied = await postForm(`/workers/import/${token}/apply`, {});
    expect(applied.status).toBe(303);
    expect(applied.location).toBe(`/workers/import/${token}/result`);
    expect(byDeli('81002')).toMatchObject({ team: '电工班', employer: '乙劳务', sources: ['deli'] });
    expect(writes).toEqual([[byDeli('81002').id]]);
    const result = await get(applied.location!);
    expect(textOf(result.text, 'import-result')).toBe('已更新 1 名人员。');

    // The same apply again (a double click, a re-sent form): the same result, nothing written.
    await postForm(`/workers/${byDeli('81002').id}/team`, { team: '改过的班组', employer: '乙劳务' });
    writes.length = 0;
    const again = await postForm(`/workers/import/${token}/apply`, {});
    expect(again.location).toBe(`/workers/import/${token}/result`);
    expect(writes).toEqual([]);
    expect(byDeli('81002').team).toBe('改过的班组');
    off();
  });

  it('shows a long file 200 rows a page, and only the rows asked for', async () => {
    const lines = ['姓名,班组', '孙七,电工班', ...Array.from({ length: 450 }, (_, i) => `无此人${i},木工班`)];
    const uploaded = await upload({ name: 'long.csv', bytes: Buffer.from(lines.join('\n'), 'utf8') });
    const path = uploaded.location!;
    const rowsOn = async (query: string) =>
      [...(await get(`${path}${query}`)).text.matchAll(/<tr data-status="(\w+)" data-line="(\d+)">/g)].map(
        (m) => `${m[1]}:${m[2]}`,
      );
    const first = await rowsOn('');
    expect(first).toHaveLength(200);
    expect(first[0]).toBe('change:2');
    expect(await rowsOn('?show=all&page=3')).toHaveLength(51);
    expect(await rowsOn('?show=change')).toEqual(['change:2']);
    const problems = await rowsOn('?show=problems&page=3');
    expect(problems).toHaveLength(50);
    expect(problems.at(-1)).toBe('none:452');
    // A page past the end shows the last one.
    expect(await rowsOn('?show=problems&page=99')).toEqual(problems);
    expect(textOf((await get(path)).text, 'import-summary')).toContain('共 451 行：1 行将更新');
  });

  it('keeps a preview to the session that uploaded it', async () => {
    const file = handMadeXlsx({
      sheetData: `<row r="1">${inlineCell('A1', '姓名')}${inlineCell('B1', '班组')}</row><row r="2">${inlineCell('A2', '周八')}${inlineCell('B2', '电工班')}</row>`,
    });
    const uploaded = await upload({ name: 'teams.xlsx', bytes: file });
    const path = uploaded.location!;
    expect((await get(path)).text).toMatch(/<tr data-status="change" data-line="2">/);
    const other = await logIn();
    const seen = await get(path, other);
    expect(seen.status).toBe(404);
    expect(seen.text).toContain('该预览已过期或已应用，请重新上传文件。');
    const applied = await postForm(`${path}/apply`, {}, other);
    expect(applied.location).toBe('/workers/import');
    expect((await get('/workers/import', other)).text).toContain('该预览已过期或已应用');
    expect(byDeli('81004').team).toBe('木工班');
    // The uploader still can.
    await postForm(`${path}/apply`, {});
    expect(byDeli('81004').team).toBe('电工班');
  });

  it('says what is wrong with a file, in the reader’s words, and applies nothing', async () => {
    const cases: Array<[string, { name: string; bytes: Uint8Array } | undefined, string]> = [
      ['no file', undefined, '请选择要上传的文件。'],
      [
        'too large',
        { name: 'big.csv', bytes: Buffer.alloc(6 * 1024 * 1024, 0x41) },
        '文件 6.0 MB，超过允许的 5 MB。',
      ],
      [
        'not a table',
        { name: 'photo.xlsx', bytes: Buffer.from('89504e470d0a1a0a0000', 'hex') },
        '这不是表格文件',
      ],
      [
        'a damaged workbook',
        { name: 'broken.xlsx', bytes: Buffer.concat([Buffer.from('504b0304', 'hex'), Buffer.alloc(64, 7)]) },
        '表格文件已损坏，或不是表格文件。',
      ],
      [
        'an old .xls',
        { name: 'old.xls', bytes: Buffer.from('d0cf11e0a1b11ae10000', 'hex') },
        '这是旧版 <code translate="no">.xls</code> 文件',
      ],
      ['no heading', { name: 'x.csv', bytes: Buffer.from('工号,部门\n1,木工\n', 'utf8') }, '找不到表头'],
    ];
    const before = JSON.stringify(gateway.workers.list());
    for (const [what, file, said] of cases) {
      const answer = await upload(file);
      expect(answer.status, what).toBe(303);
      expect(answer.location, what).toBe('/workers/import');
      const page = await get('/workers/import');
      expect(page.text, what).toContain(said);
    }
    expect(JSON.stringify(gateway.workers.list())).toBe(before);
    // The heading row that was found wanting is shown, as data.
    await upload({ name: 'x.csv', bytes: Buffer.from('工号,部门\n1,木工\n', 'utf8') });
    expect((await get('/workers/import')).text).toMatch(
      /<small class="raw" translate="no">工号 \| 部门<\/small>/,
    );
  });

  it('needs a login', async () => {
    const answer = await send('GET', '/workers/import');
    expect(answer.status).toBe(303);
    expect(answer.location).toBe('/login');
  });
});
