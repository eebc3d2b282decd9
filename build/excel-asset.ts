/**
 * exceljs travels in the packaged binary as a bundle of its own (the SEA asset `exceljs.cjs`, made
 * by `bundleExcel` in bundle.ts), not inside the main bundle. V8 keeps a script's whole source in
 * the heap for as long as the process lives, and exceljs with what it pulls in (zip writers and
 * readers, bluebird, streams) is about 1.7 MB of the 4.4 MB the gateway's bundle had: memory an idle
 * box held although only a download or an import of an Excel file ever uses it. The main bundle's
 * `exceljs` imports resolve here (`excelAssetPlugin`), and the asset's source is read and run on
 * the first of them.
 *
 * The same bundle run by plain node (the fleet tests, debugging a build) takes the checkout's
 * exceljs from the folder it is started in, as build/sqlite-addon.ts does for SQLite.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { compileFunction } from 'node:vm';
import { insideSea } from './embedded-addon';

export const EXCEL_ASSET = 'exceljs.cjs';

/**
 * The modules of exceljs the gateway imports, by the name it imports them with: the package's main
 * module, its streaming writer, the two the sheet writer speeds notes up in (sheet-notes.ts), and
 * its helpers (the escaping sheet-row-xml.ts writes texts with).
 * The asset's `module.exports` has a getter for each, each set up on first use.
 */
export const EXCEL_MODULES = {
  exceljs: 'ExcelJS',
  'exceljs/lib/stream/xlsx/workbook-writer.js': 'WorkbookWriter',
  'exceljs/lib/stream/xlsx/sheet-comments-writer.js': 'SheetCommentsWriter',
  'exceljs/lib/doc/note.js': 'Note',
  'exceljs/lib/utils/utils.js': 'ExcelUtils',
} as const;

export type ExcelAsset = { readonly [name in (typeof EXCEL_MODULES)[keyof typeof EXCEL_MODULES]]: unknown };

let loaded: ExcelAsset | undefined;

export function excelFromAsset(): ExcelAsset {
  loaded ??= insideSea() ? runAsset() : fromCheckout();
  return loaded;
}

function runAsset(): ExcelAsset {
  // Required, not imported: `node:sea` exists only inside a single executable (embedded-addon.ts).
  const sea = require('node:sea') as typeof import('node:sea');
  const code = sea.getAsset(EXCEL_ASSET, 'utf8') as string;
  const module = { exports: {} as ExcelAsset };
  // The SEA's `require` gives node's built-in modules, all the asset asks for (the rest is inside it).
  compileFunction(code, ['module', 'exports', 'require'], { filename: EXCEL_ASSET })(
    module,
    module.exports,
    require,
  );
  return module.exports;
}

function fromCheckout(): ExcelAsset {
  const load = createRequire(join(process.cwd(), 'package.json'));
  const modules = {} as Record<string, unknown>;
  for (const [path, name] of Object.entries(EXCEL_MODULES))
    Object.defineProperty(modules, name, { get: () => load(path), enumerable: true });
  return modules as ExcelAsset;
}
