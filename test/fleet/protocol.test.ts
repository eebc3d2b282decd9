/**
 * The fleet link's wire contract and the pieces behind it that need no socket: the signed string and
 * the example of docs/fleet.md against openssl (an independent HMAC), the guard's decisions, the
 * digest without personal data, alert kinds, the watch's order, and redaction.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EventBus } from '../../gateway/events';
import { AlertWatch, alertKey } from '../../gateway/fleet/alert-watch';
import { CommandGuard, type SeenNonces } from '../../gateway/fleet/command-guard';
import { FleetView } from '../../gateway/fleet/fleet-view';
import { digestHealth, personalDataScrubber } from '../../gateway/fleet/health-digest';
import {
  parseBody,
  parseEnvelope,
  signatureMatches,
  signatureOf,
  signCommand,
  signingString,
} from '../../gateway/fleet/protocol';
import { redactSecrets } from '../../gateway/fleet/redact';
import type { HealthReport } from '../../gateway/http/health';
import type { StateSlot } from '../../gateway/model';
import { REPO } from '../support/cli';

const DOC_KEY = 'example-key-not-for-production';
// docs/fleet.md, "Signing a command", written out by hand: the five lines and the envelope.
const DOC_SIGNED =
  'edge-gateway-fleet-command/1\n' +
  'site-07\n' +
  '1767225600\n' +
  '3f9c1e0a7b2d4c6e8f1a2b3c4d5e6f70\n' +
  '{"action":"reconcile","args":{"terminal":"gate-east-in"}}';
const DOC_SIG = 'a017fdbf9880005bb9560aa50a0c5a4090ca950adc5ee94284ae9db1f69ad943';
const DOC_ENVELOPE =
  '{"v":1,"site":"site-07","at":1767225600,"nonce":"3f9c1e0a7b2d4c6e8f1a2b3c4d5e6f70",' +
  '"body":"{\\"action\\":\\"reconcile\\",\\"args\\":{\\"terminal\\":\\"gate-east-in\\"}}",' +
  `"sig":"${DOC_SIG}"}`;

function memorySlot<T>(): StateSlot<T> & { writes: T[] } {
  let value: T | undefined;
  const writes: T[] = [];
  return {
    writes,
    get: () => value,
    set: async (next: T) => {
      writes.push(structuredClone(next));
      value = next;
    },
  };
}

describe('signing a command (docs/fleet.md)', () => {
  it('signs the documented string; openssl computes the same HMAC', () => {
    const openssl = spawnSync('openssl', ['dgst', '-sha256', '-hmac', DOC_KEY], { input: DOC_SIGNED });
    expect(openssl.status).toBe(0);
    expect(openssl.stdout.toString()).toContain(DOC_SIG);
    const body = '{"action":"reconcile","args":{"terminal":"gate-east-in"}}';
    expect(signingString('site-07', 1767225600, '3f9c1e0a7b2d4c6e8f1a2b3c4d5e6f70', body)).toBe(DOC_SIGNED);
    expect(signatureOf(DOC_KEY, 'site-07', 1767225600, '3f9c1e0a7b2d4c6e8f1a2b3c4d5e6f70', body)).toBe(
      DOC_SIG,
    );
    const page = readFileSync(join(REPO, 'docs/fleet.md'), 'utf8');
    expect(page).toContain(DOC_SIG);
    expect(page).toContain(DOC_SIGNED);
  });

  it('reads the hand-written envelope, verifies it, and decodes its body', () => {
    const parsed = parseEnvelope(Buffer.from(DOC_ENVELOPE));
    if (!parsed.ok) throw new Error(parsed.error);
    expect(parsed.value).toMatchObject({ v: 1, site: 'site-07', at: 1767225600 });
    expect(signatureMatches(DOC_KEY, parsed.value)).toBe(true);
    expect(signatureMatches('another-key-of-16+chars', parsed.value)).toBe(false);
    // One changed byte of the body is a different command.
    expect(
      signatureMatches(DOC_KEY, { ...parsed.value, body: parsed.value.body.replace('east', 'west') }),
    ).toBe(false);
    expect(parseBody(parsed.value.body)).toEqual({
      ok: true,
      value: { action: 'reconcile', args: { terminal: 'gate-east-in' } },
    });
  });

  it('says what is wrong with a bad envelope or body, never throws', () => {
    expect(parseEnvelope('{"v":1')).toMatchObject({ ok: false, error: expect.stringMatching(/^not JSON/) });
    expect(parseEnvelope('{"v":2,"site":"s","at":1,"nonce":"x","body":"{}"}')).toMatchObject({ ok: false });
    expect(parseBody('{"action":"format-disk"}')).toMatchObject({ ok: false });
    expect(parseBody('{"action":"set","args":{"key":"deviceName"}}')).toMatchObject({
      ok: false,
      error: expect.stringContaining('args.value'),
    });
  });
});

describe('CommandGuard', () => {
  const KEY = 'guard-test-key-0123456789';
  const body = { action: 'config' as const, args: {} };
  const setup = ({ key }: { key: string | undefined } = { key: KEY }) => {
    const seen = memorySlot<SeenNonces>();
    let nowMs = 1_767_225_600_000;
    const guard = new CommandGuard({ siteId: 's1', key, seen, clock: { now: () => nowMs } });
    return { guard, seen, at: () => Math.floor(nowMs / 1000), advance: (ms: number) => (nowMs += ms) };
  };

  it('accepts a good command once and records its nonce before saying so', async () => {
    const { guard, seen, at } = setup();
    const command = signCommand(KEY, 's1', body, at());
    const verdict = await guard.check(JSON.stringify(command));
    expect(verdict).toMatchObject({ ok: true, body });
    expect(Object.keys(seen.writes.at(-1)!)).toEqual([command.nonce]);
    expect(await guard.check(JSON.stringify(command))).toMatchObject({ ok: false, reason: 'replayed' });
  });

  it('lets only one of two copies arriving together through', async () => {
    const { guard, at } = setup();
    const text = JSON.stringify(signCommand(KEY, 's1', body, at()));
    const verdicts = await Promise.all([guard.check(text), guard.check(text)]);
    expect(verdicts.map((v) => v.ok).sort()).toEqual([false, true]);
  });

  it('refuses each kind of bad command with its reason', async () => {
    const { guard, at } = setup();
    const unsigned: Record<string, unknown> = { ...signCommand(KEY, 's1', body, at()) };
    delete unsigned.sig;
    const cases: Array<[unknown, string]> = [
      ['not json', 'malformed'],
      [unsigned, 'unsigned'],
      [signCommand('some-other-key-0123456', 's1', body, at()), 'bad-signature'],
      [signCommand(KEY, 's2', body, at()), 'other-site'],
      [signCommand(KEY, 's1', body, at() - 301), 'expired'],
      [signCommand(KEY, 's1', body, at() + 301), 'future'],
    ];
    for (const [command, reason] of cases) {
      const text = typeof command === 'string' ? command : JSON.stringify(command);
      expect(await guard.check(text), reason).toMatchObject({ ok: false, reason });
    }
    // Five minutes to the second still passes.
    expect(await guard.check(JSON.stringify(signCommand(KEY, 's1', body, at() - 300)))).toMatchObject({
      ok: true,
    });
    const badBody = signCommand(KEY, 's1', body, at());
    const forged = { ...badBody, body: '{"action":"shutdown"}' };
    forged.sig = signatureOf(KEY, 's1', forged.at, forged.nonce, forged.body);
    expect(await guard.check(JSON.stringify(forged))).toMatchObject({ ok: false, reason: 'bad-body' });
  });

  it('refuses everything without a key, and forgets nonces only once they could not pass anyway', async () => {
    expect(
      await setup({ key: undefined }).guard.check(JSON.stringify(signCommand(KEY, 's1', body, 1))),
    ).toMatchObject({
      ok: false,
      reason: 'disabled',
    });
    const { guard, seen, at, advance } = setup();
    const first = signCommand(KEY, 's1', body, at());
    await guard.check(JSON.stringify(first));
    advance(361_000);
    await guard.check(JSON.stringify(signCommand(KEY, 's1', body, at())));
    expect(Object.keys(seen.get()!)).not.toContain(first.nonce);
    expect(await guard.check(JSON.stringify(first))).toMatchObject({ ok: false, reason: 'expired' });
  });
});

describe('the health digest', () => {
  const report = (alerts: string[]): HealthReport =>
    ({
      status: alerts.length > 0 ? 'degraded' : 'ok',
      version: '1.2.3',
      site: '一号工地',
      uptimeSeconds: 42,
      journal: { lastSeq: 7, segments: 1, corruptLines: 0 },
      terminals: [
        {
          id: 'gate-1',
          kind: 'zk',
          online: true,
          consecutiveFailures: 0,
          details: { lastPunch: '张三丰 08:00' },
        },
        { id: 'gate-2', kind: 'zk', online: false, consecutiveFailures: 3, lastError: '张三丰' },
      ],
      upstreams: [
        {
          upstream: 'sichuan',
          cursor: 5,
          backlog: 2,
          consecutiveFailures: 1,
          enabled: true,
          health: { connected: false, details: { lastContentError: '510104199001011234 张三丰' } },
        },
      ],
      alerts,
      alertDetails: [],
    }) as unknown as HealthReport;

  it('carries counts and ids, never details, names or ID numbers', () => {
    const digest = digestHealth(
      report([
        'terminal gate-2 offline: device says user 张三丰 busy',
        'sichuan: worker 510104199001011234 unknown',
        'sichuan: id 51010419900101123X refused',
      ]),
      {
        siteId: 's1',
        intervalSeconds: 300,
        nowMs: 1_767_225_600_000,
        personalTerms: () => ['张三丰', '李四', '51010419900101123X'],
        counters: { accepted: 1, refused: 2, overflowed: 0 },
      },
    );
    const text = JSON.stringify(digest);
    expect(text).not.toContain('张三丰');
    expect(text).not.toContain('510104199001011234');
    expect(text).not.toContain('51010419900101123X');
    expect(digest).toMatchObject({
      v: 1,
      site: 's1',
      at: 1_767_225_600,
      name: '一号工地',
      terminals: { online: 1, total: 2, offline: ['gate-2'] },
      upstreams: [{ name: 'sichuan', backlog: 2, failures: 1, connected: false }],
      alertCount: 3,
      fleet: { accepted: 1, refused: 2, overflowed: 0 },
    });
    expect(digest.alerts[0]).toBe('terminal gate-2 offline: device says user [person] busy');
    expect(digest.alerts[1]).toBe('sichuan: worker [id] unknown');
  });

  it('caps the alert lines and their length; the count says how many there are', () => {
    const many = Array.from({ length: 30 }, (_, i) => `terminal t${i} offline: ${'x'.repeat(300)}`);
    const digest = digestHealth(report(many), {
      siteId: 's1',
      intervalSeconds: 300,
      nowMs: 0,
      personalTerms: () => [],
      counters: { accepted: 0, refused: 0, overflowed: 0 },
    });
    expect(digest.alerts).toHaveLength(20);
    expect(digest.alertCount).toBe(30);
    expect(Math.max(...digest.alerts.map((a) => a.length))).toBeLessThanOrEqual(200);
  });

  it('blanks longer names before shorter ones inside them', () => {
    expect(personalDataScrubber(['王五', '王五六'])('王五六 and 王五')).toBe('[person] and [person]');
  });
});

describe('alerts', () => {
  it('keeps one kind while its details change, and tells terminals apart', () => {
    expect(alertKey('terminal gate-1 offline: ECONNREFUSED')).toBe(
      alertKey('terminal gate-1 offline: timed out'),
    );
    expect(alertKey('terminal gate-1 clock is off by 301 s')).toBe(
      alertKey('terminal gate-1 clock is off by 420 s'),
    );
    expect(alertKey('terminal gate-1 offline')).not.toBe(alertKey('terminal gate-2 offline'));
    expect(alertKey('terminal t1: punches from PIN(s) not on the roster: 1')).toBe(
      alertKey('terminal t1: punches from PIN(s) not on the roster: 1, 2'),
    );
    expect(alertKey('terminal t1: punches from PIN(s) not on the roster: 1')).not.toBe(
      alertKey('terminal t1: log full'),
    );
  });

  it('raises and clears on the bus once settled, after a burst of events or a sweep', async () => {
    const bus = new EventBus();
    let alerts: string[] = ['terminal a offline: x'];
    const changes: unknown[] = [];
    bus.on('alerts.changed', (change) => changes.push(change));
    const watch = new AlertWatch({ bus, alerts: () => alerts, sweepMs: 50, settleMs: 100 });
    watch.start();
    try {
      bus.emit('terminal.online', 'a', false);
      await new Promise((resolve) => setTimeout(resolve, 60));
      expect(changes).toEqual([]);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(changes).toEqual([
        { raised: ['terminal a offline: x'], cleared: [], alerts: ['terminal a offline: x'] },
      ]);
      alerts = ['terminal a offline: y'];
      await new Promise((resolve) => setTimeout(resolve, 120));
      expect(changes).toHaveLength(1);
      alerts = [];
      await new Promise((resolve) => setTimeout(resolve, 120));
      expect(changes[1]).toEqual({ raised: [], cleared: ['terminal a offline: y'], alerts: [] });
    } finally {
      watch.stop();
    }
  });
});

describe('FleetView (what fleet watch shows)', () => {
  const status = (site: string, online: boolean, extra: object = {}) =>
    JSON.stringify({ v: 1, site, online, name: site, version: '1', ...extra });
  const health = (site: string, at: number, alerts: string[], backlog = 0) =>
    JSON.stringify({
      v: 1,
      site,
      at,
      name: site,
      version: '1',
      status: alerts.length ? 'degraded' : 'ok',
      uptimeS: 1,
      intervalS: 10,
      terminals: { online: 1, total: 1 },
      upstreams: [{ name: 'deli', backlog, failures: 0, connected: true }],
      journal: { lastSeq: 0, corrupt: 0 },
      alertCount: alerts.length,
      alerts,
      fleet: { accepted: 0, refused: 0, overflowed: 0 },
    });

  it('sorts worst first: offline, stale, alerts, backlog', () => {
    const view = new FleetView('edge-gateway');
    const t = 1_000_000;
    for (const s of ['a-ok', 'b-backlog', 'c-alert', 'd-stale', 'e-off']) {
      view.receive(
        `edge-gateway/${s}/status`,
        status(s, s !== 'e-off', s === 'e-off' ? { reason: 'lost' } : {}),
        t,
      );
    }
    view.receive('edge-gateway/a-ok/health', health('a-ok', 1, []), t + 40_000);
    view.receive('edge-gateway/b-backlog/health', health('b-backlog', 1, [], 50), t + 40_000);
    view.receive('edge-gateway/c-alert/health', health('c-alert', 1, ['terminal x offline']), t + 40_000);
    view.receive('edge-gateway/d-stale/health', health('d-stale', 1, []), t);
    const rows = view.rows(t + 40_000);
    expect(rows.map((r) => [r.site, r.state])).toEqual([
      ['e-off', 'offline'],
      ['d-stale', 'stale'],
      ['c-alert', 'degraded'],
      ['b-backlog', 'ok'],
      ['a-ok', 'ok'],
    ]);
  });

  it('takes an alert event once, and an empty retained status forgets the site', () => {
    const view = new FleetView('edge-gateway');
    view.receive('edge-gateway/s/health', health('s', 100, []), 1);
    const event = JSON.stringify({ v: 1, site: 's', boot: 'b', seq: 1, at: 100, event: 'raised', text: 'x' });
    view.receive('edge-gateway/s/alerts', event, 2);
    view.receive('edge-gateway/s/alerts', event, 3);
    expect(view.rows(3)[0]).toMatchObject({ alertCount: 1, alerts: ['x'] });
    expect(view.rows(3)[0]!.events).toHaveLength(1);
    expect(view.receive('edge-gateway/s/status', 'not json', 4)).toBe(false);
    expect(view.malformed).toBe(1);
    view.receive('edge-gateway/s/status', '', 5);
    expect(view.rows(5)).toEqual([]);
  });
});

describe('redactSecrets', () => {
  it('hides every secret at any depth and keeps the rest', () => {
    const out = redactSecrets({
      site: { name: 'x' },
      http: { apiToken: 'token-1234567890abcdef', port: 8080 },
      terminals: [{ id: 't', commKey: 1234 }],
      upstreams: {
        sichuan: { deviceKey: 'k', sm4Key: 'k2', sm4Iv: 'iv', sn: 'SN1' },
        deli: { password: 'p' },
      },
      fleet: { commandKey: 'c', password: 'p', username: 'u' },
    });
    const text = JSON.stringify(out);
    for (const secret of ['token-1234567890abcdef', '1234', '"k"', '"k2"', '"iv"', '"p"', '"c"']) {
      expect(text).not.toContain(secret);
    }
    expect(out).toMatchObject({
      http: { port: 8080 },
      upstreams: { sichuan: { sn: 'SN1' } },
      fleet: { username: 'u' },
    });
  });
});
