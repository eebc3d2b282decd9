import type { CellValue } from 'exceljs';
import iconv from 'iconv-lite';
import { checkZipSize, isZip } from './import-zip';

/**
 * A table file a site manager uploads (the team import): an .xlsx workbook's first worksheet, or a
 * CSV as Excel and WPS save it (UTF-8 with or without a BOM, GBK from a Chinese Excel, UTF-16 from
 * "Unicode text"). What it is is read from its bytes, never from its name or type header.
 */

/** The largest file accepted: a roster of thousands of rows is a few hundred kilobytes. */
export const MAX_IMPORT_BYTES = 5 * 1024 * 1024;
/** Rows beyond the header; more than any site's roster. */
export const MAX_IMPORT_ROWS = 10_000;
/** Columns read per row; a roster sheet has a handful, the rest is ignored. */
const MAX_COLUMNS = 64;
/** What an .xlsx may unpack to (its XML is ~10× its zip). */
const MAX_UNPACKED_BYTES = 64 * 1024 * 1024;

export interface TableRow {
  /** The row's number as the spreadsheet shows it (1 = the first line of the file). */
  readonly line: number;
  readonly cells: readonly string[];
}

export interface Table {
  readonly format: 'xlsx' | 'csv';
  readonly rows: readonly TableRow[];
}

export type TableFileProblem =
  | { readonly code: 'empty' }
  | { readonly code: 'tooLarge'; readonly bytes: number; readonly max: number }
  | { readonly code: 'oldExcel' }
  | { readonly code: 'notTable' }
  | { readonly code: 'badXlsx'; readonly detail?: string }
  | { readonly code: 'unpacksTooLarge'; readonly max: number }
  | { readonly code: 'noSheet' }
  | { readonly code: 'tooManyRows'; readonly max: number }
  | { readonly code: 'unclosedQuote'; readonly line: number };

export type TableFile =
  | { readonly ok: true; readonly table: Table }
  | { readonly ok: false; readonly problem: TableFileProblem };

const fail = (problem: TableFileProblem): TableFile => ({ ok: false, problem });

/** An old binary .xls (an OLE2 compound file) begins with these bytes. */
const OLE2 = [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1];

export async function readTableFile(bytes: Uint8Array): Promise<TableFile> {
  if (bytes.length === 0) return fail({ code: 'empty' });
  if (bytes.length > MAX_IMPORT_BYTES)
    return fail({ code: 'tooLarge', bytes: bytes.length, max: MAX_IMPORT_BYTES });
  if (isZip(bytes)) return readXlsx(bytes);
  if (OLE2.every((b, i) => bytes[i] === b)) return fail({ code: 'oldExcel' });
  return readCsv(bytes);
}

// ───────────────────────────── CSV ─────────────────────────────

/**
 * The text of a CSV file: a BOM says its encoding; without one, UTF-8 if the bytes are valid UTF-8,
 * else GB18030 (a superset of GBK, what a Chinese Excel's "CSV" is). A NUL byte means it is no text.
 */
export function decodeText(bytes: Uint8Array): string | undefined {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf)
    return checked(buffer.subarray(3).toString('utf8'));
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return checked(iconv.decode(buffer.subarray(2), 'utf-16le'));
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return checked(iconv.decode(buffer.subarray(2), 'utf-16be'));
  if (buffer.includes(0)) return undefined;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(buffer);
  } catch {
    return iconv.decode(buffer, 'gb18030');
  }
}

function checked(text: string): string | undefined {
  return text.includes('\u0000') ? undefined : text;
}

export function readCsv(bytes: Uint8Array): TableFile {
  const text = decodeText(bytes);
  if (text === undefined) return fail({ code: 'notTable' });
  return parseCsv(text, delimiterOf(text));
}

/** Comma as Excel in China writes it; a semicolon (European Excel) or a tab ("Unicode text") if the first line has more of those. */
export function delimiterOf(text: string): string {
  const firstLine = text.slice(0, text.search(/\r|\n|$/));
  let best = ',';
  let most = count(firstLine, ',');
  for (const candidate of [';', '\t']) {
    const n = count(firstLine, candidate);
    if (n > most) {
      best = candidate;
      most = n;
    }
  }
  return best;
}

function count(text: string, char: string): number {
  let n = 0;
  for (const c of text) if (c === char) n++;
  return n;
}

/**
 * RFC 4180 as spreadsheets write it: fields in double quotes may hold the delimiter, line breaks and
 * `""` for a quote; records end with CRLF, LF or CR. Blank records are left out.
 */
