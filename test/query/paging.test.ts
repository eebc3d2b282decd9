/**
 * The punch list over more punches than it counts (issue 17): a filter matching more than
 * `COUNT_LIMIT` punches says "10,000+" instead of counting millions of rows, pages go by keyset
 * (Older / Newer links naming the last or first row shown) at any depth, and a page number past
 * `MAX_OFFSET` or a broken cursor is refused with a clear 400. A real gateway on a journal of
 * 24,000 punches, read over HTTP as the page and the API are.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateConfig } from '../../config/load';
import { Gateway } from '../../gateway/controller';
import { hashPassword } from '../../gateway/http/password';
import type { Punch } from '../../gateway/model';
import { COUNT_LIMIT, MAX_OFFSET } from '../../gateway/query/punch-query';
import { testLogger } from '../support/logger';
import { loginCookie } from '../support/login';
import { tempDir } from '../support/tmp';
import { API_TOKEN, fillJournal, journalPunches } from './support';

const PUNCHES = 24_000;
const PASSWORD = 'paging-test-password';

let tmp: { dir: string; cleanup: () => Promise<void> };
let gateway: Gateway;
let base: string;
let cookie: string;
/** The journal's punches in the list's order: newest first by punch time, then by seq. */
let newestFirst: Punch[];

beforeAll(async () => {
  tmp = await tempDir('edge-gw-paging-');
  const dataDir = join(tmp.dir, 'data');
  await fillJournal(dataDir, PUNCHES);
  newestFirst = (await journalPunches(dataDir)).sort((a, b) => b.atMs - a.atMs || b.seq - a.seq);
  const result = validateConfig({
    site: { name: 'paging', timezone: 'Asia/Shanghai' },
    dataDir,
    http: {
      host: '127.0.0.1',
      port: 0,
      apiToken: API_TOKEN,
      adminPasswordHash: await hashPassword(PASSWORD),
    },
  });
  if (!result.ok) throw new Error(result.problems.join('\n'));
  gateway = new Gateway(result.config, testLogger('gateway'), { httpPort: 0 });
  await gateway.start();
  base = `http://127.0.0.1:${gateway.httpPort}`;
  while (!(await api<{ indexReady: boolean }>('/api/dashboard')).body.indexReady) {
    await new Promise((r) => setTimeout(r, 50));
  }
  cookie = await loginCookie(base, PASSWORD);
}, 120_000);

afterAll(async () => {
  await gateway?.stop();
  await tmp?.cleanup();
});

interface ApiPage {
  total: number;
  totalCapped: boolean;
  older?: string;
  newer?: string;
  punches: Array<{ seq: number; direction: string }>;
  error?: string;
}

async function api<T = ApiPage>(path: string): Promise<{ status: number; body: T }> {
  const response = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${API_TOKEN}` } });
  return { status: response.status, body: (await response.json()) as T };
}

/** The punch list as the browser gets it: the rows' seqs, the total line and the pager's links. */
async function listPage(path: string) {
  const response = await fetch(`${base}${path}`, { headers: { cookie } });
  const html = await response.text();
  const link = (id: string) => {
    const href = new RegExp(`href="([^"]*)" id="${id}"`).exec(html)?.[1];
    return href?.replaceAll('&amp;', '&');
  };
  const total = /<p[^>]*id="punch-total"[^>]*>([^<]*)<\/p>/.exec(html);
  return {
    status: response.status,
    html,
    seqs: [...html.matchAll(/data-seq="(\d+)"/g)].map((m) => Number(m[1])),
    totalText: total?.[1] ?? '',
    capped: /data-capped="true"/.test(html),
    older: link('older-page'),
    newer: link('newer-page'),
  };
}

const seqsOf = (punches: readonly Punch[]) => punches.map((p) => p.seq);

