/**
 * Signed commands over a real mosquitto to two real gateway processes that share one command key:
 * a command reaches only its site and is answered; unsigned, wrong-key, expired, replayed and
 * other-site commands are refused, logged and counted; a nonce stays used across a restart.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CommandEnvelope, type CommandReply, signCommand } from '../../gateway/fleet/protocol';
import { tempDir } from '../support/tmp';
import {
  COMMAND_KEY,
  cliBundle,
  Mosquitto,
  Recorder,
  removeCliBundle,
  runCliBundle,
  SiteProcess,
  waitUntil,
  writeSiteConfig,
} from './support';

let cleanup: Array<() => Promise<unknown>> = [];
let dir: string;
let broker: Mosquitto;
let recorder: Recorder;
let office: MqttClient;
let siteA: SiteProcess;
let siteB: SiteProcess;
let configB: string;
let keyFile: string;

const now = () => Math.floor(Date.now() / 1000);
const replies = (site: string) =>
  recorder.on(`edge-gateway/${site}/cmd/reply`).map((m) => m.json as unknown as CommandReply);
const lastHealth = (site: string) => recorder.on(`edge-gateway/${site}/health`).at(-1)?.json;

async function send(...args: string[]) {
  return runCliBundle([
    'fleet',
    'send',
    ...args,
    '--key-file',
    keyFile,
    '--broker',
    broker.url,
    '--timeout',
    '15',
  ]);
}

/** Publishes a command as it stands and waits for the reply that names its nonce. */
async function publishRaw(site: string, payload: string, nonce: string): Promise<CommandReply> {
  const seen = replies(site).length;
  await office.publishAsync(`edge-gateway/${site}/cmd`, payload, { qos: 1 });
  return waitUntil(
    () =>
      replies(site)
        .slice(seen)
        .find((r) => r.nonce === nonce),
    10_000,
    `the reply to ${nonce}`,
  );
}

beforeAll(async () => {
  const tmp = await tempDir('fleet-cmd-');
  dir = tmp.dir;
  cleanup.push(tmp.cleanup);
  keyFile = `${dir}/command.key`;
  const { writeFile } = await import('node:fs/promises');
  await writeFile(keyFile, `${COMMAND_KEY}\n`);
  const file = await cliBundle();
  broker = new Mosquitto(dir);
  await broker.start();
  cleanup.push(() => broker.stop());
  recorder = await Recorder.connect(broker.url, 'edge-gateway/#');
  cleanup.push(() => recorder.end());
  office = await mqtt.connectAsync(broker.url, { protocolVersion: 4 });
  cleanup.push(() => office.endAsync());
  const fleet = { intervalSeconds: 2 };
  const configA = await writeSiteConfig({ dir, siteId: 'site-a', brokerUrl: broker.url, fleet });
  configB = await writeSiteConfig({ dir, siteId: 'site-b', brokerUrl: broker.url, fleet });
  siteA = new SiteProcess(file, configA, 'site-a');
  siteB = new SiteProcess(file, configB, 'site-b');
  cleanup.push(
    () => siteA.kill('SIGTERM'),
    () => siteB.kill('SIGTERM'),
  );
  await waitUntil(
    () =>
      ['site-a', 'site-b'].every((s) => recorder.on(`edge-gateway/${s}/status`).some((m) => m.json?.online)),
    60_000,
    'both sites online',
  );
}, 90_000);

afterAll(async () => {
  for (const step of cleanup.reverse()) await step().catch(() => undefined);
  cleanup = [];
  removeCliBundle();
});

