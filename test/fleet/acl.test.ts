/**
 * The broker's ACLs as the second wall: mosquitto runs with the ACL file printed in docs/fleet.md
 * (read from the page, so the two cannot drift) and a password file. A site's credentials cannot
 * publish to or read another site's topics; the office can watch and command.
 */
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signCommand } from '../../gateway/fleet/protocol';
import { REPO } from '../support/cli';
import { tempDir } from '../support/tmp';
import {
  COMMAND_KEY,
  cliBundle,
  Mosquitto,
  Recorder,
  removeCliBundle,
  runCliBundle,
  SiteProcess,
  type WatchDocument,
  waitUntil,
  writeSiteConfig,
} from './support';

const PASSWORDS = { 'site-a': 'pw-site-a', 'site-b': 'pw-site-b', office: 'pw-office' };

/** The fenced block between the fleet-acl markers of docs/fleet.md. */
function aclFromDocs(): string {
  const page = readFileSync(join(REPO, 'docs/fleet.md'), 'utf8');
  const block = /<!-- fleet-acl:begin -->\s*```[a-z]*\n([\s\S]*?)```\s*<!-- fleet-acl:end -->/.exec(page);
  if (!block) throw new Error('docs/fleet.md has no fleet-acl block');
  return block[1]!;
}

let cleanup: Array<() => Promise<unknown>> = [];
let dir: string;
let broker: Mosquitto;
let office: Recorder;
let site: SiteProcess;

/** An MQTT 5 client (its PUBACK and SUBACK carry the broker's reason code) with a site's credentials. */
function connectAs(user: keyof typeof PASSWORDS): Promise<MqttClient> {
  return mqtt.connectAsync(broker.url, {
    protocolVersion: 5,
    username: user,
    password: PASSWORDS[user],
    clientId: `acl-test-${user}-${Math.random().toString(16).slice(2)}`,
    reconnectPeriod: 0,
  });
}

/** The broker's answer to a QoS 1 publish: 0, or the reason code mqtt.js rejects with (135: not authorized). */
async function publishOutcome(
  client: MqttClient,
  topic: string,
  payload: string,
  retain = false,
): Promise<number> {
  try {
    await client.publishAsync(topic, payload, { qos: 1, retain });
    return 0;
  } catch (error) {
    return (error as { code?: number }).code ?? -1;
  }
}

beforeAll(async () => {
  const tmp = await tempDir('fleet-acl-');
  dir = tmp.dir;
  cleanup.push(tmp.cleanup);
  broker = new Mosquitto(dir, { acl: aclFromDocs(), passwords: PASSWORDS });
  await broker.start();
  cleanup.push(() => broker.stop());
  office = await Recorder.connect(broker.url, 'edge-gateway/#', {
    username: 'office',
    password: PASSWORDS.office,
  });
  cleanup.push(() => office.end());
  const config = await writeSiteConfig({
    dir,
    siteId: 'site-a',
    brokerUrl: broker.url,
    fleet: { username: 'site-a', intervalSeconds: 2 },
  });
  // The password from the environment, as an installed box keeps it.
  site = new SiteProcess(await cliBundle(), config, 'site-a', {
    EDGE_GATEWAY_FLEET_PASSWORD: PASSWORDS['site-a'],
  });
  cleanup.push(() => site.kill('SIGTERM'));
  await waitUntil(
    () => office.on('edge-gateway/site-a/status').some((m) => m.json?.online === true),
    60_000,
    'site-a online under the ACLs',
  );
}, 90_000);

afterAll(async () => {
  for (const step of cleanup.reverse()) await step().catch(() => undefined);
  cleanup = [];
  removeCliBundle();
});