describe('the punch list past COUNT_LIMIT', () => {
  it('says "10,000+" for a filter matching more punches, and counts exactly below it', async () => {
    const outs = newestFirst.filter((p) => p.direction === 'out');
    expect(outs.length).toBeGreaterThan(COUNT_LIMIT);
    const page = await listPage('/punches?direction=out');
    expect(page.status).toBe(200);
    expect(page.capped).toBe(true);
    expect(page.totalText).toBe('共 10,000+ 条');
    expect(page.seqs).toEqual(seqsOf(outs.slice(0, 50)));
    const json = await api('/api/punches?direction=out');
    expect([json.body.total, json.body.totalCapped]).toEqual([COUNT_LIMIT, true]);

    // Under the limit the count is exact: one terminal, and the unfiltered total the store keeps.
    const own = newestFirst.filter((p) => p.terminalId === 'gate-3');
    expect(own.length).toBeLessThan(COUNT_LIMIT);
    const terminal = await api('/api/punches?terminal=gate-3&pageSize=5');
    expect([terminal.body.total, terminal.body.totalCapped]).toEqual([own.length, false]);
    const all = await api('/api/punches?pageSize=1');
    expect([all.body.total, all.body.totalCapped]).toEqual([PUNCHES, false]);
    // A delivery state alone is a seq range: exact on both sides however long (no platform here: cursor 0).
    const pending = await api('/api/punches?delivery=sichuan:pending&pageSize=1');
    expect([pending.body.total, pending.body.totalCapped]).toEqual([PUNCHES, false]);
    const delivered = await api('/api/punches?delivery=sichuan:delivered&pageSize=1');
    expect([delivered.body.total, delivered.body.totalCapped]).toEqual([0, false]);
  });

  it('walks Older links to the end and Newer links back, page for page as the journal orders it', async () => {
    const outs = newestFirst.filter((p) => p.direction === 'out');
    const pages: Array<Awaited<ReturnType<typeof listPage>>> = [await listPage('/punches?direction=out')];
    expect(pages[0]!.newer).toBeUndefined();
    for (let i = 1; i <= 4; i++) {
      const older = pages[i - 1]!.older;
      expect(older).toMatch(/^\/punches\?direction=out&before=\d+-\d+$/);
      pages.push(await listPage(older!));
      expect(pages[i]!.seqs).toEqual(seqsOf(outs.slice(i * 50, (i + 1) * 50)));
      expect(pages[i]!.capped).toBe(true);
    }
    // Back from the fifth page: each Newer link gives the page before it, the last one the first page.
    let back = pages[4]!;
    for (let i = 3; i >= 0; i--) {
      expect(back.newer).toMatch(/^\/punches\?direction=out&after=\d+-\d+$/);
      back = await listPage(back.newer!);
      expect(back.seqs).toEqual(pages[i]!.seqs);
    }
    expect(back.newer).toBeUndefined();

    // Through the API, every punch once, in order, well past where counting stops.
    const walked: number[] = [];
    let next: string | undefined = '';
    while (next !== undefined) {
      const { body }: { body: ApiPage } = await api(
        `/api/punches?pageSize=1000${next ? `&before=${next}` : ''}`,
      );
      walked.push(...body.punches.map((p) => p.seq));
      next = body.older;
    }
    expect(walked).toEqual(seqsOf(newestFirst));
  });

  it('refuses a page number past MAX_OFFSET and a broken cursor with a clear 400', async () => {
    const deep = Math.floor(MAX_OFFSET / 50) + 2;
    const json = await api(`/api/punches?page=${deep}`);
    expect(json.status).toBe(400);
    expect(json.body.error).toBe(
      `Page ${deep} is past the first ${MAX_OFFSET} punches; use the Older links (or narrow the filter).`,
    );
    expect((await api('/api/punches?after=12-x')).status).toBe(400);
    const page = await listPage('/punches?before=yesterday');
    expect(page.status).toBe(400);
    expect(page.html).toContain('翻页位置“before=yesterday”无效');
    expect(page.seqs).toEqual([]);
    // The deepest numbered page still answers.
    const last = await api(`/api/punches?page=${MAX_OFFSET / 50 + 1}`);
    expect(last.status).toBe(200);
    expect(last.body.punches.map((p) => p.seq)).toEqual(
      seqsOf(newestFirst.slice(MAX_OFFSET, MAX_OFFSET + 50)),
    );
  });
});
