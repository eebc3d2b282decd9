import ExcelJS from 'exceljs';
import { describe, expect, it } from 'vitest';
import type { Worker } from '../../gateway/roster/roster';
import {
  MAX_IMPORT_BYTES,
  readTableFile,
  type TableFile,
  type TableRow,
} from '../../gateway/web/import-file';
import { countRows, findHeader, planChanges, planImport } from '../../gateway/web/import-plan';
import { ImportPreviews, PREVIEW_TTL_MS, type StoredPreview } from '../../gateway/web/import-previews';
import { cleanTeamValue } from '../../gateway/web/team-fields';
import { handMadeXlsx, inlineCell, zip } from '../support/zip';

/**
 * The team import's file reading and matching. The CSV bytes are written out by hand: each
 * character's UTF-8 and GBK bytes from the Unicode code charts and the GB 2312 table (cited beside
 * them); the .xlsx files are zips built by hand from ECMA-376's parts (test/support/zip.ts), so the
 * reader is not only checked against the library that reads it.
 */

const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex');

// UTF-8 (RFC 3629) of the Unicode code points, and GBK / GB 2312 (区位码 + 0xA0A0):
//   姓 U+59D3 e5 a7 93 / d0 d5 (48-53)   名 U+540D e5 90 8d / c3 fb (35-91)
//   身 U+8EAB e8 ba ab / c9 ed           份 U+4EFD e4 bb bd / b7 dd
//   证 U+8BC1 e8 af 81 / d6 a4           号 U+53F7 e5 8f b7 / ba c5
//   班 U+73ED e7 8f ad / b0 e0 (16-64)   组 U+7EC4 e7 bb 84 / d7 e9 (55-73)
//   张 U+5F20 e5 bc a0 / d5 c5 (53-37)   三 U+4E09 e4 b8 89 / c8 fd (40-93)
//   李 U+674E e6 9d 8e / c0 ee           四 U+56DB e5 9b 9b / cb c4
//   木 U+6728 e6 9c a8 / c4 be           工 U+5DE5 e5 b7 a5 / b9 a4
//   钢 U+94A2 e9 92 a2 / b8 d6           筋 U+7B4B e7 ad 8b / bd ee
const U = {
  name: 'e5a793 e5908d',
  id: 'e8baab e4bbbd e8af81 e58fb7',
  team: 'e78fad e7bb84',
  zhangSan: 'e5bca0 e4b889',
  liSi: 'e69d8e e59b9b',
  carpenters: 'e69ca8 e5b7a5 e78fad',
  rebar: 'e992a2 e7ad8b e78fad',
};
const G = {
  name: 'd0d5 c3fb',
  team: 'b0e0 d7e9',
  zhangSan: 'd5c5 c8fd',
  liSi: 'c0ee cbc4',
  carpenters: 'c4be b9a4 b0e0',
  rebar: 'b8d6 bdee b0e0',
};
const A = (text: string) => Buffer.from(text, 'latin1').toString('hex');
const COMMA = A(',');
const CRLF = '0d0a';
const QUOTE = A('"');

function rowsOf(read: TableFile): string[][] {
  if (!read.ok) throw new Error(`not read: ${JSON.stringify(read.problem)}`);
  return read.table.rows.map((r) => [...r.cells]);
}