export function parseCsv(text: string, delimiter = ','): TableFile {
  const rows: TableRow[] = [];
  let cells: string[] = [];
  let cell = '';
  let quoted = false;
  // A spreadsheet's row number: records, not physical lines (a quoted cell may span several).
  let record = 1;
  const endRecord = (): boolean => {
    cells.push(cell);
    if (cells.some((c) => c.trim() !== '')) rows.push({ line: record, cells: cells.slice(0, MAX_COLUMNS) });
    cells = [];
    cell = '';
    record++;
    return rows.length <= MAX_IMPORT_ROWS + 1;
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c !== '"') cell += c;
      else if (text[i + 1] === '"') {
        cell += '"';
        i++;
      } else quoted = false;
    } else if (c === '"' && cell === '') quoted = true;
    else if (c === delimiter) {
      cells.push(cell);
      cell = '';
    } else if (c === '\r' || c === '\n') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      if (!endRecord()) return fail({ code: 'tooManyRows', max: MAX_IMPORT_ROWS });
    } else cell += c;
  }
  if (quoted) return fail({ code: 'unclosedQuote', line: record });
  if ((cell !== '' || cells.length > 0) && !endRecord()) {
    return fail({ code: 'tooManyRows', max: MAX_IMPORT_ROWS });
  }
  return { ok: true, table: { format: 'csv', rows } };
}

// ───────────────────────────── xlsx ─────────────────────────────

/**
 * The first worksheet of a workbook, through exceljs (loaded on first use: a gateway that never
 * imports never loads it). The zip is checked first, so a small upload cannot unpack to gigabytes.
 */
export async function readXlsx(bytes: Uint8Array): Promise<TableFile> {
  const zip = await checkZipSize(bytes, MAX_UNPACKED_BYTES);
  if (!zip.ok) {
    return fail(
      zip.problem === 'tooLarge' ? { code: 'unpacksTooLarge', max: MAX_UNPACKED_BYTES } : { code: 'badXlsx' },
    );
  }
  const { Workbook } = await loadExcel();
  const workbook = new Workbook();
  try {
    // exceljs declares its own `Buffer` (an ArrayBuffer); it takes Node's at run time.
    await workbook.xlsx.load(Buffer.from(bytes) as unknown as ArrayBuffer);
  } catch (error) {
    return fail({ code: 'badXlsx', detail: (error as Error).message });
  }
  const sheet = workbook.worksheets[0];
  if (!sheet) return fail({ code: 'noSheet' });
  const rows: TableRow[] = [];
  let tooMany = false;
  sheet.eachRow({ includeEmpty: false }, (row, line) => {
    if (tooMany) return;
    const cells: string[] = [];
    const last = Math.min(row.cellCount, MAX_COLUMNS);
    for (let col = 1; col <= last; col++) cells.push(cellText(row.getCell(col).value));
    if (!cells.some((c) => c.trim() !== '')) return;
    rows.push({ line, cells });
    tooMany = rows.length > MAX_IMPORT_ROWS + 1;
  });
  if (tooMany) return fail({ code: 'tooManyRows', max: MAX_IMPORT_ROWS });
  return { ok: true, table: { format: 'xlsx', rows } };
}

type ExcelModule = typeof import('exceljs');

async function loadExcel(): Promise<ExcelModule> {
  const loaded = (await import('exceljs')) as ExcelModule & { default?: ExcelModule };
  // Node's ESM loader shows this CommonJS package only as `default`; the bundle shows its names too.
  return loaded.default ?? loaded;
}

/** A cell as the text a person sees in it. */
export function cellText(value: CellValue): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return numberText(value);
  if (typeof value === 'boolean') return value ? 'TRUE' : 'FALSE';
  if (value instanceof Date) return value.toISOString().slice(0, 10);
  if ('richText' in value) return value.richText.map((run) => run.text).join('');
  if ('formula' in value || 'sharedFormula' in value) return cellText(value.result ?? null);
  // A link's text is rich text when part of it is formatted, whatever the type says.
  if ('hyperlink' in value) return cellText(value.text as CellValue);
  if ('error' in value) return value.error;
  return '';
}

/**
 * A whole number past 2^53 has lost digits (an ID number typed into a number cell: Excel keeps 15
 * significant digits): written as Excel shows it, with an exponent, so it is never taken as an ID.
 */
function numberText(n: number): string {
  if (Number.isInteger(n) && !Number.isSafeInteger(n)) return n.toExponential().toUpperCase();
  return String(n);
}
