import iconv from 'iconv-lite';

/** How a terminal stores names: Chinese firmware GB2312/GBK (read as gb18030), others UTF-8. */
export type ZkEncoding = 'gb18030' | 'utf8';

/** Reads a NUL-terminated string from a fixed-width field. */
export function decodeText(field: Uint8Array, encoding: ZkEncoding): string {
  const bytes = Buffer.from(field.buffer, field.byteOffset, field.byteLength);
  const end = bytes.indexOf(0);
  return iconv.decode(end < 0 ? bytes : bytes.subarray(0, end), encoding);
}

/**
 * Writes a string into a fixed-width field, NUL-padded. Text that does not fit is cut on a
 * character boundary (never mid-character, which would leave a broken glyph on the screen).
 */
export function encodeText(text: string, width: number, encoding: ZkEncoding): Buffer {
  const field = Buffer.alloc(width);
  let used = 0;
  for (const ch of text) {
    const bytes = iconv.encode(ch, encoding);
    if (used + bytes.length > width) break;
    bytes.copy(field, used);
    used += bytes.length;
  }
  return field;
}