describe('CSV from bytes written out by hand', () => {
  it('reads UTF-8 with a BOM, CRLF, a quoted field holding commas and a doubled quote', async () => {
    // 姓名,身份证号,班组\r\n张三,11010519491231002X,"木工班,2"\r\n"李""四",,钢筋班\r\n
    const bytes = hex(
      `efbbbf ${U.name} ${COMMA} ${U.id} ${COMMA} ${U.team} ${CRLF}` +
        `${U.zhangSan} ${COMMA} ${A('11010519491231002X')} ${COMMA} ${QUOTE} ${U.carpenters} ${COMMA} ${A('2')} ${QUOTE} ${CRLF}` +
        `${QUOTE} ${U.liSi.slice(0, 6)} ${QUOTE}${QUOTE} ${U.liSi.slice(7)} ${QUOTE} ${COMMA} ${COMMA} ${U.rebar} ${CRLF}`,
    );
    const read = await readTableFile(bytes);
    expect(read.ok && read.table.format).toBe('csv');
    expect(rowsOf(read)).toEqual([
      ['姓名', '身份证号', '班组'],
      ['张三', '11010519491231002X', '木工班,2'],
      ['李"四', '', '钢筋班'],
    ]);
  });

  it('reads UTF-8 without a BOM and with bare LF line ends', async () => {
    const bytes = hex(`${U.name} ${COMMA} ${U.team} 0a ${U.zhangSan} ${COMMA} ${U.carpenters} 0a`);
    expect(rowsOf(await readTableFile(bytes))).toEqual([
      ['姓名', '班组'],
      ['张三', '木工班'],
    ]);
  });

  it('reads GBK, as a Chinese Excel saves "CSV (comma delimited)"', async () => {
    const bytes = hex(
      `${G.name} ${COMMA} ${G.team} ${CRLF} ${G.zhangSan} ${COMMA} ${G.carpenters} ${CRLF} ${G.liSi} ${COMMA} ${G.rebar} ${CRLF}`,
    );
    // Not valid UTF-8 (d0 d5 is a lead byte followed by a non-continuation byte), so it is taken as GBK.
    expect(() => new TextDecoder('utf-8', { fatal: true }).decode(bytes)).toThrow();
    expect(rowsOf(await readTableFile(bytes))).toEqual([
      ['姓名', '班组'],
      ['张三', '木工班'],
      ['李四', '钢筋班'],
    ]);
  });

  it('reads UTF-16LE with a BOM and tabs, as Excel saves "Unicode text"', async () => {
    // FF FE, then each UTF-16 code unit low byte first: 姓 = d3 59, 名 = 0d 54, tab = 09 00 …
    const bytes = hex('fffe d359 0d54 0900 ed73 c47e 0d00 0a00 205f 094e 0900 2867 e55d ed73 0d00 0a00');
    expect(rowsOf(await readTableFile(bytes))).toEqual([
      ['姓名', '班组'],
      ['张三', '木工班'],
    ]);
  });

  it('keeps a line break inside quotes in its cell, numbers rows as a spreadsheet does, and skips blank rows', async () => {
    const text = '姓名;班组\r"张三";"木工\r\n一组"\r\r王五;;\r';
    const read = await readTableFile(Buffer.from(text, 'utf8'));
    if (!read.ok) throw new Error('not read');
    expect(read.table.rows).toEqual([
      { line: 1, cells: ['姓名', '班组'] },
      { line: 2, cells: ['张三', '木工\r\n一组'] },
      { line: 4, cells: ['王五', '', ''] },
    ]);
  });

  it('says where a quote is never closed', async () => {
    const read = await readTableFile(Buffer.from('姓名,班组\n张三,"木工班\n李四,钢筋班\n', 'utf8'));
    expect(read).toEqual({ ok: false, problem: { code: 'unclosedQuote', line: 2 } });
  });

  it('refuses what is no table: binary, an old .xls, an empty or an oversized file', async () => {
    expect(await readTableFile(hex('89504e470d0a1a0a0000000d49484452'))).toEqual({
      ok: false,
      problem: { code: 'notTable' },
    });
    expect(await readTableFile(hex('d0cf11e0a1b11ae1 0000 0000'))).toEqual({
      ok: false,
      problem: { code: 'oldExcel' },
    });
    expect(await readTableFile(new Uint8Array())).toEqual({ ok: false, problem: { code: 'empty' } });
    const big = Buffer.alloc(MAX_IMPORT_BYTES + 1, 0x41);
    expect(await readTableFile(big)).toEqual({
      ok: false,
      problem: { code: 'tooLarge', bytes: MAX_IMPORT_BYTES + 1, max: MAX_IMPORT_BYTES },
    });
  });
});

