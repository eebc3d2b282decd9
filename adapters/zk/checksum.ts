/**
 * The ZK packet checksum over a header+data body: the sum of little-endian u16 words
 * (a trailing odd byte counts as a low byte), carries folded back in, ones' complement.
 * The checksum field (bytes 2–3) is treated as zero. Worked examples: docs/protocols/zk.md#checksum.
 */
export function zkChecksum(body: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i + 1 < body.length; i += 2) {
    if (i === 2) continue;
    sum += (body[i] ?? 0) | ((body[i + 1] ?? 0) << 8);
  }
  if (body.length % 2 === 1) sum += body[body.length - 1] ?? 0;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}
