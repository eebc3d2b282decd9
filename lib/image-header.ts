/**
 * What an uploaded photo really is, from its bytes: a file name or a Content-Type is whatever the
 * sender says. A JPEG must start with SOI and reach a frame header (SOFn) with a size; a PNG must
 * carry the 8-byte signature and an IHDR chunk whose fields and CRC are right. The pixels are not
 * decoded: the header is what tells a photo from a renamed text file or a truncated download.
 *
 * Layouts: JPEG, ITU-T T.81 (ISO/IEC 10918-1) Annex B.1.1.3 (markers) and B.2.2 (frame header);
 * PNG, W3C PNG Specification (Third Edition) §5.2 (signature), §5.3 (chunk layout, CRC-32) and §11.2.1 (IHDR).
 */

export interface ImageHeader {
  readonly type: 'jpeg' | 'png';
  readonly width: number;
  readonly height: number;
}

export type ImageCheck = ImageHeader | { readonly problem: string };

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a] as const;
/** Allowed bit depths per PNG colour type (§11.2.1, table 11.1). */
const PNG_DEPTHS: Readonly<Record<number, readonly number[]>> = {
  0: [1, 2, 4, 8, 16],
  2: [8, 16],
  3: [1, 2, 4, 8],
  4: [8, 16],
  6: [8, 16],
};

/** Reads the header of a JPEG or PNG; anything else, or a header that does not hold together, is a problem. */
export function imageHeader(bytes: Uint8Array): ImageCheck {
  if (bytes.length >= 2 && bytes[0] === 0xff && bytes[1] === 0xd8) return jpegHeader(bytes);
  if (bytes.length >= 8 && PNG_SIGNATURE.every((b, i) => bytes[i] === b)) return pngHeader(bytes);
  return { problem: 'not a JPEG or PNG image (its content says so, whatever its name)' };
}

export function isImageHeader(check: ImageCheck): check is ImageHeader {
  return !('problem' in check);
}

function u16(bytes: Uint8Array, at: number): number {
  return (bytes[at]! << 8) | bytes[at + 1]!;
}

function u32(bytes: Uint8Array, at: number): number {
  return ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0;
}

/** SOF0–SOF15 except DHT (C4), JPG (C8) and DAC (CC), which share the range (T.81 Table B.1). */
function isFrameMarker(marker: number): boolean {
  return marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
}

function jpegHeader(bytes: Uint8Array): ImageCheck {
  let at = 2;
  while (at + 4 <= bytes.length) {
    if (bytes[at] !== 0xff) return { problem: 'JPEG: a segment does not start with a marker' };
    let marker = bytes[at + 1]!;
    // Any number of 0xFF fill bytes may precede a marker (B.1.1.2).
    while (marker === 0xff && at + 2 < bytes.length) {
      at++;
      marker = bytes[at + 1]!;
    }
    at += 2;
    // Markers without a length: TEM and RSTn.
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) continue;
    if (marker === 0xd9 || marker === 0xda) return { problem: 'JPEG: no frame header before the image data' };
    if (at + 2 > bytes.length) break;
    const length = u16(bytes, at);
    if (length < 2) return { problem: 'JPEG: a segment length is below 2' };
    if (isFrameMarker(marker)) {
      if (length < 8 || at + 8 > bytes.length) break;
      const precision = bytes[at + 2]!;
      const height = u16(bytes, at + 3);
      const width = u16(bytes, at + 5);
      const components = bytes[at + 7]!;
      if (![8, 12, 16].includes(precision)) return { problem: `JPEG: sample precision ${precision}` };
      if (width === 0 || height === 0) return { problem: 'JPEG: the frame has no size' };
      if (components < 1 || components > 4 || length !== 8 + 3 * components) {
        return { problem: 'JPEG: the frame header does not hold together' };
      }
      return { type: 'jpeg', width, height };
    }
    at += length;
  }
  return { problem: 'JPEG: cut off before its frame header' };
}

function pngHeader(bytes: Uint8Array): ImageCheck {
  // Signature (8), IHDR length (4), type (4), data (13), CRC (4).
  if (bytes.length < 33) return { problem: 'PNG: cut off before the end of its IHDR chunk' };
  if (u32(bytes, 8) !== 13 || String.fromCharCode(...bytes.subarray(12, 16)) !== 'IHDR') {
    return { problem: 'PNG: the first chunk is not a 13-byte IHDR' };
  }
  if (crc32(bytes.subarray(12, 29)) !== u32(bytes, 29)) return { problem: 'PNG: the IHDR CRC is wrong' };
  const width = u32(bytes, 16);
  const height = u32(bytes, 20);
  const depth = bytes[24]!;
  const colourType = bytes[25]!;
  if (width === 0 || height === 0 || width > 0x7fffffff || height > 0x7fffffff) {
    return { problem: 'PNG: the image size is out of range' };
  }
  if (!PNG_DEPTHS[colourType]?.includes(depth)) {
    return { problem: `PNG: bit depth ${depth} with colour type ${colourType}` };
  }
  if (bytes[26] !== 0 || bytes[27] !== 0 || bytes[28]! > 1) {
    return { problem: 'PNG: unknown compression, filter or interlace method' };
  }
  return { type: 'png', width, height };
}

let crcTable: Uint32Array | undefined;

/** CRC-32 as PNG defines it (§5.3 and Annex D): polynomial 0xEDB88320, reflected. */
function crc32(data: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (const byte of data) crc = crcTable[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
