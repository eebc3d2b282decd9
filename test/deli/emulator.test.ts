import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { DeliEmulator } from '../../cloud/deli/emulator';
import { testLogger } from '../support/logger';
import { APP_ID, DEVICE_ID, ORG_ID } from './harness';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const UP = `deli/device/${DEVICE_ID}/up`;
const DOWN = `deli/device/${DEVICE_ID}/down`;

async function emulatorWithRawDevice() {
  const emulator = new DeliEmulator({
    deviceId: DEVICE_ID,
    appId: APP_ID,
    orgId: ORG_ID,
    embedded: true,
    roster: [{ userId: '5', delete: false, name: 'n', fp: [], fa: [], updateTimeMs: 10 }],
    syncMode: 'array',
    logger: testLogger('emu'),
  });
  await emulator.start();
  cleanups.push(() => emulator.stop());
  // A plain mqtt.js client stands in for a device we did not write.
  const device = await mqtt.connectAsync(emulator.brokerUrl, { clientId: DEVICE_ID, clean: false });
  cleanups.push(() => device.endAsync());
  await device.subscribeAsync(DOWN, { qos: 1 });
  const now = () => Math.floor(Date.now() / 1000);
  const send = (envelope: Record<string, unknown>) =>
    device.publishAsync(UP, JSON.stringify(envelope), { qos: 1 });
  return { emulator, device, send, now };
}

const checkin = (users: unknown[], org = ORG_ID) => ({ cmd: 'checkin', org_id: org, users });

describe('deli emulator checks what a device sends', () => {
  it('accepts a correct checkin and records it', async () => {
    const { emulator, send, now } = await emulatorWithRawDevice();
    const at = now() - 5;
    await send({
      mid: 'a1',
      from: DEVICE_ID,
      to: APP_ID,
      time: now(),
      action: 300,
      data: checkin([{ user_id: 1, feature_type: 'fp', time: at }]),
    });
    await emulator.waitFor(() => emulator.checkins.length === 1, 5000, 'checkin');
    expect(emulator.state().violations).toEqual([]);
    expect(emulator.checkins[0]?.users).toEqual([{ userId: '1', featureType: 'fp', timeS: at }]);
  });

  it('records every kind of violation', async () => {
    const { emulator, send, now } = await emulatorWithRawDevice();
    const good = { from: DEVICE_ID, to: APP_ID, action: 300 };
    const user = { user_id: 1, feature_type: 'fp', time: now() };
    await send({ ...good, mid: 'b1', from: 'intruder', time: now(), data: checkin([user]) });
    await send({ ...good, mid: 'b2', to: 'other-app', time: now(), data: checkin([user]) });
    await send({ ...good, mid: 'b3', time: now() - 3600, data: checkin([user]) });
    await send({ ...good, mid: 'b4', time: now(), data: checkin([user], 'org-x') });
    await send({ ...good, mid: 'b5', time: now(), data: checkin([{ ...user, time: now() * 1000 }]) });
    await send({ ...good, time: now(), data: checkin([user]) });
    await send({ ...good, mid: 'b6', time: now(), data: checkin([{ ...user, time: now() + 1 }]) });
    await send({ ...good, mid: 'b6', time: now(), data: checkin([{ ...user, time: now() + 2 }]) });
    await emulator.waitFor(() => emulator.state().received === 8, 5000, 'all messages');
    const reasons = emulator.violations.map((v) => `${v.mid ?? '-'} ${v.reason}`);
    expect(reasons).toEqual([
      expect.stringMatching(/^b1 from is "intruder"/),
      expect.stringMatching(/^b2 to is "other-app"/),
      expect.stringMatching(/^b3 time .* off the platform clock/),
      expect.stringMatching(/^b4 org_id is "org-x"/),
      expect.stringMatching(/^b5 .*milliseconds/),
      '- mid missing',
      expect.stringMatching(/^b6 mid reused/),
    ]);
  });

  it('answers user_sync in the seed array form with the request mid, and counts redeliveries', async () => {
    const { emulator, device, send, now } = await emulatorWithRawDevice();
    const answers: Record<string, unknown>[] = [];
    device.on('message', (_t, payload) => answers.push(JSON.parse(payload.toString())));
    const request = {
      mid: 'sync-1',
      from: DEVICE_ID,
      to: APP_ID,
      time: now(),
      action: 300,
      data: { cmd: 'user_sync', payload: { size: 10, update_time: 0 } },
    };
    await send(request);
    await send(request);
    await emulator.waitFor(() => answers.length === 1 && emulator.state().received === 2, 5000, 'answer');
    expect(answers[0]).toMatchObject({
      mid: 'sync-1',
      from: APP_ID,
      to: DEVICE_ID,
      action: 301,
      data: { cmd: 'user_sync', payload: [{ user_id: 5, name: 'n', update_time: 10 }] },
    });
    expect(emulator.state().duplicateMessages).toBe(1);
    expect(emulator.syncRequests).toEqual([{ mid: 'sync-1', size: 10, updateTimeMs: 0 }]);
    expect(emulator.state().violations).toEqual([]);
  });

  it('serves its state over HTTP and starts a user_update from a POST', async () => {
    const { emulator, device } = await emulatorWithRawDevice();
    const answers: string[] = [];
    device.on('message', (_t, payload) => answers.push(payload.toString()));
    const state = (await (await fetch(`${emulator.httpUrl}/_emulator/state`)).json()) as Record<
      string,
      unknown
    >;
    expect(state).toMatchObject({
      brokerUrl: emulator.brokerUrl,
      connected: true,
      rosterSize: 1,
      received: 0,
    });
    const posted = await fetch(`${emulator.httpUrl}/_emulator/user_update`, { method: 'POST' });
    expect(posted.status).toBe(200);
    await emulator.waitFor(() => answers.length === 1, 5000, 'user_update');
    expect(JSON.parse(answers[0] ?? '{}')).toMatchObject({
      data: { cmd: 'user_update', payload: { update_time: 10 } },
    });
    const bad = await fetch(`${emulator.httpUrl}/_emulator/feature_input`, { method: 'POST', body: '{}' });
    expect(bad.status).toBe(400);
  });
});