describe('the example mosquitto ACLs (docs/fleet.md) with a password file', () => {
  it('let a site publish its own topics and the office watch them', async () => {
    await waitUntil(() => office.on('edge-gateway/site-a/health').length > 0, 10_000, "site-a's digest");
    const passwordFile = join(dir, 'office.pw');
    await writeFile(passwordFile, `${PASSWORDS.office}\n`);
    const watch = await runCliBundle([
      'fleet',
      'watch',
      '--broker',
      broker.url,
      '--username',
      'office',
      '--password-file',
      passwordFile,
      '--once',
      '--json',
      '--wait',
      '1000',
    ]);
    expect(watch.code).toBe(0);
    const doc = JSON.parse(watch.stdout) as WatchDocument;
    expect(doc.sites.map((s) => [s.site, s.online])).toEqual([['site-a', true]]);
    expect(site.output).not.toContain('fleet link error');
  });

  it("refuse a site's credentials on another site's topics, and on commands", async () => {
    const intruder = await connectAs('site-b');
    try {
      for (const topic of [
        'edge-gateway/site-a/status',
        'edge-gateway/site-a/health',
        'edge-gateway/site-a/alerts',
        'edge-gateway/site-a/cmd/reply',
        'edge-gateway/site-a/cmd',
        // Not even its own command topic: only the office commands.
        'edge-gateway/site-b/cmd',
      ]) {
        const forged = JSON.stringify({
          v: 1,
          site: 'site-a',
          online: false,
          name: 'forged',
          version: '6.6.6',
        });
        expect(await publishOutcome(intruder, topic, forged, topic.endsWith('status')), topic).toBe(135);
      }
      // A command signed with the right key but sent with a site's credentials never reaches the box.
      const command = signCommand(
        COMMAND_KEY,
        'site-a',
        { action: 'restart', args: {} },
        Math.floor(Date.now() / 1000),
      );
      expect(await publishOutcome(intruder, 'edge-gateway/site-a/cmd', JSON.stringify(command))).toBe(135);
      // Reading another site's commands and replies: mosquitto grants the subscription but checks
      // every message against the ACL as it delivers, so the intruder hears nothing.
      const overheard: string[] = [];
      intruder.on('message', (topic) => overheard.push(topic));
      await intruder.subscribeAsync('edge-gateway/site-a/#', { qos: 1 });
      const genuine = signCommand(
        COMMAND_KEY,
        'site-a',
        { action: 'config', args: {} },
        Math.floor(Date.now() / 1000),
      );
      await office.client.publishAsync('edge-gateway/site-a/cmd', JSON.stringify(genuine), { qos: 1 });
      await waitUntil(
        () => office.on('edge-gateway/site-a/cmd/reply').some((m) => m.json?.nonce === genuine.nonce),
        10_000,
        'the answer to the office',
      );
      await waitUntil(() => office.on('edge-gateway/site-a/health').length > 2, 10_000, 'more digests');
      expect(overheard).toEqual([]);
      // Its own topic is fine.
      expect(await publishOutcome(intruder, 'edge-gateway/site-b/health', '{"v":1}')).toBe(0);
    } finally {
      await intruder.endAsync();
    }
    await waitUntil(() => office.on('edge-gateway/site-b/health').length > 0, 5000, 'the allowed publish');
    expect(office.messages.filter((m) => m.text.includes('forged') || m.text.includes('"restart"'))).toEqual(
      [],
    );
    expect(site.child.exitCode).toBeNull();
    // The one command the box ran is the office's.
    expect(site.output.match(/fleet command accepted/g)).toHaveLength(1);
    expect(site.output).not.toContain('"action":"restart"');
  });

  it('let the office command a site and read its answer', async () => {
    const keyFile = join(dir, 'command.key');
    const passwordFile = join(dir, 'office.pw');
    await writeFile(keyFile, COMMAND_KEY);
    await writeFile(passwordFile, PASSWORDS.office);
    const result = await runCliBundle([
      'fleet',
      'send',
      'site-a',
      'reconcile',
      '--key-file',
      keyFile,
      '--broker',
      broker.url,
      '--username',
      'office',
      '--password-file',
      passwordFile,
    ]);
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toMatchObject({
      ok: true,
      action: 'reconcile',
      result: { terminals: [] },
    });
    expect(result.code).toBe(0);
  });

  it('refuse a box whose credentials are wrong: it keeps trying, and says why', async () => {
    const config = await writeSiteConfig({
      dir,
      siteId: 'site-b',
      brokerUrl: broker.url,
      fleet: { username: 'site-b', password: 'wrong-password', reconnectMaxMs: 500 },
    });
    const wrong = new SiteProcess(await cliBundle(), config, 'site-b');
    try {
      await wrong.waitFor(/"error":"Connection refused: Not authorized".*"msg":"fleet link error"/, 60_000);
      expect(office.on('edge-gateway/site-b/status')).toEqual([]);
      expect(wrong.child.exitCode).toBeNull();
    } finally {
      await wrong.kill('SIGTERM');
    }
  }, 90_000);
});
