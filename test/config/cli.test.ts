import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO, runCli } from '../support/cli';
import { tempDir } from '../support/tmp';

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ dir, cleanup } = await tempDir());
});
afterAll(() => cleanup());

async function configFile(name: string, content: unknown): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

const minimal = { site: { name: 'Test site' } };

describe('check-config (real CLI)', () => {
  it('accepts the shipped example and prints ok', async () => {
    const result = await runCli(['check-config', join(REPO, 'config/example.json')]);
    expect(result.stdout.trim()).toBe('ok');
    expect(result.code).toBe(0);
  });

  it('takes the file as `start` does, after --config, and says how to call it', async () => {
    const ok = await runCli(['check-config', '--config', join(REPO, 'config/example.json')]);
    expect([ok.code, ok.stdout.trim()]).toEqual([0, 'ok']);
    const bad = await runCli([
      'check-config',
      '--config',
      await configFile('typo.json', { site: { name: 42 } }),
    ]);
    expect(bad.code).toBe(2);
    expect(bad.stdout).toContain('site.name');
    const help = await runCli(['check-config', '--help']);
    expect([help.code, help.stdout]).toEqual([
      0,
      expect.stringContaining('usage: edge-gateway check-config'),
    ]);
    const nothing = await runCli(['check-config', '--config']);
    expect([nothing.code, nothing.stderr]).toEqual([2, expect.stringContaining('usage:')]);
  });

  it('accepts a config with both upstreams disabled', async () => {
    const file = await configFile('both-off.json', {
      ...minimal,
      upstreams: { sichuan: { enabled: false }, deli: { enabled: false } },
    });
    const result = await runCli(['check-config', file]);
    expect(result.stdout.trim()).toBe('ok');
    expect(result.code).toBe(0);
  });

  it('reports every problem with its field path and exits 2', async () => {
    const file = await configFile('bad.json', {
      site: { timezone: 'Mars/Olympus' },
      http: { port: 'eighty' },
      terminals: [
        { id: 'gate-1', driver: 'zk', direction: 'in', host: '10.0.0.5' },
        { id: 'gate-1', driver: 'zk', direction: 'in', host: '10.0.0.6' },
        { id: 'gate-2', driver: 'zk', direction: 'sideways', host: '10.0.0.7', port: 70000 },
      ],
      upstreams: { sichuan: { enabled: true, baseUrl: 'https://platform.example/api', sn: 'SN1' } },
    });
    const result = await runCli(['check-config', file]);
    expect(result.code).toBe(2);
    const lines = result.stdout.trim().split('\n');
    expect(lines).toContain('site.name: required');
    expect(lines).toContain('site.timezone: not an IANA time zone (e.g. Asia/Shanghai)');
    expect(lines.some((l) => l.startsWith('http.port: '))).toBe(true);
    expect(lines.some((l) => l.startsWith('terminals.2.direction: '))).toBe(true);
    expect(lines).toContain('terminals.2.port: must be 1–65535');
    expect(lines).toContain('upstreams.sichuan.deviceKey: required when enabled');
    expect(lines).toContain('upstreams.sichuan.sm4Key: required when enabled');
  });

  it("names every key an enabled upstream lacks at its path, beside the file's other problems", async () => {
    const file = await configFile('enabled-lacks.json', {
      ...minimal,
      terminals: [
        { id: 'gate-1', driver: 'zk', direction: 'in', host: '10.0.0.5' },
        { id: 'gate-1', driver: 'zk', direction: 'in', host: '10.0.0.6' },
      ],
      upstreams: {
        sichuan: { enabled: true, baseUrl: 'https://platform.example/api', sn: '' },
        deli: { enabled: true, brokerUrl: 'mqtt://127.0.0.1:1', deviceId: 'kq01_SN1', appId: 'a' },
      },
    });
    const result = await runCli(['check-config', file]);
    expect(result.code).toBe(2);
    expect(result.stdout.trim().split('\n')).toEqual([
      'upstreams.sichuan.sn: Too small: expected string to have >=1 characters',
      'upstreams.sichuan.sn: required when enabled',
      'upstreams.sichuan.deviceKey: required when enabled',
      'upstreams.sichuan.sm4Key: required when enabled',
      'upstreams.deli.orgId: required when enabled',
      'terminals.1.id: duplicate terminal id "gate-1" (also terminals.0)',
    ]);
    const notBoolean = await runCli([
      'check-config',
      await configFile('enabled-type.json', { ...minimal, upstreams: { sichuan: { enabled: 'yes' } } }),
    ]);
    expect(notBoolean.code).toBe(2);
    expect(notBoolean.stdout.trim()).toBe(
      'upstreams.sichuan.enabled: Invalid input: expected boolean, received string',
    );
  });

  it('names the duplicate terminal id', async () => {
    const file = await configFile('dup.json', {
      ...minimal,
      terminals: [
        { id: 'gate-1', driver: 'zk', direction: 'in', host: '10.0.0.5' },
        { id: 'gate-1', driver: 'modbus', direction: 'out', transport: 'tcp', host: '10.0.0.6' },
      ],
    });
    const result = await runCli(['check-config', file]);
    expect(result.code).toBe(2);
    expect(result.stdout).toContain('terminals.1.id: duplicate terminal id "gate-1" (also terminals.0)');
  });

  it('reports a missing field, a wrong type and a file that is not JSON', async () => {
    const missing = await runCli(['check-config', await configFile('missing.json', { dataDir: './x' })]);
    expect(missing.code).toBe(2);
    expect(missing.stdout).toContain('site: required');
    const wrongType = await runCli(['check-config', await configFile('type.json', { site: { name: 42 } })]);
    expect(wrongType.code).toBe(2);
    expect(wrongType.stdout).toMatch(/^site\.name: .*expected string/m);
    const notJson = await runCli(['check-config', await configFile('broken.json', '{"site": ')]);
    expect(notJson.code).toBe(2);
    expect(notJson.stdout).toMatch(/^\(file\): not valid JSON/);
    const absent = await runCli(['check-config', join(dir, 'nope.json')]);
    expect(absent.code).toBe(2);
    expect(absent.stdout).toContain('ENOENT');
  });

  it('takes secrets from the environment instead of the file', async () => {
    const file = await configFile('env.json', {
      ...minimal,
      upstreams: { sichuan: { enabled: true, baseUrl: 'https://platform.example/api', sn: 'SN1' } },
    });
    const without = await runCli(['check-config', file]);
    expect(without.code).toBe(2);
    const withEnv = await runCli(['check-config', file], {
      env: {
        EDGE_GATEWAY_SICHUAN_DEVICE_KEY: 'k3y',
        EDGE_GATEWAY_SICHUAN_SM4_KEY: '0123456789abcdeffedcba9876543210',
      },
    });
    expect(withEnv.stdout.trim()).toBe('ok');
    expect(withEnv.code).toBe(0);
  });

  it('start refuses a bad file with the same messages and exit 2', async () => {
    const file = await configFile('start-bad.json', { site: { name: 'x', timezone: 'Nowhere/City' } });
    const result = await runCli(['start', '--config', file]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('site.timezone: not an IANA time zone');
  });

  it('prints the version', async () => {
    const result = await runCli(['version']);
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });
});

/** Sichuan enabled with every required key; `overrides` replace or add keys. */
function sichuanOn(overrides: Record<string, unknown> = {}) {
  return {
    ...minimal,
    upstreams: {
      sichuan: {
        enabled: true,
        baseUrl: 'https://platform.example/api',
        sn: 'SN1',
        deviceKey: 'k3y',
        sm4Key: '0123456789abcdeffedcba9876543210',
        ...overrides,
      },
    },
  };
}

describe('values a part checks when it starts are checked by the schema (real CLI)', () => {
  it('a bad sm4Iv: check-config and start both exit 2 naming upstreams.sichuan.sm4Iv', async () => {
    const file = await configFile('bad-iv.json', sichuanOn({ sm4Iv: '0011223344' }));
    const checked = await runCli(['check-config', file]);
    expect(checked.code).toBe(2);
    expect(checked.stdout).toMatch(
      /^upstreams\.sichuan\.sm4Iv: must be 32 hex characters or 16 UTF-8 bytes/m,
    );
    const started = await runCli(['start', '--config', file]);
    expect(started.code).toBe(2);
    expect(started.stderr).toMatch(
      /^upstreams\.sichuan\.sm4Iv: must be 32 hex characters or 16 UTF-8 bytes/m,
    );
  });

  it('32 characters that are not hex are refused for the key and the IV, also from the environment', async () => {
    const notHex = 'zz23456789abcdeffedcba9876543210';
    const inFile = await runCli([
      'check-config',
      await configFile('nonhex.json', sichuanOn({ sm4Key: notHex })),
    ]);
    expect(inFile.code).toBe(2);
    expect(inFile.stdout).toMatch(/^upstreams\.sichuan\.sm4Key: must be 32 hex characters/m);
    const fromEnv = await runCli(['check-config', await configFile('env-iv.json', sichuanOn())], {
      env: { EDGE_GATEWAY_SICHUAN_SM4_IV: notHex },
    });
    expect(fromEnv.code).toBe(2);
    expect(fromEnv.stdout).toMatch(/^upstreams\.sichuan\.sm4Iv: must be 32 hex characters/m);
  });

  it('accepts both forms of key and IV: 32 hex characters, or 16 UTF-8 bytes (Chinese text included)', async () => {
    const file = await configFile(
      'utf8-iv.json',
      // 四川省建筑 is 5 × 3 bytes, plus one: 16 bytes in 6 characters.
      sichuanOn({ sm4Key: 'abcdefghijklmnop', sm4Iv: '四川省建筑1' }),
    );
    const result = await runCli(['check-config', file]);
    expect(result.stdout.trim()).toBe('ok');
    expect(result.code).toBe(0);
  });

  it('names a malformed admin password hash, a Deli device id that would widen its topics, an unreadable CA file and a platform URL that is not http(s)', async () => {
    const file = await configFile('start-checks.json', {
      ...minimal,
      http: { adminPasswordHash: 'scrypt$1000$8$1$c2FsdA$aGFzaA' },
      upstreams: {
        sichuan: { baseUrl: 'ftp://platform.example/api' },
        deli: {
          enabled: true,
          brokerUrl: 'mqtt://127.0.0.1:1',
          deviceId: 'kq01/+',
          appId: 'a',
          orgId: 'o',
          caFile: join(dir, 'missing-ca.pem'),
        },
      },
    });
    const checked = await runCli(['check-config', file]);
    expect(checked.code).toBe(2);
    const lines = checked.stdout.trim().split('\n');
    expect(lines).toContain(
      'http.adminPasswordHash: must be scrypt$N$r$p$salt$hash (N a power of two, a hash of at least 16 bytes)',
    );
    expect(lines).toContain(
      'upstreams.deli.deviceId: must not contain "+", "#" or "/" (it is part of the MQTT topics)',
    );
    expect(lines).toContain(`upstreams.deli.caFile: cannot read ${join(dir, 'missing-ca.pem')}: ENOENT`);
    expect(lines).toContain('upstreams.sichuan.baseUrl: must be an http(s) URL');
    const started = await runCli(['start', '--config', file]);
    expect(started.code).toBe(2);
    expect(started.stderr).toContain('upstreams.deli.deviceId: must not contain');
  });
});
