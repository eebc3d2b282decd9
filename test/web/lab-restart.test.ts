import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli';
import { type LabProcess, startLab } from '../support/lab-process';
import { tempDir } from '../support/tmp';

/**
 * `edge-gateway lab` as a real process, twice on one data folder: the setup code in its log and
 * from `edge-gateway setup-code`, and a terminal added on the page still there after the restart.
 */

const PASSWORD = 'site-manager-9';

let dir: string;
let cleanup: () => Promise<void>;
let lab: LabProcess | undefined;

/** A form POST as the manager's browser sends it. */
async function post(baseUrl: string, path: string, fields: Record<string, string>, cookie = '') {
  return fetch(`${baseUrl}${path}`, {
    method: 'POST',
    redirect: 'manual',
    headers: { origin: baseUrl, cookie, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
  });
}

async function csrfOf(baseUrl: string, cookie: string): Promise<string> {
  const html = await (await fetch(`${baseUrl}/terminals`, { headers: { cookie } })).text();
  const token = /name="csrf-token" content="([^"]+)"/.exec(html)?.[1];
  if (!token) throw new Error('no CSRF token on /terminals');
  return token;
}

function sessionCookie(response: Response): string {
  const line = response.headers.getSetCookie().find((c) => c.startsWith('eg_session='));
  if (!line) throw new Error(`no session cookie (HTTP ${response.status})`);
  return line.split(';')[0]!;
}

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('lab-restart-'));
});

afterAll(async () => {
  if (lab && lab.child.exitCode === null) await lab.stop();
  await cleanup();
});

describe('lab mode across a restart', () => {
  it('logs the setup code, which `edge-gateway setup-code` prints from the data folder (0600)', async () => {
    lab = await startLab(dir, ['--punch-every', '5']);
    const logged = /setup code ([2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4})/.exec(
      lab.output(),
    )?.[1];
    expect(logged).toBeDefined();
    const shown = await runCli(['setup-code', '--data-dir', dir]);
    expect(shown.code).toBe(0);
    expect(shown.stdout.trim()).toBe(logged);
    expect((await stat(join(dir, 'setup-code'))).mode & 0o777).toBe(0o600);

    const setUp = await post(lab.baseUrl, '/setup', { code: logged!, password: PASSWORD, repeat: PASSWORD });
    expect(setUp.status).toBe(303);
    // Used once: nothing left to print, and the command says why.
    const after = await runCli(['setup-code', '--data-dir', dir]);
    expect(after.code).toBe(1);
    expect(after.stderr).toMatch(/already set/);
  });

  it('keeps a terminal added on the page after the lab restarts', async () => {
    const login = await post(lab!.baseUrl, '/login', { password: PASSWORD });
    const cookie = sessionCookie(login);
    const saved = await post(
      lab!.baseUrl,
      '/terminals/save',
      {
        _csrf: await csrfOf(lab!.baseUrl, cookie),
        originalId: '',
        id: 'gate-added',
        name: 'added on the page',
        driver: 'zk',
        host: '192.0.2.10',
        port: '4370',
        direction: 'in',
        // Unchecked: a disabled terminal, so the restarted lab does not try to reach it.
      },
      cookie,
    );
    expect(saved.status).toBe(303);
    expect(saved.headers.get('location')).toBe('/terminals');
    const configFile = join(dir, 'lab-config.json');
    const ids = async () =>
      (
        (JSON.parse(await readFile(configFile, 'utf8')) as { terminals: Array<{ id: string }> }).terminals ??
        []
      ).map((t) => t.id);
    expect(await ids()).toContain('gate-added');

    expect(await lab!.stop()).toBe(0);
    lab = await startLab(dir, ['--punch-every', '5']);
    expect(await ids()).toContain('gate-added');
    // The lab's own terminals are there once each, written afresh with their new ports.
    expect((await ids()).filter((id) => id === 'lab-zk-in')).toHaveLength(1);
    const again = sessionCookie(await post(lab.baseUrl, '/login', { password: PASSWORD }));
    const list = await (await fetch(`${lab.baseUrl}/terminals`, { headers: { cookie: again } })).text();
    expect(list).toContain('data-terminal="gate-added"');
    expect(list).toContain('192.0.2.10');
  });

  it('says what is wrong instead: no arguments, or a configuration that names the bad field (exit 2)', async () => {
    const bare = await runCli(['setup-code']);
    expect(bare.code).toBe(2);
    expect(bare.stderr).toMatch(/usage: edge-gateway setup-code/);
    const configFile = join(dir, 'bad-config.json');
    await writeFile(
      configFile,
      JSON.stringify({
        site: { name: 'x' },
        dataDir: dir,
        http: { allowedHosts: ['http://gateway.site.lan:8080'] },
      }),
    );
    const bad = await runCli(['setup-code', '--config', configFile]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('http.allowedHosts.0: must be a host name or an address');
    const checked = await runCli(['check-config', configFile]);
    expect(checked.code).toBe(2);
    expect(checked.stdout).toContain('http.allowedHosts.0:');
  });
});
