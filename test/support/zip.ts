import { deflateRawSync, inflateRawSync } from 'node:zlib';

/**
 * A minimal zip writer after PKWARE's APPNOTE.TXT (§4.3: local file header, central directory,
 * end of central directory), so a test can build an .xlsx by hand, byte by byte, without any
 * spreadsheet library: the reader under test then meets a file no library of ours wrote.
 */

export interface ZipEntry {
  readonly name: string;
  readonly data: Uint8Array | string;
  /** Compression method 8 (deflate, Node's zlib), else 0 (stored). */
  readonly deflate?: boolean;
}

/** CRC-32 of ISO 3309 / ITU-T V.42 (polynomial 0xEDB88320, reflected), as APPNOTE §4.4.7 asks. */
export function crc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

export function zip(entries: readonly ZipEntry[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const entry of entries) {
    const name = Buffer.from(entry.name, 'utf8');
    const raw = typeof entry.data === 'string' ? Buffer.from(entry.data, 'utf8') : Buffer.from(entry.data);
    const packed = entry.deflate ? deflateRawSync(raw) : raw;
    const method = entry.deflate ? 8 : 0;
    const crc = crc32(raw);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0); // local file header signature
    local.writeUInt16LE(20, 4); // version needed: 2.0
    local.writeUInt16LE(0x0800, 6); // flags: bit 11, names in UTF-8
    local.writeUInt16LE(method, 8);
    local.writeUInt16LE(0, 10); // time
    local.writeUInt16LE(0x21, 12); // date: 1980-01-01
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(packed.length, 18);
    local.writeUInt32LE(raw.length, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28); // extra field length
    locals.push(local, name, packed);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0); // central file header signature
    central.writeUInt16LE(20, 4); // version made by
    central.writeUInt16LE(20, 6); // version needed
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt16LE(method, 10);
    central.writeUInt16LE(0, 12);
    central.writeUInt16LE(0x21, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(packed.length, 20);
    central.writeUInt32LE(raw.length, 24);
    central.writeUInt16LE(name.length, 28);
    // extra, comment, disk number, internal and external attributes: all 0
    central.writeUInt32LE(offset, 42); // offset of the local header
    centrals.push(central, name);
    offset += local.length + name.length + packed.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0); // end of central directory signature
  end.writeUInt16LE(entries.length, 8); // entries on this disk
  end.writeUInt16LE(entries.length, 10); // entries in all
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

/**
 * The smallest .xlsx Excel opens (ECMA-376 Part 1, §12.2 and §18.2/§18.3): the content types, the
 * package relationship to the workbook, the workbook with one sheet and its relationship, the sheet.
 * `sheetXml` is the sheet's `<sheetData>` content; `sharedStrings`, when given, the `<sst>` items.
 */
export function handMadeXlsx(options: {
  readonly sheetData: string;
  readonly sharedStrings?: readonly string[];
  readonly deflate?: boolean;
  /** A second sheet after the first, which the reader must not read. */
  readonly secondSheetData?: string;
}): Buffer {
  const ns = 'http://schemas.openxmlformats.org/spreadsheetml/2006/main';
  const rel = 'http://schemas.openxmlformats.org/officeDocument/2006/relationships';
  const pkg = 'http://schemas.openxmlformats.org/package/2006/relationships';
  const sheets = options.secondSheetData === undefined ? 1 : 2;
  const overrides = [
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>',
    ...Array.from(
      { length: sheets },
      (_, i) =>
        `<Override PartName="/xl/worksheets/sheet${i + 1}.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>`,
    ),
    ...(options.sharedStrings
      ? [
          '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>',
        ]
      : []),
  ];
  const head = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n';
  const entries: ZipEntry[] = [
    {
      name: '[Content_Types].xml',
      data: `${head}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>${overrides.join('')}</Types>`,
    },
    {
      name: '_rels/.rels',
      data: `${head}<Relationships xmlns="${pkg}"><Relationship Id="rId1" Type="${rel}/officeDocument" Target="xl/workbook.xml"/></Relationships>`,
    },
    {
      name: 'xl/workbook.xml',
      data: `${head}<workbook xmlns="${ns}" xmlns:r="${rel}"><sheets>${Array.from(
        { length: sheets },
        (_, i) => `<sheet name="工作表${i + 1}" sheetId="${i + 1}" r:id="rId${i + 1}"/>`,
      ).join('')}</sheets></workbook>`,
    },
    {
      name: 'xl/_rels/workbook.xml.rels',
      data: `${head}<Relationships xmlns="${pkg}">${Array.from(
        { length: sheets },
        (_, i) =>
          `<Relationship Id="rId${i + 1}" Type="${rel}/worksheet" Target="worksheets/sheet${i + 1}.xml"/>`,
      ).join('')}${
        options.sharedStrings
          ? `<Relationship Id="rId${sheets + 1}" Type="${rel}/sharedStrings" Target="sharedStrings.xml"/>`
          : ''
      }</Relationships>`,
    },
    {
      name: 'xl/worksheets/sheet1.xml',
      data: `${head}<worksheet xmlns="${ns}"><sheetData>${options.sheetData}</sheetData></worksheet>`,
    },
  ];
  if (options.secondSheetData !== undefined) {
    entries.push({
      name: 'xl/worksheets/sheet2.xml',
      data: `${head}<worksheet xmlns="${ns}"><sheetData>${options.secondSheetData}</sheetData></worksheet>`,
    });
  }
  if (options.sharedStrings) {
    const items = options.sharedStrings.map((s) => `<si><t>${s}</t></si>`).join('');
    entries.push({
      name: 'xl/sharedStrings.xml',
      data: `${head}<sst xmlns="${ns}" count="${options.sharedStrings.length}" uniqueCount="${options.sharedStrings.length}">${items}</sst>`,
    });
  }
  return zip(entries.map((e) => ({ ...e, deflate: options.deflate })));
}

/** An inline-string cell (`t="inlineStr"`, ECMA-376 §18.3.1.4). */
export function inlineCell(ref: string, text: string): string {
  return `<c r="${ref}" t="inlineStr"><is><t>${text}</t></is></c>`;
}

/**
 * Every entry of a zip by name, inflated: read through the central directory (APPNOTE §4.3.12,
 * §4.3.16), which holds the sizes a streamed writer puts after the data. No zip64, no encryption.
 */
export function unzip(file: Buffer): Map<string, Buffer> {
  const end = file.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (end < 0) throw new Error('no end of central directory');
  const count = file.readUInt16LE(end + 10);
  let at = file.readUInt32LE(end + 16);
  const entries = new Map<string, Buffer>();
  for (let i = 0; i < count; i++) {
    if (file.readUInt32LE(at) !== 0x02014b50) throw new Error(`no central header at ${at}`);
    const method = file.readUInt16LE(at + 10);
    const compressed = file.readUInt32LE(at + 20);
    const nameLength = file.readUInt16LE(at + 28);
    const skip = nameLength + file.readUInt16LE(at + 30) + file.readUInt16LE(at + 32);
    const local = file.readUInt32LE(at + 42);
    const name = file.subarray(at + 46, at + 46 + nameLength).toString('utf8');
    const data = local + 30 + file.readUInt16LE(local + 26) + file.readUInt16LE(local + 28);
    const bytes = file.subarray(data, data + compressed);
    entries.set(name, method === 8 ? inflateRawSync(bytes) : Buffer.from(bytes));
    at += 46 + skip;
  }
  return entries;
}
