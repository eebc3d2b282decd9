import { describe, expect, it } from 'vitest';
import { parseEnvelope, serializeEnvelope } from '../../cloud/deli/envelope';
import { decodeDown, decodeUp, encodeDown, encodeUp } from '../../cloud/deli/messages';

// The seed's examples (seed 000), verbatim except where a test says otherwise.
const SEED_USER_UPDATE = `{
    "mid": "123456",
    "from": "云端应用ID",
    "to": "设备ID",
    "time": 1502867086,
    "action": 500,
    "data": {
        "cmd": "user_update",
        "payload": {
            "update_time": 1502867086000
        }
    }
}`;
const SEED_USER_SYNC_REQUEST = `{
    "mid": "123456",
    "from": "设备ID ",
    "to": "云端应用ID ",
    "time": 1502867086,
    "action": 405,
    "data": {
        "cmd": "user_sync",
        "payload": {
            "size": 10,
            "update_time": 1502867086000
        }
    }
}`;
const SEED_FEATURE_INPUT = `{
    "mid": "123456",
    "from": "云端应用ID",
    "to": "设备ID",
    "time": 1502867086,
    "action": 500,
    "data": {
        "cmd": "feature_input",
        "payload": {
            "user_id": 10000，
            "feature_type": "fa|fp"
        }
    }
}`;
const SEED_FP_INPUT = `{
    "to": "发起应用服务ID",
    "time": 1502867086,
    "action": 300,
    "data": {
        "cmd": "fp_input",
        "payload": {
            "user_id": 10000,
            "fp_data": "指纹特征值"
        }
    }
}`;
const SEED_CHECKIN = `{
    "mid": "123456",
    "from": "设备ID",
    "to": "应用服务ID",
    "time": 1502867086,
    "action": 300,
    "data": {
        "cmd": "checkin",
        "org_id": "组织ID",
        "users": [
            {
                "user_id": 1,
                "feature_type": "fp",
                "time": 1503025335
            },
            {
                "user_id": 2,
                "feature_type": "fa",
                "time": 1503028318
            }
        ]
    }
}`;
const SEED_USER_SYNC_PAGE = (fp: string, fa: string) => `{
    "mid": "123456",
    "from": "云端应用ID ",
    "to": "设备ID",
    "time": 1502867086,
    "action": 500,
    "data": {
        "cmd": "user_sync",
        "payload": [
            { "user_id": 10000, "name": "张三", "fp": "${fp}", "fa": "${fa}" }
        ]
    }
}`;

function down(text: string) {
  const e = parseEnvelope(text);
  if (!e.ok) throw e.error;
  return decodeDown(e.envelope);
}

function up(text: string) {
  const e = parseEnvelope(text);
  if (!e.ok) throw e.error;
  return decodeUp(e.envelope);
}

