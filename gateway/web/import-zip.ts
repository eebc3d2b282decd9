import { promisify } from 'node:util';
import { inflateRaw } from 'node:zlib';

const inflate = promisify(inflateRaw);

/** An .xlsx is a zip: its local file header begins with these four bytes (APPNOTE.TXT §4.3.7). */
export function isZip(bytes: Uint8Array): boolean {
  return (
    bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04
  );
}

export type ZipCheck =
  | { readonly ok: true }
  | { readonly ok: false; readonly problem: 'damaged' | 'tooLarge' };

const EOCD = 0x06054b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

/**
 * Whether a zip unpacks to at most `maxUnpacked` bytes, found by unpacking each entry (off the event
 * loop, in zlib's thread pool) with that budget as the ceiling: a small upload must not be able to
 * fill the box's memory when the workbook reader unpacks it, and the sizes a zip declares may lie.
 * Checked before the workbook reader, which unpacks everything into memory at once.
 */
export async function checkZipSize(bytes: Uint8Array, maxUnpacked: number): Promise<ZipCheck> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const end = findEndOfCentralDirectory(view);
  if (end === undefined) return { ok: false, problem: 'damaged' };
  const entries = view.getUint16(end + 10, true);
  let at = view.getUint32(end + 16, true);
  let budget = maxUnpacked;
  for (let i = 0; i < entries; i++) {
    if (at + 46 > bytes.length || view.getUint32(at, true) !== CENTRAL)
      return { ok: false, problem: 'damaged' };
    const method = view.getUint16(at + 10, true);
    const packed = view.getUint32(at + 20, true);
    const nameLength = view.getUint16(at + 28, true);
    const extraLength = view.getUint16(at + 30, true);
    const commentLength = view.getUint16(at + 32, true);
    const local = view.getUint32(at + 42, true);
    at += 46 + nameLength + extraLength + commentLength;
    if (local + 30 > bytes.length || view.getUint32(local, true) !== LOCAL)
      return { ok: false, problem: 'damaged' };
    const start = local + 30 + view.getUint16(local + 26, true) + view.getUint16(local + 28, true);
    if (start + packed > bytes.length) return { ok: false, problem: 'damaged' };
    let unpacked: number;
    if (method === 0) unpacked = packed;
    else if (method === 8) {
      try {
        // One byte over the budget is enough to know it is too much.
        const out = await inflate(bytes.subarray(start, start + packed), { maxOutputLength: budget + 1 });
        unpacked = out.length;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE')
          return { ok: false, problem: 'tooLarge' };
        return { ok: false, problem: 'damaged' };
      }
    } else return { ok: false, problem: 'damaged' };
    budget -= unpacked;
    if (budget < 0) return { ok: false, problem: 'tooLarge' };
  }
  return { ok: true };
}

/** The end-of-central-directory record: the last 22 bytes, or earlier by a comment of up to 64 KiB. */
function findEndOfCentralDirectory(view: DataView): number | undefined {
  const last = view.byteLength - 22;
  for (let at = last; at >= 0 && at >= last - 0xffff; at--) {
    if (view.getUint32(at, true) === EOCD) return at;
  }
  return undefined;
}