describe('xlsx built by hand (ECMA-376 parts in a zip we write ourselves)', () => {
  it('reads inline strings of the first sheet only, with the rows numbered as in the sheet', async () => {
    const file = handMadeXlsx({
      sheetData:
        `<row r="1">${inlineCell('A1', '某项目人员班组表')}</row>` +
        `<row r="3">${inlineCell('A3', '姓名')}${inlineCell('B3', '班组')}${inlineCell('C3', '劳务分包单位')}</row>` +
        `<row r="4">${inlineCell('A4', '张三')}${inlineCell('B4', '木工班')}${inlineCell('C4', '成都建工劳务有限公司')}</row>` +
        // A cell skipped (B5 absent): the columns stay where they are.
        `<row r="5">${inlineCell('A5', '李四')}${inlineCell('C5', '某劳务公司')}</row>`,
      secondSheetData: `<row r="1">${inlineCell('A1', '不应读取')}</row>`,
    });
    const read = await readTableFile(file);
    if (!read.ok) throw new Error(JSON.stringify(read.problem));
    expect(read.table.format).toBe('xlsx');
    expect(read.table.rows).toEqual([
      { line: 1, cells: ['某项目人员班组表'] },
      { line: 3, cells: ['姓名', '班组', '劳务分包单位'] },
      { line: 4, cells: ['张三', '木工班', '成都建工劳务有限公司'] },
      { line: 5, cells: ['李四', '', '某劳务公司'] },
    ]);
    const header = findHeader(read.table.rows);
    expect(header).toEqual({ ok: true, index: 1, columns: { name: 0, team: 1, employer: 2 } });
  });

  it('reads shared strings and numbers from deflated parts; an ID number kept as a number is no ID number', async () => {
    const file = handMadeXlsx({
      deflate: true,
      sharedStrings: ['身份证号', '班组', '钢筋班'],
      sheetData:
        '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row>' +
        // Excel keeps 15 significant digits: an 18-digit ID number typed as a number loses its end.
        '<row r="2"><c r="A2"><v>1.10105194912310E+17</v></c><c r="B2" t="s"><v>2</v></c></row>' +
        '<row r="3"><c r="A3"><v>42</v></c><c r="B3"><v>3</v></c></row>',
    });
    const rows = rowsOf(await readTableFile(file));
    expect(rows).toEqual([
      ['身份证号', '班组'],
      ['1.1010519491231E+17', '钢筋班'],
      ['42', '3'],
    ]);
    const table = rows.map((cells, i) => ({ line: i + 1, cells }));
    const plan = planImport(table, { index: 0, columns: { idCardNo: 0, team: 1 } }, []);
    expect(plan.rows[0]).toMatchObject({ status: 'invalid', problems: [{ code: 'idAsNumber' }] });
  });

  it('reads a workbook exceljs wrote too (rich text, a formula result, a date)', async () => {
    const workbook = new ExcelJS.Workbook();
    const sheet = workbook.addWorksheet('名单');
    sheet.addRow(['姓名', '身份证号', '班组', '分包单位']);
    sheet.addRow([
      '张三',
      '11010519491231002x',
      { richText: [{ text: '木工' }, { text: '班', font: { bold: true } }] },
      { formula: '"成都"&"劳务"', result: '成都劳务' },
    ]);
    sheet.addRow(['李四', '', new Date(Date.UTC(2024, 0, 2)), '']);
    const file = Buffer.from(await workbook.xlsx.writeBuffer());
    expect(rowsOf(await readTableFile(file))).toEqual([
      ['姓名', '身份证号', '班组', '分包单位'],
      ['张三', '11010519491231002x', '木工班', '成都劳务'],
      ['李四', '', '2024-01-02', ''],
    ]);
  });

  it('refuses a damaged zip, a zip that is no workbook, and one that unpacks to more than allowed', async () => {
    const good = handMadeXlsx({ sheetData: `<row r="1">${inlineCell('A1', '姓名')}</row>` });
    // The central directory's offset pointing nowhere.
    const damaged = Buffer.from(good);
    damaged.writeUInt32LE(0x7fffffff, damaged.length - 6);
    expect(await readTableFile(damaged)).toEqual({ ok: false, problem: { code: 'badXlsx' } });
    const cut = good.subarray(0, good.length - 30);
    expect((await readTableFile(cut)).ok).toBe(false);
    const notWorkbook = zip([{ name: 'readme.txt', data: '这不是表格' }]);
    const read = await readTableFile(notWorkbook);
    expect(read.ok).toBe(false);
    if (!read.ok) expect(['badXlsx', 'noSheet']).toContain(read.problem.code);
    // 80 MB of zeros deflate to ~80 kB: within the upload limit, far past what it may unpack to.
    const bomb = zip([
      { name: 'xl/worksheets/sheet1.xml', data: new Uint8Array(80 * 1024 * 1024), deflate: true },
    ]);
    expect(bomb.length).toBeLessThan(200_000);
    expect(await readTableFile(bomb)).toEqual({
      ok: false,
      problem: { code: 'unpacksTooLarge', max: 64 * 1024 * 1024 },
    });
    // A deflated entry that is not deflate data.
    const garbage = zip([{ name: 'a.xml', data: 'x' }]);
    garbage.writeUInt16LE(8, 8);
    garbage.writeUInt16LE(8, garbage.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02])) + 10);
    expect(await readTableFile(garbage)).toEqual({ ok: false, problem: { code: 'badXlsx' } });
  });
});

