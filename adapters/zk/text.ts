import iconv from 'iconv-lite';

/** How a terminal stores names: Chinese firmware GB2312/GBK (read as gb18030), others UTF-8. */
export type ZkEncoding = 'gb18030' | 'utf8';

/** Reads a NUL-terminated string from a fixed-width field. */
export function decodeText(field: Uint8Array, encoding: ZkEncoding): string {
  const bytes = Buffer.from(field.buffer, field.byteOffset, field.byteLength);
  const nul = bytes.indexOf(0);
  const end = nul < 0 ? bytes.length : nul;
  // Both encodings are ASCII below 0x80: PINs and most names skip the decoder (hot in 10,000-user tables).
  let ascii = true;
  for (let i = 0; i < end && ascii; i++) ascii = (bytes[i] as number) < 0x80;
  return ascii ? bytes.toString('latin1', 0, end) : iconv.decode(bytes.subarray(0, end), encoding);
}

/**
 * Writes a string into a fixed-width field, NUL-padded. Text that does not fit is cut on a
 * character boundary (never mid-character, which would leave a broken glyph on the screen).
 */
export function encodeText(text: string, width: number, encoding: ZkEncoding): Buffer {
  const field = Buffer.alloc(width);
  writeText(text, width, encoding, field, 0);
  return field;
}

/** encodeText into `out` at `at`, so a record of many fields is built in one buffer. */
export function writeText(text: string, width: number, encoding: ZkEncoding, out: Buffer, at: number): void {
  out.fill(0, at, at + width);
  if (isAscii(text)) {
    out.write(text.slice(0, width), at, 'latin1');
    return;
  }
  let used = 0;
  for (const ch of text) {
    const bytes = iconv.encode(ch, encoding);
    if (used + bytes.length > width) break;
    bytes.copy(out, at + used);
    used += bytes.length;
  }
}

/** Printable and control ASCII but NUL: one byte per character in both encodings. */
function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === 0 || code > 0x7f) return false;
  }
  return true;
}