describe('deli envelope codec against the seed examples', () => {
  it('decodes user_update (update_time in ms)', () => {
    expect(down(SEED_USER_UPDATE)).toEqual({
      ok: true,
      message: { cmd: 'user_update', updateTimeMs: 1502867086000 },
    });
  });

  it('decodes the user_sync request as the app receives it (405)', () => {
    expect(up(SEED_USER_SYNC_REQUEST)).toEqual({
      ok: true,
      message: { cmd: 'user_sync_request', size: 10, updateTimeMs: 1502867086000 },
    });
  });

  it('encodes the user_sync request with the seed payload, sent as action 300', () => {
    const { action, data } = encodeUp({ cmd: 'user_sync_request', size: 10, updateTimeMs: 1502867086000 });
    expect(action).toBe(300);
    expect(data).toEqual({ cmd: 'user_sync', payload: { size: 10, update_time: 1502867086000 } });
  });

  it('decodes the seed plain-array user_sync page with base64 templates', () => {
    const r = down(SEED_USER_SYNC_PAGE('AAEC', 'AwQF'));
    expect(r).toEqual({
      ok: true,
      message: {
        cmd: 'user_sync',
        form: 'array',
        reset: false,
        users: [{ userId: '10000', delete: false, name: '张三', fp: ['AAEC'], fa: ['AwQF'] }],
      },
    });
  });

  it('refuses the placeholder templates of the seed text with a typed error, never a throw', () => {
    const r = down(SEED_USER_SYNC_PAGE('指纹', '人脸'));
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.code).toBe('data');
      expect(r.error.mid).toBe('123456');
      expect(r.error.message).toMatch(/base64/);
    }
  });

  it('decodes the public docs object form with reset, total_count and delete entries', () => {
    const text = JSON.stringify({
      mid: 'm1',
      from: 'app',
      to: 'dev',
      time: 1,
      action: 301,
      data: {
        cmd: 'user_sync',
        payload: {
          reset: true,
          total_count: 2,
          users: [
            {
              user_id: 7,
              name: '李四',
              empno: 'E7',
              dept: 'A',
              fp: ['AAEC', 'AwQF'],
              admin: 1,
              update_time: 5,
            },
            { user_id: '8', delete: true },
          ],
        },
      },
    });
    expect(down(text)).toEqual({
      ok: true,
      message: {
        cmd: 'user_sync',
        form: 'object',
        reset: true,
        totalCount: 2,
        users: [
          {
            userId: '7',
            delete: false,
            name: '李四',
            empno: 'E7',
            dept: 'A',
            fp: ['AAEC', 'AwQF'],
            fa: [],
            admin: true,
            updateTimeMs: 5,
          },
          { userId: '8', delete: true, fp: [], fa: [] },
        ],
      },
    });
  });

  it('round-trips both user_sync forms through encodeDown/decodeDown', () => {
    for (const form of ['array', 'object'] as const) {
      const message = {
        cmd: 'user_sync' as const,
        form,
        reset: form === 'object',
        users: [{ userId: '12', delete: false, name: 'n', fp: ['AAEC'], fa: [], updateTimeMs: 9 }],
        ...(form === 'object' && { totalCount: 1 }),
      };
      const { action, data } = encodeDown(message);
      const bytes = serializeEnvelope({ mid: 'x', from: 'a', to: 'd', time: 1, action, data });
      expect(down(bytes.toString())).toEqual({ ok: true, message });
    }
  });

  it('refuses the seed feature_input text (a full-width comma makes it invalid JSON)', () => {
    const e = parseEnvelope(SEED_FEATURE_INPUT);
    expect(e.ok).toBe(false);
    if (!e.ok) expect(e.error.code).toBe('json');
  });

  it('decodes feature_input once the comma is fixed, for each feature type', () => {
    const fixed = SEED_FEATURE_INPUT.replace('10000，', '10000,');
    expect(down(fixed).ok).toBe(false); // "fa|fp" is the seed's notation, not a value
    expect(down(fixed.replace('fa|fp', 'fp'))).toEqual({
      ok: true,
      message: { cmd: 'feature_input', userId: '10000', featureType: 'fp' },
    });
    expect(down(fixed.replace('fa|fp', 'fa'))).toEqual({
      ok: true,
      message: { cmd: 'feature_input', userId: '10000', featureType: 'fa' },
    });
  });

  it('decodes the seed fp_input (mid and from absent) and encodes fa_input by analogy', () => {
    const r = up(SEED_FP_INPUT.replace('指纹特征值', 'AAECAw=='));
    expect(r).toEqual({
      ok: true,
      message: { cmd: 'feature_upload', userId: '10000', featureType: 'fp', data: 'AAECAw==' },
    });
    const e = parseEnvelope(SEED_FP_INPUT);
    expect(e.ok).toBe(true);
    if (e.ok) expect(e.envelope.mid).toBeUndefined();
    expect(encodeUp({ cmd: 'feature_upload', userId: '10000', featureType: 'fa', data: 'AAEC' })).toEqual({
      action: 300,
      data: { cmd: 'fa_input', payload: { user_id: 10000, fa_data: 'AAEC' } },
    });
  });

  it('encodes checkin byte for byte as the seed example (compact JSON)', () => {
    const { action, data } = encodeUp({
      cmd: 'checkin',
      orgId: '组织ID',
      users: [
        { userId: '1', featureType: 'fp', timeS: 1503025335 },
        { userId: '2', featureType: 'fa', timeS: 1503028318 },
      ],
    });
    const bytes = serializeEnvelope({
      mid: '123456',
      from: '设备ID',
      to: '应用服务ID',
      time: 1502867086,
      action,
      data,
    });
    expect(bytes.equals(Buffer.from(JSON.stringify(JSON.parse(SEED_CHECKIN)), 'utf8'))).toBe(true);
    expect(up(SEED_CHECKIN)).toEqual({
      ok: true,
      message: {
        cmd: 'checkin',
        orgId: '组织ID',
        users: [
          { userId: '1', featureType: 'fp', timeS: 1503025335 },
          { userId: '2', featureType: 'fa', timeS: 1503028318 },
        ],
      },
    });
  });

  it('sends non-numeric user ids as strings, and numeric ones as strings when numericUserIds is off', () => {
    const users = [{ userId: 'E-7', featureType: 'card' as const, timeS: 1 }];
    expect(encodeUp({ cmd: 'checkin', orgId: 'o', users }).data).toMatchObject({
      users: [{ user_id: 'E-7' }],
    });
    const off = encodeUp(
      { cmd: 'checkin', orgId: 'o', users: [{ userId: '0012', featureType: 'pwd', timeS: 1 }] },
      { numericUserIds: false },
    );
    expect(off.data).toMatchObject({ users: [{ user_id: '0012', feature_type: 'pwd' }] });
    const leadingZero = encodeUp({
      cmd: 'checkin',
      orgId: 'o',
      users: [{ userId: '0012', featureType: 'pwd', timeS: 1 }],
    });
    expect(leadingZero.data).toMatchObject({ users: [{ user_id: '0012' }] });
  });

  it('refuses a checkin with a millisecond time or an unknown feature type', () => {
    const ms = SEED_CHECKIN.replace('1503025335', '1503025335000');
    expect(up(ms)).toMatchObject({ ok: false, error: { code: 'data' } });
    const bad = SEED_CHECKIN.replace('"fa"', '"iris"');
    expect(up(bad)).toMatchObject({ ok: false, error: { code: 'data' } });
  });

  it('decodes get_config/set_config both ways', () => {
    const env = (action: number, data: unknown) =>
      serializeEnvelope({ mid: 'c1', from: 'a', to: 'd', time: 1, action, data }).toString();
    expect(down(env(301, { cmd: 'get_config', payload: { keys: ['device_name'] } }))).toEqual({
      ok: true,
      message: { cmd: 'get_config', keys: ['device_name'] },
    });
    expect(down(env(500, { cmd: 'get_config' }))).toEqual({ ok: true, message: { cmd: 'get_config' } });
    expect(down(env(301, { cmd: 'set_config', payload: { device_name: 'gate' } }))).toEqual({
      ok: true,
      message: { cmd: 'set_config', values: { device_name: 'gate' } },
    });
    const reply = encodeUp({
      cmd: 'set_config_reply',
      applied: { device_name: 'gate' },
      refused: { x: 'no' },
    });
    expect(up(env(reply.action, reply.data))).toEqual({
      ok: true,
      message: { cmd: 'set_config_reply', applied: { device_name: 'gate' }, refused: { x: 'no' } },
    });
    const got = encodeUp({ cmd: 'get_config_reply', config: { device_name: 'gate', heartbeat_seconds: 60 } });
    expect(up(env(got.action, got.data))).toMatchObject({ ok: true, message: { cmd: 'get_config_reply' } });
  });

  it('decodes upgrade 102, 103 and 202', () => {
    const env = (action: number, data: unknown) =>
      serializeEnvelope({ mid: 'u', from: 'system', to: 'd', time: 1, action, data }).toString();
    const sum = 'a'.repeat(64);
    expect(down(env(102, { version: '1.2.0' }))).toEqual({
      ok: true,
      message: { cmd: 'version', version: '1.2.0' },
    });
    expect(down(env(103, { version: '1.2.0', url: 'https://x.example/gw', checksum: sum }))).toEqual({
      ok: true,
      message: { cmd: 'upgrade_info', version: '1.2.0', url: 'https://x.example/gw', checksum: sum },
    });
    expect(down(env(202, { version: '1.3.0' }))).toEqual({
      ok: true,
      message: { cmd: 'upgrade_available', version: '1.3.0' },
    });
    expect(down(env(103, { version: '1.2.0', url: 'not a url', checksum: sum }))).toMatchObject({
      ok: false,
    });
    expect(encodeUp({ cmd: 'version_query', version: '1.0.0' })).toEqual({
      action: 102,
      data: { version: '1.0.0' },
    });
    expect(encodeUp({ cmd: 'upgrade_info_query' })).toEqual({ action: 103, data: {} });
  });

  it('returns typed errors for garbage, never throws', () => {
    const inputs = [
      '',
      'null',
      '[]',
      '{"action":"300"}',
      '{"action":301,"data":{"cmd":"nope"}}',
      '{"action":999,"data":1}',
    ];
    for (const input of inputs) {
      const e = parseEnvelope(input);
      if (e.ok) expect(decodeDown(e.envelope).ok).toBe(false);
      else expect(['json', 'envelope']).toContain(e.error.code);
    }
    const unknown = parseEnvelope('{"action":301,"data":{"cmd":"nope"}}');
    expect(unknown.ok && decodeDown(unknown.envelope)).toMatchObject({
      ok: false,
      error: { code: 'unknown_cmd' },
    });
  });
});