/** A worker as the roster holds them. */
function worker(id: string, name: string, more: Partial<Worker> = {}): Worker {
  return {
    id,
    pin: id.replace(/\D/g, '') || '1',
    name,
    identities: {},
    sources: ['local'],
    status: 'active',
    templates: [],
    updatedMs: 0,
    ...more,
  };
}

function table(...rows: string[][]): TableRow[] {
  return rows.map((cells, i) => ({ line: i + 1, cells }));
}

function plan(rows: TableRow[], workers: Worker[]) {
  const header = findHeader(rows);
  if (!header.ok) throw new Error(JSON.stringify(header.problem));
  return planImport(rows, header, workers);
}

describe('matching rows to workers', () => {
  const roster = [
    worker('w1', '张三', { identities: { idCardNo: '11010519491231002X' }, team: '木工班' }),
    worker('w2', '李四'),
    worker('w3', '王五'),
    worker('w4', '王五'),
    worker('w5', '赵六', { identities: { deliUserId: '81001' }, sources: ['deli'] }),
    worker('w6', '孙七', { identities: { idCardNo: '440524188001010014' } }),
    worker('w7', '周八', { status: 'removed', identities: { idCardNo: '510104199001011234' } }),
  ];

  it('matches by ID number first (a lower-case x too), else by a name exactly one active worker has', () => {
    const result = plan(
      table(
        ['姓名', '身份证号', '班组', '劳务分包单位'],
        ['张叁', '11010519491231002x', '钢筋班', '成都劳务'],
        ['李 四', '', '钢筋班', ''],
        ['王五', '', '木工班', ''],
        ['无此人', '', '木工班', ''],
        ['赵六', '510104199001019999', '木工班', ''],
        ['孙七', '510104199001019999', '木工班', ''],
        ['', '510104199001011234', '', '某劳务'],
        ['张三', '', '木工班', ''],
        ['李四', '', '', ''],
        ['张三', '', '木工班', '成都劳务'],
      ),
      roster,
    );
    const byLine = new Map(result.rows.map((r) => [r.line, r]));
    expect(byLine.get(2)).toMatchObject({
      status: 'change',
      workerId: 'w1',
      matchedBy: 'idCardNo',
      before: { team: '木工班' },
      values: { team: '钢筋班', employer: '成都劳务' },
      problems: [{ code: 'nameDiffers', rosterName: '张三' }],
    });
    // "李 四" as sheets pad two-character names: spaces do not count.
    expect(byLine.get(3)).toMatchObject({ status: 'change', workerId: 'w2', matchedBy: 'name' });
    expect(byLine.get(4)).toMatchObject({ status: 'ambiguous', candidates: ['w3', 'w4'] });
    expect(byLine.get(5)).toMatchObject({ status: 'none', problems: [] });
    // A Deli worker has no ID number on record: the name finds them.
    expect(byLine.get(6)).toMatchObject({ status: 'change', workerId: 'w5', matchedBy: 'name' });
    // The one 孙七 has another ID number on record: not them.
    expect(byLine.get(7)).toMatchObject({ status: 'none', problems: [{ code: 'idDiffers' }] });
    expect(byLine.get(8)).toMatchObject({
      status: 'change',
      workerId: 'w7',
      problems: [{ code: 'removedWorker' }],
    });
    // Row 2 already set 张三 (by ID number): this row is a repeat of the same worker.
    expect(byLine.get(9)).toMatchObject({
      status: 'duplicate',
      problems: [{ code: 'sameWorkerAs', line: 2 }],
    });
    expect(byLine.get(10)).toMatchObject({ status: 'invalid', problems: [{ code: 'noValue' }] });
    expect(countRows(result)).toEqual({
      change: 4,
      same: 0,
      none: 2,
      ambiguous: 1,
      invalid: 1,
      duplicate: 2,
    });
  });

  it('changes only what differs, never clears from a blank cell, and names workers by gateway id', () => {
    const rows = table(
      ['Name', 'ID number', 'Team', 'Employer'],
      ['张三', '', '木工班', ''],
      ['李四', '', '  钢筋班 ', '成都　劳务'],
    );
    const result = plan(rows, roster);
    expect(result.rows.map((r) => r.status)).toEqual(['same', 'change']);
    const lookup = (id: string) => roster.find((w) => w.id === id);
    expect(planChanges(result, lookup)).toEqual([
      { source: 'local', op: 'upsert', identity: { gatewayId: 'w2' }, team: '钢筋班', employer: '成都 劳务' },
    ]);
    // A worker gone from the roster since the preview is left out.
    expect(planChanges(result, () => undefined)).toEqual([]);
  });

  it('finds the header under title rows, by any of its names, and says what the first row held when none fits', () => {
    expect(findHeader(table(['某项目'], [], ['序号', '姓 名*', '身份证', '分包单位：']))).toEqual({
      ok: true,
      index: 2,
      columns: { name: 1, idCardNo: 2, employer: 3 },
    });
    expect(findHeader(table(['工号', '姓名', '部门'], ['1', '张三', '木工']))).toEqual({
      ok: false,
      problem: { code: 'noHeader', seen: ['工号', '姓名', '部门'] },
    });
    expect(findHeader([])).toEqual({ ok: false, problem: { code: 'noRows' } });
  });

  it('refuses a value too long or holding hidden characters, in the row and on the form alike', () => {
    const long = '班'.repeat(41);
    const result = plan(table(['姓名', '班组'], ['张三', long], ['李四', '木工\u202e班']), roster);
    expect(result.rows.map((r) => r.problems)).toEqual([
      [{ field: 'team', code: 'tooLong', max: 40, length: 41 }],
      [{ field: 'team', code: 'badCharacter' }],
    ]);
    expect(cleanTeamValue('employer', ` 成都\t劳务\n有限公司 `)).toEqual({ value: '成都 劳务 有限公司' });
    expect(cleanTeamValue('team', '班'.repeat(40))).toEqual({ value: '班'.repeat(40) });
  });
});

