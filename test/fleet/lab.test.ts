/** `lab --fleet` (real CLI processes): a local broker and three lab sites that `fleet watch` shows and `fleet send` reaches. */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli';
import { type LabProcess, startLab, waitFor } from '../support/lab-process';
import { tempDir } from '../support/tmp';
import type { WatchDocument } from './support';

let dir: string;
let cleanup: () => Promise<void>;
let lab: LabProcess;
let broker: string;

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('fleet-lab-'));
  lab = await startLab(dir, ['--fleet', '--fleet-port', '0']);
  broker = await waitFor(
    async () => /"broker":"(mqtt:\/\/[^"]+)".*"msg":"lab fleet: broker and sites up"/.exec(lab.output())?.[1],
    60_000,
    'the lab fleet',
  );
}, 90_000);

afterAll(async () => {
  if (lab.child.exitCode === null) await lab.stop();
  await cleanup();
});

describe('lab --fleet', () => {
  it('shows the three lab sites on fleet watch, each with its terminals', async () => {
    const doc = await waitFor(
      async () => {
        const watch = await runCli([
          'fleet',
          'watch',
          '--broker',
          broker,
          '--once',
          '--json',
          '--wait',
          '1500',
        ]);
        const parsed = JSON.parse(watch.stdout) as WatchDocument;
        const online = parsed.sites.filter((s) => s.online === true && s.terminals !== undefined);
        return online.length === 3 && online.every((s) => s.terminals!.online > 0) ? parsed : undefined;
      },
      60_000,
      'three lab sites online with their terminals',
    );
    expect(doc.sites.map((s) => s.site).sort()).toEqual(['lab-site-1', 'lab-site-2', 'lab-site-3']);
    expect(doc.sites.find((s) => s.site === 'lab-site-1')?.backlog).toHaveProperty('sichuan');
    // The table a person reads: a header, then one line per site.
    const table = await runCli(['fleet', 'watch', '--broker', broker, '--once', '--wait', '1500']);
    const lines = table.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/— 3 sites, 0 offline/);
    expect(lines[2]).toMatch(/^SITE\s+STATE\s+NAME\s+VERSION\s+TERMINALS\s+BACKLOG\s+ALERTS\s+SEEN$/);
    expect(
      lines
        .slice(3)
        .map((l) => l.split(/\s+/)[0])
        .sort(),
    ).toEqual(['lab-site-1', 'lab-site-2', 'lab-site-3']);
    expect(table.stdout).toMatch(/lab-site-1\s+\S+\s+.*\d\/4\s+sichuan \d+ · deli \d+/);
  }, 90_000);

  it('answers a signed command sent with the key file the lab wrote', async () => {
    const result = await runCli([
      'fleet',
      'send',
      'lab-site-2',
      'reconcile',
      '--key-file',
      join(dir, 'fleet-command.key'),
      '--broker',
      broker,
    ]);
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toMatchObject({
      ok: true,
      site: 'lab-site-2',
      result: { terminals: ['lab-site-2-turnstile'] },
    });
    expect(result.code).toBe(0);
  }, 60_000);
});
