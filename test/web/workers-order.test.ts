/**
 * The workers page lists the roster by name in the zh-CN collation, then PIN (the roster sorted once
 * per revision, gateway/web/worker-routes.tsx): a rename, a new worker and a search each show in
 * the order at once. A real gateway, read over HTTP as the browser reads it.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateConfig } from '../../config/load';
import { Gateway } from '../../gateway/controller';
import { hashPassword } from '../../gateway/http/password';
import { testLogger } from '../support/logger';
import { loginCookie } from '../support/login';
import { tempDir } from '../support/tmp';

const PASSWORD = 'workers-order-password';
const collator = new Intl.Collator('zh-CN');

let tmp: { dir: string; cleanup: () => Promise<void> };
let gateway: Gateway;
let base: string;
let cookie: string;

beforeAll(async () => {
  tmp = await tempDir('edge-gw-workers-order-');
  const result = validateConfig({
    site: { name: 'order', timezone: 'Asia/Shanghai' },
    dataDir: join(tmp.dir, 'data'),
    http: { host: '127.0.0.1', port: 0, adminPasswordHash: await hashPassword(PASSWORD) },
  });
  if (!result.ok) throw new Error(result.problems.join('\n'));
  gateway = new Gateway(result.config, testLogger('gateway'), { httpPort: 0 });
  await gateway.start();
  base = `http://127.0.0.1:${gateway.httpPort}`;
  cookie = await loginCookie(base, PASSWORD);
  await gateway.workers.apply(
    ['王五', '张三', '李四', '阿明', '赵六', '张三'].map((name, i) => ({
      source: 'local' as const,
      op: 'upsert' as const,
      identity: { gatewayId: `w${i}` },
      name,
    })),
  );
}, 60_000);

afterAll(async () => {
  await gateway?.stop();
  await tmp?.cleanup();
});

/** The workers' ids in the order the page lists them. */
async function listed(query = ''): Promise<string[]> {
  const response = await fetch(`${base}/workers${query}`, { headers: { cookie } });
  expect(response.status).toBe(200);
  const html = await response.text();
  return [...html.matchAll(/href="\/workers\/(w\d+)" class="worker-name"/g)].map((m) => m[1]!);
}

/** The roster's workers by name (zh-CN), then PIN. */
function expected(): string[] {
  return [...gateway.workers.list()]
    .sort((a, b) => collator.compare(a.name, b.name) || a.pin.localeCompare(b.pin))
    .map((w) => w.id);
}

describe('the workers page’s order', () => {
  it('is the roster by name, and follows a rename and a new worker at once', async () => {
    const first = await listed();
    expect(first).toEqual(expected());
    // 阿明 (ā) before 李四 (lǐ) before 王五 before 张三 before 赵六 in pinyin order; the two 张三 by PIN.
    expect(first).toEqual(['w3', 'w2', 'w0', 'w1', 'w5', 'w4']);

    await gateway.workers.apply([
      { source: 'local', op: 'upsert', identity: { gatewayId: 'w4' }, name: '艾伦' },
    ]);
    const renamed = await listed();
    // 艾伦 (ài) right after 阿明 (ā), from the end of the list.
    expect(renamed.indexOf('w4')).toBe(1);
    expect(renamed).toEqual(expected());

    await gateway.workers.apply([
      { source: 'local', op: 'upsert', identity: { gatewayId: 'w9' }, name: '白雪' },
    ]);
    const grown = await listed();
    expect(grown).toHaveLength(7);
    expect(grown).toEqual(expected());
  });

  it('sorts a search’s workers the same way', async () => {
    expect(await listed(`?q=${encodeURIComponent('张')}`)).toEqual(['w1', 'w5']);
  });
});
