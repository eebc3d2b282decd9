/** The `fleet` section: every problem named by its field (exit 2), secrets from the environment, never logged. */

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateConfig } from '../../config/load';
import { createLogger } from '../../gateway/logger';
import { REPO, runCli } from '../support/cli';
import { tempDir } from '../support/tmp';

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('fleet-config-'));
});
afterAll(() => cleanup());

const site = { site: { name: 'Fleet site' } };

describe('fleet configuration', () => {
  it('names every wrong fleet field and exits 2 (check-config, real CLI)', async () => {
    const file = join(dir, 'bad.json');
    await writeFile(
      file,
      JSON.stringify({
        ...site,
        fleet: {
          enabled: true,
          brokerUrl: 'https://broker.example.com',
          topicPrefix: 'edge-gateway/#',
          commandKey: 'short',
          intervalSeconds: 0,
          certFile: join(REPO, 'package.json'),
          caFile: join(dir, 'no-such-ca.pem'),
        },
      }),
    );
    const result = await runCli(['check-config', file]);
    expect(result.code).toBe(2);
    const lines = result.stdout.trim().split('\n');
    expect(lines).toEqual(
      expect.arrayContaining([
        'fleet.brokerUrl: must be an mqtt:// or mqtts:// URL',
        expect.stringMatching(/^fleet\.topicPrefix: use topic levels without "\+", "#"/),
        'fleet.commandKey: use at least 16 characters',
        expect.stringMatching(/^fleet\.intervalSeconds: Too small/),
        expect.stringMatching(/^fleet\.caFile: cannot read .*no-such-ca\.pem: ENOENT/),
      ]),
    );
    // Cross-field checks run once every field has its type.
    const second = join(dir, 'half.json');
    await writeFile(
      second,
      JSON.stringify({ ...site, fleet: { enabled: true, certFile: join(REPO, 'package.json') } }),
    );
    const missing = await runCli(['check-config', second]);
    expect(missing.code).toBe(2);
    expect(missing.stdout.trim().split('\n').sort()).toEqual([
      'fleet.brokerUrl: required when enabled',
      'fleet.keyFile: required with certFile',
      'fleet.siteId: required when enabled',
    ]);
  });

  it('is off by default, and the example config passes with its fleet section', async () => {
    const parsed = validateConfig(site);
    expect(parsed.ok && parsed.config.fleet).toMatchObject({
      enabled: false,
      topicPrefix: 'edge-gateway/{siteId}',
      intervalSeconds: 300,
      keepaliveSeconds: 120,
      alertQueue: 500,
    });
    const example = await runCli(['check-config', join(REPO, 'config/example.json')]);
    expect(example.stdout.trim()).toBe('ok');
  });

  it('takes the command key and the broker password from the environment, and never logs them', () => {
    const parsed = validateConfig(
      {
        ...site,
        fleet: { enabled: true, brokerUrl: 'mqtt://b', siteId: 's1', commandKey: 'in-the-file-0123456' },
      },
      { EDGE_GATEWAY_FLEET_COMMAND_KEY: 'from-the-environment-0123', EDGE_GATEWAY_FLEET_PASSWORD: 'pw-env' },
    );
    if (!parsed.ok) throw new Error(parsed.problems.join('\n'));
    expect(parsed.config.fleet.commandKey).toBe('from-the-environment-0123');
    expect(parsed.config.fleet.password).toBe('pw-env');
    let logged = '';
    const sink = new Writable({
      write(chunk, _encoding, done) {
        logged += chunk.toString();
        done();
      },
    });
    createLogger('info', sink).info({ fleet: parsed.config.fleet }, 'config');
    expect(logged).toContain('"siteId":"s1"');
    expect(logged).not.toContain('from-the-environment-0123');
    expect(logged).not.toContain('pw-env');
  });
});