describe('signed commands (real mosquitto, real gateway processes)', () => {
  it('fleet send reaches only its site and prints the answer; secrets stay redacted', async () => {
    const result = await send('site-a', 'config');
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const reply = JSON.parse(result.stdout) as CommandReply & {
      result: Record<string, Record<string, unknown>>;
    };
    expect(reply).toMatchObject({ v: 1, site: 'site-a', ok: true, action: 'config' });
    expect(reply.result.site!.name).toBe('工地 site-a');
    expect(reply.result.fleet!.commandKey).toBe('[redacted]');
    expect(reply.result.http!.metricsToken).toBe('[redacted]');
    expect(result.stdout).not.toContain(COMMAND_KEY);
    // site-b shares the key and sees every site's traffic on no topic of its own: it ran nothing.
    expect(replies('site-b')).toHaveLength(0);
    expect(siteB.output).not.toContain('fleet command');
    expect(siteA.output).toContain('"action":"config"');
  });

  it('runs the safe actions and answers a failure as a failure', async () => {
    const set = await send('site-a', 'set', 'heartbeatSeconds', '120');
    expect(set.code).toBe(0);
    expect(JSON.parse(set.stdout).result.settings.heartbeatSeconds).toBe(120);
    const unsafe = await send('site-a', 'set', 'brokerUrl', 'mqtt://elsewhere');
    expect(unsafe.code).toBe(1);
    expect(JSON.parse(unsafe.stdout).error).toMatch(/brokerUrl cannot be changed remotely/);
    const reconcile = await send('site-a', 'reconcile', 'no-such-gate');
    expect(reconcile.code).toBe(1);
    expect(JSON.parse(reconcile.stdout).error).toMatch(/no running terminal "no-such-gate"/);
    const retry = await send('site-a', 'retry', 'sichuan');
    expect(retry.code).toBe(1);
    expect(JSON.parse(retry.stdout).error).toMatch(/no enabled upstream "sichuan"/);
    const usage = await send('site-a', 'launch-missiles');
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/unknown action "launch-missiles"/);
  }, 60_000);

  it('refuses unsigned, wrong-key, expired, replayed and other-site commands, logs and counts them', async () => {
    // Accepted so far: config, set ×2, reconcile and retry (a failed action is still an accepted command).
    const accepted = 5;
    const body = { action: 'config' as const, args: {} };
    const unsigned: Partial<CommandEnvelope> = signCommand(COMMAND_KEY, 'site-a', body, now());
    delete unsigned.sig;
    const wrongKey = signCommand('not-the-key-of-this-fleet', 'site-a', body, now());
    const expired = signCommand(COMMAND_KEY, 'site-a', body, now() - 301);
    // The first test's command, captured off the wire and sent again as it was.
    const captured = recorder.on('edge-gateway/site-a/cmd')[0]!;
    const capturedNonce = String(captured.json!.nonce);
    // Signed for site-b with the key both share, then put on site-a's topic.
    const otherSite = signCommand(COMMAND_KEY, 'site-b', body, now());

    const cases: Array<[string, string, string]> = [
      [JSON.stringify(unsigned), unsigned.nonce!, 'unsigned'],
      [JSON.stringify(wrongKey), wrongKey.nonce, 'bad-signature'],
      [JSON.stringify(expired), expired.nonce, 'expired'],
      [captured.text, capturedNonce, 'replayed'],
      [JSON.stringify(otherSite), otherSite.nonce, 'other-site'],
    ];
    for (const [payload, nonce, reason] of cases) {
      const reply = await publishRaw('site-a', payload, nonce);
      expect(reply.ok, reason).toBe(false);
      expect(reply.error, reason).toMatch(new RegExp(`^refused \\(${reason}\\)`));
      expect(siteA.output, reason).toMatch(new RegExp(`"reason":"${reason}".*"msg":"fleet command refused"`));
    }
    // Not JSON at all: refused, nothing to answer by nonce, and the box keeps running.
    await office.publishAsync('edge-gateway/site-a/cmd', '{"v":1, oops', { qos: 1 });
    await siteA.waitFor(/"reason":"malformed".*"msg":"fleet command refused"/, 10_000);
    const counted = await waitUntil(
      () => {
        const fleet = lastHealth('site-a')?.fleet as { accepted: number; refused: number } | undefined;
        return fleet && fleet.refused >= 6 ? fleet : undefined;
      },
      10_000,
      'the refusals in the digest',
    );
    expect(counted).toEqual({ accepted, refused: 6, overflowed: 0 });
    // site-b heard none of it.
    expect(replies('site-b')).toHaveLength(0);
  }, 60_000);

  it('restarts on request (exit 75 for the service manager), and the used nonce stays used after it', async () => {
    const result = await send('site-b', 'restart');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({
      ok: true,
      action: 'restart',
      result: { restarting: true },
    });
    expect(await siteB.exited).toBe(75);
    await waitUntil(
      () => recorder.on('edge-gateway/site-b/status').at(-1)?.json?.reason === 'stopped',
      5000,
      'the stopped status',
    );
    // The service manager would start it again; so does the test, with the same data.
    siteB = new SiteProcess(await cliBundle(), configB, 'site-b');
    const before = recorder.on('edge-gateway/site-b/status').length;
    await waitUntil(
      () =>
        recorder
          .on('edge-gateway/site-b/status')
          .slice(before)
          .some((m) => m.json?.online === true),
      60_000,
      'site-b online again',
    );
    const restart = recorder.on('edge-gateway/site-b/cmd').at(-1)!;
    const reply = await publishRaw('site-b', restart.text, String(restart.json!.nonce));
    expect(reply.error).toMatch(/^refused \(replayed\)/);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(siteB.child.exitCode).toBeNull();
  }, 90_000);
});