describe('previews in memory', () => {
  const preview: StoredPreview = {
    fileName: 'a.csv',
    format: 'csv',
    plan: { columns: {}, headerLine: 1, rows: [] },
  };

  it('are applied once, for the session that uploaded them, until they expire', async () => {
    let now = 1_000_000;
    const previews = new ImportPreviews(() => now);
    const token = previews.put('session-a', preview);
    expect(token).toMatch(/^[A-Za-z0-9_-]{24}$/);
    expect(previews.peek('session-b', token)).toBeUndefined();
    expect(
      previews.claim('session-b', token, async () => ({ ok: true, applied: [], skipped: 0, gone: 0 })),
    ).toBeUndefined();
    let applied = 0;
    const run = async () => {
      applied++;
      return { ok: true as const, applied: ['w1'], skipped: 0, gone: 0 };
    };
    const first = previews.claim('session-a', token, run);
    const second = previews.claim('session-a', token, run);
    expect(await first).toEqual(await second);
    expect(applied).toBe(1);
    expect(previews.peek('session-a', token)).toBeUndefined();
    expect(await previews.result('session-a', token)).toMatchObject({ applied: ['w1'] });

    const later = previews.put('session-a', preview);
    now += PREVIEW_TTL_MS + 1;
    expect(previews.peek('session-a', later)).toBeUndefined();
    expect(previews.claim('session-a', later, run)).toBeUndefined();
    expect(applied).toBe(1);
  });

  it('turn a failed apply into a result that says why', async () => {
    const previews = new ImportPreviews();
    const token = previews.put('s', preview);
    const result = await previews.claim('s', token, async () => {
      throw new Error('disk full');
    });
    expect(result).toEqual({ ok: false, error: 'disk full' });
  });
});
