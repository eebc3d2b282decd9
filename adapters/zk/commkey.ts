/**
 * The CMD_AUTH payload for a communication key (pyzk's make_commkey, from the SDK's MakeKey):
 * the key's bits reversed, plus the session id, XOR "ZKSO", halves swapped, XOR a tick byte
 * (docs/protocols/zk.md#comm-key).
 */
export function makeCommKey(key: number, sessionId: number, ticks = 50): Buffer {
  let k = 0;
  for (let i = 0; i < 32; i++) k = (key & (1 << i) ? (k << 1) | 1 : k << 1) >>> 0;
  k = (k + sessionId) >>> 0;
  const mixed = Buffer.alloc(4);
  mixed.writeUInt32LE(k, 0);
  const salt = Buffer.from('ZKSO', 'latin1');
  for (let i = 0; i < 4; i++) mixed.writeUInt8(mixed.readUInt8(i) ^ salt.readUInt8(i), i);
  // Swap the two u16 halves.
  const swapped = Buffer.alloc(4);
  swapped.writeUInt16LE(mixed.readUInt16LE(2), 0);
  swapped.writeUInt16LE(mixed.readUInt16LE(0), 2);
  const t = ticks & 0xff;
  return Buffer.from([swapped.readUInt8(0) ^ t, swapped.readUInt8(1) ^ t, t, swapped.readUInt8(3) ^ t]);
}
