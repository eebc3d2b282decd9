import { execFileSync } from 'node:child_process';
import { createCipheriv, getCiphers } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SichuanCodec } from '../../cloud/sichuan/codec';
import { signParams, signValues } from '../../cloud/sichuan/sign';
import { Sm4Cbc, Sm4DecryptError, Sm4KeyError, sm4KeyBytes } from '../../cloud/sichuan/sm4';
import { validateConfig } from '../../config/load';

const GBT_KEY = '0123456789abcdeffedcba9876543210';
const ZERO_IV = '00000000000000000000000000000000';

function nodeSm4(keyHex: string, ivHex: string, plain: Buffer): Buffer {
  const cipher = createCipheriv('sm4-cbc', Buffer.from(keyHex, 'hex'), Buffer.from(ivHex, 'hex'));
  return Buffer.concat([cipher.update(plain), cipher.final()]);
}

function opensslSm4(keyHex: string, ivHex: string, plain: Buffer): Buffer {
  return execFileSync('openssl', ['enc', '-sm4-cbc', '-K', keyHex, '-iv', ivHex], { input: plain });
}

describe('SM4', () => {
  it('matches the GB/T 32907-2016 example (key = plaintext)', () => {
    const sm4 = new Sm4Cbc(GBT_KEY, ZERO_IV, 'hex');
    // With a zero IV the first CBC block is the plain block cipher; the second block is PKCS#7 padding.
    const out = Buffer.from(sm4.encryptBytes(Buffer.from(GBT_KEY, 'hex')));
    expect(out.length).toBe(32);
    expect(out.subarray(0, 16).toString('hex')).toBe('681edf34d206965e86b3e94f536e4246');
  });

  it('is what node:crypto sm4-cbc and openssl enc -sm4-cbc produce', () => {
    expect(getCiphers()).toContain('sm4-cbc');
    const key = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
    const iv = '0f0e0d0c0b0a09080706050403020100';
    const sm4 = new Sm4Cbc(key, iv, 'hex');
    for (const text of [
      '',
      'a',
      '0123456789abcdef',
      '四川省建筑工人实名制 [{"userId":"1"}]',
      'x'.repeat(100),
    ]) {
      const plain = Buffer.from(text, 'utf8');
      const ours = sm4.encrypt(text);
      expect(ours).toBe(nodeSm4(key, iv, plain).toString('hex'));
      expect(ours).toBe(opensslSm4(key, iv, plain).toString('hex'));
      expect(sm4.decrypt(ours)).toBe(text);
    }
  });

  it('round-trips and agrees with node:crypto for arbitrary text, keys and IVs', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme', maxLength: 80 }),
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        (text, keyBytes, ivBytes) => {
          const key = Buffer.from(keyBytes).toString('hex');
          const iv = Buffer.from(ivBytes).toString('hex');
          const sm4 = new Sm4Cbc(key, iv, 'base64');
          const ours = sm4.encrypt(text);
          expect(ours).toBe(nodeSm4(key, iv, Buffer.from(text, 'utf8')).toString('base64'));
          expect(sm4.decrypt(ours)).toBe(text);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('takes a 16-character text key as its UTF-8 bytes, and a 32-hex key as hex', () => {
    expect(Buffer.from(sm4KeyBytes('abcdefghijklmnop')).toString('hex')).toBe(
      '6162636465666768696a6b6c6d6e6f70',
    );
    expect(Buffer.from(sm4KeyBytes(GBT_KEY.toUpperCase())).toString('hex')).toBe(GBT_KEY);
    const text = new Sm4Cbc('abcdefghijklmnop', ZERO_IV, 'hex');
    const hex = new Sm4Cbc('6162636465666768696a6b6c6d6e6f70', ZERO_IV, 'hex');
    expect(text.encrypt('hello')).toBe(hex.encrypt('hello'));
    expect(text.encrypt('hello')).toBe(
      nodeSm4('6162636465666768696a6b6c6d6e6f70', ZERO_IV, Buffer.from('hello')).toString('hex'),
    );
    // 32 characters that are not hex are neither form: refused, never read as zeros.
    expect(() => sm4KeyBytes('zz23456789abcdeffedcba9876543210')).toThrow(Sm4KeyError);
    expect(() => sm4KeyBytes('short')).toThrow(Sm4KeyError);
  });

  it('takes a 16-byte UTF-8 IV as its bytes, as node:crypto does with the same bytes', () => {
    // 四川省建筑 is five 3-byte characters: with "1", 16 bytes in 6 characters.
    const iv = '四川省建筑1';
    const ivHex = Buffer.from(iv, 'utf8').toString('hex');
    expect(ivHex).toBe('e59b9be5b79de79c81e5bbbae7ad9131');
    const sm4 = new Sm4Cbc(GBT_KEY, iv, 'hex');
    expect(sm4.encrypt('打卡')).toBe(nodeSm4(GBT_KEY, ivHex, Buffer.from('打卡', 'utf8')).toString('hex'));
  });

  it('the configuration schema accepts exactly the keys and IVs the cipher accepts (one rule)', () => {
    const accepted = (field: 'sm4Key' | 'sm4Iv', value: string): boolean => {
      const result = validateConfig({ site: { name: 'x' }, upstreams: { sichuan: { [field]: value } } });
      if (result.ok) return true;
      expect(result.problems.every((p) => p.startsWith(`upstreams.sichuan.${field}: `))).toBe(true);
      return false;
    };
    const constructs = (key: string, iv: string): boolean => {
      try {
        new Sm4Cbc(key, iv, 'hex');
        return true;
      } catch (error) {
        expect(error).toBeInstanceOf(Sm4KeyError);
        return false;
      }
    };
    const candidates = fc.oneof(
      fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEFxz'), minLength: 30, maxLength: 34 }),
      fc.string({ unit: 'grapheme', minLength: 4, maxLength: 18 }),
      fc.string({ unit: 'grapheme-ascii', minLength: 15, maxLength: 17 }),
    );
    fc.assert(
      fc.property(candidates, (value) => {
        expect(accepted('sm4Key', value)).toBe(constructs(value, ZERO_IV));
        expect(accepted('sm4Iv', value)).toBe(constructs(GBT_KEY, value));
      }),
      { numRuns: 300 },
    );
  });

  it('reports undecryptable input with a typed error', () => {
    const sm4 = new Sm4Cbc(GBT_KEY, ZERO_IV, 'hex');
    const other = new Sm4Cbc('ffffffffffffffffffffffffffffffff', ZERO_IV, 'hex');
    const cipher = sm4.encrypt('{"a":1}');
    expect(() => other.decrypt(cipher)).toThrow(Sm4DecryptError);
    expect(() => sm4.decrypt('not hex!')).toThrow(Sm4DecryptError);
    expect(() => sm4.decrypt(cipher.slice(0, 30))).toThrow(Sm4DecryptError);
    expect(() => sm4.decrypt('')).toThrow(Sm4DecryptError);
    const b64 = new Sm4Cbc(GBT_KEY, ZERO_IV, 'base64');
    expect(() => b64.decrypt('%%%')).toThrow(Sm4DecryptError);
  });
});

describe('sign', () => {
  // Expected digests computed with `printf '%s' values... | openssl dgst -md5 -hmac key`.
  it('matches HMAC-MD5 vectors over the seed parameter order', () => {
    expect(signValues('device-key-123', ['GW-0001', '1700000000'], 'lower')).toBe(
      '87ef0ec7b779b7b380a987505dc31a5e',
    );
    expect(signParams('Online', 'device-key-123', { timestamp: '1700000000', sn: 'GW-0001' }, 'upper')).toBe(
      '87EF0EC7B779B7B380A987505DC31A5E',
    );
    expect(
      signParams(
        'RetResult',
        'device-key-123',
        { sn: 'GW-0001', id: 'task-42', result: '1', msg: '照片无法解码', timestamp: '1700000000' },
        'lower',
      ),
    ).toBe('e8149e7b77f8687b3e5abaf9baf7a265');
    // A missing msg signs as the empty string.
    expect(
      signParams(
        'RetResult',
        'device-key-123',
        { sn: 'GW-0001', id: 'task-42', result: '0', timestamp: '1700000000' },
        'lower',
      ),
    ).toBe('8e72950a2749f1a9b5af639354001033');
    expect(
      signParams(
        'GetTaskData',
        '设备密钥',
        { sn: 'GW-0001', id: 'task-42', timestamp: '1700000000' },
        'lower',
      ),
    ).toBe('41f2a52fd035ea51415292d90373cd3f');
  });

  it('verifies either hex case and rejects a wrong key', () => {
    const codec = new SichuanCodec({
      deviceKey: 'device-key-123',
      sm4Key: GBT_KEY,
      sm4Iv: ZERO_IV,
      cipherEncoding: 'hex',
      signCase: 'lower',
    });
    const params = { sn: 'GW-0001', timestamp: '1700000000' };
    expect(codec.verify('Online', { ...params, sign: '87ef0ec7b779b7b380a987505dc31a5e' })).toBe(true);
    expect(codec.verify('Online', { ...params, sign: '87EF0EC7B779B7B380A987505DC31A5E' })).toBe(true);
    expect(codec.verify('Online', { ...params, sign: '87ef0ec7b779b7b380a987505dc31a5f' })).toBe(false);
    expect(codec.verify('Online', params)).toBe(false);
  });
});

describe('answer envelope', () => {
  const codec = new SichuanCodec({
    deviceKey: 'k',
    sm4Key: GBT_KEY,
    sm4Iv: ZERO_IV,
    cipherEncoding: 'base64',
    signCase: 'lower',
  });

  it('decrypts a string Content and accepts plain JSON Content, whatever the key case', () => {
    const tasks = [{ Id: 't1', Type: 1 }];
    const wire = codec.encodeAnswer({ Result: 1, Content: tasks });
    expect(JSON.parse(wire).Content).toBe(codec.encrypt(JSON.stringify(tasks)));
    expect(codec.decodeAnswer(wire)).toMatchObject({ result: 1, content: tasks, contentForm: 'encrypted' });
    expect(
      codec.decodeAnswer('{"result":"1","content":[{"Id":"t1","Type":1}],"msg":"x","extra":true}'),
    ).toEqual({
      result: 1,
      msg: 'x',
      content: tasks,
      contentForm: 'plain',
    });
    expect(codec.decodeAnswer('{"RESULT":0,"CONTENT":""}')).toMatchObject({ result: 0, contentForm: 'none' });
  });

  it('turns undecryptable Content into a contentError, and unreadable answers into a typed error', () => {
    const bad = codec.decodeAnswer('{"Result":0,"Content":"AAAAAAAAAAAAAAAAAAAAAA==","Msg":""}');
    expect(bad.result).toBe(0);
    expect(bad.content).toBeUndefined();
    expect(bad.contentError).toMatch(/padding|UTF-8|SM4/);
    expect(() => codec.decodeAnswer('<html>')).toThrow(/not JSON/);
    expect(() => codec.decodeAnswer('{"Msg":"x"}')).toThrow(/Result/);
  });
});
